"""Forms on the ticket page: change the status, correct the machine of a repair."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectChoice, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError

from servicedesk.callcenter.labels import TICKET_STATUS_LABELS, label
from servicedesk.tickets.models import TICKET_STATUSES, Ticket
from servicedesk.tickets.services import REASON_MAX

STATUS_PREFIX = "status"
ASSET_PREFIX = "asset"


class _TicketForm(FlaskForm):
    def add_error(self, field_name: str | None, message: str) -> None:
        """Attach ``message`` to the named field, or to the form as a whole."""
        field = self._fields.get(field_name or "")
        if field is None:
            self.form_errors.append(message)
        else:
            field.errors = [*field.errors, message]


class StatusForm(_TicketForm):
    """The next status of a ticket and why.

    ``expected`` is the status the page showed: a ticket changed by someone else in the
    meantime is refused rather than moved on from a status the user did not see.
    """

    status = SelectField(
        _l("New status"),
        choices=[],
        validate_choice=False,
        validators=[DataRequired(_l("Choose the new status."))],
    )
    reason = TextAreaField(
        _l("Reason"),
        validators=[Length(max=REASON_MAX, message=_l("Write at most %(max)d characters."))],
    )
    expected = HiddenField()

    def __init__(self, ticket: Ticket, statuses: tuple[str, ...] = (), **kwargs):
        super().__init__(prefix=STATUS_PREFIX, **kwargs)
        self.status.choices = [
            SelectChoice(value=status, label=TICKET_STATUS_LABELS[status]) for status in statuses
        ]
        if not self.expected.data:
            self.expected.data = ticket.status

    def validate_status(self, field) -> None:
        if field.data not in TICKET_STATUSES:
            raise ValidationError(_l("Choose a status from the list."))


class AssetForm(_TicketForm):
    """The machine a repair is really about: one of the customer's other machines."""

    serial = SelectField(
        _l("The right machine"),
        choices=[],
        validate_choice=False,
        validators=[DataRequired(_l("Choose one of the customer's machines."))],
    )
    reason = TextAreaField(
        _l("Why"),
        validators=[
            DataRequired(_l("Say why the machine is corrected.")),
            Length(max=REASON_MAX, message=_l("Write at most %(max)d characters.")),
        ],
    )

    def __init__(self, ticket: Ticket, **kwargs):
        super().__init__(prefix=ASSET_PREFIX, **kwargs)
        self.serial.choices = [
            SelectChoice(value="", label=_l("Choose a machine")),
            *(
                SelectChoice(value=asset.serial, label=_asset_label(asset))
                for asset in sorted(ticket.customer.assets, key=lambda asset: asset.serial)
                if asset.id != ticket.asset_id
            ),
        ]


def _asset_label(asset) -> str:
    return f"{asset.serial} · {asset.model} ({label(asset.product_line, 'product_line')})"
