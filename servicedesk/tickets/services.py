"""Changing a ticket after it was opened: its status, the phone diagnosis end, its machine.

Each change checks who is asking, applies the lifecycle rules, records a :class:`TicketEvent`
(who, when, what changed and why) and moves the SLA clocks. Operations flush and never commit;
``now`` is UTC-aware and passed in.

Errors carry a translatable :class:`~servicedesk.warranty.coverage.Reason` whose parameters
are codes (statuses, kinds, serials) for the caller to put into words:

* :class:`TicketPermissionError`: the actor may not make this change (a station user on
  another station's ticket, or a change that is not a station's to make);
* :class:`~servicedesk.tickets.lifecycle.TransitionError` and :class:`TicketStateError`: the
  change does not fit the ticket as it stands;
* :class:`TicketInputError`: what was entered is wrong (``field`` names it).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from servicedesk.auth.access import AGENT_ROLES
from servicedesk.auth.models import User
from servicedesk.core.db import db
from servicedesk.customers.models import Asset
from servicedesk.sla.services import MET_STATUSES, record_status, restart_clocks
from servicedesk.tickets.intake import apply_coverage
from servicedesk.tickets.lifecycle import (
    BACK_TO_DISPATCH,
    FINAL_STATUSES,
    STATION_MAY_SET,
    WAITING_CUSTOMER,
    allowed_next,
    check_transition,
    needs_reason,
)
from servicedesk.tickets.models import Ticket, TicketEvent
from servicedesk.warranty.coverage import N_, Reason

REASON_MAX = 1000
FOUR_HOUR_LEVEL = "onsite_4h"
RESOLVED = "resolved"
ARRIVE_TARGET = "arrive"

_NOT_YOUR_STATION = N_("This ticket is not one of your station's.")
_NOT_FOR_STATIONS = N_("Only the call center can set a ticket to “%(new)s”.")
_AGENTS_ONLY = N_("Only agents, supervisors and administrators can do this.")
_NO_STATION = N_("A ticket is dispatched to a station by the dispatch, which chooses the station.")
_CLOSING_RECORDS_NEEDED = N_(
    "A repair is resolved with its closing records: record the resolution and the parts used."
)
_REASON_NEEDED = N_("Say why the ticket goes from “%(current)s” to “%(new)s”.")
_REASON_TOO_LONG = N_("Write the reason in at most %(max)s characters.")
_NOT_OPEN = N_("The ticket is “%(current)s”: it is no longer open.")
_NOT_FOUR_HOUR = N_("Only a repair with 4-hour onsite response has a phone diagnosis to end.")
_DIAGNOSIS_RECORDED = N_("The phone diagnosis end is already recorded.")
_ALREADY_ARRIVED = N_("The engineer or the part is already on site.")
_ARRIVAL_BREACHED = N_("The arrival target is already breached: the diagnosis end cannot move it.")
_NOT_A_REPAIR = N_("Only a repair has a machine to correct.")
_UNKNOWN_SERIAL = N_("There is no machine with serial number %(serial)s.")
_OTHER_CUSTOMER = N_("The machine %(serial)s belongs to another customer.")
_SAME_MACHINE = N_("The ticket is already about the machine %(serial)s.")
_CORRECTION_REASON = N_("Say why the machine is corrected.")


class TicketChangeError(Exception):
    """A refused change; ``reason`` says why in words an agent can read."""

    def __init__(self, reason: Reason):
        super().__init__(str(reason))
        self.reason = reason


class TicketPermissionError(TicketChangeError, PermissionError):
    """The actor may not make this change to this ticket."""


class TicketStateError(TicketChangeError):
    """The change does not fit the ticket as it stands (status, service level, clocks)."""


class TicketInputError(TicketChangeError, ValueError):
    """The input is wrong; ``field`` names it (``reason``, ``serial``)."""

    def __init__(self, reason: Reason, field: str):
        super().__init__(reason)
        self.field = field


def may_change(actor: User | None, ticket: Ticket) -> bool:
    """Agents, supervisors and admins may change any ticket; a station user its own station's.

    ``actor=None`` is the system itself (a scheduled sweep): it may make any change.
    """
    if actor is None or actor.role in AGENT_ROLES:
        return True
    return (
        actor.role == "station"
        and ticket.station is not None
        and ticket.station.id == actor.station_id
    )


def waiting_left_from(ticket: Ticket) -> str | None:
    """The status a ticket left when it last started waiting on the customer (None if unknown)."""
    if ticket.status != WAITING_CUSTOMER:
        return None
    for event in reversed(ticket.events):
        if event.to_status == WAITING_CUSTOMER and event.from_status != WAITING_CUSTOMER:
            return event.from_status
    return None


def next_statuses(actor: User | None, ticket: Ticket) -> tuple[str, ...]:
    """The statuses ``actor`` may move ``ticket`` to now with a plain status change, in
    workflow order. A repair is resolved with its closing records instead (see
    :func:`may_resolve`), so ``resolved`` is never among a repair's."""
    if not may_change(actor, ticket) or ticket.status in FINAL_STATUSES:
        return ()
    options = allowed_next(ticket.kind, ticket.status, left_from=waiting_left_from(ticket))
    return tuple(
        status
        for status in options
        if (not _is_station(actor) or status in STATION_MAY_SET)
        and (status != "dispatched" or ticket.station is not None)
        and (status != RESOLVED or ticket.kind != "repair")
    )


def change_status(
    actor: User | None,
    ticket: Ticket,
    status: str,
    *,
    now: datetime,
    reason: str = "",
    closing_recorded: bool = False,
) -> TicketEvent:
    """Move ``ticket`` to ``status``; returns the event recorded (``actor=None``: the system).

    Sets ``closed_at`` when the ticket is closed or cancelled, and moves the SLA clocks
    (targets met, paused on ``waiting_customer``, resumed after it, stopped on cancel).
    ``dispatched`` needs the ticket's station to be set already (dispatching chooses it).
    Cancelling, reopening and sending back to dispatch need a ``reason``.

    A repair becomes ``resolved`` only with its closing records:
    :func:`servicedesk.tickets.closing.close_repair` records them and passes
    ``closing_recorded=True``; anyone else is refused (:class:`TicketStateError`). Closing an
    already resolved repair is a plain change. A repair that leaves its station, back to
    ``new`` (the supervisors' queue) or ``dispatched`` from work at the station (another
    station), goes through :func:`servicedesk.dispatch.services.send_back`.
    """
    current = ticket.status
    params = {"kind": ticket.kind, "current": current, "new": status}
    _check_actor(actor, ticket)
    if _is_station(actor) and status not in STATION_MAY_SET:
        raise TicketPermissionError(Reason(_NOT_FOR_STATIONS, params))
    left_from = waiting_left_from(ticket)
    check_transition(ticket.kind, current, status, left_from=left_from)
    if status == "dispatched" and ticket.station is None:
        raise TicketStateError(Reason(_NO_STATION, params))
    if ticket.kind == "repair" and status == RESOLVED and not closing_recorded:
        raise TicketStateError(Reason(_CLOSING_RECORDS_NEEDED, params))
    reason = _checked_reason(reason)
    if not reason and needs_reason(current, status, left_from=left_from):
        raise TicketInputError(Reason(_REASON_NEEDED, params), field="reason")
    if _leaves_station(ticket, status, left_from):
        from servicedesk.dispatch.services import send_back  # imports this module

        return send_back(actor, ticket, status, now=now, reason=reason)

    ticket.status = status
    ticket.updated_at = now
    if status in FINAL_STATUSES:
        ticket.closed_at = now
    event = TicketEvent(
        ticket=ticket,
        at=now,
        actor=actor,
        action="status",
        from_status=current,
        to_status=status,
        reason=reason,
    )
    db.session.add(event)
    record_status(ticket, status, now=now, previous=current)
    db.session.flush()
    if ticket.kind == "repair" and status == "closed":
        from servicedesk.callcenter.callbacks import schedule_callback  # imports intake

        schedule_callback(ticket, now=now)
    return event


def diagnosis_can_end(ticket: Ticket) -> bool:
    """Whether the phone diagnosis end can be recorded now (see :func:`record_diagnosis_end`)."""
    try:
        _check_diagnosis_can_end(ticket)
    except TicketStateError:
        return False
    return True


def record_diagnosis_end(actor: User, ticket: Ticket, *, now: datetime) -> TicketEvent:
    """The agent's phone diagnosis of a 4-hour repair ended: the arrival clock starts now.

    Only for an open ``onsite_4h`` repair, once, before the engineer (or the part) is on site
    and before the arrival target was breached. The arrival due time becomes 4 hours (24x7)
    after ``now``; the other targets keep their due times.
    """
    _check_agent(actor, ticket)
    _check_diagnosis_can_end(ticket)
    ticket.diagnosis_ended_at = now
    ticket.updated_at = now
    restart_clocks(ticket, now=now, keep_promise=True)
    arrive = _clock(ticket, ARRIVE_TARGET)
    event = TicketEvent(
        ticket=ticket,
        at=now,
        actor=actor,
        action="diagnosis_ended",
        data={"arrive_by": arrive.due_at.isoformat() if arrive else None},
    )
    db.session.add(event)
    db.session.flush()
    return event


def correct_asset(
    actor: User, ticket: Ticket, serial: str, *, now: datetime, reason: str
) -> TicketEvent:
    """The agent corrects the machine of an open repair; coverage, level and clocks follow.

    The serial must be one of the ticket's customer's machines. Coverage and service level are
    decided again from the new machine's entitlements on the day the ticket was opened; the
    SLA promise becomes the current targets for the new level (clocks already met keep their
    result; a target newly promised whose status the ticket already reached counts as met when
    it was reached). The event records the old and new serial, level and coverage.
    """
    _check_agent(actor, ticket)
    if ticket.kind != "repair":
        raise TicketStateError(Reason(_NOT_A_REPAIR))
    _check_open(ticket)
    reason = _checked_reason(reason)
    if not reason:
        raise TicketInputError(Reason(_CORRECTION_REASON), field="reason")
    serial = (serial or "").strip()
    asset = db.session.scalar(sa.select(Asset).where(Asset.serial == serial))
    if asset is None:
        raise TicketInputError(Reason(_UNKNOWN_SERIAL, {"serial": serial}), field="serial")
    if asset.customer_id != ticket.customer_id:
        raise TicketInputError(Reason(_OTHER_CUSTOMER, {"serial": serial}), field="serial")
    if asset.id == ticket.asset_id:
        raise TicketInputError(Reason(_SAME_MACHINE, {"serial": serial}), field="serial")

    before = _coverage_record(ticket)
    ticket.asset = asset
    apply_coverage(ticket, now=ticket.created_at)
    ticket.updated_at = now
    restart_clocks(ticket, now=now)
    _meet_targets_already_reached(ticket)
    after = _coverage_record(ticket)
    event = TicketEvent(
        ticket=ticket,
        at=now,
        actor=actor,
        action="asset_corrected",
        reason=reason,
        data={f"old_{key}": value for key, value in before.items()}
        | {f"new_{key}": value for key, value in after.items()},
    )
    db.session.add(event)
    db.session.flush()
    return event


def may_resolve(actor: User | None, ticket: Ticket) -> bool:
    """Whether ``actor`` may resolve ``ticket`` now with its closing records (a repair of a
    machine whose status can go to ``resolved``; see ``close_repair``)."""
    if ticket.kind != "repair" or ticket.asset is None or not may_change(actor, ticket):
        return False
    if ticket.status in FINAL_STATUSES:
        return False
    return RESOLVED in allowed_next(ticket.kind, ticket.status, left_from=waiting_left_from(ticket))


def _leaves_station(ticket: Ticket, status: str, left_from: str | None) -> bool:
    """Whether the change takes a repair away from its station: back to ``new``, or on to
    ``dispatched`` once the station has taken it (accepted it or worked on it)."""
    if ticket.kind != "repair" or ticket.station is None or status not in BACK_TO_DISPATCH:
        return False
    origin = left_from if ticket.status == WAITING_CUSTOMER and left_from else ticket.status
    return status == "new" or origin not in BACK_TO_DISPATCH


def _is_station(actor: User | None) -> bool:
    return actor is not None and actor.role == "station"


def _check_actor(actor: User | None, ticket: Ticket) -> None:
    if not may_change(actor, ticket):
        raise TicketPermissionError(Reason(_NOT_YOUR_STATION))


def _check_agent(actor: User, ticket: Ticket) -> None:
    _check_actor(actor, ticket)
    if actor.role not in AGENT_ROLES:
        raise TicketPermissionError(Reason(_AGENTS_ONLY))


def _check_open(ticket: Ticket) -> None:
    if not ticket.is_open:
        raise TicketStateError(Reason(_NOT_OPEN, {"current": ticket.status}))


def _check_diagnosis_can_end(ticket: Ticket) -> None:
    if ticket.kind != "repair" or ticket.service_level != FOUR_HOUR_LEVEL:
        raise TicketStateError(Reason(_NOT_FOUR_HOUR))
    _check_open(ticket)
    if ticket.diagnosis_ended_at is not None:
        raise TicketStateError(Reason(_DIAGNOSIS_RECORDED))
    arrive = _clock(ticket, ARRIVE_TARGET)
    if ticket.status in MET_STATUSES[ARRIVE_TARGET] or (arrive and arrive.met_at is not None):
        raise TicketStateError(Reason(_ALREADY_ARRIVED))
    if arrive is not None and arrive.breached_at is not None:
        raise TicketStateError(Reason(_ARRIVAL_BREACHED))


def _checked_reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if len(text) > REASON_MAX:
        raise TicketInputError(Reason(_REASON_TOO_LONG, {"max": str(REASON_MAX)}), field="reason")
    return text


def _clock(ticket: Ticket, target: str):
    return next((clock for clock in ticket.clocks if clock.target == target), None)


def _meet_targets_already_reached(ticket: Ticket) -> None:
    """A clock the new promise added is met when the ticket first reached a status meeting it."""
    for clock in ticket.clocks:
        if clock.met_at is not None or clock.stopped_at is not None:
            continue
        reached = next(
            (
                event.at
                for event in ticket.events
                if event.to_status in MET_STATUSES[clock.target] and event.at >= clock.started_at
            ),
            None,
        )
        if reached is not None:
            clock.met_at = reached
            clock.paused_since = None


def _coverage_record(ticket: Ticket) -> dict:
    return {
        "serial": ticket.asset.serial if ticket.asset else None,
        "service_level": ticket.service_level,
        "covered": ticket.covered,
        "billable": ticket.billable,
        "basis": list(ticket.coverage_basis or []),
    }
