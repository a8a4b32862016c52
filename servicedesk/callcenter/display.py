"""Template helpers: times in the reader's zone, dates and reasons in the UI language.

Registered on the application by the call-center blueprint, so every template can use them.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from babel.dates import format_datetime as babel_format_datetime
from babel.lists import format_list
from flask import Flask
from flask_babel import format_currency, format_date, format_datetime, get_locale, gettext

from servicedesk.callcenter.labels import label
from servicedesk.customers.phones import format_phone
from servicedesk.warranty.coverage import Reason

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MONEY_PARAMS = ("spent", "limit")
CURRENCY = "CNY"


def when(moment: datetime | None) -> str:
    """A stored UTC time in the signed-in user's zone (or the service's default zone)."""
    if moment is None:
        return ""
    return format_datetime(moment, "yyyy-MM-dd HH:mm")


def when_in(moment: datetime | None, timezone: str) -> str:
    """A stored UTC time in ``timezone`` (a customer's zone), in the UI language."""
    if moment is None:
        return ""
    return babel_format_datetime(
        moment, "yyyy-MM-dd HH:mm", tzinfo=ZoneInfo(timezone), locale=get_locale()
    )


def day(value: date | None) -> str:
    """A calendar date, written the way the UI language writes it (2027年2月28日, Feb 28, 2027)."""
    if value is None:
        return ""
    return format_date(value, "medium")


def _reason_param(name: str, value: str) -> str:
    if _ISO_DATE.match(value):
        try:
            return day(date.fromisoformat(value))
        except ValueError:
            return value
    if name in _MONEY_PARAMS:
        try:
            return format_currency(Decimal(value), CURRENCY)
        except InvalidOperation:
            return value
    return value


def render_reason(reason: Reason) -> str:
    """A reason as a sentence an agent can read out: translated, dates and sums localised."""
    params = {name: _reason_param(name, value) for name, value in reason.params.items()}
    return Reason(reason.message, params).render(gettext)


def translated(text: str | None) -> str:
    """A stored English sentence from a known set (e.g. an event reason), translated."""
    return gettext(text) if text else ""


def phone(number) -> str:
    """A stored number (a ``ContactPhone`` or an E.164 string) spelled for reading."""
    if number is None:
        return ""
    if isinstance(number, str):
        return format_phone(number)
    if not number.extension:
        return format_phone(number.e164)
    return gettext(
        "%(number)s ext. %(extension)s",
        number=format_phone(number.e164),
        extension=number.extension,
    )


def spoken_list(items) -> str:
    """Items joined the way the UI language lists them (A, B and C; A、B和C)."""
    return format_list([str(item) for item in items], locale=get_locale())


def current_language() -> str:
    locale = get_locale()
    return locale.language if locale is not None else "en"


def register_template_helpers(app: Flask) -> None:
    app.add_template_global(current_language, "current_language")
    app.add_template_filter(when, "when")
    app.add_template_filter(when_in, "when_in")
    app.add_template_filter(day, "day")
    app.add_template_filter(label, "label")
    app.add_template_filter(render_reason, "reason")
    app.add_template_filter(translated, "translated")
    app.add_template_filter(phone, "phone")
    app.add_template_filter(spoken_list, "spoken_list")
