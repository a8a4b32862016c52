"""The admin's form for one row of the SLA target table (a service level and a ticket kind)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Form, FormField, IntegerField, SelectChoice, SelectField
from wtforms.validators import NumberRange, Optional

from servicedesk.sla.targets import Target, TicketTargets

#: Longest duration target the form accepts (a longer one is a typing mistake).
MAX_DURATION = timedelta(days=90)
MAX_BUSINESS_DAYS = 60
UNIT_SECONDS = {"minutes": 60, "hours": 3600}
NO_TARGET = ""

TARGET_KIND_CHOICES = [
    SelectChoice(value=NO_TARGET, label=_l("No target")),
    SelectChoice(value="duration", label=_l("A duration")),
    SelectChoice(value="business_days", label=_l("Business days")),
    SelectChoice(value="end_of_next_business_day", label=_l("End of the next business day")),
]
UNIT_CHOICES = [
    SelectChoice(value="minutes", label=_l("minutes")),
    SelectChoice(value="hours", label=_l("hours")),
]
CLOCK_CHOICES = [
    SelectChoice(value="business", label=_l("Business hours (working days, 09:00–18:00)")),
    SelectChoice(value="24x7", label=_l("Around the clock (24x7)")),
]
START_CHOICES = [
    SelectChoice(value="opened", label=_l("When the ticket is opened")),
    SelectChoice(value="diagnosis_ended", label=_l("When the phone diagnosis ends")),
]


class TargetFields(Form):
    """One target: how its due time is computed, on which clock, and (arrival) from when."""

    kind = SelectField(_l("Due"), choices=TARGET_KIND_CHOICES, default=NO_TARGET)
    amount = IntegerField(
        _l("Duration"),
        validators=[Optional(), NumberRange(min=1, message=_l("Enter a whole number above 0."))],
    )
    unit = SelectField(_l("Unit"), choices=UNIT_CHOICES, default="hours")
    days = IntegerField(
        _l("Business days"),
        validators=[
            Optional(),
            NumberRange(
                min=1,
                max=MAX_BUSINESS_DAYS,
                message=_l("Enter a number of days from 1 to %(max)d.", max=MAX_BUSINESS_DAYS),
            ),
        ],
    )
    clock = SelectField(_l("Clock"), choices=CLOCK_CHOICES, default="business")
    starts = SelectField(_l("Counted from"), choices=START_CHOICES, default="opened")

    def validate(self, extra_validators=None) -> bool:
        if not super().validate(extra_validators):
            return False
        kind = self.kind.data
        if kind == "duration":
            if self.amount.data is None:
                self.amount.errors.append(_l("Enter how long the target is."))
                return False
            if self.seconds() > MAX_DURATION.total_seconds():
                self.amount.errors.append(
                    _l("A duration target is at most %(days)d days.", days=MAX_DURATION.days)
                )
                return False
        if kind == "business_days" and self.days.data is None:
            self.days.errors.append(_l("Enter the number of business days."))
            return False
        return True

    def seconds(self) -> int:
        return int(self.amount.data) * UNIT_SECONDS[self.unit.data]

    def target(self) -> Target | None:
        """The validated target, or None for "no target"."""
        kind = self.kind.data
        if kind == NO_TARGET:
            return None
        return Target(
            kind=kind,
            clock=self.clock.data,
            amount=timedelta(seconds=self.seconds()) if kind == "duration" else None,
            days=int(self.days.data) if kind == "business_days" else None,
            starts=self.starts.data,
        )


def target_fields_data(stored: dict[str, Any] | None) -> dict[str, Any]:
    """Initial values of :class:`TargetFields` from a stored target (``Target.to_json()``)."""
    if stored is None:
        return {"kind": NO_TARGET}
    data: dict[str, Any] = {
        "kind": stored["kind"],
        "clock": stored.get("clock", "business"),
        "starts": stored.get("starts", "opened"),
    }
    seconds = stored.get("seconds")
    if seconds is not None:
        hours, rest = divmod(seconds, 3600)
        data.update(
            {"amount": hours, "unit": "hours"}
            if not rest
            else {"amount": seconds // 60, "unit": "minutes"}
        )
    if stored.get("days") is not None:
        data["days"] = stored["days"]
    return data


class TargetRowForm(FlaskForm):
    """The three targets of one (service level, ticket kind) row."""

    respond = FormField(TargetFields, label=_l("Respond"))
    arrive = FormField(TargetFields, label=_l("On site / received"))
    resolve = FormField(TargetFields, label=_l("Resolve"))

    @classmethod
    def for_targets(cls, stored: dict[str, Any], **kwargs) -> TargetRowForm:
        """The form filled with a stored row (``TicketTargets.to_json()``)."""
        data = {name: target_fields_data(stored.get(name)) for name in TARGET_FIELDS}
        return cls(data=data, **kwargs)

    def ticket_targets(self) -> TicketTargets:
        """The row as entered; ValueError when the targets cannot be built."""
        return TicketTargets(**{name: getattr(self, name).form.target() for name in TARGET_FIELDS})


TARGET_FIELDS = ("respond", "arrive", "resolve")
