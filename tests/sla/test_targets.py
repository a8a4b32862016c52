"""Tests for the SLA target table, due times and the 75 % warning instant."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from servicedesk.sla.calendar import ALWAYS, DEFAULT_CALENDAR, BusinessCalendar, TwentyFourSeven
from servicedesk.sla.levels import SERVICE_LEVELS
from servicedesk.sla.targets import (
    TICKET_KINDS,
    WARN_FRACTION,
    DueTimes,
    Target,
    TargetTable,
    TicketTargets,
    clock_start,
    default_targets,
    due_at,
    due_times,
    targets_for,
    warn_at,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
CN = DEFAULT_CALENDAR
H = timedelta(hours=1)


def sh(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def iso(text: str | None) -> str | None:
    return None if text is None else sh(text).isoformat()


def describe(target: Target | None) -> str | None:
    """A compact spelling of a target for the table below."""
    if target is None:
        return None
    if target.kind == "duration":
        minutes = int(target.amount.total_seconds() // 60)
        amount = f"{minutes // 60}h" if minutes % 60 == 0 else f"{minutes}m"
    elif target.kind == "business_days":
        amount = f"{target.days}d"
    else:
        amount = "eonbd"
    start = " from diagnosis" if target.starts == "diagnosis_ended" else ""
    return f"{amount} {target.clock}{start}"


REPAIR = {
    "onsite_4h": ("30m 24x7", "4h 24x7 from diagnosis", "24h 24x7"),
    "onsite": ("2h business", "eonbd business", "3d business"),
    "depot": ("4h business", None, "5d business"),
    "billable": ("4h business", None, "5d business"),
}
OTHER_KINDS = {
    "complaint": ("2h business", None, "3d business"),
    "inquiry": ("2h business", None, None),
    "presales": ("2h business", None, None),
}
DEFAULT_ROWS = [(level, "repair", *REPAIR[level]) for level in SERVICE_LEVELS] + [
    (level, kind, *row) for level in SERVICE_LEVELS for kind, row in OTHER_KINDS.items()
]


@pytest.mark.parametrize(("level", "kind", "respond", "arrive", "resolve"), DEFAULT_ROWS)
def test_default_targets_follow_the_design(level, kind, respond, arrive, resolve):
    row = targets_for(default_targets(), level, kind)
    assert (describe(row.respond), describe(row.arrive), describe(row.resolve)) == (
        respond,
        arrive,
        resolve,
    )


def test_table_covers_every_level_and_ticket_kind():
    from servicedesk.tickets.models import TICKET_KINDS as MODEL_TICKET_KINDS

    assert set(TICKET_KINDS) == set(MODEL_TICKET_KINDS)
    assert len(default_targets().rows) == len(SERVICE_LEVELS) * len(TICKET_KINDS)


def test_targets_for_without_service_level_uses_the_billable_row():
    table = default_targets()
    assert targets_for(table, None, "complaint") == targets_for(table, "billable", "complaint")
    assert targets_for(table, None, "repair") == targets_for(table, "billable", "repair")


@pytest.mark.parametrize(
    ("level", "kind"), [("gold", "repair"), ("onsite", "question"), ("", "repair")]
)
def test_targets_for_rejects_unknown_rows(level, kind):
    with pytest.raises(ValueError, match="unknown"):
        targets_for(default_targets(), level, kind)


DUE_CASES = [
    # onsite_4h: 24x7 even on a holiday night; arrival from the end of the phone diagnosis
    (
        "onsite_4h",
        "repair",
        "2026-02-16 23:00",
        "2026-02-16 23:20",
        ("2026-02-16 23:30", "2026-02-17 03:20", "2026-02-17 23:00"),
    ),
    (
        "onsite_4h",
        "repair",
        "2026-11-21 10:00",
        None,
        ("2026-11-21 10:30", "2026-11-21 14:00", "2026-11-22 10:00"),
    ),
    # onsite: arrival by the end of the next business day, resolve in 3 × 9 business hours
    (
        "onsite",
        "repair",
        "2026-11-20 10:30",
        None,
        ("2026-11-20 12:30", "2026-11-23 18:00", "2026-11-25 10:30"),
    ),
    (
        "onsite",
        "repair",
        "2026-02-13 17:00",
        None,
        ("2026-02-14 10:00", "2026-02-14 18:00", "2026-02-25 17:00"),
    ),
    (
        "onsite",
        "repair",
        "2026-02-14 17:30",
        None,
        ("2026-02-24 10:30", "2026-02-24 18:00", "2026-02-26 17:30"),
    ),
    (
        "onsite",
        "repair",
        "2026-09-19 11:00",
        None,
        ("2026-09-20 11:00", "2026-09-20 18:00", "2026-09-22 18:00"),
    ),
    # depot and billable: no arrival, 4 business hours and 5 business days
    (
        "depot",
        "repair",
        "2026-09-30 16:00",
        None,
        ("2026-10-08 11:00", None, "2026-10-13 16:00"),
    ),
    (
        "billable",
        "repair",
        "2026-11-16 09:00",
        None,
        ("2026-11-16 13:00", None, "2026-11-20 18:00"),
    ),
    # complaints and consultations run on business time whatever the level
    (
        "onsite_4h",
        "complaint",
        "2026-11-20 17:00",
        None,
        ("2026-11-23 10:00", None, "2026-11-25 17:00"),
    ),
    ("depot", "inquiry", "2026-11-21 10:00", None, ("2026-11-23 11:00", None, None)),
    ("onsite", "presales", "2026-10-09 17:30", None, ("2026-10-10 10:30", None, None)),
]


@pytest.mark.parametrize(("level", "kind", "opened", "diagnosed", "expected"), DUE_CASES)
def test_due_times(level, kind, opened, diagnosed, expected):
    due = due_times(
        targets_for(default_targets(), level, kind),
        opened_at=sh(opened).astimezone(UTC),
        diagnosis_ended_at=None if diagnosed is None else sh(diagnosed),
        calendar=CN,
        always_calendar=ALWAYS,
    )
    assert isinstance(due, DueTimes)
    assert (due.respond_by, due.arrive_by, due.resolve_by) == tuple(
        None if value is None else sh(value) for value in expected
    )
    assert due.to_json() == dict(
        zip(("respond_by", "arrive_by", "resolve_by"), map(iso, expected), strict=True)
    )


def test_due_times_default_the_24x7_clock_to_the_calendars_zone():
    berlin = BusinessCalendar(timezone="Europe/Berlin", country="DE")
    opened = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
    due = due_times(
        targets_for(default_targets(), "onsite_4h", "repair"), opened_at=opened, calendar=berlin
    )
    assert due.arrive_by.isoformat() == "2026-03-29T06:30:00+02:00"
    assert due.arrive_by == opened + 4 * H


def test_due_at_and_clock_start():
    arrive = targets_for(default_targets(), "onsite_4h", "repair").arrive
    respond = targets_for(default_targets(), "onsite_4h", "repair").respond
    opened, diagnosed = sh("2026-11-16 10:00"), sh("2026-11-16 10:40")
    assert clock_start(arrive, opened, diagnosed) == diagnosed
    assert clock_start(arrive, opened, None) == opened
    assert clock_start(respond, opened, diagnosed) == opened
    assert due_at(arrive, opened_at=opened, diagnosis_ended_at=diagnosed, calendar=CN) == sh(
        "2026-11-16 14:40"
    )


def test_a_stored_promise_survives_a_change_of_the_table():
    table = default_targets()
    promised = targets_for(table, "onsite", "repair").to_json()
    stored = json.loads(json.dumps(promised))
    faster = TicketTargets(
        respond=Target(kind="duration", clock="business", amount=H),
        arrive=Target(kind="duration", clock="business", amount=8 * H),
        resolve=Target(kind="business_days", clock="business", days=2),
    )
    changed = table.replace("onsite", "repair", faster)
    assert targets_for(changed, "onsite", "repair") == faster
    assert targets_for(table, "onsite", "repair") != faster
    assert TicketTargets.from_json(stored) == targets_for(table, "onsite", "repair")
    assert TargetTable.from_json(json.loads(json.dumps(changed.to_json()))) == changed


def test_json_round_trips():
    table = default_targets()
    assert TargetTable.from_json(json.loads(json.dumps(table.to_json()))) == table
    for row in table.rows.values():
        assert TicketTargets.from_json(json.loads(json.dumps(row.to_json()))) == row
        for _, target in row.items():
            assert Target.from_json(target.to_json()) == target
    assert targets_for(table, "onsite_4h", "repair").arrive.to_json() == {
        "kind": "duration",
        "clock": "24x7",
        "starts": "diagnosis_ended",
        "seconds": 14400,
    }
    assert targets_for(table, "onsite", "repair").resolve.to_json() == {
        "kind": "business_days",
        "clock": "business",
        "starts": "opened",
        "days": 3,
    }
    assert targets_for(table, "depot", "inquiry").to_json() == {
        "respond": {"kind": "duration", "clock": "business", "starts": "opened", "seconds": 7200},
        "arrive": None,
        "resolve": None,
    }


@pytest.mark.parametrize(
    "kwargs",
    [
        {"kind": "soon"},
        {"kind": "duration"},
        {"kind": "duration", "amount": timedelta(0)},
        {"kind": "duration", "amount": -H},
        {"kind": "duration", "amount": timedelta(seconds=1.5)},
        {"kind": "duration", "amount": H, "days": 1},
        {"kind": "duration", "amount": H, "clock": "lunar"},
        {"kind": "duration", "amount": H, "starts": "whenever"},
        {"kind": "business_days", "days": 0},
        {"kind": "business_days", "days": True},
        {"kind": "business_days", "days": 2, "amount": H},
        {"kind": "end_of_next_business_day", "days": 1},
    ],
)
def test_bad_targets_are_rejected(kwargs):
    with pytest.raises(ValueError):
        Target(**kwargs)


@pytest.mark.parametrize(
    "data",
    [
        None,
        [],
        {"kind": "duration", "seconds": "3600"},
        {"kind": "duration", "seconds": 3600, "hours": 1},
        {"kind": "duration", "seconds": True},
    ],
)
def test_bad_stored_targets_are_rejected(data):
    with pytest.raises(ValueError):
        Target.from_json(data)


def test_bad_tables_are_rejected():
    rows = dict(default_targets().rows)
    del rows["depot", "inquiry"]
    with pytest.raises(ValueError, match="missing"):
        TargetTable(rows)
    with pytest.raises(ValueError):
        TicketTargets.from_json({"respond": None, "fix": None})
    with pytest.raises(ValueError):
        TargetTable.from_json({"depot": []})
    with pytest.raises(TypeError):
        TicketTargets(respond="2h")
    with pytest.raises(ValueError, match="no target row"):
        default_targets().replace("gold", "repair", TicketTargets(respond=None))


@pytest.mark.parametrize(
    ("calendar", "start", "due", "expected"),
    [
        (CN, "2026-11-16 10:00", "2026-11-16 12:00", "2026-11-16 11:30"),
        (CN, "2026-11-20 17:00", "2026-11-23 10:00", "2026-11-23 09:30"),
        (CN, "2026-11-20 20:00", "2026-11-23 11:00", "2026-11-23 10:30"),
        (CN, "2026-02-13 17:00", "2026-02-14 18:00", "2026-02-14 15:30"),
        (CN, "2026-11-16 09:00", "2026-11-20 18:00", "2026-11-19 15:45"),
        (ALWAYS, "2026-11-21 10:00", "2026-11-21 10:30", "2026-11-21 10:22:30"),
        (ALWAYS, "2026-11-21 10:00", "2026-11-21 14:00", "2026-11-21 13:00"),
    ],
)
def test_warn_at_three_quarters(calendar, start, due, expected):
    assert warn_at(sh(start), sh(due), WARN_FRACTION, calendar) == sh(expected)


def test_warn_at_bounds():
    start, due = sh("2026-11-20 20:00"), sh("2026-11-23 11:00")
    assert warn_at(start, due, 0, CN) == sh("2026-11-23 09:00")
    assert warn_at(start, due, 1, CN) == due
    with pytest.raises(ValueError, match="fraction"):
        warn_at(start, due, 1.5, CN)


instants = st.datetimes(
    min_value=datetime(2023, 12, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)
rows = st.sampled_from(sorted(default_targets().rows))
calendars = st.sampled_from([CN, ALWAYS, TwentyFourSeven("Europe/Berlin")])


@settings(max_examples=200, deadline=None)
@given(
    opened=instants,
    diagnosis_delay=st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=3)),
    row=rows,
)
def test_property_due_times_are_after_opening_and_on_their_clock(opened, diagnosis_delay, row):
    targets = default_targets().rows[row]
    due = due_times(
        targets, opened_at=opened, diagnosis_ended_at=opened + diagnosis_delay, calendar=CN
    )
    for name, target in targets.items():
        due_by = getattr(due, f"{name}_by")
        assert due_by > opened
        if target.clock == "business":
            local = CN.local(due_by)
            at_closing = CN.is_working_day(local.date()) and due_by == CN.end_of_business_day(
                local.date()
            )
            assert CN.is_working_time(due_by) or at_closing
        if target.kind == "duration":
            start = opened + diagnosis_delay if target.starts == "diagnosis_ended" else opened
            clock = CN if target.clock == "business" else ALWAYS
            assert clock.between(start, due_by) == target.amount


@settings(max_examples=200, deadline=None)
@given(
    calendar=calendars,
    start=instants,
    length=st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=60)),
    fraction=st.floats(min_value=0, max_value=1),
)
def test_property_warning_falls_at_the_fraction_of_the_target(calendar, start, length, fraction):
    due = calendar.add(start, length)
    warning = warn_at(start, due, fraction, calendar)
    assert start <= warning <= due
    assert calendar.between(start, warning) == length * fraction
    assert warn_at(start, due, 1, calendar) == due
