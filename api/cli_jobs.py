"""`flask analytics run daily|velocity` and the job table of `flask monitoring status`."""

from __future__ import annotations

import click

from services.job_runs import JOBS

analytics_cli = click.Group("analytics", help="Analytics jobs.")
FIGURES = ("learners", "alerts_created", "alerts_resolved", "snapshots", "cohorts", "skills", "deleted", "achievements")


@analytics_cli.command("run")
@click.argument("job", type=click.Choice(["daily", "velocity"]))
def analytics_run(job: str) -> None:
    """Run the daily analytics or the velocity sweep now, in this process, as the beat would (the run is
    recorded as started by cli; see `flask monitoring status`)."""
    from services.monitoring import shard_ranges  # noqa: PLC0415
    from services.scheduled_jobs import run_daily, run_velocity  # noqa: PLC0415
    from services.sweeps import shard_size  # noqa: PLC0415

    def progress(message: str) -> None:
        click.echo(message, err=True)

    run = run_daily if job == "daily" else run_velocity
    summary = run("cli", shard_ranges(shard_size()), progress)  # a failure is recorded, then raised
    click.echo(f"{job}: done, " + ", ".join(f"{name} {value}" for name, value in summary.items()))


def job_line(job: str, run: dict[str, str]) -> str:
    """One job's last run in a line: when, who started it, how long, how it ended, its figures."""
    if not run:
        return f"{job}: never run"
    figures = ", ".join(f"{name} {run[name]}" for name in FIGURES if run.get(name, "") != "")
    shards = f", shards {run['shards_done']}/{run['shards']}" if run.get("shards") and "shards_done" in run else ""
    duration = f"{run['duration_seconds']} s" if run.get("duration_seconds") else "-"
    line = (
        f"{job}: {run.get('outcome') or 'unknown'}, started {run.get('started_at')} by "
        f"{run.get('started_by') or 'beat'}, finished {run.get('finished_at') or '-'}, {duration}{shards}"
    )
    line += f"; {figures}" if figures else ""
    return line + (f"; error: {run['error']}" if run.get("error") else "")


def echo_job_runs(runs: dict[str, dict[str, str]]) -> None:
    """Every job, in a fixed order."""
    for job in JOBS:
        click.echo(job_line(job, runs.get(job, {})))
