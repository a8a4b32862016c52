"""Ticket pages: one ticket with its coverage decision and history; a station's own queue."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, render_template
from flask_login import current_user
from sqlalchemy.orm import selectinload

from servicedesk.auth.access import AGENT_ROLES, roles_required
from servicedesk.core.db import db
from servicedesk.tickets.models import OPEN_STATUSES, Ticket, TicketEvent

bp = Blueprint("tickets", __name__, url_prefix="/tickets")

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
