"""services.presence: each learner's furthest session reach, recorded as events are stored (batches, single
events, heartbeats), trusted only once kept for the lookback plus the clock skew; live_now then probes only the
learners it names and gives what probing every enrolled learner gives."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from models import Enrollment, Event, Section, db
from services.clients import redis_client
from services.presence import (
    PRESENCE_KEY,
    PRESENCE_SINCE_KEY,
    TRIM_MARGIN_SECONDS,
    present_learners,
    reaches,
    record_presence,
)
from services.presence_rebuild import check_presence, presence_trusted
from services.sessions import LIVE_LOOKBACK, live_now
from tests.conftest import bearer, create_user

LOOKBACK = LIVE_LOOKBACK.total_seconds()
SKEW = 300.0


def test_reaches_keep_each_learners_furthest_session_event():
    ten = datetime(2026, 11, 30, 10, tzinfo=UTC)
    events = [
        (1, {"kind": "activity", "occurred_at": ten, "duration_seconds": 600}),
        (1, {"kind": "heartbeat", "occurred_at": ten + timedelta(minutes=5)}),  # ends before the activity
        (2, {"kind": "assessment", "occurred_at": ten, "score": 1, "duration_seconds": None}),
        (3, {"kind": "grade", "occurred_at": ten}),  # what the school records: no session
        (4, {"kind": "attendance", "occurred_at": ten}),
        (5, {"kind": "module_completed", "occurred_at": ten, "duration_seconds": float("nan")}),
    ]
    assert reaches(events) == {1: ten.timestamp() + 600, 2: ten.timestamp(), 5: float("inf")}


def test_the_set_is_trusted_only_once_its_clock_covers_the_lookback_and_the_skew(app):
    client, now = redis_client(), time.time()
    assert present_learners(client, now, now - 60, LOOKBACK, SKEW) is None  # nothing recorded yet
    record_presence(client, {1: now, 2: now - 3600})
    assert present_learners(client, now, now - 60, LOOKBACK, SKEW) is None  # recorded, but since when?
    client.set(PRESENCE_SINCE_KEY, now - LOOKBACK - SKEW + 5)
    assert present_learners(client, now, now - 60, LOOKBACK, SKEW) is None  # five seconds short
    client.set(PRESENCE_SINCE_KEY, now - LOOKBACK - SKEW)
    assert present_learners(client, now, now - 60, LOOKBACK, SKEW) == {1}
    assert present_learners(client, now, now - 7200, LOOKBACK, SKEW) == {1, 2}


def test_a_learners_reach_only_rises_and_old_reaches_are_dropped(app):
    client, now = redis_client(), time.time()
    record_presence(client, {1: now})
    record_presence(client, {1: now - 7200, 2: now - LOOKBACK - TRIM_MARGIN_SECONDS - 1, 3: now - LOOKBACK})
    client.set(PRESENCE_SINCE_KEY, 0)
    assert present_learners(client, now, now - 60, LOOKBACK, SKEW) == {1}  # a late old event did not lower it
    assert {int(m) for m in client.zrange(PRESENCE_KEY, 0, -1)} == {1, 3}  # 2 could no longer matter


def test_redis_that_cannot_answer_means_probing_every_learner():
    unreachable = redis.Redis(host="127.0.0.1", port=1, retry=Retry(NoBackoff(), 0))
    assert present_learners(unreachable, time.time(), 0.0, LOOKBACK, SKEW) is None
    record_presence(unreachable, {1: time.time()})  # logged, not raised: the events are stored


def ago(minutes: float) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes)).isoformat()


@pytest.fixture
def school(app):
    users = {name: create_user(name, role) for name, role in [("tea", "educator"), ("lms", "service")]}
    users |= {name: create_user(name, "learner") for name in ("ann", "bob", "cy", "dee", "eli", "fay")}
    section = Section(external_id="M", name="M", educator_id=users["tea"].id)
    db.session.add(section)
    db.session.flush()
    db.session.add_all(
        Enrollment(section_id=section.id, learner_id=users[n].id) for n in ("ann", "bob", "cy", "dee", "eli")
    )
    db.session.commit()
    return users, section.id


def live(section_id: int) -> list[tuple[str, int]]:
    return [(row["learner"], row["events"]) for row in live_now([section_id], 30)]


def test_live_now_probes_only_the_present_learners_once_the_set_is_trusted(client, school):
    users, section_id = school
    batch = [
        {"learner": "ann", "kind": "activity", "occurred_at": ago(50), "duration_seconds": 45 * 60},  # reaches on
        {"learner": "bob", "kind": "activity", "occurred_at": ago(200)},  # a closed session only
        {"learner": "fay", "kind": "activity", "occurred_at": ago(1)},  # live, but not in the section
    ]
    assert client.post("/api/v1/events", json={"events": batch}, headers=bearer(users["lms"])).status_code == 201
    single = {"learner": "cy", "kind": "activity", "occurred_at": ago(3)}  # on PostgreSQL: the one-trip lane
    assert client.post("/api/v1/events", json=single, headers=bearer(users["lms"])).status_code == 201
    beat = {"heartbeat": True, "occurred_at": ago(4)}
    assert client.post("/api/v1/progress/track/", json=beat, headers=bearer(users["dee"])).status_code == 201
    db.session.add(Event(learner_id=users["eli"].id, kind="activity", body_hash="-", occurred_at=datetime.now(UTC)))
    db.session.commit()  # stored behind ingest's back: never recorded as present
    expected = [("cy", 1), ("dee", 0), ("ann", 1)]  # a heartbeat is no event of its session
    assert live(section_id) == [("eli", 1), *expected]  # a new set is not trusted: every learner is probed
    redis_client().set(PRESENCE_SINCE_KEY, time.time() - LOOKBACK - SKEW)
    assert live(section_id) == expected  # eli's row was never read: only ingest's learners are probed
    present = {int(m) for m in redis_client().zrange(PRESENCE_KEY, 0, -1)}
    assert present == {users[n].id for n in ("ann", "bob", "cy", "dee", "fay")}


def test_a_rebuild_from_the_event_log_records_the_lookback_and_trusts_the_set(school):
    users, section_id = school
    now = datetime.now(UTC)
    rows = [  # stored behind ingest's back (an import, a Redis that lost the set): nothing recorded
        ("ann", now - timedelta(minutes=50), 45 * 60.0, "activity"),
        ("bob", now - timedelta(minutes=2), None, "heartbeat"),
        ("cy", now - timedelta(hours=13), 3600.0, "activity"),  # before the lookback: not read
        ("dee", now - timedelta(minutes=1), None, "grade"),  # what the school records: no session
    ]
    db.session.add_all(
        Event(learner_id=users[n].id, kind=k, body_hash="-", occurred_at=t, duration_seconds=d) for n, t, d, k in rows
    )
    db.session.commit()
    client = redis_client()
    assert check_presence() == {"trusted": True, "rebuilt": 2}
    assert check_presence() == {"trusted": True, "rebuilt": None}  # trusted: nothing to do
    scores = dict(client.zrange(PRESENCE_KEY, 0, -1, withscores=True))
    assert scores == pytest.approx(
        {
            str(users["ann"].id).encode(): (now - timedelta(minutes=5)).timestamp(),
            str(users["bob"].id).encode(): (now - timedelta(minutes=2)).timestamp(),
        },
        abs=0.01,
    )
    assert presence_trusted(client, LOOKBACK, SKEW) and not presence_trusted(client, LOOKBACK, SKEW + 1)
    assert live(section_id) == [("bob", 0), ("ann", 1)]


def test_a_rebuild_whose_set_was_lost_meanwhile_leaves_it_untrusted(school, monkeypatch):
    import services.presence_rebuild as rebuild

    reads = rebuild._reaches_since

    def flushed_meanwhile(since):
        redis_client().flushdb()  # Redis restarted during the scan: the token went with the set
        return reads(since)

    monkeypatch.setattr(rebuild, "_reaches_since", flushed_meanwhile)
    assert check_presence() == {"trusted": False, "rebuilt": None}
    assert redis_client().get(PRESENCE_SINCE_KEY) is None
