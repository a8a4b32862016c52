"""The supervisors' dispatch queue: repairs waiting for a station, and re-dispatch by hand."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from servicedesk.auth.access import roles_required
from servicedesk.callcenter.display import render_reason
from servicedesk.core.db import db, utcnow
from servicedesk.dispatch.services import (
    SUPERVISOR_ROLES,
    DispatchError,
    redispatch,
    station_choices,
    stored_decision,
    waiting_tickets,
)
from servicedesk.tickets.models import Ticket

bp = Blueprint("dispatch", __name__, url_prefix="/dispatch")
bp.record_once(lambda state: state.app.add_template_global(stored_decision, "dispatch_decision"))


def _queue_page(status: int = 200):
    tickets = db.session.scalars(waiting_tickets()).all()
    page = render_template(
        "dispatch/queue.html",
        tickets=tickets,
        decisions={ticket.id: stored_decision(ticket) for ticket in tickets},
        stations=station_choices(),
    )
    return page, status


@bp.get("/queue")
@roles_required(*SUPERVISOR_ROLES)
def queue():
    return _queue_page()


@bp.post("/tickets/<number>/redispatch")
@roles_required(*SUPERVISOR_ROLES)
def redispatch_ticket(number: str):
    ticket = db.session.scalar(sa.select(Ticket).where(Ticket.number == number))
    if ticket is None:
        abort(404)
    try:
        redispatch(
            current_user,
            ticket,
            request.form.get("station", ""),
            now=utcnow(),
            reason=request.form.get("reason", ""),
            force=request.form.get("force") == "1",
        )
    except DispatchError as error:
        db.session.rollback()
        flash(render_reason(error.reason), "error")
        return _queue_page(422 if error.field else 409)
    db.session.commit()
    flash(_("%(number)s re-dispatched.", number=ticket.number), "success")
    return redirect(url_for(".queue"))
