"""Table and property tests for the warranty rules applied when a station closes a repair."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from servicedesk.warranty import closing
from servicedesk.warranty.closing import (
    CHARGES,
    ClosingDecision,
    PartOutcome,
    PartUsed,
    RepairCoverage,
    decide_closing,
)
from servicedesk.warranty.coverage import (
    CONSUMABLE_PARTS,
    PART_KINDS,
    EntitlementTerm,
    decide_coverage,
)

D = date.fromisoformat
M = Decimal
START, END = D("2024-03-01"), D("2027-02-28")
REPAIR_DAY = D("2025-07-15")

HARDWARE = (EntitlementTerm("onsite", START, END), EntitlementTerm("depot", START, END))
ADP = (EntitlementTerm("adp", START, END),)
KYD = (EntitlementTerm("kyd", START, END),)

UNDER_WARRANTY = RepairCoverage(covered=True, basis=("onsite", "depot"), damage="none")
UNDER_ADP = RepairCoverage(covered=True, basis=("adp",), damage="drop")
NOT_COVERED = RepairCoverage(covered=False, basis=(), damage="none")


def part(kind="motherboard", value: str | None = "1000", **changes) -> PartUsed:
    fields = {"part_no": f"PN-{kind}", "value": None if value is None else M(value)}
    if kind == "drive" or changes.get("whole_unit"):
        fields |= {"faulty_serial": "OLD-1", "replacement_serial": "NEW-1"}
    return PartUsed(kind=kind, **{**fields, **changes})


def drive(retained: bool | None = True, **changes) -> PartUsed:
    return part("drive", "600", retained_by_customer=retained, **changes)


def close(
    parts,
    *,
    coverage=UNDER_WARRANTY,
    terms=HARDWARE,
    product_line="laptop",
    price: str | None = "8000",
    used: str = "0",
    on: date = REPAIR_DAY,
) -> ClosingDecision:
    return decide_closing(
        entitlements=terms,
        product_line=product_line,
        purchase_price=None if price is None else M(price),
        adp_used=M(used),
        repaired_on=on,
        coverage=coverage,
        parts=parts,
    )


def texts(reasons) -> list[str]:
    return [reason.render() for reason in reasons]


# --------------------------------------------------------------------------------------
# Drives and keep-your-drive
# --------------------------------------------------------------------------------------

KEPT = "The faulty drive OLD-1 stays with the customer under keep-your-drive, valid until {end}."
RETURNED = "The faulty drive OLD-1 is returned to the maker: there is no keep-your-drive cover."
KYD_NOT_RECORDED = (
    "Part 1: under keep-your-drive, valid until {end}, the faulty drive stays with the "
    "customer; record that the customer kept it."
)
KYD_RETURNED = (
    "Part 1: under keep-your-drive, valid until {end}, the faulty drive stays with the customer "
    "and may not be taken back."
)
NO_KYD_RETAINED = (
    "Part 1: without keep-your-drive the faulty drive is returned to the maker; the customer "
    "cannot keep it."
)

KYD_EXPIRED = (EntitlementTerm("kyd", START, D("2025-07-14")),)
KYD_ENDS_TODAY = (EntitlementTerm("kyd", START, REPAIR_DAY),)
KYD_STARTS_TOMORROW = (EntitlementTerm("kyd", D("2025-07-16"), END),)
KYD_RENEWED = (
    EntitlementTerm("kyd", START, D("2025-12-31")),
    EntitlementTerm("kyd", D("2026-01-01"), D("2028-12-31")),
)

DRIVES = [
    # (id, kyd terms, coverage, retained_by_customer, disposition, violations, notes)
    ("kyd, kept", KYD, UNDER_WARRANTY, True, "retained_by_customer", [], [KEPT.format(end=END)]),
    (
        "kyd, not recorded",
        KYD,
        UNDER_WARRANTY,
        None,
        "retained_by_customer",
        [KYD_NOT_RECORDED.format(end=END)],
        [],
    ),
    (
        "kyd, returned",
        KYD,
        UNDER_WARRANTY,
        False,
        "retained_by_customer",
        [KYD_RETURNED.format(end=END)],
        [],
    ),
    (
        "kyd ends on the repair day",
        KYD_ENDS_TODAY,
        UNDER_WARRANTY,
        True,
        "retained_by_customer",
        [],
        [KEPT.format(end=REPAIR_DAY)],
    ),
    (
        "kyd renewed: the real end",
        KYD_RENEWED,
        UNDER_WARRANTY,
        True,
        "retained_by_customer",
        [],
        [KEPT.format(end="2028-12-31")],
    ),
    (
        "kyd on a billable repair",
        KYD,
        NOT_COVERED,
        True,
        "retained_by_customer",
        [],
        [KEPT.format(end=END)],
    ),
    (
        "kyd on an adp repair",
        KYD + ADP,
        UNDER_ADP,
        True,
        "retained_by_customer",
        [],
        [KEPT.format(end=END)],
    ),
    ("no kyd, returned", (), UNDER_WARRANTY, False, "return_to_maker", [], [RETURNED]),
    ("no kyd, not said", (), UNDER_WARRANTY, None, "return_to_maker", [], [RETURNED]),
    ("no kyd, kept", (), UNDER_WARRANTY, True, "return_to_maker", [NO_KYD_RETAINED], []),
    ("kyd expired yesterday", KYD_EXPIRED, UNDER_WARRANTY, None, "return_to_maker", [], [RETURNED]),
    (
        "kyd expired, kept",
        KYD_EXPIRED,
        UNDER_WARRANTY,
        True,
        "return_to_maker",
        [NO_KYD_RETAINED],
        [],
    ),
    (
        "kyd starts tomorrow",
        KYD_STARTS_TOMORROW,
        UNDER_WARRANTY,
        False,
        "return_to_maker",
        [],
        [RETURNED],
    ),
    ("no kyd, billable repair", (), NOT_COVERED, None, "return_to_maker", [], [RETURNED]),
]


@pytest.mark.parametrize(
    ("kyd_terms", "coverage", "retained", "disposition", "violations", "notes"),
    [row[1:] for row in DRIVES],
    ids=[row[0] for row in DRIVES],
)
def test_drive_disposition(kyd_terms, coverage, retained, disposition, violations, notes):
    terms = HARDWARE + tuple(kyd_terms) if coverage.covered else tuple(kyd_terms)
    decision = close([drive(retained)], coverage=coverage, terms=terms)
    (outcome,) = decision.parts
    assert outcome.drive_disposition == disposition
    assert texts(decision.violations) == violations
    assert decision.can_close == (not violations)
    drive_notes = [text for text in texts(decision.notes) if "faulty drive" in text]
    assert drive_notes == notes
    assert (outcome in decision.drives_kept) == (disposition == "retained_by_customer")


@pytest.mark.parametrize("kind", sorted(set(PART_KINDS) - {"drive"}))
def test_other_parts_have_no_drive_disposition(kind):
    decision = close([part(kind, retained_by_customer=True)], terms=HARDWARE + KYD)
    assert decision.parts[0].drive_disposition is None
    assert not any("drive" in text for text in texts(decision.violations + decision.notes))


SERIALS = [
    # (id, part changes, violations)
    ("both serials", {}, []),
    (
        "no faulty serial",
        {"faulty_serial": ""},
        ["Part 1: enter the serial number of the faulty drive."],
    ),
    (
        "blank faulty serial",
        {"faulty_serial": "   "},
        ["Part 1: enter the serial number of the faulty drive."],
    ),
    (
        "no replacement serial",
        {"replacement_serial": None},
        ["Part 1: enter the serial number of the replacement drive."],
    ),
    (
        "neither serial",
        {"faulty_serial": "", "replacement_serial": ""},
        [
            "Part 1: enter the serial number of the faulty drive.",
            "Part 1: enter the serial number of the replacement drive.",
        ],
    ),
    ("no part number", {"part_no": ""}, ["Part 1: enter the part number."]),
]


@pytest.mark.parametrize(
    ("changes", "violations"), [row[1:] for row in SERIALS], ids=[row[0] for row in SERIALS]
)
def test_drive_records(changes, violations):
    decision = close([drive(True, **changes)], terms=HARDWARE + KYD)
    assert texts(decision.violations) == violations


def test_serials_are_optional_for_other_parts_but_part_numbers_are_not():
    decision = close([part("memory"), part("fan", part_no=" ")])
    assert texts(decision.violations) == ["Part 2: enter the part number."]


def test_violations_name_the_position_of_the_part():
    decision = close([part("memory"), drive(None)], terms=HARDWARE + KYD)
    assert texts(decision.violations) == [
        KYD_NOT_RECORDED.format(end=END).replace("Part 1", "Part 2")
    ]


# --------------------------------------------------------------------------------------
# Accidental damage protection: value, limit, end
# --------------------------------------------------------------------------------------

ADP_USE = (
    "Accidental damage protection pays {amount} of this repair; repairs under it now total "
    "{spent} of its {limit} limit (the purchase price)."
)
ADP_USE_UNCAPPED = (
    "Accidental damage protection pays {amount} of this repair; repairs under it now total {spent}."
)
ADP_NO_PRICE = (
    "The purchase price is unknown, so no limit was applied to accidental damage protection."
)
ADP_BEYOND = (
    "This repair goes past the {limit} limit of accidental damage protection: {amount} of it is "
    "billable."
)
ADP_USED_UP = (
    "Accidental damage protection was already used up ({spent} of its {limit} limit), so the "
    "parts replaced under it are billable."
)
ADP_ENDS = "The whole unit was replaced under accidental damage protection, so the protection ends."

ADP_CAP = [
    # (id, price, already used, part values, within, beyond, used after, charges, adp notes)
    (
        "well under the limit",
        "8000",
        "0",
        ["3000"],
        "3000",
        "0",
        "3000",
        ["adp"],
        [ADP_USE.format(amount="3000.00", spent="3000.00", limit="8000.00")],
    ),
    (
        "under the limit after earlier repairs",
        "8000",
        "2000",
        ["3000"],
        "3000",
        "0",
        "5000",
        ["adp"],
        [ADP_USE.format(amount="3000.00", spent="5000.00", limit="8000.00")],
    ),
    (
        "exactly at the limit",
        "8000",
        "5000",
        ["3000"],
        "3000",
        "0",
        "8000",
        ["adp"],
        [ADP_USE.format(amount="3000.00", spent="8000.00", limit="8000.00")],
    ),
    (
        "one cent over the limit",
        "8000",
        "5000",
        ["3000.01"],
        "3000",
        "0.01",
        "8000",
        ["adp"],
        [
            ADP_USE.format(amount="3000.00", spent="8000.00", limit="8000.00"),
            ADP_BEYOND.format(limit="8000.00", amount="0.01"),
        ],
    ),
    (
        "over the limit",
        "8000",
        "5000",
        ["3500"],
        "3000",
        "500",
        "8000",
        ["adp"],
        [
            ADP_USE.format(amount="3000.00", spent="8000.00", limit="8000.00"),
            ADP_BEYOND.format(limit="8000.00", amount="500.00"),
        ],
    ),
    (
        "a single repair worth more than the machine",
        "5999",
        "0",
        ["7000"],
        "5999",
        "1001",
        "5999",
        ["adp"],
        [
            ADP_USE.format(amount="5999.00", spent="5999.00", limit="5999.00"),
            ADP_BEYOND.format(limit="5999.00", amount="1001.00"),
        ],
    ),
    (
        "the limit runs out on the second part",
        "8000",
        "5000",
        ["2000", "2000", "500"],
        "3000",
        "1500",
        "8000",
        ["adp", "adp", "billable"],
        [
            ADP_USE.format(amount="3000.00", spent="8000.00", limit="8000.00"),
            ADP_BEYOND.format(limit="8000.00", amount="1500.00"),
        ],
    ),
    (
        "already used up",
        "8000",
        "8000",
        ["1000"],
        "0",
        "1000",
        "8000",
        ["billable"],
        [ADP_USED_UP.format(spent="8000.00", limit="8000.00")],
    ),
    (
        "used beyond the price before (old data)",
        "8000",
        "9000",
        ["1000", "200"],
        "0",
        "1200",
        "9000",
        ["billable", "billable"],
        [ADP_USED_UP.format(spent="9000.00", limit="8000.00")],
    ),
    (
        "purchase price unknown: no limit",
        None,
        "50000",
        ["3000"],
        "3000",
        "0",
        "53000",
        ["adp"],
        [ADP_USE_UNCAPPED.format(amount="3000.00", spent="53000.00"), ADP_NO_PRICE],
    ),
    (
        "purchase price zero",
        "0",
        "0",
        ["10"],
        "0",
        "10",
        "0",
        ["billable"],
        [ADP_USED_UP.format(spent="0.00", limit="0.00")],
    ),
    (
        "no parts: labour only still counts as an adp repair",
        "8000",
        "100",
        [],
        "0",
        "0",
        "100",
        [],
        [ADP_USE.format(amount="0.00", spent="100.00", limit="8000.00")],
    ),
    (
        "a free part",
        "8000",
        "0",
        ["0"],
        "0",
        "0",
        "0",
        ["adp"],
        [ADP_USE.format(amount="0.00", spent="0.00", limit="8000.00")],
    ),
]


@pytest.mark.parametrize(
    ("price", "used", "values", "within", "beyond", "after", "charges", "notes"),
    [row[1:] for row in ADP_CAP],
    ids=[row[0] for row in ADP_CAP],
)
def test_adp_limit(price, used, values, within, beyond, after, charges, notes):
    parts = [part("screen", value, part_no=f"PN-{index}") for index, value in enumerate(values)]
    decision = close(parts, coverage=UNDER_ADP, terms=ADP, price=price, used=used)
    assert decision.adp_repair
    assert decision.adp_value == sum((M(value) for value in values), M(0))
    assert decision.adp_within_limit == M(within)
    assert decision.adp_beyond_limit == M(beyond)
    assert decision.adp_used_after == M(after)
    assert decision.billable_amount == M(beyond)
    assert [outcome.charge for outcome in decision.parts] == charges
    assert sum((o.billable_amount for o in decision.parts), M(0)) == M(beyond)
    assert decision.quote_required == (M(beyond) > 0 or "billable" in charges)
    assert [t for t in texts(decision.notes) if "accidental damage" in t.lower()] == notes
    assert not decision.end_adp
    assert decision.can_close


def test_adp_parts_in_order_get_the_limit_first():
    decision = close(
        [part("screen", "2000"), part("keyboard", "2000")],
        coverage=UNDER_ADP,
        terms=ADP,
        price="8000",
        used="5000",
    )
    assert [o.billable_amount for o in decision.parts] == [M(0), M(1000)]


def test_consumables_in_an_adp_repair_are_billable_and_not_counted():
    decision = close(
        [part("screen", "3000"), part("battery", "400")],
        coverage=UNDER_ADP,
        terms=ADP,
        price="8000",
        used="0",
    )
    assert decision.adp_value == M(3000)
    assert decision.adp_used_after == M(3000)
    assert [o.charge for o in decision.parts] == ["adp", "billable"]
    assert decision.billable_amount == M(400)
    assert decision.quote_required


def test_adp_part_without_a_value_is_a_violation():
    decision = close([part("screen", None)], coverage=UNDER_ADP, terms=ADP)
    assert texts(decision.violations) == [
        "Part 1: enter the value of the part, which accidental damage protection counts."
    ]
    assert decision.adp_value == 0


WHOLE_UNIT = [
    # (id, coverage, price, used, value, end_adp, billable)
    ("under adp", UNDER_ADP, "8000", "0", "7500", True, "0"),
    ("under adp, beyond the limit", UNDER_ADP, "8000", "3000", "7500", True, "2500"),
    ("under adp, price unknown", UNDER_ADP, None, "3000", "7500", True, "0"),
    ("under adp, limit used up", UNDER_ADP, "8000", "8000", "7500", True, "7500"),
    ("under the hardware warranty", UNDER_WARRANTY, "8000", "0", "7500", False, "0"),
    ("billable", NOT_COVERED, "8000", "0", "7500", False, "7500"),
]


@pytest.mark.parametrize(
    ("coverage", "price", "used", "value", "end_adp", "billable"),
    [row[1:] for row in WHOLE_UNIT],
    ids=[row[0] for row in WHOLE_UNIT],
)
def test_whole_unit_replacement(coverage, price, used, value, end_adp, billable):
    unit = part("other", value, whole_unit=True)
    decision = close([unit], coverage=coverage, terms=HARDWARE + ADP, price=price, used=used)
    assert decision.end_adp == end_adp
    assert decision.billable_amount == M(billable)
    assert (ADP_ENDS in texts(decision.notes)) == end_adp
    assert decision.can_close


def test_partial_replacement_under_adp_does_not_end_it():
    decision = close(
        [part("screen", "3000"), part("keyboard", "300")], coverage=UNDER_ADP, terms=ADP
    )
    assert not decision.end_adp


@pytest.mark.parametrize(
    ("changes", "violations"),
    [
        (
            {"faulty_serial": ""},
            [
                "Part 1: a whole-unit replacement needs the serial numbers of the old and the "
                "new unit."
            ],
        ),
        (
            {"kind": "battery"},
            ["Part 1: a whole-unit replacement cannot be recorded as a consumable part."],
        ),
    ],
)
def test_whole_unit_records(changes, violations):
    unit = part("other", "7500", whole_unit=True)
    decision = close([replace(unit, **changes)], coverage=UNDER_ADP, terms=ADP)
    assert texts(decision.violations) == violations


def test_repairs_not_under_adp_leave_the_adp_total_alone():
    for coverage in (UNDER_WARRANTY, NOT_COVERED):
        decision = close([part("screen", "3000")], coverage=coverage, used="1234.50")
        assert not decision.adp_repair
        assert decision.adp_value == decision.adp_within_limit == decision.adp_beyond_limit == 0
        assert decision.adp_used_after == M("1234.50")


# --------------------------------------------------------------------------------------
# Consumables, billable work and quotes
# --------------------------------------------------------------------------------------

CONSUMABLE = (
    "Part PN-{kind} is a consumable (batteries, keycaps, adapters and cables are not covered), "
    "so it is billable."
)
NOT_COVERED_PART = "Part PN-{kind} is billable because the repair is not covered."
QUOTE = "The billable work comes to {amount}; the customer receives a quote for it."
QUOTE_NO_AMOUNT = "The repair is billable; the customer receives a quote for it."


@pytest.mark.parametrize("kind", sorted(CONSUMABLE_PARTS))
@pytest.mark.parametrize(
    ("coverage", "terms"),
    [(UNDER_WARRANTY, HARDWARE), (UNDER_ADP, ADP), (NOT_COVERED, ())],
    ids=["warranty", "adp", "billable"],
)
def test_consumables_are_always_billable(kind, coverage, terms):
    decision = close([part(kind, "250")], coverage=coverage, terms=terms)
    (outcome,) = decision.parts
    assert outcome.charge == "billable"
    assert outcome.billable_amount == M(250)
    assert decision.billable_amount == M(250)
    assert decision.quote_required
    assert CONSUMABLE.format(kind=kind) in texts(decision.notes)
    assert QUOTE.format(amount="250.00") in texts(decision.notes)
    assert decision.adp_value == 0


def test_battery_under_warranty_next_to_a_covered_part():
    decision = close([part("motherboard", "1800"), part("battery", "399.90")])
    assert [o.charge for o in decision.parts] == ["warranty", "billable"]
    assert [o.billable_amount for o in decision.parts] == [M(0), M("399.90")]
    assert decision.billable_amount == M("399.90")
    assert decision.quote_required


QUOTES = [
    # (id, coverage, terms, parts, quote required, billable amount, quote note)
    ("warranty part", UNDER_WARRANTY, HARDWARE, [part("motherboard", "1200")], False, "0", None),
    ("warranty, no parts", UNDER_WARRANTY, HARDWARE, [], False, "0", None),
    (
        "warranty part without a value is fine",
        UNDER_WARRANTY,
        HARDWARE,
        [part("fan", None)],
        False,
        "0",
        None,
    ),
    (
        "battery",
        UNDER_WARRANTY,
        HARDWARE,
        [part("battery", "300")],
        True,
        "300",
        QUOTE.format(amount="300.00"),
    ),
    ("billable labour only", NOT_COVERED, (), [], True, "0", QUOTE_NO_AMOUNT),
    (
        "billable part",
        NOT_COVERED,
        (),
        [part("screen", "900")],
        True,
        "900",
        QUOTE.format(amount="900.00"),
    ),
    ("billable free part", NOT_COVERED, (), [part("cable", "0")], True, "0", QUOTE_NO_AMOUNT),
    ("adp within the limit", UNDER_ADP, ADP, [part("screen", "900")], False, "0", None),
    (
        "adp beyond the limit",
        UNDER_ADP,
        ADP,
        [part("screen", "9000")],
        True,
        "1000",
        QUOTE.format(amount="1000.00"),
    ),
    (
        "several billable parts",
        NOT_COVERED,
        (),
        [part("screen", "900.50"), part("battery", "99.50"), drive(None)],
        True,
        "1600",
        QUOTE.format(amount="1600.00"),
    ),
]


@pytest.mark.parametrize(
    ("coverage", "terms", "parts", "required", "amount", "quote_note"),
    [row[1:] for row in QUOTES],
    ids=[row[0] for row in QUOTES],
)
def test_quote_required(coverage, terms, parts, required, amount, quote_note):
    decision = close(parts, coverage=coverage, terms=terms)
    assert decision.quote_required == required
    assert decision.billable_amount == M(amount)
    quote_notes = [t for t in texts(decision.notes) if "quote" in t]
    assert quote_notes == ([quote_note] if quote_note else [])


def test_every_part_of_a_billable_repair_is_billable_and_says_why():
    decision = close([part("screen", "900"), part("memory", "300")], coverage=NOT_COVERED, terms=())
    assert [o.charge for o in decision.parts] == ["billable", "billable"]
    assert NOT_COVERED_PART.format(kind="screen") in texts(decision.notes)
    assert NOT_COVERED_PART.format(kind="memory") in texts(decision.notes)


def test_billable_part_without_a_price_is_a_violation():
    decision = close([part("battery", None)])
    assert texts(decision.violations) == [
        "Part 1: enter the price of this billable part for the quote."
    ]
    assert decision.quote_required
    assert decision.billable_amount == 0


@pytest.mark.parametrize(
    ("value", "violation"),
    [
        (M("-1"), "Part 1: the value cannot be negative."),
        (M("-0.01"), "Part 1: the value cannot be negative."),
        (M("NaN"), "Part 1: the value is not a valid amount."),
        (M("Infinity"), "Part 1: the value is not a valid amount."),
    ],
)
@pytest.mark.parametrize(
    ("kind", "coverage", "terms"),
    [
        ("battery", UNDER_WARRANTY, HARDWARE),
        ("screen", UNDER_ADP, ADP),
        ("screen", NOT_COVERED, ()),
        ("screen", UNDER_WARRANTY, HARDWARE),
    ],
)
def test_bad_values_are_violations_and_count_as_zero(value, violation, kind, coverage, terms):
    decision = close([replace(part(kind), value=value)], coverage=coverage, terms=terms)
    assert texts(decision.violations) == [violation]
    assert decision.billable_amount == 0
    assert decision.adp_value == 0
    assert not decision.can_close


def test_unknown_part_kind_is_a_violation():
    decision = close([PartUsed(kind="flux capacitor", part_no="FC-1", value=M(5))])
    assert texts(decision.violations) == ["Part 1: choose the kind of part from the list."]
    assert decision.violations[0].params["kind"] == "flux capacitor"


def test_numbers_other_than_decimals_become_decimals():
    assert PartUsed(kind="screen", value=100).value == M(100)
    assert PartUsed(kind="screen", value=99.9).value == M("99.9")
    decision = decide_closing(
        entitlements=ADP,
        product_line="aio",
        purchase_price=5000,
        adp_used=1000.5,
        repaired_on=REPAIR_DAY,
        coverage=UNDER_ADP,
        parts=[part("screen", "100")],
    )
    assert decision.adp_used_after == M("1100.5")


# --------------------------------------------------------------------------------------
# Wiring with the coverage decision; bad input
# --------------------------------------------------------------------------------------


def test_repair_coverage_from_a_coverage_decision():
    decision = decide_coverage(
        entitlements=ADP + HARDWARE, product_line="laptop", on=REPAIR_DAY, damage="liquid"
    )
    coverage = RepairCoverage.of(decision, damage="liquid")
    assert coverage == RepairCoverage(True, ("adp",), "liquid")
    assert coverage.under_adp
    billable = RepairCoverage.of(
        decide_coverage(entitlements=(), product_line="laptop", on=REPAIR_DAY)
    )
    assert billable == NOT_COVERED and not billable.under_adp


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ((True, ()), ValueError),
        ((False, ("onsite",)), ValueError),
        ((True, ("gold",)), ValueError),
        ((True, "adp"), TypeError),
        ((1, ("adp",)), TypeError),
        ((True, ("adp",), "fire"), ValueError),
    ],
)
def test_repair_coverage_rejects_bad_values(args, error):
    with pytest.raises(error):
        RepairCoverage(*args)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"kind": None}, TypeError),
        ({"kind": "screen", "part_no": 5}, TypeError),
        ({"kind": "screen", "value": "100"}, TypeError),
        ({"kind": "screen", "value": True}, TypeError),
        ({"kind": "drive", "retained_by_customer": "yes"}, TypeError),
        ({"kind": "other", "whole_unit": 1}, TypeError),
    ],
)
def test_part_used_rejects_bad_types(kwargs, error):
    with pytest.raises(error):
        PartUsed(**kwargs)


def test_part_used_strips_text():
    used = PartUsed(kind=" drive ", part_no=" PN ", faulty_serial=None, replacement_serial="\tS2 ")
    assert (used.kind, used.part_no, used.faulty_serial, used.replacement_serial) == (
        "drive",
        "PN",
        "",
        "S2",
    )


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"product_line": "phone"}, ValueError),
        ({"product_line": "desktop", "coverage": UNDER_ADP}, ValueError),
        ({"purchase_price": M(-1)}, ValueError),
        ({"adp_used": M(-1)}, ValueError),
        ({"adp_used": None}, TypeError),
        ({"repaired_on": datetime(2025, 7, 15, 10, 0)}, TypeError),
        ({"coverage": {"covered": True}}, TypeError),
        ({"parts": [{"kind": "screen"}]}, TypeError),
        ({"parts": "screen"}, TypeError),
        ({"entitlements": ["onsite"]}, TypeError),
    ],
)
def test_decide_closing_rejects_bad_input(changes, error):
    kwargs = {
        "entitlements": HARDWARE,
        "product_line": "laptop",
        "purchase_price": M(8000),
        "adp_used": M(0),
        "repaired_on": REPAIR_DAY,
        "coverage": UNDER_WARRANTY,
        "parts": [],
        **changes,
    }
    with pytest.raises(error):
        decide_closing(**kwargs)


# --------------------------------------------------------------------------------------
# Stored decisions
# --------------------------------------------------------------------------------------

STORED = [
    close([]),
    close([drive(True), part("battery", "99.99")], terms=HARDWARE + KYD),
    close(
        [part("screen", "3500"), part("other", "5000", whole_unit=True)],
        coverage=UNDER_ADP,
        terms=ADP,
        used="5000",
    ),
    close([drive(None), part("keycaps", None)], coverage=NOT_COVERED, terms=KYD),
    close([part("screen", "100")], coverage=UNDER_ADP, terms=ADP, price=None),
]


@pytest.mark.parametrize("decision", STORED, ids=range(len(STORED)))
def test_closing_decision_json_round_trip(decision):
    stored = json.loads(json.dumps(decision.to_json()))
    assert ClosingDecision.from_json(stored) == decision
    assert ClosingDecision.from_json(stored).to_json() == stored


def test_closing_decision_json_shape():
    data = STORED[1].to_json()
    assert data["billable_amount"] == "99.99"
    assert data["quote_required"] is True
    assert data["parts"][0]["drive_disposition"] == "retained_by_customer"
    assert data["parts"][0]["part"] == {
        "kind": "drive",
        "part_no": "PN-drive",
        "faulty_serial": "OLD-1",
        "replacement_serial": "NEW-1",
        "value": "600",
        "retained_by_customer": True,
        "whole_unit": False,
    }
    assert data["parts"][1]["charge"] == "billable"
    assert data["violations"] == []


@pytest.mark.parametrize(
    "data",
    [
        None,
        [],
        {},
        {**STORED[0].to_json(), "adp_value": "lots"},
        {**STORED[0].to_json(), "billable_amount": "-1"},
        {**STORED[0].to_json(), "adp_within_limit": "5"},
        {**STORED[0].to_json(), "end_adp": True},
        {**STORED[0].to_json(), "quote_required": "no"},
        {**STORED[0].to_json(), "parts": [{"charge": "adp"}]},
        {**STORED[0].to_json(), "parts": [{**STORED[1].to_json()["parts"][0], "charge": "free"}]},
        {**STORED[0].to_json(), "notes": ["text"]},
    ],
)
def test_closing_decision_from_json_rejects_garbage(data):
    with pytest.raises(ValueError):
        ClosingDecision.from_json(data)


def test_part_outcome_and_part_round_trip():
    outcome = PartOutcome(drive(True), "warranty", M(0), "retained_by_customer")
    assert PartOutcome.from_json(outcome.to_json()) == outcome
    assert PartUsed.from_json({"kind": "fan"}) == PartUsed(kind="fan")
    with pytest.raises(ValueError):
        PartUsed.from_json({"kind": "fan", "value": "ten"})
    with pytest.raises(ValueError):
        PartOutcome(drive(True), "warranty", M(0), "lost")


# --------------------------------------------------------------------------------------
# Messages: extractable, well-formed, all reachable, all rendering
# --------------------------------------------------------------------------------------

CLOSING_SOURCE = Path(closing.__file__)
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
    for _id, kyd_terms, coverage, retained, *_ in DRIVES:
        terms = HARDWARE + tuple(kyd_terms) if coverage.covered else tuple(kyd_terms)
        yield close([drive(retained)], coverage=coverage, terms=terms)
    for _id, changes, _violations in SERIALS:
        yield close([drive(True, **changes)], terms=HARDWARE + KYD)
    for _id, price, used, values, *_ in ADP_CAP:
        yield close(
            [part("screen", value) for value in values],
            coverage=UNDER_ADP,
            terms=ADP,
            price=price,
            used=used,
        )
    for _id, coverage, price, used, value, *_ in WHOLE_UNIT:
        yield close(
            [part("other", value, whole_unit=True)], coverage=coverage, price=price, used=used
        )
    for _id, coverage, terms, parts, *_ in QUOTES:
        yield close(parts, coverage=coverage, terms=terms)
    yield close([part("battery", "1", whole_unit=True, faulty_serial="")])
    yield close([part("screen", None)], coverage=UNDER_ADP, terms=ADP)
    yield close(
        [part("screen", None), part("fan", "-1"), part("fan", M("NaN"))], coverage=NOT_COVERED
    )
    yield close([PartUsed(kind="gizmo")])
    yield from STORED


def strict_gettext(message: str) -> str:
    assert isinstance(message, str) and message
    return message


def test_every_message_is_extractable_reached_and_renders():
    extracted = _extracted_messages(CLOSING_SOURCE)
    seen: set[str] = set()
    for decision in _scenario_decisions():
        for reason in decision.violations + decision.notes:
            seen.add(reason.message)
            assert reason.message in extracted, reason.message
            assert set(PLACEHOLDER.findall(reason.message)) <= set(reason.params)
            assert all(isinstance(value, str) for value in reason.params.values())
            rendered = reason.render(strict_gettext)
            assert "%(" not in rendered
    assert seen == extracted


def test_messages_are_well_formed_python_format():
    messages = _extracted_messages(CLOSING_SOURCE)
    assert len(messages) > 20
    for message in messages:
        assert "%" not in PLACEHOLDER.sub("", message), message
        assert message[0].isupper() or message[0].isdigit(), message
        assert message.endswith("."), message
        assert "_" not in PLACEHOLDER.sub("", message), message


# --------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------

amounts = st.decimals(min_value=0, max_value=20000, places=2, allow_nan=False, allow_infinity=False)
coverages = st.sampled_from([UNDER_WARRANTY, UNDER_ADP, NOT_COVERED])


@st.composite
def parts_strategy(draw):
    kind = draw(st.sampled_from(PART_KINDS))
    return PartUsed(
        kind=kind,
        part_no=draw(st.sampled_from(["", "PN-1"])),
        faulty_serial=draw(st.sampled_from(["", "OLD"])),
        replacement_serial=draw(st.sampled_from(["", "NEW"])),
        value=draw(st.one_of(st.none(), amounts)),
        retained_by_customer=draw(st.sampled_from([None, True, False])),
        whole_unit=draw(st.booleans()),
    )


@given(
    parts=st.lists(parts_strategy(), max_size=5),
    coverage=coverages,
    kyd=st.booleans(),
    price=st.one_of(st.none(), amounts),
    used=amounts,
)
def test_property_closing_is_consistent(parts, coverage, kyd, price, used):
    terms = HARDWARE + ADP + (KYD if kyd else ())
    decision = decide_closing(
        entitlements=terms,
        product_line="laptop",
        purchase_price=price,
        adp_used=used,
        repaired_on=REPAIR_DAY,
        coverage=coverage,
        parts=parts,
    )
    assert len(decision.parts) == len(parts)
    assert all(outcome.charge in CHARGES for outcome in decision.parts)
    assert decision.billable_amount == sum((o.billable_amount for o in decision.parts), M(0))
    assert decision.billable_amount >= 0
    assert decision.adp_within_limit + decision.adp_beyond_limit == decision.adp_value
    assert decision.adp_used_after == used + decision.adp_within_limit
    if price is not None:
        assert decision.adp_used_after <= max(price, used)
    assert decision.adp_repair == coverage.under_adp
    if not coverage.under_adp:
        assert decision.adp_value == 0 and not decision.end_adp
    assert decision.end_adp == (coverage.under_adp and any(p.whole_unit for p in parts))
    assert decision.quote_required == (
        decision.billable_amount > 0
        or not coverage.covered
        or any(outcome.charge == "billable" for outcome in decision.parts)
    )
    for used_part, outcome in zip(parts, decision.parts, strict=True):
        assert outcome.part == used_part
        if used_part.kind in CONSUMABLE_PARTS and not used_part.whole_unit:
            assert outcome.charge == "billable"
            assert outcome.billable_amount == (used_part.value or 0)
        elif not coverage.covered:
            assert outcome.charge == "billable"
        elif coverage == UNDER_WARRANTY:
            assert outcome.charge == "warranty" and outcome.billable_amount == 0
        if used_part.kind == "drive":
            expected = "retained_by_customer" if kyd else "return_to_maker"
            assert outcome.drive_disposition == expected
        else:
            assert outcome.drive_disposition is None
    for reason in decision.violations + decision.notes:
        assert "%(" not in reason.render(strict_gettext)
    assert decision.can_close == (not decision.violations)
    stored = json.loads(json.dumps(decision.to_json()))
    assert ClosingDecision.from_json(stored) == decision


@given(
    values=st.lists(amounts, max_size=5),
    price=amounts,
    used=amounts,
)
def test_property_adp_never_pays_past_the_purchase_price(values, price, used):
    decision = close(
        [part("screen", str(value)) for value in values],
        coverage=UNDER_ADP,
        terms=ADP,
        price=str(price),
        used=str(used),
    )
    room = max(price - used, M(0))
    assert decision.adp_within_limit == min(sum(values, M(0)), room)
    assert decision.adp_beyond_limit == sum(values, M(0)) - decision.adp_within_limit
    assert decision.billable_amount == decision.adp_beyond_limit


@given(
    kyd=st.booleans(),
    retained=st.sampled_from([None, True, False]),
    coverage=coverages,
    others=st.lists(parts_strategy().filter(lambda p: p.kind != "drive"), max_size=3),
)
def test_property_a_drive_stays_with_the_customer_exactly_under_kyd(
    kyd, retained, coverage, others
):
    terms = HARDWARE + ADP + (KYD if kyd else ())
    decision = close([drive(retained), *others], coverage=coverage, terms=terms)
    drive_violations = [
        reason for reason in decision.violations if "keep-your-drive" in reason.render()
    ]
    assert decision.parts[0].drive_disposition == (
        "retained_by_customer" if kyd else "return_to_maker"
    )
    # Under kyd the station must say the customer kept it; without, it must not say so.
    assert bool(drive_violations) == (retained is not True if kyd else retained is True)
