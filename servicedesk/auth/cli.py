"""``servicedesk users create|update|deactivate|password|token|tokens|revoke``.

Thin commands: the work is done by :mod:`servicedesk.auth.services`, committed here.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import wraps

import click
from flask.cli import AppGroup

from servicedesk.auth.models import ROLES
from servicedesk.auth.services import (
    UserError,
    change_password,
    create_user,
    deactivate_user,
    find_user,
    new_token,
    revoke_token,
    revoke_tokens,
    token_state,
    tokens_of,
    update_user,
)
from servicedesk.core.db import db, utcnow

users_cli = AppGroup("users", help="Manage users and API tokens.")


def committed(command: Callable) -> Callable:
    """Commit what the command did; a refused change is rolled back and reported."""

    @wraps(command)
    def wrapped(*args, **kwargs):
        try:
            result = command(*args, **kwargs)
        except UserError as exc:
            db.session.rollback()
            raise click.ClickException(str(exc)) from exc
        db.session.commit()
        return result

    return wrapped


PHONE_HELP = "The agent's desk phone, where taken calls are put through (number or sip:URI)."


@users_cli.command("create")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--station", "station_code", help="Station code (station users only).")
@click.option("--display-name", default="", help="Full name shown in the UI.")
@click.option("--language", type=click.Choice(["en", "zh"]), default=None)
@click.option("--phone", default=None, help=PHONE_HELP)
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="Prompted for when not given.",
)
@committed
def create_command(name, role, station_code, display_name, language, phone, password):
    """Create user NAME with a role."""
    user = create_user(
        name,
        role=role,
        password=password,
        station_code=station_code,
        display_name=display_name,
        language=language,
        phone=phone,
    )
    click.echo(f"created {user.role} {user.username}")


@users_cli.command("update")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), default=None)
@click.option("--station", "station_code", default=None, help="Station code (station users).")
@click.option("--phone", default=None, help=PHONE_HELP + " An empty value removes it.")
@committed
def update_command(name, role, station_code, phone):
    """Change the role, station or desk phone of user NAME."""
    if role is None and station_code is None and phone is None:
        raise click.UsageError("give at least one of --role, --station, --phone")
    user = update_user(find_user(name), role=role, station_code=station_code, phone=phone)
    station = f" at {user.station.code}" if user.station else ""
    phone_text = f", phone {user.phone}" if user.phone else ", no phone"
    click.echo(f"{user.username}: {user.role}{station}{phone_text}")


@users_cli.command("deactivate")
@click.argument("name")
@committed
def deactivate_command(name):
    """Deactivate user NAME: every web sign-in ends and every API token is revoked, at once."""
    ended, revoked = deactivate_user(find_user(name))
    click.echo(f"deactivated {name}: {ended} sign-ins ended, {revoked} API tokens revoked")


@users_cli.command("password")
@click.argument("name")
@click.option(
    "--password",
    prompt="New password",
    hide_input=True,
    confirmation_prompt=True,
    help="Prompted for when not given.",
)
@committed
def password_command(name, password):
    """Set a new password for user NAME; every web sign-in of NAME ends."""
    ended = change_password(find_user(name), password)
    click.echo(f"password of {name} changed; {ended} sign-ins ended")


@users_cli.command("token")
@click.argument("name")
@committed
def token_command(name):
    """Print a new API token for user NAME (as the last line)."""
    user = find_user(name)
    row, token = new_token(user)
    click.echo(
        f"new API token {row.id} for {user.username}, expires {_when(row.expires_at)} UTC"
        " (shown once, store it now):"
    )
    click.echo(token)


@users_cli.command("tokens")
@click.argument("name")
def tokens_command(name):
    """List the API tokens of user NAME: id, created, last used, expires, state."""
    try:
        user = find_user(name)
    except UserError as exc:
        raise click.ClickException(str(exc)) from exc
    tokens = tokens_of(user)
    if not tokens:
        click.echo(f"{name} has no API tokens")
        return
    now = utcnow()
    click.echo(f"{'id':>6}  {'created (UTC)':<16}  {'last used':<16}  {'expires':<16}  state")
    for token in tokens:
        click.echo(
            f"{token.id:>6}  {_when(token.created_at):<16}  {_when(token.last_used_at):<16}  "
            f"{_when(token.expires_at):<16}  {token_state(token, now)}"
        )


@users_cli.command("revoke")
@click.argument("name")
@click.argument("token_id", type=click.IntRange(1, 2**63 - 1), required=False)
@click.option("--all", "revoke_all", is_flag=True, help="Revoke every token of NAME.")
@committed
def revoke_command(name, token_id, revoke_all):
    """Revoke API token TOKEN_ID of user NAME, or all of them with --all."""
    if (token_id is None) == (not revoke_all):
        raise click.UsageError("give either a TOKEN_ID or --all")
    user = find_user(name)
    if revoke_all:
        click.echo(f"revoked {revoke_tokens(user)} API tokens of {name}")
    else:
        revoke_token(user, token_id)
        click.echo(f"revoked API token {token_id} of {name}")


def _when(moment: datetime | None) -> str:
    """UTC, to the minute; '-' for never."""
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "-"
