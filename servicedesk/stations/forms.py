"""The supervisor's form for a station's coverage, capacity and status."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectChoice, SelectField, SelectMultipleField, TextAreaField
from wtforms.widgets import CheckboxInput, ListWidget

from servicedesk.callcenter.labels import PRODUCT_LINE_LABELS
from servicedesk.stations.models import Station
from servicedesk.stations.services import REASON_MAX, split_places

STATION_STATUS_LABELS = {
    "active": _l("Active"),
    "probation": _l("On probation"),
    "suspended": _l("Suspended"),
}


class CheckboxListField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form) -> None:
        """Unknown values are reported by the service, with its message."""


class StationForm(FlaskForm):
    cities = TextAreaField(_l("Cities covered"))
    four_hour_cities = TextAreaField(_l("Cities with 4-hour onsite capability"))
    product_lines = CheckboxListField(
        _l("Product lines repaired"),
        choices=[
            SelectChoice(value=code, label=text) for code, text in PRODUCT_LINE_LABELS.items()
        ],
    )
    capacity = IntegerField(_l("Capacity (open tickets)"))
    """Not a whole number → ``None``, which the service refuses with its message."""
    status = SelectField(
        _l("Status"),
        choices=[
            SelectChoice(value=code, label=text) for code, text in STATION_STATUS_LABELS.items()
        ],
        validate_choice=False,
    )
    reason = TextAreaField(_l("Reason for the change"))

    @classmethod
    def for_station(cls, station: Station, **kwargs) -> StationForm:
        data = {
            "cities": "; ".join(station.city_names),
            "four_hour_cities": "; ".join(station.four_hour_city_names),
            "product_lines": station.product_line_names,
            "capacity": station.capacity,
            "status": station.status,
            "reason": "",
        }
        return cls(data=data, **kwargs)

    def settings(self) -> dict:
        """The entered values as keyword arguments of ``update_station``."""
        return {
            "cities": split_places(self.cities.data or ""),
            "four_hour_cities": split_places(self.four_hour_cities.data or ""),
            "product_lines": list(self.product_lines.data or []),
            "capacity": self.capacity.data,
            "status": self.status.data or "",
            "reason": (self.reason.data or "")[: REASON_MAX + 1],
        }


class StatusActionForm(FlaskForm):
    """Suspend or reinstate a station: the reason is required (the service says so)."""

    reason = TextAreaField(_l("Reason"))
