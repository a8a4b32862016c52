"""Opening tickets during a call: validation, the coverage decision, the first events.

Operations flush and never commit: the request or command that calls them owns the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from servicedesk.auth.models import User
from servicedesk.callcenter.models import Call
from servicedesk.core.db import db
from servicedesk.customers.models import Asset, Customer
from servicedesk.sla.levels import repair_service_level
from servicedesk.sla.services import current_target_table, record_status, start_clocks
from servicedesk.stations.models import Station, StationCity
from servicedesk.tickets.models import TICKET_KINDS, Ticket, TicketEvent
from servicedesk.tickets.numbering import next_ticket_number, provisional_number
from servicedesk.warranty.coverage import DAMAGE_TYPES, PART_KINDS, decide_coverage

SUMMARY_MAX = 200
CLOSED_ON_CALL_KINDS = ("inquiry", "presales")


class IntakeError(ValueError):
    """The ticket cannot be opened as asked; ``field`` names the input at fault."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


@dataclass
class TicketRequest:
    kind: str
    summary: str
    description: str = ""
    serial: str | None = None
    damage: str = "none"
    part: str | None = None
    answered: bool = True
    """Inquiries and pre-sales consultations answered on the call are closed at once."""


def customer_today(customer: Customer, now: datetime):
    return now.astimezone(ZoneInfo(customer.timezone)).date()


def four_hour_available(city: str) -> bool:
    """Whether a station that is not suspended has 4-hour capability in ``city``."""
    return (
        db.session.scalar(
            sa.select(sa.literal(True))
            .select_from(StationCity)
            .join(Station, Station.id == StationCity.station_id)
            .where(StationCity.city == city, StationCity.four_hour, Station.status != "suspended")
            .limit(1)
        )
        is True
    )


def open_ticket(
    actor: User,
    customer: Customer,
    request: TicketRequest,
    *,
    now: datetime,
    call: Call | None = None,
) -> Ticket:
    """Open a ticket for ``customer``: coverage and service level (repairs), SLA clocks, the
    ``created`` event, dispatch to a station (repairs), closing on the call (answered inquiries
    and consultations). Raises :class:`IntakeError` for bad input; flushes, never commits.

    Nothing is flushed before the ticket is complete (no autoflush while it is built): the
    ticket and its clocks are written in one go, then what dispatch adds (the ``created`` and
    ``dispatch`` events in one statement: they set the same columns).
    """
    _validate(request)
    asset = _asset_for(customer, request)
    if call is not None and call.customer_id not in (None, customer.id):
        raise IntakeError("that call is with another customer", field="call")
    targets = current_target_table()
    number_last = _number_last()
    with db.session.no_autoflush:
        ticket = Ticket(
            number=provisional_number() if number_last else next_ticket_number(now.year),
            kind=request.kind,
            status="new",
            customer=customer,
            asset=asset,
            call=call,
            summary=request.summary.strip(),
            description=request.description.strip(),
            damage=request.damage if request.kind == "repair" else "none",
            part=request.part if request.kind == "repair" else None,
            created_by=actor,
            created_at=now,
            updated_at=now,
            events=[],
            clocks=[],
            pauses=[],
            parts=[],
        )
        db.session.add(ticket)
        if request.kind == "repair":
            apply_coverage(ticket, now=now)
        start_clocks(ticket, now=now, table=targets)
        db.session.add(
            TicketEvent(
                ticket=ticket,
                at=now,
                actor=actor,
                action="created",
                from_status=None,
                to_status="new",
                reason="",
                data=_creation_data(ticket),
            )
        )
        if request.kind == "repair":
            from servicedesk.dispatch.services import dispatch_ticket  # imports ticket services

            dispatch_ticket(actor, ticket, now=now)
        if request.kind in CLOSED_ON_CALL_KINDS and request.answered:
            ticket.status = "closed"
            ticket.closed_at = now
            db.session.add(
                TicketEvent(
                    ticket=ticket,
                    at=now,
                    actor=actor,
                    action="status",
                    from_status="new",
                    to_status="closed",
                    reason="answered during the call",
                )
            )
            record_status(ticket, "closed", now=now, previous="new")
        if call is not None and call.customer_id is None:
            call.customer = customer
        if number_last:
            ticket.number = next_ticket_number(now.year)
        db.session.flush()
    return ticket


def _number_last() -> bool:
    """Whether the ticket number is taken at the end of :func:`open_ticket` (PostgreSQL).

    The year's counter row stays locked until the transaction ends, so every ticket creation
    waits for the one before it from the moment it takes a number: taken last, it is held for
    the final flush and the commit only, and the station rows dispatch locked come before it
    (every other transaction that locks stations never touches the counter). SQLite has one
    writer at a time and no row locks: there, the counter upsert stays the first write, which
    takes the database's write lock before dispatch counts the stations' open tickets.
    """
    return db.session.get_bind().dialect.name == "postgresql"


def apply_coverage(ticket: Ticket, *, now: datetime) -> None:
    """Decide coverage and service level for a repair from its asset's entitlements."""
    asset: Asset = ticket.asset
    today = customer_today(ticket.customer, now)
    coverage = decide_coverage(
        entitlements=asset.terms,
        product_line=asset.product_line,
        on=today,
        damage=ticket.damage,
        part=ticket.part,
        purchase_price=asset.purchase_price,
    )
    ticket.covered = coverage.covered
    ticket.billable = coverage.billable
    ticket.coverage_basis = list(coverage.basis)
    ticket.coverage_reasons = [reason.to_json() for reason in coverage.reasons]
    level = repair_service_level(
        coverage,
        entitlements=asset.terms,
        on=today,
        four_hour_available=not coverage.billable and four_hour_available(asset.city),
    )
    ticket.service_level = level.level
    ticket.service_level_reasons = [reason.to_json() for reason in level.reasons]


def _validate(request: TicketRequest) -> None:
    if request.kind not in TICKET_KINDS:
        raise IntakeError(f"unknown ticket kind {request.kind!r}", field="kind")
    if not request.summary or not request.summary.strip():
        raise IntakeError("a ticket needs a summary", field="summary")
    if len(request.summary.strip()) > SUMMARY_MAX:
        raise IntakeError(f"the summary is longer than {SUMMARY_MAX} characters", field="summary")
    if request.damage not in DAMAGE_TYPES:
        raise IntakeError(f"unknown damage type {request.damage!r}", field="damage")
    if request.part is not None and request.part not in PART_KINDS:
        raise IntakeError(f"unknown part kind {request.part!r}", field="part")
    if request.kind == "repair" and not request.serial:
        raise IntakeError("a repair needs the serial number of the machine", field="serial")


def _asset_for(customer: Customer, request: TicketRequest) -> Asset | None:
    if not request.serial:
        return None
    asset = db.session.scalar(sa.select(Asset).where(Asset.serial == request.serial.strip()))
    if asset is None:
        raise IntakeError(f"unknown serial number {request.serial!r}", field="serial")
    if asset.customer_id != customer.id:
        raise IntakeError(
            f"serial number {request.serial!r} belongs to another customer", field="serial"
        )
    return asset


def _creation_data(ticket: Ticket) -> dict:
    data = {"kind": ticket.kind, "summary": ticket.summary}
    if ticket.asset is not None:
        data["serial"] = ticket.asset.serial
    if ticket.kind == "repair":
        data.update(
            damage=ticket.damage,
            part=ticket.part,
            covered=ticket.covered,
            basis=ticket.coverage_basis,
            service_level=ticket.service_level,
        )
    return data
