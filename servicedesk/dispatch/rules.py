"""Dispatch rules: which repair station takes a repair, and why every other one does not.

Pure domain code: no Flask, no database, no clock. The caller loads the candidate stations
(with their open-ticket counts at this instant, under row locks where that matters), calls
:func:`decide_dispatch`, and stores the :class:`DispatchDecision` on the ticket
(:meth:`DispatchDecision.to_json`). Its reasons are :class:`Reason` objects, translated only
when they are shown, so a decision stored today reads in the agent's language tomorrow.

Eligibility. Every criterion a station fails is listed on its verdict:

1. it is not suspended;
2. it covers the asset's city. When any candidate lists the city, only the stations that list
   it qualify. When none does, the stations of the asset's region qualify instead (the region
   fallback); with no known region, none does;
3. it repairs the product line;
4. for ``onsite_4h`` repairs, it has 4-hour capability in the city. This is said only of
   stations that pass 2 (otherwise 2 already says it); under the region fallback no station
   lists the city, so no station has 4-hour capability there;
5. it is below capacity: ``open_tickets < capacity``. A capacity of 0 takes nothing;
6. it has not sent this repair back (``DispatchRequest.returned_by``): a station that gave a
   repair back is not chosen for it again automatically (a supervisor still may, by hand).

Ranking of the eligible stations, best first, by :func:`ranking_key`,
``(on probation, load, -satisfaction, code)``:

- active stations before stations on probation;
- lower load, ``open_tickets / capacity``, compared exactly (as fractions);
- higher satisfaction score. A station with no score yet ranks as if it scored the
  organisation's target, :data:`UNSCORED_SATISFACTION` (88%): a new station is neither starved
  of work nor preferred over stations that meet the target;
- the station code, ascending: a stable tie-break that does not depend on the input order.

City names are compared exactly (after stripping surrounding whitespace): the caller passes
the same normalised names that the station and asset records use.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from servicedesk.warranty.coverage import N_, PRODUCT_LINES, Reason

__all__ = [
    "DISPATCH_STATES",
    "SERVICE_LEVELS",
    "STATION_STATUSES",
    "UNSCORED_SATISFACTION",
    "CandidateVerdict",
    "DispatchDecision",
    "DispatchRequest",
    "StationCandidate",
    "decide_dispatch",
    "ranking_key",
]

STATION_STATUSES = ("active", "probation", "suspended")
#: The service levels of a repair, best first (the same as ``servicedesk.sla.levels``).
SERVICE_LEVELS = ("onsite_4h", "onsite", "depot", "billable")
DISPATCH_STATES = ("dispatched", "waiting")
FOUR_HOUR_LEVEL = "onsite_4h"
#: The satisfaction score (0..1) a station without one ranks with: the organisation's target.
UNSCORED_SATISFACTION = 0.88


# --------------------------------------------------------------------------------------
# Messages. Each is a literal inside N_() so that pybabel extracts it.
# --------------------------------------------------------------------------------------

# Why a station is out.
_SUSPENDED = N_("The station is suspended and takes no new repairs.")
_NOT_IN_CITY = N_("The station does not cover %(city)s.")
_OUTSIDE_REGION = N_(
    "No station lists %(city)s, and this station is outside the asset's region (%(region)s)."
)
_REGION_UNKNOWN = N_("No station lists %(city)s, and the asset's region is unknown.")
_NOT_REPAIRED = {
    "laptop": N_("The station does not repair laptops."),
    "desktop": N_("The station does not repair desktops."),
    "aio": N_("The station does not repair all-in-ones."),
    "workstation": N_("The station does not repair workstations."),
    "server": N_("The station does not repair servers."),
    "tablet": N_("The station does not repair tablets."),
    "monitor": N_("The station does not repair monitors."),
}
_NO_FOUR_HOUR = N_("The station has no 4-hour capability in %(city)s.")
_FULL = N_("The station is at capacity: %(open)s open repairs for a capacity of %(capacity)s.")
_NO_CAPACITY = N_("The station has no capacity set, so it takes no repairs.")
_SENT_BACK = N_("The station sent this repair back, so it is not chosen for it again.")

# Why the winner won.
_WON_ONLY = N_("The only eligible station: %(open)s open repairs for a capacity of %(capacity)s.")
_WON_ACTIVE = N_("Chosen as the only eligible station that is not on probation.")
_WON_LOAD = N_("Chosen for the lowest load: %(open)s open repairs for a capacity of %(capacity)s.")
_WON_SATISFACTION = N_(
    "Chosen among the stations with the lowest load for the best satisfaction score "
    "(%(satisfaction)s)."
)
_WON_UNSCORED = N_(
    "Chosen among the stations with the lowest load: it has no satisfaction score yet, which "
    "counts as the %(target)s target and beats the scores of the others."
)
_WON_TIE = N_(
    "Chosen by station code among the stations with the same lowest load and satisfaction score."
)
_WON_ON_PROBATION = N_(
    "The station is on probation; it was chosen because no active station is eligible."
)
_REGION_FALLBACK = N_(
    "No station lists %(city)s, so the stations of the asset's region (%(region)s) were considered."
)

# Why an eligible station lost to the winner.
_LOST_PROBATION = N_("The station is on probation, so it ranks after the eligible active stations.")
_LOST_LOAD = N_(
    "A higher load than %(winner)s: %(open)s open repairs for a capacity of %(capacity)s, "
    "against %(winner_open)s for a capacity of %(winner_capacity)s."
)
_LOST_SATISFACTION = N_(
    "The same load as %(winner)s, but a lower satisfaction score: %(satisfaction)s against "
    "%(winner_satisfaction)s."
)
_LOST_UNSCORED = N_(
    "The same load as %(winner)s, but no satisfaction score yet, which counts as the "
    "%(target)s target, below the %(winner_satisfaction)s of %(winner)s."
)
_LOST_TO_UNSCORED = N_(
    "The same load as %(winner)s, but a satisfaction score of %(satisfaction)s, below the "
    "%(target)s target that counts for %(winner)s, which has no score yet."
)
_LOST_TIE = N_(
    "The same load and satisfaction score as %(winner)s, which comes first by station code."
)

# Why nobody is eligible: the ticket waits in the supervisors' queue.
_NO_STATIONS = N_("No repair station is set up.")
_NOBODY_COVERS = N_("No station covers %(city)s or the asset's region (%(region)s).")
_NOBODY_COVERS_NO_REGION = N_("No station covers %(city)s, and the asset's region is unknown.")
_NOBODY_REPAIRS = {
    "laptop": N_("No station serving %(city)s repairs laptops."),
    "desktop": N_("No station serving %(city)s repairs desktops."),
    "aio": N_("No station serving %(city)s repairs all-in-ones."),
    "workstation": N_("No station serving %(city)s repairs workstations."),
    "server": N_("No station serving %(city)s repairs servers."),
    "tablet": N_("No station serving %(city)s repairs tablets."),
    "monitor": N_("No station serving %(city)s repairs monitors."),
}
_NOBODY_FOUR_HOUR = N_("No station that could take this repair has 4-hour capability in %(city)s.")
_ALL_SUSPENDED = N_("Every station that could take this repair is suspended.")
_ALL_SENT_BACK = N_(
    "Every station that could take this repair has sent it back; a supervisor chooses where "
    "it goes."
)
_ALL_FULL = N_(
    "Every station that could take this repair is at capacity; the repair waits until one "
    "frees capacity."
)
_FULL_OR_SUSPENDED = N_(
    "The stations that could take this repair are at capacity or suspended; the repair waits "
    "until one frees capacity."
)


# --------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------


def _text(value: Any, name: str, *, required: bool = True) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be text, not {value!r}")
    value = value.strip()
    if required and not value:
        raise ValueError(f"{name} must not be empty")
    return value


def _names(values: Any, name: str) -> frozenset[str]:
    if isinstance(values, str) or not isinstance(values, Iterable):
        raise TypeError(f"{name} must be a collection of names, not {values!r}")
    return frozenset(_text(value, name) for value in values)


def _count(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be a whole number, not {value!r}")
    if value < 0:
        raise ValueError(f"{name} must not be negative, not {value!r}")
    return value


def _score(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal, Fraction)):
        raise TypeError(f"satisfaction must be a number from 0 to 1 or None, not {value!r}")
    score = float(value)
    if not (math.isfinite(score) and 0 <= score <= 1):
        raise ValueError(f"satisfaction must be from 0 to 1, not {value!r}")
    return score


@dataclass(frozen=True)
class StationCandidate:
    """A repair station as dispatch sees it at one instant.

    ``capacity`` is the number of open tickets the station can carry; ``open_tickets`` how many
    it carries now. ``satisfaction`` is the scorecard's satisfaction rate from 0 to 1, or None
    while the station has no score. ``four_hour_cities`` must be a subset of ``cities``.
    Collections are stored as frozensets of stripped names.
    """

    code: str
    name: str
    region: str
    status: str
    cities: frozenset[str]
    four_hour_cities: frozenset[str]
    product_lines: frozenset[str]
    capacity: int
    open_tickets: int
    satisfaction: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "code", _text(self.code, "code"))
        object.__setattr__(self, "name", _text(self.name, "name", required=False))
        object.__setattr__(self, "region", _text(self.region, "region", required=False))
        if self.status not in STATION_STATUSES:
            raise ValueError(f"unknown station status {self.status!r}")
        cities = _names(self.cities, "cities")
        four_hour_cities = _names(self.four_hour_cities, "four_hour_cities")
        if not four_hour_cities <= cities:
            extra = ", ".join(sorted(four_hour_cities - cities))
            raise ValueError(f"4-hour cities must be covered cities too: {extra}")
        product_lines = _names(self.product_lines, "product_lines")
        unknown = product_lines - set(PRODUCT_LINES)
        if unknown:
            raise ValueError(f"unknown product lines {sorted(unknown)!r}")
        object.__setattr__(self, "cities", cities)
        object.__setattr__(self, "four_hour_cities", four_hour_cities)
        object.__setattr__(self, "product_lines", product_lines)
        object.__setattr__(self, "capacity", _count(self.capacity, "capacity"))
        object.__setattr__(self, "open_tickets", _count(self.open_tickets, "open_tickets"))
        object.__setattr__(self, "satisfaction", _score(self.satisfaction))

    @property
    def load(self) -> float:
        """Open tickets per unit of capacity (1.0 = full); ``math.inf`` when capacity is 0."""
        if self.capacity == 0:
            return math.inf
        return self.open_tickets / self.capacity

    @property
    def has_room(self) -> bool:
        return self.open_tickets < self.capacity


@dataclass(frozen=True)
class DispatchRequest:
    """What a repair needs: where the asset is serviced, what it is, and its service level.

    ``region`` is the region code of the asset's site, or None when it is unknown (then no
    region fallback is possible). ``returned_by`` holds the codes of the stations that sent
    the repair back: none of them is eligible.
    """

    city: str
    region: str | None
    product_line: str
    service_level: str
    returned_by: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "city", _text(self.city, "city"))
        if self.region is not None:
            object.__setattr__(self, "region", _text(self.region, "region", required=False) or None)
        if self.product_line not in PRODUCT_LINES:
            raise ValueError(f"unknown product line {self.product_line!r}")
        if self.service_level not in SERVICE_LEVELS:
            raise ValueError(f"unknown service level {self.service_level!r}")
        object.__setattr__(self, "returned_by", _names(self.returned_by, "returned_by"))


def ranking_key(station: StationCandidate) -> tuple[bool, Fraction | float, float, str]:
    """The sort key of an eligible station: smaller is better (see the module docstring)."""
    load: Fraction | float = (
        Fraction(station.open_tickets, station.capacity) if station.capacity else math.inf
    )
    satisfaction = UNSCORED_SATISFACTION if station.satisfaction is None else station.satisfaction
    return (station.status == "probation", load, -satisfaction, station.code)


# --------------------------------------------------------------------------------------
# The decision
# --------------------------------------------------------------------------------------


def _reasons(values: Any) -> tuple[Reason, ...]:
    reasons = tuple(values)
    for reason in reasons:
        if not isinstance(reason, Reason):
            raise TypeError(f"expected Reason, got {reason!r}")
    return reasons


@dataclass(frozen=True)
class CandidateVerdict:
    """One candidate station in a decision: a snapshot of it, and why it won or lost.

    ``rank`` is 1-based among the eligible stations (1 = the winner) and None for an
    ineligible one. ``reasons`` say why an ineligible station is out (every failed
    criterion), why an eligible one lost to the winner, or why the winner won.
    """

    code: str
    name: str
    status: str
    open_tickets: int
    capacity: int
    satisfaction: float | None
    eligible: bool
    rank: int | None
    reasons: tuple[Reason, ...]

    def __post_init__(self) -> None:
        _text(self.code, "code")
        if self.status not in STATION_STATUSES:
            raise ValueError(f"unknown station status {self.status!r}")
        _count(self.open_tickets, "open_tickets")
        _count(self.capacity, "capacity")
        object.__setattr__(self, "satisfaction", _score(self.satisfaction))
        if not isinstance(self.eligible, bool):
            raise TypeError(f"eligible must be True or False, not {self.eligible!r}")
        if self.eligible != (self.rank is not None):
            raise ValueError("an eligible candidate has a rank, an ineligible one has none")
        if self.rank is not None and (_count(self.rank, "rank") < 1):
            raise ValueError("ranks start at 1")
        object.__setattr__(self, "reasons", _reasons(self.reasons))

    @property
    def won(self) -> bool:
        return self.rank == 1

    def render_reasons(self, gettext=lambda s: s) -> list[str]:
        return [reason.render(gettext) for reason in self.reasons]

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "status": self.status,
            "open_tickets": self.open_tickets,
            "capacity": self.capacity,
            "satisfaction": self.satisfaction,
            "eligible": self.eligible,
            "rank": self.rank,
            "reasons": [reason.to_json() for reason in self.reasons],
        }

    @classmethod
    def from_json(cls, data: Any) -> CandidateVerdict:
        if not isinstance(data, Mapping):
            raise ValueError(f"not a stored dispatch candidate: {data!r}")
        try:
            return cls(
                code=data["code"],
                name=data["name"],
                status=data["status"],
                open_tickets=data["open_tickets"],
                capacity=data["capacity"],
                satisfaction=data.get("satisfaction"),
                eligible=data["eligible"],
                rank=data.get("rank"),
                reasons=tuple(Reason.from_json(item) for item in data.get("reasons") or ()),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a stored dispatch candidate: {data!r}") from exc


@dataclass(frozen=True)
class DispatchDecision:
    """Where a repair goes, and the explanation.

    ``state`` is ``dispatched`` (``station`` is the winner's code) or ``waiting`` (no eligible
    station; ``station`` is None and the ticket waits in the supervisors' queue). ``reason`` is
    the headline: why the winner won, or why the repair waits. ``candidates`` lists every
    candidate: the eligible ones by rank, then the ineligible ones by code.
    """

    state: str
    station: str | None
    reason: Reason | None
    candidates: tuple[CandidateVerdict, ...]

    def __post_init__(self) -> None:
        if self.state not in DISPATCH_STATES:
            raise ValueError(f"unknown dispatch state {self.state!r}")
        if (self.state == "dispatched") != (self.station is not None):
            raise ValueError("a dispatched repair names its station; a waiting one has none")
        if self.station is not None:
            _text(self.station, "station")
        if self.reason is not None and not isinstance(self.reason, Reason):
            raise TypeError(f"expected Reason, got {self.reason!r}")
        if self.state == "waiting" and self.reason is None:
            raise ValueError("a waiting repair needs the reason why")
        candidates = tuple(self.candidates)
        for candidate in candidates:
            if not isinstance(candidate, CandidateVerdict):
                raise TypeError(f"expected CandidateVerdict, got {candidate!r}")
        codes = [candidate.code for candidate in candidates]
        if len(set(codes)) != len(codes):
            raise ValueError("a station appears twice among the candidates")
        object.__setattr__(self, "candidates", candidates)

    @property
    def winner(self) -> CandidateVerdict | None:
        """The verdict of the chosen station, when it is among the candidates."""
        for candidate in self.candidates:
            if candidate.code == self.station:
                return candidate
        return None

    @property
    def eligible(self) -> tuple[CandidateVerdict, ...]:
        return tuple(candidate for candidate in self.candidates if candidate.eligible)

    def to_json(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "station": self.station,
            "reason": None if self.reason is None else self.reason.to_json(),
            "candidates": [candidate.to_json() for candidate in self.candidates],
        }

    @classmethod
    def from_json(cls, data: Any) -> DispatchDecision:
        if not isinstance(data, Mapping):
            raise ValueError(f"not a stored dispatch decision: {data!r}")
        try:
            reason = data.get("reason")
            candidates = data.get("candidates") or ()
            if isinstance(candidates, (str, Mapping)):
                raise TypeError("candidates must be a list")
            return cls(
                state=data["state"],
                station=data.get("station"),
                reason=None if reason is None else Reason.from_json(reason),
                candidates=tuple(CandidateVerdict.from_json(item) for item in candidates),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a stored dispatch decision: {data!r}") from exc


# --------------------------------------------------------------------------------------
# Deciding
# --------------------------------------------------------------------------------------


def _percent(score: float, digits: int = 1) -> str:
    text = f"{score * 100:.{digits}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text}%"


def _percent_pair(first: float, second: float) -> tuple[str, str]:
    """Both scores as percentages, with enough digits to show that they differ."""
    digits = 1
    while _percent(first, digits) == _percent(second, digits) and first != second and digits < 9:
        digits += 1
    return _percent(first, digits), _percent(second, digits)


def _covers(station: StationCandidate, request: DispatchRequest, city_listed: bool) -> bool:
    if city_listed:
        return request.city in station.cities
    return request.region is not None and station.region == request.region


def _why_out(
    station: StationCandidate, request: DispatchRequest, city_listed: bool
) -> list[Reason]:
    city = request.city
    reasons: list[Reason] = []
    if station.status == "suspended":
        reasons.append(Reason(_SUSPENDED, {"status": station.status}))
    covers = _covers(station, request, city_listed)
    if not covers:
        if city_listed:
            reasons.append(Reason(_NOT_IN_CITY, {"city": city}))
        elif request.region is None:
            reasons.append(Reason(_REGION_UNKNOWN, {"city": city}))
        else:
            reasons.append(
                Reason(
                    _OUTSIDE_REGION,
                    {"city": city, "region": request.region, "station_region": station.region},
                )
            )
    if request.product_line not in station.product_lines:
        reasons.append(
            Reason(_NOT_REPAIRED[request.product_line], {"product_line": request.product_line})
        )
    if covers and request.service_level == FOUR_HOUR_LEVEL and city not in station.four_hour_cities:
        reasons.append(Reason(_NO_FOUR_HOUR, {"city": city}))
    if station.capacity == 0:
        reasons.append(Reason(_NO_CAPACITY, {"open": str(station.open_tickets)}))
    elif not station.has_room:
        reasons.append(
            Reason(_FULL, {"open": str(station.open_tickets), "capacity": str(station.capacity)})
        )
    if station.code in request.returned_by:
        reasons.append(Reason(_SENT_BACK, {}))
    return reasons


def _deciding_criterion(better: StationCandidate, worse: StationCandidate) -> int:
    """Which part of the ranking key puts ``better`` ahead: 0 status, 1 load, 2 score, 3 code."""
    for index, (mine, theirs) in enumerate(
        zip(ranking_key(better), ranking_key(worse), strict=True)
    ):
        if mine != theirs:
            return index
    raise ValueError(f"two candidates share the code {better.code!r}")


def _load_params(station: StationCandidate, prefix: str = "") -> dict[str, str]:
    return {
        f"{prefix}open": str(station.open_tickets),
        f"{prefix}capacity": str(station.capacity),
    }


def _why_won(
    ranked: list[StationCandidate], request: DispatchRequest, city_listed: bool
) -> list[Reason]:
    winner = ranked[0]
    reasons: list[Reason] = []
    if len(ranked) == 1:
        reasons.append(Reason(_WON_ONLY, _load_params(winner)))
    else:
        runner_up = ranked[1]
        criterion = _deciding_criterion(winner, runner_up)
        if criterion == 0:
            reasons.append(Reason(_WON_ACTIVE, {"status": winner.status}))
        elif criterion == 1:
            reasons.append(Reason(_WON_LOAD, _load_params(winner)))
        elif criterion == 2 and winner.satisfaction is None:
            reasons.append(Reason(_WON_UNSCORED, {"target": _percent(UNSCORED_SATISFACTION)}))
        elif criterion == 2:
            reasons.append(
                Reason(_WON_SATISFACTION, {"satisfaction": _percent(winner.satisfaction)})
            )
        else:
            reasons.append(Reason(_WON_TIE, {"code": winner.code}))
    if winner.status == "probation":
        reasons.append(Reason(_WON_ON_PROBATION, {"status": winner.status}))
    if not city_listed:
        reasons.append(
            Reason(_REGION_FALLBACK, {"city": request.city, "region": request.region or ""})
        )
    return reasons


def _why_lost(station: StationCandidate, winner: StationCandidate) -> Reason:
    criterion = _deciding_criterion(winner, station)
    versus = {"winner": winner.name or winner.code, "winner_code": winner.code}
    target = _percent(UNSCORED_SATISFACTION)
    if criterion == 0:
        return Reason(_LOST_PROBATION, {"status": station.status})
    if criterion == 1:
        return Reason(
            _LOST_LOAD, {**versus, **_load_params(station), **_load_params(winner, "winner_")}
        )
    if criterion == 2:
        if station.satisfaction is None:
            return Reason(
                _LOST_UNSCORED,
                {**versus, "target": target, "winner_satisfaction": _percent(winner.satisfaction)},
            )
        if winner.satisfaction is None:
            return Reason(
                _LOST_TO_UNSCORED,
                {**versus, "target": target, "satisfaction": _percent(station.satisfaction)},
            )
        mine, theirs = _percent_pair(station.satisfaction, winner.satisfaction)
        return Reason(
            _LOST_SATISFACTION, {**versus, "satisfaction": mine, "winner_satisfaction": theirs}
        )
    return Reason(_LOST_TIE, versus)


def _why_waiting(
    stations: tuple[StationCandidate, ...], request: DispatchRequest, city_listed: bool
) -> Reason:
    """The one sentence that best says why no station is eligible.

    The criteria are narrowed in the order city, product line, 4-hour capability, sent back,
    status, capacity; the first one that leaves nobody is the reason.
    """
    city = {"city": request.city}
    if not stations:
        return Reason(_NO_STATIONS, {})
    serving = [station for station in stations if _covers(station, request, city_listed)]
    if not serving:
        if request.region is None:
            return Reason(_NOBODY_COVERS_NO_REGION, city)
        return Reason(_NOBODY_COVERS, {**city, "region": request.region})
    able = [station for station in serving if request.product_line in station.product_lines]
    if not able:
        return Reason(
            _NOBODY_REPAIRS[request.product_line], {**city, "product_line": request.product_line}
        )
    if request.service_level == FOUR_HOUR_LEVEL:
        able = [station for station in able if request.city in station.four_hour_cities]
        if not able:
            return Reason(_NOBODY_FOUR_HOUR, city)
    able = [station for station in able if station.code not in request.returned_by]
    if not able:
        return Reason(_ALL_SENT_BACK, {})
    not_suspended = [station for station in able if station.status != "suspended"]
    if not not_suspended:
        return Reason(_ALL_SUSPENDED, {})
    if len(not_suspended) < len(able):
        return Reason(_FULL_OR_SUSPENDED, {})
    return Reason(_ALL_FULL, {})


def _verdict(
    station: StationCandidate, *, rank: int | None, reasons: Iterable[Reason]
) -> CandidateVerdict:
    return CandidateVerdict(
        code=station.code,
        name=station.name,
        status=station.status,
        open_tickets=station.open_tickets,
        capacity=station.capacity,
        satisfaction=station.satisfaction,
        eligible=rank is not None,
        rank=rank,
        reasons=tuple(reasons),
    )


def decide_dispatch(
    request: DispatchRequest, candidates: Iterable[StationCandidate]
) -> DispatchDecision:
    """Choose the station for a repair among ``candidates`` (see the module docstring).

    Pass every station that could matter (at least those listing the city and those of the
    asset's region; passing all stations is fine): whether the region fallback applies
    depends on whether any candidate lists the city. The result does not depend on the order
    of ``candidates``. Two candidates with the same code raise ``ValueError``.
    """
    if not isinstance(request, DispatchRequest):
        raise TypeError(f"expected DispatchRequest, got {request!r}")
    stations = tuple(candidates)
    for station in stations:
        if not isinstance(station, StationCandidate):
            raise TypeError(f"expected StationCandidate, got {station!r}")
    codes = [station.code for station in stations]
    if len(set(codes)) != len(codes):
        raise ValueError("a station appears twice among the candidates")

    city_listed = any(request.city in station.cities for station in stations)
    out = {station.code: _why_out(station, request, city_listed) for station in stations}
    ranked = sorted((s for s in stations if not out[s.code]), key=ranking_key)
    ineligible = [
        _verdict(station, rank=None, reasons=out[station.code])
        for station in sorted(stations, key=lambda station: station.code)
        if out[station.code]
    ]

    if not ranked:
        return DispatchDecision(
            state="waiting",
            station=None,
            reason=_why_waiting(stations, request, city_listed),
            candidates=tuple(ineligible),
        )

    winner = ranked[0]
    won = _why_won(ranked, request, city_listed)
    verdicts = [_verdict(winner, rank=1, reasons=won)]
    verdicts += [
        _verdict(station, rank=rank, reasons=[_why_lost(station, winner)])
        for rank, station in enumerate(ranked[1:], start=2)
    ]
    return DispatchDecision(
        state="dispatched",
        station=winner.code,
        reason=won[0],
        candidates=(*verdicts, *ineligible),
    )
