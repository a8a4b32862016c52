"""Where one SLA clock stands at an instant: met, late, breached, running, paused or stopped.

Pure domain code: no Flask, no database, no clock; ``now`` is passed in, instants are aware.

States (one per clock):

* ``met``: met at or before its due time; ``late``: met after it.
* ``stopped``: the ticket was cancelled before the target was met (coloured ``breached`` when
  it was already overdue then: cancelling does not undo a breach).
* ``breached``: not met and its due time has passed. While the ticket waits on the customer
  the due time moves out with the paused clock time, so a clock paused before its due time
  is not breached; one paused at or after its due time is (waiting cannot undo a breach).
* ``paused``: waiting on the customer, not breached; ``running`` otherwise.

The API reports ``late`` as ``breached`` (:func:`api_status`).

Colours (the CSS classes of the web UI): ``ok`` (met in time, or less than
:data:`~servicedesk.sla.targets.WARN_FRACTION` of the target used up), ``at-risk`` (at least
that share used, not yet due), ``breached`` (breached, met late, or stopped when overdue) and
``stopped``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from servicedesk.sla.calendar import Calendar
from servicedesk.sla.clock import Pause, adjusted_due, elapsed_fraction
from servicedesk.sla.targets import WARN_FRACTION

__all__ = [
    "API_STATUSES",
    "COLOURS",
    "STATES",
    "ClockFacts",
    "Standing",
    "api_status",
    "clock_state",
    "standing",
]

STATES = ("met", "late", "breached", "running", "paused", "stopped")
API_STATUSES = ("met", "breached", "running", "paused", "stopped")
COLOURS = ("ok", "at-risk", "breached", "stopped")


@dataclass(frozen=True)
class ClockFacts:
    """What is stored about one clock (the fields of ``SlaClock`` the standing depends on)."""

    target: str
    clock: str
    timezone: str
    started_at: datetime
    original_due_at: datetime
    due_at: datetime
    met_at: datetime | None = None
    paused_since: datetime | None = None
    stopped_at: datetime | None = None

    @classmethod
    def of(cls, clock) -> ClockFacts:
        """The facts of any object with the ``SlaClock`` attributes."""
        return cls(
            target=clock.target,
            clock=clock.clock,
            timezone=clock.timezone,
            started_at=clock.started_at,
            original_due_at=clock.original_due_at,
            due_at=clock.due_at,
            met_at=clock.met_at,
            paused_since=clock.paused_since,
            stopped_at=clock.stopped_at,
        )


def _utc(instant: datetime) -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"naive datetime: {instant.isoformat()}")
    return instant.astimezone(UTC)


def clock_state(
    due_at: datetime,
    now: datetime,
    *,
    met_at: datetime | None = None,
    paused_since: datetime | None = None,
    stopped_at: datetime | None = None,
) -> str:
    """One of :data:`STATES` from the stored fields alone.

    ``due_at`` is the due time as stored (pushed out by the pauses that have ended); a clock
    paused before it is therefore never breached here, whatever ``now`` is.
    """
    due = _utc(due_at)
    if met_at is not None:
        return "met" if _utc(met_at) <= due else "late"
    if stopped_at is not None:
        return "stopped"
    if paused_since is not None:
        return "breached" if _utc(paused_since) >= due else "paused"
    return "breached" if _utc(now) > due else "running"


def api_status(state: str) -> str:
    """The API's word for a state: ``late`` is ``breached``, the others keep their name."""
    if state not in STATES:
        raise ValueError(f"unknown clock state {state!r}")
    return "breached" if state == "late" else state


@dataclass(frozen=True)
class Standing:
    """A clock at ``now``, ready to show.

    ``due_at`` is the live due time (UTC): while paused it keeps moving out with the paused
    clock time. ``remaining`` is the wall-clock time from ``now`` to ``due_at``, negative when
    overdue; None once the clock is met or stopped. ``elapsed`` is the share of the target used
    (see :func:`~servicedesk.sla.clock.elapsed_fraction`); None once met or stopped.
    """

    target: str
    clock: str
    timezone: str
    state: str
    colour: str
    due_at: datetime
    original_due_at: datetime
    met_at: datetime | None
    stopped_at: datetime | None
    remaining: timedelta | None
    elapsed: float | None

    @property
    def overdue(self) -> timedelta | None:
        """How long past due an unmet clock is; None when it is not overdue."""
        if self.remaining is None or self.remaining >= timedelta(0):
            return None
        return -self.remaining

    @property
    def open(self) -> bool:
        """Still counting or paused (not met, not stopped)."""
        return self.state in ("running", "paused", "breached")


def standing(
    facts: ClockFacts, pauses: Sequence[Pause], calendar: Calendar, now: datetime
) -> Standing:
    """Where ``facts`` stands at ``now``; ``pauses`` are the ticket's waits on the customer and
    ``calendar`` the clock's calendar (business hours or 24x7 in ``facts.timezone``)."""
    current = _utc(now)
    state = clock_state(
        facts.due_at,
        current,
        met_at=facts.met_at,
        paused_since=facts.paused_since,
        stopped_at=facts.stopped_at,
    )
    common = {
        "target": facts.target,
        "clock": facts.clock,
        "timezone": facts.timezone,
        "original_due_at": _utc(facts.original_due_at),
        "met_at": None if facts.met_at is None else _utc(facts.met_at),
        "stopped_at": None if facts.stopped_at is None else _utc(facts.stopped_at),
    }
    if state in ("met", "late", "stopped"):
        colour = {"met": "ok", "late": "breached", "stopped": "stopped"}[state]
        if state == "stopped" and _utc(facts.stopped_at) > _utc(facts.due_at):
            colour = "breached"
        return Standing(
            **common,
            state=state,
            colour=colour,
            due_at=_utc(facts.due_at),
            remaining=None,
            elapsed=None,
        )
    due = _utc(facts.due_at)
    if state == "paused":
        live = adjusted_due(
            facts.original_due_at, pauses, calendar, current, clock_start=facts.started_at
        )
        due = max(due, _utc(live))
    elapsed = elapsed_fraction(facts.started_at, facts.original_due_at, pauses, calendar, current)
    at_risk = elapsed >= WARN_FRACTION
    colour = "breached" if state == "breached" else ("at-risk" if at_risk else "ok")
    return Standing(
        **common,
        state=state,
        colour=colour,
        due_at=due,
        remaining=due - current,
        elapsed=elapsed,
    )
