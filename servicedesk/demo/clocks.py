"""SLA clocks of demo tickets, replayed from their status history with the pure SLA functions.

The result is what :func:`servicedesk.sla.services.start_clocks` and
:func:`~servicedesk.sla.services.record_status` would have stored had each status change
happened live, so the board and the compliance report show realistic figures after
``servicedesk demo load`` while the loader keeps to bulk inserts. Targets met or stopped after
their warning or due time also get the ``warned_at`` / ``breached_at`` the sweep would have
recorded; clocks still open are left for the first sweep to find.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from servicedesk.sla.calendar import Calendar
from servicedesk.sla.clock import Pause, adjusted_due
from servicedesk.sla.services import (
    ARRIVE_MET_STATUSES,
    PAUSED_STATUS,
    RESOLVE_MET_STATUSES,
    RESPOND_MET_STATUSES,
    calendar_for,
)
from servicedesk.sla.targets import WARN_FRACTION, Target, TicketTargets, clock_start, warn_at

MET_AT = {
    "respond": RESPOND_MET_STATUSES,
    "arrive": ARRIVE_MET_STATUSES,
    "resolve": RESOLVE_MET_STATUSES,
}


@dataclass
class _Clock:
    target: str
    promise: Target
    calendar: Calendar
    started_at: datetime
    original_due_at: datetime
    due_at: datetime
    warn_at: datetime
    met_at: datetime | None = None
    paused_since: datetime | None = None
    stopped_at: datetime | None = None

    @property
    def running(self) -> bool:
        return self.met_at is None and self.stopped_at is None

    def row(self, timezone: str) -> dict[str, Any]:
        settled = self.met_at or self.stopped_at
        return {
            "target": self.target,
            "clock": self.promise.clock,
            "timezone": timezone,
            "started_at": self.started_at,
            "original_due_at": self.original_due_at,
            "due_at": self.due_at,
            "warn_at": self.warn_at,
            "met_at": self.met_at,
            "warned_at": self.warn_at if settled and settled > self.warn_at else None,
            "breached_at": self.due_at if settled and settled > self.due_at else None,
            "paused_since": self.paused_since,
            "stopped_at": self.stopped_at,
        }


@dataclass
class ReplayedClocks:
    """Rows for ``sla_clocks`` and ``ticket_pauses`` (without ``ticket_id``)."""

    clocks: list[dict[str, Any]] = field(default_factory=list)
    pauses: list[dict[str, Any]] = field(default_factory=list)


def replay_clocks(
    targets: TicketTargets,
    *,
    opened_at: datetime,
    timezone: str,
    changes: Iterable[tuple[datetime, str | None, str]],
) -> ReplayedClocks:
    """The clocks of a ticket opened at ``opened_at`` (phone diagnosis ended then) whose
    status then changed as ``changes`` says: ``(at, from_status, to_status)`` in time order."""
    clocks = []
    for name, target in targets.items():
        calendar = calendar_for(target.clock, timezone)
        start = clock_start(target, opened_at)
        due = target.due(start, calendar)
        clocks.append(
            _Clock(
                target=name,
                promise=target,
                calendar=calendar,
                started_at=start,
                original_due_at=due,
                due_at=due,
                warn_at=warn_at(start, due, WARN_FRACTION, calendar),
            )
        )
    pauses: list[list[datetime | None]] = []
    for at, previous, status in changes:
        if previous == PAUSED_STATUS and status != PAUSED_STATUS:
            _resume(clocks, pauses, at)
        if status == "cancelled":
            for clock in clocks:
                if clock.running:
                    clock.stopped_at = at
            continue
        for clock in clocks:
            if clock.running and status in MET_AT[clock.target]:
                clock.met_at = at
                clock.paused_since = None
        if status == PAUSED_STATUS and previous != PAUSED_STATUS and not _waiting(pauses):
            pauses.append([at, None])
            for clock in clocks:
                if clock.running:
                    clock.paused_since = at
    return ReplayedClocks(
        clocks=[clock.row(timezone) for clock in clocks],
        pauses=[{"started_at": start, "ended_at": end} for start, end in pauses],
    )


def _waiting(pauses: list[list[datetime | None]]) -> bool:
    return any(end is None for _start, end in pauses)


def _resume(clocks: list[_Clock], pauses: list[list[datetime | None]], at: datetime) -> None:
    """As :func:`servicedesk.sla.services.resume`: end the wait, push the open clocks out."""
    for pause in pauses:
        if pause[1] is None:
            pause[1] = at
    waits = [Pause(start, end) for start, end in pauses]
    for clock in clocks:
        if not clock.running:
            continue
        calendar, start = clock.calendar, clock.started_at
        first_warning = warn_at(start, clock.original_due_at, WARN_FRACTION, calendar)
        clock.due_at = adjusted_due(clock.original_due_at, waits, calendar, at, clock_start=start)
        clock.warn_at = adjusted_due(first_warning, waits, calendar, at, clock_start=start)
        clock.paused_since = None
