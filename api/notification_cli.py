"""`flask notifications`: send a digest now, or a test email to check the SMTP settings."""

from __future__ import annotations

import smtplib

import click
from flask import current_app
from flask.cli import AppGroup

from services.notifications.digests import PERIODS, send_digests
from services.notifications.email import message, send

notifications_cli = AppGroup("notifications", help="Email digests and SMTP checks.")


@notifications_cli.command("digest")
@click.argument("kind", type=click.Choice(sorted(PERIODS)))
def digest(kind: str) -> None:
    """Send this period's daily or weekly digests now (once per period, as beat does)."""
    result = send_digests(kind)
    if result.get("skipped"):
        click.echo(f"the {kind} digest of this period was already sent")
        return
    click.echo(f"sent {result['educators']} educator and {result['guardians']} guardian digest(s)")


@notifications_cli.command("test-email")
@click.argument("address")
def test_email(address: str) -> None:
    """Send one email through SMTP_URL, to check the settings."""
    if not current_app.config["SMTP_URL"]:
        raise click.ClickException("SMTP_URL is not set")
    text = "LearnPulse can send email with these settings.\n"
    try:
        send([message(address, "LearnPulse test email", text, f"<p>{text}</p>")])
    except (smtplib.SMTPException, OSError) as exc:
        raise click.ClickException(f"could not send: {exc}") from exc
    click.echo(f"sent to {address}")
