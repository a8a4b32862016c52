"""SLA targets: what is promised for each service level and ticket kind, and by when.

Pure domain code: no Flask, no database, no clock. A ticket stores the
:class:`TicketTargets` it was given (``to_json``) when it is opened, so changing the table
later never changes an existing promise.

Default table (``default_targets()``), from DESIGN.md:

============  ===========================  ===========================  ==================
level/kind    respond                      arrive (on site / received)  resolve
============  ===========================  ===========================  ==================
onsite_4h     30 min, 24x7                 4 h, 24x7, from the phone    24 h, 24x7
repair                                     diagnosis end
onsite        2 business hours             end of next business day     3 business days
repair
depot         4 business hours             —                            5 business days
repair
billable      4 business hours             —                            5 business days
repair        (a billable repair is still a carry-in repair at a station: depot targets)
complaint     2 business hours             —                            3 business days
(any level)
inquiry,      2 business hours             —                            — (answered or
presales                                                                closed; no resolve
(any level)                                                             promise)
============  ===========================  ===========================  ==================

Target kinds:

* ``duration``: ``amount`` of clock time (working time on the business clock, elapsed time
  on the 24x7 clock) after the clock starts.
* ``business_days``: ``days`` business days after the clock starts, counted as
  ``days`` × the calendar's working-day length (see
  :meth:`~servicedesk.sla.calendar.BusinessCalendar.add_business_days`): opened Monday
  10:00, 3 business days → Thursday 10:00.
* ``end_of_next_business_day``: closing time of the first business day after the local
  date on which the clock starts (opened Monday 10:00 → Tuesday 18:00; opened Saturday →
  Monday 18:00).

A clock starts when the ticket is opened, except a target with
``starts="diagnosis_ended"`` (the ``onsite_4h`` arrival), which starts when the agent's
phone diagnosis ends (by default, when the ticket is opened).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from servicedesk.sla.calendar import Calendar, TwentyFourSeven
from servicedesk.sla.levels import SERVICE_LEVELS

__all__ = [
    "CLOCKS",
    "CLOCK_STARTS",
    "LEVEL_WITHOUT_ASSET",
    "TARGET_KINDS",
    "TARGET_NAMES",
    "TICKET_KINDS",
    "WARN_FRACTION",
    "DueTimes",
    "Target",
    "TargetTable",
    "TicketTargets",
    "clock_start",
    "default_targets",
    "due_at",
    "due_times",
    "targets_for",
    "warn_at",
]

#: Ticket kinds (the same as ``servicedesk.tickets.models.TICKET_KINDS``).
TICKET_KINDS = ("inquiry", "presales", "repair", "complaint")
#: The targets a ticket can have, in the order they fall due.
TARGET_NAMES = ("respond", "arrive", "resolve")
TARGET_KINDS = ("duration", "business_days", "end_of_next_business_day")
CLOCKS = ("business", "24x7")
CLOCK_STARTS = ("opened", "diagnosis_ended")
#: Warn when this fraction of a target's time has elapsed.
WARN_FRACTION = 0.75
#: The level whose row applies to a ticket that has no service level (no asset).
LEVEL_WITHOUT_ASSET = "billable"


@dataclass(frozen=True)
class Target:
    """One promise: how its due time is computed from the instant its clock starts."""

    kind: str
    clock: str = "business"
    amount: timedelta | None = None
    days: int | None = None
    starts: str = "opened"

    def __post_init__(self) -> None:
        if self.kind not in TARGET_KINDS:
            raise ValueError(f"unknown target kind {self.kind!r}")
        if self.clock not in CLOCKS:
            raise ValueError(f"unknown clock {self.clock!r}")
        if self.starts not in CLOCK_STARTS:
            raise ValueError(f"unknown clock start {self.starts!r}")
        if self.kind == "duration":
            if not isinstance(self.amount, timedelta) or self.amount <= timedelta(0):
                raise ValueError(f"a duration target needs a positive amount, got {self.amount!r}")
            if self.amount % timedelta(seconds=1):
                raise ValueError(f"a target amount must be whole seconds, got {self.amount}")
        elif self.amount is not None:
            raise ValueError(f"a {self.kind} target takes no amount")
        if self.kind == "business_days":
            if isinstance(self.days, bool) or not isinstance(self.days, int) or self.days <= 0:
                raise ValueError(f"a business_days target needs days >= 1, got {self.days!r}")
        elif self.days is not None:
            raise ValueError(f"a {self.kind} target takes no days")

    def due(self, start: datetime, calendar: Calendar) -> datetime:
        """The due time when the clock starts at ``start`` on ``calendar``."""
        if self.kind == "duration":
            return calendar.add(start, self.amount)
        if self.kind == "business_days":
            return calendar.add_business_days(start, self.days)
        day = calendar.local(start).date()
        return calendar.end_of_business_day(calendar.next_business_day(day))

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind, "clock": self.clock, "starts": self.starts}
        if self.amount is not None:
            data["seconds"] = self.amount // timedelta(seconds=1)
        if self.days is not None:
            data["days"] = self.days
        return data

    @classmethod
    def from_json(cls, data: Any) -> Target:
        if not isinstance(data, Mapping):
            raise ValueError(f"not a stored SLA target: {data!r}")
        unknown = set(data) - {"kind", "clock", "starts", "seconds", "days"}
        if unknown:
            raise ValueError(f"unknown SLA target fields: {sorted(unknown)}")
        seconds = data.get("seconds")
        if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, int)):
            raise ValueError(f"target seconds must be an integer, got {seconds!r}")
        return cls(
            kind=data.get("kind"),
            clock=data.get("clock", "business"),
            amount=None if seconds is None else timedelta(seconds=seconds),
            days=data.get("days"),
            starts=data.get("starts", "opened"),
        )


@dataclass(frozen=True)
class TicketTargets:
    """The promises for one ticket; ``None`` where there is no such promise."""

    respond: Target | None
    arrive: Target | None = None
    resolve: Target | None = None

    def __post_init__(self) -> None:
        for name in TARGET_NAMES:
            value = getattr(self, name)
            if value is not None and not isinstance(value, Target):
                raise TypeError(f"{name} must be a Target or None, got {value!r}")

    def items(self) -> list[tuple[str, Target]]:
        """``(name, target)`` for the targets that exist, in :data:`TARGET_NAMES` order."""
        return [(name, getattr(self, name)) for name in TARGET_NAMES if getattr(self, name)]

    def to_json(self) -> dict[str, Any]:
        return {
            name: None if getattr(self, name) is None else getattr(self, name).to_json()
            for name in TARGET_NAMES
        }

    @classmethod
    def from_json(cls, data: Any) -> TicketTargets:
        if not isinstance(data, Mapping) or set(data) - set(TARGET_NAMES):
            raise ValueError(f"not stored ticket targets: {data!r}")
        return cls(
            **{
                name: None if data.get(name) is None else Target.from_json(data[name])
                for name in TARGET_NAMES
            }
        )


@dataclass(frozen=True)
class TargetTable:
    """Targets for every (service level, ticket kind) pair."""

    rows: Mapping[tuple[str, str], TicketTargets]

    def __post_init__(self) -> None:
        rows = dict(self.rows)
        expected = {(level, kind) for level in SERVICE_LEVELS for kind in TICKET_KINDS}
        if set(rows) != expected:
            missing = sorted(expected - set(rows))
            extra = sorted(set(rows) - expected)
            raise ValueError(f"target table rows: missing {missing}, unknown {extra}")
        for key, targets in rows.items():
            if not isinstance(targets, TicketTargets):
                raise TypeError(f"row {key} must be TicketTargets, got {targets!r}")
        object.__setattr__(self, "rows", rows)

    def replace(self, service_level: str, ticket_kind: str, targets: TicketTargets) -> TargetTable:
        """A copy with one row changed (the table itself is immutable)."""
        rows = dict(self.rows)
        if (service_level, ticket_kind) not in rows:
            raise ValueError(f"no target row for {service_level!r} / {ticket_kind!r}")
        rows[service_level, ticket_kind] = targets
        return TargetTable(rows)

    def to_json(self) -> dict[str, dict[str, Any]]:
        """``{level: {kind: TicketTargets.to_json()}}``."""
        return {
            level: {kind: self.rows[level, kind].to_json() for kind in TICKET_KINDS}
            for level in SERVICE_LEVELS
        }

    @classmethod
    def from_json(cls, data: Any) -> TargetTable:
        if not isinstance(data, Mapping):
            raise ValueError(f"not a stored target table: {data!r}")
        rows: dict[tuple[str, str], TicketTargets] = {}
        for level, by_kind in data.items():
            if not isinstance(by_kind, Mapping):
                raise ValueError(f"not stored targets for level {level!r}: {by_kind!r}")
            for kind, targets in by_kind.items():
                rows[level, kind] = TicketTargets.from_json(targets)
        return cls(rows)


def _business_hours(hours: int) -> Target:
    return Target(kind="duration", clock="business", amount=timedelta(hours=hours))


def _business_days(days: int) -> Target:
    return Target(kind="business_days", clock="business", days=days)


def default_targets() -> TargetTable:
    """The DESIGN.md defaults (see the module docstring for the table and its choices)."""
    repair = {
        "onsite_4h": TicketTargets(
            respond=Target(kind="duration", clock="24x7", amount=timedelta(minutes=30)),
            arrive=Target(
                kind="duration", clock="24x7", amount=timedelta(hours=4), starts="diagnosis_ended"
            ),
            resolve=Target(kind="duration", clock="24x7", amount=timedelta(hours=24)),
        ),
        "onsite": TicketTargets(
            respond=_business_hours(2),
            arrive=Target(kind="end_of_next_business_day", clock="business"),
            resolve=_business_days(3),
        ),
        "depot": TicketTargets(respond=_business_hours(4), resolve=_business_days(5)),
    }
    repair["billable"] = repair["depot"]
    complaint = TicketTargets(respond=_business_hours(2), resolve=_business_days(3))
    consultation = TicketTargets(respond=_business_hours(2))
    rows: dict[tuple[str, str], TicketTargets] = {}
    for level in SERVICE_LEVELS:
        rows[level, "repair"] = repair[level]
        rows[level, "complaint"] = complaint
        rows[level, "inquiry"] = consultation
        rows[level, "presales"] = consultation
    return TargetTable(rows)


def targets_for(table: TargetTable, service_level: str | None, ticket_kind: str) -> TicketTargets:
    """The row for ``service_level`` and ``ticket_kind``.

    A ticket without a service level (no asset) uses the ``billable`` row.
    """
    level = LEVEL_WITHOUT_ASSET if service_level is None else service_level
    if level not in SERVICE_LEVELS:
        raise ValueError(f"unknown service level {service_level!r}")
    if ticket_kind not in TICKET_KINDS:
        raise ValueError(f"unknown ticket kind {ticket_kind!r}")
    return table.rows[level, ticket_kind]


@dataclass(frozen=True)
class DueTimes:
    """Due times (in the calendars' time zone); ``None`` where there is no such target."""

    respond_by: datetime | None
    arrive_by: datetime | None
    resolve_by: datetime | None

    def to_json(self) -> dict[str, str | None]:
        """ISO 8601 with offset, as in the API's ``sla`` block."""
        return {
            name: None if value is None else value.isoformat()
            for name, value in (
                ("respond_by", self.respond_by),
                ("arrive_by", self.arrive_by),
                ("resolve_by", self.resolve_by),
            )
        }


def due_at(
    target: Target,
    *,
    opened_at: datetime,
    diagnosis_ended_at: datetime | None = None,
    calendar: Calendar,
    always_calendar: Calendar | None = None,
) -> datetime:
    """The due time of one target; see :func:`due_times`."""
    clock_calendar = _calendar_for(target.clock, calendar, always_calendar)
    return target.due(clock_start(target, opened_at, diagnosis_ended_at), clock_calendar)


def clock_start(
    target: Target, opened_at: datetime, diagnosis_ended_at: datetime | None = None
) -> datetime:
    """The instant ``target``'s clock starts (the diagnosis end defaults to ``opened_at``)."""
    if target.starts == "diagnosis_ended" and diagnosis_ended_at is not None:
        return diagnosis_ended_at
    return opened_at


def due_times(
    targets: TicketTargets,
    *,
    opened_at: datetime,
    diagnosis_ended_at: datetime | None = None,
    calendar: Calendar,
    always_calendar: Calendar | None = None,
) -> DueTimes:
    """Due times of a ticket's targets.

    ``calendar`` is the customer's business calendar; ``always_calendar`` the 24x7 clock
    (default: around the clock in ``calendar``'s time zone). ``diagnosis_ended_at`` starts
    targets with ``starts="diagnosis_ended"`` and defaults to ``opened_at``.
    """
    due = {
        name: None
        if target is None
        else due_at(
            target,
            opened_at=opened_at,
            diagnosis_ended_at=diagnosis_ended_at,
            calendar=calendar,
            always_calendar=always_calendar,
        )
        for name, target in (
            ("respond_by", targets.respond),
            ("arrive_by", targets.arrive),
            ("resolve_by", targets.resolve),
        )
    }
    return DueTimes(**due)


def warn_at(start: datetime, due: datetime, fraction: float, calendar: Calendar) -> datetime:
    """The instant at which ``fraction`` of the clock time from ``start`` to ``due`` elapsed.

    ``fraction`` is usually :data:`WARN_FRACTION`; ``calendar`` is the target's clock
    (business or 24x7). With ``fraction=1`` this is
    ``due`` (for a due time produced by ``calendar.add``); with ``fraction=0`` the clock's
    start (the next opening after ``start``).
    """
    if not 0 <= fraction <= 1:
        raise ValueError(f"fraction must be between 0 and 1, got {fraction!r}")
    return calendar.add(start, calendar.between(start, due) * fraction)


def _calendar_for(clock: str, calendar: Calendar, always_calendar: Calendar | None) -> Calendar:
    if clock == "business":
        return calendar
    if always_calendar is not None:
        return always_calendar
    return TwentyFourSeven(timezone=calendar.zone.key)
