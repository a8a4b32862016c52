"""A station's work on a repair: booking the visit, and closing with the warranty records.

:func:`close_repair` applies :func:`servicedesk.warranty.closing.decide_closing` to what the
station recorded (resolution, parts, quote) with the machine's entitlements, purchase price
and the accidental damage protection (``adp``) its earlier repairs already used. When the
rules find something to fix, :class:`ClosingError` lists every violation and nothing is
written. Otherwise the parts are stored with who pays for them and what happens to replaced
drives, the ticket gets its closing decision, billable amount, quote and resolution, a
whole-unit replacement under ``adp`` ends the protection on the repair day, and the ticket
moves on to ``resolved`` (or through it to ``closed``).

Operations flush and never commit; ``now`` is UTC-aware and passed in.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa

from servicedesk.auth.access import AGENT_ROLES
from servicedesk.auth.models import User
from servicedesk.core.db import db
from servicedesk.customers.models import Entitlement
from servicedesk.tickets.intake import customer_today
from servicedesk.tickets.lifecycle import check_transition
from servicedesk.tickets.models import Ticket, TicketEvent, TicketPart
from servicedesk.tickets.services import (
    TicketInputError,
    TicketPermissionError,
    TicketStateError,
    change_status,
    may_change,
    waiting_left_from,
)
from servicedesk.warranty.closing import (
    ClosingDecision,
    PartUsed,
    RepairCoverage,
    decide_closing,
)
from servicedesk.warranty.coverage import N_, Reason

__all__ = [
    "CLOSING_STATUSES",
    "ClosingError",
    "adp_used_on_asset",
    "book_visit",
    "close_repair",
]

#: The statuses :func:`close_repair` may end in.
CLOSING_STATUSES = ("resolved", "closed")
TEXT_MAX = 5000
PART_TEXT_MAX = 60
#: Part values are stored with 2 decimals in at most 12 digits.
VALUE_LIMIT = Decimal("10000000000")

_NOT_YOUR_STATION = N_("This ticket is not one of your station's.")
_NOT_A_REPAIR = N_("Only a repair is closed with a resolution and parts.")
_NOT_A_CLOSING_STATUS = N_("A repair is closed by resolving or closing it, not by “%(new)s”.")
_NO_RESOLUTION = N_("Describe the resolution: what was wrong and what was done.")
_RESOLUTION_TOO_LONG = N_("Write the resolution in at most %(max)s characters.")
_QUOTE_TOO_LONG = N_("Write the quote in at most %(max)s characters.")
_NO_QUOTE = N_("The repair includes billable work: enter the quote given to the customer.")
_PART_NO_TOO_LONG = N_("Part %(position)s: the part number has at most %(max)s characters.")
_SERIAL_TOO_LONG = N_("Part %(position)s: a serial number has at most %(max)s characters.")
_VALUE_TOO_LARGE = N_("Part %(position)s: the value is too large.")
_VISIT_NAIVE = N_("Give the visit times with their time zone.")
_VISIT_ORDER = N_("The visit must end after it starts.")
_VISIT_PAST = N_("The visit window is already over: book a window that ends in the future.")


class ClosingError(TicketInputError):
    """The station's closing records break the rules.

    ``reasons`` lists every one of them; ``by_field`` groups them by the input to fix
    (``resolution``, ``quote`` or ``parts``).
    """

    def __init__(self, problems: Sequence[tuple[str, Reason]]):
        super().__init__(problems[0][1], field=problems[0][0])
        self.reasons = tuple(reason for _, reason in problems)
        self.by_field: dict[str, list[Reason]] = {}
        for field, reason in problems:
            self.by_field.setdefault(field, []).append(reason)


def adp_used_on_asset(asset_id: int) -> Decimal:
    """What accidental damage protection already paid for this machine's repairs (all tickets)."""
    total = db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(TicketPart.adp_value), 0))
        .join(Ticket, Ticket.id == TicketPart.ticket_id)
        .where(Ticket.asset_id == asset_id)
    )
    return Decimal(total or 0)


def close_repair(
    actor: User | None,
    ticket: Ticket,
    *,
    resolution: str,
    parts: Sequence[PartUsed],
    quote: str = "",
    now: datetime,
    status: str = "resolved",
) -> ClosingDecision:
    """Record how ``ticket`` (a repair) was repaired and move it to ``status``.

    ``status`` is ``resolved`` or ``closed``; closing a repair that is not ``resolved`` yet
    goes through ``resolved`` (two status events). The repair day, which decides whether
    ``kyd`` is active and when an ended ``adp`` stops, is the customer's local date of
    ``now``. Raises :class:`ClosingError` (every violation; nothing written),
    :class:`TicketPermissionError`, :class:`TicketStateError` or a
    :class:`~servicedesk.tickets.lifecycle.TransitionError`.
    """
    _check_may_work(actor, ticket)
    if ticket.kind != "repair" or ticket.asset is None:
        raise TicketStateError(Reason(_NOT_A_REPAIR))
    if status not in CLOSING_STATUSES:
        raise TicketStateError(Reason(_NOT_A_CLOSING_STATUS, {"new": status}))
    steps = ["closed"] if ticket.status == "resolved" else ["resolved"]
    if status == "closed" and steps == ["resolved"]:
        steps.append("closed")
    check_transition(ticket.kind, ticket.status, steps[0], left_from=waiting_left_from(ticket))

    resolution = (resolution or "").strip()
    quote = (quote or "").strip()
    problems = _text_problems(resolution, quote)
    problems += [("parts", reason) for reason in _part_problems(parts)]
    asset = ticket.asset
    repaired_on = customer_today(ticket.customer, now)
    decision = decide_closing(
        entitlements=asset.terms,
        product_line=asset.product_line,
        purchase_price=asset.purchase_price,
        adp_used=adp_used_on_asset(asset.id),
        repaired_on=repaired_on,
        coverage=RepairCoverage(
            covered=bool(ticket.covered),
            basis=tuple(ticket.coverage_basis or ()) if ticket.covered else (),
            damage=ticket.damage,
        ),
        parts=parts,
    )
    problems += [("parts", reason) for reason in decision.violations]
    if decision.quote_required and not quote:
        problems.append(("quote", Reason(_NO_QUOTE)))
    if problems:
        raise ClosingError(problems)

    for outcome in decision.parts:
        part = outcome.part
        ticket.parts.append(
            TicketPart(
                kind=part.kind,
                part_no=part.part_no,
                faulty_serial=part.faulty_serial or None,
                replacement_serial=part.replacement_serial or None,
                value=part.value,
                whole_unit=part.whole_unit,
                retained_by_customer=part.retained_by_customer,
                drive_disposition=outcome.drive_disposition,
                charged_to=outcome.charge,
                adp_value=(part.value or Decimal(0)) - outcome.billable_amount
                if outcome.charge == "adp"
                else Decimal(0),
            )
        )
    ticket.closing_decision = decision.to_json()
    ticket.billable_amount = decision.billable_amount
    ticket.quote = quote
    ticket.resolution = resolution
    adp_ended = _end_adp(asset.entitlements, repaired_on) if decision.end_adp else []

    for index, step in enumerate(steps):
        event = change_status(actor, ticket, step, now=now, closing_recorded=True)
        if index == 0:
            event.data = {
                "resolution": resolution,
                "parts": [outcome.to_json() for outcome in decision.parts],
                "billable_amount": str(decision.billable_amount),
                "quote": quote,
                "adp_ended": adp_ended,
            }
    db.session.flush()
    return decision


def book_visit(
    actor: User | None, ticket: Ticket, starts_at: datetime, ends_at: datetime, *, now: datetime
) -> TicketEvent:
    """Book the engineer's visit (or the carry-in appointment): the ticket becomes ``scheduled``.

    Times are aware; the window must end after it starts and after ``now``. The status
    event records the window. To move a booked visit, go back to ``accepted`` first.
    """
    _check_may_work(actor, ticket)
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise TicketInputError(Reason(_VISIT_NAIVE), field="visit")
    if ends_at <= starts_at:
        raise TicketInputError(Reason(_VISIT_ORDER), field="visit")
    if ends_at <= now:
        raise TicketInputError(Reason(_VISIT_PAST), field="visit")
    check_transition(ticket.kind, ticket.status, "scheduled", left_from=waiting_left_from(ticket))
    event = change_status(actor, ticket, "scheduled", now=now)
    ticket.visit_starts_at = starts_at
    ticket.visit_ends_at = ends_at
    event.data = {"visit_starts_at": starts_at.isoformat(), "visit_ends_at": ends_at.isoformat()}
    db.session.flush()
    return event


def _check_may_work(actor: User | None, ticket: Ticket) -> None:
    if not may_change(actor, ticket) or (
        actor is not None and actor.role not in AGENT_ROLES and actor.role != "station"
    ):
        raise TicketPermissionError(Reason(_NOT_YOUR_STATION))


def _text_problems(resolution: str, quote: str) -> list[tuple[str, Reason]]:
    problems = []
    if not resolution:
        problems.append(("resolution", Reason(_NO_RESOLUTION)))
    for field, message, text in (
        ("resolution", _RESOLUTION_TOO_LONG, resolution),
        ("quote", _QUOTE_TOO_LONG, quote),
    ):
        if len(text) > TEXT_MAX:
            problems.append((field, Reason(message, {"max": str(TEXT_MAX)})))
    return problems


def _part_problems(parts: Sequence[PartUsed]) -> list[Reason]:
    """What the database could not store: over-long texts, values past 12 digits."""
    problems = []
    for index, part in enumerate(parts, start=1):
        position = {"position": str(index)}
        limit = {**position, "max": str(PART_TEXT_MAX)}
        if len(part.part_no) > PART_TEXT_MAX:
            problems.append(Reason(_PART_NO_TOO_LONG, limit))
        if max(len(part.faulty_serial), len(part.replacement_serial)) > PART_TEXT_MAX:
            problems.append(Reason(_SERIAL_TOO_LONG, limit))
        if part.value is not None and part.value.is_finite() and abs(part.value) >= VALUE_LIMIT:
            problems.append(Reason(_VALUE_TOO_LARGE, position))
    return problems


def _end_adp(entitlements: Sequence[Entitlement], repaired_on: date) -> list[dict]:
    """End every ``adp`` term running on the repair day at that day; returns what changed."""
    ended = []
    for entitlement in entitlements:
        if entitlement.offering == "adp" and entitlement.start <= repaired_on < entitlement.end:
            ended.append(
                {
                    "entitlement": entitlement.id,
                    "old_end": entitlement.end.isoformat(),
                    "new_end": repaired_on.isoformat(),
                }
            )
            entitlement.end = repaired_on
    return ended
