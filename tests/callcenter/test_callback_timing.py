"""Table and property tests for callback timing: calling hours, holidays, delay and retries."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from servicedesk.callcenter.callback_timing import (
    CallbackPolicy,
    CallingHours,
    first_call_at,
    is_calling_time,
    is_holiday_break,
    next_calling_instant,
    parse_calling_hours,
    retry_at,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEFAULT_HOURS = CallingHours(time(9), time(20))
POLICY = CallbackPolicy(hours=DEFAULT_HOURS)


def sh(text: str) -> datetime:
    """``"2026-02-13 17:00"`` as an aware Shanghai datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def local(instant: datetime, zone: str = "Asia/Shanghai") -> str:
    return instant.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")


# --------------------------------------------------------------------------------------
# SERVICEDESK_CALLING_HOURS
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("09:00-20:00", time(9), time(20)),
        ("9:00-20:00", time(9), time(20)),
        (" 08:30 - 21:15 ", time(8, 30), time(21, 15)),
        ("00:00-23:59", time(0), time(23, 59)),
        ("10:05-10:06", time(10, 5), time(10, 6)),
    ],
)
def test_parse_calling_hours(text, start, end):
    hours = parse_calling_hours(text)
    assert (hours.start, hours.end) == (start, end)
    assert str(hours) == f"{start:%H:%M}-{end:%H:%M}"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "must look like 09:00-20:00"),
        ("9-20", "must look like 09:00-20:00"),
        ("09:00", "must look like 09:00-20:00"),
        ("09:00-20:00-21:00", "must look like 09:00-20:00"),
        ("09.00-20.00", "must look like 09:00-20:00"),
        ("nine to eight", "must look like 09:00-20:00"),
        ("24:00-25:00", "impossible time 24:00"),
        ("09:60-20:00", "impossible time 09:60"),
        ("09:00-24:00", "impossible time 24:00"),
        ("20:00-09:00", "start before it ends"),
        ("09:00-09:00", "start before it ends"),
        (None, "must be text"),
        (900, "must be text"),
    ],
)
def test_bad_calling_hours_are_refused_with_the_setting_named(text, message):
    with pytest.raises(ValueError, match="SERVICEDESK_CALLING_HOURS") as raised:
        parse_calling_hours(text)
    assert message in str(raised.value)


def test_calling_hours_object_checks_its_times():
    with pytest.raises(ValueError, match="start before they end"):
        CallingHours(time(20), time(9))
    with pytest.raises(ValueError, match="naive time"):
        CallingHours(time(9, tzinfo=UTC), time(20))


@pytest.mark.parametrize(
    ("settings_", "message"),
    [
        ({"delay_minutes": "soon"}, "SERVICEDESK_CALLBACK_DELAY_MINUTES"),
        ({"delay_minutes": -5}, "SERVICEDESK_CALLBACK_DELAY_MINUTES must be at least 0"),
        ({"max_attempts": 0}, "SERVICEDESK_CALLBACK_ATTEMPTS must be at least 1"),
        ({"max_attempts": True}, "SERVICEDESK_CALLBACK_ATTEMPTS"),
        ({"retry_gap_minutes": "2h"}, "SERVICEDESK_CALLBACK_RETRY_MINUTES"),
        ({"calling_hours": "late"}, "SERVICEDESK_CALLING_HOURS"),
    ],
)
def test_policy_from_bad_settings(settings_, message):
    with pytest.raises(ValueError, match=message):
        CallbackPolicy.from_settings(**settings_)


def test_policy_from_settings_defaults_and_strings():
    assert CallbackPolicy.from_settings() == POLICY
    policy = CallbackPolicy.from_settings(
        calling_hours="10:00-18:00", delay_minutes="90", max_attempts="5", retry_gap_minutes=30
    )
    assert policy == CallbackPolicy(
        hours=CallingHours(time(10), time(18)),
        delay=timedelta(minutes=90),
        retry_gap=timedelta(minutes=30),
        max_attempts=5,
    )


# --------------------------------------------------------------------------------------
# Holiday breaks (holidays library, China 2025-2027)
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "no_calls"),
    [
        # New Year 2026: Thu 1 (holiday), Fri 2 (substituted), Sat 3 joined; Sun 4 make-up day.
        ("2026-01-01", True),
        ("2026-01-02", True),
        ("2026-01-03", True),
        ("2026-01-04", False),
        ("2025-12-31", False),
        # Spring Festival 2026: off Sun 15 - Mon 23 February; Sat 14 and Sat 28 are make-up days.
        ("2026-02-13", False),
        ("2026-02-14", False),
        ("2026-02-15", True),
        ("2026-02-17", True),
        ("2026-02-21", True),
        ("2026-02-22", True),
        ("2026-02-23", True),
        ("2026-02-24", False),
        ("2026-02-28", False),
        # Labour Day 2026: Fri 1 - Tue 5 May (Sun 3 inside the break).
        ("2026-05-01", True),
        ("2026-05-03", True),
        ("2026-05-05", True),
        ("2026-05-06", False),
        ("2026-05-09", False),
        # Dragon Boat 2026 on Friday 19 June: the weekend after it too, not the one before.
        ("2026-06-13", False),
        ("2026-06-19", True),
        ("2026-06-20", True),
        ("2026-06-21", True),
        ("2026-06-22", False),
        # National Day 2026: Thu 1 - Wed 7 October, the Sunday 4th included.
        ("2026-09-30", False),
        ("2026-10-01", True),
        ("2026-10-04", True),
        ("2026-10-07", True),
        ("2026-10-08", False),
        ("2026-10-10", False),
        # Ordinary days and weekends are calling days.
        ("2026-11-20", False),
        ("2026-11-21", False),
        ("2026-11-22", False),
        ("2025-10-01", True),
        ("2027-01-01", True),
    ],
)
def test_holiday_breaks(day, no_calls):
    assert is_holiday_break(date.fromisoformat(day)) is no_calls


def test_no_holidays_without_a_country():
    assert is_holiday_break(date(2026, 10, 1), None) is False
    with pytest.raises(TypeError):
        is_holiday_break(datetime(2026, 10, 1))


# --------------------------------------------------------------------------------------
# The next calling instant
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("instant", "hours", "expected"),
    [
        # Inside the window: the instant itself.
        ("2026-11-20 10:30", "09:00-20:00", "2026-11-20 10:30"),
        ("2026-11-20 09:00", "09:00-20:00", "2026-11-20 09:00"),
        ("2026-11-20 19:59", "09:00-20:00", "2026-11-20 19:59"),
        # Before the opening: the same day's opening; at or after the closing: tomorrow's.
        ("2026-11-20 07:15", "09:00-20:00", "2026-11-20 09:00"),
        ("2026-11-20 00:00", "09:00-20:00", "2026-11-20 09:00"),
        ("2026-11-20 20:00", "09:00-20:00", "2026-11-21 09:00"),
        ("2026-11-20 23:59", "09:00-20:00", "2026-11-21 09:00"),
        # Weekends are calling days.
        ("2026-11-21 12:00", "09:00-20:00", "2026-11-21 12:00"),
        # Holiday breaks are skipped whole.
        ("2026-09-30 20:30", "09:00-20:00", "2026-10-08 09:00"),
        ("2026-10-04 11:00", "09:00-20:00", "2026-10-08 09:00"),
        ("2026-02-14 21:00", "09:00-20:00", "2026-02-24 09:00"),
        ("2026-02-14 12:00", "09:00-20:00", "2026-02-14 12:00"),
        ("2026-06-18 20:00", "09:00-20:00", "2026-06-22 09:00"),
        ("2025-12-31 19:00", "09:00-20:00", "2025-12-31 19:00"),
        ("2025-12-31 20:00", "09:00-20:00", "2026-01-04 09:00"),
        # Other hours.
        ("2026-11-20 17:59", "10:00-18:00", "2026-11-20 17:59"),
        ("2026-11-20 18:00", "10:00-18:00", "2026-11-21 10:00"),
        ("2026-11-20 08:00", "08:30-08:45", "2026-11-20 08:30"),
        ("2026-11-20 08:45", "08:30-08:45", "2026-11-21 08:30"),
    ],
)
def test_next_calling_instant_shanghai(instant, hours, expected):
    result = next_calling_instant(sh(instant), "Asia/Shanghai", parse_calling_hours(hours))
    assert result.tzinfo is UTC
    assert local(result) == expected


@pytest.mark.parametrize(
    ("instant_utc", "zone", "expected_local"),
    [
        # 03:00 UTC is 11:00 in Shanghai but 20:00 (closed) the day before in Los Angeles.
        ("2026-11-20T03:00:00+00:00", "Asia/Shanghai", "2026-11-20 11:00"),
        ("2026-11-20T04:00:00+00:00", "America/Los_Angeles", "2026-11-20 09:00"),
        ("2026-11-20T02:00:00+00:00", "Asia/Urumqi", "2026-11-20 09:00"),
        # Berlin around the switch to summer time (29 March 2026), no Chinese holiday involved.
        ("2026-03-28T19:30:00+00:00", "Europe/Berlin", "2026-03-29 09:00"),
        ("2026-03-29T07:00:00+00:00", "Europe/Berlin", "2026-03-29 09:00"),
    ],
)
def test_next_calling_instant_in_other_zones(instant_utc, zone, expected_local):
    result = next_calling_instant(datetime.fromisoformat(instant_utc), zone, DEFAULT_HOURS)
    assert local(result, zone) == expected_local


def test_the_customers_zone_decides_the_holiday():
    # 1 October 00:30 in Shanghai is still 30 September in Los Angeles, a calling day there.
    instant = sh("2026-10-01 00:30")
    la = next_calling_instant(instant, "America/Los_Angeles", CallingHours(time(9), time(20)))
    assert local(la, "America/Los_Angeles") == "2026-09-30 09:30"


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        ("2026-11-20 08:59", False),
        ("2026-11-20 09:00", True),
        ("2026-11-20 19:59", True),
        ("2026-11-20 20:00", False),
        ("2026-10-02 12:00", False),
        ("2026-11-22 12:00", True),
    ],
)
def test_is_calling_time(instant, expected):
    assert is_calling_time(sh(instant), "Asia/Shanghai", DEFAULT_HOURS) is expected


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda: next_calling_instant(datetime(2026, 1, 1), "Asia/Shanghai", DEFAULT_HOURS),
         ValueError),
        (lambda: next_calling_instant("2026-01-01", "Asia/Shanghai", DEFAULT_HOURS), TypeError),
        (lambda: next_calling_instant(sh("2026-01-01 10:00"), "Mars/Base", DEFAULT_HOURS),
         ValueError),
        (lambda: next_calling_instant(sh("2026-01-01 10:00"), "", DEFAULT_HOURS), ValueError),
        (lambda: retry_at(sh("2026-01-05 10:00"), 0, "Asia/Shanghai", POLICY), ValueError),
        (lambda: CallbackPolicy(hours=DEFAULT_HOURS, max_attempts=0), ValueError),
        (lambda: CallbackPolicy(hours=DEFAULT_HOURS, delay=timedelta(-1)), ValueError),
        (lambda: CallbackPolicy(hours="09:00-20:00"), TypeError),
    ],
)  # fmt: skip
def test_bad_arguments(call, error):
    with pytest.raises(error):
        call()


# --------------------------------------------------------------------------------------
# First call and retries
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("closed_at", "delay_minutes", "expected"),
    [
        # The default: 24 hours later, when that is calling time.
        ("2026-11-19 10:30", 1440, "2026-11-20 10:30"),
        # Closed late in the evening: 24 hours later is after 20:00, so the next morning.
        ("2026-11-19 21:00", 1440, "2026-11-21 09:00"),
        ("2026-11-19 19:59", 1440, "2026-11-20 19:59"),
        ("2026-11-19 20:00", 1440, "2026-11-21 09:00"),
        ("2026-11-19 06:00", 1440, "2026-11-20 09:00"),
        # Into National Day: the first calling day after it.
        ("2026-09-30 10:00", 1440, "2026-10-08 09:00"),
        ("2026-09-29 10:00", 1440, "2026-09-30 10:00"),
        # Short delays.
        ("2026-11-20 10:00", 0, "2026-11-20 10:00"),
        ("2026-11-20 10:00", 30, "2026-11-20 10:30"),
        ("2026-11-20 19:45", 30, "2026-11-21 09:00"),
        # Long delays.
        ("2026-11-20 10:00", 4320, "2026-11-23 10:00"),
        ("2026-02-10 15:00", 7200, "2026-02-24 09:00"),
    ],
)
def test_first_call_at(closed_at, delay_minutes, expected):
    policy = CallbackPolicy(hours=DEFAULT_HOURS, delay=timedelta(minutes=delay_minutes))
    assert local(first_call_at(sh(closed_at), "Asia/Shanghai", policy)) == expected


@pytest.mark.parametrize(
    ("ended_at", "attempts_made", "max_attempts", "expected"),
    [
        ("2026-11-20 10:00", 1, 3, "2026-11-20 12:00"),
        ("2026-11-20 12:00", 2, 3, "2026-11-20 14:00"),
        ("2026-11-20 14:00", 3, 3, None),
        ("2026-11-20 14:00", 4, 3, None),
        ("2026-11-20 17:59", 1, 3, "2026-11-20 19:59"),
        ("2026-11-20 18:00", 1, 3, "2026-11-21 09:00"),
        ("2026-11-20 19:30", 2, 3, "2026-11-21 09:00"),
        ("2026-09-30 19:00", 1, 3, "2026-10-08 09:00"),
        ("2026-11-20 10:00", 1, 1, None),
        ("2026-11-20 10:00", 4, 5, "2026-11-20 12:00"),
    ],
)
def test_retry_at(ended_at, attempts_made, max_attempts, expected):
    policy = CallbackPolicy(hours=DEFAULT_HOURS, max_attempts=max_attempts)
    result = retry_at(sh(ended_at), attempts_made, "Asia/Shanghai", policy)
    assert (local(result) if result else None) == expected


def test_retry_gap_is_configurable():
    policy = CallbackPolicy(hours=DEFAULT_HOURS, retry_gap=timedelta(minutes=45))
    assert local(retry_at(sh("2026-11-20 10:00"), 1, "Asia/Shanghai", policy)) == (
        "2026-11-20 10:45"
    )


# --------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------

ZONES = ["Asia/Shanghai", "Asia/Urumqi", "Asia/Hong_Kong", "Europe/Berlin", "America/New_York"]
instants = st.datetimes(
    min_value=datetime(2024, 6, 1), max_value=datetime(2027, 6, 30), timezones=st.just(UTC)
)
minutes_of_day = st.integers(min_value=5 * 60, max_value=23 * 60 + 58)


@st.composite
def calling_hours(draw) -> CallingHours:
    """Windows from 05:00 (after every daylight-saving switch of the zones above) onwards."""
    start = draw(minutes_of_day)
    end = draw(st.integers(min_value=start + 1, max_value=23 * 60 + 59))
    return CallingHours(time(*divmod(start, 60)), time(*divmod(end, 60)))


@settings(max_examples=300, deadline=None)
@given(instant=instants, zone=st.sampled_from(ZONES), hours=calling_hours())
def test_next_calling_instant_properties(instant, zone, hours):
    result = next_calling_instant(instant, zone, hours)
    wall = result.astimezone(ZoneInfo(zone))
    # Never before the earliest allowed instant, always inside a window, never on a holiday.
    assert result >= instant
    assert hours.start <= wall.time().replace(tzinfo=None) < hours.end
    assert not is_holiday_break(wall.date())
    assert is_calling_time(result, zone, hours)
    # The earliest such instant: idempotent, and nothing earlier is calling time.
    assert next_calling_instant(result, zone, hours) == result
    if result > instant:
        assert not is_calling_time(instant, zone, hours)
        assert wall.time().replace(tzinfo=None) == hours.start
        assert not is_calling_time(result - timedelta(microseconds=1), zone, hours)


@settings(max_examples=200, deadline=None)
@given(
    closed_at=instants,
    zone=st.sampled_from(ZONES),
    hours=calling_hours(),
    delay=st.integers(min_value=0, max_value=10 * 1440),
    attempts=st.integers(min_value=1, max_value=6),
)
def test_first_call_and_retries_properties(closed_at, zone, hours, delay, attempts):
    policy = CallbackPolicy(hours=hours, delay=timedelta(minutes=delay), max_attempts=4)
    first = first_call_at(closed_at, zone, policy)
    assert first >= closed_at + policy.delay
    assert is_calling_time(first, zone, hours)
    retry = retry_at(first, attempts, zone, policy)
    if attempts >= policy.max_attempts:
        assert retry is None
    else:
        assert retry >= first + policy.retry_gap
        assert is_calling_time(retry, zone, hours)
        assert not is_holiday_break(retry.astimezone(ZoneInfo(zone)).date())
