"""The effective service level of a repair: the best one its entitlements allow.

Pure domain code: no Flask, no database, no clock; ``on`` is the customer's local date.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from servicedesk.warranty.coverage import (
    N_,
    CoverageDecision,
    EntitlementTerm,
    Reason,
    _active_hardware,
    _check_date,
    _hardware_lapse_reasons,
    _terms,
)

__all__ = ["SERVICE_LEVELS", "LevelDecision", "effective_service_level", "repair_service_level"]

#: Service levels, best first.
SERVICE_LEVELS = ("onsite_4h", "onsite", "depot", "billable")

_APPLIES = {
    "onsite_4h": N_(
        "4-hour onsite response applies until %(end)s: after a phone diagnosis, an engineer "
        "or the part is on site within 4 hours, around the clock."
    ),
    "onsite": N_(
        "Onsite service applies until %(end)s: an engineer comes to the site by the next "
        "business day."
    ),
    "depot": N_(
        "Carry-in (depot) service applies until %(end)s: the machine is brought or shipped "
        "to a repair station."
    ),
}
_HAS_FOUR_HOUR = N_("This machine has 4-hour onsite response until %(end)s.")
_DAMAGE_PROTECTION_ONLY = N_(
    "Only accidental damage protection covers this repair, so it is handled as a carry-in "
    "(depot) repair."
)
_FOUR_HOUR_UNAVAILABLE = N_(
    "4-hour response is not available in this city; next-business-day onsite service applies."
)


@dataclass(frozen=True)
class LevelDecision:
    """The chosen service level (one of :data:`SERVICE_LEVELS`) and why."""

    level: str
    reasons: tuple[Reason, ...]

    def __post_init__(self) -> None:
        if self.level not in SERVICE_LEVELS:
            raise ValueError(f"unknown service level {self.level!r}")
        object.__setattr__(self, "reasons", tuple(self.reasons))
        for reason in self.reasons:
            if not isinstance(reason, Reason):
                raise TypeError(f"expected Reason, got {reason!r}")

    def render_reasons(self, gettext=lambda s: s) -> list[str]:
        return [reason.render(gettext) for reason in self.reasons]

    def to_json(self) -> dict[str, Any]:
        return {"level": self.level, "reasons": [reason.to_json() for reason in self.reasons]}

    @classmethod
    def from_json(cls, data: Any) -> LevelDecision:
        if not isinstance(data, Mapping) or not isinstance(data.get("level"), str):
            raise ValueError(f"not a stored service level decision: {data!r}")
        return cls(
            level=data["level"],
            reasons=tuple(Reason.from_json(item) for item in data.get("reasons") or ()),
        )


def effective_service_level(
    *, entitlements: Iterable[EntitlementTerm], on: date, four_hour_available: bool
) -> LevelDecision:
    """The best service level the active hardware entitlements give on ``on``.

    ``onsite_4h`` > ``onsite`` > ``depot`` > ``billable``. 4-hour response needs
    ``four_hour_available`` (a station with 4-hour capability covers the asset's city);
    without it an active ``onsite_4h`` still gives next-business-day onsite service, and
    the reasons tell the agent why.
    """
    _check_date(on, "on")
    terms = _terms(entitlements)
    active = dict(_active_hardware(terms, on))

    if "onsite_4h" in active:
        four_hour_end = active["onsite_4h"].isoformat()
        if four_hour_available:
            reason = Reason(_APPLIES["onsite_4h"], {"offering": "onsite_4h", "end": four_hour_end})
            return LevelDecision(level="onsite_4h", reasons=(reason,))
        reasons = [
            Reason(_HAS_FOUR_HOUR, {"offering": "onsite_4h", "end": four_hour_end}),
            Reason(_FOUR_HOUR_UNAVAILABLE, {"offering": "onsite_4h", "end": four_hour_end}),
        ]
        return LevelDecision(level="onsite", reasons=tuple(reasons))

    for level in ("onsite", "depot"):
        if level in active:
            reason = Reason(_APPLIES[level], {"offering": level, "end": active[level].isoformat()})
            return LevelDecision(level=level, reasons=(reason,))

    return LevelDecision(level="billable", reasons=tuple(_hardware_lapse_reasons(terms, on)))


def repair_service_level(
    coverage: CoverageDecision,
    *,
    entitlements: Iterable[EntitlementTerm],
    on: date,
    four_hour_available: bool,
) -> LevelDecision:
    """The service level of a repair once its coverage is decided.

    A billable repair is ``billable``. A repair covered by accidental damage protection alone
    (no active hardware warranty) is handled as a carry-in: ``depot``.
    """
    if coverage.billable:
        return LevelDecision(level="billable", reasons=())
    decision = effective_service_level(
        entitlements=entitlements, on=on, four_hour_available=four_hour_available
    )
    if decision.level == "billable":
        return LevelDecision(
            level="depot", reasons=(Reason(_DAMAGE_PROTECTION_ONLY, {"offering": "adp"}),)
        )
    return decision
