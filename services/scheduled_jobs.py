"""The daily and velocity jobs' work: one code path for the beat tasks and `flask analytics run`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from services.daily_digests import daily_snapshots, digest_features
from services.digests import advance_watermark
from services.job_runs import recorded_run
from services.model_training import train_and_store_risk_model
from services.monitoring import learner_ids_between, store_cohort_snapshots, store_snapshots
from services.skill_refit import refit_skills, skill_shards

Progress = Callable[[str], None]  # told what was just done, for a person watching (the CLI)


def _quiet(_: str) -> None:
    """No one is watching (a worker)."""


def velocity_snapshots(learner_ids: Sequence[int]) -> int:
    """Velocity metrics and completion forecasts of these learners, stored as snapshots (one sweep shard)."""
    return store_snapshots(learner_ids, "velocity", with_completion=True)


def run_velocity(started_by: str, ranges: Sequence[tuple[int, int]], progress: Progress = _quiet) -> dict[str, Any]:
    """The velocity sweep in this process, shard after shard (the beat fans the same shards out instead)."""
    with recorded_run("velocity", started_by, shards=len(ranges), shards_done=0, learners=0) as run:
        learners = 0
        for done, (low, high) in enumerate(ranges, 1):
            learners += velocity_snapshots(learner_ids_between(low, high))
            progress(f"velocity: shard {done}/{len(ranges)}, {learners} learners")
        run.update(shards_done=len(ranges), learners=learners)
    return run


Step = Callable[[], dict[str, Any]]  # a part run here or fanned out as shards; returns its figures


def daily_models(
    run: dict[str, Any], skills: Step, snapshots: Step, cohorts: Step, progress: Progress = _quiet
) -> None:
    """The BKT refit first (nothing else reads mastery; fanned out, its shards are the largest, so started
    first they keep every worker process busy to the end), then the risk model (it reads outcomes and digests,
    no snapshot) so snapshots and cohorts score with it."""
    run.update(skills())
    version = train_and_store_risk_model(features_of=digest_features)
    run.update(risk_model=version.id)
    progress(f"daily: risk model v{version.id} ({version.kind}, {version.samples} labelled learners)")
    run.update(snapshots())
    run.update(cohorts())
    progress(f"daily: {run['cohorts']} section snapshots")


def run_daily(started_by: str, ranges: Sequence[tuple[int, int]], progress: Progress = _quiet) -> dict[str, Any]:
    """Daily analytics in this process, the snapshots shard after shard (the beat fans the same shards out)."""

    def snapshots() -> dict[str, int]:
        done, since = 0, advance_watermark()  # snapshots from digests, as the beat's daily shards do
        for shard, (low, high) in enumerate(ranges, 1):
            done += daily_snapshots(learner_ids_between(low, high), since)
            progress(f"daily: snapshots, shard {shard}/{len(ranges)}, {done} learners")
        return {"snapshots": done, "learners": done}

    def cohorts() -> dict[str, int]:
        return {"cohorts": store_cohort_snapshots()}

    def skills() -> dict[str, int]:
        shards, fitted = skill_shards(), 0
        for done, (names, besides) in enumerate(shards, 1):
            fitted += refit_skills(names, besides)
            progress(f"daily: BKT refit, shard {done}/{len(shards)}, {fitted} skills refitted")
        return {"skills": fitted, "skill_shards": len(shards)}

    with recorded_run("daily", started_by, shards=len(ranges)) as run:
        daily_models(run, skills, snapshots, cohorts, progress)
    return run
