"""`flask xapi credentials create|list|revoke`: the HTTP Basic credentials LRS clients send."""

from __future__ import annotations

import click

from services.xapi.credentials import create_credential, list_credentials, revoke_credential

xapi_cli = click.Group("xapi", help="The xAPI statements resource.")
credentials_cli = click.Group("credentials", help="HTTP Basic credentials for xAPI clients (LRS key:secret).")
xapi_cli.add_command(credentials_cli)


@credentials_cli.command("create")
@click.option("--name", required=True, help="Who uses it, e.g. 'Moodle logstore'.")
def create(name: str) -> None:
    """Print ONLY key:secret (the secret is shown once; it is stored as a digest)."""
    if not name.strip() or len(name) > 200:
        raise click.BadParameter("must be 1 to 200 characters", param_hint="--name")
    key, secret = create_credential(name.strip())
    click.echo(f"{key}:{secret}")


@credentials_cli.command("list")
def list_() -> None:
    """Key, name, creation time and state of every credential (never a secret)."""
    for credential in list_credentials():
        state = f"revoked {credential.revoked_at.isoformat()}" if credential.revoked_at else "active"
        click.echo(f"{credential.key}\t{credential.name}\t{credential.created_at.isoformat()}\t{state}")


@credentials_cli.command("revoke")
@click.argument("key")
def revoke(key: str) -> None:
    """Revoke a credential by key; its next request gets 401."""
    if not revoke_credential(key):
        raise click.ClickException(f"no active credential with key {key}")
    click.echo(f"revoked {key}")
