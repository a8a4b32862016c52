"""Table and property tests for pausable ticket clocks."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from servicedesk.sla.calendar import ALWAYS, DEFAULT_CALENDAR, BusinessCalendar
from servicedesk.sla.clock import (
    Pause,
    adjusted_due,
    counted_pauses,
    elapsed_fraction,
    paused_time,
    running_time,
    status,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
CN = DEFAULT_CALENDAR
BERLIN = BusinessCalendar(timezone="Europe/Berlin", country="DE")
SHORT_DAYS = BusinessCalendar(
    timezone="America/New_York",
    start=time(8, 30),
    end=time(12, 15),
    weekdays=frozenset(range(6)),
    country=None,
)
H = timedelta(hours=1)
M = timedelta(minutes=1)
LATER = "2027-06-01 00:00"
FAR_FUTURE = datetime(2030, 1, 1, tzinfo=UTC)


def sh(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def pauses(*spans: tuple[str, str | None]) -> list[Pause]:
    return [Pause(sh(start), None if end is None else sh(end)) for start, end in spans]


ADJUSTED_DUE_CASES = [
    # (calendar, original due, pauses, now, adjusted due)
    (CN, "2026-11-16 12:00", [], LATER, "2026-11-16 12:00"),
    (CN, "2026-11-23 12:00", [("2026-11-21 10:00", "2026-11-22 20:00")], LATER, "2026-11-23 12:00"),
    (CN, "2026-11-17 12:00", [("2026-11-16 18:00", "2026-11-17 09:00")], LATER, "2026-11-17 12:00"),
    (CN, "2026-11-16 12:00", [("2026-11-16 10:00", "2026-11-16 11:00")], LATER, "2026-11-16 13:00"),
    (CN, "2026-11-16 12:00", [("2026-11-16 11:00", "2026-11-16 14:00")], LATER, "2026-11-16 15:00"),
    (CN, "2026-11-16 12:00", [("2026-11-16 11:00", "2026-11-16 12:00")], LATER, "2026-11-16 13:00"),
    (CN, "2026-11-20 17:30", [("2026-11-20 17:00", "2026-11-23 10:00")], LATER, "2026-11-23 10:30"),
    (CN, "2026-11-20 18:00", [("2026-11-20 17:00", "2026-11-23 10:00")], LATER, "2026-11-23 11:00"),
    # an ongoing pause counts up to now
    (CN, "2026-11-16 12:00", [("2026-11-16 10:00", None)], "2026-11-16 11:30", "2026-11-16 13:30"),
    (CN, "2026-11-16 17:30", [("2026-11-16 17:00", None)], "2026-11-21 12:00", "2026-11-23 09:30"),
    (
        CN,
        "2026-11-16 12:00",
        [("2026-11-16 10:00", "2026-11-16 15:00")],
        "2026-11-16 11:00",
        "2026-11-16 13:00",
    ),
    # a pause from the due time on cannot undo a breach
    (CN, "2026-11-16 12:00", [("2026-11-16 14:00", "2026-11-16 15:00")], LATER, "2026-11-16 12:00"),
    (CN, "2026-11-16 12:00", [("2026-11-16 12:00", "2026-11-16 13:00")], LATER, "2026-11-16 12:00"),
    # several pauses: each moves the due time, and a later one counts if it starts before it
    (
        CN,
        "2026-11-16 12:00",
        [("2026-11-16 10:00", "2026-11-16 11:00"), ("2026-11-16 12:30", "2026-11-16 13:00")],
        LATER,
        "2026-11-16 13:30",
    ),
    (
        CN,
        "2026-11-16 12:00",
        [("2026-11-16 12:30", "2026-11-16 13:00"), ("2026-11-16 10:00", "2026-11-16 11:00")],
        LATER,
        "2026-11-16 13:30",
    ),
    # overlapping pauses are merged, not counted twice
    (
        CN,
        "2026-11-16 12:00",
        [("2026-11-16 10:00", "2026-11-16 11:00"), ("2026-11-16 10:30", "2026-11-16 11:30")],
        LATER,
        "2026-11-16 13:30",
    ),
    # waiting over Spring Festival 2026 counts only the make-up Saturday and working hours
    (CN, "2026-02-13 17:00", [("2026-02-13 16:00", "2026-02-24 10:00")], LATER, "2026-02-24 11:00"),
    (CN, "2026-02-24 12:00", [("2026-02-15 09:00", "2026-02-23 18:00")], LATER, "2026-02-24 12:00"),
    # and over National Day, with the make-up Saturday 10 October
    (CN, "2026-09-30 17:00", [("2026-09-30 16:00", "2026-10-10 12:00")], LATER, "2026-10-10 13:00"),
    # the 24x7 clock counts the whole pause, nights and weekends included
    (
        ALWAYS,
        "2026-11-23 12:00",
        [("2026-11-21 10:00", "2026-11-22 10:00")],
        LATER,
        "2026-11-24 12:00",
    ),
    (
        ALWAYS,
        "2026-11-17 02:00",
        [("2026-11-16 22:00", "2026-11-16 23:30")],
        LATER,
        "2026-11-17 03:30",
    ),
]


@pytest.mark.parametrize(("calendar", "due", "spans", "now", "expected"), ADJUSTED_DUE_CASES)
def test_adjusted_due(calendar, due, spans, now, expected):
    result = adjusted_due(sh(due), pauses(*spans), calendar, sh(now))
    assert result == sh(expected)
    assert result.tzinfo == calendar.zone


def test_pauses_before_the_clock_starts_do_not_count():
    spans = pauses(("2026-11-16 08:00", "2026-11-16 10:00"))
    due, now = sh("2026-11-16 12:00"), sh(LATER)
    assert adjusted_due(due, spans, CN, now) == sh("2026-11-16 13:00")
    started = sh("2026-11-16 09:30")
    assert adjusted_due(due, spans, CN, now, clock_start=started) == sh("2026-11-16 12:30")
    pushed, counted = counted_pauses(due, spans, CN, now, clock_start=started)
    assert pushed == sh("2026-11-16 12:30")
    assert counted == [(started.astimezone(UTC), sh("2026-11-16 10:00").astimezone(UTC))]


@pytest.mark.parametrize(
    ("calendar", "spans", "until", "since", "expected"),
    [
        (CN, [], LATER, None, timedelta(0)),
        (CN, [("2026-11-16 18:00", "2026-11-17 09:00")], LATER, None, timedelta(0)),
        (CN, [("2026-11-20 18:00", "2026-11-23 09:00")], LATER, None, timedelta(0)),
        (CN, [("2026-02-15 00:00", "2026-02-24 00:00")], LATER, None, timedelta(0)),
        (CN, [("2026-10-01 00:00", "2026-10-08 00:00")], LATER, None, timedelta(0)),
        (CN, [("2026-02-13 00:00", "2026-02-25 00:00")], LATER, None, 27 * H),
        (CN, [("2026-11-16 10:00", None)], "2026-11-16 11:30", None, 90 * M),
        (CN, [("2026-11-16 10:00", "2026-11-16 15:00")], "2026-11-16 11:30", None, 90 * M),
        (CN, [("2026-11-16 12:00", "2026-11-16 15:00")], "2026-11-16 11:30", None, timedelta(0)),
        (
            CN,
            [("2026-11-16 10:00", "2026-11-16 11:00"), ("2026-11-16 10:30", "2026-11-16 11:30")],
            LATER,
            None,
            90 * M,
        ),
        (
            CN,
            [("2026-11-16 10:00", "2026-11-16 11:00"), ("2026-11-16 11:00", "2026-11-16 11:30")],
            LATER,
            None,
            90 * M,
        ),
        (CN, [("2026-11-16 10:00", "2026-11-16 12:00")], LATER, "2026-11-16 11:15", 45 * M),
        (ALWAYS, [("2026-11-21 10:00", "2026-11-22 10:00")], LATER, None, 24 * H),
        (ALWAYS, [("2026-11-16 18:00", "2026-11-17 09:00")], LATER, None, 15 * H),
    ],
)
def test_paused_time(calendar, spans, until, since, expected):
    assert (
        paused_time(pauses(*spans), calendar, sh(until), since=None if since is None else sh(since))
        == expected
    )


@pytest.mark.parametrize(
    ("due", "met_at", "now", "expected"),
    [
        ("2026-11-16 12:00", "2026-11-16 11:00", "2026-11-16 11:30", "met"),
        ("2026-11-16 12:00", "2026-11-16 12:00", "2026-11-16 12:00", "met"),
        ("2026-11-16 12:00", "2026-11-16 11:00", "2026-12-01 00:00", "met"),
        ("2026-11-16 12:00", "2026-11-16 12:00:01", "2026-11-16 12:30", "breached"),
        ("2026-11-16 12:00", None, "2026-11-16 11:00", "running"),
        ("2026-11-16 12:00", None, "2026-11-16 12:00", "running"),
        ("2026-11-16 12:00", None, "2026-11-16 12:00:00.000001", "breached"),
    ],
)
def test_status(due, met_at, now, expected):
    assert status(sh(due), None if met_at is None else sh(met_at), sh(now)) == expected
    in_utc = None if met_at is None else sh(met_at).astimezone(UTC)
    assert status(sh(due).astimezone(UTC), in_utc, sh(now)) == expected


@pytest.mark.parametrize(
    ("calendar", "start", "due", "spans", "now", "expected"),
    [
        (CN, "2026-11-16 09:00", "2026-11-16 13:00", [], "2026-11-16 12:00", 0.75),
        (CN, "2026-11-16 09:00", "2026-11-16 13:00", [], "2026-11-16 08:00", 0.0),
        (CN, "2026-11-16 09:00", "2026-11-16 13:00", [], "2026-11-16 13:00", 1.0),
        (CN, "2026-11-16 09:00", "2026-11-16 13:00", [], "2026-11-17 10:00", 2.5),
        (
            CN,
            "2026-11-16 09:00",
            "2026-11-16 13:00",
            [("2026-11-16 10:00", "2026-11-16 11:00")],
            "2026-11-16 12:00",
            0.5,
        ),
        (
            CN,
            "2026-11-16 09:00",
            "2026-11-16 13:00",
            [("2026-11-16 10:00", None)],
            "2026-11-20 12:00",
            0.25,
        ),
        (
            CN,
            "2026-11-20 17:00",
            "2026-11-23 10:00",
            [("2026-11-21 10:00", "2026-11-22 10:00")],
            "2026-11-23 09:00",
            0.5,
        ),
        (ALWAYS, "2026-11-21 10:00", "2026-11-21 14:00", [], "2026-11-21 13:00", 0.75),
        (CN, "2026-11-21 10:00", "2026-11-23 09:00", [], "2026-11-22 10:00", 0.0),
        (CN, "2026-11-21 10:00", "2026-11-23 09:00", [], "2026-11-23 09:00", 1.0),
    ],
)
def test_elapsed_fraction(calendar, start, due, spans, now, expected):
    fraction = elapsed_fraction(sh(start), sh(due), pauses(*spans), calendar, sh(now))
    assert fraction == pytest.approx(expected)


def test_running_time_excludes_counted_pauses_only():
    start, due = sh("2026-11-16 09:00"), sh("2026-11-16 13:00")
    spans = pauses(
        ("2026-11-16 10:00", "2026-11-16 11:00"), ("2026-11-16 15:00", "2026-11-16 16:00")
    )
    # the first pause moves the due time to 14:00; the second starts after it and counts on
    assert running_time(start, due, spans, CN, sh("2026-11-16 17:00")) == 7 * H


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (lambda: Pause(datetime(2026, 11, 16, 10)), ValueError),
        (lambda: Pause(sh("2026-11-16 10:00"), datetime(2026, 11, 16, 11)), ValueError),
        (lambda: Pause(sh("2026-11-16 10:00"), sh("2026-11-16 09:00")), ValueError),
        (lambda: Pause("2026-11-16 10:00"), TypeError),
        (lambda: paused_time([("a", "b")], CN, sh(LATER)), TypeError),
        (lambda: paused_time([], CN, datetime(2026, 11, 16)), ValueError),
        (lambda: adjusted_due(datetime(2026, 11, 16, 12), [], CN, sh(LATER)), ValueError),
        (lambda: status(sh("2026-11-16 12:00"), None, datetime(2026, 11, 16)), ValueError),
        (
            lambda: elapsed_fraction(
                datetime(2026, 11, 16, 9), sh("2026-11-16 13:00"), [], CN, sh(LATER)
            ),
            ValueError,
        ),
    ],
)
def test_bad_input_is_rejected(make, error):
    with pytest.raises(error):
        make()


# --------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------

BUSINESS_CALENDARS = {"cn": CN, "berlin": BERLIN, "short_days": SHORT_DAYS}
ALL_CALENDARS = {**BUSINESS_CALENDARS, "always": ALWAYS}
ZONES = {calendar.zone.key for calendar in ALL_CALENDARS.values()}
PROPERTY = settings(max_examples=200, deadline=None)
FIRST_DAY, LAST_DAY = date(2023, 12, 1), date(2027, 12, 31)
#: Wall-clock times at and right next to the calendars' openings and closings.
EDGE_TIMES = [time(0), time(8, 30), time(9), time(12, 15), time(17, 59, 59, 999999), time(18)]
wall_times = st.one_of(
    st.sampled_from(EDGE_TIMES),
    st.integers(0, 86_400_000_000 - 1).map(
        lambda us: (datetime.min + timedelta(microseconds=us)).time()
    ),
)
lengths = st.one_of(
    st.sampled_from([timedelta(0), 30 * M, H, 9 * H, 24 * H]),
    st.integers(0, 50 * 3600 * 10**6).map(lambda us: timedelta(microseconds=us)),
)
fractions = st.floats(min_value=0, max_value=1)


optional_lengths = st.one_of(st.none(), lengths)


@st.composite
def local_instants(draw, zone: ZoneInfo) -> datetime:
    """Instants from December 2023 to December 2027, often at a calendar's edges."""
    day = FIRST_DAY + timedelta(days=draw(st.integers(0, (LAST_DAY - FIRST_DAY).days)))
    return datetime.combine(day, draw(wall_times), tzinfo=zone).astimezone(UTC)


INSTANTS = {zone: local_instants(ZoneInfo(zone)) for zone in ZONES}


@st.composite
def pause_lists(draw, zone: ZoneInfo, after: datetime, max_size: int = 3) -> list[Pause]:
    """Pauses starting after ``after`` (within about two weeks), some of them still running."""
    result = []
    for _ in range(draw(st.integers(min_value=0, max_value=max_size))):
        day = after.astimezone(zone).date() + timedelta(days=draw(st.integers(0, 12)))
        start = max(after, datetime.combine(day, draw(wall_times), tzinfo=zone))
        length = draw(optional_lengths)
        result.append(Pause(start, None if length is None else start + length))
    return result


@st.composite
def ticket_clocks(draw, calendars: dict):
    calendar = ALL_CALENDARS[draw(st.sampled_from(sorted(calendars)))]
    start = draw(INSTANTS[calendar.zone.key])
    due = calendar.add(start, draw(lengths))
    spans = draw(pause_lists(calendar.zone, start))
    now = start + draw(lengths) * draw(st.integers(0, 10))
    return calendar, start, due, spans, now


@st.composite
def off_hours_pauses(draw):
    """A calendar and a pause lying wholly outside its working time."""
    calendar = BUSINESS_CALENDARS[draw(st.sampled_from(sorted(BUSINESS_CALENDARS)))]
    instant = draw(INSTANTS[calendar.zone.key])
    if calendar.is_working_time(instant):
        instant = calendar.end_of_business_day(calendar.local(instant).date())
    gap = calendar.next_opening(instant) - instant
    first, second = sorted((draw(fractions), draw(fractions)))
    return calendar, Pause(instant + gap * first, instant + gap * second), instant + gap


@PROPERTY
@given(clock=ticket_clocks(ALL_CALENDARS))
def test_property_pausing_never_brings_a_due_time_forward(clock):
    calendar, _, due, spans, now = clock
    adjusted = adjusted_due(due, spans, calendar, now)
    assert adjusted >= due
    assert calendar.between(due, adjusted) <= paused_time(spans, calendar, now)
    later = adjusted_due(due, spans, calendar, now + timedelta(days=3))
    assert later >= adjusted


@PROPERTY
@given(clock=ticket_clocks(ALL_CALENDARS))
def test_property_the_target_is_used_up_exactly_at_the_adjusted_due_time(clock):
    calendar, start, due, spans, _ = clock
    closed = [pause for pause in spans if pause.end is not None]
    adjusted = adjusted_due(due, closed, calendar, FAR_FUTURE, clock_start=start)
    if calendar.between(start, due):
        fraction = elapsed_fraction(start, due, closed, calendar, adjusted)
        assert fraction == pytest.approx(1.0, abs=1e-9)
        before = adjusted - timedelta(seconds=1)
        assert elapsed_fraction(start, due, closed, calendar, before) <= 1.0


@PROPERTY
@given(pause=off_hours_pauses(), due_offset=lengths, now_offset=lengths)
def test_property_pauses_outside_working_hours_count_zero(pause, due_offset, now_offset):
    calendar, off_hours, gap_end = pause
    due = calendar.add(off_hours.start - 3 * H, due_offset)
    now = gap_end + now_offset
    assert paused_time([off_hours], calendar, now) == timedelta(0)
    assert adjusted_due(due, [off_hours], calendar, now) == due


@PROPERTY
@given(clock=ticket_clocks(ALL_CALENDARS))
def test_property_elapsed_fraction_grows_with_time(clock):
    calendar, start, due, spans, now = clock
    earlier = elapsed_fraction(start, due, spans, calendar, now)
    later = elapsed_fraction(start, due, spans, calendar, now + timedelta(hours=7))
    assert 0 <= earlier <= later
