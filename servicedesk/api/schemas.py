"""What the API reads and writes, as marshmallow schemas (they also make the OpenAPI document).

Times are shown in the configured ``SERVICEDESK_TIMEZONE`` as ISO 8601 with their offset
(``2026-11-20T10:30:00+08:00``); dates as ``YYYY-MM-DD``. Coverage reasons are rendered in
the request's language.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, tzinfo
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import marshmallow as ma
from flask import current_app
from flask_babel import gettext
from marshmallow import fields, validate

from servicedesk.api.cursors import decode_cursor, encode_cursor
from servicedesk.core.db import utcnow
from servicedesk.customers.identify import AssetView, CardTicket, CustomerCard
from servicedesk.dispatch.services import stored_decision
from servicedesk.sla.standing import API_STATUSES, api_status, clock_state
from servicedesk.sla.targets import CLOCKS, TARGET_NAMES
from servicedesk.tickets.intake import SUMMARY_MAX
from servicedesk.tickets.models import TICKET_KINDS, TICKET_STATUSES, Ticket
from servicedesk.tickets.queries import MAX_PAGE_SIZE, TicketPosition
from servicedesk.warranty.coverage import DAMAGE_TYPES, PART_KINDS

DATABASE_INTEGER_MAX = 2**31 - 1
QUERY_TEXT_MAX = 200


@lru_cache(maxsize=8)
def _zone(name: str) -> tzinfo:
    return ZoneInfo(name)


def service_timezone() -> tzinfo:
    return _zone(current_app.config["SERVICEDESK_TIMEZONE"])


# --- fields ------------------------------------------------------------------------------


class LocalDateTime(fields.DateTime):
    """An aware UTC datetime, shown to the second in the service time zone with its offset."""

    def _serialize(self, value: datetime | None, attr, obj, **kwargs) -> str | None:
        if value is None:
            return None
        return value.astimezone(service_timezone()).isoformat(timespec="seconds")


class Text(fields.String):
    """A string the database can store: no NUL character and no unpaired surrogate."""

    default_error_messages = {
        "unstorable": "Text may not contain NUL characters or unpaired surrogates."
    }

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if "\x00" in text:
            raise self.make_error("unstorable")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as error:
            raise self.make_error("unstorable") from error
        return text


class StrictInteger(fields.Integer):
    """A JSON integer: not a string, a fraction or a boolean."""

    def __init__(self, **kwargs):
        super().__init__(strict=True, **kwargs)

    def _validated(self, value):
        if isinstance(value, bool):
            raise self.make_error("invalid")
        return super()._validated(value)


class StrictBoolean(fields.Boolean):
    """A JSON ``true`` or ``false``, nothing that merely looks like one."""

    def _deserialize(self, value, attr, data, **kwargs) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class Derived(fields.Nested):
    """A nested object computed from the parent by ``getter`` and documented as ``nested``."""

    def __init__(self, nested, getter: Callable[[Any], Any], **kwargs):
        super().__init__(nested, **kwargs)
        self.getter = getter

    def get_value(self, obj, attr, accessor=None, default=ma.missing):
        return self.getter(obj)


class RenderedReasons(fields.List):
    """Stored :class:`~servicedesk.warranty.coverage.Reason` objects as text in the request's
    language."""

    def __init__(self, **kwargs):
        super().__init__(fields.String(), **kwargs)

    def _serialize(self, value, attr, obj, **kwargs) -> list[str] | None:
        if value is None:
            return None
        return [reason.render(gettext) for reason in value]


class Cursor(fields.String):
    """An opaque page cursor (``next`` of the previous page)."""

    default_error_messages = {"invalid": "Not a valid cursor: pass the 'next' of a previous page."}

    def _serialize(self, value: TicketPosition | None, attr, obj, **kwargs) -> str | None:
        return None if value is None else encode_cursor(value)

    def _deserialize(self, value, attr, data, **kwargs) -> TicketPosition:
        position = decode_cursor(super()._deserialize(value, attr, data, **kwargs))
        if position is None or not 1 <= position.id <= DATABASE_INTEGER_MAX:
            raise self.make_error("invalid")
        return position


# --- identify ----------------------------------------------------------------------------


class IdentifyQuerySchema(ma.Schema):
    phone = Text(
        validate=validate.Length(max=QUERY_TEXT_MAX),
        metadata={"description": "A phone number in any spelling, e.g. caller ID."},
    )
    serial = Text(
        validate=validate.Length(max=QUERY_TEXT_MAX), metadata={"description": "A serial number."}
    )
    q = Text(
        validate=validate.Length(max=QUERY_TEXT_MAX),
        metadata={"description": "Phone, serial, customer code or a customer/contact name."},
    )

    @ma.validates_schema
    def exactly_one(self, data: dict[str, str], **kwargs) -> None:
        given = [name for name in ("phone", "serial", "q") if data.get(name, "").strip()]
        if len(given) != 1:
            raise ma.ValidationError("Give exactly one of phone, serial or q.")

    @ma.post_load
    def drop_blanks(self, data: dict[str, str], **kwargs) -> dict[str, str]:
        return {name: value for name, value in data.items() if value.strip()}


class IdentifiedCustomerSchema(ma.Schema):
    code = fields.String()
    name = fields.String()
    customer_class = fields.String(data_key="class", metadata={"enum": ["A", "B", "C", "consumer"]})
    province = fields.String()
    city = fields.String()
    language = fields.String()


class PhoneSchema(ma.Schema):
    e164 = fields.String(metadata={"description": "E.164, e.g. +8613800138000."})
    extension = fields.String(allow_none=True)


class ContactSchema(ma.Schema):
    name = fields.String()
    phones = fields.Nested(PhoneSchema, many=True)
    primary = fields.Boolean(attribute="is_primary")


class EntitlementSchema(ma.Schema):
    offering = fields.String()
    start = fields.Date()
    end = fields.Date()
    active = fields.Boolean(metadata={"description": "In force today (start <= today <= end)."})


def _entitlement_states(view: AssetView) -> list[dict[str, Any]]:
    return [
        {
            "offering": term.offering,
            "start": term.start,
            "end": term.end,
            "active": view.active(term),
        }
        for term in view.terms
    ]


class CardAssetSchema(ma.Schema):
    serial = fields.String(attribute="asset.serial")
    product_line = fields.String(attribute="asset.product_line")
    model = fields.String(attribute="asset.model")
    purchase_date = fields.Date(attribute="asset.purchase_date")
    city = fields.String(attribute="asset.city")
    service_level = fields.String(
        attribute="service_level.level",
        metadata={"description": "The effective level today: onsite_4h, onsite, depot, billable."},
    )
    entitlements = Derived(EntitlementSchema, _entitlement_states, many=True)


class TicketSummarySchema(ma.Schema):
    number = fields.String()
    kind = fields.String()
    status = fields.String()
    summary = fields.String()
    created_at = LocalDateTime()
    serial = fields.String(attribute="asset.serial", allow_none=True, dump_default=None)


class CustomerCardSchema(ma.Schema):
    customer = fields.Nested(IdentifiedCustomerSchema)
    contacts = fields.Nested(ContactSchema, many=True)
    assets = fields.Nested(CardAssetSchema, many=True)
    open_tickets = fields.Nested(TicketSummarySchema, many=True)
    recent_tickets = fields.Nested(
        TicketSummarySchema, many=True, metadata={"description": "Latest closed tickets first."}
    )


class IdentifyResponseSchema(ma.Schema):
    matches = fields.Nested(
        CustomerCardSchema, many=True, metadata={"description": "Best match first; empty if none."}
    )


def identify_document(cards: list[CustomerCard]) -> dict[str, Any]:
    """What :class:`IdentifyResponseSchema` dumps for ``cards``, built directly.

    The schema documents the answer and stays its definition (a test compares the two on
    full cards); this is the same document at a fraction of marshmallow's cost, on the API's
    busiest request.
    """
    zone = service_timezone()

    def ticket(item: CardTicket | Ticket) -> dict[str, Any]:
        return {
            "number": item.number,
            "kind": item.kind,
            "status": item.status,
            "summary": item.summary,
            "created_at": item.created_at.astimezone(zone).isoformat(timespec="seconds"),
            "serial": item.asset.serial if item.asset is not None else None,
        }

    def asset(view: AssetView) -> dict[str, Any]:
        machine = view.asset
        return {
            "serial": machine.serial,
            "product_line": machine.product_line,
            "model": machine.model,
            "purchase_date": machine.purchase_date.isoformat(),
            "city": machine.city,
            "service_level": view.service_level.level,
            "entitlements": [
                {**state, "start": state["start"].isoformat(), "end": state["end"].isoformat()}
                for state in _entitlement_states(view)
            ],
        }

    def card(item: CustomerCard) -> dict[str, Any]:
        customer = item.customer
        return {
            "customer": {
                "code": customer.code,
                "name": customer.name,
                "class": customer.customer_class,
                "province": customer.province,
                "city": customer.city,
                "language": customer.language,
            },
            "contacts": [
                {
                    "name": contact.name,
                    "phones": [
                        {"e164": phone.e164, "extension": phone.extension}
                        for phone in contact.phones
                    ],
                    "primary": contact.is_primary,
                }
                for contact in item.contacts
            ],
            "assets": [asset(view) for view in item.assets],
            "open_tickets": [ticket(entry) for entry in item.open_tickets],
            "recent_tickets": [ticket(entry) for entry in item.recent_tickets],
        }

    return {"matches": [card(item) for item in cards]}


# --- tickets -----------------------------------------------------------------------------


class TicketCreateSchema(ma.Schema):
    error_messages = {"type": "The body must be a JSON object."}

    kind = fields.String(required=True, validate=validate.OneOf(TICKET_KINDS))
    customer = Text(
        required=True,
        validate=validate.Length(min=1, max=QUERY_TEXT_MAX),
        metadata={"description": "The customer's code."},
    )
    serial = Text(
        allow_none=True,
        validate=validate.Length(max=QUERY_TEXT_MAX),
        metadata={"description": "The machine's serial number; required for repairs."},
    )
    summary = Text(required=True, validate=validate.Length(min=1, max=SUMMARY_MAX))
    description = Text(allow_none=True)
    damage = fields.String(
        allow_none=True,
        validate=validate.OneOf(DAMAGE_TYPES),
        metadata={"description": "Repairs: the cause of the damage (default none)."},
    )
    part = fields.String(
        allow_none=True,
        validate=validate.OneOf(PART_KINDS),
        metadata={"description": "Repairs: the kind of part at fault, e.g. battery."},
    )
    call = StrictInteger(
        allow_none=True,
        validate=validate.Range(min=1, max=DATABASE_INTEGER_MAX),
        metadata={"description": "Id of the call the ticket is opened in."},
    )
    answered = StrictBoolean(
        load_default=True,
        metadata={
            "description": "Inquiries and pre-sales consultations answered on the call are "
            "closed at once (default true)."
        },
    )


class CustomerRefSchema(ma.Schema):
    code = fields.String()
    name = fields.String()


class AssetRefSchema(ma.Schema):
    serial = fields.String()
    product_line = fields.String()
    model = fields.String()
    city = fields.String()


class StationRefSchema(ma.Schema):
    code = fields.String()
    name = fields.String()


class CoverageSchema(ma.Schema):
    covered = fields.Boolean()
    billable = fields.Boolean()
    basis = fields.List(
        fields.String(),
        attribute="coverage_basis",
        metadata={"description": "Offering codes that cover the repair, best first."},
    )
    reasons = RenderedReasons(metadata={"description": "Why, in the request's language."})


class SlaTargetSchema(ma.Schema):
    due = LocalDateTime(
        metadata={
            "description": "When the target is due: the promise, moved out by the time the "
            "ticket waited on the customer (while it waits, the due time as it stood when the "
            "wait began)."
        }
    )
    original_due = LocalDateTime(metadata={"description": "The due time first promised."})
    met_at = LocalDateTime(allow_none=True, metadata={"description": "When the target was met."})
    status = fields.String(
        metadata={
            "enum": list(API_STATUSES),
            "description": "met (on time); breached (met late, or not met by the due time); "
            "running; paused (waiting on the customer); stopped (ticket cancelled).",
        }
    )
    met = fields.Boolean(
        allow_none=True,
        metadata={"description": "true: met on time; false: met late or breached; null: open."},
    )
    clock = fields.String(
        metadata={"enum": list(CLOCKS), "description": "business hours or around the clock"}
    )


class SlaTargetsSchema(ma.Schema):
    respond = fields.Nested(SlaTargetSchema, allow_none=True)
    arrive = fields.Nested(
        SlaTargetSchema,
        allow_none=True,
        metadata={"description": "On site (onsite levels) or received; null when not promised."},
    )
    resolve = fields.Nested(SlaTargetSchema, allow_none=True)


class SlaSchema(ma.Schema):
    respond_by = LocalDateTime(allow_none=True, metadata={"description": "Due time; null: none."})
    arrive_by = LocalDateTime(allow_none=True, metadata={"description": "Due time; null: none."})
    resolve_by = LocalDateTime(allow_none=True, metadata={"description": "Due time; null: none."})
    targets = fields.Nested(
        SlaTargetsSchema,
        metadata={"description": "Each target's due time and status; null when not promised."},
    )


def _repair_coverage(ticket: Ticket) -> Ticket | None:
    return ticket if ticket.kind == "repair" else None


def _sla_block(ticket: Ticket) -> dict[str, Any]:
    """The ticket's SLA clocks: due times at the top (as DESIGN.md names them) and, per
    target, where it stands now."""
    now = utcnow()
    clocks = {clock.target: clock for clock in ticket.clocks}
    targets: dict[str, dict[str, Any] | None] = {}
    for name in TARGET_NAMES:
        clock = clocks.get(name)
        if clock is None:
            targets[name] = None
            continue
        state = clock_state(
            clock.due_at,
            now,
            met_at=clock.met_at,
            paused_since=clock.paused_since,
            stopped_at=clock.stopped_at,
        )
        targets[name] = {
            "due": clock.due_at,
            "original_due": clock.original_due_at,
            "met_at": clock.met_at,
            "status": api_status(state),
            "met": {"met": True, "late": False, "breached": False}.get(state),
            "clock": clock.clock,
        }
    block: dict[str, Any] = {
        f"{name}_by": None if targets[name] is None else targets[name]["due"]
        for name in TARGET_NAMES
    }
    block["targets"] = targets
    return block


class TicketPartSchema(ma.Schema):
    kind = fields.String()
    part_no = fields.String()
    faulty_serial = fields.String(allow_none=True)
    replacement_serial = fields.String(allow_none=True)
    value = fields.Decimal(as_string=True, allow_none=True)
    whole_unit = fields.Boolean()
    retained_by_customer = fields.Boolean(allow_none=True)
    drive_disposition = fields.String(allow_none=True)
    charged_to = fields.String()


class TicketEventSchema(ma.Schema):
    at = LocalDateTime()
    actor = fields.String(
        attribute="actor.username",
        allow_none=True,
        dump_default=None,
        metadata={"description": "User name; null for the system."},
    )
    action = fields.String()
    from_status = fields.String(allow_none=True)
    to_status = fields.String(allow_none=True)
    reason = fields.String()
    data = fields.Dict()


class DispatchCandidateSchema(ma.Schema):
    code = fields.String()
    name = fields.String()
    eligible = fields.Boolean()
    rank = fields.Integer(
        allow_none=True, metadata={"description": "1 = chosen; null when not eligible."}
    )
    reasons = RenderedReasons(
        metadata={"description": "Why it won, lost or is out, in the request's language."}
    )


class DispatchSchema(ma.Schema):
    state = fields.String(metadata={"enum": ["dispatched", "waiting"]})
    reason = fields.String(
        allow_none=True,
        metadata={"description": "Why this station, or why the repair waits (request language)."},
    )
    candidates = fields.Nested(DispatchCandidateSchema, many=True)


def _dispatch_block(ticket: Ticket) -> dict[str, Any] | None:
    decision = stored_decision(ticket)
    if decision is None or ticket.dispatch_state is None:
        return None
    return {
        "state": ticket.dispatch_state,
        "reason": None if decision.reason is None else decision.reason.render(gettext),
        "candidates": decision.candidates,
    }


class TicketSchema(ma.Schema):
    number = fields.String(metadata={"description": "e.g. SD-2026-000123"})
    kind = fields.String(metadata={"enum": list(TICKET_KINDS)})
    status = fields.String(metadata={"enum": list(TICKET_STATUSES)})
    customer = fields.Nested(CustomerRefSchema)
    asset = fields.Nested(AssetRefSchema, allow_none=True)
    summary = fields.String()
    description = fields.String()
    damage = fields.String()
    part = fields.String(allow_none=True)
    coverage = Derived(
        CoverageSchema,
        _repair_coverage,
        allow_none=True,
        metadata={"description": "Repairs only; null for other kinds."},
    )
    service_level = fields.String(allow_none=True)
    sla = Derived(SlaSchema, _sla_block)
    station = fields.Nested(StationRefSchema, allow_none=True)
    dispatch = Derived(
        DispatchSchema,
        _dispatch_block,
        allow_none=True,
        metadata={"description": "Repairs only: where dispatch sent it and why; null otherwise."},
    )
    parts = fields.Nested(TicketPartSchema, many=True)
    created_at = LocalDateTime()
    events = fields.Nested(TicketEventSchema, many=True)


class TicketListQuerySchema(ma.Schema):
    status = fields.String(validate=validate.OneOf(TICKET_STATUSES))
    kind = fields.String(validate=validate.OneOf(TICKET_KINDS))
    station = Text(
        validate=validate.Length(max=QUERY_TEXT_MAX), metadata={"description": "Station code."}
    )
    customer = Text(
        validate=validate.Length(max=QUERY_TEXT_MAX), metadata={"description": "Customer code."}
    )
    limit = fields.Integer(
        validate=validate.Range(min=1, max=MAX_PAGE_SIZE),
        metadata={"description": "Tickets per page (default API_PAGE_SIZE, 50)."},
    )
    cursor = Cursor(metadata={"description": "The 'next' value of the previous page."})


class TicketPageSchema(ma.Schema):
    items = fields.Nested(TicketSchema, many=True, metadata={"description": "Newest first."})
    next = Cursor(
        allow_none=True, metadata={"description": "Cursor of the next page; null on the last."}
    )
