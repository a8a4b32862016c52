"""The signed-in user's notifications (SLA warnings and escalations), and marking them read."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, url_for
from flask_login import current_user

from servicedesk.auth.access import roles_required
from servicedesk.core.db import db, utcnow
from servicedesk.notifications.services import (
    NotificationNotFound,
    mark_all_read,
    mark_read,
    notifications_for,
    unread_count,
)
from servicedesk.sla.views import sla_label

bp = Blueprint("notifications", __name__, url_prefix="/notifications")
READERS = ("supervisor", "admin", "station", "agent")
"""Agents read the notices addressed to them personally (an account manager's complaints)."""


@bp.app_context_processor
def _unread_notifications() -> dict:
    if current_user.is_authenticated and current_user.has_role(*READERS):
        return {"unread_notifications": unread_count(current_user)}
    return {"unread_notifications": None}


@bp.get("/")
@roles_required(*READERS)
def index():
    return render_template(
        "notifications/index.html", items=notifications_for(current_user), sla_label=sla_label
    )


@bp.post("/<int:notification_id>/read")
@roles_required(*READERS)
def read(notification_id: int):
    try:
        mark_read(current_user, notification_id, now=utcnow())
    except NotificationNotFound:
        abort(404)
    db.session.commit()
    return redirect(url_for("notifications.index"))


@bp.post("/read")
@roles_required(*READERS)
def read_all():
    mark_all_read(current_user, now=utcnow())
    db.session.commit()
    return redirect(url_for("notifications.index"))
