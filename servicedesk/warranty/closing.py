"""Warranty rules applied when a repair station closes a repair.

Pure domain code: no Flask, no database, no clock. The caller passes the asset's entitlements,
the repair's coverage as decided when the ticket was opened (:class:`RepairCoverage`), the
day of the repair, and the parts the station used; :func:`decide_closing` says what happens
to each part, what the customer pays, how much accidental damage protection (``adp``) the
repair uses, and what the station must fix before it may close (``violations``).

The rules (see the coverage section of the design):

- **Drives.** Under ``kyd`` active on the repair day, a replaced drive stays with the
  customer: the station must record ``retained_by_customer=True``; not saying so, or saying
  it was returned, is a violation. Without ``kyd`` the faulty drive is returned to the maker
  (also in a billable repair: the design makes no exception); saying the customer kept it is
  a violation. Every replaced drive needs the serials of the faulty and the replacement drive.
- **Consumables** (batteries, keycaps, adapters, cables) are billable, whatever covers the
  repair.
- **Billable repairs** (not covered): every part is billable.
- **Hardware warranty** (``depot``/``onsite``/``onsite_4h``): the other parts are free.
- **adp** (a covered repair whose basis is ``adp``): the repair's ADP value is the sum of the
  values of its non-consumable parts, and each of them needs a value. ADP pays up to the
  rest of its limit, ``purchase_price - adp_used``, taking the parts in the order given; what
  goes beyond the limit is billable (a part with nothing left of the limit is charged
  ``billable``). When the limit is already used up, everything is billable. When the
  purchase price is unknown, the limit is unknown: no limit is applied, and a note says so.
  A whole-unit replacement under ``adp`` ends it (``end_adp``); a whole-unit replacement
  under the hardware warranty does not touch ``adp``.
- **Quotes.** Billable work carries a quote: ``quote_required`` is true when the repair is
  billable, when any part is billable, or when any amount is billable (a part partly beyond
  the ADP limit). Each billable part needs a price.

Amounts are ``Decimal`` in the currency of the purchase price; they are never rounded here.
A negative or non-finite part value is a violation and counts as zero.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from servicedesk.warranty.coverage import (
    ADP_PRODUCT_LINES,
    CONSUMABLE_PARTS,
    DAMAGE_TYPES,
    N_,
    OFFERINGS,
    PART_KINDS,
    PRODUCT_LINES,
    CoverageDecision,
    EntitlementTerm,
    Reason,
    _check_date,
    _covered_until,
    _money,
    _money_text,
    _terms,
)

__all__ = [
    "CHARGES",
    "DRIVE_DISPOSITIONS",
    "ClosingDecision",
    "PartOutcome",
    "PartUsed",
    "RepairCoverage",
    "decide_closing",
]

#: Who pays for a part: the hardware warranty, accidental damage protection, or the customer.
CHARGES = ("warranty", "adp", "billable")
#: What happens to a faulty drive once it is replaced.
DRIVE_DISPOSITIONS = ("retained_by_customer", "return_to_maker")
#: Part kinds whose faulty and replacement serials must be recorded.
SERIALISED_PARTS = frozenset({"drive"})

ZERO = Decimal(0)


# --------------------------------------------------------------------------------------
# Messages. Each is a literal inside N_() so that pybabel extracts it.
# --------------------------------------------------------------------------------------

# Violations: the station fixes these before it can close the repair.
_UNKNOWN_KIND = N_("Part %(position)s: choose the kind of part from the list.")
_NO_PART_NUMBER = N_("Part %(position)s: enter the part number.")
_NO_FAULTY_SERIAL = N_("Part %(position)s: enter the serial number of the faulty drive.")
_NO_REPLACEMENT_SERIAL = N_("Part %(position)s: enter the serial number of the replacement drive.")
_WHOLE_UNIT_SERIALS = N_(
    "Part %(position)s: a whole-unit replacement needs the serial numbers of the old and the "
    "new unit."
)
_WHOLE_UNIT_CONSUMABLE = N_(
    "Part %(position)s: a whole-unit replacement cannot be recorded as a consumable part."
)
_NEGATIVE_VALUE = N_("Part %(position)s: the value cannot be negative.")
_INVALID_VALUE = N_("Part %(position)s: the value is not a valid amount.")
_KYD_NOT_RECORDED = N_(
    "Part %(position)s: under keep-your-drive, valid until %(end)s, the faulty drive stays "
    "with the customer; record that the customer kept it."
)
_KYD_RETURNED = N_(
    "Part %(position)s: under keep-your-drive, valid until %(end)s, the faulty drive stays "
    "with the customer and may not be taken back."
)
_NO_KYD_RETAINED = N_(
    "Part %(position)s: without keep-your-drive the faulty drive is returned to the maker; "
    "the customer cannot keep it."
)
_ADP_NEEDS_VALUE = N_(
    "Part %(position)s: enter the value of the part, which accidental damage protection counts."
)
_BILLABLE_NEEDS_VALUE = N_(
    "Part %(position)s: enter the price of this billable part for the quote."
)

# Notes for the record.
_DRIVE_KEPT = N_(
    "The faulty drive %(serial)s stays with the customer under keep-your-drive, valid until "
    "%(end)s."
)
_DRIVE_RETURNED = N_(
    "The faulty drive %(serial)s is returned to the maker: there is no keep-your-drive cover."
)
_CONSUMABLE = N_(
    "Part %(part_no)s is a consumable (batteries, keycaps, adapters and cables are not "
    "covered), so it is billable."
)
_NOT_COVERED = N_("Part %(part_no)s is billable because the repair is not covered.")
_ADP_USE = N_(
    "Accidental damage protection pays %(amount)s of this repair; repairs under it now total "
    "%(spent)s of its %(limit)s limit (the purchase price)."
)
_ADP_USE_UNCAPPED = N_(
    "Accidental damage protection pays %(amount)s of this repair; repairs under it now total "
    "%(spent)s."
)
_ADP_NO_PRICE = N_(
    "The purchase price is unknown, so no limit was applied to accidental damage protection."
)
_ADP_BEYOND = N_(
    "This repair goes past the %(limit)s limit of accidental damage protection: %(amount)s "
    "of it is billable."
)
_ADP_USED_UP = N_(
    "Accidental damage protection was already used up (%(spent)s of its %(limit)s limit), so "
    "the parts replaced under it are billable."
)
_ADP_ENDS = N_(
    "The whole unit was replaced under accidental damage protection, so the protection ends."
)
_QUOTE = N_("The billable work comes to %(amount)s; the customer receives a quote for it.")
_QUOTE_NO_AMOUNT = N_("The repair is billable; the customer receives a quote for it.")


# --------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------


def _optional_text(value: Any, name: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be text, not {value!r}")
    return value.strip()


@dataclass(frozen=True)
class PartUsed:
    """One part a station used, as it recorded it.

    Text fields are stripped (None becomes ``""``). ``value`` is the part's value (a price),
    or None when the station did not give one; ``int`` and ``float`` are turned into Decimal,
    but whether it is a sensible amount is for :func:`decide_closing` to judge (a violation,
    not an exception). ``retained_by_customer`` is None when the station said nothing.
    ``whole_unit`` marks the replacement of the whole machine.
    """

    kind: str
    part_no: str = ""
    faulty_serial: str = ""
    replacement_serial: str = ""
    value: Decimal | None = None
    retained_by_customer: bool | None = None
    whole_unit: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.kind, str):
            raise TypeError(f"kind must be text, not {self.kind!r}")
        object.__setattr__(self, "kind", self.kind.strip())
        for name in ("part_no", "faulty_serial", "replacement_serial"):
            object.__setattr__(self, name, _optional_text(getattr(self, name), name))
        value = self.value
        if isinstance(value, bool):
            raise TypeError(f"value must be an amount, not {value!r}")
        if isinstance(value, int):
            value = Decimal(value)
        elif isinstance(value, float):
            value = Decimal(str(value))
        elif value is not None and not isinstance(value, Decimal):
            raise TypeError(f"value must be a Decimal or None, not {value!r}")
        object.__setattr__(self, "value", value)
        if self.retained_by_customer is not None and not isinstance(
            self.retained_by_customer, bool
        ):
            raise TypeError(
                f"retained_by_customer must be True, False or None, "
                f"not {self.retained_by_customer!r}"
            )
        if not isinstance(self.whole_unit, bool):
            raise TypeError(f"whole_unit must be True or False, not {self.whole_unit!r}")

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "part_no": self.part_no,
            "faulty_serial": self.faulty_serial,
            "replacement_serial": self.replacement_serial,
            "value": None if self.value is None else str(self.value),
            "retained_by_customer": self.retained_by_customer,
            "whole_unit": self.whole_unit,
        }

    @classmethod
    def from_json(cls, data: Any) -> PartUsed:
        if not isinstance(data, Mapping):
            raise ValueError(f"not a stored part: {data!r}")
        try:
            value = data.get("value")
            return cls(
                kind=data["kind"],
                part_no=data.get("part_no"),
                faulty_serial=data.get("faulty_serial"),
                replacement_serial=data.get("replacement_serial"),
                value=None if value is None else Decimal(value),
                retained_by_customer=data.get("retained_by_customer"),
                whole_unit=data.get("whole_unit", False),
            )
        except (KeyError, TypeError, InvalidOperation) as exc:
            raise ValueError(f"not a stored part: {data!r}") from exc


@dataclass(frozen=True)
class RepairCoverage:
    """The coverage decided for the repair when the ticket was opened.

    ``basis`` holds the offering codes that cover it (empty exactly when it is billable), as
    in :class:`~servicedesk.warranty.coverage.CoverageDecision`; ``damage`` is the ticket's
    damage type.
    """

    covered: bool
    basis: tuple[str, ...]
    damage: str = "none"

    def __post_init__(self) -> None:
        if not isinstance(self.covered, bool):
            raise TypeError(f"covered must be True or False, not {self.covered!r}")
        if isinstance(self.basis, str):
            raise TypeError("basis must be a collection of offering codes")
        basis = tuple(self.basis)
        for offering in basis:
            if offering not in OFFERINGS:
                raise ValueError(f"unknown offering {offering!r}")
        if bool(basis) != self.covered:
            raise ValueError("a covered repair needs a basis; a billable one has none")
        if self.damage not in DAMAGE_TYPES:
            raise ValueError(f"unknown damage type {self.damage!r}")
        object.__setattr__(self, "basis", basis)

    @classmethod
    def of(cls, decision: CoverageDecision, damage: str = "none") -> RepairCoverage:
        return cls(covered=decision.covered, basis=decision.basis, damage=damage)

    @property
    def under_adp(self) -> bool:
        return self.covered and "adp" in self.basis


# --------------------------------------------------------------------------------------
# The decision
# --------------------------------------------------------------------------------------


def _reasons(values: Any) -> tuple[Reason, ...]:
    reasons = tuple(values)
    for reason in reasons:
        if not isinstance(reason, Reason):
            raise TypeError(f"expected Reason, got {reason!r}")
    return reasons


def _amount(value: Any, name: str) -> Decimal:
    if isinstance(value, str):
        try:
            value = Decimal(value)
        except InvalidOperation as exc:
            raise ValueError(f"{name} is not an amount: {value!r}") from exc
    return _money(value, name)


@dataclass(frozen=True)
class PartOutcome:
    """What the closing rules make of one part.

    ``charge`` says who pays (one of :data:`CHARGES`); ``billable_amount`` is what the
    customer pays for the part (for an ``adp`` part, the share beyond the limit);
    ``drive_disposition`` is set for drives only (one of :data:`DRIVE_DISPOSITIONS`).
    """

    part: PartUsed
    charge: str
    billable_amount: Decimal
    drive_disposition: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.part, PartUsed):
            raise TypeError(f"expected PartUsed, got {self.part!r}")
        if self.charge not in CHARGES:
            raise ValueError(f"unknown charge {self.charge!r}")
        if self.drive_disposition is not None and self.drive_disposition not in DRIVE_DISPOSITIONS:
            raise ValueError(f"unknown drive disposition {self.drive_disposition!r}")
        object.__setattr__(
            self, "billable_amount", _amount(self.billable_amount, "billable_amount")
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "part": self.part.to_json(),
            "charge": self.charge,
            "billable_amount": str(self.billable_amount),
            "drive_disposition": self.drive_disposition,
        }

    @classmethod
    def from_json(cls, data: Any) -> PartOutcome:
        if not isinstance(data, Mapping):
            raise ValueError(f"not a stored part outcome: {data!r}")
        try:
            return cls(
                part=PartUsed.from_json(data["part"]),
                charge=data["charge"],
                billable_amount=data["billable_amount"],
                drive_disposition=data.get("drive_disposition"),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a stored part outcome: {data!r}") from exc


@dataclass(frozen=True)
class ClosingDecision:
    """The warranty outcome of closing a repair.

    - ``parts``: one :class:`PartOutcome` per part, in the order given.
    - ``adp_repair``: the repair is an ``adp`` repair (it counts towards the asset's ADP
      repairs, even with no parts).
    - ``adp_value``: the repair's ADP value (its non-consumable parts); ``adp_within_limit``
      the share ADP pays; ``adp_beyond_limit`` the billable rest; ``adp_used_after`` what the
      asset's ADP repairs total after this one (``adp_used + adp_within_limit``, never past
      the purchase price when it is known). All zero, and ``adp_used_after == adp_used``,
      for a repair not under ``adp``.
    - ``end_adp``: a whole unit was replaced under ``adp``, which ends the protection.
    - ``billable_amount``: what the customer pays for parts; ``quote_required``: billable
      work carries a quote.
    - ``violations``: what the station must fix before closing; ``notes``: for the record.
    """

    parts: tuple[PartOutcome, ...]
    adp_repair: bool
    adp_value: Decimal
    adp_within_limit: Decimal
    adp_beyond_limit: Decimal
    adp_used_after: Decimal
    end_adp: bool
    billable_amount: Decimal
    quote_required: bool
    violations: tuple[Reason, ...] = field(default_factory=tuple)
    notes: tuple[Reason, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        parts = tuple(self.parts)
        for outcome in parts:
            if not isinstance(outcome, PartOutcome):
                raise TypeError(f"expected PartOutcome, got {outcome!r}")
        object.__setattr__(self, "parts", parts)
        for name in (
            "adp_value",
            "adp_within_limit",
            "adp_beyond_limit",
            "adp_used_after",
            "billable_amount",
        ):
            object.__setattr__(self, name, _amount(getattr(self, name), name))
        for name in ("adp_repair", "end_adp", "quote_required"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{name} must be True or False")
        if self.adp_within_limit + self.adp_beyond_limit != self.adp_value:
            raise ValueError("the ADP value splits into the share within and beyond the limit")
        if self.end_adp and not self.adp_repair:
            raise ValueError("only a repair under adp can end it")
        object.__setattr__(self, "violations", _reasons(self.violations))
        object.__setattr__(self, "notes", _reasons(self.notes))

    @property
    def can_close(self) -> bool:
        return not self.violations

    @property
    def drives_kept(self) -> tuple[PartOutcome, ...]:
        return tuple(
            outcome for outcome in self.parts if outcome.drive_disposition == "retained_by_customer"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "parts": [outcome.to_json() for outcome in self.parts],
            "adp_repair": self.adp_repair,
            "adp_value": str(self.adp_value),
            "adp_within_limit": str(self.adp_within_limit),
            "adp_beyond_limit": str(self.adp_beyond_limit),
            "adp_used_after": str(self.adp_used_after),
            "end_adp": self.end_adp,
            "billable_amount": str(self.billable_amount),
            "quote_required": self.quote_required,
            "violations": [reason.to_json() for reason in self.violations],
            "notes": [reason.to_json() for reason in self.notes],
        }

    @classmethod
    def from_json(cls, data: Any) -> ClosingDecision:
        if not isinstance(data, Mapping):
            raise ValueError(f"not a stored closing decision: {data!r}")
        try:
            return cls(
                parts=tuple(PartOutcome.from_json(item) for item in data.get("parts") or ()),
                adp_repair=data["adp_repair"],
                adp_value=data["adp_value"],
                adp_within_limit=data["adp_within_limit"],
                adp_beyond_limit=data["adp_beyond_limit"],
                adp_used_after=data["adp_used_after"],
                end_adp=data["end_adp"],
                billable_amount=data["billable_amount"],
                quote_required=data["quote_required"],
                violations=tuple(Reason.from_json(item) for item in data.get("violations") or ()),
                notes=tuple(Reason.from_json(item) for item in data.get("notes") or ()),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a stored closing decision: {data!r}") from exc


# --------------------------------------------------------------------------------------
# Deciding
# --------------------------------------------------------------------------------------


def _part_value(part: PartUsed, position: dict[str, str], violations: list[Reason]) -> Decimal:
    """The part's value as a usable amount: missing, negative or non-finite count as zero."""
    if part.value is None:
        return ZERO
    if not part.value.is_finite():
        violations.append(Reason(_INVALID_VALUE, position))
        return ZERO
    if part.value < 0:
        violations.append(Reason(_NEGATIVE_VALUE, position))
        return ZERO
    return part.value


def _check_records(part: PartUsed, position: dict[str, str], violations: list[Reason]) -> None:
    if part.kind not in PART_KINDS:
        violations.append(Reason(_UNKNOWN_KIND, {**position, "kind": part.kind}))
    if not part.part_no:
        violations.append(Reason(_NO_PART_NUMBER, position))
    if part.kind in SERIALISED_PARTS:
        if not part.faulty_serial:
            violations.append(Reason(_NO_FAULTY_SERIAL, position))
        if not part.replacement_serial:
            violations.append(Reason(_NO_REPLACEMENT_SERIAL, position))
    if part.whole_unit:
        if not (part.faulty_serial and part.replacement_serial):
            violations.append(Reason(_WHOLE_UNIT_SERIALS, position))
        if part.kind in CONSUMABLE_PARTS:
            violations.append(Reason(_WHOLE_UNIT_CONSUMABLE, {**position, "kind": part.kind}))


def _drive_disposition(
    part: PartUsed,
    position: dict[str, str],
    kyd_until: date | None,
    violations: list[Reason],
    notes: list[Reason],
) -> str:
    serial = {"serial": part.faulty_serial or part.part_no or position["position"]}
    if kyd_until is not None:
        end = {"offering": "kyd", "end": kyd_until.isoformat()}
        if part.retained_by_customer is None:
            violations.append(Reason(_KYD_NOT_RECORDED, {**position, **end}))
        elif part.retained_by_customer is False:
            violations.append(Reason(_KYD_RETURNED, {**position, **end}))
        else:
            notes.append(Reason(_DRIVE_KEPT, {**serial, **end}))
        return "retained_by_customer"
    if part.retained_by_customer:
        violations.append(Reason(_NO_KYD_RETAINED, position))
    else:
        notes.append(Reason(_DRIVE_RETURNED, serial))
    return "return_to_maker"


def decide_closing(
    *,
    entitlements: Iterable[EntitlementTerm],
    product_line: str,
    purchase_price: Decimal | None,
    adp_used: Decimal,
    repaired_on: date,
    coverage: RepairCoverage,
    parts: Sequence[PartUsed],
) -> ClosingDecision:
    """Apply the warranty rules to the parts of a repair being closed (module docstring).

    ``adp_used`` is what earlier ``adp`` repairs of this asset total; ``repaired_on`` is the
    customer's local date of the repair (it decides whether ``kyd`` is active). Unknown
    product lines, a coverage under ``adp`` on a product line that cannot have it, negative
    ``purchase_price``/``adp_used`` or wrong types raise; what the station recorded badly
    comes back as ``violations``.
    """
    if product_line not in PRODUCT_LINES:
        raise ValueError(f"unknown product line {product_line!r}")
    if not isinstance(coverage, RepairCoverage):
        raise TypeError(f"expected RepairCoverage, got {coverage!r}")
    if coverage.under_adp and product_line not in ADP_PRODUCT_LINES:
        raise ValueError(f"a {product_line} cannot be covered by accidental damage protection")
    _check_date(repaired_on, "repaired_on")
    terms = _terms(entitlements)
    price = None if purchase_price is None else _money(purchase_price, "purchase_price")
    used = _money(adp_used, "adp_used")
    if isinstance(parts, (str, Mapping)):
        raise TypeError("parts must be a sequence of PartUsed")
    parts = tuple(parts)
    for part in parts:
        if not isinstance(part, PartUsed):
            raise TypeError(f"expected PartUsed, got {part!r}")

    kyd_until = _covered_until(terms, "kyd", repaired_on)
    under_adp = coverage.under_adp
    # None: no limit known (purchase price unknown).
    room: Decimal | None = None if price is None else max(price - used, ZERO)
    used_up = room is not None and room == 0

    violations: list[Reason] = []
    drive_notes: list[Reason] = []
    part_notes: list[Reason] = []
    outcomes: list[PartOutcome] = []
    adp_value = adp_within = adp_beyond = ZERO
    end_adp = False

    for index, part in enumerate(parts, start=1):
        position = {"position": str(index)}
        named = {"part_no": part.part_no or part.kind or position["position"]}
        _check_records(part, position, violations)
        value = _part_value(part, position, violations)
        consumable = part.kind in CONSUMABLE_PARTS and not part.whole_unit

        disposition = None
        if part.kind == "drive":
            disposition = _drive_disposition(part, position, kyd_until, violations, drive_notes)

        if consumable or not coverage.covered:
            if part.value is None:
                violations.append(Reason(_BILLABLE_NEEDS_VALUE, position))
            part_notes.append(Reason(_CONSUMABLE if consumable else _NOT_COVERED, named))
            outcomes.append(PartOutcome(part, "billable", value, disposition))
        elif under_adp:
            if part.value is None:
                violations.append(Reason(_ADP_NEEDS_VALUE, position))
            limit_reached = room is not None and room == 0
            within = value if room is None else min(value, room)
            if room is not None:
                room -= within
            adp_value += value
            adp_within += within
            adp_beyond += value - within
            end_adp = end_adp or part.whole_unit
            charge = "billable" if limit_reached else "adp"
            outcomes.append(PartOutcome(part, charge, value - within, disposition))
        else:
            outcomes.append(PartOutcome(part, "warranty", ZERO, disposition))

    notes = [*drive_notes, *part_notes]
    adp_used_after = used + adp_within
    if under_adp:
        money = {"spent": _money_text(adp_used_after), "amount": _money_text(adp_within)}
        if price is None:
            notes.append(Reason(_ADP_USE_UNCAPPED, {"offering": "adp", **money}))
            notes.append(Reason(_ADP_NO_PRICE, {"offering": "adp"}))
        elif used_up:
            notes.append(
                Reason(
                    _ADP_USED_UP,
                    {"offering": "adp", "spent": _money_text(used), "limit": _money_text(price)},
                )
            )
        else:
            limit = {"limit": _money_text(price)}
            notes.append(Reason(_ADP_USE, {"offering": "adp", **money, **limit}))
            if adp_beyond > 0:
                notes.append(
                    Reason(
                        _ADP_BEYOND,
                        {"offering": "adp", "amount": _money_text(adp_beyond), **limit},
                    )
                )
        if end_adp:
            notes.append(Reason(_ADP_ENDS, {"offering": "adp"}))

    billable_amount = sum((outcome.billable_amount for outcome in outcomes), ZERO)
    quote_required = (
        billable_amount > 0
        or not coverage.covered
        or any(outcome.charge == "billable" for outcome in outcomes)
    )
    if billable_amount > 0:
        notes.append(Reason(_QUOTE, {"amount": _money_text(billable_amount)}))
    elif quote_required:
        notes.append(Reason(_QUOTE_NO_AMOUNT, {}))

    return ClosingDecision(
        parts=tuple(outcomes),
        adp_repair=under_adp,
        adp_value=adp_value,
        adp_within_limit=adp_within,
        adp_beyond_limit=adp_beyond,
        adp_used_after=adp_used_after,
        end_adp=end_adp,
        billable_amount=billable_amount,
        quote_required=quote_required,
        violations=tuple(violations),
        notes=tuple(notes),
    )
