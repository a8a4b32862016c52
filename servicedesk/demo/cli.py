"""``servicedesk demo load``: a realistic demo data set."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from servicedesk.auth.models import User
from servicedesk.core.db import db
from servicedesk.demo.generate import DEFAULT_SEED
from servicedesk.demo.loader import (
    DemoDataError,
    demo_loaded,
    existing_data,
    load_demo,
    refusal_message,
)
from servicedesk.demo.showcase import (
    ADMIN_USERNAME,
    AGENT_USERNAME,
    DEMO_PASSWORD,
    SHOWCASE_CONSUMER_CODE,
    SHOWCASE_CONSUMER_PHONE,
    SHOWCASE_ENGLISH_CODE,
    SHOWCASE_ENGLISH_EXTENSION,
    SHOWCASE_ENGLISH_PHONE,
    SHOWCASE_ENTERPRISE_CODE,
    SHOWCASE_ENTERPRISE_PHONE,
    SHOWCASE_EXPIRED_SERIAL,
    SHOWCASE_LAPTOP_SERIAL,
    SHOWCASE_STATION_CODE,
    SHOWCASE_STATION_USERNAME,
    SUPERVISOR_USERNAME,
)

demo_cli = AppGroup("demo", help="Demo data.")


def demo_logins_text(station_count: int) -> str:
    """The demo logins and a few callers to look up, as ``servicedesk demo logins`` shows them."""
    rows = [
        f"demo logins (password for all: {DEMO_PASSWORD})",
        f"  {AGENT_USERNAME:<15} call-center agent",
        f"  {SUPERVISOR_USERNAME:<15} supervisor",
        f"  {ADMIN_USERNAME:<15} administrator",
        f"  {SHOWCASE_STATION_USERNAME:<15} repair station {SHOWCASE_STATION_CODE} "
        f"(each of the {station_count} stations has one: station-<code>)",
        "callers to look up in the agent terminal:",
        f"  {SHOWCASE_ENTERPRISE_PHONE} or {SHOWCASE_LAPTOP_SERIAL}: {SHOWCASE_ENTERPRISE_CODE}, "
        "key account: onsite + adp + kyd, a 4-hour server, an entitlement about to end",
        f"  {SHOWCASE_CONSUMER_PHONE} or {SHOWCASE_EXPIRED_SERIAL}: {SHOWCASE_CONSUMER_CODE}, "
        "consumer: warranty expired, repairs are billable",
        f"  {SHOWCASE_ENGLISH_PHONE} ext {SHOWCASE_ENGLISH_EXTENSION}: {SHOWCASE_ENGLISH_CODE}, "
        "English-speaking account",
    ]
    return "\n".join(rows)


@demo_cli.command("load")
@click.option(
    "--seed",
    type=int,
    default=DEFAULT_SEED,
    show_default=True,
    help="Random seed: the same seed gives the same data set.",
)
@click.option(
    "--scale",
    type=click.FloatRange(min=0.001, max=10.0),
    default=1.0,
    show_default=True,
    help="Size relative to the full set (5,000 customers, 15,000 assets).",
)
@click.option(
    "--if-empty",
    is_flag=True,
    help="Succeed without loading when the database already has customers or stations "
    "(for a first start); shows the demo logins when they are there.",
)
def load_command(seed: int, scale: float, if_empty: bool) -> None:
    """Load the demo data set into a fresh database."""
    existing = existing_data()
    if existing:
        if if_empty:
            click.echo(f"not loading demo data: {existing}")
            return
        raise click.ClickException(refusal_message(existing))
    try:
        summary = load_demo(seed=seed, scale=scale, progress=click.echo)
    except DemoDataError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    except Exception:
        db.session.rollback()
        raise
    db.session.commit()
    click.echo(
        f"demo data loaded in {summary.seconds:.1f}s; "
        "`servicedesk demo logins` lists the logins and callers to try"
    )


@demo_cli.command("logins")
def logins_command() -> None:
    """Show the demo logins and a few callers to look up."""
    if not demo_loaded():
        click.echo("this database has no demo data (servicedesk demo load adds it)")
        return
    stations = db.session.scalar(
        sa.select(sa.func.count()).select_from(User).where(User.role == "station")
    )
    click.echo(demo_logins_text(stations))
