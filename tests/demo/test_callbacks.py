"""The demo's satisfaction callbacks as plain values: one per closed repair, each telling the
story production would have recorded."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from servicedesk.callcenter.callback_timing import (
    first_call_at,
    is_calling_time,
    next_calling_instant,
)
from servicedesk.callcenter.survey import needs_follow_up
from servicedesk.demo.callbacks import (
    BAD_QUALITY,
    GOOD_QUALITY,
    MIDDLING_QUALITY,
    MIDDLING_STATIONS,
    NOT_YET,
    POLICY,
    WEAK_QUALITY,
    WEAK_STATIONS,
    number_to_call,
)
from servicedesk.demo.generate import build_demo_data
from servicedesk.demo.showcase import (
    SHOWCASE_CUSTOMER_CODES,
    SHOWCASE_LAPTOP_SERIAL,
    SHOWCASE_STATION_CODE,
)
from servicedesk.demo.specs import ContactSpec, CustomerSpec, PhoneSpec
from servicedesk.stations.regions import read_default_regions

NOW = datetime(2026, 11, 20, 2, 30, tzinfo=UTC)
UNANSWERED = {"no_answer", "busy", "machine", "completed"}
WINDOW = timedelta(days=90)


def build(seed=2026, scale=0.3, now=NOW):
    return build_demo_data(seed=seed, scale=scale, now=now, regions=read_default_regions())


@pytest.fixture(scope="module")
def data():
    return build()


def answers_of(callback) -> dict[str, int]:
    return {answer.question: answer.value for answer in callback.answers}


def test_every_closed_repair_has_exactly_one_callback(data):
    closed = [t for t in data.tickets if t.kind == "repair" and t.status == "closed"]
    assert sorted(id(c.ticket) for c in data.callbacks) == sorted(id(t) for t in closed)
    customers = {c.code: c for c in data.customers}
    for callback in data.callbacks:
        repair = callback.ticket
        assert (callback.customer_code, callback.station_code) == (
            repair.customer_code,
            repair.station_code,
        )
        assert callback.created_at == repair.closed_at
        assert callback.language == customers[callback.customer_code].language
        assert callback.phone_e164 == number_to_call(customers[callback.customer_code])


def test_every_status_occurs(data):
    statuses = Counter(c.status for c in data.callbacks)
    assert set(statuses) == {"completed", "scheduled", "exhausted", "stopped"}
    assert statuses["completed"] > 0.7 * len(data.callbacks)
    assert {c.stop_reason for c in data.callbacks if c.status == "stopped"} == {
        "do_not_call",
        "opted_out",
    }
    attempts = Counter(len(c.attempts) for c in data.callbacks if c.status == "completed")
    assert set(attempts) == {1, 2, 3}


def test_attempts_follow_the_calling_rules(data):
    for callback in data.callbacks:
        assert len(callback.attempts) <= callback.max_attempts == 3
        due = first_call_at(callback.created_at, callback.timezone, POLICY)
        for attempt in callback.attempts:
            assert attempt.number == callback.attempts.index(attempt) + 1
            assert due <= attempt.claimed_at <= due + timedelta(minutes=1)
            assert attempt.claimed_at <= attempt.placed_at <= attempt.ended_at <= NOW
            assert len(attempt.token) == 24
            assert attempt.call_sid.startswith("CA") and len(attempt.call_sid) == 34
            due = next_calling_instant(
                attempt.ended_at + POLICY.retry_gap, callback.timezone, POLICY.hours
            )
        for attempt in callback.attempts[:-1]:
            assert attempt.status in UNANSWERED and not attempt.answers
        if callback.status == "scheduled":
            assert callback.due_at == due and is_calling_time(
                callback.due_at, callback.timezone, POLICY.hours
            )
            assert callback.due_at > NOW - NOT_YET - timedelta(minutes=1)
            assert len(callback.attempts) < 3 and callback.finished_at is None
        else:
            assert callback.due_at is None and callback.finished_at is not None
    tokens = [a.token for c in data.callbacks for a in c.attempts]
    assert len(set(tokens)) == len(tokens)


def test_answers_are_consistent_with_the_statuses(data):
    partial = 0
    for callback in data.callbacks:
        answers = answers_of(callback)
        last = callback.attempts[-1] if callback.attempts else None
        if callback.status == "completed":
            assert answers and last.status == "completed" and last.answered_by == "human"
            assert all(a.answers == [] for a in callback.attempts[:-1])
            assert callback.answered_at == min(a.at for a in callback.answers)
            assert callback.finished_at == callback.answered_at
            partial += len(answers) < 3
        elif callback.status == "exhausted":
            assert len(callback.attempts) == 3 and not answers
            assert {a.status for a in callback.attempts} <= UNANSWERED
            assert callback.finished_at == last.ended_at
        elif callback.status == "scheduled":
            assert not answers
        if answers:
            assert set(answers) <= {"overall", "solved", "engineer"}
            assert answers.get("solved", 1) in (1, 2)
            assert all(1 <= answers[q] <= 5 for q in ("overall", "engineer") if q in answers)
            assert last.answered_at <= min(a.at for a in callback.answers)
            assert max(a.at for a in callback.answers) <= last.ended_at
        overall = answers.get("overall")
        assert callback.satisfied == (None if overall is None else overall >= 4)
    assert partial > 5


def test_opting_out_stops_the_customers_callbacks_for_good(data):
    customers = {c.code: c for c in data.customers}
    opted = {entry.customer_code: entry for entry in data.do_not_call}
    assert opted
    assert len({entry.e164 for entry in data.do_not_call}) == len(data.do_not_call)
    for callback in data.callbacks:
        if callback.stop_reason == "opted_out":
            entry = opted[callback.customer_code]
            assert (entry.e164, entry.reason) == (callback.phone_e164, "pressed_9")
            assert callback.attempts[-1].survey_state["opted_out"] is True
            assert callback.finished_at == entry.added_at
            assert customers[callback.customer_code].do_not_call
        entry = opted.get(callback.customer_code)
        if entry is not None and callback.attempts:
            later = [a for a in callback.attempts if a.claimed_at > entry.added_at]
            assert not later
        if callback.stop_reason == "do_not_call":
            assert customers[callback.customer_code].do_not_call
    assert not any(customers[code].do_not_call for code in SHOWCASE_CUSTOMER_CODES)


def test_unhappy_answers_open_a_linked_follow_up_complaint(data):
    follow_ups = [c for c in data.callbacks if c.follow_up is not None]
    assert follow_ups
    assert sorted(id(c.follow_up) for c in follow_ups) == sorted(id(t) for t in data.follow_ups)
    for callback in data.callbacks:
        answers = answers_of(callback)
        assert (callback.follow_up is not None) == needs_follow_up(answers)
        complaint = callback.follow_up
        if complaint is None:
            continue
        assert complaint.kind == "complaint" and complaint.station_code is None
        assert complaint.follow_up_of is callback.ticket
        assert complaint.customer_code == callback.customer_code
        assert complaint.serial == callback.ticket.serial
        assert complaint.created_by is None and complaint.events[0].actor is None
        assert complaint.created_at in {a.at for a in callback.answers}
        assert complaint.follow_up_answers.items() <= answers.items()
        assert needs_follow_up(complaint.follow_up_answers)
        assert complaint.events[-1].to_status == complaint.status
    assert any(c.follow_up.is_open for c in follow_ups)
    assert any(c.follow_up.status == "closed" for c in follow_ups)


def test_repairs_closed_in_the_last_day_wait_for_their_callback(data):
    recent = [c for c in data.callbacks if c.created_at > NOW - timedelta(hours=24)]
    assert recent
    for callback in recent:
        assert (callback.status, callback.attempts) in (("scheduled", []), ("stopped", []))
    laptop = next(c for c in data.callbacks if c.ticket.serial == SHOWCASE_LAPTOP_SERIAL)
    assert laptop in recent and laptop.status == "scheduled"
    assert laptop.due_at > NOW


def test_station_quality_has_a_few_bad_stations(data):
    quality = data.station_quality
    assert set(quality) == {s.code for s in data.stations}
    bad = [code for code, share in quality.items() if BAD_QUALITY[0] <= share <= BAD_QUALITY[1]]
    weak = [code for code, share in quality.items() if WEAK_QUALITY[0] <= share <= WEAK_QUALITY[1]]
    middling = [
        code for code, share in quality.items() if MIDDLING_QUALITY[0] <= share < GOOD_QUALITY[0]
    ]
    assert len(bad) == 1 and len(weak) == WEAK_STATIONS and len(middling) == MIDDLING_STATIONS
    good = set(quality) - set(bad) - set(weak) - set(middling)
    assert all(GOOD_QUALITY[0] <= quality[code] <= GOOD_QUALITY[1] for code in good)
    assert GOOD_QUALITY[0] <= quality[SHOWCASE_STATION_CODE] <= GOOD_QUALITY[1]
    assert all(s.status == "active" for s in data.stations)


def test_satisfaction_in_the_window_follows_each_stations_quality(data):
    answered, satisfied = Counter(), Counter()
    for callback in data.callbacks:
        answers = answers_of(callback)
        if "overall" in answers and callback.answered_at > NOW - WINDOW:
            answered[callback.station_code] += 1
            satisfied[callback.station_code] += answers["overall"] >= 4
    scored = [code for code, count in answered.items() if count >= 20]
    assert len(scored) >= len(data.stations) // 2
    for code in scored:
        rate = satisfied[code] / answered[code]
        quality = data.station_quality[code]
        if quality >= 0.85:
            assert quality <= rate < quality + 1 / answered[code], code
        else:
            assert quality - 1 / answered[code] < rate <= quality, code
    below = [code for code in scored if satisfied[code] / answered[code] < 0.85]
    assert 1 <= len(below) <= WEAK_STATIONS + 1
    assert all(data.station_quality[code] < 0.85 for code in below)


def test_showcase_callbacks_are_fixed_whatever_the_seed():
    def showcase(data):
        return [
            (c.ticket.serial, c.status, [a.status for a in c.attempts], answers_of(c))
            for c in data.callbacks
            if c.customer_code in SHOWCASE_CUSTOMER_CODES
        ]

    first = showcase(build(seed=1, scale=0.02))
    assert first == showcase(build(seed=2, scale=0.03))
    assert {status for _serial, status, _attempts, _answers in first} == {
        "completed",
        "scheduled",
    }
    for serial, status, attempts, answers in first:
        if status == "scheduled":
            assert (serial, attempts, answers) == (SHOWCASE_LAPTOP_SERIAL, [], {})
        else:
            assert attempts == ["completed"]
            assert answers == {"overall": 5, "solved": 1, "engineer": 5}


def test_the_same_seed_gives_the_same_callbacks():
    def fingerprint(data):
        return [
            (c.ticket.created_at, c.status, c.due_at, [(a.token, a.status) for a in c.attempts])
            for c in data.callbacks
        ]

    assert fingerprint(build(seed=4, scale=0.05)) == fingerprint(build(seed=4, scale=0.05))


def test_number_to_call_prefers_the_primary_contacts_mobile():
    def customer(*contacts):
        return CustomerSpec("X", "X", "B", "北京", "北京", "", "zh", contacts=list(contacts))

    landline = PhoneSpec("010-62751234", "+861062751234")
    with_extension = PhoneSpec("010-62751235 ext 8", "+861062751235", "8")
    mobile = PhoneSpec("13800138000", "+8613800138000")
    other_mobile = PhoneSpec("13900139000", "+8613900139000")
    assert number_to_call(customer()) is None
    assert (
        number_to_call(
            customer(
                ContactSpec("b", "", False, [other_mobile]),
                ContactSpec("a", "", True, [landline, mobile]),
            )
        )
        == mobile.e164
    )
    assert (
        number_to_call(
            customer(
                ContactSpec("a", "", True, [with_extension]),
                ContactSpec("b", "", False, [other_mobile]),
            )
        )
        == other_mobile.e164
    )
    assert (
        number_to_call(customer(ContactSpec("a", "", True, [with_extension, landline])))
        == landline.e164
    )
