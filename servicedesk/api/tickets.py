"""``/api/v1/tickets``: open tickets during a call, read one, list them page by page."""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app, g, url_for

from servicedesk.api.base import (
    API_PREFIX,
    ApiBlueprint,
    authenticated,
    committed,
    documents_errors,
)
from servicedesk.api.errors import abort_api, abort_invalid
from servicedesk.api.schemas import (
    TicketCreateSchema,
    TicketListQuerySchema,
    TicketPageSchema,
    TicketSchema,
)
from servicedesk.auth.access import AGENT_ROLES
from servicedesk.callcenter.models import Call
from servicedesk.core.db import db, utcnow
from servicedesk.customers.models import Customer
from servicedesk.tickets.intake import IntakeError, TicketRequest, open_ticket
from servicedesk.tickets.queries import (
    TicketFilters,
    TicketQueryError,
    list_tickets,
    ticket_by_number,
)

blp = ApiBlueprint(
    "api_tickets", __name__, url_prefix=API_PREFIX, description="Tickets: open, read, list."
)


@blp.route("/tickets", methods=["POST"])
@authenticated(*AGENT_ROLES)
@committed
@blp.arguments(TicketCreateSchema)
@blp.response(201, TicketSchema)
@documents_errors(400, 409, 413)
def create_ticket(body: dict):
    """Open a ticket

    `customer` is the customer's code; a repair needs the `serial` of one of the customer's
    machines and gets its coverage decision. Inquiries and pre-sales consultations answered
    on the call (`answered`, default true) are closed at once. An unknown customer, serial or
    call is a 422 naming the field; nothing is saved on any error.
    """
    customer = db.session.scalar(sa.select(Customer).where(Customer.code == body["customer"]))
    if customer is None:
        abort_invalid("customer", f"unknown customer {body['customer']!r}")
    call = None
    if body.get("call") is not None:
        call = db.session.get(Call, body["call"])
        if call is None:
            abort_invalid("call", f"unknown call {body['call']}")
    ticket_request = TicketRequest(
        kind=body["kind"],
        summary=body["summary"],
        description=body.get("description") or "",
        serial=body.get("serial"),
        damage=body.get("damage") or "none",
        part=body.get("part"),
        answered=body["answered"],
    )
    try:
        ticket = open_ticket(g.api_user, customer, ticket_request, now=utcnow(), call=call)
    except IntakeError as error:
        abort_invalid(error.field, str(error))
    _commit_keeping_loaded()
    return ticket, {"Location": url_for(".get_ticket", number=ticket.number)}


def _commit_keeping_loaded() -> None:
    """Commit now, before the answer is serialised, keeping the objects in memory as written.

    Dispatch holds the candidate stations' rows, and numbering the year's counter row, locked
    until the commit: every other repair of those stations, and every other new ticket, waits
    meanwhile. Committed here, the locks are not held while the answer is built, and the
    ticket this transaction has just written is serialised from memory instead of being read
    back (the session's ``expire_on_commit`` is suspended for this one commit).
    """
    session = db.session()
    expire_on_commit = session.expire_on_commit
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = expire_on_commit


@blp.route("/tickets/<number>")
@authenticated(*AGENT_ROLES, "station")
@blp.response(200, TicketSchema)
@documents_errors(404)
def get_ticket(number: str):
    """Read a ticket

    With its coverage decision (reasons in the language of `Accept-Language`) and its
    history of events. A station user only sees its own station's tickets (404 otherwise).
    """
    ticket = ticket_by_number(g.api_user, number)
    if ticket is None:
        abort_api(404, message=f"no ticket {number[:40]!r}")
    return ticket


@blp.route("/tickets", methods=["GET"])
@authenticated(*AGENT_ROLES)
@blp.arguments(TicketListQuerySchema, location="query", as_kwargs=True)
@blp.response(200, TicketPageSchema)
def list_tickets_page(limit: int | None = None, cursor=None, **filters: str):
    """List tickets

    Newest first, filtered by `status`, `kind`, `station` (code) and `customer` (code).
    Pass the `next` of a page as `cursor` to get the following one; `next` is null on the
    last page. An unknown station or customer is a 422.
    """
    try:
        page = list_tickets(
            g.api_user,
            TicketFilters(**filters),
            limit=limit or current_app.config["API_PAGE_SIZE"],
            after=cursor,
        )
    except TicketQueryError as error:
        abort_invalid(error.field, str(error))
    return {"items": page.items, "next": page.next}
