"""The SLA board and compliance figures on constructed data sets with known answers."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from servicedesk.sla.models import SlaClock, TicketPause
from servicedesk.sla.reports import (
    NO_STATION,
    BoardFilterError,
    BoardFilters,
    Period,
    PeriodError,
    compliance,
    preload_clocks,
    sla_board,
    target_changes,
    target_rows,
    ticket_standings,
)
from servicedesk.sla.services import set_targets
from servicedesk.sla.targets import Target, TicketTargets
from servicedesk.stations.models import Region, RegionPlace
from servicedesk.tickets.models import Ticket

NOW = datetime(2026, 11, 20, 2, 30, tzinfo=UTC)  # Friday 10:30 in Shanghai
H = timedelta(hours=1)
SHANGHAI = ZoneInfo("Asia/Shanghai")


def sh(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


@pytest.fixture
def shanghai_region(db) -> Region:
    region = Region(code="shanghai", name_zh="上海", name_en="Shanghai")
    region.places = [RegionPlace(name="上海", position=0)]
    db.session.add(region)
    db.session.flush()
    return region


@pytest.fixture
def places(make_station, make_customer, shanghai_region):
    """Stations BJ-01 and BJ-02 (Beijing region), SH-01 (Shanghai); a customer in each city."""
    return {
        "BJ-01": make_station("BJ-01"),
        "BJ-02": make_station("BJ-02"),
        "SH-01": make_station("SH-01", cities=("上海",), region_code="shanghai"),
        "beijing": make_customer("C-BJ"),
        "shanghai": make_customer(
            "C-SH", name="上海浦江电子", province="上海", city="上海", phones=("021 6234 5678",)
        ),
    }


_numbers = iter(range(1, 10_000))


def add_ticket(db, customer, station=None, *, status="accepted", kind="repair", level="depot",
               clocks=(), paused_since=None) -> Ticket:  # fmt: skip
    """A ticket with clocks given as dicts of SlaClock fields (24x7 in Shanghai by default);
    ``paused_since`` adds the open TicketPause that goes with paused clocks."""
    ticket = Ticket(
        number=f"SD-2026-{next(_numbers):06d}",
        kind=kind,
        status=status,
        customer=customer,
        station=station,
        summary="test",
        service_level=level,
        created_at=NOW - timedelta(days=5),
        updated_at=NOW,
    )
    for spec in clocks:
        fields = {"clock": "24x7", "timezone": "Asia/Shanghai", **spec}
        fields.setdefault("original_due_at", fields["due_at"])
        fields.setdefault("started_at", fields["due_at"] - 4 * H)
        fields.setdefault("warn_at", fields["due_at"] - H)
        ticket.clocks.append(SlaClock(**fields))
    if paused_since is not None:
        ticket.pauses.append(TicketPause(started_at=paused_since))
    db.session.add(ticket)
    db.session.flush()
    return ticket


# --- the board ---------------------------------------------------------------------------


@pytest.fixture
def board_data(db, places):
    """Breached: T1, T3, T6, T8; at risk: T2, T5; not on the board: T4, T7, T9, T10."""
    bj1, bj2, sh1 = places["BJ-01"], places["BJ-02"], places["SH-01"]
    beijing, shanghai = places["beijing"], places["shanghai"]
    tickets = {
        "T1": add_ticket(db, beijing, bj1, clocks=[
            {"target": "respond", "started_at": NOW - 6 * H, "due_at": NOW - 2 * H,
             "warn_at": NOW - 3 * H},
        ]),
        "T2": add_ticket(db, beijing, bj1, clocks=[
            {"target": "resolve", "started_at": NOW - 3.5 * H, "due_at": NOW + 0.5 * H,
             "warn_at": NOW - 0.5 * H},
        ]),
        "T3": add_ticket(db, beijing, bj2, level="onsite", clocks=[
            {"target": "respond", "due_at": NOW - 70 * H, "met_at": NOW - 71 * H},
            {"target": "arrive", "started_at": NOW - 14 * H, "due_at": NOW + 2 * H,
             "warn_at": NOW - 2 * H},
            {"target": "resolve", "started_at": NOW - 120 * H, "due_at": NOW - 24 * H,
             "warn_at": NOW - 48 * H},
        ]),
        "T4": add_ticket(db, beijing, bj2, clocks=[
            {"target": "respond", "started_at": NOW - H, "due_at": NOW + 3 * H,
             "warn_at": NOW + 2 * H},
        ]),
        "T5": add_ticket(db, shanghai, sh1, status="waiting_customer",
                         paused_since=NOW - 3 * H, clocks=[
            {"target": "resolve", "started_at": NOW - 10 * H, "due_at": NOW - 2 * H,
             "warn_at": NOW - 4 * H, "paused_since": NOW - 3 * H},
        ]),
        "T6": add_ticket(db, shanghai, sh1, status="waiting_customer", paused_since=NOW - H,
                         clocks=[
            {"target": "resolve", "started_at": NOW - 6 * H, "due_at": NOW - 1.5 * H,
             "warn_at": NOW - 2.625 * H, "paused_since": NOW - H},
        ]),
        "T7": add_ticket(db, shanghai, sh1, status="waiting_customer",
                         paused_since=NOW - 3 * H, clocks=[
            {"target": "resolve", "started_at": NOW - 4 * H, "due_at": NOW + 4 * H,
             "warn_at": NOW + 2 * H, "paused_since": NOW - 3 * H},
        ]),
        "T8": add_ticket(db, beijing, None, status="new", kind="complaint", level=None, clocks=[
            {"target": "respond", "started_at": NOW - 2.5 * H, "due_at": NOW - 0.5 * H,
             "warn_at": NOW - H},
        ]),
        "T9": add_ticket(db, beijing, bj1, status="cancelled", clocks=[
            {"target": "respond", "due_at": NOW - 2 * H, "stopped_at": NOW - H},
        ]),
        "T10": add_ticket(db, beijing, bj1, status="closed", clocks=[
            {"target": "respond", "due_at": NOW - 2 * H, "met_at": NOW - H},
        ]),
    }  # fmt: skip
    db.session.commit()
    return tickets


def numbers(board, tickets) -> list[str]:
    names = {ticket.number: name for name, ticket in tickets.items()}
    return [names[row.number] for row in board.rows]


def counts(items) -> list[tuple[str | None, int, int]]:
    return [(item.code, item.breached, item.at_risk) for item in items]


def test_board_counts_tickets_at_risk_and_breached_by_region_and_station(board_data):
    board = sla_board(BoardFilters(), now=NOW)

    assert (board.breached, board.at_risk, board.total, board.matching) == (4, 2, 6, 6)
    assert counts(board.by_region) == [("jingjinji", 3, 1), ("shanghai", 1, 1)]
    assert counts(board.by_station) == [
        ("BJ-01", 1, 1),
        ("SH-01", 1, 1),
        ("BJ-02", 1, 0),
        (None, 1, 0),
    ]
    assert numbers(board, board_data) == ["T3", "T1", "T6", "T8", "T5", "T2"]
    by_name = {name: row for name, row in zip(numbers(board, board_data), board.rows, strict=True)}
    assert [row.state for row in board.rows] == ["breached"] * 4 + ["at_risk"] * 2
    assert by_name["T8"].region_code == "jingjinji" and by_name["T8"].station_code is None
    assert by_name["T3"].due_at == NOW - 24 * H


def test_board_rows_carry_each_open_clock_with_its_colour(board_data):
    board = sla_board(BoardFilters(), now=NOW)
    by_name = dict(zip(numbers(board, board_data), board.rows, strict=True))

    t3 = {clock.target: clock for clock in by_name["T3"].clocks}
    assert set(t3) == {"arrive", "resolve"}  # respond is met: not shown
    assert t3["arrive"].colour == "at-risk" and t3["arrive"].remaining == 2 * H
    assert t3["resolve"].colour == "breached" and t3["resolve"].overdue == 24 * H
    [t5] = by_name["T5"].clocks
    assert (t5.state, t5.colour) == ("paused", "at-risk")
    assert t5.due_at == NOW + H  # pushed out by the three hours paused so far
    [t6] = by_name["T6"].clocks
    assert (t6.state, t6.colour) == ("breached", "breached")


@pytest.mark.parametrize(
    ("filters", "expected", "totals"),
    [
        (BoardFilters(region="shanghai"), ["T6", "T5"], (1, 1)),
        (BoardFilters(station="BJ-01"), ["T1", "T2"], (1, 1)),
        (BoardFilters(station=NO_STATION), ["T8"], (1, 0)),
        (BoardFilters(state="breached"), ["T3", "T1", "T6", "T8"], (4, 2)),
        (BoardFilters(state="at_risk"), ["T5", "T2"], (4, 2)),
        (BoardFilters(region="jingjinji", state="at_risk"), ["T2"], (3, 1)),
        (BoardFilters(sort="station"), ["T1", "T2", "T3", "T6", "T5", "T8"], (4, 2)),
        (BoardFilters(sort="region"), ["T3", "T1", "T8", "T2", "T6", "T5"], (4, 2)),
    ],
)
def test_board_filters_and_sorts(board_data, filters, expected, totals):
    board = sla_board(filters, now=NOW)
    assert numbers(board, board_data) == expected
    assert (board.breached, board.at_risk) == totals
    assert board.matching == len(expected)


def test_board_pages(board_data):
    first = sla_board(BoardFilters(), now=NOW, page_size=4)
    second = sla_board(BoardFilters(page=2), now=NOW, page_size=4)
    assert first.pages == second.pages == 2
    assert numbers(first, board_data) + numbers(second, board_data) == [
        "T3", "T1", "T6", "T8", "T5", "T2",
    ]  # fmt: skip


def test_board_moves_with_time(board_data):
    """An hour earlier T2 was not yet at risk and T8 not yet breached."""
    board = sla_board(BoardFilters(), now=NOW - H)
    assert "T2" not in numbers(board, board_data)
    row = next(row for row in board.rows if row.number == board_data["T8"].number)
    assert row.state == "at_risk"


@pytest.mark.parametrize(
    ("filters", "field"),
    [
        (BoardFilters(region="atlantis"), "region"),
        (BoardFilters(station="XX-99"), "station"),
        (BoardFilters(state="late"), "state"),
        (BoardFilters(sort="random"), "sort"),
        (BoardFilters(page=0), "page"),
    ],
)
def test_board_refuses_unknown_filters(db, places, filters, field):
    with pytest.raises(BoardFilterError) as raised:
        sla_board(filters, now=NOW)
    assert raised.value.field == field


def test_board_and_clock_loading_use_a_fixed_number_of_queries(db, places, count_statements):
    """No query per ticket: the board and the clocks of a listed page are loaded in bulk."""
    bj1 = places["BJ-01"]

    def add(count: int) -> None:
        for _ in range(count):
            add_ticket(db, places["beijing"], bj1, clocks=[
                {"target": "respond", "started_at": NOW - 6 * H, "due_at": NOW - 2 * H,
                 "warn_at": NOW - 3 * H},
                {"target": "resolve", "started_at": NOW - 6 * H, "due_at": NOW + H,
                 "warn_at": NOW - H},
            ])  # fmt: skip
        db.session.commit()

    def measure() -> tuple[int, int]:
        with count_statements() as board_queries:
            sla_board(BoardFilters(), now=NOW)
        db.session.expire_all()
        tickets = db.session.scalars(sa.select(Ticket)).all()
        with count_statements() as clock_queries:
            for ticket in tickets:
                ticket_standings(ticket, NOW)
        return len(board_queries), len(clock_queries)

    add(3)
    few = measure()
    add(30)
    many = measure()
    assert few == many
    assert many[1] == 2


# --- compliance --------------------------------------------------------------------------


def clk(target: str, due: str, **instants: str) -> dict:
    """A clock due at ``due`` (Shanghai time) with other instants (met_at=..., ...) likewise."""
    return {"target": target, "due_at": sh(due), **{k: sh(v) for k, v in instants.items()}}


@pytest.fixture
def compliance_data(db, places):
    """Met: a, c-respond, j2, k; breached: b, c-resolve, f, i; undecided: e, g, h; outside the
    period (1–20 November 2026, Shanghai): d, j1."""
    bj1, bj2, sh1 = places["BJ-01"], places["BJ-02"], places["SH-01"]
    beijing, shanghai = places["beijing"], places["shanghai"]
    a_b = [
        clk("respond", "2026-11-10T12:00", met_at="2026-11-10T11:00"),
        clk("resolve", "2026-11-10T12:00", met_at="2026-11-11T09:00"),
    ]
    add_ticket(db, beijing, bj1, level="onsite", clocks=a_b)
    c = [
        clk("respond", "2026-11-03T09:00", met_at="2026-11-02T17:00"),
        clk("resolve", "2026-11-12T12:00"),
    ]
    add_ticket(db, beijing, bj2, status="waiting_parts", clocks=c)
    add_ticket(db, shanghai, sh1, clocks=[clk("resolve", "2026-11-21T00:00")])  # d
    add_ticket(db, shanghai, sh1, clocks=[clk("resolve", "2026-11-20T15:00")])  # e
    f = clk("respond", "2026-11-05T10:00", stopped_at="2026-11-06T10:00")
    add_ticket(db, shanghai, sh1, status="cancelled", level="onsite_4h", clocks=[f])
    g = clk("respond", "2026-11-05T10:00", stopped_at="2026-11-04T10:00")
    add_ticket(db, shanghai, sh1, status="cancelled", level="onsite_4h", clocks=[g])
    for paused in ("2026-11-14T10:00", "2026-11-16T10:00"):  # h, i
        add_ticket(
            db,
            beijing,
            bj1,
            status="waiting_customer",
            paused_since=sh(paused),
            clocks=[clk("resolve", "2026-11-15T10:00", paused_since=paused)],
        )
    j = [
        clk("respond", "2026-10-31T23:30", met_at="2026-10-31T22:00"),
        clk("resolve", "2026-11-01T00:00", met_at="2026-10-31T23:00"),
    ]
    add_ticket(db, beijing, bj2, status="closed", level="onsite", clocks=j)
    k = clk("respond", "2026-11-03T10:00", met_at="2026-11-03T09:00")
    add_ticket(db, beijing, None, status="closed", kind="complaint", level=None, clocks=[k])
    db.session.commit()


def lines(items) -> dict:
    return {line.code: (line.met, line.breached, line.undecided) for line in items}


def test_compliance_counts_targets_due_in_the_period(compliance_data):
    report = compliance(Period(date(2026, 11, 1), date(2026, 11, 20), "Asia/Shanghai"), now=NOW)

    overall = report.overall
    assert (overall.met, overall.breached, overall.undecided) == (4, 4, 3)
    assert overall.percent == pytest.approx(50.0)
    assert lines(report.by_target) == {"respond": (3, 1, 1), "resolve": (1, 3, 2)}
    assert [line.code for line in report.by_target] == ["respond", "resolve"]
    assert lines(report.by_level) == {
        "onsite_4h": (0, 1, 1),
        "onsite": (2, 1, 0),
        "depot": (1, 2, 2),
        None: (1, 0, 0),
    }
    assert [line.code for line in report.by_level] == ["onsite_4h", "onsite", "depot", None]
    assert lines(report.by_region) == {"jingjinji": (4, 3, 1), "shanghai": (0, 1, 2)}
    assert lines(report.by_station) == {
        "BJ-01": (1, 2, 1),
        "BJ-02": (2, 1, 0),
        "SH-01": (0, 1, 2),
        None: (1, 0, 0),
    }
    assert report.by_station[-1].code is None
    shanghai = next(line for line in report.by_region if line.code == "shanghai")
    assert shanghai.percent == 0.0


def test_compliance_periods_are_whole_days_in_the_readers_zone(compliance_data):
    """In Berlin (7 hours behind Shanghai in November) the period starts after j2 fell due and
    ends after d did."""
    report = compliance(Period(date(2026, 11, 1), date(2026, 11, 20), "Europe/Berlin"), now=NOW)
    overall = report.overall
    assert (overall.met, overall.breached, overall.undecided) == (3, 4, 4)


def test_compliance_of_an_empty_period(compliance_data):
    report = compliance(Period(date(2025, 1, 1), date(2025, 1, 31), "Asia/Shanghai"), now=NOW)
    assert report.overall.total == 0 and report.overall.percent is None
    assert report.by_level == report.by_region == report.by_station == []


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        (date(2026, 11, 20), date(2026, 11, 1), "end"),
        (date(1999, 12, 31), date(2000, 1, 1), "start"),
        (date(2026, 1, 1), date(3000, 1, 1), "end"),
        (date(2020, 1, 1), date(2026, 1, 1), "end"),
    ],
)
def test_periods_refuse_impossible_ranges(start, end, field):
    with pytest.raises(PeriodError) as raised:
        Period(start, end, "Asia/Shanghai")
    assert raised.value.field == field


def test_default_period_is_the_last_thirty_days():
    period = Period.last_days(date(2026, 11, 20), "Asia/Shanghai")
    assert (period.start, period.end, period.days) == (date(2026, 10, 22), date(2026, 11, 20), 30)
    assert period.starts_at == sh("2026-10-22T00:00")
    assert period.ends_at == sh("2026-11-21T00:00")


# --- clocks of listed tickets, and the target table ---------------------------------------


def test_preload_fills_clocks_and_pauses_without_touching_loaded_ones(db, board_data):
    db.session.expire_all()
    tickets = db.session.scalars(sa.select(Ticket).order_by(Ticket.id)).all()
    preload_clocks(tickets)
    loaded = {ticket.number: [clock.target for clock in ticket.clocks] for ticket in tickets}
    assert loaded[board_data["T3"].number] == ["respond", "arrive", "resolve"]
    assert [p.started_at for p in tickets[4].pauses] == [NOW - 3 * H]
    preload_clocks(tickets)  # already loaded: nothing to do


def test_target_rows_show_the_live_table_and_who_changed_it(db, make_user, now):
    admin = make_user("root", role="admin")
    faster = TicketTargets(
        respond=Target(kind="duration", clock="business", amount=timedelta(hours=1)),
        resolve=Target(kind="business_days", clock="business", days=4),
    )
    set_targets(admin, "depot", "repair", faster, now=now)
    rows = {(row.service_level, row.ticket_kind): row for row in target_rows()}

    assert len(rows) == 16
    depot = rows["depot", "repair"]
    assert depot.targets == faster.to_json()
    assert depot.updated_by == "root" and depot.setting.updated_at == now
    assert rows["onsite", "repair"].setting is None
    assert rows["onsite", "repair"].targets["arrive"]["kind"] == "end_of_next_business_day"
    [change] = target_changes()
    assert change.changed_by.username == "root"
    assert change.before["respond"]["seconds"] == 4 * 3600
    assert change.after["respond"]["seconds"] == 3600
