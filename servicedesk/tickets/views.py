"""Ticket pages."""

from flask import Blueprint

from servicedesk.auth.access import roles_required

bp = Blueprint("tickets", __name__, url_prefix="/tickets")


@bp.route("/station")
@roles_required("station")
def station_queue():
    return "station queue"
