"""Pausable ticket clocks: due times pushed out while a ticket waits on the customer.

Pure domain code: no Flask, no database, no clock; ``now`` is passed in, every instant is an
aware datetime (naive ones raise :class:`ValueError`).

Semantics:

* A :class:`Pause` is ``[start, end)``; ``end=None`` means still paused, i.e. up to ``now``.
  Overlapping or touching pauses are merged first, so no time is counted twice.
* Only clock time counts: on a business calendar the working time inside the pause (a pause
  entirely outside working hours counts zero, a pause over a weekend counts only the working
  hours in it); on the 24x7 clock the whole pause.
* :func:`adjusted_due` pushes the due time out by the paused clock time, pause by pause in
  time order. A pause that starts at or after the (already pushed) due time does not count:
  once a target is due, waiting on the customer cannot undo a breach.
* A due time is inclusive: a target met exactly at its due time is met; without a ``met_at``
  it is breached once ``now`` is strictly later than the due time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from servicedesk.sla.calendar import Calendar

__all__ = [
    "STATUSES",
    "Pause",
    "adjusted_due",
    "counted_pauses",
    "elapsed_fraction",
    "paused_time",
    "running_time",
    "status",
]

STATUSES = ("met", "breached", "running")


def _utc(instant: datetime, name: str) -> datetime:
    if not isinstance(instant, datetime):
        raise TypeError(f"{name} must be a datetime, got {instant!r}")
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {instant.isoformat()}")
    return instant.astimezone(UTC)


@dataclass(frozen=True)
class Pause:
    """The ticket waited on the customer from ``start`` until ``end`` (None: still waiting)."""

    start: datetime
    end: datetime | None = None

    def __post_init__(self) -> None:
        start = _utc(self.start, "pause start")
        if self.end is not None and _utc(self.end, "pause end") < start:
            raise ValueError(f"pause ends before it starts: {self.start} > {self.end}")


def _intervals(
    pauses: Iterable[Pause], *, since: datetime | None, until: datetime
) -> list[tuple[datetime, datetime]]:
    """Pauses as merged, sorted, non-empty UTC intervals clipped to ``[since, until)``."""
    clipped = []
    for pause in pauses:
        if not isinstance(pause, Pause):
            raise TypeError(f"expected Pause, got {pause!r}")
        start = _utc(pause.start, "pause start")
        end = until if pause.end is None else min(_utc(pause.end, "pause end"), until)
        if since is not None:
            start = max(start, since)
        if start < end:
            clipped.append((start, end))
    clipped.sort()
    merged: list[tuple[datetime, datetime]] = []
    for start, end in clipped:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def paused_time(
    pauses: Iterable[Pause], calendar: Calendar, until: datetime, *, since: datetime | None = None
) -> timedelta:
    """Clock time spent paused in ``[since, until)`` (``since=None``: from the first pause)."""
    end = _utc(until, "until")
    start = None if since is None else _utc(since, "since")
    return sum(
        (calendar.between(a, b) for a, b in _intervals(pauses, since=start, until=end)),
        timedelta(0),
    )


def counted_pauses(
    original_due: datetime,
    pauses: Iterable[Pause],
    calendar: Calendar,
    now: datetime,
    *,
    clock_start: datetime | None = None,
) -> tuple[datetime, list[tuple[datetime, datetime]]]:
    """The pushed-out due time and the pause intervals (UTC) that pushed it.

    Pauses are clipped to ``[clock_start, now)``; see the module docstring for which count.
    """
    due = _utc(original_due, "original_due")
    current = _utc(now, "now")
    since = None if clock_start is None else _utc(clock_start, "clock_start")
    counted = []
    for start, end in _intervals(pauses, since=since, until=current):
        if start >= due:
            break
        pushed = calendar.between(start, end)
        if pushed:
            due = _utc(calendar.add(due, pushed), "due")
            counted.append((start, end))
    return due, counted


def adjusted_due(
    original_due: datetime,
    pauses: Iterable[Pause],
    calendar: Calendar,
    now: datetime,
    *,
    clock_start: datetime | None = None,
) -> datetime:
    """``original_due`` pushed out by the clock time paused before it (up to ``now``).

    Returned in ``calendar``'s time zone; never earlier than ``original_due``, and the same
    instant when no pause counts. An ongoing pause keeps pushing the due time as ``now``
    advances (during working time).
    """
    due, _ = counted_pauses(original_due, pauses, calendar, now, clock_start=clock_start)
    return calendar.local(due)


def running_time(
    start: datetime,
    original_due: datetime,
    pauses: Iterable[Pause],
    calendar: Calendar,
    now: datetime,
) -> timedelta:
    """Clock time the target has run from ``start`` until ``now``, minus the counted pauses."""
    begin, current = _utc(start, "start"), _utc(now, "now")
    _, counted = counted_pauses(original_due, pauses, calendar, now, clock_start=begin)
    paused = sum((calendar.between(a, b) for a, b in counted), timedelta(0))
    return calendar.between(begin, current) - paused


def elapsed_fraction(
    start: datetime,
    due: datetime,
    pauses: Iterable[Pause],
    calendar: Calendar,
    now: datetime,
) -> float:
    """Share of the target used up at ``now``: 0 at the start, 1 at the (adjusted) due time.

    ``due`` is the original due time (before pauses): the target is ``between(start, due)``
    of clock time, and the time used is :func:`running_time`. Above 1 once breached (not
    capped, for sorting the most overdue first); 0 before the clock starts. A target of zero
    length is 0 before its due time and 1 from it on.
    """
    target = calendar.between(start, due)
    if not target:
        return 1.0 if _utc(now, "now") >= _utc(due, "due") else 0.0
    used = running_time(start, due, pauses, calendar, now)
    return max(used / target, 0.0)


def status(due: datetime, met_at: datetime | None, now: datetime) -> str:
    """``met`` (met at or before ``due``), ``breached`` (met late, or unmet after ``due``),
    or ``running``."""
    deadline = _utc(due, "due")
    if met_at is not None:
        return "met" if _utc(met_at, "met_at") <= deadline else "breached"
    return "breached" if _utc(now, "now") > deadline else "running"
