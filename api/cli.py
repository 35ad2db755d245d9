"""Command-line tools (names are part of the contract): `flask users`, `flask tokens`, `flask demo`."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable
from contextlib import nullcontext
from typing import Any

import click
import sqlalchemy as sa
from flask import current_app

from api.auth.tokens import issue_token
from api.realtime.announce import revoke_sockets
from models import ROLES, User, db
from services.audit import CLI_ACTOR, record, user_changes
from services.credentials import revoke_tokens, wait_past

users_cli = click.Group("users", help="Manage users.")
tokens_cli = click.Group("tokens", help="Issue API tokens.")
demo_cli = click.Group("demo", help="Demo data.")
models_cli = click.Group("models", help="Predictive models.")
monitoring_cli = click.Group("monitoring", help="Alert sweeps.")
PERSON_CLI_MAX_TTL = 7 * 86400  # a person's token from the command line: a week at most
SERVICE_CLI_MAX_TTL = 365 * 86400  # an integration's credential: rotate it at least yearly
SIGN_IN_TTL = 12 * 3600


@monitoring_cli.command("run")
@click.option("--dry-run", is_flag=True, help="Show what would be raised; change nothing.")
@click.option("--verbose", is_flag=True, help="List every alert raised (or that would be).")
@click.option("--rule", "only_rule", default=None, help="Evaluate only this rule.")
def monitoring_run(dry_run: bool, verbose: bool, only_rule: str | None) -> None:
    """Run the performance and engagement sweeps now, in this process, shard by shard (recorded as started
    by cli for `flask monitoring status`, except dry runs)."""
    from analytics.alert_rules import RULES  # noqa: PLC0415
    from services.job_runs import recorded_run  # noqa: PLC0415
    from services.monitoring import evaluate_rules, learner_ids_between, shard_ranges  # noqa: PLC0415
    from services.sweeps import shard_size  # noqa: PLC0415

    if only_rule is not None and only_rule not in RULES:
        raise click.BadParameter(f"unknown rule; choose from {', '.join(sorted(RULES))}", param_hint="--rule")
    sweeps = [RULES[only_rule].sweep] if only_rule else ["performance", "engagement"]
    ranges = shard_ranges(shard_size())
    for sweep in sweeps:
        created = resolved = learners = 0
        with (
            nullcontext({}) if dry_run else recorded_run(sweep, "cli", rule=only_rule or "") as run,
            click.progressbar(ranges, label=f"{sweep} sweep", file=sys.stderr) as shards,
        ):
            for low, high in shards:
                stats = evaluate_rules(learner_ids_between(low, high), sweep, dry_run=dry_run, only_rule=only_rule)
                learners += stats.learners
                created, resolved = (
                    created + (len(stats.would_raise) if dry_run else stats.created),
                    resolved + stats.resolved,
                )
                if verbose:
                    for row in stats.would_raise:
                        click.echo(f"  would raise {row['rule']} for learner id {row['learner_id']}")
            run.update(learners=learners, alerts_created=created, alerts_resolved=resolved)  # a dry run: not recorded
        verb = "would be raised" if dry_run else "raised"
        click.echo(f"{sweep}: {learners} learners scanned, {created} alert(s) {verb}, {resolved} resolved")


@monitoring_cli.command("standings")
def monitoring_standings() -> None:
    """Fill every learner's roster row now (after upgrading; the worker keeps them fresh from then on)."""
    from services.monitoring import learner_ids_between, shard_ranges, store_snapshots  # noqa: PLC0415
    from services.standings import refresh_open_alerts  # noqa: PLC0415
    from services.sweeps import shard_size  # noqa: PLC0415

    learners = 0
    with click.progressbar(shard_ranges(shard_size()), label="standings", file=sys.stderr) as shards:
        for low, high in shards:
            ids = learner_ids_between(low, high)
            learners += store_snapshots(ids, "backfill")
            refresh_open_alerts(ids)
            db.session.commit()
    click.echo(f"standings: {learners} learners refreshed")


@monitoring_cli.command("digests")
def monitoring_digests() -> None:
    """Build every learner's digest from the event log now (after upgrading; evaluations keep them fresh)."""
    from services.digests import mark_checked, newest_event_id, rebuild_digests  # noqa: PLC0415
    from services.monitoring import learner_ids_between, shard_ranges  # noqa: PLC0415
    from services.sweeps import shard_size  # noqa: PLC0415

    upto, learners = newest_event_id(), 0
    with click.progressbar(shard_ranges(shard_size()), label="digests", file=sys.stderr) as shards:
        for low, high in shards:
            learners += rebuild_digests(learner_ids_between(low, high))
    mark_checked(upto)
    click.echo(f"digests: {learners} learners rebuilt, events up to id {upto} covered")


@models_cli.command("train")
def train_models() -> None:
    """Retrain the risk model and refit BKT skill parameters now (beat also does this daily)."""
    from services.model_training import train_and_store_risk_model  # noqa: PLC0415
    from services.skill_refit import fit_and_store_skill_models  # noqa: PLC0415

    version = train_and_store_risk_model()
    quality = version.quality
    click.echo(
        f"risk model v{version.id}: {version.kind}, {version.samples} labelled learners"
        + (f", held-out ROC AUC {quality['roc_auc']:.3f}, Brier {quality['brier']:.3f}" if "roc_auc" in quality else "")
    )
    click.echo(f"skills fitted: {fit_and_store_skill_models()}")


@users_cli.command("create")
@click.option("--external-id", required=True, help="The id the sending platform uses for this user.")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--name", default=None)
def create_user(external_id: str, role: str, name: str | None) -> None:
    """Create a user, or update the role and name of an existing one."""
    user = db.session.scalar(sa.select(User).where(User.external_id == external_id))
    action = "updated" if user else "created"
    before = (user.role, user.active) if user else None
    user = user or User(external_id=external_id)
    user.role, user.active = role, True
    if name is not None:
        user.name = name
    db.session.add(user)
    for change, details in user_changes(before, role, True):
        record(change, f"user:{external_id}", None, CLI_ACTOR, **details)
    db.session.commit()
    if before is not None and before[0] != role:
        revoke_sockets(user.id)  # tokens naming the old role stop working; so must their open sockets
    click.echo(f"{action} {role} {external_id}")


@tokens_cli.command("issue")
@click.option("--user", "external_id", required=True, help="External id of the user.")
@click.option(
    "--ttl",
    default=86400,
    show_default=True,
    type=click.IntRange(1, SERVICE_CLI_MAX_TTL),
    help=f"Seconds; at most {PERSON_CLI_MAX_TTL} (7 days) for people, {SERVICE_CLI_MAX_TTL} (1 year) for services.",
)
@click.option("--rotate", is_flag=True, help="Revoke every earlier token of this user first (credential rotation).")
def issue(external_id: str, ttl: int, rotate: bool) -> None:
    """Print a bearer token for a user (and nothing else, so it can be captured by a script)."""
    user = _active_user(external_id)
    if user.role != "service" and ttl > PERSON_CLI_MAX_TTL:
        raise click.BadParameter(
            f"a {user.role}'s token lives at most {PERSON_CLI_MAX_TTL} s (7 days); services may have up to a year",
            param_hint="--ttl",
        )
    if rotate:
        wait_past(_revoke(user))
    token, _ = issue_token(current_app.config["SECRET_KEY"], user.external_id, user.role, ttl)
    record("token.minted", f"user:{user.external_id}", None, CLI_ACTOR, ttl=ttl, role=user.role)
    db.session.commit()
    click.echo(token)


@tokens_cli.command("revoke")
@click.option("--user", "external_id", required=True, help="External id of the user.")
def revoke(external_id: str) -> None:
    """Make every token and sign-in session of a user issued until now stop working (and close its sockets)."""
    user = _active_user(external_id)
    _revoke(user)
    click.echo(f"revoked every token of {external_id} issued until now; `flask tokens issue` makes a new one")


def _active_user(external_id: str) -> User:
    user = db.session.scalar(sa.select(User).where(User.external_id == external_id))
    if user is None or not user.active:
        raise click.ClickException(f"no active user {external_id!r}; create one with `flask users create`")
    return user


def _revoke(user: User) -> int:
    cutoff = revoke_tokens(user, None, CLI_ACTOR)
    db.session.commit()
    revoke_sockets(user.id)
    return cutoff


def _stderr_bar(items: Iterable[Any], label: str) -> Any:
    """A progress bar on stderr, so stdout stays the summary, tokens and links."""
    return click.progressbar(items, label=label, file=sys.stderr)


def _default_base_url() -> str:
    return f"http://127.0.0.1:{os.environ.get('PORT') or 5000}"


@demo_cli.command("seed")
@click.option("--learners", default=240, show_default=True, type=click.IntRange(10, 100000))
@click.option("--days", default=60, show_default=True, type=click.IntRange(7, 365))
@click.option("--seed", "random_seed", default=7, show_default=True, help="Random seed, for a repeatable school.")
@click.option(
    "--base-url",
    default=None,
    help="Where the dashboards are served, for the sign-in links.  [default: http://127.0.0.1:$PORT or 5000]",
)
def seed(learners: int, days: int, random_seed: int, base_url: str | None) -> None:
    """Fill the database with a synthetic school, evaluate it, and print sign-in links and tokens.

    Running it again with the same --seed and --days on the same day stores nothing new; a database
    holding a different demo is refused before anything is written."""
    from api.demo import DemoConflict, seed_school  # noqa: PLC0415  (heavy, only for this command)

    started = time.monotonic()
    try:
        summary = seed_school(learners, days, random_seed, bar=_stderr_bar, echo=click.echo)
    except DemoConflict as exc:
        raise click.ClickException(str(exc)) from exc
    secret = current_app.config["SECRET_KEY"]
    click.echo(
        f"\nSeeded {summary['learners']} learners in {summary['sections']} sections, {summary['events']} events "
        f"over {days} days ({summary['slipping']} learners slipping) in {time.monotonic() - started:.1f} s."
    )
    click.echo("Profiles: " + ", ".join(f"{name} {count}" for name, count in summary["profiles"].items()))
    click.echo("Open alerts: " + (", ".join(f"{rule} {n}" for rule, n in summary["open_alerts"].items()) or "none"))
    for label, external_id, role in (
        ("educator", summary["educator"], "educator"),
        ("learner", summary["learner"], "learner"),
        ("admin", summary["admin"], "admin"),
    ):
        token, _ = issue_token(secret, external_id, role, 7 * 86400)
        click.echo(f"\nDemo {label} {external_id} (token valid 7 days):\n{token}")
    _print_sign_in_links(base_url or _default_base_url(), [summary["learner"], summary["educator"], summary["admin"]])


def _print_sign_in_links(base_url: str, external_ids: list[str]) -> None:
    """One dashboard sign-in link per demo user (GET /login?token=... starts a browser session)."""
    secret, base_url = current_app.config["SECRET_KEY"], base_url.rstrip("/")
    users = {u.external_id: u for u in db.session.scalars(sa.select(User).where(User.external_id.in_(external_ids)))}
    click.echo(f"\nSign in to the dashboards (links valid {SIGN_IN_TTL // 3600} hours; open one per browser profile):")
    for external_id in external_ids:
        user = users[external_id]
        token, _ = issue_token(secret, user.external_id, user.role, SIGN_IN_TTL)
        click.echo(f"  {user.role:<9} {user.name or user.external_id}\n    {base_url}/login?token={token}")


@demo_cli.command("simulate")
@click.option("--rate", default=5.0, show_default=True, type=click.FloatRange(0.1, 1000), help="Events per second.")
@click.option("--duration", default=None, type=click.FloatRange(0.1), help="Seconds to run.  [default: until Ctrl-C]")
@click.option("--base-url", default=None, help="The running server.  [default: http://127.0.0.1:$PORT or 5000]")
@click.option("--seed", "random_seed", default=7, show_default=True, help="Random seed, for a repeatable run.")
def simulate(rate: float, duration: float | None, base_url: str | None, random_seed: int) -> None:
    """Keep posting realistic events to a running server through its HTTP API, so dashboards move.

    Activity, quizzes (a few learners slipping, a few excelling), class registers and a new exam with
    its marks, as the demo's service integration. Run `flask demo seed` first. The roster is read from,
    and the service token signed for, the database and SECRET_KEY this command is configured with:
    the server's own (as with `make run`)."""
    from api.demo.http import JsonClient, Unreachable  # noqa: PLC0415
    from api.demo.simulate import Simulator, load_classes, simulator_token  # noqa: PLC0415

    classes = load_classes()
    if not classes:
        raise click.ClickException("no section has learners yet; run `flask demo seed` first")
    base_url = (base_url or _default_base_url()).rstrip("/")
    token = simulator_token(current_app.config["SECRET_KEY"], int(duration or 7 * 86400) + 3600)
    simulator = Simulator(JsonClient(base_url, token), classes, random_seed)
    failure = None
    try:
        simulator.client.request("GET", "/health", timeout=90)  # a just-started web process answers slowly once
        click.echo(f"Simulating at {base_url}: {rate:g} events/s into {len(classes)} sections (Ctrl-C stops).")
        simulator.run(rate, duration, click.echo)
    except Unreachable as exc:
        failure = f"{exc}; is it running? Start it with `make run`."
    except KeyboardInterrupt:
        click.echo("\nStopped.")
    stats = simulator.stats
    if stats.requests:
        kinds = ", ".join(f"{kind} {n}" for kind, n in stats.events.most_common())
        click.echo(
            f"Simulated {stats.seconds:.1f} s: {sum(stats.events.values())} events sent "
            f"({kinds or 'none'}), {stats.exams} exam(s) created, {stats.requests} requests, {stats.errors} error(s)."
        )
    if stats.last_error:
        click.echo(f"Last error: {stats.last_error}", err=True)
    if failure:
        raise click.ClickException(failure)


@monitoring_cli.command("status")
def monitoring_status() -> None:
    """Last run of every background job: outcome, when, who started it (beat, cli, api), how long, figures."""
    from api.cli_jobs import echo_job_runs  # noqa: PLC0415
    from services.job_runs import last_runs  # noqa: PLC0415

    echo_job_runs(last_runs())
