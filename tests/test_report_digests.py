"""A learner's analytics report served from their digest is the report the whole event log gives: same fields,
same values, at later instants, for long histories, several courses, events without a module, attempts at skills
without stored mastery; and the digest serves only while it covers the learner's newest event."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
import sqlalchemy as sa

from analytics.learner_metrics import EventArrays
from analytics.report_digest import build_report_digests, read_report_digest
from models import Event, LearnerDigest, SkillMastery, User, db
from services.learner_loading import load_learner, load_learner_digest
from services.reports import learner_report
from tests.conftest import create_user
from worker.tasks import evaluate_learners

DAY = 86400.0
NOW = datetime.now(UTC).replace(microsecond=0)


def _catalog(client, service) -> None:
    """Two courses of three and two modules (c2's m4 is never touched: it still counts in the total)."""
    for course in ("c1", "c2"):
        client.put(f"/api/v1/courses/{course}", json={"title": course.upper()}, headers=service)
    for m, course in enumerate(("c1", "c1", "c1", "c2", "c2")):
        body = {"course": course, "title": f"M{m}", "position": m}
        client.put(f"/api/v1/modules/m{m}", json=body, headers=service)


def _history(learner: str, n: int, seed: int) -> list[dict]:
    """n events over 200 days: activity (some without a module), scored assessments in two skills, completions."""
    rng = np.random.default_rng(seed)
    days = np.sort(rng.uniform(0.05, 200, n))[::-1]
    events = []
    for k, ago in enumerate(days):
        base = {
            "id": f"{learner}-{k}",
            "learner": learner,
            "occurred_at": (NOW - timedelta(days=float(ago))).isoformat(),
        }
        module = {"module": f"m{k % 4}"} if k % 7 else {}
        if k % 11 == 0:
            events.append({**base, "kind": "module_completed", "module": f"m{k % 4}"})
        elif k % 3 == 0:
            score = {"score": float(rng.uniform(20, 100)), "max_score": 100, "skill": ("fractions", "graphs")[k % 2]}
            events.append({**base, **module, "kind": "assessment", **score})
        else:
            events.append({**base, **module, "kind": "activity", "duration_seconds": 120})
    return events


def _post(client, service, events: list[dict]) -> None:
    for start in range(0, len(events), 500):
        response = client.post("/api/v1/events", json={"events": events[start : start + 500]}, headers=service)
        assert response.status_code == 201, response.get_data(as_text=True)[:300]


def _learner(external_id: str) -> User:
    return db.session.scalar(sa.select(User).where(User.external_id == external_id))


def _same_report(learner: User, now: float, deadline: float | None = None) -> dict:
    """The report from the digest and from the event log at `now`; asserts they are equal, returns it."""
    digest = load_learner_digest(learner, now)
    assert digest is not None and digest.whole is not None
    assert len(digest.events.time) < len(load_learner(learner, now).events.time) or len(digest.events.time) < 40
    from_log = learner_report(learner, 14.0, deadline, load_learner(learner, now))
    from_digest = learner_report(learner, 14.0, deadline, digest)
    assert json.dumps(from_digest, sort_keys=True) == json.dumps(from_log, sort_keys=True)
    return from_digest


@pytest.mark.parametrize("n", [1, 30, 900])
def test_digest_report_equals_the_event_log_report(client, service, n):
    _catalog(client, service)
    create_user("zed", "learner")
    _post(client, service, _history("zed", n, seed=n))
    learner = _learner("zed")
    evaluate_learners.run([learner.id])
    for later in (0.0, 0.4 * DAY, 3 * DAY, 20 * DAY):
        report = _same_report(learner, NOW.timestamp() + later, deadline=30.0 if later else None)
    assert report["patterns"]["by_hour"] and "completion" in report and "mastery" in report
    if n == 900:  # the long history has what every block shows
        assert {c["course"] for c in report["completion"]} == {"c1", "c2"}
        assert [m["skill"] for m in report["mastery"]] == ["fractions", "graphs"]
        assert report["trend"]["points"] > 100


def test_the_endpoint_serves_from_the_digest_only_while_it_is_current(client, service, admin):
    _catalog(client, service)
    create_user("amy", "learner")
    _post(client, service, _history("amy", 200, seed=4))
    learner = _learner("amy")
    assert load_learner_digest(learner) is None  # not evaluated yet: no digest
    evaluate_learners.run([learner.id])
    assert load_learner_digest(learner) is not None
    first = client.get("/api/v1/learners/amy/analytics", headers=admin).json
    late = {"id": "amy-late", "learner": "amy", "kind": "assessment", "occurred_at": NOW.isoformat()}
    _post(client, service, [{**late, "score": 5, "max_score": 100, "module": "m3", "skill": "ratios"}])
    assert load_learner_digest(learner) is None  # the new event is not in the digest: the log serves
    second = client.get("/api/v1/learners/amy/analytics", headers=admin).json
    assert second["metrics"]["assessments"] == first["metrics"]["assessments"] + 1
    assert "ratios" in [m["skill"] for m in second["mastery"]]
    evaluate_learners.run([learner.id])
    _same_report(learner, datetime.now(UTC).timestamp())
    heartbeat = {"id": "amy-beat", "learner": "amy", "kind": "heartbeat", "occurred_at": NOW.isoformat()}
    _post(client, service, [heartbeat])
    assert load_learner_digest(learner) is not None  # heartbeats are not in reports: the digest stays current


def test_skills_without_stored_mastery_are_replayed_from_the_digest_path(client, service):
    """History written around the ingest path (no mastery rows): the digest says so and the attempts replay."""
    _catalog(client, service)
    amy = create_user("amy", "learner")
    _post(client, service, _history("amy", 60, seed=9))
    loaded = [
        Event(learner_id=amy.id, kind="assessment", occurred_at=NOW - timedelta(days=d), skill="loaded",
              score=40.0 + 10 * d, max_score=100.0, body_hash="x")
        for d in range(5)
    ]  # fmt: skip
    db.session.add_all(loaded)
    db.session.commit()
    evaluate_learners.run([amy.id])
    digest = load_learner_digest(amy)
    assert digest is not None and digest.whole is not None
    assert (digest.whole.attempted_skills, digest.whole.unstored_skills) == (3, 1)
    report = _same_report(amy, datetime.now(UTC).timestamp())
    assert "loaded" in [m["skill"] for m in report["mastery"]]
    db.session.execute(sa.delete(SkillMastery).where(SkillMastery.skill == "graphs"))  # as a test may do
    db.session.commit()
    assert "graphs" in [m["skill"] for m in _same_report(amy, datetime.now(UTC).timestamp())["mastery"]]


def test_old_digests_without_report_figures_fall_back_to_the_log(client, service):
    _catalog(client, service)
    create_user("amy", "learner")
    _post(client, service, _history("amy", 50, seed=2))
    learner = _learner("amy")
    evaluate_learners.run([learner.id])
    db.session.execute(sa.update(LearnerDigest).values(report=None))
    db.session.commit()
    assert load_learner_digest(learner) is None


def test_report_digest_round_trip_keeps_each_learner_apart():
    """Three learners (one without events): histograms, modules' first events and completions per learner."""
    learner = np.array([0, 0, 0, 0, 2, 2], dtype=np.int64)
    time = np.array([10.0, 3700.0, 90000.0, 95000.0, 5.0, 7.0])
    kind = np.array([0, 1, 2, 1, 0, 1], dtype=np.int8)
    module = np.array([4, 4, -1, 7, 9, -1], dtype=np.int64)
    events = EventArrays(3, learner, time, kind, np.full(6, np.nan))
    blobs = build_report_digests(events, module, np.array([1, 0, 2]), np.array([0, 0, 1]))
    first, empty, third = (read_report_digest(blob) for blob in blobs)
    assert first is not None and empty is not None and third is not None
    assert read_report_digest(blobs[0][:-1]) is None and read_report_digest(b"") is None  # another layout
    assert first.by_hour[0] == 1 and first.by_hour[1] == 2 and first.by_weekday.sum() == 4
    assert first.module.tolist() == [4, 7] and first.first.tolist() == [10.0, 95000.0]
    assert first.done_module.tolist() == [4, 7] and first.done_time.tolist() == [3700.0, 95000.0]
    assert empty.by_hour.sum() == 0 and len(empty.module) == 0 and empty.attempted_skills == 0
    assert third.module.tolist() == [9] and len(third.done_module) == 0 and third.unstored_skills == 1
    assert (first.attempted_skills, first.unstored_skills, third.attempted_skills) == (1, 0, 2)
