"""A dashboard's initial data and the live messages after it: a message published while the initial data is
being read is delivered live, never skipped (the streams' ends are read before the database)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from models import db
from tests.processes import wait_until
from tests.realtime_service import (
    activity,
    post_events,
    token,
    two_web_processes,  # noqa: F401  (the `live` fixture of this module)
)
from tests.schools import PEOPLE, build_school, two_sections
from tests.ws_client import Socket

pytestmark = pytest.mark.integration

# a backend waiting for a lock on learner_counters (by the lock, not the statement's text: pg_stat_activity keeps a
# statement's first 1 kB only, and a learner's reads are one longer statement, services.learner_reads)
BLOCKED_ON_COUNTERS = "SELECT count(*) FROM pg_locks WHERE relation = 'learner_counters'::regclass AND NOT granted"


@pytest.fixture
def school(app):
    return build_school(PEOPLE, two_sections())


def test_an_event_published_while_the_initial_data_is_read_is_delivered_live(live, school):
    if db.engine.dialect.name != "postgresql":
        return  # holding the initial data back mid-read takes PostgreSQL's table lock (SQLite readers never wait)
    holder = db.engine.connect()
    holder.begin()
    holder.execute(sa.text("LOCK TABLE learner_counters IN ACCESS EXCLUSIVE MODE"))  # the last read of the initial data
    try:
        dashboard = Socket(live.b, "/ws/dashboard/", token=token(school["amy"]))
        assert dashboard.recv()["type"] == "subscribed"

        def blocked() -> bool:
            db.session.rollback()
            return bool(db.session.scalar(sa.text(BLOCKED_ON_COUNTERS)))

        wait_until(blocked, 20, "the initial data to wait for learner_counters")
        post_events(live.a, school, activity("amy", "during-initial-data"))  # stored and published meanwhile
    finally:
        holder.rollback()
        holder.close()
    assert dashboard.recv()["type"] == "dashboard_initial_data"
    update = dashboard.recv_type("activity")
    assert update["channel"] == "learner:amy" and update["data"]["events"][0]["id"] == "during-initial-data"
    dashboard.close()
