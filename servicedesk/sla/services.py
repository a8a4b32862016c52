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
    Target,
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
#: The statuses at which each target counts as met.
MET_STATUSES = {
    "respond": RESPOND_MET_STATUSES,
    "arrive": ARRIVE_MET_STATUSES,
    "resolve": RESOLVE_MET_STATUSES,
}
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


def restart_clocks(ticket, *, now: datetime, keep_promise: bool = False) -> None:
    """Recount the clocks not met yet, for an open ticket.

    After the agent corrected the asset (``keep_promise=False``) the current table's targets
    for the ticket's service level become its promise; after the phone diagnosis ended
    (``keep_promise=True``) the stored promise stays and only the clock starts move (the
    ``onsite_4h`` arrival counts from ``ticket.diagnosis_ended_at``).

    Clocks already met keep their result. The others are recomputed in place, counted from
    the ticket's opening (or the diagnosis end) with the pauses so far; they keep their id and
    their warning and breach records, so notifications stay tied to them and each is sent once
    per ticket and target (a recorded breach is not undone). A clock whose target the new
    promise no longer has is stopped at ``now``; a target the old promise lacked gets a new
    clock.
    """
    if keep_promise and ticket.sla_targets is not None:
        targets = TicketTargets.from_json(ticket.sla_targets)
    else:
        targets = targets_for(current_target_table(), ticket.service_level, ticket.kind)
        ticket.sla_targets = targets.to_json()
    wanted = dict(targets.items())
    existing = {clock.target: clock for clock in ticket.clocks}
    for name, clock in existing.items():
        if name not in wanted and clock.met_at is None and clock.stopped_at is None:
            clock.stopped_at = now
            clock.paused_since = None
    pauses = [Pause(p.started_at, p.ended_at) for p in ticket.pauses]
    for name, target in wanted.items():
        clock = existing.get(name)
        if clock is not None and clock.met_at is not None:
            continue
        if clock is None:
            clock = SlaClock(target=name)
            _give_promise(clock, target, ticket, pauses, now=now)
            ticket.clocks.append(clock)
        else:
            _give_promise(clock, target, ticket, pauses, now=now)
        clock.stopped_at = None
        if ticket.status == PAUSED_STATUS and clock.paused_since is None:
            clock.paused_since = now
    db.session.flush()


def _create_clocks(ticket, targets: TicketTargets, *, now: datetime) -> None:
    pauses = [Pause(p.started_at, p.ended_at) for p in ticket.pauses]
    for name, target in targets.items():
        clock = SlaClock(target=name)
        _give_promise(clock, target, ticket, pauses, now=now)
        ticket.clocks.append(clock)
    db.session.flush()


def _give_promise(
    clock: SlaClock, target: Target, ticket, pauses: list[Pause], *, now: datetime
) -> None:
    """Set a clock's calendar, start, original due time and (paused-out) due and warning."""
    timezone = ticket.customer.timezone
    calendar = calendar_for(target.clock, timezone)
    clock.clock = target.clock
    clock.timezone = timezone
    clock.started_at = clock_start(target, ticket.created_at, ticket.diagnosis_ended_at)
    clock.original_due_at = target.due(clock.started_at, calendar)
    _push_out(clock, pauses, calendar, now=now)


def record_status(ticket, status: str, *, now: datetime, previous: str | None = None) -> None:
    """Apply a status change to the clocks: meet targets, pause, resume or stop them."""
    if previous == PAUSED_STATUS and status != PAUSED_STATUS:
        resume(ticket, now=now)
    if status == "cancelled":
        for clock in ticket.clocks:
            if clock.met_at is None and clock.stopped_at is None:
                clock.stopped_at = now
        return
    for clock in ticket.clocks:
        if (
            status in MET_STATUSES[clock.target]
            and clock.met_at is None
            and clock.stopped_at is None
        ):
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
