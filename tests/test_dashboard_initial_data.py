"""dashboard_initial_data computes less per open and gives the same JSON: a learner's figures as the learner
report and the brief's views give them (modules of enrolled and worked-in courses, stored and unstored skills,
attendance, counters); live_now as the whole 12-hour window gives it (durations reaching past the gap, heartbeats,
the gap's edge, other educators' learners); open alerts kept per process by their
row, so a change by plain SQL shows at the next open."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

import services.learner_loading
import services.learner_reads
import services.sessions
from api.alerts.queries import alerts_json
from api.auth.guard import Principal
from api.realtime.initial_data import FORECAST_HORIZON_DAYS, dashboard_initial_data
from api.realtime.open_alerts import OPEN_ALERTS_SHOWN
from api.serializers import counters_json
from models import Alert, Enrollment, Event, LearnerCounters, Section, SectionSummary, SkillMastery, User, db
from services.alerting import UNRESOLVED
from services.clients import redis_client
from services.evaluation import update_learner_counters
from services.json_text import spliced_dumps
from services.presence import PRESENCE_SINCE_KEY, reaches, record_presence
from services.progress_context import load_context, loaded
from services.progress_views import progress_summary, realtime_metrics
from services.reports import learner_report
from services.sessions import LIVE_LOOKBACK, SESSION_KINDS, _derived, _live_rows, summarize_sessions
from tests.conftest import create_user
from tests.frozen_clock import freeze_now
from tests.test_generic_plans import generic_plan
from worker.tasks import evaluate_learners

NOW = datetime.now(UTC).replace(microsecond=250_000)


@pytest.fixture
def frozen(monkeypatch):
    """Every `now` of the learner's figures and of live_now is NOW, so two computations can be compared."""
    freeze_now(monkeypatch, NOW, services.learner_loading, services.learner_reads, services.sessions)


def principal(external_id: str) -> Principal:
    return Principal(
        *db.session.execute(
            sa.select(User.id, User.external_id, User.role).where(User.external_id == external_id)
        ).one()
    )


def ago(**delta) -> str:
    return (NOW - timedelta(**delta)).isoformat()


def _post(client, service, events: list[dict]) -> None:
    response = client.post("/api/v1/events", json={"events": events}, headers=service)
    assert response.status_code == 201, response.get_data(as_text=True)[:300]


def _before(external_id: str) -> dict:
    """The learner's part of the initial data as the previous code composed it: the whole learner report."""
    learner = db.session.scalar(sa.select(User).where(User.external_id == external_id))
    ctx = load_context(learner)
    report = learner_report(learner, FORECAST_HORIZON_DAYS, None, loaded(ctx))
    return {
        "progress": {key: report[key] for key in ("trend", "forecast", "risk", "completion", "mastery", "activity")},
        "metrics": {**report["metrics"], "counters": counters_json(db.session.get(LearnerCounters, learner.id))},
        "progress_summary": progress_summary(ctx),
        "realtime_metrics": realtime_metrics(ctx),
    }


def test_a_learners_initial_data_is_the_report_and_views_it_was(client, service, frozen):
    for course in ("c1", "c2", "c3"):
        client.put(f"/api/v1/courses/{course}", json={"title": course.upper()}, headers=service)
    for m, course in enumerate(("c1", "c1", "c1", "c2", "c2")):  # c3 has no module
        client.put(f"/api/v1/modules/m{m}", json={"course": course, "title": f"M{m}", "position": m}, headers=service)
    create_user("ted", "educator")
    for section, course in (("s1", "c1"), ("s3", "c3")):
        body = {"name": section, "course": course, "educator": "ted"}
        client.put(f"/api/v1/sections/{section}", json=body, headers=service)
    events = []
    for k in range(40):  # ann: in c1 (enrolled) and c2 (worked in only), two skills, completions, attendance
        base = {"learner": "ann", "occurred_at": ago(days=40 - k, hours=k % 5), "module": f"m{k % 5}"}
        if k % 3 == 0:
            skill = {"skill": ("fractions", "graphs")[k % 2], "score": 30 + k * 1.5, "max_score": 100}
            events.append({**base, "kind": "assessment", **skill})
        elif k % 7 == 0:
            events.append({**base, "kind": "module_completed"})
        else:
            events.append({**base, "kind": "activity", "duration_seconds": 300})
    events += [
        {"learner": "ann", "kind": "attendance", "section": "s1", "date": ago(days=d)[:10], "status": s}
        for d, s in ((2, "present"), (3, "absent"), (4, "excused"), (5, "late"))
    ]
    events += [{"learner": "bo", "kind": "activity", "occurred_at": ago(days=1)}]  # bo: no course, no counters yet
    events += [{"learner": "cy", "kind": "module_completed", "module": "m1", "occurred_at": ago(days=2)}]
    events += [{"learner": "dee", "kind": "activity", "occurred_at": ago(days=3)}]
    _post(client, service, events)
    for learner, section in (("ann", "s1"), ("cy", "s3"), ("dee", "s3")):  # s3's course has no module
        client.put(f"/api/v1/sections/{section}/enrollments/{learner}", json={}, headers=service)
    ann = db.session.scalar(sa.select(User.id).where(User.external_id == "ann"))
    evaluate_learners([ann])
    db.session.execute(sa.delete(SkillMastery).where(SkillMastery.learner_id == ann, SkillMastery.skill == "graphs"))
    db.session.commit()  # graphs now has attempts but no stored row: replayed from them
    for learner in ("ann", "bo", "cy", "dee"):
        data = dashboard_initial_data(principal(learner), "s")
        body = {key: data[key] for key in ("progress", "metrics", "progress_summary", "realtime_metrics")}
        assert json.dumps(body) == json.dumps(_before(learner)), learner
    ann_data = dashboard_initial_data(principal("ann"), "s")
    assert [m["skill"] for m in ann_data["progress"]["mastery"]] == ["fractions", "graphs"]
    expected = {"ann": (4, 5), "bo": (0, 0), "cy": (1, 3), "dee": (0, 0)}  # ann: c1 enrolled, c2 worked in
    for learner, modules in expected.items():
        summary = dashboard_initial_data(principal(learner), "s")["progress_summary"]
        assert (summary["modules_completed"], summary["total_modules"]) == modules, learner
    update_learner_counters([ann])
    assert dashboard_initial_data(principal("ann"), "s")["metrics"]["counters"]["events_seen"] > 0


def _window_oracle(section_ids: list[int], gap: float) -> list[dict]:
    """live_now as it was: every session event of the sections' learners in the window, derived in Python."""
    enrolled = sa.select(Enrollment.learner_id).where(Enrollment.section_id.in_(section_ids))
    rows = db.session.execute(
        sa.select(Event.learner_id, Event.occurred_at, Event.duration_seconds, Event.kind)
        .where(Event.learner_id.in_(enrolled), Event.kind.in_(SESSION_KINDS), Event.occurred_at >= NOW - LIVE_LOOKBACK)
        .order_by(Event.learner_id, Event.occurred_at, Event.id)
    ).all()
    ids = sorted({row[0] for row in rows})
    sessions = _derived(ids, rows, gap)
    summary = summarize_sessions(sessions, len(ids), NOW.timestamp(), gap)
    names = db.session.execute(sa.select(User.id, User.external_id, User.name).where(User.id.in_(ids))).tuples()
    return _live_rows(ids, {pk: (external_id, name) for pk, external_id, name in names}, sessions, summary)


def test_live_now_is_what_the_whole_window_gives(app, frozen):
    ted, una = create_user("ted", "educator"), create_user("una", "educator")
    mine, theirs = (
        Section(external_id="m", name="M", educator_id=ted.id),
        Section(external_id="t", name="T", educator_id=una.id),
    )
    db.session.add_all([mine, theirs])
    db.session.flush()
    gap = 30 * 60
    cases = {  # learner: [(seconds before NOW, duration, kind)]
        "now": [(300, None, "activity"), (0, None, "module_completed")],
        "long-video": [(50 * 60, 40 * 60, "activity")],  # began before the gap, ends inside it: live
        "short": [(50 * 60, 5 * 60, "activity")],
        "beat": [(20 * 60, 600, "heartbeat")],  # a heartbeat ends at its time
        "old-beat": [(40 * 60, 3000, "heartbeat")],  # reaches back, not forward: not live
        "edge": [(gap, 0.0, "activity")],  # ends exactly `gap` ago: still open
        "past-edge": [(gap + 0.4, 0.0, "activity")],  # 0.4 s past it: closed, though within the query's margin
        "marathon": [(s, 60, "activity") for s in range(13 * 3600, -1, -20 * 60)],  # began before the window
        "yesterday": [(86400, None, "activity")],
        "attended": [(60, None, "attendance")],  # not a session event
        "theirs": [(60, None, "activity")],
    }
    learners = {name: create_user(name, "learner", name.title() if len(name) % 2 else None) for name in cases}
    for name, user in learners.items():
        db.session.add(Enrollment(learner_id=user.id, section_id=(theirs if name == "theirs" else mine).id))
        db.session.add_all(
            Event(
                learner_id=user.id,
                kind=kind,
                body_hash="-",
                occurred_at=NOW - timedelta(seconds=s),
                duration_seconds=d,
                **({"status": "present", "date": NOW.date()} if kind == "attendance" else {}),
            )
            for s, d, kind in cases[name]
        )
    db.session.commit()
    data = dashboard_initial_data(principal("ted"), "s")
    live = data["progress"]["live_now"]
    assert live == _window_oracle([mine.id], gap) and live
    assert sorted(row["learner"] for row in live) == [
        "beat",
        "edge",
        "long-video",
        "marathon",
        "now",
    ]
    marathon = next(row for row in live if row["learner"] == "marathon")
    assert marathon["session_started"] == (NOW - LIVE_LOOKBACK).isoformat()  # the window's first event
    assert [row["learner"] for row in dashboard_initial_data(principal("una"), "s")["progress"]["live_now"]] == [
        "theirs"
    ]
    stored = [  # the same events as ingest records them, with services.presence trusted: the same answer
        (
            learners[name].id,
            {"kind": kind, "occurred_at": NOW - timedelta(seconds=s), "duration_seconds": d},
        )
        for name, events in cases.items()
        for s, d, kind in events
    ]
    record_presence(redis_client(), reaches(stored))
    redis_client().set(PRESENCE_SINCE_KEY, (NOW - LIVE_LOOKBACK).timestamp() - 3600)
    assert dashboard_initial_data(principal("ted"), "s")["progress"]["live_now"] == live


def test_open_alerts_follow_every_change_with_the_cache_warm(app):
    ted, admin = create_user("ted", "educator"), create_user("root", "admin")
    learners = [create_user(f"l{i}", "learner") for i in range(3)]
    section = Section(external_id="s1", name="s1", educator_id=ted.id)
    db.session.add(section)
    db.session.flush()
    db.session.add_all(Enrollment(learner_id=l.id, section_id=section.id) for l in learners[:2])  # not l2
    db.session.add_all(
        Alert(learner_id=learners[k % 3].id, rule="engagement_drop", scope_key=f"c{k}", severity="low",
              title=f"A{k}", message="m", factors={"x": k}, recommendations=[f"r{k % 2}"])
        for k in range(OPEN_ALERTS_SHOWN + 5)
    )  # fmt: skip
    db.session.commit()

    def check() -> None:
        for user in (ted, admin, learners[0], learners[2]):
            who = principal(user.external_id)
            query = sa.select(Alert).where(UNRESOLVED).order_by(Alert.id.desc()).limit(OPEN_ALERTS_SHOWN)
            if user is ted:
                query = query.where(Alert.learner_id.in_([l.id for l in learners[:2]]))
            elif user.role == "learner":
                query = query.where(Alert.learner_id == user.id)
            entities = db.session.scalars(query).all()
            data = dashboard_initial_data(who, "s")
            assert data["alerts"] == alerts_json(entities), user.external_id
            assert data["recommendations"] == list(dict.fromkeys(r for a in entities for r in a.recommendations))
            assert spliced_dumps(data) == json.dumps(data)  # the frame's text, from the alerts' kept JSON
            db.session.expire_all()

    check()
    newest = db.session.scalar(sa.select(sa.func.max(Alert.id)))
    db.session.execute(
        sa.text("UPDATE alerts SET status = 'acknowledged', factors = '{\"x\": 99}' WHERE id = :id"), {"id": newest}
    )
    db.session.execute(sa.text("UPDATE alerts SET status = 'resolved' WHERE id = :id"), {"id": newest - 1})
    db.session.execute(sa.text("UPDATE alerts SET recommendations = '[\"new\"]' WHERE id = :id"), {"id": newest - 2})
    db.session.execute(sa.text("UPDATE users SET external_id = 'l0-renamed' WHERE id = :id"), {"id": learners[0].id})
    db.session.commit()
    check()
    admin_view = dashboard_initial_data(principal("root"), "s")
    assert admin_view["alerts"][0]["status"] == "acknowledged" and admin_view["alerts"][0]["factors"] == {"x": 99}
    assert newest - 1 not in [a["id"] for a in admin_view["alerts"]]
    assert "new" in admin_view["recommendations"] and "l0-renamed" in {a["learner"] for a in admin_view["alerts"]}


def test_an_educators_sections_follow_their_stored_summaries_with_the_cache_warm(app):
    """The shown summaries are kept per process by the stored text: a rewritten summary is shown at once, a
    section never summarised is computed and stored, and the frame's text is json.dumps of the data."""
    ted = create_user("ted", "educator")
    sections = [Section(external_id=f"s{k}", name=f"s{k}", educator_id=ted.id) for k in (2, 1, 3)]
    db.session.add_all(sections)
    db.session.flush()
    figures = {"learners": 3, "average": 71.5, "pass_rate": 0.5, "risk": {"high": 1}, "low_performers": ["x"]}
    db.session.add_all(
        SectionSummary(section_id=section.id, summary={**figures, "as_of": "t0", "unshown": k})
        for k, section in enumerate(sections[:2])
    )
    db.session.commit()
    ids = {section.external_id: section.id for section in sections}

    def shown() -> list[dict]:
        data = dashboard_initial_data(principal("ted"), "s")
        assert spliced_dumps(data) == json.dumps(data)
        db.session.remove()
        return data["progress"]["sections"]

    first = shown()
    assert [row["section"] for row in first] == ["s1", "s2", "s3"]
    assert first[0] == {"section": "s1", **figures, "attendance_percent": None, "as_of": "t0"}
    assert db.session.get(SectionSummary, ids["s3"]) is not None  # computed and stored on the first open
    assert shown() == first
    db.session.execute(
        sa.text("UPDATE section_summaries SET summary = :s WHERE section_id = :id"),
        {"s": json.dumps({**figures, "average": 12.25, "as_of": "t1"}), "id": ids["s2"]},
    )
    db.session.commit()
    again = shown()
    assert again[1]["average"] == 12.25 and again[1]["as_of"] == "t1" and again[0] == first[0]


def test_open_alerts_carry_their_constants_as_sql_so_a_generic_plan_knows_them(app):
    """psycopg prepares a statement run 5 times on a connection; PostgreSQL then plans it once for any parameter.
    With "resolved" and the limit as parameters that plan guessed one unresolved alert and sorted them all."""
    ted, root = create_user("ted", "educator"), create_user("root", "admin")
    from api.realtime.open_alerts import _statement

    educator, admin = Principal(ted.id, "ted", "educator"), Principal(root.id, "root", "admin")
    assert list(_statement(educator).compile().params.values()) == [ted.id]  # whose alerts: the one parameter
    assert _statement(admin).compile().params == {}
    if db.engine.dialect.name != "postgresql":
        return
    learners = [create_user(f"l{i}", "learner") for i in range(40)]
    db.session.add_all(
        Alert(
            learner_id=learners[k % 40].id,
            rule="engagement_drop",
            scope_key=f"c{k}",
            severity="low",
            title="A",
            message="m",
            factors={},
            recommendations=[],
            status="open",  # all unresolved, as on a new deployment: the parameter made it guess one row
        )
        for k in range(600)
    )
    db.session.commit()
    db.session.execute(sa.text("ANALYZE alerts"))
    plan = generic_plan(_statement(admin))
    assert "Index Scan Backward using pk_alerts" in plan and "Sort" not in plan, plan
