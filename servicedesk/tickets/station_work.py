"""A station's work on its repairs in the web UI: book the visit, close with the records.

Routes on the tickets blueprint (imported by :mod:`servicedesk.tickets.views`) and the forms
of ``templates/tickets/_close_form.html``; :func:`station_work` and :func:`station_load` are
template globals of the blueprint.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import flash, redirect, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    DecimalField,
    FieldList,
    Form,
    FormField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    StopValidation,
)

from servicedesk.auth.access import roles_required
from servicedesk.callcenter.labels import PART_LABELS, label
from servicedesk.core.db import db, utcnow
from servicedesk.stations.models import Station
from servicedesk.tickets.actions import refusal_text
from servicedesk.tickets.closing import (
    PART_TEXT_MAX,
    TEXT_MAX,
    ClosingError,
    book_visit,
    close_repair,
)
from servicedesk.tickets.intake import customer_today
from servicedesk.tickets.lifecycle import TransitionError
from servicedesk.tickets.models import OPEN_STATUSES, Ticket
from servicedesk.tickets.services import TicketChangeError, may_resolve, next_statuses
from servicedesk.tickets.views import _refusal_code, _refused, _ticket_to_change, bp
from servicedesk.warranty.closing import PartUsed
from servicedesk.warranty.coverage import PART_KINDS

PART_ROWS = 3
PARTS_MAX = 20
CLOSE_PREFIX = "close"
VISIT_PREFIX = "visit"


def _finite_amount(form, field) -> None:
    if field.data is not None and not field.data.is_finite():
        raise StopValidation(_l("Enter the value as an amount, for example 450.00."))


class PartForm(Form):
    """One row of the parts table; a row left without a kind is not a part."""

    kind = SelectField(_l("Kind"), choices=[], validate_choice=False)
    part_no = StringField(_l("Part number"), validators=[Length(max=PART_TEXT_MAX)])
    faulty_serial = StringField(_l("Faulty serial"), validators=[Length(max=PART_TEXT_MAX)])
    replacement_serial = StringField(
        _l("Replacement serial"), validators=[Length(max=PART_TEXT_MAX)]
    )
    value = DecimalField(
        _l("Value"),
        places=2,
        validators=[
            Optional(),
            _finite_amount,
            NumberRange(min=0, message=_l("The value cannot be negative.")),
        ],
    )
    retained_by_customer = BooleanField(_l("The customer kept the faulty drive"))
    whole_unit = BooleanField(_l("Whole unit replaced"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = [
            SelectChoice(value="", label=_l("No part")),
            *(SelectChoice(value=kind, label=PART_LABELS.get(kind, kind)) for kind in PART_KINDS),
        ]

    @property
    def used(self) -> bool:
        return bool(self.kind.data)

    def part(self) -> PartUsed:
        kind = self.kind.data
        return PartUsed(
            kind=kind,
            part_no=self.part_no.data,
            faulty_serial=self.faulty_serial.data,
            replacement_serial=self.replacement_serial.data,
            value=self.value.data,
            retained_by_customer=bool(self.retained_by_customer.data) if kind == "drive" else None,
            whole_unit=bool(self.whole_unit.data),
        )


class CloseForm(FlaskForm):
    resolution = TextAreaField(
        _l("Resolution"),
        validators=[
            DataRequired(_l("Describe the resolution: what was wrong and what was done.")),
            Length(max=TEXT_MAX),
        ],
    )
    parts = FieldList(FormField(PartForm), min_entries=PART_ROWS, max_entries=PARTS_MAX)
    quote = TextAreaField(_l("Quote for billable work"), validators=[Length(max=TEXT_MAX)])
    close_now = BooleanField(_l("Close the ticket too (the customer confirmed the repair)"))

    def __init__(self, **kwargs):
        super().__init__(prefix=CLOSE_PREFIX, **kwargs)

    def add_error(self, field_name: str | None, message: str) -> None:
        field = self._fields.get(field_name or "")
        if field is None or field_name == "parts":
            self.form_errors.append(message)
        else:
            field.errors = [*field.errors, message]


class VisitForm(FlaskForm):
    starts_at = DateTimeLocalField(
        _l("Visit from"), validators=[InputRequired(_l("Enter when the visit starts."))]
    )
    ends_at = DateTimeLocalField(
        _l("Visit until"), validators=[InputRequired(_l("Enter when the visit ends."))]
    )

    def __init__(self, **kwargs):
        super().__init__(prefix=VISIT_PREFIX, **kwargs)

    def add_error(self, field_name: str | None, message: str) -> None:
        self.form_errors.append(message)


@dataclass
class StationWork:
    """What the signed-in station user can do on its repair; ``None`` where it cannot."""

    close_form: CloseForm | None
    visit_form: VisitForm | None
    kyd_until: date | None
    timezone: str


def station_work(ticket: Ticket, submitted: dict | None = None) -> StationWork | None:
    """The visit and closing forms for the ticket's own station (None for anyone else)."""
    if (
        current_user.role != "station"
        or ticket.kind != "repair"
        or ticket.asset is None
        or ticket.station_id != current_user.station_id
    ):
        return None
    submitted = submitted or {}
    statuses = next_statuses(current_user, ticket)
    close_form = submitted.get("close_form")
    if close_form is None and may_resolve(current_user, ticket):
        close_form = CloseForm(formdata=None)
    visit_form = submitted.get("visit_form")
    if visit_form is None and "scheduled" in statuses:
        visit_form = VisitForm(formdata=None)
    if close_form is None and visit_form is None:
        return None
    today = customer_today(ticket.customer, utcnow())
    kyd_until = max(
        (
            term.end
            for term in ticket.asset.entitlements
            if term.offering == "kyd" and term.start <= today <= term.end
        ),
        default=None,
    )
    return StationWork(close_form, visit_form, kyd_until, ticket.customer.timezone)


def station_load(station: Station) -> int:
    """The station's open tickets (its load, against its capacity)."""
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Ticket)
        .where(Ticket.station_id == station.id, Ticket.status.in_(OPEN_STATUSES))
    )


bp.context_processor(lambda: {"station_work": station_work, "station_load": station_load})


@bp.route("/<number>/close", methods=["POST"])
@roles_required("station")
def close_ticket(number: str):
    """Resolve (and optionally close) the station's repair with its records."""
    ticket = _ticket_to_change(number)
    form = CloseForm()
    if not form.validate_on_submit():
        return _refused(number, close_form=form, code=422)
    try:
        close_repair(
            current_user,
            ticket,
            resolution=form.resolution.data,
            parts=[row.form.part() for row in form.parts if row.form.used],
            quote=form.quote.data or "",
            now=utcnow(),
            status="closed" if form.close_now.data else "resolved",
        )
    except ClosingError as error:
        for field_name, reasons in error.by_field.items():
            for reason in reasons:
                form.add_error(field_name, refusal_text(reason))
        return _refused(number, close_form=form, code=422)
    except (TransitionError, TicketChangeError) as error:
        form.add_error(None, refusal_text(error.reason))
        return _refused(number, close_form=form, code=_refusal_code(error))
    db.session.commit()
    flash(
        _("Repair recorded; status: “%(status)s”.", status=label(ticket.status, "status")),
        "success",
    )
    return redirect(url_for(".detail", number=number))


@bp.route("/<number>/visit", methods=["POST"])
@roles_required("station")
def book_ticket_visit(number: str):
    """Book the visit window, given in the customer's local time."""
    ticket = _ticket_to_change(number)
    form = VisitForm()
    if not form.validate_on_submit():
        return _refused(number, visit_form=form, code=422)
    zone = ZoneInfo(ticket.customer.timezone)
    try:
        book_visit(
            current_user,
            ticket,
            form.starts_at.data.replace(tzinfo=zone),
            form.ends_at.data.replace(tzinfo=zone),
            now=utcnow(),
        )
    except (TransitionError, TicketChangeError) as error:
        form.add_error(None, refusal_text(error.reason))
        return _refused(number, visit_form=form, code=_refusal_code(error))
    db.session.commit()
    flash(_("Visit booked."), "success")
    return redirect(url_for(".detail", number=number))
