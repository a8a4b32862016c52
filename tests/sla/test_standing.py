"""Where a clock stands: state, colour, live due time and remaining time (pure code)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from servicedesk.sla.calendar import BusinessCalendar, TwentyFourSeven
from servicedesk.sla.clock import Pause, adjusted_due, elapsed_fraction
from servicedesk.sla.standing import (
    API_STATUSES,
    STATES,
    ClockFacts,
    api_status,
    clock_state,
    standing,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
H = timedelta(hours=1)
ALWAYS = TwentyFourSeven("Asia/Shanghai")
BUSINESS = BusinessCalendar("Asia/Shanghai")
START = datetime(2026, 11, 20, 10, 0, tzinfo=SHANGHAI)  # Friday 10:00


def facts(due=START + 4 * H, **fields) -> ClockFacts:
    values = {
        "target": "respond",
        "clock": "24x7",
        "timezone": "Asia/Shanghai",
        "started_at": START,
        "original_due_at": due,
        "due_at": due,
    }
    values.update(fields)
    return ClockFacts(**values)


@pytest.mark.parametrize(
    ("fields", "now", "state"),
    [
        ({}, START + H, "running"),
        ({}, START + 4 * H, "running"),  # due times are inclusive
        ({}, START + 4 * H + timedelta(seconds=1), "breached"),
        ({"met_at": START + 4 * H}, START + 9 * H, "met"),
        ({"met_at": START + 5 * H}, START + 9 * H, "late"),
        ({"stopped_at": START + H}, START + 9 * H, "stopped"),
        ({"paused_since": START + H}, START + 9 * H, "paused"),
        ({"paused_since": START + 4 * H}, START + 9 * H, "breached"),
    ],
)
def test_clock_state(fields, now, state):
    clock = facts(**fields)
    assert (
        clock_state(
            clock.due_at,
            now,
            met_at=clock.met_at,
            paused_since=clock.paused_since,
            stopped_at=clock.stopped_at,
        )
        == state
    )


def test_api_status_reports_late_as_breached():
    assert [api_status(state) for state in STATES] == [
        "met", "breached", "breached", "running", "paused", "stopped",
    ]  # fmt: skip
    assert set(map(api_status, STATES)) == set(API_STATUSES)
    with pytest.raises(ValueError):
        api_status("lost")


@pytest.mark.parametrize(
    ("now", "colour", "remaining"),
    [
        (START + H, "ok", 3 * H),
        (START + 2.99 * H, "ok", 1.01 * H),
        (START + 3 * H, "at-risk", H),
        (START + 4 * H, "at-risk", timedelta(0)),
        (START + 5 * H, "breached", -H),
    ],
)
def test_colour_follows_the_share_of_time_used(now, colour, remaining):
    result = standing(facts(), [], ALWAYS, now)
    assert (result.colour, result.remaining) == (colour, remaining)
    assert result.overdue == (-remaining if remaining < timedelta(0) else None)


def test_business_clock_colours_count_working_time_only():
    """Respond in 4 business hours from Friday 16:00 is due Monday 11:00; on Saturday the
    clock has used two hours (50 %), Monday 10:00 three (75 %)."""
    clock = facts(
        clock="business",
        started_at=START.replace(hour=16),
        due=datetime(2026, 11, 23, 11, 0, tzinfo=SHANGHAI),
    )
    saturday = standing(clock, [], BUSINESS, datetime(2026, 11, 21, 12, 0, tzinfo=SHANGHAI))
    assert saturday.colour == "ok" and saturday.elapsed == pytest.approx(0.5)
    monday = standing(clock, [], BUSINESS, datetime(2026, 11, 23, 10, 0, tzinfo=SHANGHAI))
    assert monday.colour == "at-risk" and monday.remaining == H


def test_paused_clock_due_time_moves_out_while_waiting():
    pause = Pause(START + 2 * H)
    clock = facts(paused_since=START + 2 * H)
    result = standing(clock, [pause], ALWAYS, START + 7 * H)
    assert result.state == "paused" and result.colour == "ok"
    assert result.due_at == START + 9 * H  # four hours plus the five paused
    assert result.elapsed == pytest.approx(0.5)


def test_clock_paused_after_its_warning_stays_at_risk_and_after_its_due_time_breached():
    at_risk = standing(
        facts(paused_since=START + 3.5 * H), [Pause(START + 3.5 * H)], ALWAYS, START + 9 * H
    )
    assert (at_risk.state, at_risk.colour) == ("paused", "at-risk")
    breached = standing(
        facts(paused_since=START + 5 * H), [Pause(START + 5 * H)], ALWAYS, START + 9 * H
    )
    assert (breached.state, breached.colour) == ("breached", "breached")
    assert breached.due_at == START + 4 * H and breached.overdue == 5 * H


@pytest.mark.parametrize(
    ("fields", "state", "colour"),
    [
        ({"met_at": START + H}, "met", "ok"),
        ({"met_at": START + 5 * H}, "late", "breached"),
        ({"stopped_at": START + H}, "stopped", "stopped"),
        ({"stopped_at": START + 5 * H}, "stopped", "breached"),
    ],
)
def test_settled_clocks_have_no_remaining_time(fields, state, colour):
    result = standing(facts(**fields), [], ALWAYS, START + 9 * H)
    assert (result.state, result.colour) == (state, colour)
    assert result.remaining is None and result.elapsed is None and not result.open


@given(
    minutes=st.integers(min_value=0, max_value=10 * 60),
    pause_start=st.integers(min_value=0, max_value=8 * 60),
    pause_length=st.integers(min_value=1, max_value=6 * 60),
)
def test_colour_agrees_with_the_share_of_time_used(minutes, pause_start, pause_length):
    """On the 24x7 clock, with one wait on the customer stored as the services store it (an
    ended wait pushed the due time out; an ongoing one marks the clock paused)."""
    now = START + timedelta(minutes=minutes)
    began = START + timedelta(minutes=pause_start)
    ended = began + timedelta(minutes=pause_length)
    original = START + 4 * H
    if began >= now:
        clock, pauses = facts(), []
    elif ended > now:
        clock, pauses = facts(paused_since=began), [Pause(began)]
    else:
        pauses = [Pause(began, ended)]
        pushed = adjusted_due(original, pauses, ALWAYS, ended, clock_start=START)
        clock = facts(due_at=pushed, original_due_at=original)
    result = standing(clock, pauses, ALWAYS, now)
    used = elapsed_fraction(START, original, pauses, ALWAYS, now)
    if result.state == "breached":
        assert result.colour == "breached" and used > 1
    else:
        assert used <= 1
        assert result.colour == ("at-risk" if used >= 0.75 else "ok")
