"""Human ticket numbers, handed out without gaps or duplicates under concurrency."""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from servicedesk.core.db import db
from servicedesk.tickets.models import TicketCounter, format_ticket_number


def next_ticket_number(year: int) -> str:
    """Increment the year's counter in one upsert; the row lock serialises concurrent callers."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(TicketCounter)
        .values(year=year, last_value=1)
        .on_conflict_do_update(
            index_elements=[TicketCounter.year],
            set_={"last_value": TicketCounter.last_value + 1},
        )
        .returning(TicketCounter.last_value)
    )
    sequence = db.session.execute(statement).scalar_one()
    return format_ticket_number(year, sequence)


PROVISIONAL_PREFIX = "~"


def provisional_number() -> str:
    """A unique stand-in for a ticket's number until :func:`next_ticket_number` gives the real
    one later in the same transaction (``~`` and 16 hex digits: never a real number, and never
    seen by anyone else, since the real one replaces it before the transaction commits)."""
    return PROVISIONAL_PREFIX + secrets.token_hex(8)


def ensure_counter_at_least(year: int, sequence: int) -> None:
    """Move a year's counter past numbers that were assigned elsewhere (imported history)."""
    db.session.execute(
        sa.update(TicketCounter)
        .where(TicketCounter.year == year, TicketCounter.last_value < sequence)
        .values(last_value=sequence)
    )
