"""`flask analytics run daily|velocity` and `flask monitoring status` through the app's CLI runner, against
the real database and Redis; a beat sweep's shards recorded the same way."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from models import CohortSnapshot, MetricSnapshot, db
from services.job_runs import JOBS, last_runs, recorded_run
from services.monitoring import shard_ranges
from services.sweeps import run_shard


def status_lines(runner) -> dict[str, str]:
    result = runner.invoke(args=["monitoring", "status"])
    assert result.exit_code == 0, result.output
    return {line.split(":", 1)[0]: line for line in result.output.splitlines()}


def snapshots(kind: str) -> int:
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(MetricSnapshot)
        .where(MetricSnapshot.metrics["snapshot"].as_string() == kind)
    )


def test_every_job_is_listed_and_never_run_at_first(runner):
    assert status_lines(runner) == {job: f"{job}: never run" for job in JOBS}


def test_analytics_run_velocity_stores_snapshots_and_records_a_cli_run(runner, planted):
    result = runner.invoke(args=["analytics", "run", "velocity"])
    assert result.exit_code == 0, result.output
    assert "velocity: shard 1/1, 5 learners" in result.output  # progress (stderr is mixed in by the runner)
    assert "velocity: done, shards_done 1, learners 5" in result.output
    assert snapshots("velocity") == 5
    run = last_runs()["velocity"]
    assert (run["outcome"], run["started_by"], run["learners"]) == ("success", "cli", "5")
    assert float(run["duration_seconds"]) >= 0 and run["finished_at"] >= run["started_at"]
    line = status_lines(runner)["velocity"]
    assert line.startswith("velocity: success, started ") and " by cli, finished " in line and "learners 5" in line


def test_analytics_run_daily_runs_the_daily_job(runner, planted):
    result = runner.invoke(args=["analytics", "run", "daily"])
    assert result.exit_code == 0, result.output
    assert (
        "daily: risk model v" in result.output and "daily: done, " in result.output and "snapshots 5" in result.output
    )
    assert snapshots("daily") == 5 and db.session.scalar(sa.select(sa.func.count()).select_from(CohortSnapshot)) == 0
    assert last_runs()["daily"]["outcome"] == "success" and "daily: success" in status_lines(runner)["daily"]


def test_analytics_run_refuses_unknown_jobs(runner):
    result = runner.invoke(args=["analytics", "run", "weekly"])
    assert result.exit_code == 2 and "weekly" in result.output
    assert last_runs()["daily"] == {}


def test_monitoring_run_is_recorded_as_cli_and_a_dry_run_is_not(runner, planted):
    assert runner.invoke(args=["monitoring", "run", "--dry-run"]).exit_code == 0
    assert last_runs()["performance"] == {} and last_runs()["engagement"] == {}
    result = runner.invoke(args=["monitoring", "run"])
    assert result.exit_code == 0, result.output
    performance, engagement = last_runs()["performance"], last_runs()["engagement"]
    assert (performance["started_by"], performance["outcome"], performance["alerts_created"]) == ("cli", "success", "3")
    assert engagement["learners"] == "5" and int(engagement["alerts_created"]) > 0


def test_a_failed_run_is_recorded_with_its_error(app):
    with pytest.raises(ZeroDivisionError), recorded_run("daily", "cli"):
        1 / 0  # noqa: B018
    run = last_runs()["daily"]
    assert run["outcome"] == "failed" and run["error"].startswith("ZeroDivisionError") and run["finished_at"]


def test_a_beat_sweep_is_recorded_by_its_shards(runner, planted):
    from worker.sweeps import start_sweep  # what the beat's coordinator task runs
    from worker.tasks import monitoring_shard

    started = start_sweep("engagement", monitoring_shard, owner="beat-task")  # shards go to a queue no one reads
    assert started["shards"] == 1 and last_runs()["engagement"]["outcome"] == "running"
    for low, high in shard_ranges(5000):  # ... so run them here, as a worker would
        run_shard("engagement", low, high, started["window"])
    run = last_runs()["engagement"]
    assert (run["outcome"], run["started_by"], run["shards_done"], run["learners"]) == ("success", "beat", "1", "5")
    assert (
        "engagement: success" in status_lines(runner)["engagement"]
        and " by beat," in status_lines(runner)["engagement"]
    )
