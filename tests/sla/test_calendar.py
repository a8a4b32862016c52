"""Table and property tests for business calendars (Chinese holidays and make-up days)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from servicedesk.sla.calendar import (
    ALWAYS,
    DEFAULT_CALENDAR,
    BusinessCalendar,
    Calendar,
    TwentyFourSeven,
    holidays_in,
    make_up_working_days_in,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN_ZONE = ZoneInfo("Europe/Berlin")
CN = DEFAULT_CALENDAR
BERLIN = BusinessCalendar(timezone="Europe/Berlin", country="DE")
BERLIN_ALWAYS = TwentyFourSeven(timezone="Europe/Berlin")
#: An unusual calendar: six short days a week, no holidays, a DST zone.
SHORT_DAYS = BusinessCalendar(
    timezone="America/New_York",
    start=time(8, 30),
    end=time(12, 15),
    weekdays=frozenset(range(6)),
    country=None,
)
CALENDARS = {"cn": CN, "berlin": BERLIN, "always": ALWAYS, "short_days": SHORT_DAYS}

D = date.fromisoformat
H = timedelta(hours=1)
M = timedelta(minutes=1)


def sh(text: str) -> datetime:
    """``"2026-02-13 17:00"`` as an aware Shanghai datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def iso(text: str) -> str:
    """The ISO form of a Shanghai wall time, as the default calendars return it."""
    return sh(text).isoformat()


# --------------------------------------------------------------------------------------
# Working days: holidays and make-up days from the holidays library, 2024–2027
# --------------------------------------------------------------------------------------

WORKING_DAYS = [
    # Spring Festival 2026: off Sun 15 – Mon 23 February, make-up Sat 14 and Sat 28.
    ("2026-02-13", True),
    ("2026-02-14", True),
    ("2026-02-15", False),
    ("2026-02-16", False),
    ("2026-02-17", False),
    ("2026-02-18", False),
    ("2026-02-19", False),
    ("2026-02-20", False),
    ("2026-02-21", False),
    ("2026-02-22", False),
    ("2026-02-23", False),
    ("2026-02-24", True),
    ("2026-02-28", True),
    ("2026-03-01", False),
    # National Day 2026: off 1–7 October, make-up Sun 20 September and Sat 10 October;
    # Mid-Autumn Festival on Fri 25 September.
    ("2026-09-19", False),
    ("2026-09-20", True),
    ("2026-09-25", False),
    ("2026-09-30", True),
    ("2026-10-01", False),
    ("2026-10-02", False),
    ("2026-10-03", False),
    ("2026-10-04", False),
    ("2026-10-05", False),
    ("2026-10-06", False),
    ("2026-10-07", False),
    ("2026-10-08", True),
    ("2026-10-10", True),
    ("2026-10-11", False),
    # New Year 2026: Thu 1 and Fri 2 off, make-up Sun 4 January.
    ("2025-12-31", True),
    ("2026-01-01", False),
    ("2026-01-02", False),
    ("2026-01-03", False),
    ("2026-01-04", True),
    ("2026-01-05", True),
    # Spring Festival 2025: off 28 January – 4 February, make-up Sun 26 Jan and Sat 8 Feb.
    ("2025-01-26", True),
    ("2025-01-27", True),
    ("2025-01-28", False),
    ("2025-02-03", False),
    ("2025-02-04", False),
    ("2025-02-05", True),
    ("2025-02-08", True),
    # National Day 2025: off 1–8 October, make-up Sun 28 Sep and Sat 11 Oct.
    ("2025-09-28", True),
    ("2025-10-06", False),
    ("2025-10-08", False),
    ("2025-10-09", True),
    ("2025-10-11", True),
    # Spring Festival 2024: off 10–17 February, make-up Sun 4 and Sun 18 February.
    ("2024-02-04", True),
    ("2024-02-09", True),
    ("2024-02-10", False),
    ("2024-02-16", False),
    ("2024-02-18", True),
    # National Day 2024: off 1–7 October, make-up Sun 29 Sep and Sat 12 Oct.
    ("2024-09-29", True),
    ("2024-10-04", False),
    ("2024-10-07", False),
    ("2024-10-08", True),
    ("2024-10-12", True),
    # 2027 (make-up days not yet announced): the statutory days themselves.
    ("2027-02-08", False),
    ("2027-10-01", False),
    ("2027-01-01", False),
    # An ordinary week.
    ("2026-11-16", True),
    ("2026-11-20", True),
    ("2026-11-21", False),
    ("2026-11-22", False),
]


@pytest.mark.parametrize(("day", "working"), WORKING_DAYS)
def test_working_days_follow_chinese_holidays_and_make_up_days(day, working):
    assert CN.is_working_day(D(day)) is working
    assert ALWAYS.is_working_day(D(day)) is True


@pytest.mark.parametrize(("day", "working"), WORKING_DAYS)
def test_working_days_agree_with_the_holidays_library(day, working):
    assert holidays.China(years=D(day).year).is_working_day(D(day)) is working


def test_make_up_days_and_holidays_per_year():
    assert make_up_working_days_in("CN", 2026) == {
        D("2026-01-04"),
        D("2026-02-14"),
        D("2026-02-28"),
        D("2026-05-09"),
        D("2026-09-20"),
        D("2026-10-10"),
    }
    assert D("2026-02-23") in holidays_in("CN", 2026)
    assert all(day.year == 2026 for day in holidays_in("CN", 2026))
    # New Year 2002 was bridged with the last weekend of 2001.
    assert {D("2001-12-29"), D("2001-12-30")} <= make_up_working_days_in("CN", 2001)
    assert not CN.is_working_day(D("2026-10-05"))


def test_country_none_and_other_weekdays():
    saturdays_too = BusinessCalendar(weekdays=frozenset(range(6)), country=None)
    assert saturdays_too.is_working_day(D("2026-11-21"))
    assert saturdays_too.is_working_day(D("2026-10-01"))
    assert not saturdays_too.is_working_day(D("2026-11-22"))
    assert BERLIN.is_working_day(D("2026-10-01"))
    assert not BERLIN.is_working_day(D("2026-10-03"))
    assert not BERLIN.is_working_day(D("2026-04-03"))


# --------------------------------------------------------------------------------------
# Working time, opening, adding and measuring
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("instant", "working"),
    [
        ("2026-11-16 09:00", True),
        ("2026-11-16 08:59:59.999999", False),
        ("2026-11-16 17:59:59.999999", True),
        ("2026-11-16 18:00", False),
        ("2026-11-16 12:00", True),
        ("2026-11-21 10:00", False),
        ("2026-02-14 10:00", True),
        ("2026-02-17 10:00", False),
        ("2026-09-20 17:00", True),
        ("2026-10-05 10:00", False),
    ],
)
def test_is_working_time(instant, working):
    assert CN.is_working_time(sh(instant)) is working
    assert CN.is_working_time(sh(instant).astimezone(UTC)) is working
    assert ALWAYS.is_working_time(sh(instant))


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        ("2026-11-16 09:00", "2026-11-16 09:00"),
        ("2026-11-16 10:15", "2026-11-16 10:15"),
        ("2026-11-16 08:59", "2026-11-16 09:00"),
        ("2026-11-16 00:00", "2026-11-16 09:00"),
        ("2026-11-16 18:00", "2026-11-17 09:00"),
        ("2026-11-20 18:00", "2026-11-23 09:00"),
        ("2026-11-21 11:00", "2026-11-23 09:00"),
        ("2026-02-13 18:00", "2026-02-14 09:00"),
        ("2026-02-14 18:00", "2026-02-24 09:00"),
        ("2026-09-19 10:00", "2026-09-20 09:00"),
        ("2026-09-30 18:30", "2026-10-08 09:00"),
    ],
)
def test_next_opening(instant, expected):
    assert CN.next_opening(sh(instant)).isoformat() == iso(expected)


ADD_CASES = [
    # an ordinary week (Mon 16 – Fri 20 November 2026)
    ("2026-11-16 10:00", 2 * H, "2026-11-16 12:00"),
    ("2026-11-16 09:00", 9 * H, "2026-11-16 18:00"),
    ("2026-11-16 09:00", 9 * H + M, "2026-11-17 09:01"),
    ("2026-11-16 17:00", 2 * H, "2026-11-17 10:00"),
    ("2026-11-16 18:00", 1 * H, "2026-11-17 10:00"),
    ("2026-11-16 08:00", 1 * H, "2026-11-16 10:00"),
    ("2026-11-16 17:30", 30 * M, "2026-11-16 18:00"),
    ("2026-11-16 10:00", 45 * H, "2026-11-23 10:00"),
    ("2026-11-16 10:00", timedelta(0), "2026-11-16 10:00"),
    # Friday evening and the weekend roll to Monday
    ("2026-11-20 17:00", 2 * H, "2026-11-23 10:00"),
    ("2026-11-20 20:00", 2 * H, "2026-11-23 11:00"),
    ("2026-11-21 12:00", 30 * M, "2026-11-23 09:30"),
    ("2026-11-20 18:00", timedelta(0), "2026-11-23 09:00"),
    ("2026-11-20 17:30", 30 * M, "2026-11-20 18:00"),
    # Spring Festival 2026 (make-up Saturdays 14 and 28 February)
    ("2026-02-13 17:00", 2 * H, "2026-02-14 10:00"),
    ("2026-02-14 17:00", 2 * H, "2026-02-24 10:00"),
    ("2026-02-14 18:00", 9 * H, "2026-02-24 18:00"),
    ("2026-02-16 10:00", 1 * H, "2026-02-24 10:00"),
    ("2026-02-27 17:00", 2 * H, "2026-02-28 10:00"),
    ("2026-02-28 17:00", 2 * H, "2026-03-02 10:00"),
    # Mid-Autumn and National Day 2026 (make-up Sun 20 September, Sat 10 October)
    ("2026-09-18 17:00", 2 * H, "2026-09-20 10:00"),
    ("2026-09-24 17:00", 2 * H, "2026-09-28 10:00"),
    ("2026-09-30 17:00", 2 * H, "2026-10-08 10:00"),
    ("2026-10-09 17:00", 2 * H, "2026-10-10 10:00"),
    ("2026-10-01 00:00", 9 * H, "2026-10-08 18:00"),
    # year boundaries: New Year 2026 has a make-up Sunday on 4 January
    ("2025-12-31 17:00", 2 * H, "2026-01-04 10:00"),
    ("2026-12-31 17:00", 2 * H, "2027-01-04 10:00"),
    # Spring Festival 2025 and 2024
    ("2025-01-24 17:00", 2 * H, "2025-01-26 10:00"),
    ("2025-01-27 17:00", 2 * H, "2025-02-05 10:00"),
    ("2024-02-09 17:00", 2 * H, "2024-02-18 10:00"),
    ("2024-09-30 17:00", 2 * H, "2024-10-08 10:00"),
]


@pytest.mark.parametrize(("start", "duration", "expected"), ADD_CASES)
def test_add_business_time(start, duration, expected):
    result = CN.add(sh(start), duration)
    assert result.isoformat() == iso(expected)
    assert CN.add(sh(start).astimezone(UTC), duration).isoformat() == iso(expected)
    assert CN.between(sh(start), result) == duration


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        ("2026-11-16 10:00", "2026-11-16 12:00", 2 * H),
        ("2026-11-16 08:00", "2026-11-16 09:30", 30 * M),
        ("2026-11-16 17:00", "2026-11-16 23:00", 1 * H),
        ("2026-11-16 18:00", "2026-11-17 09:00", timedelta(0)),
        ("2026-11-20 17:00", "2026-11-23 10:00", 2 * H),
        ("2026-11-21 00:00", "2026-11-23 00:00", timedelta(0)),
        ("2026-11-16 12:00", "2026-11-16 10:00", timedelta(0)),
        ("2026-11-16 12:00", "2026-11-16 12:00", timedelta(0)),
        ("2026-11-16 00:00", "2026-11-23 00:00", 45 * H),
        ("2026-02-13 09:00", "2026-02-25 09:00", 27 * H),
        ("2026-02-15 00:00", "2026-02-24 00:00", timedelta(0)),
        ("2026-09-19 00:00", "2026-10-11 00:00", 99 * H),
        ("2025-12-31 00:00", "2026-01-05 00:00", 18 * H),
    ],
)
def test_between(start, end, expected):
    assert CN.between(sh(start), sh(end)) == expected


@pytest.mark.parametrize(
    ("day", "next_day"),
    [
        ("2026-11-16", "2026-11-17"),
        ("2026-11-20", "2026-11-23"),
        ("2026-11-21", "2026-11-23"),
        ("2026-02-13", "2026-02-14"),
        ("2026-02-14", "2026-02-24"),
        ("2026-09-19", "2026-09-20"),
        ("2026-09-30", "2026-10-08"),
        ("2026-10-09", "2026-10-10"),
        ("2025-12-31", "2026-01-04"),
    ],
)
def test_next_business_day(day, next_day):
    assert CN.next_business_day(D(day)) == D(next_day)
    assert ALWAYS.next_business_day(D(day)) == D(day) + timedelta(days=1)


def test_end_of_business_day():
    assert CN.end_of_business_day(D("2026-02-14")).isoformat() == iso("2026-02-14 18:00")
    assert CN.end_of_business_day(D("2026-11-16")).isoformat() == iso("2026-11-16 18:00")
    with pytest.raises(ValueError, match="not a working day"):
        CN.end_of_business_day(D("2026-02-15"))
    assert ALWAYS.end_of_business_day(D("2026-02-15")).isoformat() == iso("2026-02-16 00:00")


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        ("2026-11-16 10:00", 3, "2026-11-19 10:00"),
        ("2026-11-16 10:00", 5, "2026-11-23 10:00"),
        ("2026-11-20 20:00", 3, "2026-11-25 18:00"),
        ("2026-11-16 09:00", 1, "2026-11-16 18:00"),
        ("2026-02-13 10:00", 3, "2026-02-25 10:00"),
        ("2026-09-29 10:00", 3, "2026-10-09 10:00"),
        ("2026-11-16 10:00", 0, "2026-11-16 10:00"),
    ],
)
def test_add_business_days_counts_working_day_lengths(start, days, expected):
    assert CN.add_business_days(sh(start), days).isoformat() == iso(expected)


def test_twenty_four_seven():
    start = sh("2026-02-16 23:00")
    assert ALWAYS.add(start, 4 * H).isoformat() == iso("2026-02-17 03:00")
    assert ALWAYS.between(start, sh("2026-02-17 03:00")) == 4 * H
    assert ALWAYS.between(sh("2026-02-17 03:00"), start) == timedelta(0)
    assert ALWAYS.next_opening(start) == start
    assert ALWAYS.add_business_days(start, 2).isoformat() == iso("2026-02-18 23:00")
    assert ALWAYS.business_day_length == timedelta(days=1)
    assert ALWAYS.clock == "24x7" and CN.clock == "business"


# --------------------------------------------------------------------------------------
# A daylight-saving zone (Europe/Berlin; clocks change on 29 March and 25 October 2026)
# --------------------------------------------------------------------------------------


def berlin(text: str, fold: int = 0) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=BERLIN_ZONE, fold=fold)


@pytest.mark.parametrize(
    ("calendar", "start", "duration", "expected"),
    [
        (BERLIN, "2026-03-27 17:00", 2 * H, "2026-03-30T10:00:00+02:00"),
        (BERLIN, "2026-10-23 17:00", 2 * H, "2026-10-26T10:00:00+01:00"),
        (BERLIN, "2026-04-02 17:00", 2 * H, "2026-04-07T10:00:00+02:00"),
        (BERLIN, "2026-03-29 12:00", 9 * H, "2026-03-30T18:00:00+02:00"),
        (BERLIN_ALWAYS, "2026-03-29 01:00", 2 * H, "2026-03-29T04:00:00+02:00"),
        (BERLIN_ALWAYS, "2026-10-25 01:30", 2 * H, "2026-10-25T02:30:00+01:00"),
        (BERLIN_ALWAYS, "2026-10-24 12:00", 24 * H, "2026-10-25T11:00:00+01:00"),
    ],
)
def test_daylight_saving_zone(calendar, start, duration, expected):
    result = calendar.add(berlin(start), duration)
    assert result.isoformat() == expected
    assert calendar.between(berlin(start), result) == duration


def test_daylight_saving_between_counts_elapsed_time():
    assert BERLIN.between(berlin("2026-03-27 00:00"), berlin("2026-03-31 00:00")) == 18 * H
    assert BERLIN_ALWAYS.between(berlin("2026-03-29 00:00"), berlin("2026-03-30 00:00")) == 23 * H
    assert BERLIN_ALWAYS.between(berlin("2026-10-25 00:00"), berlin("2026-10-26 00:00")) == 25 * H
    repeated = berlin("2026-10-25 02:30", fold=0), berlin("2026-10-25 02:30", fold=1)
    assert BERLIN_ALWAYS.between(*repeated) == H


# --------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------

NAIVE = datetime(2026, 11, 16, 10)


@pytest.mark.parametrize("calendar", [CN, ALWAYS], ids=["business", "24x7"])
@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.is_working_time(NAIVE),
        lambda c: c.next_opening(NAIVE),
        lambda c: c.add(NAIVE, H),
        lambda c: c.between(NAIVE, sh("2026-11-17 10:00")),
        lambda c: c.between(sh("2026-11-15 10:00"), NAIVE),
        lambda c: c.add_business_days(NAIVE, 1),
        lambda c: c.local(NAIVE),
    ],
)
def test_naive_datetimes_are_rejected(calendar, call):
    with pytest.raises(ValueError, match="timezone-aware"):
        call(calendar)


@pytest.mark.parametrize("calendar", [CN, ALWAYS], ids=["business", "24x7"])
def test_negative_amounts_are_rejected(calendar):
    with pytest.raises(ValueError, match="negative"):
        calendar.add(sh("2026-11-16 10:00"), -H)
    with pytest.raises(ValueError, match="negative"):
        calendar.add_business_days(sh("2026-11-16 10:00"), -1)
    with pytest.raises(TypeError):
        calendar.add(sh("2026-11-16 10:00"), 3600)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"timezone": "Mars/Olympus_Mons"},
        {"timezone": ""},
        {"start": time(18), "end": time(9)},
        {"start": time(9), "end": time(9)},
        {"start": time(9, tzinfo=UTC)},
        {"weekdays": frozenset()},
        {"weekdays": frozenset({7})},
        {"country": "XX"},
    ],
)
def test_bad_calendars_are_rejected(kwargs):
    with pytest.raises(ValueError):
        BusinessCalendar(**kwargs)


def test_calendars_are_values():
    assert BusinessCalendar() == CN
    assert hash(BusinessCalendar(weekdays={0, 1, 2, 3, 4})) == hash(CN)
    assert CN.business_day_length == 9 * H
    assert isinstance(CN, Calendar) and isinstance(ALWAYS, Calendar)
    with pytest.raises(AttributeError):
        CN.start = time(8)


# --------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------

FIRST_DAY, LAST_DAY = date(2023, 12, 1), date(2028, 1, 31)
#: Wall-clock times at and right next to the calendars' openings and closings.
EDGE_TIMES = [
    time(0),
    time(8, 30),
    time(8, 59, 59, 999999),
    time(9),
    time(12, 14, 59, 999999),
    time(12, 15),
    time(17, 59, 59, 999999),
    time(18),
    time(23, 59, 59, 999999),
]
MICROSECONDS_PER_DAY = 86_400_000_000
PROPERTY = settings(max_examples=200, deadline=None)

calendars = st.sampled_from(sorted(CALENDARS)).map(CALENDARS.__getitem__)
wall_times = st.one_of(
    st.sampled_from(EDGE_TIMES),
    st.integers(0, MICROSECONDS_PER_DAY - 1).map(
        lambda us: (datetime.min + timedelta(microseconds=us)).time()
    ),
)
durations = st.one_of(
    st.sampled_from([timedelta(0), 30 * M, H, 9 * H, 3 * H + 45 * M, 24 * H, 45 * H]),
    st.integers(0, 120 * 3600 * 10**6).map(lambda us: timedelta(microseconds=us)),
)


@st.composite
def local_instants(draw, zone: ZoneInfo) -> datetime:
    """Instants from December 2023 to January 2028, often at a calendar's edges."""
    day = FIRST_DAY + timedelta(days=draw(st.integers(0, (LAST_DAY - FIRST_DAY).days)))
    wall = datetime.combine(day, draw(wall_times), tzinfo=zone).replace(
        fold=draw(st.sampled_from((0, 1)))
    )
    return wall.astimezone(UTC) if draw(st.booleans()) else wall


INSTANTS = {calendar.zone.key: local_instants(calendar.zone) for calendar in CALENDARS.values()}


@st.composite
def calendar_with(draw, instants: int) -> tuple:
    """A calendar and ``instants`` instants around its own time zone's working hours."""
    calendar = draw(calendars)
    return (calendar, *(draw(INSTANTS[calendar.zone.key]) for _ in range(instants)))


def _at_closing(calendar: Calendar, instant: datetime) -> bool:
    day = calendar.local(instant).date()
    return calendar.is_working_day(day) and instant == calendar.end_of_business_day(day)


@PROPERTY
@given(case=calendar_with(1), duration=durations)
def test_property_measuring_what_was_added_gives_it_back(case, duration):
    calendar, start = case
    due = calendar.add(start, duration)
    assert calendar.between(start, due) == duration
    assert due >= start
    assert due.tzinfo == calendar.zone


@PROPERTY
@given(case=calendar_with(1), duration=durations)
def test_property_due_times_fall_in_working_time_or_at_closing(case, duration):
    calendar, start = case
    due = calendar.add(start, duration)
    if duration:
        assert calendar.is_working_time(due) or _at_closing(calendar, due)
        assert calendar.between(start, due - timedelta(microseconds=1)) < duration
    else:
        assert calendar.is_working_time(due)
        assert due == calendar.next_opening(start)


@PROPERTY
@given(case=calendar_with(1), first=durations, second=durations)
def test_property_adding_is_monotonic_and_composes(case, first, second):
    calendar, start = case
    shorter, longer = sorted((first, second))
    assert calendar.add(start, shorter) <= calendar.add(start, longer)
    if first and second:
        in_two_steps = calendar.add(calendar.add(start, first), second)
        assert in_two_steps == calendar.add(start, first + second)


@PROPERTY
@given(case=calendar_with(3))
def test_property_between_is_additive(case):
    calendar, *points = case
    a, b, c = sorted(points)
    assert calendar.between(a, b) + calendar.between(b, c) == calendar.between(a, c)
    assert timedelta(0) <= calendar.between(a, c) <= c - a
    assert calendar.between(c, a) == timedelta(0)


@PROPERTY
@given(case=calendar_with(1), days=st.integers(min_value=0, max_value=10))
def test_property_business_days_are_working_day_lengths(case, days):
    calendar, start = case
    assert calendar.add_business_days(start, days) == calendar.add(
        start, days * calendar.business_day_length
    )


@PROPERTY
@given(case=calendar_with(1))
def test_property_next_opening_is_the_first_working_instant(case):
    calendar, instant = case
    opening = calendar.next_opening(instant)
    assert opening >= instant
    assert calendar.is_working_time(opening)
    assert calendar.between(instant, opening) == timedelta(0)
    assert calendar.is_working_time(instant) is (opening == instant)
