"""services.learner_reads: a learner's dashboard reads (one statement on PostgreSQL, the session's statements one
by one elsewhere) are the learner's rows, both ways alike; a risk model the worker retrains is used from the next
open on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
import sqlalchemy as sa

import services.learner_loading
import services.learner_reads
from analytics.risk import FEATURES, RiskModel, train_risk_model
from api.auth.guard import Principal
from api.realtime.initial_data import dashboard_initial_data
from models import Event, Module, Section, SkillMastery, User, db
from services.learner_reads import LearnerReads, _in_one_statement, _one_by_one, read_learner
from services.model_training import store_risk_model
from services.progress_context import load_context
from services.reports import risk_json
from tests.conftest import create_user
from tests.frozen_clock import freeze_now
from worker.tasks import evaluate_learners

NOW = datetime.now(UTC).replace(microsecond=500_000)


@pytest.fixture
def frozen(monkeypatch):
    """The learner's figures as of NOW, so two reads of them can be compared."""
    freeze_now(monkeypatch, NOW, services.learner_loading, services.learner_reads)


def _ago(**delta) -> str:
    return (NOW - timedelta(**delta)).isoformat()


def _put(client, service, path: str, body: dict) -> None:
    response = client.put(f"/api/v1/{path}", json=body, headers=service)
    assert response.status_code in (200, 201), response.get_data(as_text=True)[:300]


def _school(client, service) -> tuple[int, int]:
    """ann: enrolled in c1's section, worked in c2 (a completion), a heartbeat naming c3's module (not engagement:
    c3 is not hers), two skills of which graphs loses its stored row; bo: one activity, no course, no evaluation."""
    for course in ("c1", "c2", "c3"):
        _put(client, service, f"courses/{course}", {"title": course.upper()})
    for m, course in enumerate(("c1", "c1", "c2", "c2", "c3")):
        _put(client, service, f"modules/m{m}", {"course": course, "title": f"M{m}", "position": m})
    create_user("ted", "educator")
    _put(client, service, "sections/s1", {"name": "s1", "course": "c1", "educator": "ted"})
    events = [{"learner": "ann", "kind": "activity", "occurred_at": _ago(days=9), "module": "m0"}]
    events += [{"learner": "ann", "kind": "module_completed", "occurred_at": _ago(days=8), "module": "m2"}]
    events += [
        {
            "learner": "ann",
            "kind": "assessment",
            "occurred_at": _ago(days=7 - k, hours=k),
            "skill": ("fractions", "graphs")[k % 2],
            "score": (40, 90, 70, 30, 95, 55)[k],
            "max_score": 100,
        }
        for k in range(6)
    ]
    events += [{"learner": "bo", "kind": "activity", "occurred_at": _ago(days=1)}]
    response = client.post("/api/v1/events", json={"events": events}, headers=service)
    assert response.status_code == 201, response.get_data(as_text=True)[:300]
    _put(client, service, "sections/s1/enrollments/ann", {})
    ann, bo = (db.session.scalar(sa.select(User.id).where(User.external_id == name)) for name in ("ann", "bo"))
    heartbeat_module = db.session.scalar(sa.select(Module.id).where(Module.external_id == "m4"))
    db.session.add(
        Event(
            learner_id=ann,
            kind="heartbeat",
            body_hash="h",
            occurred_at=NOW - timedelta(days=2),
            received_at=NOW,
            module_id=heartbeat_module,
        )
    )
    db.session.commit()
    evaluate_learners([ann])
    db.session.execute(sa.delete(SkillMastery).where(SkillMastery.learner_id == ann, SkillMastery.skill == "graphs"))
    db.session.commit()
    return ann, bo


def _plain(reads: LearnerReads) -> dict:
    """The reads as comparable plain values."""
    events = reads.loaded.events
    return {
        "learner": tuple(reads.learner),
        "now": reads.loaded.now,
        "events": [(a.dtype.str, a.tobytes()) for a in (events.learner, events.time, events.kind, events.percent)],
        "module": reads.loaded.module.tolist(),
        "metrics": reads.loaded.metrics.row(0),
        "modules": sorted(tuple(row) for row in reads.modules),
        "stored": sorted(tuple(row) for row in reads.stored),
        "model": reads.model.to_dict(),
        "unstored": [tuple(row) for row in reads.unstored],
        "counters": None if reads.counters is None else reads.counters._asdict(),
    }


def test_the_reads_are_the_learners_rows_both_ways(client, service, frozen):
    ann, bo = _school(client, service)
    db.session.remove()
    reads = _plain(read_learner(ann))
    modules = {m: (c, i) for m, c, i in db.session.execute(sa.select(Module.external_id, Module.course_id, Module.id))}
    assert reads["modules"] == sorted(modules[m] for m in ("m0", "m1", "m2", "m3"))  # not c3's m4
    assert reads["learner"][1:] == ("ann", None)
    assert [skill for skill, _, _ in reads["stored"]] == ["fractions"]
    assert reads["unstored"] == [("graphs", True), ("graphs", False), ("graphs", False)]  # 90, 30, 55 in time order
    assert reads["counters"]["learner_id"] == ann and reads["model"]["kind"] == "cold_start"
    assert len(reads["module"]) == 8 and reads["metrics"]["assessments"] == 6
    lone = _plain(read_learner(bo))
    assert lone["modules"] == [] and lone["stored"] == [] and lone["unstored"] == [] and lone["counters"] is None
    if db.engine.dialect.name == "postgresql":  # the one statement gives what the session's statements give
        for learner in (ann, bo):
            at = NOW.timestamp()
            assert _plain(_in_one_statement(learner, at)) == _plain(_one_by_one(learner, at))
    with pytest.raises(sa.exc.NoResultFound):
        read_learner(max(ann, bo) + 1000)


def _store_model(seed: int, sign: float, at: datetime) -> RiskModel:
    """A trained model (synthetic history: risk rising or falling with the first feature) stored as the newest."""
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(400, len(FEATURES)))
    labels = (rng.random(400) < 1 / (1 + np.exp(-sign * 2 * features[:, 0]))).astype(int)
    model = train_risk_model(features, labels)
    assert model.kind == "trained"
    store_risk_model(model, at, labels)
    return model


def test_a_retrained_risk_model_is_used_from_the_next_open(client, service, frozen):
    ann, _ = _school(client, service)
    learner = Principal(ann, "ann", "learner")
    assert dashboard_initial_data(learner, "s")["progress"]["risk"]["model"] == "cold_start"
    features = load_context(db.session.get(User, ann)).metrics.features(FEATURES)
    db.session.remove()
    shown = []
    for seed, sign, hours in ((1, 1.0, 2), (2, -1.0, 1)):  # the worker stores a model, then a newer one
        model = _store_model(seed, sign, NOW - timedelta(hours=hours))
        db.session.remove()
        risk = dashboard_initial_data(learner, "s")["progress"]["risk"]
        assert risk == risk_json(model, features)
        shown.append(risk)
    assert shown[0]["model"] == shown[1]["model"] == "trained" and shown[0] != shown[1]


def test_the_section_is_read_as_enrolled(client, service, frozen):
    """An enrollment in a section without a course adds no modules (the course id is NULL)."""
    ann, _ = _school(client, service)
    db.session.add(Section(external_id="s0", name="s0"))
    db.session.commit()
    _put(client, service, "sections/s0/enrollments/ann", {})
    assert len(read_learner(ann).modules) == 4
