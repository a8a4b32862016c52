"""Forms of the agent terminal."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, ValidationError

from servicedesk.callcenter.labels import TABLES
from servicedesk.customers.models import Customer
from servicedesk.tickets.intake import SUMMARY_MAX, TicketRequest

DESCRIPTION_MAX = 4000


def choices(table: str, *, blank=None) -> list[SelectChoice]:
    """The options of a select: the codes of a label table, optionally after a blank one."""
    options = [SelectChoice(value="", label=blank)] if blank is not None else []
    options += [SelectChoice(value=code, label=text) for code, text in TABLES[table].items()]
    return options


class TicketForm(FlaskForm):
    """One ticket opened during a call; the field names match :class:`IntakeError` fields."""

    kind = RadioField(_l("Kind"), choices=choices("kind"), default="inquiry")
    serial = SelectField(_l("Machine"), choices=[], default="")
    summary = StringField(
        _l("Summary"),
        validators=[
            DataRequired(_l("Write what the caller wants in a few words.")),
            Length(max=SUMMARY_MAX),
        ],
    )
    description = TextAreaField(_l("Description"), validators=[Length(max=DESCRIPTION_MAX)])
    damage = SelectField(_l("Damage"), choices=choices("damage"), default="none")
    part = SelectField(
        _l("Part at fault"), choices=choices("part", blank=_l("Not known yet")), default=""
    )
    answered = BooleanField(_l("Answered on the call: close it at once"), default=True)

    def __init__(self, customer: Customer, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.serial.choices = [
            SelectChoice(value="", label=_l("No particular machine")),
            *(
                SelectChoice(value=asset.serial, label=f"{asset.serial} · {asset.model}")
                for asset in customer.assets
            ),
        ]

    def validate_serial(self, field) -> None:
        if self.kind.data == "repair" and not field.data:
            raise ValidationError(_l("A repair needs the machine: choose one of the customer's."))

    def ticket_request(self) -> TicketRequest:
        repair = self.kind.data == "repair"
        return TicketRequest(
            kind=self.kind.data,
            summary=self.summary.data or "",
            description=self.description.data or "",
            serial=self.serial.data or None,
            damage=self.damage.data if repair else "none",
            part=(self.part.data or None) if repair else None,
            answered=bool(self.answered.data),
        )

    def add_error(self, field_name: str | None, message: str) -> None:
        """Attach ``message`` to the named field, or to the form as a whole."""
        field = self._fields.get(field_name or "")
        if field is None:
            self.form_errors.append(message)
        else:
            field.errors = [*field.errors, message]
