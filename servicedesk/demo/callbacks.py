"""The satisfaction callbacks of the demo's closed repairs, as production would have made them.

Plain values from the generator's seeded random generator, no database. Every closed repair
gets the callback :func:`servicedesk.callcenter.callbacks.schedule_callback` would have
created at its closing, and then what the sweep and the survey webhooks would have recorded
up to ``now``:

- the first attempt is due 24 hours after the closing, inside calling hours (``first_call_at``
  of :mod:`servicedesk.callcenter.callback_timing` with the default policy); a retry 2 hours
  after an unanswered attempt (``retry_at``), at most 3 attempts. A repair closed within the
  last day or so still has its callback ``scheduled``;
- an unanswered attempt ends ``no_answer``, ``busy``, ``machine`` (answering-machine detection),
  or ``completed`` without a key pressed (a person who hung up); three of them make the callback
  ``exhausted``;
- an answered one makes it ``completed``: usually all three questions answered, sometimes only
  some (the customer hung up, or let a question time out twice);
- a few customers press 9: the number goes on the do-not-call list, the customer is marked
  do-not-call and the callback is ``stopped``; their later callbacks are stopped too (at once
  when the repair closed after that, when due otherwise), as are those of customers who were
  on the list already;
- question 1 at 1-2 or "not solved" opens a follow-up complaint at that answer, linked to the
  repair, at no station, handled by the supervisors like any complaint (some still open).

Station quality. Each station has a share of satisfied customers: most
:data:`GOOD_QUALITY`; of the busy ones :data:`MIDDLING_STATIONS` :data:`MIDDLING_QUALITY`
(below the target, above the threshold), :data:`WEAK_STATIONS` :data:`WEAK_QUALITY` and one
:data:`BAD_QUALITY`, so that after a load the scorecards show real scores and put those on
probation. The calls are played first, recording only which questions were answered when;
then each station's answers to question 1, separately inside and before the scorecards' 90-day
window, get exactly their quota of satisfied customers (see
:meth:`CallbackHistory.give_answers`), so that a station's score at the load is what its
quality says even with 20-odd answers. The showcase customers' callbacks are fixed: answered
at the first attempt, fully satisfied.
"""

from __future__ import annotations

import base64
import math
import random
from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import phonenumbers

from servicedesk.callcenter.callback_timing import (
    DEFAULT_CALLING_HOURS,
    CallbackPolicy,
    first_call_at,
    parse_calling_hours,
    retry_at,
)
from servicedesk.callcenter.survey import SATISFIED_FROM, needs_follow_up
from servicedesk.customers.models import DEFAULT_TIMEZONE
from servicedesk.demo.showcase import SHOWCASE_STATION_CODE
from servicedesk.demo.specs import (
    AnswerSpec,
    AttemptSpec,
    CallbackSpec,
    CustomerSpec,
    DemoData,
    DoNotCallSpec,
    TicketSpec,
)
from servicedesk.stations.scorecard import PROBATION_THRESHOLD, WINDOW_DAYS

if TYPE_CHECKING:
    from servicedesk.demo.generate import _Generator

POLICY = CallbackPolicy(hours=parse_calling_hours(DEFAULT_CALLING_HOURS))
CLAIMED_BY = "demo-scheduler:1:1"
"""``claimed_by`` of the demo's attempts (a sweeper names itself host:process:thread)."""
SCORE_WINDOW = timedelta(days=WINDOW_DAYS)
#: An attempt due this close to ``now`` is left for the sweep: the callback is still scheduled.
NOT_YET = timedelta(minutes=10)

GOOD_QUALITY = (0.88, 0.96)
MIDDLING_QUALITY = (0.86, 0.875)
"""Not below the probation threshold, but below the organisation's 88% target."""
WEAK_QUALITY = (0.76, 0.82)
BAD_QUALITY = (0.60, 0.68)
WEAK_STATIONS = 2
MIDDLING_STATIONS = 2
#: A station's quota of satisfied answers is rounded up from this share on, down below it.
PROBATION_LINE = float(PROBATION_THRESHOLD)
#: The stations that may be weak or bad: the busiest this share of them.
QUALITY_CANDIDATES_SHARE = 0.4

#: Chance that a person answers, by attempt number.
ANSWER_CHANCE = {1: 0.62, 2: 0.5, 3: 0.45}
UNANSWERED = {"no_answer": 58, "busy": 20, "machine": 15, "hung_up": 7}
OPT_OUT_CHANCE = 0.02
#: How an answered survey goes: all questions, or which are left out (``None``: hung up).
SURVEY_SHAPES = {
    ("overall", "solved", "engineer"): 86,
    ("overall", None): 5,
    ("overall", "solved", None): 4,
    ("-", "solved", "engineer"): 2,
    ("overall", "-", "engineer"): 3,
}
"""``"-"``: the question timed out twice and the survey moved on."""


def _weighted(rng: random.Random, weights: dict) -> object:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _seconds(rng: random.Random, low: float, high: float) -> timedelta:
    return timedelta(seconds=rng.uniform(low, high))


def _is_mobile(e164: str) -> bool:
    number = phonenumbers.parse(e164, None)
    return phonenumbers.number_type(number) in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    )


def number_to_call(customer: CustomerSpec) -> str | None:
    """The number the survey calls, chosen as
    :func:`servicedesk.callcenter.callbacks.number_to_call` chooses it: the primary contact's
    first mobile, else another contact's, else any phone, numbers without an extension first."""
    phones = [
        (contact, phone)
        for contact in sorted(customer.contacts, key=lambda c: not c.is_primary)
        for phone in contact.phones
    ]
    if not phones:
        return None
    _contact, phone = min(
        phones,
        key=lambda pair: (
            not _is_mobile(pair[1].e164),
            pair[1].extension is not None,
            not pair[0].is_primary,
        ),
    )
    return phone.e164


class CallbackHistory:
    """Adds the callbacks, their follow-up complaints and the do-not-call list to ``data``
    (see the module docstring), drawing from the generator's random generator."""

    def __init__(self, generator: _Generator, data: DemoData, *, showcase_codes: Iterable[str]):
        self.generator = generator
        self.rng = generator.rng
        self.now = generator.now
        self.data = data
        self.showcase_codes = set(showcase_codes)
        self.customers = {customer.code: customer for customer in data.customers}
        self.opted_out: dict[str, datetime] = {}
        """Customer code → when the customer pressed 9."""
        self.numbers: dict[str, str | None] = {}
        """Customer code → the number its surveys call (working it out parses phones)."""
        self.fixed: set[int] = set()
        """``id()`` of the showcase callbacks, whose answers are fixed."""

    def build(self) -> None:
        repairs = sorted(
            (t for t in self.data.tickets if t.kind == "repair" and t.status == "closed"),
            key=lambda ticket: ticket.closed_at,
        )
        self.data.station_quality = self.station_quality(repairs)
        for repair in repairs:
            self.data.callbacks.append(self.callback(repair))
        self.give_answers()

    # -- station quality ----------------------------------------------------------------

    def station_quality(self, repairs: list[TicketSpec]) -> dict[str, float]:
        """``{station code: share of satisfied customers}``: the bad, weak and middling
        stations are drawn from the busiest ones over the scorecards' window (never the showcase
        station), so that they have enough answers to be judged."""
        since = self.now - SCORE_WINDOW
        volume = Counter(t.station_code for t in repairs if t.closed_at > since)
        codes = [station.code for station in self.data.stations]
        busiest = sorted(
            (code for code in codes if code != SHOWCASE_STATION_CODE),
            key=lambda code: (-volume[code], code),
        )
        wanted = max(
            1 + WEAK_STATIONS + MIDDLING_STATIONS, round(len(busiest) * QUALITY_CANDIDATES_SHARE)
        )
        candidates = busiest[:wanted]
        tiers = [BAD_QUALITY, *[WEAK_QUALITY] * WEAK_STATIONS]
        tiers += [MIDDLING_QUALITY] * MIDDLING_STATIONS
        chosen = self.rng.sample(candidates, min(len(candidates), len(tiers)))
        quality = {code: self.rng.uniform(*GOOD_QUALITY) for code in codes}
        for code, tier in zip(chosen, tiers, strict=False):
            quality[code] = self.rng.uniform(*tier)
        return quality

    # -- one callback -------------------------------------------------------------------

    def callback(self, repair: TicketSpec) -> CallbackSpec:
        customer = self.customers[repair.customer_code]
        closed = repair.closed_at
        callback = CallbackSpec(
            ticket=repair,
            customer_code=customer.code,
            station_code=repair.station_code,
            phone_e164=self.number_to_call(customer),
            language=customer.language,
            timezone=DEFAULT_TIMEZONE,
            status="scheduled",
            created_at=closed,
            max_attempts=POLICY.max_attempts,
        )
        if callback.phone_e164 is None:
            return self._stop(callback, "no_phone", closed)
        if self._on_do_not_call(customer, closed):
            return self._stop(callback, "do_not_call", closed)
        showcase = customer.code in self.showcase_codes
        rng = random.Random(f"showcase {repair.serial}") if showcase else self.rng
        due = first_call_at(closed, callback.timezone, POLICY)
        for number in range(1, callback.max_attempts + 1):
            claimed = due + _seconds(rng, 2, 60)
            if claimed > self.now - NOT_YET:
                callback.due_at = due
                return callback
            if self._on_do_not_call(customer, claimed):
                return self._stop(callback, "do_not_call", claimed)
            answered = showcase or rng.random() < ANSWER_CHANCE[number]
            attempt = self._attempt(rng, number, claimed)
            callback.attempts.append(attempt)
            if answered:
                self._survey(rng, callback, attempt, showcase=showcase)
                if callback.status != "scheduled":
                    return callback
            else:
                self._unanswered(rng, attempt)
            due = retry_at(attempt.ended_at, number, callback.timezone, POLICY)
            if due is None:
                callback.status = "exhausted"
                callback.finished_at = attempt.ended_at
        return callback

    def number_to_call(self, customer: CustomerSpec) -> str | None:
        if customer.code not in self.numbers:
            self.numbers[customer.code] = number_to_call(customer)
        return self.numbers[customer.code]

    def _on_do_not_call(self, customer: CustomerSpec, at: datetime) -> bool:
        if customer.code in self.opted_out:
            return self.opted_out[customer.code] <= at
        return customer.do_not_call

    def _stop(self, callback: CallbackSpec, reason: str, at: datetime) -> CallbackSpec:
        callback.status = "stopped"
        callback.stop_reason = reason
        callback.due_at = None
        callback.finished_at = at
        return callback

    def _attempt(self, rng: random.Random, number: int, claimed: datetime) -> AttemptSpec:
        token = base64.urlsafe_b64encode(rng.randbytes(18)).decode()
        return AttemptSpec(
            number=number,
            token=token,
            status="placed",
            claimed_at=claimed,
            placed_at=claimed + _seconds(rng, 0.2, 2),
            ended_at=None,
            call_sid=f"CA{rng.getrandbits(128):032x}",
        )

    def _unanswered(self, rng: random.Random, attempt: AttemptSpec) -> None:
        outcome = _weighted(rng, UNANSWERED)
        placed = attempt.placed_at
        if outcome == "no_answer":
            attempt.ended_at = placed + _seconds(rng, 22, 32)
        elif outcome == "busy":
            attempt.ended_at = placed + _seconds(rng, 3, 9)
        elif outcome == "machine":
            attempt.answered_at = placed + _seconds(rng, 6, 20)
            attempt.answered_by = "machine_start"
            attempt.ended_at = attempt.answered_at + _seconds(rng, 2, 5)
        else:
            attempt.answered_at = placed + _seconds(rng, 6, 20)
            attempt.answered_by = "human"
            attempt.survey_state = {"question": "overall", "tries": 1, "opted_out": False}
            attempt.ended_at = attempt.answered_at + _seconds(rng, 5, 15)
            outcome = "completed"
        attempt.status = outcome

    # -- the survey ---------------------------------------------------------------------

    def _survey(
        self, rng: random.Random, callback: CallbackSpec, attempt: AttemptSpec, *, showcase: bool
    ) -> None:
        """A person answered: the greeting, then the questions as the call went."""
        attempt.answered_at = attempt.placed_at + _seconds(rng, 6, 20)
        attempt.answered_by = "human"
        moment = attempt.answered_at + _seconds(rng, 10, 14)
        customer = self.customers[callback.customer_code]
        shape = ("overall", "solved", "engineer") if showcase else _weighted(rng, SURVEY_SHAPES)
        opt_out_at = (
            rng.randrange(len(shape)) if not showcase and rng.random() < OPT_OUT_CHANCE else None
        )
        state = {"question": None, "tries": 1, "opted_out": False}
        keys = ("overall", "solved", "engineer")
        for index, asked in enumerate(shape):
            if index == opt_out_at:
                moment += _seconds(rng, 3, 8)
                state = {"question": None, "tries": 1, "opted_out": True}
                self._opt_out(callback, customer, moment)
                break
            if asked is None:
                state = {"question": keys[index], "tries": 1, "opted_out": False}
                break
            if asked == "-":
                moment += _seconds(rng, 16, 24)
                continue
            moment += _seconds(rng, 4, 10)
            attempt.answers.append(AnswerSpec(asked, 0, moment))
            if callback.answered_at is None:
                callback.answered_at = moment
            if callback.status not in ("stopped", "cancelled"):
                callback.status = "completed"
                callback.due_at = None
                callback.finished_at = callback.finished_at or moment
        if showcase and attempt.answers:
            self.fixed.add(id(callback))
        attempt.survey_state = state
        attempt.ended_at = moment + _seconds(rng, 2, 5)
        attempt.status = "completed"

    # -- the answers ------------------------------------------------------------------

    def give_answers(self) -> None:
        """Put values on the answers of every answered callback (the calls only recorded
        which questions were answered when), set ``satisfied`` and open the follow-ups.

        For each station, separately inside and before the scorecards' window, the callbacks
        that answered question 1 get exactly their quota of satisfied customers: the share
        times their number, rounded up for a station meant to pass (at least
        :data:`PROBATION_LINE`) and down for one meant to fail, spread at random among them.
        """
        since = self.now - SCORE_WINDOW
        groups: dict[tuple[str, bool], list[CallbackSpec]] = {}
        for callback in self.data.callbacks:
            if callback.answers and id(callback) not in self.fixed:
                groups.setdefault(
                    (callback.station_code or "", callback.answered_at > since), []
                ).append(callback)
        satisfied: dict[int, bool] = {}
        for key in sorted(groups):
            quality = self.data.station_quality.get(key[0], GOOD_QUALITY[1])
            rated = [c for c in groups[key] if any(a.question == "overall" for a in c.answers)]
            exact = quality * len(rated)
            quota = math.ceil(exact) if quality >= PROBATION_LINE else math.floor(exact)
            chosen = set(self.rng.sample(range(len(rated)), quota))
            satisfied.update((id(c), index in chosen) for index, c in enumerate(rated))
            for callback in groups[key]:
                happy = satisfied.get(id(callback))
                values = self._values(happy if happy is not None else self.rng.random() < quality)
                self._record(callback, values)
        for callback in self.data.callbacks:
            if id(callback) in self.fixed:
                self._record(callback, {"overall": 5, "solved": 1, "engineer": 5})

    def _values(self, satisfied: bool) -> dict[str, int]:
        rng = self.rng
        if satisfied:
            overall = 5 if rng.random() < 0.62 else 4
            solved = 1 if rng.random() < 0.97 else 2
            engineer = _weighted(rng, {5: 60, 4: 35, 3: 5})
        else:
            overall = _weighted(rng, {3: 55, 2: 25, 1: 20})
            solved = 1 if rng.random() < (0.75 if overall == 3 else 0.4) else 2
            engineer = min(5, max(1, overall + rng.choice((-1, 0, 0, 1))))
        return {"overall": overall, "solved": solved, "engineer": engineer}

    def _record(self, callback: CallbackSpec, values: dict[str, int]) -> None:
        """The values of ``callback``'s answers, and what
        :func:`servicedesk.callcenter.callbacks.record_answer` does with each: question 1 sets
        ``satisfied``, the answer that calls for it opens the follow-up complaint."""
        given: dict[str, int] = {}
        for attempt in callback.attempts:
            for index, answer in enumerate(attempt.answers):
                value = values[answer.question]
                attempt.answers[index] = AnswerSpec(answer.question, value, answer.at)
                given[answer.question] = value
                if answer.question == "overall":
                    callback.satisfied = value >= SATISFIED_FROM
                if callback.follow_up is None and needs_follow_up(given):
                    callback.follow_up = self._follow_up(callback, dict(given), answer.at)

    def _opt_out(self, callback: CallbackSpec, customer: CustomerSpec, at: datetime) -> None:
        """The customer pressed 9 (see :func:`servicedesk.callcenter.callbacks.opt_out`)."""
        self.data.do_not_call.append(
            DoNotCallSpec(callback.phone_e164, customer.code, "pressed_9", at)
        )
        customer.do_not_call = True
        self.opted_out[customer.code] = at
        self._stop(callback, "opted_out", at)

    def _follow_up(
        self, callback: CallbackSpec, answers: dict[str, int], at: datetime
    ) -> TicketSpec:
        """The follow-up complaint the answers opened; its summary and description name the
        repair's number, so the loader writes them."""
        repair = callback.ticket
        complaint = TicketSpec(
            kind="complaint",
            status="new",
            customer_code=repair.customer_code,
            serial=repair.serial,
            summary="",
            description="",
            damage="none",
            part=None,
            created_at=at,
            created_by=None,
            events=[],
            follow_up_of=repair,
            follow_up_answers=answers,
        )
        complaint.status = self.generator.pick_status("complaint", self.now - at)
        complaint.events = self.generator.events(complaint, callback.language == "en")
        if complaint.status == "closed":
            complaint.closed_at = complaint.events[-1].at
        self.data.follow_ups.append(complaint)
        return complaint
