"""Ticket pages: one ticket with its coverage decision and history; a station's own queue."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import selectinload

from servicedesk.auth.access import AGENT_ROLES, roles_required
from servicedesk.callcenter.display import when_in
from servicedesk.callcenter.labels import label
from servicedesk.core.db import db, utcnow
from servicedesk.tickets.actions import refusal_text, ticket_actions
from servicedesk.tickets.forms import AssetForm, StatusForm
from servicedesk.tickets.lifecycle import TransitionError
from servicedesk.tickets.models import OPEN_STATUSES, Ticket, TicketEvent
from servicedesk.tickets.queries import ticket_detail_options
from servicedesk.tickets.services import (
    TicketChangeError,
    TicketInputError,
    TicketPermissionError,
    change_status,
    correct_asset,
    record_diagnosis_end,
)

bp = Blueprint("tickets", __name__, url_prefix="/tickets")
bp.context_processor(lambda: {"ticket_actions": ticket_actions})

STATION_QUEUE_LIMIT = 200


@bp.route("/station")
@roles_required("station")
def station_queue():
    """The signed-in station user's tickets: open ones first, then the latest others."""
    tickets = db.session.scalars(
        sa.select(Ticket)
        .where(Ticket.station_id == current_user.station_id)
        .options(selectinload(Ticket.customer), selectinload(Ticket.asset))
        .order_by(
            sa.case((Ticket.status.in_(OPEN_STATUSES), 0), else_=1),
            Ticket.created_at.desc(),
            Ticket.id.desc(),
        )
        .limit(STATION_QUEUE_LIMIT)
    ).all()
    return render_template("tickets/station_queue.html", tickets=tickets)


@bp.route("/<number>")
@roles_required(*AGENT_ROLES, "station")
def detail(number: str):
    """Agents see every ticket; a station user only its own station's (404 for the others)."""
    ticket = db.session.scalar(
        sa.select(Ticket)
        .where(Ticket.number == number)
        .options(
            selectinload(Ticket.customer),
            selectinload(Ticket.asset),
            selectinload(Ticket.station),
            selectinload(Ticket.events).selectinload(TicketEvent.actor),
        )
    )
    if ticket is None:
        abort(404)
    if current_user.role == "station" and ticket.station_id != current_user.station_id:
        abort(404)
    return render_template("tickets/detail.html", ticket=ticket)


@bp.route("/<number>/status", methods=["POST"])
@roles_required(*AGENT_ROLES, "station")
def change_ticket_status(number: str):
    """Move the ticket to the status chosen in ``_status_form.html``."""
    ticket = _ticket_to_change(number)
    form = StatusForm(ticket)
    if not form.validate_on_submit():
        return _refused(number, status_form=form, code=422)
    if form.expected.data != ticket.status:
        form.add_error(
            None,
            _(
                "Someone changed this ticket while you were looking at it: it is now "
                "“%(status)s”. Check it and choose again.",
                status=label(ticket.status, "status"),
            ),
        )
        return _refused(number, status_form=form, code=409)
    try:
        change_status(
            current_user, ticket, form.status.data, now=utcnow(), reason=form.reason.data or ""
        )
    except (TransitionError, TicketChangeError) as error:
        form.add_error(getattr(error, "field", None), refusal_text(error.reason))
        return _refused(number, status_form=form, code=_refusal_code(error))
    db.session.commit()
    flash(_("Status changed to “%(status)s”.", status=label(ticket.status, "status")), "success")
    return redirect(url_for(".detail", number=number))


@bp.route("/<number>/diagnosis-end", methods=["POST"])
@roles_required(*AGENT_ROLES)
def end_diagnosis(number: str):
    """The agent's phone diagnosis of a 4-hour repair ended: the arrival clock starts now."""
    ticket = _ticket_to_change(number)
    try:
        event = record_diagnosis_end(current_user, ticket, now=utcnow())
    except TicketChangeError as error:
        flash(refusal_text(error.reason), "error")
        return _refused(number, code=_refusal_code(error))
    db.session.commit()
    arrive_by = datetime.fromisoformat(event.data["arrive_by"])
    flash(
        _(
            "Phone diagnosis ended: the engineer or the part must be on site by %(due)s.",
            due=when_in(arrive_by, ticket.customer.timezone),
        ),
        "success",
    )
    return redirect(url_for(".detail", number=number))


@bp.route("/<number>/asset", methods=["POST"])
@roles_required(*AGENT_ROLES)
def correct_machine(number: str):
    """Put the right machine on a repair; coverage, service level and SLA follow."""
    ticket = _ticket_to_change(number)
    form = AssetForm(ticket)
    if not form.validate_on_submit():
        return _refused(number, asset_form=form, code=422)
    try:
        correct_asset(
            current_user, ticket, form.serial.data, now=utcnow(), reason=form.reason.data or ""
        )
    except TicketChangeError as error:
        form.add_error(getattr(error, "field", None), refusal_text(error.reason))
        return _refused(number, asset_form=form, code=_refusal_code(error))
    db.session.commit()
    flash(
        _(
            "Machine corrected to %(serial)s; service level: %(level)s.",
            serial=ticket.asset.serial,
            level=label(ticket.service_level, "service_level"),
        ),
        "success",
    )
    return redirect(url_for(".detail", number=number))


def _ticket_to_change(number: str) -> Ticket:
    """The ticket, locked for the change (PostgreSQL); 404 when the user may not see it."""
    ticket = db.session.scalar(
        sa.select(Ticket)
        .where(Ticket.number == number)
        .with_for_update(of=Ticket)
        .execution_options(populate_existing=True)
    )
    if ticket is None or not _may_see(current_user, ticket):
        abort(404)
    return ticket


def _may_see(user, ticket: Ticket) -> bool:
    return user.role != "station" or (
        ticket.station_id is not None and ticket.station_id == user.station_id
    )


def _refusal_code(error: Exception) -> int:
    if isinstance(error, TicketPermissionError):
        return 403
    if isinstance(error, TicketInputError):
        return 422
    return 409


def _refused(number: str, *, code: int, **submitted_forms):
    """The ticket page again with the refused form and its message; nothing is saved."""
    db.session.rollback()
    ticket = db.session.scalar(
        sa.select(Ticket).where(Ticket.number == number).options(*ticket_detail_options())
    )
    page = render_template("tickets/detail.html", ticket=ticket, submitted_forms=submitted_forms)
    return page, code


# The station work routes (visit, closing) join this blueprint.
from servicedesk.tickets import station_work  # noqa: E402, F401
