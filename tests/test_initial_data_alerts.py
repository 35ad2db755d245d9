"""The open alerts of dashboard_initial_data, read as plain rows with the learners' external ids joined in,
are exactly what alerts_json gives for the same alerts as entities: per role, newest first, resolved ones
left out, another educator's learners never shown, at most OPEN_ALERTS_SHOWN."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from api.access import only_visible
from api.alerts.queries import alerts_json
from api.auth.guard import Principal
from api.realtime.initial_data import dashboard_initial_data
from api.realtime.open_alerts import OPEN_ALERTS_SHOWN
from models import Alert, Enrollment, Section, User, db
from services.alerting import UNRESOLVED
from tests.conftest import create_user


def principal(user: User) -> Principal:
    return Principal(user.id, user.external_id, user.role)


def test_open_alerts_are_the_entities_json_per_role(app):
    ted, una, admin = create_user("ted", "educator"), create_user("una", "educator"), create_user("root", "admin")
    learners = [create_user(f"l{i}", "learner") for i in range(4)]
    sections = [Section(external_id=s, name=s, educator_id=e.id) for s, e in (("s1", ted), ("s2", una))]
    db.session.add_all(sections)
    db.session.flush()
    db.session.add_all(Enrollment(learner_id=l.id, section_id=sections[i % 2].id) for i, l in enumerate(learners))
    rules = ("performance_decline", "engagement_drop", "low_consistency", "no_such_rule")
    resolved_at = datetime(2026, 1, 2, tzinfo=UTC)
    alerts = [
        Alert(
            learner_id=learners[k % 4].id,
            rule=rules[k % 4],
            scope_key=f"course:{k}",
            severity=("high", "medium", "low")[k % 3],
            title=f"Alert {k}",
            message=f"Alert {k}.",
            factors={"average": k * 1.5, "streak": None},
            recommendations=[f"Talk to them ({k % 3})", "Review the module"],
            status=("open", "acknowledged", "resolved")[k % 3],
            acknowledged_at=resolved_at if k % 3 else None,
            resolved_at=resolved_at if k % 3 == 2 else None,
        )
        for k in range(130)
    ]
    db.session.add_all(alerts)
    db.session.commit()
    for user in (ted, una, admin, learners[0], learners[3]):
        entities = db.session.scalars(
            only_visible(sa.select(Alert).where(UNRESOLVED), Alert.learner_id, principal(user))
            .order_by(Alert.id.desc())
            .limit(OPEN_ALERTS_SHOWN)
        ).all()
        data = dashboard_initial_data(principal(user), "s")
        assert data["alerts"] == alerts_json(entities) and data["alerts"], user.external_id
        shown = {a["learner"] for a in data["alerts"]}
        assert len(data["alerts"]) == min(OPEN_ALERTS_SHOWN, len(entities))
        assert data["recommendations"] == list(dict.fromkeys(r for a in entities for r in a.recommendations))
        if user is ted:
            assert shown == {"l0", "l2"}  # s1's learners; una's l1 and l3 never
        if user.role == "learner":
            assert shown == {user.external_id}
