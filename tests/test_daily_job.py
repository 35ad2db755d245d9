"""The daily analytics as the beat runs it (worker.tasks.daily_analytics, its snapshots fanned out as shards)
and as `flask analytics run daily` runs it (services.scheduled_jobs.run_daily, in-process) are one definition
(services.scheduled_jobs.daily_models): the same steps, in the same order, storing the same things."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from models import CohortSnapshot, Enrollment, MetricSnapshot, RiskModelVersion, Section, SkillMastery, db
from services.cohorts import COHORT_SHARD_SECTIONS, section_shards
from services.monitoring import shard_ranges
from services.skill_refit import skill_shards
from services.sweeps import run_daily_cohort_shard, run_daily_shard, run_daily_skill_shard, shard_size

FIGURES = ("learners", "scored", "average", "pass_rate", "grade_distribution", "attendance_percent", "risk")


@pytest.fixture
def section(planted):
    row = Section(external_id="s-daily", name="Daily")
    db.session.add(row)
    db.session.flush()
    db.session.add_all([Enrollment(learner_id=pk, section_id=row.id) for pk in planted.values()])
    db.session.commit()
    return row.id


def stored_since(moment) -> dict[str, Any]:
    """What one daily run stored after `moment`, with each kind of row's earliest time."""
    model = db.session.scalars(sa.select(RiskModelVersion).where(RiskModelVersion.id > moment)).one()
    snapshots = db.session.scalars(
        sa.select(MetricSnapshot).where(
            MetricSnapshot.metrics["snapshot"].as_string() == "daily", MetricSnapshot.taken_at >= model.trained_at
        )
    ).all()
    cohorts = db.session.scalars(sa.select(CohortSnapshot).where(CohortSnapshot.taken_at >= model.trained_at)).all()
    return {
        "model": (model.kind, model.samples, model.positives),
        "trained_at": model.trained_at,
        "snapshots": sorted((s.learner_id, s.metrics["risk_model"], s.metrics["assessments"]) for s in snapshots),
        "first_snapshot": min(s.taken_at for s in snapshots),
        "cohorts": sorted((c.section_id, *(str(c.summary[k]) for k in FIGURES)) for c in cohorts),
        "first_cohort": min(c.taken_at for c in cohorts),
        "unusual": [sorted(u["learner"] for u in c.summary["unusual_learners"]) for c in cohorts],
    }


def stored_mastery() -> list[tuple]:
    """Every mastery row's figures (the refit's output, without its time)."""
    m = SkillMastery
    return [tuple(r) for r in db.session.execute(sa.select(m.learner_id, m.skill, m.p_mastery, m.attempts, m.correct))]


def newest_model_id() -> int:
    return db.session.scalar(sa.select(sa.func.coalesce(sa.func.max(RiskModelVersion.id), 0)))


def test_the_beat_and_the_cli_store_the_same_things_in_the_same_order(client, service, planted, section):
    from services.scheduled_jobs import run_daily
    from worker.tasks import daily_analytics

    attempts = [  # one skill with history, so both refit it
        {"learner": name, "kind": "assessment", "occurred_at": f"2026-01-0{day}T10:00:00Z", "skill": "fractions",
         "score": score, "max_score": 10}
        for name, day, score in [("steady", 1, 4), ("steady", 2, 8), ("decliner", 3, 9)]
    ]  # fmt: skip
    assert client.post("/api/v1/events", json={"events": attempts}, headers=service).status_code == 201
    before = newest_model_id()
    beat = daily_analytics.run()  # its shards go to a queue no one reads in this tier ...
    ranges = shard_ranges(shard_size())
    skills = skill_shards()
    assert beat["snapshot_shards"] == len(ranges) == 1 and beat["skill_shards"] == len(skills) == 1
    refitted = sum(run_daily_skill_shard(i, names, besides, 0)["skills"] for i, (names, besides) in enumerate(skills))
    for low, high in ranges:  # ... so run them here, as a worker would
        run_daily_shard(low, high, 0, 0)
    shards = section_shards(COHORT_SHARD_SECTIONS)
    assert beat["cohort_shards"] == len(shards) == 1
    for sections in shards:
        run_daily_cohort_shard(sections, 0)
        assert run_daily_cohort_shard(sections, 0) == {"skipped": "shard already done"}  # a redelivery
    by_beat, mastery_by_beat = stored_since(before), stored_mastery()
    before = newest_model_id()
    cli = run_daily("cli", ranges)
    by_cli = stored_since(before)
    assert stored_mastery() == mastery_by_beat and len(mastery_by_beat) == 2
    assert beat["cohorts"] == cli["cohorts"] and refitted == cli["skills"] == 1
    assert beat["risk_model"] != cli["risk_model"] and cli["snapshots"] == 5
    for key in ("model", "snapshots", "cohorts", "unusual"):
        assert by_beat[key] == by_cli[key], key
    for run in (by_beat, by_cli):  # the risk model is retrained before anything scored with it is stored
        assert run["trained_at"] <= run["first_snapshot"] and run["trained_at"] <= run["first_cohort"]
    assert len(by_cli["snapshots"]) == 5 and len(by_cli["cohorts"]) == 1
