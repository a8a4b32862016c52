"""When a satisfaction callback may ring: calling hours, the delay after closing, retries.

Pure domain code: no Flask, no database, no clock. Every instant is an aware
:class:`~datetime.datetime` passed in by the caller (a naive one raises :class:`ValueError`);
every instant returned is aware UTC.

Calling windows (DESIGN.md "Satisfaction callbacks"):

* a window is ``[start, end)`` of the customer's local wall clock on one day: with the default
  ``09:00-20:00`` a call may start at 09:00 but not at 20:00;
* every day of the week has a window except during a public holiday break of ``country``: the
  ``holidays`` library's holidays and substituted days off (调休) as
  :func:`servicedesk.sla.calendar.holidays_in` lists them, together with the weekend days
  joined to them by other days off (the Sunday inside Golden Week, the weekend after a Friday
  holiday). Make-up working days (调休 Saturdays) and ordinary weekends are calling days;
* :func:`next_calling_instant` is the earliest instant at or after the one given that lies in
  a window. Local days are walked one by one, so a daylight-saving change (in a zone that has
  one) moves a window's UTC instants but never swallows a day.

The first attempt is due ``delay`` after the repair was closed, moved into the next window
(:func:`first_call_at`); each retry ``gap`` after the previous attempt ended, moved likewise
(:func:`retry_at`), until ``max_attempts`` attempts have been made.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from servicedesk.sla.calendar import as_utc, holidays_in, make_up_working_days_in, time_zone

__all__ = [
    "DEFAULT_CALLING_HOURS",
    "DEFAULT_COUNTRY",
    "DEFAULT_DELAY",
    "DEFAULT_MAX_ATTEMPTS",
    "DEFAULT_RETRY_GAP",
    "CallbackPolicy",
    "CallingHours",
    "first_call_at",
    "is_calling_time",
    "is_holiday_break",
    "next_calling_instant",
    "parse_calling_hours",
    "retry_at",
]

DEFAULT_CALLING_HOURS = "09:00-20:00"
DEFAULT_DELAY = timedelta(minutes=1440)
DEFAULT_RETRY_GAP = timedelta(hours=2)
DEFAULT_MAX_ATTEMPTS = 3
DEFAULT_COUNTRY = "CN"
#: More consecutive days without a window than any holiday table has means a bug.
_MAX_DAYS_WITHOUT_WINDOW = 400
_HOURS_PATTERN = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True)
class CallingHours:
    """The daily calling window ``[start, end)`` on the customer's wall clock."""

    start: time
    end: time

    def __post_init__(self) -> None:
        for name in ("start", "end"):
            value = getattr(self, name)
            if not isinstance(value, time) or value.tzinfo is not None:
                raise ValueError(f"calling hours {name} must be a naive time of day: {value!r}")
        if not self.start < self.end:
            raise ValueError(
                f"calling hours must start before they end, got {self.start:%H:%M}-{self.end:%H:%M}"
            )

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


def parse_calling_hours(text: str) -> CallingHours:
    """``"09:00-20:00"`` → ``CallingHours(09:00, 20:00)``.

    Hours 0-23, minutes 00-59, the start strictly before the end (no window across midnight);
    anything else raises :class:`ValueError` naming SERVICEDESK_CALLING_HOURS and the value.
    """
    if not isinstance(text, str):
        raise ValueError(f"SERVICEDESK_CALLING_HOURS must be text like 09:00-20:00, got {text!r}")
    match = _HOURS_PATTERN.match(text)
    if match is None:
        raise ValueError(f"SERVICEDESK_CALLING_HOURS must look like 09:00-20:00, got {text!r}")
    start_hour, start_minute, end_hour, end_minute = (int(part) for part in match.groups())
    for hour, minute in ((start_hour, start_minute), (end_hour, end_minute)):
        if hour > 23 or minute > 59:
            raise ValueError(
                f"SERVICEDESK_CALLING_HOURS has an impossible time {hour:02d}:{minute:02d} "
                f"in {text!r} (hours 00-23, minutes 00-59)"
            )
    start, end = time(start_hour, start_minute), time(end_hour, end_minute)
    if not start < end:
        raise ValueError(
            f"SERVICEDESK_CALLING_HOURS must start before it ends on the same day, got {text!r}"
        )
    return CallingHours(start, end)


def _is_public_holiday(country: str, day: date) -> bool:
    return day in holidays_in(country, day.year)


def _is_day_off(country: str, day: date) -> bool:
    if _is_public_holiday(country, day):
        return True
    return day.weekday() >= 5 and day not in make_up_working_days_in(country, day.year)


@functools.lru_cache(maxsize=4096)
def _in_holiday_break(country: str, day: date) -> bool:
    """Whether ``day`` is a public holiday or a day off joined to one by other days off."""
    if not _is_day_off(country, day):
        return False
    for step in (timedelta(days=-1), timedelta(days=1)):
        current = day
        while _is_day_off(country, current):
            if _is_public_holiday(country, current):
                return True
            current += step
    return False


def _is_holiday(country: str | None, day: date) -> bool:
    return country is not None and _in_holiday_break(country, day)


def is_holiday_break(day: date, country: str | None = DEFAULT_COUNTRY) -> bool:
    """Whether no callback rings on ``day`` (see the module docstring): a public holiday of
    ``country``, or a day off joined to one. ``country=None``: never."""
    if not isinstance(day, date) or isinstance(day, datetime):
        raise TypeError(f"expected a date, got {day!r}")
    return _is_holiday(country, day)


def _window(day: date, zone: ZoneInfo, hours: CallingHours) -> tuple[datetime, datetime]:
    opens = datetime.combine(day, hours.start, tzinfo=zone).astimezone(UTC)
    closes = datetime.combine(day, hours.end, tzinfo=zone).astimezone(UTC)
    return opens, closes


def is_calling_time(
    instant: datetime, timezone: str, hours: CallingHours, country: str | None = DEFAULT_COUNTRY
) -> bool:
    """Whether a call may start at ``instant``: inside the window of its local day, and that
    day is in no holiday break of ``country`` (``None``: no holidays)."""
    moment = as_utc(instant)
    zone = time_zone(timezone)
    day = moment.astimezone(zone).date()
    if _is_holiday(country, day):
        return False
    opens, closes = _window(day, zone, hours)
    return opens <= moment < closes


def next_calling_instant(
    instant: datetime, timezone: str, hours: CallingHours, country: str | None = DEFAULT_COUNTRY
) -> datetime:
    """The earliest instant at or after ``instant`` when a call may start (UTC).

    ``instant`` itself when it is calling time; otherwise the opening of the next window:
    later the same local day when it is before ``hours.start``, else on the next day outside
    a holiday break of ``country``.
    """
    moment = as_utc(instant)
    zone = time_zone(timezone)
    day = moment.astimezone(zone).date()
    for _ in range(_MAX_DAYS_WITHOUT_WINDOW):
        if not _is_holiday(country, day):
            opens, closes = _window(day, zone, hours)
            if moment < closes and opens < closes:
                return max(moment, opens)
        day += timedelta(days=1)
    raise ValueError(f"no calling window in {_MAX_DAYS_WITHOUT_WINDOW} days after {instant}")


@dataclass(frozen=True)
class CallbackPolicy:
    """How callbacks are timed: the window, the delay after closing, the retries.

    ``delay`` (default 24 h) runs from the repair's closing to the first attempt; ``retry_gap``
    (default 2 h) from the end of one attempt to the next; at most ``max_attempts`` attempts
    (default 3). ``country`` names the public holidays (``None``: none).
    """

    hours: CallingHours
    delay: timedelta = DEFAULT_DELAY
    retry_gap: timedelta = DEFAULT_RETRY_GAP
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    country: str | None = DEFAULT_COUNTRY

    def __post_init__(self) -> None:
        if not isinstance(self.hours, CallingHours):
            raise TypeError(f"hours must be CallingHours, got {self.hours!r}")
        for name in ("delay", "retry_gap"):
            value = getattr(self, name)
            if not isinstance(value, timedelta) or value < timedelta(0):
                raise ValueError(f"{name} must be a non-negative timedelta, got {value!r}")
        if (
            isinstance(self.max_attempts, bool)
            or not isinstance(self.max_attempts, int)
            or self.max_attempts < 1
        ):
            raise ValueError(f"max_attempts must be a whole number >= 1, got {self.max_attempts!r}")

    @classmethod
    def from_settings(
        cls,
        *,
        calling_hours: str = DEFAULT_CALLING_HOURS,
        delay_minutes: int | str = 1440,
        max_attempts: int | str = DEFAULT_MAX_ATTEMPTS,
        retry_gap_minutes: int | str = 120,
        country: str | None = DEFAULT_COUNTRY,
    ) -> CallbackPolicy:
        """The policy from configuration values (``SERVICEDESK_CALLING_HOURS``,
        ``SERVICEDESK_CALLBACK_DELAY_MINUTES``, ...); a bad value raises ValueError naming it."""
        return cls(
            hours=parse_calling_hours(calling_hours),
            delay=timedelta(minutes=_whole("SERVICEDESK_CALLBACK_DELAY_MINUTES", delay_minutes)),
            retry_gap=timedelta(
                minutes=_whole("SERVICEDESK_CALLBACK_RETRY_MINUTES", retry_gap_minutes)
            ),
            max_attempts=_whole("SERVICEDESK_CALLBACK_ATTEMPTS", max_attempts, minimum=1),
            country=country,
        )


def _whole(name: str, value: int | str, *, minimum: int = 0) -> int:
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    try:
        number = int(value)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be a whole number, got {value!r}") from error
    if number < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {number}")
    return number


def first_call_at(closed_at: datetime, timezone: str, policy: CallbackPolicy) -> datetime:
    """When the first attempt is due: ``closed_at + policy.delay``, moved into the next
    calling window of the customer's ``timezone`` (UTC)."""
    return next_calling_instant(
        as_utc(closed_at, "closed_at") + policy.delay, timezone, policy.hours, policy.country
    )


def retry_at(
    ended_at: datetime, attempts_made: int, timezone: str, policy: CallbackPolicy
) -> datetime | None:
    """When the next attempt is due after one ended unanswered at ``ended_at`` (UTC), or
    ``None`` when ``attempts_made`` (counting that one) used up ``policy.max_attempts``."""
    if isinstance(attempts_made, bool) or not isinstance(attempts_made, int) or attempts_made < 1:
        raise ValueError(f"attempts_made must be a whole number >= 1, got {attempts_made!r}")
    if attempts_made >= policy.max_attempts:
        return None
    return next_calling_instant(
        as_utc(ended_at, "ended_at") + policy.retry_gap, timezone, policy.hours, policy.country
    )
