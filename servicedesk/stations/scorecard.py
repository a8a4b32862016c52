"""Station scorecards: the rolling 90-day figures that judge a repair station, and whether they
put it on probation.

Pure domain code: no Flask, no database, no clock. The caller loads the station's survey
answers and repairs as plain values, passes ``now``, and stores the :class:`Scorecard`
(:meth:`Scorecard.to_json`). Its reasons are :class:`Reason` objects, translated only when
they are shown, so a supervisor reads them in their own language.

The window. A scorecard worked out at ``now`` covers the :data:`WINDOW_DAYS` days up to and
including ``now``: an instant ``t`` is inside when ``now - 90 days < t <= now``. So an answer
recorded exactly 90 days before ``now`` has left the window, one recorded at ``now`` counts
(the callback service refreshes the card the moment answers arrive), and anything after
``now`` is ignored.

The figures (each rate is from 0 to 1, and None when its denominator is 0):

- **satisfaction rate**: callbacks whose question 1 (overall satisfaction, 1–5) was answered
  in the window with :data:`SATISFIED_FROM` (4) or more, over the callbacks whose question 1
  was answered in the window;
- **problem-solved rate**: "yes" answers to question 2 over all answers to question 2;
- **SLA compliance**: of the SLA targets of the station's repairs *closed* in the window, those
  met on time over those met or breached (targets neither met nor breached, such as a target
  stopped before it fell due, are left out, as in the SLA compliance report);
- **repeat repairs**: the station's repairs *opened* in the window that it opened within
  :data:`REPEAT_DAYS` (30) days after it closed an earlier repair of the same machine
  (``0 <= opened - earlier closed <= 30 days``; the earlier repair may have been closed before
  the window), and their share of the station's repairs opened in the window. Cancelled repairs
  count for nothing: neither as a repair nor as the earlier repair.

Probation. With at least :data:`MIN_ANSWERS` (20) answers to question 1 and a satisfaction rate
below :data:`PROBATION_THRESHOLD` (85%) the card calls for probation (:attr:`Scorecard.standing`
``below_threshold``). Rates are compared exactly (as fractions): 84.9% is below, 85% is not.
The organisation's target is :data:`SATISFACTION_TARGET` (88%). With fewer answers the station
has no score (:attr:`Scorecard.score` is None) and dispatch ranks it as if it met the target.
:func:`review_status` says what the card means for a station's status: only an ``active``
station is put on probation automatically, and once a supervisor has set the station's status
by hand, only on answers received after that decision; nothing is ever lifted automatically.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any

from servicedesk.warranty.coverage import N_, Reason

__all__ = [
    "AUTOMATIC_PROBATION_REASON",
    "MIN_ANSWERS",
    "PROBATION_THRESHOLD",
    "REPEAT_DAYS",
    "SATISFACTION_TARGET",
    "SATISFIED_FROM",
    "STANDINGS",
    "WINDOW_DAYS",
    "RepairRecord",
    "Scorecard",
    "StatusReview",
    "SurveyResponse",
    "compute_scorecard",
    "percent",
    "review_status",
    "window_start",
]

WINDOW_DAYS = 90
REPEAT_DAYS = 30
MIN_ANSWERS = 20
#: Question 1 at this value or above means satisfied (DESIGN.md).
SATISFIED_FROM = 4
PROBATION_THRESHOLD = Fraction(85, 100)
SATISFACTION_TARGET = Fraction(88, 100)
STATION_STATUSES = ("active", "probation", "suspended")

STANDINGS = ("no_answers", "too_few_answers", "below_threshold", "below_target", "on_target")
"""``no_answers``: nobody answered question 1 in the window; ``too_few_answers``: fewer than
:data:`MIN_ANSWERS`, so no score; ``below_threshold``: a score below the probation threshold
(calls for probation); ``below_target``: at or above the threshold, below the target;
``on_target``: at or above the organisation's target."""

# --------------------------------------------------------------------------------------
# Messages. Each is a literal inside N_() so that pybabel extracts it.
# --------------------------------------------------------------------------------------

_NO_ANSWERS = N_(
    "No customer answered the satisfaction question in the last %(days)s days, so the "
    "station has no satisfaction score yet."
)
_TOO_FEW = N_(
    "Answers to the satisfaction question in the last %(days)s days: %(answers)s "
    "(%(satisfied)s satisfied, %(satisfaction)s). A score needs at least %(minimum)s answers, "
    "so the station has none yet and is not judged on it."
)
_BELOW_THRESHOLD = N_(
    "Satisfaction is %(satisfaction)s (%(satisfied)s of %(answers)s answers in the last "
    "%(days)s days), below the %(threshold)s probation threshold."
)
_BELOW_TARGET = N_(
    "Satisfaction is %(satisfaction)s (%(satisfied)s of %(answers)s answers in the last "
    "%(days)s days): not below the %(threshold)s probation threshold, but below the "
    "organisation's %(target)s target."
)
_ON_TARGET = N_(
    "Satisfaction is %(satisfaction)s (%(satisfied)s of %(answers)s answers in the last "
    "%(days)s days), meeting the organisation's %(target)s target."
)

# What the card means for the station's status.
_PUT_ON_PROBATION = N_(
    "The station is put on probation: dispatch ranks it after the active stations until a "
    "supervisor reinstates it."
)
_STAYS_ON_PROBATION = N_("The station stays on probation until a supervisor reinstates it.")
_MAY_REINSTATE = N_(
    "The station is on probation, and its satisfaction is no longer below the threshold: a "
    "supervisor may reinstate it."
)
_STAYS_SUSPENDED = N_(
    "The station is suspended and takes no new repairs; only a supervisor can reinstate it."
)
_HELD_OFF = N_(
    "A supervisor set the station's status on %(decided_on)s; no answer has come in since, so "
    "the station is not put on probation again until one does."
)

#: The reason recorded in the station's history when the scorecard puts it on probation.
AUTOMATIC_PROBATION_REASON = N_(
    "Put on probation automatically: satisfaction over the last 90 days fell below the "
    "probation threshold."
)


# --------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------


def _aware(value: Any, name: str) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, not {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, not {value!r}")
    return value


def _count(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be a whole number, not {value!r}")
    if value < 0:
        raise ValueError(f"{name} must not be negative, not {value!r}")
    return value


@dataclass(frozen=True)
class SurveyResponse:
    """The answers of one satisfaction callback about one of the station's repairs.

    ``answered_at`` is when the customer answered (the first answer of the call); ``overall``
    question 1 from 1 to 5, or None when not answered; ``solved`` question 2 (True for "yes"),
    or None when not answered.
    """

    answered_at: datetime
    overall: int | None = None
    solved: bool | None = None

    def __post_init__(self) -> None:
        _aware(self.answered_at, "answered_at")
        if self.overall is not None:
            if isinstance(self.overall, bool) or not isinstance(self.overall, int):
                raise TypeError(f"overall must be a whole number or None, not {self.overall!r}")
            if not 1 <= self.overall <= 5:
                raise ValueError(f"overall must be from 1 to 5, not {self.overall!r}")
        if self.solved is not None and not isinstance(self.solved, bool):
            raise TypeError(f"solved must be True, False or None, not {self.solved!r}")

    @property
    def satisfied(self) -> bool | None:
        return None if self.overall is None else self.overall >= SATISFIED_FROM


@dataclass(frozen=True)
class RepairRecord:
    """One repair of the station.

    ``asset`` identifies the machine (None when the repair has none: it can be no repeat).
    ``closed_at`` is when it was closed as done, None while open. ``sla_met`` and
    ``sla_breached`` count its SLA targets met on time and breached (the others are neither).
    A ``cancelled`` repair is ignored altogether.
    """

    opened_at: datetime
    asset: Hashable | None = None
    closed_at: datetime | None = None
    sla_met: int = 0
    sla_breached: int = 0
    cancelled: bool = False

    def __post_init__(self) -> None:
        _aware(self.opened_at, "opened_at")
        if self.closed_at is not None:
            _aware(self.closed_at, "closed_at")
            if self.closed_at < self.opened_at:
                raise ValueError("a repair cannot be closed before it was opened")
        _count(self.sla_met, "sla_met")
        _count(self.sla_breached, "sla_breached")
        if not isinstance(self.cancelled, bool):
            raise TypeError(f"cancelled must be True or False, not {self.cancelled!r}")


# --------------------------------------------------------------------------------------
# The scorecard
# --------------------------------------------------------------------------------------


def _rate(part: int, whole: int) -> Fraction | None:
    return None if whole == 0 else Fraction(part, whole)


def percent(rate: Fraction | float | None) -> str:
    """A rate (0..1) as a percentage to one decimal, rounded down so that a rate below a
    threshold never reads as the threshold itself: ``Fraction(1699, 2000)`` → ``84.9%``,
    ``0.85`` → ``85%``; ``—`` for None."""
    if rate is None:
        return "—"
    exact = Fraction(rate)
    if isinstance(rate, float):
        exact = exact.limit_denominator(1_000_000)
    tenths = int(exact * 1000)
    whole, tenth = divmod(tenths, 10)
    return f"{whole}.{tenth}%" if tenth else f"{whole}%"


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _to_float(rate: Fraction | None) -> float | None:
    return None if rate is None else float(rate)


@dataclass(frozen=True)
class Scorecard:
    """A station's rolling scorecard at ``computed_at`` (see the module docstring).

    Counts are whole numbers; rates are fractions from 0 to 1 (None when the denominator is
    0). ``reasons`` explain the satisfaction standing to a supervisor.
    """

    computed_at: datetime
    window_start: datetime
    """Excluded: the window is ``window_start < t <= computed_at``."""
    answers: int
    satisfied: int
    solved_answers: int
    solved: int
    sla_met: int
    sla_breached: int
    repairs_opened: int
    repeat_repairs: int
    repairs_closed: int
    standing: str
    reasons: tuple[Reason, ...]
    last_answer_at: datetime | None = None
    """The latest answer to question 1 in the window (None without any)."""

    @property
    def window_days(self) -> int:
        return WINDOW_DAYS

    @property
    def satisfaction(self) -> Fraction | None:
        """Satisfied answers over answers to question 1 (None without answers)."""
        return _rate(self.satisfied, self.answers)

    @property
    def score(self) -> Fraction | None:
        """The satisfaction rate once there are :data:`MIN_ANSWERS` answers, else None: the
        figure stored on the station and used by dispatch."""
        return self.satisfaction if self.answers >= MIN_ANSWERS else None

    @property
    def solved_rate(self) -> Fraction | None:
        return _rate(self.solved, self.solved_answers)

    @property
    def sla_compliance(self) -> Fraction | None:
        return _rate(self.sla_met, self.sla_met + self.sla_breached)

    @property
    def repeat_rate(self) -> Fraction | None:
        return _rate(self.repeat_repairs, self.repairs_opened)

    @property
    def calls_for_probation(self) -> bool:
        return self.standing == "below_threshold"

    def render_reasons(self, gettext=lambda s: s) -> list[str]:
        return [reason.render(gettext) for reason in self.reasons]

    def to_json(self) -> dict[str, Any]:
        """JSON-ready values: times ISO 8601 with offset, rates as floats."""
        return {
            "computed_at": self.computed_at.isoformat(),
            "window": {
                "days": WINDOW_DAYS,
                "start": self.window_start.isoformat(),
                "end": self.computed_at.isoformat(),
            },
            "answers": self.answers,
            "satisfied": self.satisfied,
            "satisfaction": _to_float(self.satisfaction),
            "score": _to_float(self.score),
            "solved_answers": self.solved_answers,
            "solved": self.solved,
            "solved_rate": _to_float(self.solved_rate),
            "sla_met": self.sla_met,
            "sla_breached": self.sla_breached,
            "sla_compliance": _to_float(self.sla_compliance),
            "repairs_opened": self.repairs_opened,
            "repeat_repairs": self.repeat_repairs,
            "repeat_rate": _to_float(self.repeat_rate),
            "repairs_closed": self.repairs_closed,
            "standing": self.standing,
            "reasons": [reason.to_json() for reason in self.reasons],
            "last_answer_at": _iso(self.last_answer_at),
            "target": float(SATISFACTION_TARGET),
            "threshold": float(PROBATION_THRESHOLD),
            "min_answers": MIN_ANSWERS,
            "repeat_days": REPEAT_DAYS,
        }

    @classmethod
    def from_json(cls, data: Any) -> Scorecard:
        """The scorecard stored by :meth:`to_json`; ``ValueError`` for anything else."""
        if not isinstance(data, Mapping):
            raise ValueError(f"not a stored scorecard: {data!r}")
        try:
            standing = data["standing"]
            if standing not in STANDINGS:
                raise ValueError(f"unknown standing {standing!r}")
            counts = {
                name: _count(data[name], name)
                for name in (
                    "answers",
                    "satisfied",
                    "solved_answers",
                    "solved",
                    "sla_met",
                    "sla_breached",
                    "repairs_opened",
                    "repeat_repairs",
                    "repairs_closed",
                )
            }
            last_answer = data.get("last_answer_at")
            return cls(
                computed_at=_aware(datetime.fromisoformat(data["computed_at"]), "computed_at"),
                window_start=_aware(
                    datetime.fromisoformat(data["window"]["start"]), "window start"
                ),
                standing=standing,
                reasons=tuple(Reason.from_json(item) for item in data.get("reasons") or ()),
                last_answer_at=None
                if last_answer is None
                else _aware(datetime.fromisoformat(last_answer), "last_answer_at"),
                **counts,
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a stored scorecard: {data!r}") from exc


def window_start(now: datetime) -> datetime:
    """The excluded start of the window ending at ``now`` (see the module docstring)."""
    return _aware(now, "now") - timedelta(days=WINDOW_DAYS)


def _satisfaction_verdict(answers: int, satisfied: int) -> tuple[str, Reason]:
    rate = _rate(satisfied, answers)
    params = {
        "days": str(WINDOW_DAYS),
        "answers": str(answers),
        "satisfied": str(satisfied),
        "satisfaction": percent(rate),
        "minimum": str(MIN_ANSWERS),
        "threshold": percent(PROBATION_THRESHOLD),
        "target": percent(SATISFACTION_TARGET),
    }
    if rate is None:
        return "no_answers", Reason(_NO_ANSWERS, params)
    if answers < MIN_ANSWERS:
        return "too_few_answers", Reason(_TOO_FEW, params)
    if rate < PROBATION_THRESHOLD:
        return "below_threshold", Reason(_BELOW_THRESHOLD, params)
    if rate < SATISFACTION_TARGET:
        return "below_target", Reason(_BELOW_TARGET, params)
    return "on_target", Reason(_ON_TARGET, params)


def _repeats(repairs: list[RepairRecord], start: datetime, now: datetime) -> tuple[int, int]:
    """``(repairs opened in the window, repeats among them)``."""
    closings: dict[Hashable, list[datetime]] = defaultdict(list)
    for repair in repairs:
        if repair.asset is not None and repair.closed_at is not None and repair.closed_at <= now:
            closings[repair.asset].append(repair.closed_at)
    opened = repeats = 0
    limit = timedelta(days=REPEAT_DAYS)
    for repair in repairs:
        if not start < repair.opened_at <= now:
            continue
        opened += 1
        if repair.asset is None:
            continue
        earlier = list(closings[repair.asset])
        if repair.closed_at is not None and repair.closed_at <= now:
            earlier.remove(repair.closed_at)
        if any(timedelta(0) <= repair.opened_at - closed_at <= limit for closed_at in earlier):
            repeats += 1
    return opened, repeats


def compute_scorecard(
    responses: Iterable[SurveyResponse], repairs: Iterable[RepairRecord], *, now: datetime
) -> Scorecard:
    """The station's scorecard at ``now`` from its callbacks' answers and its repairs.

    Pass every response and repair that may matter (at least those of the window, and for
    repeats the repairs closed up to :data:`REPEAT_DAYS` days before it); passing more is
    fine, whatever falls outside the window is ignored. The result does not depend on the
    order of the inputs.
    """
    start = window_start(now)
    answers = satisfied = solved_answers = solved = 0
    last_answer_at: datetime | None = None
    for response in responses:
        if not isinstance(response, SurveyResponse):
            raise TypeError(f"expected SurveyResponse, got {response!r}")
        if not start < response.answered_at <= now:
            continue
        if response.overall is not None:
            answers += 1
            satisfied += response.satisfied
            if last_answer_at is None or response.answered_at > last_answer_at:
                last_answer_at = response.answered_at
        if response.solved is not None:
            solved_answers += 1
            solved += response.solved
    kept: list[RepairRecord] = []
    for repair in repairs:
        if not isinstance(repair, RepairRecord):
            raise TypeError(f"expected RepairRecord, got {repair!r}")
        if not repair.cancelled:
            kept.append(repair)
    closed_in_window = [
        repair
        for repair in kept
        if repair.closed_at is not None and start < repair.closed_at <= now
    ]
    opened, repeats = _repeats(kept, start, now)
    standing, headline = _satisfaction_verdict(answers, satisfied)
    return Scorecard(
        computed_at=now,
        window_start=start,
        answers=answers,
        satisfied=satisfied,
        solved_answers=solved_answers,
        solved=solved,
        sla_met=sum(repair.sla_met for repair in closed_in_window),
        sla_breached=sum(repair.sla_breached for repair in closed_in_window),
        repairs_opened=opened,
        repeat_repairs=repeats,
        repairs_closed=len(closed_in_window),
        standing=standing,
        reasons=(headline,),
        last_answer_at=last_answer_at,
    )


# --------------------------------------------------------------------------------------
# What the card means for the station's status
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatusReview:
    """``new_status`` is the status the scorecard moves the station to (only ever
    ``probation``, from ``active``), or None to leave it; ``reasons`` say why, for a
    supervisor: the satisfaction standing first, then what it means for the station."""

    new_status: str | None
    reasons: tuple[Reason, ...]


def review_status(
    status: str, card: Scorecard, *, decided_at: datetime | None = None
) -> StatusReview:
    """What ``card`` means for a station whose status is ``status``.

    An ``active`` station whose card calls for probation goes on probation, unless a
    supervisor set its status by hand at ``decided_at`` (e.g. reinstated it) and no answer to
    question 1 came in after that instant (an answer at the very instant does not count): the
    supervisor's decision stands until there is new evidence. Nothing else changes
    automatically: a station on probation stays there (it is told when a supervisor may
    reinstate it), and a suspended station stays suspended whatever its score.
    """
    if status not in STATION_STATUSES:
        raise ValueError(f"unknown station status {status!r}")
    if decided_at is not None:
        _aware(decided_at, "decided_at")
    reasons = list(card.reasons)
    new_status = None
    if status == "suspended":
        reasons.append(Reason(_STAYS_SUSPENDED, {"status": status}))
    elif status == "active" and card.calls_for_probation:
        fresh = decided_at is None or (
            card.last_answer_at is not None and card.last_answer_at > decided_at
        )
        if fresh:
            new_status = "probation"
            reasons.append(Reason(_PUT_ON_PROBATION, {"status": "probation"}))
        else:
            reasons.append(Reason(_HELD_OFF, {"decided_on": decided_at.date()}))
    elif status == "probation" and card.score is not None and not card.calls_for_probation:
        reasons.append(Reason(_MAY_REINSTATE, {"status": status}))
    elif status == "probation":
        reasons.append(Reason(_STAYS_ON_PROBATION, {"status": status}))
    return StatusReview(new_status=new_status, reasons=tuple(reasons))
