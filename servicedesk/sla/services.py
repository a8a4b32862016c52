"""Starting, pausing, resuming and meeting a ticket's SLA clocks; the live target table.

Operations flush and never commit. Every instant is UTC-aware and passed in as ``now``.
"""

from __future__ import annotations

import functools
from datetime import datetime

import sqlalchemy as sa

from servicedesk.auth.models import User
from servicedesk.core.db import db
from servicedesk.sla.calendar import BusinessCalendar, Calendar, TwentyFourSeven
from servicedesk.sla.clock import Pause, adjusted_due
from servicedesk.sla.models import SlaClock, SlaTargetChange, SlaTargetSetting, TicketPause
from servicedesk.sla.targets import (
    WARN_FRACTION,
    TargetTable,
    TicketTargets,
    clock_start,
    default_targets,
    targets_for,
    warn_at,
)

RESPOND_MET_STATUSES = frozenset(
    {"accepted", "scheduled", "on_site", "waiting_customer", "waiting_parts", "resolved", "closed"}
)
ARRIVE_MET_STATUSES = frozenset({"on_site", "resolved", "closed"})
RESOLVE_MET_STATUSES = frozenset({"resolved", "closed"})
PAUSED_STATUS = "waiting_customer"


@functools.lru_cache(maxsize=64)
def calendar_for(clock: str, timezone: str) -> Calendar:
    """The calendar a clock runs on: working hours in ``timezone``, or around the clock."""
    if clock == "24x7":
        return TwentyFourSeven(timezone=timezone)
    return BusinessCalendar(timezone=timezone)


def current_target_table() -> TargetTable:
    """The defaults of DESIGN.md with the admin's edits applied."""
    table = default_targets()
    for setting in db.session.scalars(sa.select(SlaTargetSetting)):
        table = table.replace(
            setting.service_level, setting.ticket_kind, TicketTargets.from_json(setting.targets)
        )
    return table


def set_targets(
    actor: User, service_level: str, ticket_kind: str, targets: TicketTargets, *, now: datetime
) -> SlaTargetChange | None:
    """Replace one row of the target table for tickets opened from now on; records the change.

    Returns ``None`` when nothing changed.
    """
    before = targets_for(current_target_table(), service_level, ticket_kind).to_json()
    after = targets.to_json()
    if before == after:
        return None
    setting = db.session.get(SlaTargetSetting, (service_level, ticket_kind))
    if setting is None:
        setting = SlaTargetSetting(service_level=service_level, ticket_kind=ticket_kind)
        db.session.add(setting)
    setting.targets = after
    setting.updated_by_id = actor.id
    setting.updated_at = now
    change = SlaTargetChange(
        service_level=service_level,
        ticket_kind=ticket_kind,
        before=before,
        after=after,
        changed_by=actor,
        changed_at=now,
    )
    db.session.add(change)
    db.session.flush()
    return change


def start_clocks(ticket, *, now: datetime, table: TargetTable | None = None) -> None:
    """Give a new ticket its promise and start a clock for each target.

    The promise is stored on the ticket (``sla_targets``) so that later edits of the target
    table never change it.
    """
    targets = targets_for(table or current_target_table(), ticket.service_level, ticket.kind)
    ticket.sla_targets = targets.to_json()
    _create_clocks(ticket, targets, now=now)


def restart_clocks(ticket, *, now: datetime) -> None:
    """Recompute the promise after the service level changed (the agent corrected the asset).

    Clocks already met keep their result; the others are replaced by the new level's targets,
    counted from the ticket's opening as before.
    """
    targets = targets_for(current_target_table(), ticket.service_level, ticket.kind)
    ticket.sla_targets = targets.to_json()
    met = {clock.target for clock in ticket.clocks if clock.met_at is not None}
    for clock in list(ticket.clocks):
        if clock.target not in met:
            ticket.clocks.remove(clock)
    db.session.flush()
    _create_clocks(ticket, targets, now=now, skip=met)
    if ticket.status == PAUSED_STATUS:
        for clock in ticket.clocks:
            if clock.met_at is None and clock.paused_since is None:
                clock.paused_since = now


def _create_clocks(ticket, targets: TicketTargets, *, now: datetime, skip=frozenset()) -> None:
    timezone = ticket.customer.timezone
    opened_at = ticket.created_at
    pauses = [Pause(p.started_at, p.ended_at) for p in ticket.pauses]
    for name, target in targets.items():
        if name in skip:
            continue
        calendar = calendar_for(target.clock, timezone)
        start = clock_start(target, opened_at, ticket.diagnosis_ended_at)
        original_due = target.due(start, calendar)
        due = (
            adjusted_due(original_due, pauses, calendar, now, clock_start=start)
            if pauses
            else original_due
        )
        ticket.clocks.append(
            SlaClock(
                target=name,
                clock=target.clock,
                timezone=timezone,
                started_at=start,
                original_due_at=original_due,
                due_at=due,
                warn_at=warn_at(start, due, WARN_FRACTION, calendar),
            )
        )
    db.session.flush()


def record_status(ticket, status: str, *, now: datetime, previous: str | None = None) -> None:
    """Apply a status change to the clocks: meet targets, pause, resume or stop them."""
    if previous == PAUSED_STATUS and status != PAUSED_STATUS:
        resume(ticket, now=now)
    if status == "cancelled":
        for clock in ticket.clocks:
            if clock.met_at is None and clock.stopped_at is None:
                clock.stopped_at = now
        return
    meets = {
        "respond": status in RESPOND_MET_STATUSES,
        "arrive": status in ARRIVE_MET_STATUSES,
        "resolve": status in RESOLVE_MET_STATUSES,
    }
    for clock in ticket.clocks:
        if meets[clock.target] and clock.met_at is None and clock.stopped_at is None:
            clock.met_at = now
            clock.paused_since = None
    if status == PAUSED_STATUS and previous != PAUSED_STATUS:
        pause(ticket, now=now)
    db.session.flush()


def pause(ticket, *, now: datetime) -> None:
    """The ticket waits on the customer: its running clocks stop counting."""
    if any(p.ended_at is None for p in ticket.pauses):
        return
    ticket.pauses.append(TicketPause(started_at=now))
    for clock in ticket.clocks:
        if clock.met_at is None and clock.stopped_at is None:
            clock.paused_since = now
    db.session.flush()


def resume(ticket, *, now: datetime) -> None:
    """The customer answered: due times move out by the clock time spent paused."""
    for pause_row in ticket.pauses:
        if pause_row.ended_at is None:
            pause_row.ended_at = now
    pauses = [Pause(p.started_at, p.ended_at) for p in ticket.pauses]
    for clock in ticket.clocks:
        if clock.met_at is not None or clock.stopped_at is not None:
            continue
        _push_out(clock, pauses, calendar_for(clock.clock, clock.timezone), now=now)
        clock.paused_since = None
    db.session.flush()


def _push_out(clock: SlaClock, pauses: list[Pause], calendar: Calendar, *, now: datetime) -> None:
    """Set the due and warning instants: the original ones pushed out by the pauses before
    each (a pause after the warning instant moves the due time only)."""
    original_warn = warn_at(clock.started_at, clock.original_due_at, WARN_FRACTION, calendar)
    start = clock.started_at
    clock.due_at = adjusted_due(clock.original_due_at, pauses, calendar, now, clock_start=start)
    clock.warn_at = adjusted_due(original_warn, pauses, calendar, now, clock_start=start)


def due_times(ticket) -> dict[str, SlaClock]:
    """The ticket's clocks by target name."""
    return {clock.target: clock for clock in ticket.clocks}
