"""Station administration: supervisors change a station's coverage, capacity and status, with
a history of who changed what; and the station's load against its capacity."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from servicedesk.core.db import db
from servicedesk.stations.models import (
    STATION_STATUSES,
    Station,
    StationChange,
    StationCity,
    StationProductLine,
)
from servicedesk.stations.regions import normalize_place
from servicedesk.tickets.models import OPEN_STATUSES, Ticket
from servicedesk.warranty.coverage import N_, PRODUCT_LINES

#: Largest capacity accepted: more open tickets than any station carries (a typing mistake).
MAX_CAPACITY = 100_000
MAX_CITIES = 500
REASON_MAX = 1000
CITY_MAX = StationCity.__table__.c.city.type.length

#: The fields a change can touch, in the order the history shows them.
CHANGE_FIELDS = ("cities", "four_hour_cities", "product_lines", "capacity", "status")


@dataclass(frozen=True)
class Problem:
    """One reason an edit was refused: the input ``field`` and an untranslated ``message``
    (translate it with ``gettext(message) % params``, or use :meth:`render`)."""

    field: str
    message: str
    params: Mapping[str, Any] = dataclass_field(default_factory=dict)

    def render(self, gettext) -> str:
        return gettext(self.message) % dict(self.params)


class StationError(ValueError):
    """The edit was refused; ``problems`` lists every reason. Nothing was changed."""

    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(p.message % dict(p.params) for p in problems))
        self.problems = problems


def split_places(text: str) -> list[str]:
    """Place names typed in a box, separated by ``;``, ``,``, ``、``, ``，`` or new lines."""
    for separator in (",", "，", "、", "；", "\n", "\r"):
        text = text.replace(separator, ";")
    return [part for part in (piece.strip() for piece in text.split(";")) if part]


def _normalised_cities(names: Iterable[str]) -> list[str]:
    """Short names (``北京市`` → ``北京``), blanks dropped, first occurrence kept."""
    return list(dict.fromkeys(filter(None, (normalize_place(name) for name in names))))


@dataclass(frozen=True)
class StationSettings:
    """What a supervisor may change, validated: cities normalised, four-hour cities among them."""

    cities: tuple[str, ...]
    four_hour_cities: frozenset[str]
    product_lines: frozenset[str]
    capacity: int
    status: str

    @classmethod
    def of(cls, station: Station) -> StationSettings:
        return cls(
            cities=tuple(station.city_names),
            four_hour_cities=frozenset(station.four_hour_city_names),
            product_lines=frozenset(station.product_line_names),
            capacity=station.capacity,
            status=station.status,
        )

    def as_record(self) -> dict[str, Any]:
        """JSON-ready values per field (lists sorted, so that equal settings compare equal)."""
        return {
            "cities": sorted(self.cities),
            "four_hour_cities": sorted(self.four_hour_cities),
            "product_lines": sorted(self.product_lines),
            "capacity": self.capacity,
            "status": self.status,
        }


def validate_settings(
    *,
    cities: Iterable[str],
    four_hour_cities: Iterable[str],
    product_lines: Iterable[str],
    capacity: Any,
    status: str,
) -> StationSettings:
    """The settings as entered, or :class:`StationError` naming every problem.

    Four-hour cities must be among the station's cities (after normalisation); at least one
    known product line; capacity a whole number from 0 to :data:`MAX_CAPACITY`.
    """
    problems: list[Problem] = []
    city_list = _normalised_cities(cities)
    four_hour_list = _normalised_cities(four_hour_cities)
    if len(city_list) > MAX_CITIES:
        problems.append(Problem("cities", N_("List at most %(max)d cities."), {"max": MAX_CITIES}))
    for city in city_list:
        if len(city) > CITY_MAX:
            problems.append(
                Problem(
                    "cities",
                    N_("The city %(city)s is longer than %(max)d characters."),
                    {"city": city, "max": CITY_MAX},
                )
            )
    missing = [city for city in four_hour_list if city not in city_list]
    if missing:
        problems.append(
            Problem(
                "four_hour_cities",
                N_("Four-hour cities must also be covered cities; add %(cities)s to the cities."),
                {"cities": "、".join(missing)},
            )
        )
    lines = list(dict.fromkeys(product_lines))
    unknown = [line for line in lines if line not in PRODUCT_LINES]
    if unknown:
        problems.append(
            Problem(
                "product_lines",
                N_("Unknown product line: %(lines)s."),
                {"lines": ", ".join(map(str, unknown))},
            )
        )
    elif not lines:
        problems.append(
            Problem("product_lines", N_("Choose at least one product line the station repairs."))
        )
    if isinstance(capacity, bool) or not isinstance(capacity, int):
        problems.append(Problem("capacity", N_("Enter the capacity as a whole number.")))
    elif not 0 <= capacity <= MAX_CAPACITY:
        problems.append(
            Problem(
                "capacity",
                N_("Enter a capacity from 0 to %(max)d open tickets."),
                {"max": MAX_CAPACITY},
            )
        )
    if status not in STATION_STATUSES:
        problems.append(
            Problem("status", N_("Choose active, probation or suspended as the status."))
        )
    if problems:
        raise StationError(problems)
    return StationSettings(
        cities=tuple(city_list),
        four_hour_cities=frozenset(four_hour_list),
        product_lines=frozenset(lines),
        capacity=capacity,
        status=status,
    )


def update_station(
    actor,
    station: Station,
    *,
    cities: Iterable[str],
    four_hour_cities: Iterable[str],
    product_lines: Iterable[str],
    capacity: Any,
    status: str,
    reason: str,
    now: datetime,
) -> StationChange | None:
    """Apply a supervisor's edit of ``station`` and record it; None when nothing changed.

    The :class:`StationChange` holds ``{field: {"before", "after"}}`` for the changed fields
    only (lists sorted). A status change needs a ``reason``. Raises :class:`StationError`
    (before touching anything) on invalid input. Flushes; the caller commits.
    """
    reason = (reason or "").strip()
    problems: list[Problem] = []
    if len(reason) > REASON_MAX:
        problems.append(
            Problem("reason", N_("Keep the reason to %(max)d characters."), {"max": REASON_MAX})
        )
    elif status != station.status and not reason:
        problems.append(Problem("reason", N_("Give the reason for changing the station's status.")))
    try:
        settings = validate_settings(
            cities=cities,
            four_hour_cities=four_hour_cities,
            product_lines=product_lines,
            capacity=capacity,
            status=status,
        )
    except StationError as error:
        raise StationError([*error.problems, *problems]) from None
    if problems:
        raise StationError(problems)
    before = StationSettings.of(station).as_record()
    after = settings.as_record()
    changes = {
        name: {"before": before[name], "after": after[name]}
        for name in CHANGE_FIELDS
        if before[name] != after[name]
    }
    if not changes:
        return None
    _apply(station, settings)
    change = StationChange(
        station_id=station.id,
        changed_by_id=actor.id if actor is not None else None,
        changed_at=now,
        changes=changes,
        reason=reason,
    )
    db.session.add(change)
    db.session.flush()
    return change


def _apply(station: Station, settings: StationSettings) -> None:
    wanted = {city: city in settings.four_hour_cities for city in settings.cities}
    for city in list(station.cities):
        if city.city not in wanted:
            station.cities.remove(city)
        else:
            city.four_hour = wanted[city.city]
    present = {city.city for city in station.cities}
    for name, four_hour in wanted.items():
        if name not in present:
            station.cities.append(StationCity(city=name, four_hour=four_hour))
    for line in list(station.product_lines):
        if line.product_line not in settings.product_lines:
            station.product_lines.remove(line)
    present_lines = {line.product_line for line in station.product_lines}
    for name in sorted(settings.product_lines - present_lines):
        station.product_lines.append(StationProductLine(product_line=name))
    station.capacity = settings.capacity
    station.status = settings.status


def station_load(station: Station) -> tuple[int, int]:
    """``(open tickets at the station, its capacity)``; open means in ``OPEN_STATUSES``."""
    return open_ticket_counts([station.id]).get(station.id, 0), station.capacity


def open_ticket_counts(station_ids: Iterable[int]) -> dict[int, int]:
    """Open tickets per station id (stations without any are left out)."""
    ids = list(station_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        sa.select(Ticket.station_id, sa.func.count())
        .where(Ticket.station_id.in_(ids), Ticket.status.in_(OPEN_STATUSES))
        .group_by(Ticket.station_id)
    ).all()
    return {station_id: count for station_id, count in rows}


def station_changes(station: Station, limit: int = 200) -> list[StationChange]:
    """The station's history, newest first."""
    return list(
        db.session.scalars(
            sa.select(StationChange)
            .where(StationChange.station_id == station.id)
            .order_by(StationChange.changed_at.desc(), StationChange.id.desc())
            .limit(limit)
        )
    )


def _set_status(actor, station: Station, status: str, *, reason: str, now: datetime):
    """Change only the station's status, with the supervisor's (required) reason; the other
    settings are left exactly as they are (not validated again)."""
    reason = (reason or "").strip()
    if not reason:
        raise StationError(
            [Problem("reason", N_("Give the reason for changing the station's status."))]
        )
    if len(reason) > REASON_MAX:
        raise StationError(
            [Problem("reason", N_("Keep the reason to %(max)d characters."), {"max": REASON_MAX})]
        )
    change = StationChange(
        station_id=station.id,
        changed_by_id=actor.id if actor is not None else None,
        changed_at=now,
        changes={"status": {"before": station.status, "after": status}},
        reason=reason,
    )
    station.status = status
    db.session.add(change)
    db.session.flush()
    return change


def suspend_station(actor, station: Station, *, reason: str, now: datetime) -> StationChange:
    """A supervisor suspends the station (it takes no new repairs), giving the reason.

    Raises :class:`StationError` when the station is already suspended or the reason is
    missing or too long. Recorded in the station's history; flushes, the caller commits.
    """
    if station.status == "suspended":
        raise StationError([Problem("status", N_("The station is already suspended."))])
    return _set_status(actor, station, "suspended", reason=reason, now=now)


def reinstate_station(actor, station: Station, *, reason: str, now: datetime) -> StationChange:
    """A supervisor puts a suspended station, or one on probation, back to ``active``.

    Raises :class:`StationError` when the station is already active or the reason is missing
    or too long. Recorded in the station's history; flushes, the caller commits. Automatic
    probation then waits for answers received after this decision
    (:mod:`servicedesk.stations.scorecards`).
    """
    if station.status == "active":
        raise StationError([Problem("status", N_("The station is already active."))])
    return _set_status(actor, station, "active", reason=reason, now=now)
