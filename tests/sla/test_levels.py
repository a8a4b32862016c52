"""Table and property tests for the effective service level."""

from __future__ import annotations

import itertools
import json
import re
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from servicedesk.sla import levels
from servicedesk.sla.levels import SERVICE_LEVELS, LevelDecision, effective_service_level
from servicedesk.warranty.coverage import (
    HARDWARE_OFFERINGS,
    OFFERINGS,
    EntitlementTerm,
    Reason,
    decide_coverage,
)

D = date.fromisoformat


def T(offering: str, start: str, end: str) -> EntitlementTerm:
    return EntitlementTerm(offering, D(start), D(end))


def level_of(terms, on, four_hour_available=True) -> LevelDecision:
    return effective_service_level(
        entitlements=terms, on=D(on), four_hour_available=four_hour_available
    )


def texts(decision) -> list[str]:
    return [reason.render() for reason in decision.reasons]


START, END = "2024-03-01", "2027-02-28"
DAY_BEFORE, DAY_AFTER = "2024-02-29", "2027-03-01"
MID = "2025-07-15"

APPLIES = {
    "onsite_4h": (
        "4-hour onsite response applies until {end}: after a phone diagnosis, an engineer "
        "or the part is on site within 4 hours, around the clock."
    ),
    "onsite": (
        "Onsite service applies until {end}: an engineer comes to the site by the next "
        "business day."
    ),
    "depot": (
        "Carry-in (depot) service applies until {end}: the machine is brought or shipped "
        "to a repair station."
    ),
}
HAS_FOUR_HOUR = "This machine has 4-hour onsite response until {end}."
FOUR_HOUR_UNAVAILABLE = (
    "4-hour response is not available in this city; next-business-day onsite service applies."
)
NEVER = "This machine has never had a hardware warranty, so this repair is billable."
NOT_YET = "No hardware warranty is in force yet, so this repair is billable."


def test_service_levels_best_first():
    assert SERVICE_LEVELS == ("onsite_4h", "onsite", "depot", "billable")


# --------------------------------------------------------------------------------------
# Every combination of active hardware offerings, with and without 4-hour capability
# --------------------------------------------------------------------------------------


def _expected_level(active: set[str], four_hour_available: bool) -> str:
    if "onsite_4h" in active:
        return "onsite_4h" if four_hour_available else "onsite"
    if "onsite" in active:
        return "onsite"
    if "depot" in active:
        return "depot"
    return "billable"


COMBINATIONS = [
    set(combo)
    for size in range(len(HARDWARE_OFFERINGS) + 1)
    for combo in itertools.combinations(HARDWARE_OFFERINGS, size)
]


@pytest.mark.parametrize("active", COMBINATIONS, ids=lambda s: "+".join(sorted(s)) or "nothing")
@pytest.mark.parametrize("four_hour_available", [True, False])
@pytest.mark.parametrize(
    "extras", [[], [T("adp", START, END), T("kyd", START, END)]], ids=["", "adp-kyd"]
)
def test_level_for_every_combination(active, four_hour_available, extras):
    terms = [T(offering, START, END) for offering in active] + extras
    decision = level_of(terms, MID, four_hour_available)
    expected = _expected_level(active, four_hour_available)
    assert decision.level == expected
    if expected == "billable":
        assert texts(decision) == [NEVER]
    elif "onsite_4h" in active and not four_hour_available:
        assert texts(decision) == [HAS_FOUR_HOUR.format(end=END), FOUR_HOUR_UNAVAILABLE]
    else:
        assert texts(decision) == [APPLIES[expected].format(end=END)]


@pytest.mark.parametrize("offering", HARDWARE_OFFERINGS)
@pytest.mark.parametrize(
    ("on", "active"), [(DAY_BEFORE, False), (START, True), (END, True), (DAY_AFTER, False)]
)
def test_level_boundaries(offering, on, active):
    decision = level_of([T(offering, START, END)], on)
    assert decision.level == (offering if active else "billable")


@pytest.mark.parametrize(
    ("terms", "on", "four_hour_available", "level", "expected"),
    [
        pytest.param(
            [T("onsite_4h", START, END)],
            MID,
            False,
            "onsite",
            [HAS_FOUR_HOUR.format(end=END), FOUR_HOUR_UNAVAILABLE],
            id="4h-without-separate-onsite-falls-back-to-onsite",
        ),
        pytest.param(
            [T("onsite_4h", START, END), T("depot", START, "2030-01-01")],
            MID,
            False,
            "onsite",
            [HAS_FOUR_HOUR.format(end=END), FOUR_HOUR_UNAVAILABLE],
            id="fallback-beats-depot",
        ),
        pytest.param(
            [T("onsite_4h", START, "2025-02-28"), T("onsite", START, END)],
            "2025-03-01",
            True,
            "onsite",
            [APPLIES["onsite"].format(end=END)],
            id="4h-expired-onsite-remains",
        ),
        pytest.param(
            [T("onsite_4h", "2026-01-01", END), T("depot", START, END)],
            MID,
            True,
            "depot",
            [APPLIES["depot"].format(end=END)],
            id="4h-not-started-depot-applies",
        ),
        pytest.param(
            [T("onsite", "2024-01-01", "2025-12-31"), T("onsite", "2026-01-01", "2027-12-31")],
            MID,
            True,
            "onsite",
            [APPLIES["onsite"].format(end="2027-12-31")],
            id="renewal-chain-real-end",
        ),
        pytest.param(
            [
                T("onsite_4h", "2024-01-01", "2025-12-31"),
                T("onsite_4h", "2025-06-01", "2026-12-31"),
            ],
            MID,
            False,
            "onsite",
            [HAS_FOUR_HOUR.format(end="2026-12-31"), FOUR_HOUR_UNAVAILABLE],
            id="overlapping-4h-terms",
        ),
        pytest.param(
            [T("depot", "2020-01-01", "2022-12-31"), T("onsite", "2020-01-01", "2023-02-28")],
            MID,
            True,
            "billable",
            ["Onsite service expired on 2023-02-28, so this repair is billable."],
            id="expired-names-latest",
        ),
        pytest.param(
            [T("onsite_4h", "2026-01-01", "2028-12-31")],
            MID,
            True,
            "billable",
            [
                NOT_YET,
                "4-hour onsite response starts on 2026-01-01 and does not cover repairs "
                "before then.",
            ],
            id="not-started",
        ),
        pytest.param(
            [T("adp", START, END), T("kyd", START, END)],
            MID,
            True,
            "billable",
            [NEVER],
            id="adp-and-kyd-give-no-service-level",
        ),
        pytest.param([], MID, False, "billable", [NEVER], id="nothing"),
    ],
)
def test_level_explanations(terms, on, four_hour_available, level, expected):
    decision = level_of(terms, on, four_hour_available)
    assert decision.level == level
    assert texts(decision) == expected


def test_fallback_reason_is_machine_readable():
    decision = level_of([T("onsite_4h", START, END)], MID, four_hour_available=False)
    fallback = decision.reasons[-1]
    assert fallback.message == FOUR_HOUR_UNAVAILABLE
    assert fallback.params == {"offering": "onsite_4h", "end": END}


def test_level_reasons_translate():
    decision = level_of([T("onsite_4h", START, END)], MID, four_hour_available=False)
    catalog = {FOUR_HOUR_UNAVAILABLE: "该城市不提供4小时响应服务，按下一工作日上门服务处理。"}
    assert (
        decision.render_reasons(lambda s: catalog.get(s, s))[-1] == catalog[FOUR_HOUR_UNAVAILABLE]
    )


def test_entitlements_may_be_any_iterable():
    decision = effective_service_level(
        entitlements=(t for t in [T("depot", START, END)]), on=D(MID), four_hour_available=True
    )
    assert decision.level == "depot"


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"on": datetime(2025, 7, 15, 9, 0)}, TypeError),
        ({"on": "2025-07-15"}, TypeError),
        ({"entitlements": ["onsite"]}, TypeError),
    ],
)
def test_bad_input_is_rejected(kwargs, error):
    arguments = {
        "entitlements": [T("onsite", START, END)],
        "on": D(MID),
        "four_hour_available": True,
    }
    with pytest.raises(error):
        effective_service_level(**{**arguments, **kwargs})


def test_level_decision_json_round_trip_and_validation():
    decision = level_of([T("onsite_4h", START, END)], MID, four_hour_available=False)
    stored = json.loads(json.dumps(decision.to_json()))
    assert stored["level"] == "onsite"
    assert LevelDecision.from_json(stored) == decision
    with pytest.raises(ValueError):
        LevelDecision(level="gold", reasons=())
    with pytest.raises(TypeError):
        LevelDecision(level="depot", reasons=("text",))
    for garbage in (None, [], {"reasons": []}, {"level": 3}):
        with pytest.raises(ValueError):
            LevelDecision.from_json(garbage)
    assert isinstance(LevelDecision(level="depot", reasons=[]).reasons, tuple)


# --------------------------------------------------------------------------------------
# Messages
# --------------------------------------------------------------------------------------

LEVELS_SOURCE = Path(levels.__file__)
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _extracted_messages(path: Path) -> set[str]:
    from babel.messages.extract import extract_from_file

    return {
        message
        for _lineno, message, _comments, _context in extract_from_file(
            "python", str(path), keywords={"N_": None}
        )
    }


def test_every_level_message_is_extractable_reached_and_renders():
    extracted = _extracted_messages(LEVELS_SOURCE)
    seen: set[str] = set()
    term_sets = [
        [T(offering, START, END) for offering in combo] for combo in map(tuple, COMBINATIONS)
    ]
    term_sets += [[*terms, T("adp", START, END)] for terms in term_sets]
    from servicedesk.sla.levels import repair_service_level
    from servicedesk.warranty.coverage import DAMAGE_TYPES, decide_coverage

    on = date.fromisoformat(MID)
    decisions = []
    for terms, available in itertools.product(term_sets, (True, False)):
        decisions.append(level_of(terms, MID, available))
        for damage in DAMAGE_TYPES:
            coverage = decide_coverage(
                entitlements=terms, product_line="laptop", on=on, damage=damage
            )
            decisions.append(
                repair_service_level(
                    coverage, entitlements=terms, on=on, four_hour_available=available
                )
            )
    for decision in decisions:
        for reason in decision.reasons:
            assert set(PLACEHOLDER.findall(reason.message)) <= set(reason.params)
            assert "%(" not in reason.render()
            if reason.message in extracted:
                seen.add(reason.message)
    assert seen == extracted
    for message in extracted:
        assert "%" not in PLACEHOLDER.sub("", message), message
        assert message.endswith("."), message


# --------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------

DAY0 = date(2020, 1, 1)
dates = st.integers(min_value=0, max_value=4000).map(lambda n: DAY0 + timedelta(days=n))


@st.composite
def terms_strategy(draw):
    offering = draw(st.sampled_from(OFFERINGS))
    start = draw(dates)
    end = start + timedelta(days=draw(st.integers(min_value=0, max_value=1500)))
    return EntitlementTerm(offering, start, end)


entitlement_lists = st.lists(terms_strategy(), max_size=6)


@given(terms=entitlement_lists, on=dates, four_hour_available=st.booleans())
def test_property_level_is_the_best_active(terms, on, four_hour_available):
    decision = effective_service_level(
        entitlements=terms, on=on, four_hour_available=four_hour_available
    )
    active = {t.offering for t in terms if t.is_active(on)}
    assert decision.level in SERVICE_LEVELS
    assert decision.level == _expected_level(active, four_hour_available)
    assert decision.reasons
    assert all(isinstance(reason, Reason) for reason in decision.reasons)
    for reason in decision.reasons:
        assert "%(" not in reason.render()
    if not four_hour_available:
        assert decision.level != "onsite_4h"
    assert LevelDecision.from_json(json.loads(json.dumps(decision.to_json()))) == decision
    again = effective_service_level(
        entitlements=list(reversed(terms)), on=on, four_hour_available=four_hour_available
    )
    assert again == decision


@given(terms=entitlement_lists, on=dates, four_hour_available=st.booleans())
def test_property_level_agrees_with_hardware_coverage(terms, on, four_hour_available):
    level = effective_service_level(
        entitlements=terms, on=on, four_hour_available=four_hour_available
    )
    cover = decide_coverage(entitlements=terms, product_line="workstation", on=on)
    assert (level.level == "billable") == cover.billable
    if cover.covered:
        best = cover.basis[0]
        assert level.level == (best if best != "onsite_4h" or four_hour_available else "onsite")


@given(terms=entitlement_lists, extra=terms_strategy(), on=dates, four_hour_available=st.booleans())
def test_property_more_entitlements_never_lower_the_level(terms, extra, on, four_hour_available):
    before = effective_service_level(
        entitlements=terms, on=on, four_hour_available=four_hour_available
    )
    after = effective_service_level(
        entitlements=[*terms, extra], on=on, four_hour_available=four_hour_available
    )
    assert SERVICE_LEVELS.index(after.level) <= SERVICE_LEVELS.index(before.level)


@given(terms=entitlement_lists, on=dates)
def test_property_four_hour_capability_never_lowers_the_level(terms, on):
    with_4h = effective_service_level(entitlements=terms, on=on, four_hour_available=True)
    without = effective_service_level(entitlements=terms, on=on, four_hour_available=False)
    assert SERVICE_LEVELS.index(with_4h.level) <= SERVICE_LEVELS.index(without.level)


def _coverage(**kwargs):
    from servicedesk.warranty.coverage import decide_coverage

    return decide_coverage(product_line="laptop", on=date(2026, 6, 1), **kwargs)


@pytest.mark.parametrize(
    ("terms", "damage", "four_hour", "expected"),
    [
        ([("depot", "2025-01-01", "2027-01-01")], "none", False, "depot"),
        ([("onsite_4h", "2025-01-01", "2027-01-01")], "none", True, "onsite_4h"),
        ([("onsite_4h", "2025-01-01", "2027-01-01")], "none", False, "onsite"),
        ([("adp", "2025-01-01", "2027-01-01")], "liquid", False, "depot"),
        (
            [("adp", "2025-01-01", "2027-01-01"), ("onsite", "2025-01-01", "2027-01-01")],
            "drop",
            False,
            "onsite",
        ),
        ([("onsite", "2025-01-01", "2027-01-01")], "liquid", False, "billable"),
        ([("depot", "2020-01-01", "2022-01-01")], "none", False, "billable"),
    ],
)
def test_repair_service_level(terms, damage, four_hour, expected):
    from servicedesk.sla.levels import repair_service_level

    entitlements = [
        EntitlementTerm(o, date.fromisoformat(s), date.fromisoformat(e)) for o, s, e in terms
    ]
    coverage = _coverage(entitlements=entitlements, damage=damage)
    decision = repair_service_level(
        coverage, entitlements=entitlements, on=date(2026, 6, 1), four_hour_available=four_hour
    )
    assert decision.level == expected
    assert (decision.level == "billable") == coverage.billable
    for reason in decision.reasons:
        assert reason.render()
