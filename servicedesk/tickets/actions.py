"""What the signed-in user can do on a ticket page, and refusals put into words.

Web glue for ``templates/tickets/_status_form.html``: :func:`ticket_actions` is a template
global of the tickets blueprint, so the partial works on the page whichever view renders it.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_login import current_user

from servicedesk.auth.access import AGENT_ROLES
from servicedesk.callcenter.display import render_reason
from servicedesk.callcenter.labels import label
from servicedesk.tickets.forms import AssetForm, StatusForm
from servicedesk.tickets.models import Ticket
from servicedesk.tickets.services import diagnosis_can_end, next_statuses
from servicedesk.warranty.coverage import Reason

_LABELLED_PARAMS = {"current": "status", "new": "status", "left_from": "status", "kind": "kind"}


@dataclass
class TicketActions:
    """The forms to show; ``None`` (or ``False``) where the user cannot do that now."""

    status_form: StatusForm | None
    asset_form: AssetForm | None
    diagnosis: bool


def ticket_actions(ticket: Ticket, submitted: dict | None = None) -> TicketActions:
    """The actions ``current_user`` has on ``ticket``; ``submitted`` holds a form sent back
    with its errors (keys ``status_form``, ``asset_form``), shown instead of a fresh one."""
    submitted = submitted or {}
    agent = current_user.role in AGENT_ROLES
    statuses = next_statuses(current_user, ticket)
    status_form = submitted.get("status_form")
    if status_form is not None:
        status_form.status.choices = StatusForm(ticket, statuses, formdata=None).status.choices
        status_form.expected.data = ticket.status
    elif statuses:
        status_form = StatusForm(ticket, statuses, formdata=None)
    asset_form = submitted.get("asset_form")
    if asset_form is None and agent and ticket.kind == "repair" and ticket.is_open:
        asset_form = AssetForm(ticket, formdata=None)
        if len(asset_form.serial.choices) < 2:
            asset_form = None
    return TicketActions(
        status_form=status_form,
        asset_form=asset_form,
        diagnosis=agent and diagnosis_can_end(ticket),
    )


def refusal_text(reason: Reason) -> str:
    """A refusal from the lifecycle or the ticket services, in the user's language, with
    status and kind codes replaced by their labels."""
    params = {
        name: label(value, _LABELLED_PARAMS[name]) if name in _LABELLED_PARAMS else value
        for name, value in reason.params.items()
    }
    return render_reason(Reason(reason.message, params))
