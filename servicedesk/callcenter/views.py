"""The agent terminal."""

from flask import Blueprint

from servicedesk.auth.access import AGENT_ROLES, roles_required

bp = Blueprint("callcenter", __name__, url_prefix="/agent")


@bp.route("/")
@roles_required(*AGENT_ROLES)
def terminal():
    return "agent terminal"
