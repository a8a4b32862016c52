"""Table and property tests for the pure warranty coverage rules."""

from __future__ import annotations

import itertools
import json
import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from servicedesk.warranty import coverage
from servicedesk.warranty.coverage import (
    ADP_PRODUCT_LINES,
    CONSUMABLE_PARTS,
    DAMAGE_TYPES,
    HARDWARE_OFFERINGS,
    N_,
    OFFERINGS,
    PART_KINDS,
    PRODUCT_LINES,
    CoverageDecision,
    EntitlementTerm,
    Reason,
    decide_coverage,
)

D = date.fromisoformat


def T(offering: str, start: str, end: str) -> EntitlementTerm:
    return EntitlementTerm(offering, D(start), D(end))


def texts(decision) -> list[str]:
    return [reason.render() for reason in decision.reasons]


def strict_gettext(message: str) -> str:
    """Identity, but insists that every message is a real string with named placeholders."""
    assert isinstance(message, str) and message
    return message


def decide(terms, on, product_line="laptop", **kwargs) -> CoverageDecision:
    return decide_coverage(entitlements=terms, product_line=product_line, on=D(on), **kwargs)


# Standard terms used across the tables: hardware 2024-03-01..2027-02-28.
START, END = "2024-03-01", "2027-02-28"
DAY_BEFORE, DAY_AFTER = "2024-02-29", "2027-03-01"
MID = "2025-07-15"

COVERED_TEXT = {
    "onsite_4h": "Covered by 4-hour onsite response until {end}.",
    "onsite": "Covered by onsite service until {end}.",
    "depot": "Covered by the carry-in (depot) warranty until {end}.",
    "adp": "Covered by accidental damage protection until {end}.",
}
EXPIRED_TEXT = {
    "onsite_4h": "4-hour onsite response expired on {end}, so this repair is billable.",
    "onsite": "Onsite service expired on {end}, so this repair is billable.",
    "depot": "The carry-in (depot) warranty expired on {end}, so this repair is billable.",
}
STARTS_TEXT = {
    "onsite_4h": "4-hour onsite response starts on {start} and does not cover repairs before then.",
    "onsite": "Onsite service starts on {start} and does not cover repairs before then.",
    "depot": (
        "The carry-in (depot) warranty starts on {start} and does not cover repairs before then."
    ),
}
NOT_YET = "No hardware warranty is in force yet, so this repair is billable."
NEVER = "This machine has never had a hardware warranty, so this repair is billable."
DAMAGE_TEXT = {
    "liquid": "The damage was caused by a liquid spill, which is accidental damage.",
    "drop": "The damage was caused by a drop or collision, which is accidental damage.",
    "pressure": "The damage was caused by external pressure, which is accidental damage.",
    "surge": "The damage was caused by an abnormal power surge, which is accidental damage.",
}
HARDWARE_NOTE = (
    "The hardware warranty, valid until {end}, covers hardware faults only, not accidental damage."
)
ADP_NOT_ELIGIBLE = (
    "Accidental damage protection is only available for laptops and all-in-ones, "
    "so accidental damage to this machine is billable."
)
ADP_NEVER = "This machine has no accidental damage protection, so this repair is billable."
ADP_EXPIRED = "Accidental damage protection expired on {end}, so this repair is billable."
ADP_NOT_YET = "Accidental damage protection is not in force yet, so this repair is billable."
ADP_STARTS = (
    "Accidental damage protection starts on {start} and does not cover repairs before then."
)
ADP_EXHAUSTED = (
    "Accidental damage protection is used up: repairs under it already total {spent}, "
    "and its limit is the purchase price of {limit}, so this repair is billable."
)
ADP_USAGE = (
    "Repairs under accidental damage protection so far total {spent} "
    "of its {limit} limit (the purchase price)."
)
CONSUMABLE_TEXT = {
    "battery": "Batteries are consumable parts and are not covered by the warranty, "
    "so this repair is billable.",
    "keycaps": "Keyboard keycaps are consumable parts and are not covered by the warranty, "
    "so this repair is billable.",
    "adapter": "Power adapters are consumable parts and are not covered by the warranty, "
    "so this repair is billable.",
    "cable": "Cables are consumable parts and are not covered by the warranty, "
    "so this repair is billable.",
}
KYD_KEEPS = "The replaced drive stays with the customer under keep-your-drive, valid until {end}."
KYD_EXPIRED = "Keep-your-drive expired on {end}, so the defective drive is returned to the maker."
KYD_NONE = "Without keep-your-drive protection, the defective drive is returned to the maker."


# --------------------------------------------------------------------------------------
# Constants
# --------------------------------------------------------------------------------------


def test_constants_are_consistent():
    assert OFFERINGS == ("depot", "onsite", "onsite_4h", "adp", "kyd")
    assert HARDWARE_OFFERINGS == ("depot", "onsite", "onsite_4h")
    assert set(HARDWARE_OFFERINGS) <= set(OFFERINGS)
    assert PRODUCT_LINES == (
        "laptop",
        "desktop",
        "aio",
        "workstation",
        "server",
        "tablet",
        "monitor",
    )
    assert ADP_PRODUCT_LINES == ("laptop", "aio")
    assert set(ADP_PRODUCT_LINES) <= set(PRODUCT_LINES)
    assert DAMAGE_TYPES == ("none", "liquid", "drop", "pressure", "surge")
    assert frozenset({"battery", "keycaps", "adapter", "cable"}) == CONSUMABLE_PARTS
    assert set(PART_KINDS) >= CONSUMABLE_PARTS
    assert {"drive", "motherboard", "screen", "other"} <= set(PART_KINDS)
    assert len(set(PART_KINDS)) == len(PART_KINDS)
    assert N_("Anything %(x)s") == "Anything %(x)s"


# --------------------------------------------------------------------------------------
# EntitlementTerm
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("on", "active", "days_left"),
    [
        ("2024-02-28", False, 1096),
        ("2024-02-29", False, 1095),  # day before start
        ("2024-03-01", True, 1094),  # start day
        ("2025-07-15", True, 593),
        ("2027-02-27", True, 1),
        ("2027-02-28", True, 0),  # end day
        ("2027-03-01", False, -1),  # day after end
        ("2030-01-01", False, -1038),
    ],
)
def test_entitlement_term_is_active_and_days_left(on, active, days_left):
    term = T("onsite", START, END)
    assert term.is_active(D(on)) is active
    assert term.days_left(D(on)) == days_left


def test_single_day_term_is_active_on_that_day_only():
    term = T("depot", "2025-05-05", "2025-05-05")
    assert [term.is_active(D(d)) for d in ("2025-05-04", "2025-05-05", "2025-05-06")] == [
        False,
        True,
        False,
    ]


def test_entitlement_term_is_frozen_and_hashable():
    term = T("kyd", START, END)
    assert term == T("kyd", START, END)
    assert len({term, T("kyd", START, END)}) == 1
    with pytest.raises(AttributeError):
        term.end = D("2030-01-01")  # type: ignore[misc]


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (("warranty", D(START), D(END)), ValueError),
        (("", D(START), D(END)), ValueError),
        (("ONSITE", D(START), D(END)), ValueError),
        (("onsite", D(END), D(START)), ValueError),
        (("onsite", START, END), TypeError),
        (("onsite", datetime(2024, 3, 1), D(END)), TypeError),
        (("onsite", D(START), datetime(2027, 2, 28, 23, 59)), TypeError),
        (("onsite", None, D(END)), TypeError),
    ],
)
def test_entitlement_term_rejects_bad_values(args, error):
    with pytest.raises(error):
        EntitlementTerm(*args)


# --------------------------------------------------------------------------------------
# Hardware faults: boundaries for every hardware offering
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("offering", HARDWARE_OFFERINGS)
@pytest.mark.parametrize(
    ("on", "covered"),
    [
        (DAY_BEFORE, False),
        (START, True),
        (MID, True),
        (END, True),
        (DAY_AFTER, False),
    ],
)
@pytest.mark.parametrize("product_line", PRODUCT_LINES)
def test_hardware_fault_boundaries(offering, on, covered, product_line):
    decision = decide([T(offering, START, END)], on, product_line=product_line)
    assert decision.covered is covered
    assert decision.billable is not covered
    if covered:
        assert decision.basis == (offering,)
        assert texts(decision) == [COVERED_TEXT[offering].format(end=END)]
    elif on == DAY_BEFORE:
        assert decision.basis == ()
        assert texts(decision) == [NOT_YET, STARTS_TEXT[offering].format(start=START)]
    else:
        assert decision.basis == ()
        assert texts(decision) == [EXPIRED_TEXT[offering].format(end=END)]


@pytest.mark.parametrize(
    ("terms", "on", "basis", "expected"),
    [
        pytest.param(
            [T("depot", START, END), T("onsite", START, END), T("onsite_4h", START, END)],
            MID,
            ("onsite_4h", "onsite", "depot"),
            [
                "Covered by 4-hour onsite response until 2027-02-28.",
                "Covered by onsite service until 2027-02-28.",
                "Covered by the carry-in (depot) warranty until 2027-02-28.",
            ],
            id="all-three-best-first",
        ),
        pytest.param(
            [T("depot", START, "2025-02-28"), T("onsite", START, END)],
            "2025-01-10",
            ("onsite", "depot"),
            [
                "Covered by onsite service until 2027-02-28.",
                "Covered by the carry-in (depot) warranty until 2025-02-28.",
            ],
            id="onsite-and-depot-different-ends",
        ),
        pytest.param(
            [T("depot", START, "2025-02-28"), T("onsite", START, END)],
            "2025-03-01",
            ("onsite",),
            ["Covered by onsite service until 2027-02-28."],
            id="depot-expired-onsite-still-active",
        ),
        pytest.param(
            [T("onsite", START, "2025-02-28"), T("depot", START, END)],
            "2026-01-01",
            ("depot",),
            ["Covered by the carry-in (depot) warranty until 2027-02-28."],
            id="onsite-expired-depot-still-active",
        ),
        pytest.param(
            [T("onsite", "2024-01-01", "2026-12-31"), T("onsite", "2027-01-01", "2029-12-31")],
            "2026-06-01",
            ("onsite",),
            ["Covered by onsite service until 2029-12-31."],
            id="back-to-back-renewal-reports-real-end",
        ),
        pytest.param(
            [
                T("onsite", "2024-01-01", "2025-12-31"),
                T("onsite", "2026-01-01", "2026-12-31"),
                T("onsite", "2026-06-01", "2028-05-31"),
            ],
            "2024-06-01",
            ("onsite",),
            ["Covered by onsite service until 2028-05-31."],
            id="chained-renewals",
        ),
        pytest.param(
            [T("onsite", "2024-01-01", "2026-12-31"), T("onsite", "2025-01-01", "2027-06-30")],
            "2025-06-01",
            ("onsite",),
            ["Covered by onsite service until 2027-06-30."],
            id="overlapping-same-offering",
        ),
        pytest.param(
            [T("onsite", "2024-01-01", "2026-12-30"), T("onsite", "2027-01-01", "2029-12-31")],
            "2026-06-01",
            ("onsite",),
            ["Covered by onsite service until 2026-12-30."],
            id="renewal-after-a-gap-is-not-chained",
        ),
        pytest.param(
            [T("onsite", START, END), T("onsite", START, END)],
            MID,
            ("onsite",),
            ["Covered by onsite service until 2027-02-28."],
            id="duplicate-terms-counted-once",
        ),
        pytest.param(
            [T("onsite", START, END), T("adp", START, END), T("kyd", START, END)],
            MID,
            ("onsite",),
            ["Covered by onsite service until 2027-02-28."],
            id="adp-and-kyd-are-not-a-hardware-basis",
        ),
    ],
)
def test_hardware_fault_with_several_entitlements(terms, on, basis, expected):
    decision = decide(terms, on)
    assert decision.covered
    assert not decision.billable
    assert decision.basis == basis
    assert texts(decision) == expected


@pytest.mark.parametrize(
    ("terms", "on", "expected"),
    [
        pytest.param([], MID, [NEVER], id="no-entitlements"),
        pytest.param(
            [T("adp", START, END), T("kyd", START, END)],
            MID,
            [NEVER],
            id="adp-and-kyd-only",
        ),
        pytest.param(
            [T("depot", "2020-01-01", "2021-12-31"), T("onsite", "2021-01-01", "2023-06-30")],
            "2024-01-01",
            ["Onsite service expired on 2023-06-30, so this repair is billable."],
            id="latest-expired-is-named",
        ),
        pytest.param(
            [T("onsite", "2020-01-01", "2023-06-30"), T("depot", "2021-01-01", "2023-07-31")],
            "2024-01-01",
            ["The carry-in (depot) warranty expired on 2023-07-31, so this repair is billable."],
            id="latest-expired-even-if-lesser-offering",
        ),
        pytest.param(
            [
                T("depot", "2020-01-01", "2023-06-30"),
                T("onsite_4h", "2020-01-01", "2023-06-30"),
                T("onsite", "2020-01-01", "2023-06-30"),
            ],
            "2024-01-01",
            ["4-hour onsite response expired on 2023-06-30, so this repair is billable."],
            id="same-end-day-names-the-best-offering",
        ),
        pytest.param(
            [T("onsite", "2026-01-01", "2028-12-31")],
            "2025-12-31",
            [
                NOT_YET,
                "Onsite service starts on 2026-01-01 and does not cover repairs before then.",
            ],
            id="not-started-yet",
        ),
        pytest.param(
            [T("onsite", "2020-01-01", "2024-12-30"), T("onsite", "2025-01-01", "2027-12-31")],
            "2024-12-31",
            [
                "Onsite service expired on 2024-12-30, so this repair is billable.",
                "Onsite service starts on 2025-01-01 and does not cover repairs before then.",
            ],
            id="in-the-gap-between-two-terms",
        ),
        pytest.param(
            [T("depot", "2026-03-01", "2027-02-28"), T("onsite", "2026-02-01", "2029-01-31")],
            "2025-01-01",
            [
                NOT_YET,
                "Onsite service starts on 2026-02-01 and does not cover repairs before then.",
            ],
            id="earliest-upcoming-is-named",
        ),
        pytest.param(
            [T("onsite", "2020-01-01", "2022-12-31"), T("adp", "2020-01-01", "2030-12-31")],
            "2024-01-01",
            ["Onsite service expired on 2022-12-31, so this repair is billable."],
            id="active-adp-does-not-cover-a-hardware-fault",
        ),
    ],
)
def test_hardware_fault_out_of_warranty(terms, on, expected):
    decision = decide(terms, on)
    assert decision.billable
    assert not decision.covered
    assert decision.basis == ()
    assert texts(decision) == expected


def test_entitlements_may_be_any_iterable():
    terms = (term for term in [T("depot", START, END), T("onsite", START, END)])
    assert decide(terms, MID).basis == ("onsite", "depot")


# --------------------------------------------------------------------------------------
# Accidental damage: every damage type x product line x adp state
# --------------------------------------------------------------------------------------

ADP_TERMS = {
    "active": [T("adp", "2024-03-01", "2026-02-28")],
    "expired": [T("adp", "2023-03-01", "2025-02-28")],
    "future": [T("adp", "2026-03-01", "2027-02-28")],
    "none": [],
}
DAMAGE_ON = "2025-07-15"


def _expected_damage_texts(damage, product_line, adp_state, hardware_active):
    if damage == "none":
        if hardware_active:
            return [COVERED_TEXT["onsite"].format(end=END)]
        return ["Onsite service expired on 2024-12-31, so this repair is billable."]
    note = [HARDWARE_NOTE.format(end=END)] if hardware_active else []
    head = [DAMAGE_TEXT[damage]]
    if product_line not in ADP_PRODUCT_LINES:
        return [*head, *note, ADP_NOT_ELIGIBLE]
    return {
        "active": [*head, COVERED_TEXT["adp"].format(end="2026-02-28")],
        "expired": [*head, *note, ADP_EXPIRED.format(end="2025-02-28")],
        "future": [*head, *note, ADP_NOT_YET, ADP_STARTS.format(start="2026-03-01")],
        "none": [*head, *note, ADP_NEVER],
    }[adp_state]


@pytest.mark.parametrize(
    ("damage", "product_line", "adp_state", "hardware_active"),
    list(itertools.product(DAMAGE_TYPES, PRODUCT_LINES, ADP_TERMS, (True, False))),
)
def test_damage_matrix(damage, product_line, adp_state, hardware_active):
    hardware = (
        [T("onsite", START, END)] if hardware_active else [T("onsite", "2022-01-01", "2024-12-31")]
    )
    decision = decide(
        hardware + ADP_TERMS[adp_state], DAMAGE_ON, product_line=product_line, damage=damage
    )
    if damage == "none":
        expected_basis = ("onsite",) if hardware_active else ()
    elif product_line in ADP_PRODUCT_LINES and adp_state == "active":
        expected_basis = ("adp",)
    else:
        expected_basis = ()
    assert decision.basis == expected_basis
    assert decision.covered is bool(expected_basis)
    assert decision.billable is not decision.covered
    assert texts(decision) == _expected_damage_texts(
        damage, product_line, adp_state, hardware_active
    )


@pytest.mark.parametrize("damage", ["liquid", "drop", "pressure", "surge"])
@pytest.mark.parametrize(
    ("on", "covered"),
    [("2024-02-29", False), ("2024-03-01", True), ("2026-02-28", True), ("2026-03-01", False)],
)
def test_adp_boundaries(damage, on, covered):
    decision = decide([T("adp", "2024-03-01", "2026-02-28")], on, product_line="aio", damage=damage)
    assert decision.covered is covered
    assert decision.basis == (("adp",) if covered else ())


def test_hardware_warranty_never_covers_accidental_damage():
    terms = [T(offering, START, END) for offering in HARDWARE_OFFERINGS]
    for damage in ("liquid", "drop", "pressure", "surge"):
        for product_line in PRODUCT_LINES:
            decision = decide(terms, MID, product_line=product_line, damage=damage)
            assert decision.billable, (damage, product_line)
            assert HARDWARE_NOTE.format(end=END) in texts(decision)


def test_adp_on_an_ineligible_product_line_still_billable():
    decision = decide(
        [T("adp", START, END), T("onsite", START, END)], MID, product_line="server", damage="drop"
    )
    assert decision.billable
    assert texts(decision)[-1] == ADP_NOT_ELIGIBLE
    assert decision.reasons[-1].params["product_line"] == "server"


def test_adp_expired_and_renewed_later_mentions_both():
    terms = [T("adp", "2022-01-01", "2024-12-31"), T("adp", "2025-09-01", "2026-08-31")]
    decision = decide(terms, "2025-07-15", damage="liquid")
    assert decision.billable
    assert texts(decision) == [
        DAMAGE_TEXT["liquid"],
        ADP_EXPIRED.format(end="2024-12-31"),
        ADP_STARTS.format(start="2025-09-01"),
    ]


def test_adp_renewal_chain_reports_real_end():
    terms = [T("adp", "2024-01-01", "2024-12-31"), T("adp", "2025-01-01", "2025-12-31")]
    decision = decide(terms, "2024-06-01", product_line="aio", damage="surge")
    assert texts(decision)[-1] == COVERED_TEXT["adp"].format(end="2025-12-31")


# --------------------------------------------------------------------------------------
# adp cap
# --------------------------------------------------------------------------------------

ADP_CAP_TERMS = [T("adp", START, END), T("onsite", START, END)]


@pytest.mark.parametrize(
    ("spent", "price", "covered", "last"),
    [
        pytest.param(Decimal(0), None, True, COVERED_TEXT["adp"].format(end=END), id="no-price-0"),
        pytest.param(
            Decimal("99999"),
            None,
            True,
            COVERED_TEXT["adp"].format(end=END),
            id="no-price-cap-unknown",
        ),
        pytest.param(
            Decimal(0),
            Decimal("5999"),
            True,
            ADP_USAGE.format(spent="0.00", limit="5999.00"),
            id="nothing-spent",
        ),
        pytest.param(
            Decimal("5998.99"),
            Decimal("5999.00"),
            True,
            ADP_USAGE.format(spent="5998.99", limit="5999.00"),
            id="one-cent-left",
        ),
        pytest.param(
            Decimal("5999"),
            Decimal("5999"),
            False,
            ADP_EXHAUSTED.format(spent="5999.00", limit="5999.00"),
            id="exactly-at-limit",
        ),
        pytest.param(
            Decimal("7200.5"),
            Decimal("5999"),
            False,
            ADP_EXHAUSTED.format(spent="7200.50", limit="5999.00"),
            id="over-limit",
        ),
        pytest.param(
            Decimal(0),
            Decimal(0),
            False,
            ADP_EXHAUSTED.format(spent="0.00", limit="0.00"),
            id="zero-price",
        ),
        pytest.param(100, 5999, True, ADP_USAGE.format(spent="100.00", limit="5999.00"), id="ints"),
    ],
)
def test_adp_cap(spent, price, covered, last):
    decision = decide(ADP_CAP_TERMS, MID, damage="liquid", adp_spent=spent, purchase_price=price)
    assert decision.covered is covered
    assert decision.basis == (("adp",) if covered else ())
    assert texts(decision)[-1] == last
    if not covered:
        assert HARDWARE_NOTE.format(end=END) in texts(decision)


def test_adp_cap_does_not_affect_hardware_faults():
    decision = decide(
        ADP_CAP_TERMS, MID, damage="none", adp_spent=Decimal(9000), purchase_price=Decimal(5000)
    )
    assert decision.covered
    assert decision.basis == ("onsite",)


def test_expired_adp_reports_expiry_not_the_cap():
    decision = decide(
        [T("adp", "2020-01-01", "2022-12-31")],
        MID,
        damage="drop",
        adp_spent=Decimal(9000),
        purchase_price=Decimal(5000),
    )
    assert texts(decision)[-1] == ADP_EXPIRED.format(end="2022-12-31")


# --------------------------------------------------------------------------------------
# Consumables
# --------------------------------------------------------------------------------------

EVERYTHING_ACTIVE = [T(offering, START, END) for offering in OFFERINGS]


@pytest.mark.parametrize("part", sorted(CONSUMABLE_PARTS))
@pytest.mark.parametrize("damage", DAMAGE_TYPES)
@pytest.mark.parametrize("product_line", PRODUCT_LINES)
def test_consumables_are_always_billable(part, damage, product_line):
    decision = decide(EVERYTHING_ACTIVE, MID, product_line=product_line, damage=damage, part=part)
    assert decision.billable
    assert not decision.covered
    assert decision.basis == ()
    assert texts(decision) == [CONSUMABLE_TEXT[part]]
    assert decision.reasons[0].params == {"part": part}


@pytest.mark.parametrize("part", [p for p in PART_KINDS if p not in CONSUMABLE_PARTS])
def test_other_parts_are_covered_by_hardware_warranty(part):
    decision = decide([T("depot", START, END)], MID, product_line="desktop", part=part)
    assert decision.covered
    assert decision.basis == ("depot",)


# --------------------------------------------------------------------------------------
# Drives and keep-your-drive
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("terms", "on", "kwargs", "covered", "expected"),
    [
        pytest.param(
            [T("onsite", START, END), T("kyd", START, END)],
            MID,
            {},
            True,
            [COVERED_TEXT["onsite"].format(end=END), KYD_KEEPS.format(end=END)],
            id="kyd-active",
        ),
        pytest.param(
            [T("onsite", START, END)],
            MID,
            {},
            True,
            [COVERED_TEXT["onsite"].format(end=END), KYD_NONE],
            id="no-kyd",
        ),
        pytest.param(
            [T("onsite", START, END), T("kyd", START, "2025-02-28")],
            MID,
            {},
            True,
            [COVERED_TEXT["onsite"].format(end=END), KYD_EXPIRED.format(end="2025-02-28")],
            id="kyd-expired",
        ),
        pytest.param(
            [T("onsite", START, END), T("kyd", "2026-01-01", END)],
            MID,
            {},
            True,
            [COVERED_TEXT["onsite"].format(end=END), KYD_NONE],
            id="kyd-not-started",
        ),
        pytest.param(
            [T("onsite", START, END), T("kyd", START, "2025-07-15")],
            "2025-07-15",
            {},
            True,
            [COVERED_TEXT["onsite"].format(end=END), KYD_KEEPS.format(end="2025-07-15")],
            id="kyd-end-day",
        ),
        pytest.param(
            [T("onsite", START, END), T("kyd", START, "2025-07-14")],
            "2025-07-15",
            {},
            True,
            [COVERED_TEXT["onsite"].format(end=END), KYD_EXPIRED.format(end="2025-07-14")],
            id="kyd-day-after-end",
        ),
        pytest.param(
            [T("kyd", START, "2025-12-31"), T("kyd", "2026-01-01", "2028-12-31")],
            MID,
            {},
            False,
            [NEVER, KYD_KEEPS.format(end="2028-12-31")],
            id="kyd-alone-covers-nothing-but-keeps-the-drive",
        ),
        pytest.param(
            [T("onsite", "2020-01-01", "2023-12-31")],
            MID,
            {},
            False,
            ["Onsite service expired on 2023-12-31, so this repair is billable.", KYD_NONE],
            id="billable-without-kyd",
        ),
        pytest.param(
            [T("adp", START, END), T("kyd", START, END)],
            MID,
            {"damage": "liquid"},
            True,
            [DAMAGE_TEXT["liquid"], COVERED_TEXT["adp"].format(end=END), KYD_KEEPS.format(end=END)],
            id="accidental-damage-with-kyd",
        ),
        pytest.param(
            [T("onsite", START, END), T("kyd", START, END)],
            MID,
            {"damage": "drop", "product_line": "server"},
            False,
            [
                DAMAGE_TEXT["drop"],
                HARDWARE_NOTE.format(end=END),
                ADP_NOT_ELIGIBLE,
                KYD_KEEPS.format(end=END),
            ],
            id="billable-damage-with-kyd",
        ),
    ],
)
def test_drive_replacement(terms, on, kwargs, covered, expected):
    kwargs = {"product_line": "laptop", **kwargs}
    decision = decide(terms, on, part="drive", **kwargs)
    assert decision.covered is covered
    assert texts(decision) == expected


@pytest.mark.parametrize("part", [None, *[p for p in PART_KINDS if p != "drive"]])
def test_no_drive_reason_for_other_parts(part):
    decision = decide([T("onsite", START, END), T("kyd", START, END)], MID, part=part)
    joined = " ".join(texts(decision))
    assert "drive" not in joined


# --------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"product_line": "phone"}, ValueError),
        ({"product_line": "Laptop"}, ValueError),
        ({"damage": "fire"}, ValueError),
        ({"damage": None}, ValueError),
        ({"part": "cpu"}, ValueError),
        ({"part": ""}, ValueError),
        ({"on": datetime(2025, 7, 15, 10, 0)}, TypeError),
        ({"on": "2025-07-15"}, TypeError),
        ({"entitlements": [("onsite", D(START), D(END))]}, TypeError),
        ({"adp_spent": Decimal(-1)}, ValueError),
        ({"adp_spent": Decimal("NaN")}, ValueError),
        ({"adp_spent": "100"}, TypeError),
        ({"adp_spent": True}, TypeError),
        ({"purchase_price": Decimal("-0.01")}, ValueError),
        ({"purchase_price": Decimal("Infinity")}, ValueError),
    ],
)
def test_bad_input_is_rejected(kwargs, error):
    arguments = {
        "entitlements": [T("onsite", START, END)],
        "product_line": "laptop",
        "on": D(MID),
        **kwargs,
    }
    with pytest.raises(error):
        decide_coverage(**arguments)


def test_float_amounts_are_accepted_as_decimals():
    decision = decide(
        [T("adp", START, END)], MID, damage="liquid", adp_spent=10.1, purchase_price=999.99
    )
    assert texts(decision)[-1] == ADP_USAGE.format(spent="10.10", limit="999.99")


# --------------------------------------------------------------------------------------
# Reason and CoverageDecision
# --------------------------------------------------------------------------------------


def test_reason_renders_and_translates():
    reason = Reason(
        N_("Covered by onsite service until %(end)s."), {"offering": "onsite", "end": "2027-03-01"}
    )
    assert reason.render() == "Covered by onsite service until 2027-03-01."
    assert str(reason) == reason.render()
    catalog = {"Covered by onsite service until %(end)s.": "上门服务保修至 %(end)s。"}
    assert reason.render(lambda s: catalog.get(s, s)) == "上门服务保修至 2027-03-01。"


def test_reason_with_a_broken_translation_falls_back_to_english():
    reason = Reason(N_("Covered by onsite service until %(end)s."), {"end": "2027-03-01"})
    assert (
        reason.render(lambda s: "保修至 %(until)s") == "Covered by onsite service until 2027-03-01."
    )
    assert (
        reason.render(lambda s: "100% 保修 %(end)s")
        == "Covered by onsite service until 2027-03-01."
    )


def test_reason_params_are_normalised_to_text():
    reason = Reason("until %(end)s, %(n)s left", {"end": D(END), "n": 3, "amount": Decimal("1.50")})
    assert reason.params == {"end": "2027-02-28", "n": "3", "amount": "1.50"}
    assert reason.render() == "until 2027-02-28, 3 left"
    with pytest.raises(TypeError):
        Reason("x", {"a": None})
    with pytest.raises(TypeError):
        Reason("x", {1: "a"})
    with pytest.raises(TypeError):
        Reason("", {})


def test_reason_json_round_trip_and_hash():
    reason = Reason(
        N_("Onsite service expired on %(end)s, so this repair is billable."),
        {"end": "2024-01-01", "offering": "onsite"},
    )
    stored = json.loads(json.dumps(reason.to_json()))
    assert stored == {
        "message": "Onsite service expired on %(end)s, so this repair is billable.",
        "params": {"end": "2024-01-01", "offering": "onsite"},
    }
    again = Reason.from_json(stored)
    assert again == reason
    assert hash(again) == hash(reason)
    assert len({reason, again}) == 1
    assert Reason.from_json({"message": "Plain."}) == Reason("Plain.", {})


@pytest.mark.parametrize(
    "data",
    [
        None,
        "text",
        [],
        {},
        {"message": 3},
        {"message": "x", "params": []},
        {"message": "x", "params": {"a": 1}},
    ],
)
def test_reason_from_json_rejects_garbage(data):
    with pytest.raises(ValueError):
        Reason.from_json(data)


def test_coverage_decision_json_round_trip():
    decision = decide(EVERYTHING_ACTIVE, MID, part="drive")
    stored = json.loads(json.dumps(decision.to_json()))
    assert stored["covered"] is True
    assert stored["billable"] is False
    assert stored["basis"] == ["onsite_4h", "onsite", "depot"]
    assert CoverageDecision.from_json(stored) == decision
    assert decision.render_reasons() == texts(decision)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"covered": True, "billable": True, "basis": ("onsite",), "reasons": ()},
        {"covered": False, "billable": False, "basis": (), "reasons": ()},
        {"covered": True, "billable": False, "basis": (), "reasons": ()},
        {"covered": False, "billable": True, "basis": ("onsite",), "reasons": ()},
        {"covered": True, "billable": False, "basis": ("gold",), "reasons": ()},
    ],
)
def test_coverage_decision_invariants(kwargs):
    with pytest.raises(ValueError):
        CoverageDecision(**kwargs)


def test_coverage_decision_from_json_rejects_garbage():
    for data in (None, [], {"covered": True}, {"covered": True, "billable": True}):
        with pytest.raises(ValueError):
            CoverageDecision.from_json(data)


# --------------------------------------------------------------------------------------
# Messages: extractable by Babel, well-formed, and all reachable
# --------------------------------------------------------------------------------------

COVERAGE_SOURCE = Path(coverage.__file__)
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
    """A broad sweep of inputs that reaches every message."""
    term_sets = [
        [],
        EVERYTHING_ACTIVE,
        [T("onsite_4h", START, END), T("kyd", START, "2025-01-01"), T("adp", "2026-01-01", END)],
        [T("depot", "2020-01-01", "2021-01-01"), T("adp", "2020-01-01", "2021-01-01")],
        [T("onsite", "2030-01-01", "2031-01-01"), T("depot", "2030-01-01", "2031-01-01")],
        [T("onsite_4h", "2030-01-01", "2031-01-01"), T("onsite_4h", "2020-01-01", "2021-01-01")],
        [T("onsite", "2020-01-01", "2021-01-01"), T("depot", "2030-01-01", "2031-01-01")],
    ]
    for terms, product_line, damage, part, price in itertools.product(
        term_sets, PRODUCT_LINES, DAMAGE_TYPES, (None, *PART_KINDS), (None, Decimal(1), Decimal(0))
    ):
        yield decide(
            terms,
            MID,
            product_line=product_line,
            damage=damage,
            part=part,
            adp_spent=Decimal("0.5"),
            purchase_price=price,
        )


def test_every_message_is_extractable_and_reached():
    extracted = _extracted_messages(COVERAGE_SOURCE)
    seen: set[str] = set()
    for decision in _scenario_decisions():
        for reason in decision.reasons:
            seen.add(reason.message)
            assert reason.message in extracted, reason.message
            assert set(PLACEHOLDER.findall(reason.message)) <= set(reason.params)
            rendered = reason.render(strict_gettext)
            assert "%(" not in rendered
    assert seen == extracted


def test_messages_are_well_formed_python_format():
    for message in _extracted_messages(COVERAGE_SOURCE):
        # Only named %(x)s placeholders, no stray % that would break translation.
        assert "%" not in PLACEHOLDER.sub("", message), message
        assert message[0].isupper() or message[0].isdigit(), message
        assert message.endswith("."), message
        assert "_" not in PLACEHOLDER.sub("", message), message  # no raw codes read aloud


# --------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------

DAY0 = date(2020, 1, 1)
dates = st.integers(min_value=0, max_value=4000).map(lambda n: DAY0 + timedelta(days=n))


@st.composite
def terms_strategy(draw, offerings=OFFERINGS):
    offering = draw(st.sampled_from(offerings))
    start = draw(dates)
    end = start + timedelta(days=draw(st.integers(min_value=0, max_value=1500)))
    return EntitlementTerm(offering, start, end)


entitlement_lists = st.lists(terms_strategy(), max_size=6)
amounts = st.decimals(min_value=0, max_value=20000, places=2, allow_nan=False, allow_infinity=False)
parts = st.one_of(st.none(), st.sampled_from(PART_KINDS))


@given(
    terms=entitlement_lists,
    on=dates,
    product_line=st.sampled_from(PRODUCT_LINES),
    damage=st.sampled_from(DAMAGE_TYPES),
    part=parts,
    spent=amounts,
    price=st.one_of(st.none(), amounts),
)
def test_property_decision_is_consistent(terms, on, product_line, damage, part, spent, price):
    decision = decide_coverage(
        entitlements=terms,
        product_line=product_line,
        on=on,
        damage=damage,
        part=part,
        adp_spent=spent,
        purchase_price=price,
    )
    assert decision.covered != decision.billable
    assert (decision.basis == ()) == decision.billable
    assert len(set(decision.basis)) == len(decision.basis)
    assert set(decision.basis) <= set(OFFERINGS) - {"kyd"}
    assert decision.reasons
    for reason in decision.reasons:
        assert "%(" not in reason.render(strict_gettext)
    # the same decision whatever the order of the entitlements
    again = decide_coverage(
        entitlements=list(reversed(terms)),
        product_line=product_line,
        on=on,
        damage=damage,
        part=part,
        adp_spent=spent,
        purchase_price=price,
    )
    assert again == decision
    assert CoverageDecision.from_json(json.loads(json.dumps(decision.to_json()))) == decision

    hardware_active = any(t.offering in HARDWARE_OFFERINGS and t.is_active(on) for t in terms)
    adp_active = any(t.offering == "adp" and t.is_active(on) for t in terms)
    if part in CONSUMABLE_PARTS:
        assert decision.billable
    elif damage == "none":
        assert decision.covered == hardware_active
        for offering in decision.basis:
            assert any(t.offering == offering and t.is_active(on) for t in terms)
    else:
        expected = (
            product_line in ADP_PRODUCT_LINES and adp_active and (price is None or spent < price)
        )
        assert decision.covered == expected
        if expected:
            assert decision.basis == ("adp",)
    has_drive_reason = any("drive" in text for text in texts(decision))
    assert has_drive_reason == (part == "drive")


@given(
    terms=entitlement_lists,
    on=dates,
    product_line=st.sampled_from(PRODUCT_LINES),
    damage=st.sampled_from(DAMAGE_TYPES),
    part=st.sampled_from(sorted(CONSUMABLE_PARTS)),
)
def test_property_consumables_always_billable(terms, on, product_line, damage, part):
    decision = decide_coverage(
        entitlements=terms, product_line=product_line, on=on, damage=damage, part=part
    )
    assert decision.billable
    assert decision.basis == ()
    assert [r.render() for r in decision.reasons] == [CONSUMABLE_TEXT[part]]


@given(
    terms=entitlement_lists,
    on=dates,
    product_line=st.sampled_from(PRODUCT_LINES),
    damage=st.sampled_from(DAMAGE_TYPES),
    part=parts,
)
def test_property_expired_only_is_always_billable(terms, on, product_line, damage, part):
    past = [t for t in terms if t.end < on]
    decision = decide_coverage(
        entitlements=past, product_line=product_line, on=on, damage=damage, part=part
    )
    assert decision.billable
    if damage == "none" and part not in CONSUMABLE_PARTS:
        hardware = [t for t in past if t.offering in HARDWARE_OFFERINGS]
        first = decision.reasons[0]
        if hardware:
            latest = max(t.end for t in hardware)
            assert first.params["end"] == latest.isoformat()
            assert "expired" in first.render()
        else:
            assert first.render() == NEVER


@given(terms=st.lists(terms_strategy(HARDWARE_OFFERINGS), min_size=1, max_size=5), on=dates)
def test_property_adding_an_entitlement_never_loses_cover(terms, on):
    base = decide_coverage(entitlements=terms[:-1], product_line="desktop", on=on)
    more = decide_coverage(entitlements=terms, product_line="desktop", on=on)
    assert set(base.basis) <= set(more.basis)
    assert base.billable or more.covered


@given(term=terms_strategy(), on=dates)
def test_property_term_activity_matches_days_left(term, on):
    assert term.is_active(on) == (term.start <= on and term.days_left(on) >= 0)
    assert (term.days_left(on) < 0) == (on > term.end)
