"""The agent terminal: one search box, the customer card, tickets opened during the call, and
the incoming calls waiting for an agent (taking one pops its card; see ``inbound``)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from servicedesk.auth.access import AGENT_ROLES, roles_required
from servicedesk.callcenter import inbound
from servicedesk.callcenter.calls import (
    current_call,
    end_call,
    ensure_call,
    forget_call,
    on_a_call,
    remember_taken_call,
)
from servicedesk.callcenter.display import register_template_helpers
from servicedesk.callcenter.forms import TicketForm
from servicedesk.callcenter.labels import label
from servicedesk.callcenter.telephony import TelephonyError
from servicedesk.core.db import db, utcnow
from servicedesk.customers.identify import MAX_MATCHES, identify, load_cards
from servicedesk.customers.models import Customer
from servicedesk.customers.phones import format_phone, looks_like_phone, normalize_phone
from servicedesk.tickets.intake import SUMMARY_MAX, IntakeError, open_ticket
from servicedesk.tickets.models import TICKET_KINDS

bp = Blueprint("callcenter", __name__, url_prefix="/agent")
bp.record_once(lambda state: register_template_helpers(state.app))

SEARCH_MAX = 200


@bp.context_processor
def _incoming_calls() -> dict:
    """For the waiting-calls panel, queried only by the pages that show it."""
    return {
        "incoming_calls": lambda shown=None: inbound.waiting_panel(
            now=utcnow(), limit=shown or inbound.WAITING_SHOWN
        ),
        "agent_on_a_call": lambda: on_a_call(session, current_user),
    }


@bp.route("/")
@roles_required(*AGENT_ROLES)
def terminal():
    query = request.args.get("q", "").strip()
    if not query:
        return render_template("callcenter/terminal.html", query="", cards=None)
    if len(query) > SEARCH_MAX:
        flash(_("Search for at most %(max)d characters.", max=SEARCH_MAX), "error")
        return render_template("callcenter/terminal.html", query="", cards=None), 400
    cards = identify(now=utcnow(), q=query)
    caller = normalize_phone(query) if looks_like_phone(query) else None
    if len(cards) == 1:
        return redirect(url_for(".customer", code=cards[0].customer.code, caller=caller))
    return render_template(
        "callcenter/terminal.html",
        query=query,
        cards=cards,
        caller=caller,
        max_matches=MAX_MATCHES,
    )


@bp.route("/customers/<code>")
@roles_required(*AGENT_ROLES)
def customer(code: str):
    customer = _customer_or_404(code)
    caller = normalize_phone(request.args.get("caller", ""))
    call = ensure_call(session, current_user, customer, now=utcnow(), caller_e164=caller)
    db.session.commit()
    form = TicketForm(customer, **_preselected(customer))
    return _card(customer, call, form)


@bp.route("/customers/<code>/tickets", methods=["POST"])
@roles_required(*AGENT_ROLES)
def open_tickets(code: str):
    customer = _customer_or_404(code)
    form = TicketForm(customer)
    if not form.validate_on_submit():
        return _card(customer, current_call(session, current_user, customer), form, status=422)

    now = utcnow()
    started_here = current_call(session, current_user, customer) is None
    call = ensure_call(session, current_user, customer, now=now)
    try:
        ticket = open_ticket(current_user, customer, form.ticket_request(), now=now, call=call)
    except IntakeError as error:
        db.session.rollback()
        if started_here:
            forget_call(session, customer)
        form.add_error(error.field, intake_message(error))
        return _card(customer, current_call(session, current_user, customer), form, status=422)
    db.session.commit()
    flash(_opened_message(ticket), "success")
    return redirect(url_for(".customer", code=customer.code, _anchor="this-call"))


@bp.route("/customers/<code>/call/end", methods=["POST"])
@roles_required(*AGENT_ROLES)
def finish_call(code: str):
    customer = _customer_or_404(code)
    call = end_call(session, current_user, customer, now=utcnow())
    db.session.commit()
    if call is None:
        flash(_("There was no call in progress with this customer."), "info")
    else:
        message = ngettext(
            "Call with %(customer)s ended; %(num)d ticket opened.",
            "Call with %(customer)s ended; %(num)d tickets opened.",
            len(call.tickets),
            customer=customer.name,
        )
        flash(message, "success")
    return redirect(url_for(".terminal"))


@bp.route("/calls/waiting")
@roles_required(*AGENT_ROLES)
def waiting_calls():
    """The waiting-calls panel alone, polled every second by the terminal's script; ``shown``
    (1 to ``WAITING_SHOWN``) is how many calls it lists."""
    shown = request.args.get("shown", type=int)
    if shown is not None:
        shown = min(max(shown, 1), inbound.WAITING_SHOWN)
    return render_template("callcenter/_waiting_calls.html", shown=shown)


@bp.route("/calls/take", methods=["POST"])
@roles_required(*AGENT_ROLES)
def take_call():
    """Take the call named in the form (``call``), or the next waiting one, and pop its card."""
    try:
        taken = inbound.take_call(
            current_user, now=utcnow(), call_id=request.form.get("call", type=int)
        )
    except (inbound.CallNotTaken, TelephonyError) as refusal:
        db.session.rollback()
        flash(_not_taken_message(refusal), "warning")
        target = request.form.get("next", "")
        return redirect(target if _is_local(target) else url_for(".terminal"))
    remember_taken_call(session, taken.call)
    db.session.commit()
    return _pop(taken)


def _pop(taken: inbound.TakenCall):
    """Flash what the agent needs to know and open the card (or the search for the caller)."""
    call = taken.call
    if not taken.put_through and not current_user.phone:
        message = _(
            "You have no desk phone set, so the call cannot ring you: ask an administrator "
            "to set your phone number."
        )
        flash(message, "warning")
    if call.customer is not None:
        return redirect(url_for(".customer", code=call.customer.code))
    if call.caller_withheld or not call.caller_e164:
        flash(_("The caller's number is withheld: ask who is calling, then search."), "info")
        return redirect(url_for(".terminal"))
    message = _(
        "Caller %(phone)s: choose or find the customer; the call goes with the card you open.",
        phone=format_phone(call.caller_e164),
    )
    flash(message, "info")
    return redirect(url_for(".terminal", q=call.caller_e164))


def _not_taken_message(refusal: Exception) -> str:
    if isinstance(refusal, TelephonyError):
        return _(
            "The call could not be put through to your phone (%(error)s). It is still waiting.",
            error=str(refusal),
        )
    messages = {
        "taken": _("Another agent has just taken that call."),
        "over": _("The caller hung up before the call was taken."),
        "none": _("No call is waiting."),
    }
    return messages.get(refusal.reason, _("There is no such call."))


def _is_local(target: str) -> bool:
    return target.startswith("/") and not target.startswith("//") and "\\" not in target


def _customer_or_404(code: str) -> Customer:
    customer = db.session.scalar(sa.select(Customer).where(Customer.code == code))
    if customer is None:
        abort(404)
    return customer


def _preselected(customer: Customer) -> dict[str, str]:
    """Kind and machine picked by a link on the card (``?kind=repair&serial=...``)."""
    values = {}
    kind = request.args.get("kind")
    if kind in TICKET_KINDS:
        values["kind"] = kind
    serial = request.args.get("serial")
    if serial and any(asset.serial == serial for asset in customer.assets):
        values["serial"] = serial
    return values


def _card(customer: Customer, call, form: TicketForm, status: int = 200):
    now = utcnow()
    card = load_cards([customer.id], now=now, ticket_entities=True)[0]
    page = render_template("callcenter/customer.html", card=card, call=call, form=form, now=now)
    return page, status


def _opened_message(ticket) -> str:
    kind = label(ticket.kind, "kind")
    if ticket.status == "closed":
        return _(
            "%(kind)s %(number)s opened and closed: answered on the call.",
            kind=kind,
            number=ticket.number,
        )
    if ticket.kind == "repair" and ticket.billable:
        return _(
            "%(kind)s %(number)s opened. Not covered: this repair is billable.",
            kind=kind,
            number=ticket.number,
        )
    return _("%(kind)s %(number)s opened.", kind=kind, number=ticket.number)


def intake_message(error: IntakeError) -> str:
    """The intake refusal in the agent's language, by the input at fault."""
    messages = {
        "kind": _("Choose one of the four ticket kinds."),
        "summary": _("Write a summary of at most %(max)d characters.", max=SUMMARY_MAX),
        "serial": _("Choose one of this customer's machines."),
        "damage": _("Choose a damage type from the list."),
        "part": _("Choose a part from the list."),
        "call": _("This call is with another customer: end it and open the right card."),
    }
    return messages.get(error.field or "", _("The ticket could not be opened as entered."))
