"""``POST /api/v1/tickets/{number}/events``: move a ticket on, with what the change records.

A status change may carry a ``visit`` window (booking it: status ``scheduled``) or the
closing records of a repair (``resolution``, ``parts``, ``quote``: status ``resolved`` or
``closed``). A repair is resolved (or closed straight from work) only with its closing
records, which the warranty rules check.
"""

from __future__ import annotations

import marshmallow as ma
import sqlalchemy as sa
from flask import g
from flask_babel import gettext
from marshmallow import fields, validate

from servicedesk.api.base import (
    API_PREFIX,
    ApiBlueprint,
    authenticated,
    committed,
    documents_errors,
)
from servicedesk.api.errors import abort_api, abort_invalid
from servicedesk.api.schemas import StrictBoolean, Text, TicketSchema
from servicedesk.auth.access import AGENT_ROLES
from servicedesk.core.db import db, utcnow
from servicedesk.tickets.actions import refusal_text
from servicedesk.tickets.closing import (
    CLOSING_STATUSES,
    PART_TEXT_MAX,
    TEXT_MAX,
    ClosingError,
    book_visit,
    close_repair,
)
from servicedesk.tickets.lifecycle import TransitionError
from servicedesk.tickets.models import TICKET_STATUSES, Ticket
from servicedesk.tickets.queries import TICKET_NUMBER_MAX, visible_to
from servicedesk.tickets.services import (
    REASON_MAX,
    TicketChangeError,
    TicketInputError,
    TicketPermissionError,
    change_status,
)
from servicedesk.warranty.closing import PartUsed
from servicedesk.warranty.coverage import PART_KINDS

PARTS_MAX = 50
VALUE_MAX = 9_999_999_999.99
CLOSING_FIELDS = ("resolution", "parts", "quote")

blp = ApiBlueprint(
    "api_events",
    __name__,
    url_prefix=API_PREFIX,
    description="Ticket events: status changes with their visit or closing records.",
)


class PartInSchema(ma.Schema):
    error_messages = {"type": "Each part must be a JSON object."}

    kind = fields.String(required=True, validate=validate.OneOf(PART_KINDS))
    part_no = Text(required=True, validate=validate.Length(min=1, max=PART_TEXT_MAX))
    faulty_serial = Text(allow_none=True, validate=validate.Length(max=PART_TEXT_MAX))
    replacement_serial = Text(allow_none=True, validate=validate.Length(max=PART_TEXT_MAX))
    retained_by_customer = StrictBoolean(
        allow_none=True,
        metadata={"description": "Drives: whether the customer kept the faulty drive."},
    )
    value = fields.Decimal(
        allow_none=True,
        allow_nan=False,
        places=2,
        validate=validate.Range(min=0, max=VALUE_MAX),
        metadata={"description": "The part's value; needed for adp and billable parts."},
    )
    whole_unit = StrictBoolean(
        load_default=False, metadata={"description": "The whole machine was replaced."}
    )


class VisitSchema(ma.Schema):
    error_messages = {"type": "The visit must be a JSON object."}

    starts_at = fields.AwareDateTime(required=True)
    ends_at = fields.AwareDateTime(required=True)


class TicketEventCreateSchema(ma.Schema):
    error_messages = {"type": "The body must be a JSON object."}

    status = fields.String(required=True, validate=validate.OneOf(TICKET_STATUSES))
    reason = Text(allow_none=True, validate=validate.Length(max=REASON_MAX))
    resolution = Text(allow_none=True, validate=validate.Length(max=TEXT_MAX))
    quote = Text(
        allow_none=True,
        validate=validate.Length(max=TEXT_MAX),
        metadata={"description": "The quote given to the customer for billable work."},
    )
    parts = fields.List(
        fields.Nested(PartInSchema), allow_none=True, validate=validate.Length(max=PARTS_MAX)
    )
    visit = fields.Nested(
        VisitSchema,
        allow_none=True,
        metadata={"description": "Books the visit window; only with status scheduled."},
    )


@blp.route("/tickets/<number>/events", methods=["POST"])
@authenticated(*AGENT_ROLES, "station")
@committed
@blp.arguments(TicketEventCreateSchema)
@blp.response(200, TicketSchema)
@documents_errors(400, 404, 409)
def create_event(body: dict, number: str):
    """Change a ticket's status

    With `visit` (status `scheduled`) the visit window is booked. A repair is resolved or
    closed with its `resolution`, its `parts` and, for billable work, a `quote`; the warranty
    rules (keep-your-drive, the accidental damage protection limit, billable consumables)
    refuse wrong records with a 422 listing every problem. A change the lifecycle forbids is
    a 409 with the reason. A station user only reaches its own station's tickets (404).
    """
    ticket = _ticket_for_change(number)
    status = body["status"]
    now = utcnow()
    try:
        if body.get("visit") is not None:
            if status != "scheduled":
                abort_invalid("visit", gettext("A visit is booked with the status “scheduled”."))
            visit = body["visit"]
            book_visit(g.api_user, ticket, visit["starts_at"], visit["ends_at"], now=now)
        elif _records_closing(ticket, body):
            close_repair(
                g.api_user,
                ticket,
                resolution=body.get("resolution") or "",
                parts=[PartUsed(**part) for part in body.get("parts") or ()],
                quote=body.get("quote") or "",
                now=now,
                status=status,
            )
        else:
            change_status(g.api_user, ticket, status, now=now, reason=body.get("reason") or "")
    except ClosingError as error:
        fields_ = {
            name: [refusal_text(reason) for reason in reasons]
            for name, reasons in error.by_field.items()
        }
        message = "; ".join(refusal_text(reason) for reason in error.reasons)
        abort_api(422, "closing_refused", message, fields=fields_)
    except TicketInputError as error:
        abort_invalid(error.field, refusal_text(error.reason))
    except TicketPermissionError as error:
        abort_api(403, message=refusal_text(error.reason))
    except (TransitionError, TicketChangeError) as error:
        abort_api(409, "transition_refused", refusal_text(error.reason))
    return ticket


def _ticket_for_change(number: str) -> Ticket:
    """The ticket locked for the change (PostgreSQL), or a 404 when the user may not see it."""
    ticket = None
    if len(number) <= TICKET_NUMBER_MAX and "\x00" not in number:
        ticket = db.session.scalar(
            sa.select(Ticket)
            .where(Ticket.number == number, visible_to(g.api_user))
            .with_for_update(of=Ticket)
            .execution_options(populate_existing=True)
        )
    if ticket is None:
        abort_api(404, message=f"no ticket {number[:40]!r}")
    return ticket


def _records_closing(ticket: Ticket, body: dict) -> bool:
    """Whether the change goes through the closing rules.

    Closing records may only come with ``resolved`` or ``closed`` (422 otherwise). A repair
    reaches those statuses with its records, except a resolved one closed as it stands.
    """
    given = [name for name in CLOSING_FIELDS if body.get(name) is not None]
    if given and body["status"] not in CLOSING_STATUSES:
        abort_invalid(
            given[0], gettext("Resolution, parts and quote go with “resolved” or “closed”.")
        )
    if ticket.kind != "repair" or body["status"] not in CLOSING_STATUSES:
        return False
    return bool(given) or ticket.status != "resolved"
