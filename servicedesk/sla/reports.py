"""What the SLA pages read: ticket clocks to show, the supervisors' board, compliance figures,
and the target table with its history.

Read-only query services (they never write). Counting is done in SQL with ``GROUP BY`` so that
the board and the report stay fast with a hundred thousand open tickets; only one page of
board rows, and the small grouped results, come back to Python.

A ticket's region is the region of the station it is dispatched to; a ticket without a station
(a complaint, or a repair waiting for dispatch) is counted in the region of the customer's city
(or, when the city is not a region place of its own, its province), like ``region_for``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import aliased, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from servicedesk.auth.models import User
from servicedesk.core.db import UTCDateTime, db
from servicedesk.customers.models import Customer
from servicedesk.sla.clock import Pause
from servicedesk.sla.levels import SERVICE_LEVELS
from servicedesk.sla.models import SlaClock, SlaTargetChange, SlaTargetSetting, TicketPause
from servicedesk.sla.services import calendar_for, current_target_table
from servicedesk.sla.standing import ClockFacts, Standing, standing
from servicedesk.sla.targets import TARGET_NAMES, TargetTable
from servicedesk.stations.models import Region, RegionPlace, Station
from servicedesk.tickets.models import OPEN_STATUSES, Ticket

BOARD_STATES = ("at_risk", "breached")
BOARD_SORTS = ("urgent", "opened", "station", "region")
BOARD_PAGE_SIZE = 100
#: The station filter value for tickets that are not dispatched to a station.
NO_STATION = "-"
#: Clock loads are split into IN lists of this many tickets.
LOAD_CHUNK = 500
HISTORY_LIMIT = 200
#: Ticket kinds in the order the target table lists them.
TARGET_TABLE_KINDS = ("repair", "complaint", "inquiry", "presales")


# --- clocks of tickets shown on a page ----------------------------------------------------


def _chunks(values: Sequence[int], size: int = LOAD_CHUNK) -> Iterable[Sequence[int]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _needs_clocks(ticket: Ticket) -> bool:
    """Loaded from the database, not expired, and without its clocks or pauses loaded."""
    state = sa.inspect(ticket)
    return state.persistent and not state.expired and bool({"clocks", "pauses"} & state.unloaded)


def preload_clocks(tickets: Iterable[Ticket]) -> None:
    """Load the clocks and pauses of those ``tickets`` that do not have them loaded yet: two
    queries for the lot (per :data:`LOAD_CHUNK` tickets) instead of two per ticket."""
    pending = [ticket for ticket in tickets if _needs_clocks(ticket)]
    if not pending:
        return
    ids = sorted({sa.inspect(ticket).identity[0] for ticket in pending})
    clocks: dict[int, list[SlaClock]] = defaultdict(list)
    pauses: dict[int, list[TicketPause]] = defaultdict(list)
    for chunk in _chunks(ids):
        for clock in db.session.scalars(
            sa.select(SlaClock).where(SlaClock.ticket_id.in_(chunk)).order_by(SlaClock.id)
        ):
            clocks[clock.ticket_id].append(clock)
        for pause in db.session.scalars(
            sa.select(TicketPause)
            .where(TicketPause.ticket_id.in_(chunk))
            .order_by(TicketPause.started_at, TicketPause.id)
        ):
            pauses[pause.ticket_id].append(pause)
    for ticket in pending:
        state = sa.inspect(ticket)
        ticket_id = state.identity[0]
        if "clocks" in state.unloaded:
            set_committed_value(ticket, "clocks", clocks[ticket_id])
        if "pauses" in state.unloaded:
            set_committed_value(ticket, "pauses", pauses[ticket_id])


def preload_session_clocks() -> None:
    """:func:`preload_clocks` for every ticket the session holds (a page that lists tickets
    and shows each one's clocks pays two queries for all of them)."""
    preload_clocks(obj for obj in list(db.session.identity_map.values()) if isinstance(obj, Ticket))


def ticket_standings(ticket: Ticket, now: datetime) -> list[Standing]:
    """The ticket's clocks at ``now``, in the order they fall due (respond, arrive, resolve)."""
    if _needs_clocks(ticket):
        preload_session_clocks()
    pauses = [Pause(pause.started_at, pause.ended_at) for pause in ticket.pauses]
    order = {name: index for index, name in enumerate(TARGET_NAMES)}
    return [
        standing(ClockFacts.of(clock), pauses, calendar_for(clock.clock, clock.timezone), now)
        for clock in sorted(ticket.clocks, key=lambda clock: order.get(clock.target, 99))
    ]


def next_standing(standings: Sequence[Standing]) -> Standing | None:
    """The open clock due first (the one to watch), or None when every target is settled."""
    pending = [item for item in standings if item.open]
    return min(pending, key=lambda item: item.due_at) if pending else None


# --- places: regions and stations ---------------------------------------------------------


@dataclass(frozen=True)
class Place:
    """A region or a station as the filters and the grouped figures show it."""

    code: str
    name: str


def regions(language: str) -> list[Place]:
    rows = db.session.scalars(sa.select(Region).order_by(Region.code))
    return [Place(region.code, region.display_name(language)) for region in rows]


def stations() -> list[Place]:
    rows = db.session.execute(sa.select(Station.code, Station.name).order_by(Station.code))
    return [Place(code, name) for code, name in rows]


def _ticket_places():
    """The region expression of a ticket and a function adding the joins it needs."""
    city_place = aliased(RegionPlace)
    province_place = aliased(RegionPlace)
    region = sa.func.coalesce(
        Station.region_code, city_place.region_code, province_place.region_code
    )

    def join(statement: sa.Select) -> sa.Select:
        return (
            statement.join(Customer, Customer.id == Ticket.customer_id)
            .outerjoin(Station, Station.id == Ticket.station_id)
            .outerjoin(city_place, city_place.name == Customer.city)
            .outerjoin(province_place, province_place.name == Customer.province)
        )

    return region, join


def _at(now: datetime) -> sa.BindParameter:
    return sa.literal(now, type_=UTCDateTime())


# --- the supervisors' board ---------------------------------------------------------------


class BoardFilterError(ValueError):
    """A board filter names something that does not exist; ``field`` is the filter."""

    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class BoardFilters:
    """``region`` and ``station`` are codes (``station`` may be :data:`NO_STATION`); ``state``
    one of :data:`BOARD_STATES` or None for both; ``sort`` one of :data:`BOARD_SORTS`."""

    region: str | None = None
    station: str | None = None
    state: str | None = None
    sort: str = "urgent"
    page: int = 1


@dataclass(frozen=True)
class BoardCount:
    code: str | None
    """None: no station (or, for a region, a customer outside every region)."""
    at_risk: int
    breached: int

    @property
    def total(self) -> int:
        return self.at_risk + self.breached


@dataclass
class BoardRow:
    ticket_id: int
    number: str
    kind: str
    status: str
    service_level: str | None
    created_at: datetime
    customer_code: str
    customer_name: str
    station_code: str | None
    station_name: str | None
    region_code: str | None
    breached: bool
    due_at: datetime
    """The earliest due time among the ticket's clocks at risk or breached."""
    clocks: list[Standing] = field(default_factory=list)
    """The ticket's open clocks at ``now`` (to show each target's due and remaining time)."""

    @property
    def state(self) -> str:
        return "breached" if self.breached else "at_risk"


@dataclass
class Board:
    rows: list[BoardRow]
    by_region: list[BoardCount]
    by_station: list[BoardCount]
    at_risk: int
    breached: int
    matching: int
    """Tickets matching every filter (the state too): the rows are one page of them."""
    page: int
    page_size: int

    @property
    def total(self) -> int:
        return self.at_risk + self.breached

    @property
    def pages(self) -> int:
        return max(1, -(-self.matching // self.page_size))


def _flagged_tickets(now: datetime) -> sa.Subquery:
    """Per ticket with a clock at risk or breached at ``now``: whether one is breached and the
    earliest due time among them.

    Mirrors :func:`servicedesk.sla.standing.clock_state` in SQL: a clock is at risk from its
    warning instant, counted up to ``paused_since`` while the ticket waits on the customer;
    breached once past due while running, or when paused at or after its due time.
    """
    at = _at(now)
    counting_until = sa.func.coalesce(SlaClock.paused_since, at)
    breached = sa.or_(
        sa.and_(SlaClock.paused_since.is_(None), SlaClock.due_at < at),
        sa.and_(SlaClock.paused_since.is_not(None), SlaClock.paused_since >= SlaClock.due_at),
    )
    return (
        sa.select(
            SlaClock.ticket_id.label("ticket_id"),
            sa.func.max(sa.case((breached, 1), else_=0)).label("breached"),
            sa.func.min(SlaClock.due_at).label("due_at"),
        )
        .where(
            SlaClock.met_at.is_(None),
            SlaClock.stopped_at.is_(None),
            SlaClock.warn_at <= counting_until,
        )
        .group_by(SlaClock.ticket_id)
        .subquery("flagged")
    )


def _check_board_filters(filters: BoardFilters) -> None:
    if filters.state is not None and filters.state not in BOARD_STATES:
        raise BoardFilterError(f"unknown state {filters.state!r}", field="state")
    if filters.sort not in BOARD_SORTS:
        raise BoardFilterError(f"unknown sort {filters.sort!r}", field="sort")
    if filters.page < 1:
        raise BoardFilterError("pages start at 1", field="page")
    if filters.region is not None and db.session.get(Region, filters.region) is None:
        raise BoardFilterError(f"unknown region {filters.region!r}", field="region")
    if filters.station not in (None, NO_STATION):
        known = db.session.scalar(sa.select(Station.id).where(Station.code == filters.station))
        if known is None:
            raise BoardFilterError(f"unknown station {filters.station!r}", field="station")


def sla_board(filters: BoardFilters, *, now: datetime, page_size: int = BOARD_PAGE_SIZE) -> Board:
    """Open tickets with a clock at risk or breached at ``now``, one page of them, and how many
    there are per region and per station (the region and station filters apply to the counts,
    the state filter only to the rows).

    Raises :class:`BoardFilterError` for an unknown region, station, state, sort or page.
    """
    _check_board_filters(filters)
    flagged = _flagged_tickets(now)
    region, join_places = _ticket_places()
    conditions: list[sa.ColumnElement[bool]] = [Ticket.status.in_(OPEN_STATUSES)]
    if filters.region is not None:
        conditions.append(region == filters.region)
    if filters.station == NO_STATION:
        conditions.append(Ticket.station_id.is_(None))
    elif filters.station is not None:
        conditions.append(Station.code == filters.station)

    def flagged_select(*columns) -> sa.Select:
        statement = sa.select(*columns).select_from(flagged)
        statement = join_places(statement.join(Ticket, Ticket.id == flagged.c.ticket_id))
        return statement.where(*conditions)

    breached_sum = sa.func.sum(flagged.c.breached)
    grouped = db.session.execute(
        flagged_select(
            region.label("region"), Station.code, sa.func.count().label("tickets"), breached_sum
        ).group_by(region, Station.code)
    ).all()
    by_region: dict[str | None, list[int]] = defaultdict(lambda: [0, 0])
    by_station: dict[str | None, list[int]] = defaultdict(lambda: [0, 0])
    for region_code, station_code, tickets, breached in grouped:
        breached = int(breached or 0)
        for counts, key in ((by_region, region_code), (by_station, station_code)):
            counts[key][0] += tickets - breached
            counts[key][1] += breached

    state_conditions = []
    if filters.state == "breached":
        state_conditions.append(flagged.c.breached == 1)
    elif filters.state == "at_risk":
        state_conditions.append(flagged.c.breached == 0)
    rows = db.session.execute(
        flagged_select(
            Ticket.id,
            Ticket.number,
            Ticket.kind,
            Ticket.status,
            Ticket.service_level,
            Ticket.created_at,
            Customer.code,
            Customer.name,
            Station.code,
            Station.name,
            region.label("region"),
            flagged.c.breached,
            flagged.c.due_at,
        )
        .where(*state_conditions)
        .order_by(*_board_order(filters.sort, flagged, region))
        .limit(page_size)
        .offset((filters.page - 1) * page_size)
    ).all()
    board_rows = [
        BoardRow(
            ticket_id=row[0],
            number=row[1],
            kind=row[2],
            status=row[3],
            service_level=row[4],
            created_at=row[5],
            customer_code=row[6],
            customer_name=row[7],
            station_code=row[8],
            station_name=row[9],
            region_code=row[10],
            breached=bool(row[11]),
            due_at=row[12],
        )
        for row in rows
    ]
    _attach_open_clocks(board_rows, now)
    at_risk = sum(counts[0] for counts in by_region.values())
    breached_total = sum(counts[1] for counts in by_region.values())
    matching = {"at_risk": at_risk, "breached": breached_total}.get(
        filters.state or "", at_risk + breached_total
    )
    return Board(
        rows=board_rows,
        by_region=_counts(by_region),
        by_station=_counts(by_station),
        at_risk=at_risk,
        breached=breached_total,
        matching=matching,
        page=filters.page,
        page_size=page_size,
    )


def _board_order(sort: str, flagged: sa.Subquery, region) -> list:
    urgent = [flagged.c.breached.desc(), flagged.c.due_at, Ticket.id]
    if sort == "opened":
        return [Ticket.created_at, Ticket.id]
    if sort == "station":
        return [Station.code.is_(None), Station.code, *urgent]
    if sort == "region":
        return [region.is_(None), region, *urgent]
    return urgent


def _counts(counts: dict[str | None, list[int]]) -> list[BoardCount]:
    """Most breached first, then most at risk, then by code (None last)."""
    items = [BoardCount(code, at_risk, breached) for code, (at_risk, breached) in counts.items()]
    return sorted(items, key=lambda c: (-c.breached, -c.at_risk, c.code is None, c.code or ""))


def _attach_open_clocks(rows: list[BoardRow], now: datetime) -> None:
    """Each row's open clocks, from two queries for the whole page."""
    ids = [row.ticket_id for row in rows]
    if not ids:
        return
    clocks: dict[int, list[SlaClock]] = defaultdict(list)
    pauses: dict[int, list[Pause]] = defaultdict(list)
    for clock in db.session.scalars(
        sa.select(SlaClock).where(
            SlaClock.ticket_id.in_(ids), SlaClock.met_at.is_(None), SlaClock.stopped_at.is_(None)
        )
    ):
        clocks[clock.ticket_id].append(clock)
    for pause in db.session.scalars(
        sa.select(TicketPause)
        .where(TicketPause.ticket_id.in_(ids))
        .order_by(TicketPause.started_at)
    ):
        pauses[pause.ticket_id].append(Pause(pause.started_at, pause.ended_at))
    order = {name: index for index, name in enumerate(TARGET_NAMES)}
    for row in rows:
        row.clocks = [
            standing(
                ClockFacts.of(clock),
                pauses[row.ticket_id],
                calendar_for(clock.clock, clock.timezone),
                now,
            )
            for clock in sorted(clocks[row.ticket_id], key=lambda c: order.get(c.target, 99))
        ]


# --- compliance ---------------------------------------------------------------------------


class PeriodError(ValueError):
    """The report period cannot be used; ``field`` is ``start`` or ``end``."""

    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.field = field


#: The report accepts periods within these years (dates outside them are typing mistakes).
FIRST_YEAR, LAST_YEAR = 2000, 2999
MAX_PERIOD_DAYS = 3 * 366
DEFAULT_PERIOD_DAYS = 30


@dataclass(frozen=True)
class Period:
    """Whole local days ``start``..``end`` (both included) in ``timezone``."""

    start: date
    end: date
    timezone: str

    def __post_init__(self) -> None:
        for name in ("start", "end"):
            day = getattr(self, name)
            if not FIRST_YEAR <= day.year <= LAST_YEAR:
                raise PeriodError(f"{name} must be between {FIRST_YEAR} and {LAST_YEAR}", name)
        if self.end < self.start:
            raise PeriodError("the end is before the start", "end")
        if (self.end - self.start).days >= MAX_PERIOD_DAYS:
            raise PeriodError(f"a period is at most {MAX_PERIOD_DAYS} days", "end")

    @classmethod
    def last_days(cls, today: date, timezone: str, days: int = DEFAULT_PERIOD_DAYS) -> Period:
        """The ``days`` days up to and including ``today``."""
        return cls(today - timedelta(days=days - 1), today, timezone)

    @property
    def starts_at(self) -> datetime:
        """The first instant of the period (midnight at the start, local time)."""
        return datetime.combine(self.start, time(0), ZoneInfo(self.timezone))

    @property
    def ends_at(self) -> datetime:
        """The first instant after the period (midnight after the end day, local time)."""
        return datetime.combine(self.end + timedelta(days=1), time(0), ZoneInfo(self.timezone))

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


@dataclass
class ComplianceLine:
    """Targets of one group that fell due in the period, by outcome."""

    code: str | None
    met: int = 0
    breached: int = 0
    undecided: int = 0

    @property
    def decided(self) -> int:
        return self.met + self.breached

    @property
    def total(self) -> int:
        return self.decided + self.undecided

    @property
    def percent(self) -> float | None:
        """Met on time as a share of the decided targets, 0–100; None when none is decided."""
        return None if not self.decided else 100.0 * self.met / self.decided

    def add(self, met: int, breached: int, undecided: int) -> None:
        self.met += met
        self.breached += breached
        self.undecided += undecided


@dataclass
class ComplianceReport:
    period: Period
    overall: ComplianceLine
    by_target: list[ComplianceLine]
    by_level: list[ComplianceLine]
    """One line per service level; code None for tickets without one (not a repair)."""
    by_region: list[ComplianceLine]
    by_station: list[ComplianceLine]
    """Code None for tickets not dispatched to a station."""


def target_outcomes(now: datetime):
    """SQL conditions for a target met on time and a target breached (see :func:`compliance`)."""
    at = _at(now)
    met = sa.and_(SlaClock.met_at.is_not(None), SlaClock.met_at <= SlaClock.due_at)
    unmet = SlaClock.met_at.is_(None)
    breached = sa.or_(
        sa.and_(SlaClock.met_at.is_not(None), SlaClock.met_at > SlaClock.due_at),
        sa.and_(unmet, SlaClock.stopped_at.is_not(None), SlaClock.stopped_at > SlaClock.due_at),
        sa.and_(
            unmet,
            SlaClock.stopped_at.is_(None),
            SlaClock.paused_since.is_not(None),
            SlaClock.paused_since >= SlaClock.due_at,
        ),
        sa.and_(
            unmet,
            SlaClock.stopped_at.is_(None),
            SlaClock.paused_since.is_(None),
            SlaClock.due_at < at,
        ),
    )
    return met, breached


def compliance(period: Period, *, now: datetime) -> ComplianceReport:
    """SLA compliance of the targets that fell due in ``period``.

    A target counts in the period when its due time (after the pauses that pushed it out) lies
    in it. It is *met* when met at or before its due time, and *breached* when met late, not met
    by its due time, or cancelled when already overdue. The others (not due yet at ``now``,
    paused before their due time, or cancelled before it) are *undecided* and left out of the
    percentage. One grouped query; the groups are summed up per target, service level, region
    and station.
    """
    met, breached = target_outcomes(now)
    region, join_places = _ticket_places()
    statement = join_places(
        sa.select(
            SlaClock.target,
            Ticket.service_level,
            region.label("region"),
            Station.code,
            sa.func.sum(sa.case((met, 1), else_=0)),
            sa.func.sum(sa.case((breached, 1), else_=0)),
            sa.func.count(),
        )
        .select_from(SlaClock)
        .join(Ticket, Ticket.id == SlaClock.ticket_id)
    )
    statement = statement.where(
        SlaClock.due_at >= period.starts_at, SlaClock.due_at < period.ends_at
    ).group_by(SlaClock.target, Ticket.service_level, region, Station.code)

    overall = ComplianceLine(None)
    lines: dict[str, dict[str | None, ComplianceLine]] = {
        name: {} for name in ("target", "level", "region", "station")
    }
    for (
        target,
        level,
        region_code,
        station_code,
        met_count,
        breached_count,
        total,
    ) in db.session.execute(statement).all():
        counts = (int(met_count or 0), int(breached_count or 0))
        outcome = (*counts, total - sum(counts))
        overall.add(*outcome)
        for name, key in (
            ("target", target),
            ("level", level),
            ("region", region_code),
            ("station", station_code),
        ):
            lines[name].setdefault(key, ComplianceLine(key)).add(*outcome)
    return ComplianceReport(
        period=period,
        overall=overall,
        by_target=_in_order(lines["target"], TARGET_NAMES),
        by_level=_in_order(lines["level"], SERVICE_LEVELS),
        by_region=_in_order(lines["region"], ()),
        by_station=_in_order(lines["station"], ()),
    )


def _in_order(
    lines: dict[str | None, ComplianceLine], order: Sequence[str]
) -> list[ComplianceLine]:
    """Known codes in ``order`` first, then the others by code, None last."""
    rank = {code: index for index, code in enumerate(order)}
    return sorted(
        lines.values(),
        key=lambda line: (line.code is None, rank.get(line.code, len(rank)), line.code or ""),
    )


# --- the target table ---------------------------------------------------------------------


@dataclass(frozen=True)
class TargetRow:
    service_level: str
    ticket_kind: str
    targets: dict
    """``TicketTargets.to_json()`` of the row as new tickets get it."""
    setting: SlaTargetSetting | None
    """The admin's edit in force, or None while the DESIGN.md defaults apply."""
    updated_by: str | None = None
    """Who made that edit (display name or user name)."""


def target_rows() -> list[TargetRow]:
    """Every (service level, ticket kind) row of the live table, levels best first."""
    table: TargetTable = current_target_table()
    settings = {
        (setting.service_level, setting.ticket_kind): setting
        for setting in db.session.scalars(sa.select(SlaTargetSetting))
    }
    user_ids = {s.updated_by_id for s in settings.values() if s.updated_by_id is not None}
    names = {
        user.id: user.display_name or user.username
        for user in db.session.scalars(sa.select(User).where(User.id.in_(user_ids)))
    }
    rows = []
    for level in SERVICE_LEVELS:
        for kind in TARGET_TABLE_KINDS:
            setting = settings.get((level, kind))
            rows.append(
                TargetRow(
                    level,
                    kind,
                    table.rows[level, kind].to_json(),
                    setting,
                    names.get(setting.updated_by_id) if setting else None,
                )
            )
    return rows


def target_changes(limit: int = HISTORY_LIMIT) -> list[SlaTargetChange]:
    """The latest edits of the target table, newest first, with who made them."""
    return list(
        db.session.scalars(
            sa.select(SlaTargetChange)
            .options(selectinload(SlaTargetChange.changed_by))
            .order_by(SlaTargetChange.changed_at.desc(), SlaTargetChange.id.desc())
            .limit(limit)
        )
    )
