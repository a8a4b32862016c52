"""``servicedesk users create|token``."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from servicedesk.auth.models import ROLES, User
from servicedesk.auth.services import UserError, create_user, issue_token
from servicedesk.core.db import db

users_cli = AppGroup("users", help="Manage users and API tokens.")


@users_cli.command("create")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--station", "station_code", help="Station code (station users only).")
@click.option("--display-name", default="", help="Full name shown in the UI.")
@click.option("--language", type=click.Choice(["en", "zh"]), default=None)
@click.option(
    "--phone",
    default=None,
    help="The agent's desk phone, where taken calls are put through (number or sip:URI).",
)
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="Prompted for when not given.",
)
def create_command(name, role, station_code, display_name, language, phone, password):
    """Create user NAME with a role."""
    try:
        user = create_user(
            name,
            role=role,
            password=password,
            station_code=station_code,
            display_name=display_name,
            language=language,
            phone=phone,
        )
    except UserError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"created {user.role} {user.username}")


@users_cli.command("token")
@click.argument("name")
def token_command(name):
    """Print a new API token for user NAME (as the last line)."""
    user = db.session.scalar(sa.select(User).where(User.username == name))
    if user is None:
        raise click.ClickException(f"unknown user {name!r}")
    token = issue_token(user)
    db.session.commit()
    click.echo(f"new API token for {user.username} (shown once, store it now):")
    click.echo(token)
