"""Warranty coverage rules: which entitlements cover a repair, and why.

Pure domain code: no Flask, no database, no clock. Every date is passed in by the caller
(``on`` is the customer's local calendar date), and every decision carries its reasons as
:class:`Reason` objects an agent can read out to the customer.

Each reason is an English message with ``%(name)s`` placeholders, always written as
``N_("...")`` at the call site so that ``pybabel extract -k N_`` finds it; it is translated
only when it is rendered (``reason.render(gettext)``), so a decision stored today can be
shown tomorrow in the caller's language.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = [
    "ADP_PRODUCT_LINES",
    "CONSUMABLE_PARTS",
    "DAMAGE_TYPES",
    "HARDWARE_OFFERINGS",
    "N_",
    "OFFERINGS",
    "PART_KINDS",
    "PRODUCT_LINES",
    "CoverageDecision",
    "EntitlementTerm",
    "Reason",
    "decide_coverage",
]

OFFERINGS = ("depot", "onsite", "onsite_4h", "adp", "kyd")
#: The offerings that cover hardware faults.
HARDWARE_OFFERINGS = ("depot", "onsite", "onsite_4h")
PRODUCT_LINES = ("laptop", "desktop", "aio", "workstation", "server", "tablet", "monitor")
#: Accidental damage protection is sold for these product lines only.
ADP_PRODUCT_LINES = ("laptop", "aio")
DAMAGE_TYPES = ("none", "liquid", "drop", "pressure", "surge")
#: ``none`` is an ordinary hardware fault; the others are accidental damage.
ACCIDENTAL_DAMAGE_TYPES = ("liquid", "drop", "pressure", "surge")
PART_KINDS = (
    "motherboard",
    "screen",
    "drive",
    "memory",
    "keyboard",
    "fan",
    "power_supply",
    "battery",
    "keycaps",
    "adapter",
    "cable",
    "other",
)
#: Batteries and other consumables: never covered, whatever the entitlements.
CONSUMABLE_PARTS = frozenset({"battery", "keycaps", "adapter", "cable"})

# Hardware offerings from the best service to the most basic one.
_HARDWARE_BEST_FIRST = ("onsite_4h", "onsite", "depot")


def N_(message: str) -> str:
    """Mark ``message`` for Babel extraction without translating it now."""
    return message


# --------------------------------------------------------------------------------------
# Reason
# --------------------------------------------------------------------------------------


def _param_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None:
        raise TypeError(f"reason parameter must be text, a date or a number, not {value!r}")
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, (int, Decimal)):
        return str(value)
    raise TypeError(f"reason parameter must be text, a date or a number, not {value!r}")


@dataclass(frozen=True)
class Reason:
    """One sentence of an explanation, translatable when it is shown.

    ``message`` is English with ``%(name)s`` placeholders; ``params`` holds plain strings
    (dates as ISO strings). Parameters the message does not mention are kept as structured
    data for machines (for example the offering code).
    """

    message: str
    params: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.message, str) or not self.message:
            raise TypeError("a reason needs a non-empty message")
        if not isinstance(self.params, Mapping):
            raise TypeError("reason params must be a mapping")
        params: dict[str, str] = {}
        for key, value in self.params.items():
            if not isinstance(key, str):
                raise TypeError(f"reason parameter names must be text, not {key!r}")
            params[key] = _param_text(value)
        object.__setattr__(self, "params", params)

    def __hash__(self) -> int:
        return hash((self.message, tuple(sorted(self.params.items()))))

    def render(self, gettext=lambda s: s) -> str:
        """The reason as text, translated by ``gettext`` (identity by default).

        A broken translation (a placeholder the parameters do not provide, a stray ``%``)
        falls back to the English message rather than failing in front of an agent.
        """
        params = dict(self.params)
        try:
            return gettext(self.message) % params
        except (KeyError, ValueError, TypeError):
            return self.message % params

    def __str__(self) -> str:
        return self.render()

    def to_json(self) -> dict[str, Any]:
        return {"message": self.message, "params": dict(self.params)}

    @classmethod
    def from_json(cls, data: Any) -> Reason:
        if not isinstance(data, Mapping) or not isinstance(data.get("message"), str):
            raise ValueError(f"not a stored reason: {data!r}")
        params = data.get("params")
        if params is None:
            params = {}
        if not isinstance(params, Mapping) or not all(
            isinstance(key, str) and isinstance(value, str) for key, value in params.items()
        ):
            raise ValueError(f"not a stored reason: {data!r}")
        return cls(message=data["message"], params=dict(params))


# --------------------------------------------------------------------------------------
# Entitlements
# --------------------------------------------------------------------------------------


def _check_date(value: Any, name: str) -> None:
    # datetime is a date subclass, but mixing them breaks comparisons; a day is wanted.
    if not isinstance(value, date) or isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime.date (not a datetime), not {value!r}")


@dataclass(frozen=True)
class EntitlementTerm:
    """One offering on one asset for an inclusive date range."""

    offering: str
    start: date
    end: date

    def __post_init__(self) -> None:
        if self.offering not in OFFERINGS:
            raise ValueError(f"unknown offering {self.offering!r}")
        _check_date(self.start, "start")
        _check_date(self.end, "end")
        if self.end < self.start:
            raise ValueError(f"entitlement ends ({self.end}) before it starts ({self.start})")

    def is_active(self, on: date) -> bool:
        """True when ``start <= on <= end`` (both days included)."""
        return self.start <= on <= self.end

    def days_left(self, on: date) -> int:
        """Days from ``on`` to the last covered day; 0 on the end day, negative once expired."""
        return (self.end - on).days


def _terms(entitlements: Iterable[EntitlementTerm]) -> tuple[EntitlementTerm, ...]:
    terms = tuple(entitlements)
    for term in terms:
        if not isinstance(term, EntitlementTerm):
            raise TypeError(f"expected EntitlementTerm, got {term!r}")
    return terms


def _covered_until(terms: tuple[EntitlementTerm, ...], offering: str, on: date) -> date | None:
    """Last day of the unbroken cover by ``offering`` that includes ``on``, or None.

    Back-to-back or overlapping terms of the same offering (renewals) count as one cover,
    so a customer hears the date the cover really ends.
    """
    same = [term for term in terms if term.offering == offering]
    active = [term for term in same if term.is_active(on)]
    if not active:
        return None
    until = max(term.end for term in active)
    extended = True
    while extended:
        extended = False
        for term in same:
            if term.start <= until + timedelta(days=1) and term.end > until:
                until = term.end
                extended = True
    return until


def _rank(offering: str) -> int:
    return _HARDWARE_BEST_FIRST.index(offering) if offering in _HARDWARE_BEST_FIRST else 99


def _latest_expired(
    terms: tuple[EntitlementTerm, ...], offerings: tuple[str, ...], on: date
) -> EntitlementTerm | None:
    expired = [term for term in terms if term.offering in offerings and term.end < on]
    if not expired:
        return None
    # The latest end wins; on the same day, the better offering.
    return max(expired, key=lambda term: (term.end, -_rank(term.offering)))


def _next_starting(
    terms: tuple[EntitlementTerm, ...], offerings: tuple[str, ...], on: date
) -> EntitlementTerm | None:
    future = [term for term in terms if term.offering in offerings and term.start > on]
    if not future:
        return None
    return min(future, key=lambda term: (term.start, _rank(term.offering)))


# --------------------------------------------------------------------------------------
# Messages. Each is a literal inside N_() so that pybabel extracts it.
# --------------------------------------------------------------------------------------

_COVERED_BY = {
    "onsite_4h": N_("Covered by 4-hour onsite response until %(end)s."),
    "onsite": N_("Covered by onsite service until %(end)s."),
    "depot": N_("Covered by the carry-in (depot) warranty until %(end)s."),
    "adp": N_("Covered by accidental damage protection until %(end)s."),
}

_HARDWARE_EXPIRED = {
    "onsite_4h": N_("4-hour onsite response expired on %(end)s, so this repair is billable."),
    "onsite": N_("Onsite service expired on %(end)s, so this repair is billable."),
    "depot": N_("The carry-in (depot) warranty expired on %(end)s, so this repair is billable."),
}

_HARDWARE_STARTS = {
    "onsite_4h": N_(
        "4-hour onsite response starts on %(start)s and does not cover repairs before then."
    ),
    "onsite": N_("Onsite service starts on %(start)s and does not cover repairs before then."),
    "depot": N_(
        "The carry-in (depot) warranty starts on %(start)s and does not cover repairs before then."
    ),
}

_HARDWARE_NOT_YET = N_("No hardware warranty is in force yet, so this repair is billable.")
_HARDWARE_NEVER = N_("This machine has never had a hardware warranty, so this repair is billable.")

_DAMAGE = {
    "liquid": N_("The damage was caused by a liquid spill, which is accidental damage."),
    "drop": N_("The damage was caused by a drop or collision, which is accidental damage."),
    "pressure": N_("The damage was caused by external pressure, which is accidental damage."),
    "surge": N_("The damage was caused by an abnormal power surge, which is accidental damage."),
}

_HARDWARE_EXCLUDES_DAMAGE = N_(
    "The hardware warranty, valid until %(end)s, covers hardware faults only, "
    "not accidental damage."
)
_ADP_NOT_ELIGIBLE = N_(
    "Accidental damage protection is only available for laptops and all-in-ones, "
    "so accidental damage to this machine is billable."
)
_ADP_NEVER = N_("This machine has no accidental damage protection, so this repair is billable.")
_ADP_EXPIRED = N_("Accidental damage protection expired on %(end)s, so this repair is billable.")
_ADP_NOT_YET = N_("Accidental damage protection is not in force yet, so this repair is billable.")
_ADP_STARTS = N_(
    "Accidental damage protection starts on %(start)s and does not cover repairs before then."
)
_ADP_EXHAUSTED = N_(
    "Accidental damage protection is used up: repairs under it already total %(spent)s, "
    "and its limit is the purchase price of %(limit)s, so this repair is billable."
)
_ADP_USAGE = N_(
    "Repairs under accidental damage protection so far total %(spent)s "
    "of its %(limit)s limit (the purchase price)."
)

_CONSUMABLE = {
    "battery": N_(
        "Batteries are consumable parts and are not covered by the warranty, "
        "so this repair is billable."
    ),
    "keycaps": N_(
        "Keyboard keycaps are consumable parts and are not covered by the warranty, "
        "so this repair is billable."
    ),
    "adapter": N_(
        "Power adapters are consumable parts and are not covered by the warranty, "
        "so this repair is billable."
    ),
    "cable": N_(
        "Cables are consumable parts and are not covered by the warranty, "
        "so this repair is billable."
    ),
}

_KYD_KEEPS = N_(
    "The replaced drive stays with the customer under keep-your-drive, valid until %(end)s."
)
_KYD_EXPIRED = N_(
    "Keep-your-drive expired on %(end)s, so the defective drive is returned to the maker."
)
_KYD_NONE = N_("Without keep-your-drive protection, the defective drive is returned to the maker.")


def _hardware_lapse_reasons(terms: tuple[EntitlementTerm, ...], on: date) -> list[Reason]:
    """Why no hardware entitlement is active on ``on`` (callers check that first)."""
    reasons: list[Reason] = []
    expired = _latest_expired(terms, HARDWARE_OFFERINGS, on)
    upcoming = _next_starting(terms, HARDWARE_OFFERINGS, on)
    if expired is not None:
        reasons.append(
            Reason(
                _HARDWARE_EXPIRED[expired.offering],
                {"offering": expired.offering, "end": expired.end.isoformat()},
            )
        )
    elif upcoming is not None:
        reasons.append(Reason(_HARDWARE_NOT_YET, {}))
    else:
        reasons.append(Reason(_HARDWARE_NEVER, {}))
    if upcoming is not None:
        reasons.append(
            Reason(
                _HARDWARE_STARTS[upcoming.offering],
                {"offering": upcoming.offering, "start": upcoming.start.isoformat()},
            )
        )
    return reasons


def _active_hardware(terms: tuple[EntitlementTerm, ...], on: date) -> list[tuple[str, date]]:
    """Active hardware offerings, best first, each with the day its cover ends."""
    active = []
    for offering in _HARDWARE_BEST_FIRST:
        until = _covered_until(terms, offering, on)
        if until is not None:
            active.append((offering, until))
    return active


def _money(value: Any, name: str) -> Decimal:
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a number, not {value!r}")
    if isinstance(value, Decimal):
        amount = value
    elif isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, float):
        amount = Decimal(str(value))
    else:
        raise TypeError(f"{name} must be a Decimal, not {value!r}")
    try:
        if not amount.is_finite() or amount < 0:
            raise ValueError(f"{name} must be a finite amount of zero or more, not {value!r}")
    except InvalidOperation as exc:  # pragma: no cover - signalling NaN
        raise ValueError(f"{name} is not a valid amount: {value!r}") from exc
    return amount


def _money_text(amount: Decimal) -> str:
    return format(amount, ".2f")


# --------------------------------------------------------------------------------------
# The decision
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CoverageDecision:
    """Whether a repair is covered and why.

    ``basis`` lists the offering codes that justify the cover, best first (for example
    ``("onsite", "depot")`` or ``("adp",)``); it is empty exactly when the repair is billable.
    """

    covered: bool
    billable: bool
    basis: tuple[str, ...]
    reasons: tuple[Reason, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "basis", tuple(self.basis))
        object.__setattr__(self, "reasons", tuple(self.reasons))
        if self.covered == self.billable:
            raise ValueError("a repair is either covered or billable")
        if bool(self.basis) != self.covered:
            raise ValueError("a covered repair needs a basis; a billable one has none")
        for offering in self.basis:
            if offering not in OFFERINGS:
                raise ValueError(f"unknown offering {offering!r}")
        for reason in self.reasons:
            if not isinstance(reason, Reason):
                raise TypeError(f"expected Reason, got {reason!r}")

    def render_reasons(self, gettext=lambda s: s) -> list[str]:
        return [reason.render(gettext) for reason in self.reasons]

    def to_json(self) -> dict[str, Any]:
        return {
            "covered": self.covered,
            "billable": self.billable,
            "basis": list(self.basis),
            "reasons": [reason.to_json() for reason in self.reasons],
        }

    @classmethod
    def from_json(cls, data: Any) -> CoverageDecision:
        if not isinstance(data, Mapping):
            raise ValueError(f"not a stored coverage decision: {data!r}")
        try:
            return cls(
                covered=bool(data["covered"]),
                billable=bool(data["billable"]),
                basis=tuple(data.get("basis") or ()),
                reasons=tuple(Reason.from_json(item) for item in data.get("reasons") or ()),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a stored coverage decision: {data!r}") from exc


def _covered(basis: list[str], reasons: list[Reason]) -> CoverageDecision:
    return CoverageDecision(
        covered=True, billable=False, basis=tuple(basis), reasons=tuple(reasons)
    )


def _billable(reasons: list[Reason]) -> CoverageDecision:
    return CoverageDecision(covered=False, billable=True, basis=(), reasons=tuple(reasons))


def _drive_reasons(terms: tuple[EntitlementTerm, ...], on: date) -> list[Reason]:
    until = _covered_until(terms, "kyd", on)
    if until is not None:
        return [Reason(_KYD_KEEPS, {"offering": "kyd", "end": until.isoformat()})]
    expired = _latest_expired(terms, ("kyd",), on)
    if expired is not None:
        return [Reason(_KYD_EXPIRED, {"offering": "kyd", "end": expired.end.isoformat()})]
    return [Reason(_KYD_NONE, {})]


def _decide_accidental(
    terms: tuple[EntitlementTerm, ...],
    *,
    product_line: str,
    on: date,
    damage: str,
    adp_spent: Decimal,
    purchase_price: Decimal | None,
) -> CoverageDecision:
    reasons = [Reason(_DAMAGE[damage], {"damage": damage})]
    hardware = _active_hardware(terms, on)
    hardware_note = []
    if hardware:
        until = max(end for _, end in hardware)
        hardware_note = [Reason(_HARDWARE_EXCLUDES_DAMAGE, {"end": until.isoformat()})]

    if product_line not in ADP_PRODUCT_LINES:
        reasons += hardware_note
        reasons.append(Reason(_ADP_NOT_ELIGIBLE, {"product_line": product_line}))
        return _billable(reasons)

    adp_until = _covered_until(terms, "adp", on)
    if adp_until is None:
        reasons += hardware_note
        expired = _latest_expired(terms, ("adp",), on)
        upcoming = _next_starting(terms, ("adp",), on)
        if expired is not None:
            reasons.append(
                Reason(_ADP_EXPIRED, {"offering": "adp", "end": expired.end.isoformat()})
            )
        elif upcoming is not None:
            reasons.append(Reason(_ADP_NOT_YET, {}))
        else:
            reasons.append(Reason(_ADP_NEVER, {}))
        if upcoming is not None:
            reasons.append(
                Reason(_ADP_STARTS, {"offering": "adp", "start": upcoming.start.isoformat()})
            )
        return _billable(reasons)

    if purchase_price is not None:
        money = {
            "spent": _money_text(adp_spent),
            "limit": _money_text(purchase_price),
            "end": adp_until.isoformat(),
        }
        if adp_spent >= purchase_price:
            reasons += hardware_note
            reasons.append(Reason(_ADP_EXHAUSTED, {"offering": "adp", **money}))
            return _billable(reasons)
        reasons.append(
            Reason(_COVERED_BY["adp"], {"offering": "adp", "end": adp_until.isoformat()})
        )
        reasons.append(Reason(_ADP_USAGE, {"offering": "adp", **money}))
        return _covered(["adp"], reasons)

    reasons.append(Reason(_COVERED_BY["adp"], {"offering": "adp", "end": adp_until.isoformat()}))
    return _covered(["adp"], reasons)


def decide_coverage(
    *,
    entitlements: Iterable[EntitlementTerm],
    product_line: str,
    on: date,
    damage: str = "none",
    part: str | None = None,
    adp_spent: Decimal = Decimal(0),
    purchase_price: Decimal | None = None,
) -> CoverageDecision:
    """Decide whether a repair on ``on`` is covered, and why.

    - A hardware fault (``damage="none"``) is covered by any active ``depot``, ``onsite``
      or ``onsite_4h``; ``basis`` lists them best first.
    - Accidental damage is covered only by an active ``adp`` on a laptop or all-in-one,
      while repairs under it (``adp_spent``) stay below the purchase price when known.
    - Consumable parts (batteries, keycaps, adapters, cables) are always billable.
    - A replaced drive: with active ``kyd`` it stays with the customer, otherwise it is
      returned to the maker (a reason says which).

    Unknown product lines, damage types, parts or offerings raise ``ValueError``.
    """
    if product_line not in PRODUCT_LINES:
        raise ValueError(f"unknown product line {product_line!r}")
    if damage not in DAMAGE_TYPES:
        raise ValueError(f"unknown damage type {damage!r}")
    if part is not None and part not in PART_KINDS:
        raise ValueError(f"unknown part {part!r}")
    _check_date(on, "on")
    spent = _money(adp_spent, "adp_spent")
    price = None if purchase_price is None else _money(purchase_price, "purchase_price")
    terms = _terms(entitlements)

    if part in CONSUMABLE_PARTS:
        return _billable([Reason(_CONSUMABLE[part], {"part": part})])

    if damage in ACCIDENTAL_DAMAGE_TYPES:
        decision = _decide_accidental(
            terms,
            product_line=product_line,
            on=on,
            damage=damage,
            adp_spent=spent,
            purchase_price=price,
        )
    else:
        hardware = _active_hardware(terms, on)
        if hardware:
            decision = _covered(
                [offering for offering, _ in hardware],
                [
                    Reason(_COVERED_BY[offering], {"offering": offering, "end": end.isoformat()})
                    for offering, end in hardware
                ],
            )
        else:
            decision = _billable(_hardware_lapse_reasons(terms, on))

    if part == "drive":
        decision = CoverageDecision(
            covered=decision.covered,
            billable=decision.billable,
            basis=decision.basis,
            reasons=decision.reasons + tuple(_drive_reasons(terms, on)),
        )
    return decision
