"""Table and property tests for the pure dispatch rules (eligibility, ranking, explanation)."""

from __future__ import annotations

import json
import math
import re
from dataclasses import replace
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from servicedesk.dispatch import rules
from servicedesk.dispatch.rules import (
    STATION_STATUSES,
    UNSCORED_SATISFACTION,
    CandidateVerdict,
    DispatchDecision,
    DispatchRequest,
    StationCandidate,
    decide_dispatch,
    ranking_key,
)
from servicedesk.sla.levels import SERVICE_LEVELS
from servicedesk.warranty.coverage import PRODUCT_LINES, Reason

# A station in 杭州 (华东) that takes laptops and desktops, with room to spare.
BASE = StationCandidate(
    code="HZ01",
    name="杭州一站",
    region="huadong",
    status="active",
    cities=frozenset({"杭州", "宁波"}),
    four_hour_cities=frozenset({"杭州"}),
    product_lines=frozenset({"laptop", "desktop"}),
    capacity=10,
    open_tickets=3,
    satisfaction=0.9,
)
REQUEST = DispatchRequest(
    city="杭州", region="huadong", product_line="laptop", service_level="onsite"
)


def station(code: str = "HZ01", **changes) -> StationCandidate:
    changes.setdefault("name", f"Station {code}")
    return replace(BASE, code=code, **changes)


def request(**changes) -> DispatchRequest:
    return replace(REQUEST, **changes)


def texts(reasons) -> list[str]:
    return [reason.render() for reason in reasons]


def verdict(decision: DispatchDecision, code: str) -> CandidateVerdict:
    (found,) = [candidate for candidate in decision.candidates if candidate.code == code]
    return found


# Messages as an agent reads them.
SUSPENDED = "The station is suspended and takes no new repairs."
NOT_IN_CITY = "The station does not cover {city}."
OUTSIDE_REGION = (
    "No station lists {city}, and this station is outside the asset's region ({region})."
)
REGION_UNKNOWN = "No station lists {city}, and the asset's region is unknown."
NOT_REPAIRED = {
    "laptop": "The station does not repair laptops.",
    "desktop": "The station does not repair desktops.",
    "aio": "The station does not repair all-in-ones.",
    "workstation": "The station does not repair workstations.",
    "server": "The station does not repair servers.",
    "tablet": "The station does not repair tablets.",
    "monitor": "The station does not repair monitors.",
}
NO_FOUR_HOUR = "The station has no 4-hour capability in {city}."
FULL = "The station is at capacity: {open} open repairs for a capacity of {capacity}."
SENT_BACK = "The station sent this repair back, so it is not chosen for it again."
NO_CAPACITY = "The station has no capacity set, so it takes no repairs."

# A second station listing 杭州, so that the region fallback is off.
LISTS_HANGZHOU = station("HZ99", cities=frozenset({"杭州"}), four_hour_cities=frozenset())
# A second station listing only 宁波, so that nobody lists 杭州 unless the tested one does.
ONLY_NINGBO = station("NB01", cities=frozenset({"宁波"}), four_hour_cities=frozenset())


# --------------------------------------------------------------------------------------
# Eligibility
# --------------------------------------------------------------------------------------

ELIGIBILITY = [
    # (id, station changes, request changes, other candidates, expected reasons)
    ("eligible", {}, {}, [], []),
    ("probation is eligible", {"status": "probation"}, {}, [], []),
    ("suspended", {"status": "suspended"}, {}, [], [SUSPENDED]),
    (
        "city listed by another station only",
        {"cities": frozenset({"宁波"}), "four_hour_cities": frozenset()},
        {},
        [LISTS_HANGZHOU],
        [NOT_IN_CITY.format(city="杭州")],
    ),
    (
        "city listed elsewhere, same region does not help",
        {"cities": frozenset(), "four_hour_cities": frozenset()},
        {},
        [LISTS_HANGZHOU],
        [NOT_IN_CITY.format(city="杭州")],
    ),
    (
        "region fallback: nobody lists the city, same region",
        {"cities": frozenset({"宁波"}), "four_hour_cities": frozenset()},
        {},
        [ONLY_NINGBO],
        [],
    ),
    (
        "region fallback: station with no cities at all",
        {"cities": frozenset(), "four_hour_cities": frozenset()},
        {},
        [],
        [],
    ),
    (
        "region fallback: other region",
        {"cities": frozenset({"宁波"}), "four_hour_cities": frozenset(), "region": "huanan"},
        {},
        [ONLY_NINGBO],
        [OUTSIDE_REGION.format(city="杭州", region="huadong")],
    ),
    (
        "region fallback: asset region unknown",
        {"cities": frozenset({"宁波"}), "four_hour_cities": frozenset()},
        {"region": None},
        [],
        [REGION_UNKNOWN.format(city="杭州")],
    ),
    (
        "region fallback: empty region text means unknown",
        {"cities": frozenset({"宁波"}), "four_hour_cities": frozenset()},
        {"region": "  "},
        [],
        [REGION_UNKNOWN.format(city="杭州")],
    ),
    ("listing the city beats the region", {"region": "huanan"}, {}, [], []),
    ("listing the city, asset region unknown", {}, {"region": None}, [], []),
    (
        "product line",
        {"product_lines": frozenset({"desktop"})},
        {},
        [],
        [NOT_REPAIRED["laptop"]],
    ),
    ("no product lines", {"product_lines": frozenset()}, {}, [], [NOT_REPAIRED["laptop"]]),
    ("sent the repair back", {}, {"returned_by": frozenset({"HZ01"})}, [], [SENT_BACK]),
    ("another station sent it back", {}, {"returned_by": frozenset({"HZ09"})}, [], []),
    (
        "sent back and full: both said",
        {"open_tickets": 10},
        {"returned_by": frozenset({"HZ01"})},
        [],
        [FULL.format(open=10, capacity=10), SENT_BACK],
    ),
    (
        "server request",
        {},
        {"product_line": "server"},
        [],
        [NOT_REPAIRED["server"]],
    ),
    ("4-hour capable", {}, {"service_level": "onsite_4h"}, [], []),
    (
        "4-hour missing in the city",
        {"four_hour_cities": frozenset({"宁波"})},
        {"service_level": "onsite_4h"},
        [],
        [NO_FOUR_HOUR.format(city="杭州")],
    ),
    (
        "4-hour missing matters only for onsite_4h",
        {"four_hour_cities": frozenset()},
        {"service_level": "onsite"},
        [],
        [],
    ),
    (
        "4-hour missing, depot",
        {"four_hour_cities": frozenset()},
        {"service_level": "depot"},
        [],
        [],
    ),
    (
        "4-hour missing, billable",
        {"four_hour_cities": frozenset()},
        {"service_level": "billable"},
        [],
        [],
    ),
    (
        "4-hour under region fallback: nobody lists the city",
        {"cities": frozenset({"宁波"}), "four_hour_cities": frozenset({"宁波"})},
        {"service_level": "onsite_4h"},
        [],
        [NO_FOUR_HOUR.format(city="杭州")],
    ),
    (
        "not covering the city says so once, without the 4-hour criterion",
        {"cities": frozenset({"宁波"}), "four_hour_cities": frozenset({"宁波"})},
        {"service_level": "onsite_4h"},
        [LISTS_HANGZHOU],
        [NOT_IN_CITY.format(city="杭州")],
    ),
    ("one below capacity", {"open_tickets": 9, "capacity": 10}, {}, [], []),
    (
        "exactly at capacity",
        {"open_tickets": 10, "capacity": 10},
        {},
        [],
        [FULL.format(open=10, capacity=10)],
    ),
    (
        "over capacity (capacity lowered)",
        {"open_tickets": 12, "capacity": 10},
        {},
        [],
        [FULL.format(open=12, capacity=10)],
    ),
    ("capacity 1, empty", {"open_tickets": 0, "capacity": 1}, {}, [], []),
    (
        "capacity 1, one open",
        {"open_tickets": 1, "capacity": 1},
        {},
        [],
        [FULL.format(open=1, capacity=1)],
    ),
    ("capacity 0", {"open_tickets": 0, "capacity": 0}, {}, [], [NO_CAPACITY]),
    ("capacity 0 with open tickets", {"open_tickets": 2, "capacity": 0}, {}, [], [NO_CAPACITY]),
    (
        "suspended and full",
        {"status": "suspended", "open_tickets": 10},
        {},
        [],
        [SUSPENDED, FULL.format(open=10, capacity=10)],
    ),
    (
        "probation and full",
        {"status": "probation", "open_tickets": 10},
        {},
        [],
        [FULL.format(open=10, capacity=10)],
    ),
    (
        "every criterion at once",
        {
            "status": "suspended",
            "cities": frozenset({"宁波"}),
            "four_hour_cities": frozenset(),
            "product_lines": frozenset({"server"}),
            "capacity": 0,
        },
        {"service_level": "onsite_4h"},
        [LISTS_HANGZHOU],
        [SUSPENDED, NOT_IN_CITY.format(city="杭州"), NOT_REPAIRED["laptop"], NO_CAPACITY],
    ),
    (
        "fallback, other region, wrong product line, full",
        {
            "cities": frozenset(),
            "four_hour_cities": frozenset(),
            "region": "xibei",
            "product_lines": frozenset({"monitor"}),
            "open_tickets": 4,
            "capacity": 4,
        },
        {},
        [],
        [
            OUTSIDE_REGION.format(city="杭州", region="huadong"),
            NOT_REPAIRED["laptop"],
            FULL.format(open=4, capacity=4),
        ],
    ),
    (
        "4-hour and capacity",
        {"four_hour_cities": frozenset(), "open_tickets": 10},
        {"service_level": "onsite_4h"},
        [],
        [NO_FOUR_HOUR.format(city="杭州"), FULL.format(open=10, capacity=10)],
    ),
]


@pytest.mark.parametrize(
    ("station_changes", "request_changes", "others", "expected"),
    [row[1:] for row in ELIGIBILITY],
    ids=[row[0] for row in ELIGIBILITY],
)
def test_eligibility(station_changes, request_changes, others, expected):
    tested = station("HZ01", **station_changes)
    decision = decide_dispatch(request(**request_changes), [tested, *others])
    found = verdict(decision, "HZ01")
    assert found.eligible == (not expected)
    if expected:
        assert texts(found.reasons) == expected
    else:
        assert found.rank >= 1 and found.reasons  # why it won or lost
    assert (found.rank is None) == bool(expected)
    for reason in found.reasons:
        assert all(isinstance(value, str) for value in reason.params.values())


@pytest.mark.parametrize("product_line", PRODUCT_LINES)
def test_every_product_line_has_its_own_sentence(product_line):
    tested = station(product_lines=frozenset(set(PRODUCT_LINES) - {product_line}))
    decision = decide_dispatch(request(product_line=product_line), [tested])
    assert texts(verdict(decision, "HZ01").reasons) == [NOT_REPAIRED[product_line]]
    assert verdict(decision, "HZ01").reasons[0].params["product_line"] == product_line


@pytest.mark.parametrize("product_line", PRODUCT_LINES)
def test_station_repairing_every_line_is_eligible_for_each(product_line):
    tested = station(product_lines=frozenset(PRODUCT_LINES))
    decision = decide_dispatch(request(product_line=product_line), [tested])
    assert decision.station == "HZ01"


def test_region_fallback_considers_only_the_region_and_says_so():
    same_region = station("HZ02", cities=frozenset({"宁波"}), four_hour_cities=frozenset())
    other_region = station(
        "GZ01", region="huanan", cities=frozenset({"广州"}), four_hour_cities=frozenset()
    )
    decision = decide_dispatch(request(city="绍兴"), [same_region, other_region])
    assert decision.state == "dispatched"
    assert decision.station == "HZ02"
    assert texts(verdict(decision, "HZ02").reasons) == [
        "The only eligible station: 3 open repairs for a capacity of 10.",
        "No station lists 绍兴, so the stations of the asset's region (huadong) were considered.",
    ]
    assert texts(verdict(decision, "GZ01").reasons) == [
        OUTSIDE_REGION.format(city="绍兴", region="huadong")
    ]


def test_region_fallback_is_off_as_soon_as_one_candidate_lists_the_city():
    # The listing station is suspended, but listing the city still switches the fallback off.
    lister = station(
        "SX01", status="suspended", cities=frozenset({"绍兴"}), four_hour_cities=frozenset()
    )
    same_region = station("HZ02", cities=frozenset({"宁波"}), four_hour_cities=frozenset())
    decision = decide_dispatch(request(city="绍兴"), [lister, same_region])
    assert decision.state == "waiting"
    assert texts(verdict(decision, "HZ02").reasons) == [NOT_IN_CITY.format(city="绍兴")]
    assert decision.reason.render() == "Every station that could take this repair is suspended."


def test_city_names_are_compared_after_stripping_whitespace():
    tested = station(cities=frozenset({" 杭州 "}), four_hour_cities=frozenset({"杭州\u3000"}))
    assert tested.cities == {"杭州"} and tested.four_hour_cities == {"杭州"}
    decision = decide_dispatch(request(city=" 杭州", service_level="onsite_4h"), [tested])
    assert decision.station == "HZ01"


# --------------------------------------------------------------------------------------
# Ranking
# --------------------------------------------------------------------------------------


def ranked(code, open_tickets, capacity, satisfaction=0.9, status="active") -> StationCandidate:
    return station(
        code,
        open_tickets=open_tickets,
        capacity=capacity,
        satisfaction=satisfaction,
        status=status,
    )


WON_ONLY = "The only eligible station: {open} open repairs for a capacity of {capacity}."
WON_ACTIVE = "Chosen as the only eligible station that is not on probation."
WON_LOAD = "Chosen for the lowest load: {open} open repairs for a capacity of {capacity}."
WON_SATISFACTION = (
    "Chosen among the stations with the lowest load for the best satisfaction score ({score})."
)
WON_UNSCORED = (
    "Chosen among the stations with the lowest load: it has no satisfaction score yet, which "
    "counts as the 88% target and beats the scores of the others."
)
WON_TIE = (
    "Chosen by station code among the stations with the same lowest load and satisfaction score."
)
ON_PROBATION = "The station is on probation; it was chosen because no active station is eligible."

RANKING = [
    # (id, stations, expected order of codes, the winner's reasons)
    ("single", [ranked("A", 5, 10)], ["A"], [WON_ONLY.format(open=5, capacity=10)]),
    (
        "lowest load wins",
        [ranked("A", 5, 10), ranked("B", 2, 10), ranked("C", 9, 10)],
        ["B", "A", "C"],
        [WON_LOAD.format(open=2, capacity=10)],
    ),
    (
        "load is relative to capacity",
        [ranked("A", 3, 4), ranked("B", 7, 10), ranked("C", 30, 100)],
        ["C", "B", "A"],
        [WON_LOAD.format(open=30, capacity=100)],
    ),
    (
        "load beats satisfaction",
        [ranked("A", 1, 10, 1.0), ranked("B", 0, 10, 0.1)],
        ["B", "A"],
        [WON_LOAD.format(open=0, capacity=10)],
    ),
    (
        "equal loads as fractions: satisfaction decides",
        [ranked("A", 1, 3, 0.90), ranked("B", 2, 6, 0.95), ranked("C", 3, 9, 0.85)],
        ["B", "A", "C"],
        [WON_SATISFACTION.format(score="95%")],
    ),
    (
        "empty stations: satisfaction decides",
        [ranked("A", 0, 5, 0.7), ranked("B", 0, 50, 0.75)],
        ["B", "A"],
        [WON_SATISFACTION.format(score="75%")],
    ),
    (
        "satisfaction with decimals",
        [ranked("A", 0, 5, 0.925), ranked("B", 0, 5, 0.9)],
        ["A", "B"],
        [WON_SATISFACTION.format(score="92.5%")],
    ),
    (
        "code breaks a full tie",
        [ranked("B", 2, 10, 0.9), ranked("A", 1, 5, 0.9), ranked("C", 2, 10, 0.9)],
        ["A", "B", "C"],
        [WON_TIE],
    ),
    (
        "probation ranks after active, whatever its load",
        [ranked("A", 0, 10, 1.0, "probation"), ranked("B", 9, 10, 0.5)],
        ["B", "A"],
        [WON_ACTIVE],
    ),
    (
        "probation after every active one",
        [
            ranked("A", 0, 10, 1.0, "probation"),
            ranked("B", 8, 10),
            ranked("C", 9, 10),
            ranked("D", 1, 10, 0.9, "probation"),
        ],
        ["B", "C", "A", "D"],
        [WON_LOAD.format(open=8, capacity=10)],
    ),
    (
        "only probation stations: ranked among themselves",
        [ranked("A", 4, 10, 0.8, "probation"), ranked("B", 2, 10, 0.8, "probation")],
        ["B", "A"],
        [WON_LOAD.format(open=2, capacity=10), ON_PROBATION],
    ),
    (
        "single probation station",
        [ranked("A", 4, 10, 0.8, "probation")],
        ["A"],
        [WON_ONLY.format(open=4, capacity=10), ON_PROBATION],
    ),
    (
        "no score counts as the target: beats a lower score",
        [ranked("A", 0, 5, 0.87), ranked("B", 0, 5, None)],
        ["B", "A"],
        [WON_UNSCORED],
    ),
    (
        "no score counts as the target: loses to a higher score",
        [ranked("A", 0, 5, 0.89), ranked("B", 0, 5, None)],
        ["A", "B"],
        [WON_SATISFACTION.format(score="89%")],
    ),
    (
        "no score equals the target: code decides",
        [ranked("B", 0, 5, 0.88), ranked("A", 0, 5, None)],
        ["A", "B"],
        [WON_TIE],
    ),
    (
        "two without a score: code decides",
        [ranked("B", 0, 5, None), ranked("A", 0, 5, None)],
        ["A", "B"],
        [WON_TIE],
    ),
    (
        "no score does not beat a lower load",
        [ranked("A", 1, 5, None), ranked("B", 0, 5, 0.5)],
        ["B", "A"],
        [WON_LOAD.format(open=0, capacity=5)],
    ),
    (
        "ineligible stations are not ranked",
        [ranked("A", 10, 10), ranked("B", 6, 10), ranked("C", 0, 10, status="suspended")],
        ["B"],
        [WON_ONLY.format(open=6, capacity=10)],
    ),
]


@pytest.mark.parametrize(
    ("stations", "order", "why"),
    [row[1:] for row in RANKING],
    ids=[row[0] for row in RANKING],
)
def test_ranking(stations, order, why):
    decision = decide_dispatch(REQUEST, stations)
    assert decision.state == "dispatched"
    assert decision.station == order[0]
    eligible = decision.eligible
    assert [candidate.code for candidate in eligible] == order
    assert [candidate.rank for candidate in eligible] == list(range(1, len(order) + 1))
    assert texts(decision.winner.reasons) == why
    assert decision.reason == decision.winner.reasons[0]
    assert decision.winner.won
    # The same result whatever the order of the candidates.
    assert decide_dispatch(REQUEST, list(reversed(stations))) == decision


LOSING = [
    # (id, winner, loser, the loser's reason)
    (
        "probation",
        ranked("W", 9, 10),
        ranked("L", 0, 10, status="probation"),
        "The station is on probation, so it ranks after the eligible active stations.",
    ),
    (
        "load",
        ranked("W", 1, 4),
        ranked("L", 3, 10),
        "A higher load than Station W: 3 open repairs for a capacity of 10, "
        "against 1 for a capacity of 4.",
    ),
    (
        "satisfaction",
        ranked("W", 1, 4, 0.9),
        ranked("L", 1, 4, 0.8),
        "The same load as Station W, but a lower satisfaction score: 80% against 90%.",
    ),
    (
        "satisfaction close enough to need more digits",
        ranked("W", 1, 4, 0.9001),
        ranked("L", 1, 4, 0.9),
        "The same load as Station W, but a lower satisfaction score: 90% against 90.01%.",
    ),
    (
        "loser without a score",
        ranked("W", 1, 4, 0.95),
        ranked("L", 1, 4, None),
        "The same load as Station W, but no satisfaction score yet, which counts as the 88% "
        "target, below the 95% of Station W.",
    ),
    (
        "winner without a score",
        ranked("W", 1, 4, None),
        ranked("L", 1, 4, 0.6),
        "The same load as Station W, but a satisfaction score of 60%, below the 88% target "
        "that counts for Station W, which has no score yet.",
    ),
    (
        "code",
        ranked("A", 1, 4, 0.7),
        ranked("B", 2, 8, 0.7),
        "The same load and satisfaction score as Station A, which comes first by station code.",
    ),
]


@pytest.mark.parametrize(
    ("winner", "loser", "expected"),
    [row[1:] for row in LOSING],
    ids=[row[0] for row in LOSING],
)
def test_why_a_station_lost(winner, loser, expected):
    decision = decide_dispatch(REQUEST, [loser, winner])
    assert decision.station == winner.code
    lost = verdict(decision, loser.code)
    assert lost.eligible and lost.rank == 2
    assert texts(lost.reasons) == [expected]
    assert lost.reasons[0].params.get("winner_code", winner.code) == winner.code


def test_losers_are_compared_with_the_winner_not_with_their_neighbour():
    decision = decide_dispatch(
        REQUEST, [ranked("A", 1, 10, 0.9), ranked("B", 1, 10, 0.8), ranked("C", 2, 10, 0.99)]
    )
    assert [c.code for c in decision.eligible] == ["A", "B", "C"]
    assert texts(verdict(decision, "C").reasons) == [
        "A higher load than Station A: 2 open repairs for a capacity of 10, "
        "against 1 for a capacity of 10."
    ]


def test_ranking_key_orders_as_documented():
    assert ranking_key(ranked("A", 1, 3)) == (False, Fraction(1, 3), -0.9, "A")
    assert ranking_key(ranked("A", 1, 3, None))[2] == -UNSCORED_SATISFACTION
    assert ranking_key(ranked("A", 0, 0))[1] == math.inf
    assert ranking_key(ranked("A", 0, 1, status="probation"))[0] is True
    assert ranking_key(ranked("A", 1, 3)) == ranking_key(ranked("A", 2, 6))


@pytest.mark.parametrize(
    ("open_tickets", "capacity", "load"),
    [(0, 10, 0.0), (5, 10, 0.5), (10, 10, 1.0), (12, 10, 1.2), (0, 0, math.inf), (3, 0, math.inf)],
)
def test_load(open_tickets, capacity, load):
    assert station(open_tickets=open_tickets, capacity=capacity).load == load
    assert station(open_tickets=open_tickets, capacity=capacity).has_room == (
        open_tickets < capacity
    )


# --------------------------------------------------------------------------------------
# Waiting
# --------------------------------------------------------------------------------------

LHASA = request(city="拉萨", region="xizang", product_line="server")
XIZANG = station(
    "LS01",
    region="xizang",
    cities=frozenset({"拉萨"}),
    four_hour_cities=frozenset(),
    product_lines=frozenset({"server"}),
)

WAITING = [
    # (id, request, stations, reason)
    ("no stations at all", LHASA, [], "No repair station is set up."),
    (
        "nobody covers the city or the region",
        LHASA,
        [BASE],
        "No station covers 拉萨 or the asset's region (xizang).",
    ),
    (
        "nobody covers the city, region unknown",
        replace(LHASA, region=None),
        [BASE, replace(XIZANG, cities=frozenset(), four_hour_cities=frozenset())],
        "No station covers 拉萨, and the asset's region is unknown.",
    ),
    (
        "the city is covered but not for servers",
        LHASA,
        [replace(XIZANG, product_lines=frozenset({"laptop"})), BASE],
        "No station serving 拉萨 repairs servers.",
    ),
    (
        "the region is covered but not for servers",
        LHASA,
        [replace(XIZANG, cities=frozenset({"日喀则"}), product_lines=frozenset({"laptop"}))],
        "No station serving 拉萨 repairs servers.",
    ),
    (
        "servers repaired elsewhere do not count",
        LHASA,
        [
            replace(XIZANG, product_lines=frozenset({"laptop"})),
            replace(BASE, product_lines=frozenset({"server"})),
        ],
        "No station serving 拉萨 repairs servers.",
    ),
    (
        "no 4-hour capability",
        replace(LHASA, service_level="onsite_4h"),
        [XIZANG],
        "No station that could take this repair has 4-hour capability in 拉萨.",
    ),
    (
        "4-hour capability only for another product line",
        replace(LHASA, service_level="onsite_4h"),
        [
            replace(
                XIZANG,
                code="LS02",
                product_lines=frozenset({"laptop"}),
                four_hour_cities=frozenset({"拉萨"}),
            ),
            XIZANG,
        ],
        "No station that could take this repair has 4-hour capability in 拉萨.",
    ),
    (
        "every able station sent it back",
        replace(LHASA, returned_by=frozenset({"LS01", "LS02"})),
        [XIZANG, replace(XIZANG, code="LS02", open_tickets=10)],
        "Every station that could take this repair has sent it back; a supervisor chooses where "
        "it goes.",
    ),
    (
        "the one that did not send it back is full",
        replace(LHASA, returned_by=frozenset({"LS01"})),
        [XIZANG, replace(XIZANG, code="LS02", open_tickets=10)],
        "Every station that could take this repair is at capacity; the repair waits until one "
        "frees capacity.",
    ),
    (
        "all suspended",
        LHASA,
        [replace(XIZANG, status="suspended"), replace(XIZANG, code="LS02", status="suspended")],
        "Every station that could take this repair is suspended.",
    ),
    (
        "all at capacity",
        LHASA,
        [
            replace(XIZANG, open_tickets=10),
            replace(XIZANG, code="LS02", open_tickets=3, capacity=3),
        ],
        "Every station that could take this repair is at capacity; the repair waits until one "
        "frees capacity.",
    ),
    (
        "capacity 0 counts as at capacity",
        LHASA,
        [replace(XIZANG, capacity=0, open_tickets=0)],
        "Every station that could take this repair is at capacity; the repair waits until one "
        "frees capacity.",
    ),
    (
        "some at capacity, some suspended",
        LHASA,
        [replace(XIZANG, open_tickets=10), replace(XIZANG, code="LS02", status="suspended")],
        "The stations that could take this repair are at capacity or suspended; the repair waits "
        "until one frees capacity.",
    ),
    (
        "probation at capacity is still at capacity",
        LHASA,
        [replace(XIZANG, status="probation", open_tickets=10)],
        "Every station that could take this repair is at capacity; the repair waits until one "
        "frees capacity.",
    ),
]


@pytest.mark.parametrize(
    ("dispatch_request", "stations", "expected"),
    [row[1:] for row in WAITING],
    ids=[row[0] for row in WAITING],
)
def test_waiting_reason(dispatch_request, stations, expected):
    decision = decide_dispatch(dispatch_request, stations)
    assert decision.state == "waiting"
    assert decision.station is None
    assert decision.winner is None
    assert decision.reason.render() == expected
    assert not decision.eligible
    assert len(decision.candidates) == len(stations)
    assert all(candidate.reasons for candidate in decision.candidates)
    assert [c.code for c in decision.candidates] == sorted(c.code for c in stations)


def test_a_waiting_repair_is_dispatched_once_capacity_frees():
    full = replace(XIZANG, open_tickets=10)
    assert decide_dispatch(LHASA, [full]).state == "waiting"
    assert decide_dispatch(LHASA, [replace(full, open_tickets=9)]).station == "LS01"


def test_candidates_are_listed_eligible_by_rank_then_ineligible_by_code():
    stations = [
        ranked("Z", 10, 10),
        ranked("B", 2, 10),
        ranked("Y", 0, 10, status="suspended"),
        ranked("A", 5, 10),
    ]
    decision = decide_dispatch(REQUEST, stations)
    assert [(c.code, c.rank) for c in decision.candidates] == [
        ("B", 1),
        ("A", 2),
        ("Y", None),
        ("Z", None),
    ]


# --------------------------------------------------------------------------------------
# Stored decisions
# --------------------------------------------------------------------------------------

STORED = [
    decide_dispatch(REQUEST, [ranked("A", 1, 10), ranked("B", 1, 10, None), ranked("C", 10, 10)]),
    decide_dispatch(request(city="绍兴"), [BASE]),
    decide_dispatch(LHASA, [BASE]),
    decide_dispatch(LHASA, []),
    decide_dispatch(REQUEST, [ranked("A", 1, 10, 0.123456789, "probation")]),
]


@pytest.mark.parametrize("decision", STORED, ids=range(len(STORED)))
def test_decision_json_round_trip(decision):
    stored = json.loads(json.dumps(decision.to_json(), ensure_ascii=False))
    assert DispatchDecision.from_json(stored) == decision
    assert DispatchDecision.from_json(stored).to_json() == stored


def test_decision_json_shape():
    data = STORED[0].to_json()
    assert data["state"] == "dispatched"
    assert data["station"] == "A"
    assert data["reason"]["message"].startswith("Chosen")
    assert data["candidates"][0] == {
        "code": "A",
        "name": "Station A",
        "status": "active",
        "open_tickets": 1,
        "capacity": 10,
        "satisfaction": 0.9,
        "eligible": True,
        "rank": 1,
        "reasons": [data["reason"]],
    }
    assert data["candidates"][1]["satisfaction"] is None
    assert data["candidates"][2]["rank"] is None and not data["candidates"][2]["eligible"]
    waiting = STORED[2].to_json()
    assert waiting["state"] == "waiting" and waiting["station"] is None
    assert waiting["reason"]["params"] == {"city": "拉萨", "region": "xizang"}


@pytest.mark.parametrize(
    "data",
    [
        None,
        [],
        "dispatched",
        {},
        {"state": "dispatched"},
        {"state": "lost", "station": None, "reason": None, "candidates": []},
        {"state": "waiting", "station": None, "reason": None, "candidates": []},
        {"state": "waiting", "station": "A", "reason": {"message": "x"}, "candidates": []},
        {"state": "dispatched", "station": None, "reason": None, "candidates": []},
        {"state": "waiting", "station": None, "reason": "text", "candidates": []},
        {"state": "waiting", "station": None, "reason": {"message": "x"}, "candidates": "A"},
        {"state": "waiting", "station": None, "reason": {"message": "x"}, "candidates": [{}]},
        {
            "state": "waiting",
            "station": None,
            "reason": {"message": "x"},
            "candidates": [
                {
                    "code": "A",
                    "name": "A",
                    "status": "active",
                    "open_tickets": 1,
                    "capacity": 2,
                    "eligible": True,
                    "rank": None,
                }
            ],
        },
        {
            "state": "waiting",
            "station": None,
            "reason": {"message": "x"},
            "candidates": [
                {
                    "code": "A",
                    "name": "A",
                    "status": "gone",
                    "open_tickets": 1,
                    "capacity": 2,
                    "eligible": False,
                }
            ],
        },
    ],
)
def test_decision_from_json_rejects_garbage(data):
    with pytest.raises(ValueError):
        DispatchDecision.from_json(data)


def test_decision_rejects_duplicate_candidates():
    candidate = STORED[0].candidates[0]
    with pytest.raises(ValueError):
        DispatchDecision(state="dispatched", station="A", reason=None, candidates=(candidate,) * 2)


# --------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"status": "closed"}, ValueError),
        ({"code": ""}, ValueError),
        ({"code": None}, TypeError),
        ({"cities": "杭州"}, TypeError),
        ({"cities": frozenset({""})}, ValueError),
        ({"cities": frozenset({"杭州"}), "four_hour_cities": frozenset({"上海"})}, ValueError),
        ({"product_lines": frozenset({"phone"})}, ValueError),
        ({"capacity": -1}, ValueError),
        ({"capacity": 1.5}, TypeError),
        ({"capacity": True}, TypeError),
        ({"open_tickets": -1}, ValueError),
        ({"satisfaction": 1.01}, ValueError),
        ({"satisfaction": -0.1}, ValueError),
        ({"satisfaction": math.nan}, ValueError),
        ({"satisfaction": "0.9"}, TypeError),
        ({"satisfaction": True}, TypeError),
    ],
)
def test_station_candidate_rejects_bad_values(changes, error):
    with pytest.raises(error):
        replace(BASE, **changes)


def test_station_candidate_normalises_collections_and_scores():
    candidate = replace(
        BASE,
        cities=["杭州", "杭州", "宁波"],
        four_hour_cities=("杭州",),
        product_lines={"laptop"},
        satisfaction=Decimal("0.9"),
    )
    assert candidate.cities == frozenset({"杭州", "宁波"})
    assert isinstance(candidate.four_hour_cities, frozenset)
    assert candidate.satisfaction == 0.9
    assert replace(BASE, satisfaction=1).satisfaction == 1.0
    assert hash(candidate) == hash(replace(candidate))


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"city": ""}, ValueError),
        ({"city": None}, TypeError),
        ({"region": 3}, TypeError),
        ({"product_line": "phone"}, ValueError),
        ({"service_level": "gold"}, ValueError),
        ({"returned_by": "LS01"}, TypeError),
        ({"returned_by": [""]}, ValueError),
    ],
)
def test_dispatch_request_rejects_bad_values(changes, error):
    with pytest.raises(error):
        replace(REQUEST, **changes)


def test_decide_dispatch_rejects_bad_candidates():
    with pytest.raises(ValueError, match="twice"):
        decide_dispatch(REQUEST, [BASE, replace(BASE, name="other")])
    with pytest.raises(TypeError):
        decide_dispatch(REQUEST, [BASE, "HZ02"])
    with pytest.raises(TypeError):
        decide_dispatch({"city": "杭州"}, [BASE])


def test_candidates_may_be_any_iterable():
    decision = decide_dispatch(REQUEST, (s for s in [BASE, ranked("B", 0, 10)]))
    assert decision.station == "B"


def test_levels_and_statuses_match_the_rest_of_the_system():
    assert rules.SERVICE_LEVELS == SERVICE_LEVELS
    assert STATION_STATUSES == ("active", "probation", "suspended")


# --------------------------------------------------------------------------------------
# Messages: extractable, well-formed, all reachable, all rendering
# --------------------------------------------------------------------------------------

RULES_SOURCE = Path(rules.__file__)
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _extracted_messages(path: Path) -> set[str]:
    from babel.messages.extract import extract_from_file

    return {
        message
        for _lineno, message, _comments, _context in extract_from_file(
            "python", str(path), keywords={"N_": None}
        )
    }


def _scenario_decisions():
    """Every table above, plus the product lines: together they reach every message."""
    for _id, changes, request_changes, others, _expected in ELIGIBILITY:
        yield decide_dispatch(request(**request_changes), [station("HZ01", **changes), *others])
    for _id, stations, _order, _why in RANKING:
        yield decide_dispatch(REQUEST, stations)
    for _id, winner, loser, _expected in LOSING:
        yield decide_dispatch(REQUEST, [winner, loser])
    for _id, dispatch_request, stations, _expected in WAITING:
        yield decide_dispatch(dispatch_request, stations)
    for product_line in PRODUCT_LINES:
        yield decide_dispatch(request(product_line=product_line), [BASE])
        yield decide_dispatch(replace(LHASA, product_line=product_line), [XIZANG])
    yield from STORED


def _all_reasons(decision: DispatchDecision):
    if decision.reason is not None:
        yield decision.reason
    for candidate in decision.candidates:
        yield from candidate.reasons


def strict_gettext(message: str) -> str:
    assert isinstance(message, str) and message
    return message


def test_every_message_is_extractable_reached_and_renders():
    extracted = _extracted_messages(RULES_SOURCE)
    seen: set[str] = set()
    for decision in _scenario_decisions():
        for reason in _all_reasons(decision):
            seen.add(reason.message)
            assert reason.message in extracted, reason.message
            assert set(PLACEHOLDER.findall(reason.message)) <= set(reason.params)
            assert all(isinstance(value, str) for value in reason.params.values())
            rendered = reason.render(strict_gettext)
            assert "%(" not in rendered and "%%" not in rendered
    assert seen == extracted


def test_messages_are_well_formed_python_format():
    messages = _extracted_messages(RULES_SOURCE)
    assert len(messages) > 30
    for message in messages:
        assert "%" not in PLACEHOLDER.sub("", message), message
        assert message[0].isupper() or message[0].isdigit(), message
        assert message.endswith("."), message
        assert "_" not in PLACEHOLDER.sub("", message), message


def test_a_reason_translates_when_rendered():
    decision = decide_dispatch(LHASA, [BASE])
    catalog = {decision.reason.message: "没有服务站覆盖%(city)s或该资产所在大区（%(region)s）。"}
    assert decision.reason.render(lambda message: catalog.get(message, message)) == (
        "没有服务站覆盖拉萨或该资产所在大区（xizang）。"
    )


# --------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------

CITIES = ("杭州", "宁波", "温州")
REGIONS = ("huadong", "huanan")
CODES = ("A", "B", "C", "D", "E", "F", "G")


@st.composite
def candidates_strategy(draw, code):
    cities = draw(st.frozensets(st.sampled_from(CITIES)))
    four_hour = draw(st.frozensets(st.sampled_from(sorted(cities)))) if cities else frozenset()
    capacity = draw(st.integers(min_value=0, max_value=6))
    return StationCandidate(
        code=code,
        name=f"Station {code}",
        region=draw(st.sampled_from(REGIONS)),
        status=draw(st.sampled_from(STATION_STATUSES)),
        cities=cities,
        four_hour_cities=four_hour,
        product_lines=draw(st.frozensets(st.sampled_from(("laptop", "server", "aio")), min_size=1)),
        capacity=capacity,
        open_tickets=draw(st.integers(min_value=0, max_value=capacity + 1)),
        satisfaction=draw(
            st.one_of(
                st.sampled_from([None, 0.5, 0.88, 0.9, 1.0]),
                st.floats(min_value=0, max_value=1, allow_nan=False),
            )
        ),
    )


@st.composite
def station_lists(draw):
    codes = draw(st.lists(st.sampled_from(CODES), unique=True, max_size=len(CODES)))
    return [draw(candidates_strategy(code)) for code in codes]


requests = st.builds(
    DispatchRequest,
    city=st.sampled_from((*CITIES, "拉萨")),
    region=st.sampled_from((*REGIONS, None)),
    product_line=st.sampled_from(("laptop", "server", "aio")),
    service_level=st.sampled_from(SERVICE_LEVELS),
    returned_by=st.frozensets(st.sampled_from(CODES), max_size=2),
)


def eligible_by_definition(candidate: StationCandidate, req: DispatchRequest, stations) -> bool:
    """The design's eligibility rule, written independently of the implementation."""
    if any(req.city in other.cities for other in stations):
        covers = req.city in candidate.cities
    else:
        covers = req.region is not None and candidate.region == req.region
    return (
        candidate.status != "suspended"
        and covers
        and req.product_line in candidate.product_lines
        and (req.service_level != "onsite_4h" or req.city in candidate.four_hour_cities)
        and candidate.open_tickets < candidate.capacity
        and candidate.code not in req.returned_by
    )


@given(req=requests, stations=station_lists())
def test_property_eligibility_matches_the_definition(req, stations):
    decision = decide_dispatch(req, stations)
    by_code = {candidate.code: candidate for candidate in stations}
    assert {c.code for c in decision.candidates} == set(by_code)
    for found in decision.candidates:
        assert found.eligible == eligible_by_definition(by_code[found.code], req, stations)
        assert found.reasons  # every candidate says why it won, lost or is out


@given(req=requests, stations=station_lists())
def test_property_the_winner_is_eligible_and_best(req, stations):
    decision = decide_dispatch(req, stations)
    by_code = {candidate.code: candidate for candidate in stations}
    eligible = [c for c in stations if eligible_by_definition(c, req, stations)]
    if not eligible:
        assert decision.state == "waiting" and decision.station is None
        assert decision.reason is not None
        return
    assert decision.state == "dispatched"
    winner = by_code[decision.station]
    assert winner.status != "suspended"
    assert winner.open_tickets < winner.capacity
    assert decision.winner.eligible and decision.winner.rank == 1
    assert not any(ranking_key(other) < ranking_key(winner) for other in eligible)
    # Ranks follow the key, 1..n without gaps.
    ranked_codes = [c.code for c in decision.eligible]
    assert ranked_codes == [c.code for c in sorted(eligible, key=ranking_key)]
    assert [c.rank for c in decision.eligible] == list(range(1, len(eligible) + 1))
    # An active eligible station always beats every probation one.
    if any(c.status == "active" for c in eligible):
        assert winner.status == "active"


@given(req=requests, stations=station_lists(), data=st.data())
def test_property_decision_does_not_depend_on_candidate_order(req, stations, data):
    shuffled = data.draw(st.permutations(stations))
    assert decide_dispatch(req, shuffled) == decide_dispatch(req, stations)


@given(req=requests, stations=station_lists())
def test_property_a_suspended_station_never_wins(req, stations):
    decision = decide_dispatch(req, stations)
    suspended = {c.code for c in stations if c.status == "suspended"}
    assert decision.station not in suspended
    assert not any(c.eligible for c in decision.candidates if c.code in suspended)


@given(req=requests, stations=station_lists())
def test_property_json_round_trip_and_rendering(req, stations):
    decision = decide_dispatch(req, stations)
    stored = json.loads(json.dumps(decision.to_json()))
    assert DispatchDecision.from_json(stored) == decision
    for reason in _all_reasons(decision):
        assert isinstance(reason, Reason)
        assert "%(" not in reason.render(strict_gettext)
