"""The demo data set as plain values, before it has database ids.

Rows refer to each other by natural keys (customer code, serial, station code, username); the
loader turns those into ids as it inserts them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from servicedesk.tickets.models import OPEN_STATUSES


@dataclass(frozen=True)
class StationSpec:
    code: str
    name: str
    region_code: str
    capacity: int
    status: str
    cities: tuple[tuple[str, bool], ...]
    """``(city, four_hour)`` pairs."""
    product_lines: tuple[str, ...]

    @property
    def four_hour_cities(self) -> tuple[str, ...]:
        return tuple(city for city, four_hour in self.cities if four_hour)


@dataclass(frozen=True)
class UserSpec:
    username: str
    role: str
    display_name: str
    station_code: str | None = None
    language: str | None = None


@dataclass(frozen=True)
class PhoneSpec:
    spelling: str
    """The number as the customer gave it."""
    e164: str
    extension: str | None = None


@dataclass
class ContactSpec:
    name: str
    title: str
    is_primary: bool
    phones: list[PhoneSpec] = field(default_factory=list)


@dataclass(frozen=True)
class EntitlementSpec:
    offering: str
    start: date
    end: date


@dataclass
class AssetSpec:
    serial: str
    product_line: str
    model: str
    purchase_date: date
    purchase_price: Decimal
    province: str
    city: str
    entitlements: list[EntitlementSpec] = field(default_factory=list)


@dataclass
class CustomerSpec:
    code: str
    name: str
    customer_class: str
    province: str
    city: str
    address: str
    language: str
    contacts: list[ContactSpec] = field(default_factory=list)
    assets: list[AssetSpec] = field(default_factory=list)
    do_not_call: bool = False

    @property
    def phones(self) -> list[PhoneSpec]:
        return [phone for contact in self.contacts for phone in contact.phones]


@dataclass(frozen=True)
class EventSpec:
    at: datetime
    actor: str | None
    """Username of who made the change."""
    action: str
    from_status: str | None
    to_status: str | None
    reason: str = ""
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class TicketSpec:
    kind: str
    status: str
    customer_code: str
    serial: str | None
    summary: str
    description: str
    damage: str
    part: str | None
    created_at: datetime
    created_by: str | None
    """Username of who opened it; ``None`` for the system (a callback's follow-up)."""
    events: list[EventSpec]
    station_code: str | None = None
    covered: bool | None = None
    billable: bool | None = None
    coverage_basis: list[str] = field(default_factory=list)
    coverage_reasons: list[dict[str, Any]] = field(default_factory=list)
    service_level: str | None = None
    service_level_reasons: list[dict[str, Any]] = field(default_factory=list)
    resolution: str = ""
    closed_at: datetime | None = None
    follow_up_of: TicketSpec | None = None
    """The repair a follow-up complaint is about."""
    follow_up_answers: dict[str, int] = field(default_factory=dict)
    """The callback answers that opened a follow-up complaint (its texts name the repair's
    number, which only the loader knows)."""

    @property
    def updated_at(self) -> datetime:
        return self.events[-1].at

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


@dataclass
class CallSpec:
    customer_code: str
    caller_e164: str
    agent: str
    started_at: datetime
    ended_at: datetime
    tickets: list[TicketSpec] = field(default_factory=list)


@dataclass(frozen=True)
class AnswerSpec:
    question: str
    value: int
    at: datetime


@dataclass
class AttemptSpec:
    """One call placed for a callback, as the sweep and the webhooks record it."""

    number: int
    token: str
    status: str
    claimed_at: datetime
    placed_at: datetime | None
    ended_at: datetime | None
    call_sid: str | None
    answered_at: datetime | None = None
    answered_by: str | None = None
    survey_state: dict[str, Any] | None = None
    answers: list[AnswerSpec] = field(default_factory=list)


@dataclass
class CallbackSpec:
    """The satisfaction callback of one closed repair."""

    ticket: TicketSpec
    customer_code: str
    station_code: str | None
    phone_e164: str | None
    language: str
    timezone: str
    status: str
    created_at: datetime
    due_at: datetime | None = None
    max_attempts: int = 3
    attempts: list[AttemptSpec] = field(default_factory=list)
    stop_reason: str | None = None
    satisfied: bool | None = None
    answered_at: datetime | None = None
    finished_at: datetime | None = None
    follow_up: TicketSpec | None = None

    @property
    def answers(self) -> list[AnswerSpec]:
        return [answer for attempt in self.attempts for answer in attempt.answers]


@dataclass(frozen=True)
class DoNotCallSpec:
    """A number put on the do-not-call list (the customer pressed 9 in a survey)."""

    e164: str
    customer_code: str
    reason: str
    added_at: datetime


@dataclass
class DemoData:
    stations: list[StationSpec]
    users: list[UserSpec]
    customers: list[CustomerSpec]
    calls: list[CallSpec]
    callbacks: list[CallbackSpec] = field(default_factory=list)
    follow_ups: list[TicketSpec] = field(default_factory=list)
    """Complaints opened by the callbacks (they come with no call)."""
    do_not_call: list[DoNotCallSpec] = field(default_factory=list)
    station_quality: dict[str, float] = field(default_factory=dict)
    """Station code → the share of its customers the callbacks found satisfied (by design)."""

    @property
    def tickets(self) -> list[TicketSpec]:
        return [ticket for call in self.calls for ticket in call.tickets] + self.follow_ups


def add_years(day: date, years: int) -> date:
    """The same calendar day ``years`` later (or earlier); 29 February becomes the 28th."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def term(offering: str, start: date, years: int) -> EntitlementSpec:
    """An entitlement of whole years starting on ``start`` (its last day is the day before the
    anniversary)."""
    return EntitlementSpec(offering, start, add_years(start, years) - timedelta(days=1))
