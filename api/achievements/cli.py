"""`flask achievements backfill [--learner ID]`: award the achievements already in the stored history."""

from __future__ import annotations

import sys
from collections import Counter

import click
import sqlalchemy as sa

from models import User, db
from services.achievements import backfill_achievements
from services.monitoring import learner_ids_between, shard_ranges

achievements_cli = click.Group("achievements", help="Learners' achievements.")
BATCH = 1000  # learners per batch: one read of their events, one insert


@achievements_cli.command("backfill")
@click.option("--learner", "external_id", help="Only this learner (external id); default: every active learner.")
@click.option("--batch", default=BATCH, show_default=True, type=click.IntRange(1, 20000), help="Learners per batch.")
def backfill(external_id: str | None, batch: int) -> None:
    """Award every achievement learners' stored events hold and they lack, once each (safe to run again).
    Publishes no live messages: they appear in GET /achievements and the dashboards."""
    if external_id is not None:
        learner = db.session.scalar(sa.select(User).where(User.external_id == external_id, User.role == "learner"))
        if learner is None:
            raise click.BadParameter(f"no learner {external_id!r}", param_hint="--learner")
        ranges = [(learner.id, learner.id + 1)]
    else:
        ranges = shard_ranges(batch)
    awarded: Counter[str] = Counter()
    learners = 0
    with click.progressbar(ranges, label="achievements", file=sys.stderr) as shards:
        for low, high in shards:
            ids = [low] if external_id is not None else learner_ids_between(low, high)
            awarded += backfill_achievements(ids)
            learners += len(ids)
    kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(awarded.items()))
    click.echo(
        f"achievements: {learners} learners scanned, {sum(awarded.values())} awarded" + (f" ({kinds})" if kinds else "")
    )
