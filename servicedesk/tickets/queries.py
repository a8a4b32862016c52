"""Finding tickets as a given user may see them: one by its number, or pages newest first.

Agents, supervisors and admins see every ticket; a station user only its own station's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.interfaces import ORMOption

from servicedesk.auth.access import AGENT_ROLES
from servicedesk.auth.models import User
from servicedesk.core.db import db
from servicedesk.customers.models import Customer
from servicedesk.stations.models import Station
from servicedesk.tickets.models import TICKET_KINDS, TICKET_STATUSES, Ticket, TicketEvent

MAX_PAGE_SIZE = 200
TICKET_NUMBER_MAX = 20


def ticket_detail_options() -> tuple[ORMOption, ...]:
    """Load everything a full ticket shows, one query per relation (built when called, so that
    importing this module does not configure the mappers)."""
    return (
        selectinload(Ticket.customer),
        selectinload(Ticket.asset),
        selectinload(Ticket.station),
        selectinload(Ticket.events).selectinload(TicketEvent.actor),
        selectinload(Ticket.clocks),
        selectinload(Ticket.parts),
    )


class TicketQueryError(ValueError):
    """A filter names something that does not exist; ``field`` is the filter."""

    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class TicketPosition:
    """A place in the newest-first order: a ticket's creation time (aware) and id."""

    created_at: datetime
    id: int

    @classmethod
    def of(cls, ticket: Ticket) -> TicketPosition:
        return cls(created_at=ticket.created_at, id=ticket.id)


@dataclass(frozen=True)
class TicketFilters:
    """All given filters must match; ``station`` and ``customer`` are codes."""

    status: str | None = None
    kind: str | None = None
    station: str | None = None
    customer: str | None = None


@dataclass
class TicketPage:
    items: list[Ticket]
    next: TicketPosition | None
    """Where the next page starts; None on the last page."""


def visible_to(actor: User) -> sa.ColumnElement[bool]:
    if actor.has_role(*AGENT_ROLES):
        return sa.true()
    if actor.has_role("station") and actor.station_id is not None:
        return Ticket.station_id == actor.station_id
    return sa.false()


def ticket_by_number(actor: User, number: str) -> Ticket | None:
    """The ticket numbered ``number`` if ``actor`` may see it; else None, as if there were none."""
    if len(number) > TICKET_NUMBER_MAX or "\x00" in number:
        return None
    return db.session.scalar(
        sa.select(Ticket)
        .where(Ticket.number == number, visible_to(actor))
        .options(*ticket_detail_options())
    )


def list_tickets(
    actor: User, filters: TicketFilters, *, limit: int, after: TicketPosition | None = None
) -> TicketPage:
    """Up to ``limit`` (1..MAX_PAGE_SIZE) tickets newest first (created_at, then id, descending),
    starting after the position ``after``.

    Keyset pagination: pages stay consistent while new tickets arrive (they appear before
    the first page, never as duplicates further on).
    """
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise ValueError(f"limit must be 1..{MAX_PAGE_SIZE}, not {limit}")
    conditions = [visible_to(actor), *_filter_conditions(filters)]
    if after is not None:
        conditions.append(
            sa.or_(
                Ticket.created_at < after.created_at,
                sa.and_(Ticket.created_at == after.created_at, Ticket.id < after.id),
            )
        )
    rows = db.session.scalars(
        sa.select(Ticket)
        .where(*conditions)
        .order_by(Ticket.created_at.desc(), Ticket.id.desc())
        .limit(limit + 1)
        .options(*ticket_detail_options())
    ).all()
    items = list(rows[:limit])
    more = len(rows) > limit
    return TicketPage(items=items, next=TicketPosition.of(items[-1]) if more else None)


def _filter_conditions(filters: TicketFilters) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = []
    if filters.status is not None:
        if filters.status not in TICKET_STATUSES:
            raise TicketQueryError(f"unknown status {filters.status!r}", field="status")
        conditions.append(Ticket.status == filters.status)
    if filters.kind is not None:
        if filters.kind not in TICKET_KINDS:
            raise TicketQueryError(f"unknown ticket kind {filters.kind!r}", field="kind")
        conditions.append(Ticket.kind == filters.kind)
    if filters.station is not None:
        station_id = db.session.scalar(sa.select(Station.id).where(Station.code == filters.station))
        if station_id is None:
            raise TicketQueryError(f"unknown station {filters.station!r}", field="station")
        conditions.append(Ticket.station_id == station_id)
    if filters.customer is not None:
        customer_id = db.session.scalar(
            sa.select(Customer.id).where(Customer.code == filters.customer)
        )
        if customer_id is None:
            raise TicketQueryError(f"unknown customer {filters.customer!r}", field="customer")
        conditions.append(Ticket.customer_id == customer_id)
    return conditions
