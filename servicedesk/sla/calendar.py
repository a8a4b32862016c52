"""Business calendars: when the SLA clock runs, and arithmetic on working time.

Pure domain code: no Flask, no database, no clock. Every instant is an aware
:class:`~datetime.datetime` passed in by the caller; a naive one raises :class:`ValueError`.

Conventions shared by both calendars (:class:`BusinessCalendar` and :class:`TwentyFourSeven`):

* Working time is a union of half-open intervals ``[opening, closing)``: 09:00 is working
  time, 18:00 is not. An instant exactly at closing belongs to no working interval.
* Every datetime a calendar returns is aware and expressed in the calendar's own time zone
  (``calendar.zone``); callers convert to UTC for storage. Comparisons and differences are
  done on UTC instants internally, so a daylight-saving change never adds or loses an hour.
* ``add(instant, duration)`` returns the instant at which ``duration`` of working time has
  elapsed after ``instant``; counting starts at the next opening when ``instant`` is outside
  working time. For a positive duration the result lies inside ``(opening, closing]`` of a
  working day, so a due time can be exactly the closing time (18:00) but never the next
  opening (a duration that runs out at 18:00 on Friday is due Friday 18:00, not Monday 09:00).
  ``add(instant, timedelta(0))`` is ``next_opening(instant)``.
* ``between(start, end)`` is the working time in ``[start, end)``; zero when ``end <= start``.
  ``between(t, add(t, d)) == d`` for every ``d >= 0``, and ``between`` is additive.
* A business day, for ``add_business_days``, is the calendar's nominal working-day length
  (9 hours for 09:00–18:00, 24 hours around the clock): "resolve within 3 business days"
  from Monday 10:00 is Thursday 10:00, and from Friday 20:00 it is Wednesday 18:00. This
  keeps day targets on the same footing as hour targets, so pauses and the 75 % warning work
  the same way for both.
"""

from __future__ import annotations

import functools
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol, runtime_checkable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

__all__ = [
    "ALWAYS",
    "DEFAULT_CALENDAR",
    "DEFAULT_TIMEZONE",
    "BusinessCalendar",
    "Calendar",
    "TwentyFourSeven",
    "holidays_in",
    "make_up_working_days_in",
]

DEFAULT_TIMEZONE = "Asia/Shanghai"
_ONE_DAY = timedelta(days=1)
#: No real calendar has a whole year without a working day; more means a misconfiguration.
_MAX_DAYS_WITHOUT_WORK = 400
_MAX_IDLE_YEARS = 1


@runtime_checkable
class Calendar(Protocol):
    """What the SLA code needs from a calendar (see the module docstring for conventions)."""

    @property
    def clock(self) -> str: ...

    @property
    def zone(self) -> ZoneInfo: ...

    @property
    def business_day_length(self) -> timedelta: ...

    def local(self, instant: datetime) -> datetime: ...

    def is_working_day(self, day: date) -> bool: ...

    def is_working_time(self, instant: datetime) -> bool: ...

    def next_opening(self, instant: datetime) -> datetime: ...

    def add(self, instant: datetime, duration: timedelta) -> datetime: ...

    def between(self, start: datetime, end: datetime) -> timedelta: ...

    def next_business_day(self, day: date) -> date: ...

    def end_of_business_day(self, day: date) -> datetime: ...

    def add_business_days(self, instant: datetime, days: int) -> datetime: ...


def as_utc(instant: datetime, name: str = "instant") -> datetime:
    """``instant`` in UTC; ``name`` says which argument it was in the error for a value that
    is not a datetime (TypeError) or is a naive one (ValueError)."""
    if not isinstance(instant, datetime):
        raise TypeError(f"{name} must be a datetime, got {instant!r}")
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {instant.isoformat()}")
    return instant.astimezone(UTC)


def _check_day(day: date) -> None:
    if not isinstance(day, date) or isinstance(day, datetime):
        raise TypeError(f"expected a date, got {day!r}")


def _check_duration(duration: timedelta) -> None:
    if not isinstance(duration, timedelta):
        raise TypeError(f"duration must be a timedelta, got {duration!r}")
    if duration < timedelta(0):
        raise ValueError(f"duration must not be negative, got {duration}")


def _check_days(days: int) -> None:
    if isinstance(days, bool) or not isinstance(days, int):
        raise TypeError(f"days must be an int, got {days!r}")
    if days < 0:
        raise ValueError(f"days must not be negative, got {days}")


def time_zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name`` (``Asia/Shanghai``); ValueError for an empty, unknown or
    malformed one."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"unknown time zone {name!r}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown time zone {name!r}") from error


@functools.lru_cache(maxsize=256)
def _holiday_table(country: str, year: int) -> holidays.HolidayBase:
    """The ``holidays`` library's public holidays of ``country`` in ``year`` (cached)."""
    return holidays.country_holidays(country, years=year, expand=False)


@functools.lru_cache(maxsize=256)
def holidays_in(country: str, year: int) -> frozenset[date]:
    """Public holidays and substituted days off (调休 rest days) of ``country`` in ``year``."""
    return frozenset(day for day in _holiday_table(country, year) if day.year == year)


@functools.lru_cache(maxsize=256)
def make_up_working_days_in(country: str, year: int) -> frozenset[date]:
    """Weekend days of ``year`` that are working days to make up for a holiday (调休).

    The library records a make-up day with the holiday it pays for, which can fall in the
    neighbouring year (a Saturday in late December for a New Year bridge), so the
    neighbouring years' tables are consulted too.
    """
    days: set[date] = set()
    for table_year in (year - 1, year, year + 1):
        workdays = getattr(_holiday_table(country, table_year), "weekend_workdays", ())
        days.update(day for day in workdays if day.year == year)
    return frozenset(days)


def _check_country(country: str | None) -> None:
    if country is None:
        return
    try:
        holidays.country_holidays(country)
    except NotImplementedError as error:
        raise ValueError(f"no public holidays known for country {country!r}") from error


@dataclass(frozen=True)
class BusinessCalendar:
    """Working hours ``start``–``end`` on ``weekdays`` (0 = Monday) in ``timezone``.

    A day is a working day when (its weekday is in ``weekdays`` and it is not a public
    holiday or substituted day off of ``country``) or it is one of that country's make-up
    working days (调休), as listed by the ``holidays`` library. ``country=None`` means no
    holidays. Working hours lie within one local day (``start < end``, no overnight shifts).
    """

    timezone: str = DEFAULT_TIMEZONE
    start: time = time(9)
    end: time = time(18)
    weekdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})
    country: str | None = "CN"
    clock: str = field(default="business", init=False)

    def __post_init__(self) -> None:
        time_zone(self.timezone)
        for name in ("start", "end"):
            value = getattr(self, name)
            if not isinstance(value, time) or value.tzinfo is not None:
                raise ValueError(f"{name} must be a naive time of day, got {value!r}")
        if not self.start < self.end:
            raise ValueError(f"working hours must start before they end: {self.start}–{self.end}")
        weekdays = frozenset(self.weekdays)
        if not weekdays or not all(
            isinstance(day, int) and not isinstance(day, bool) and 0 <= day <= 6 for day in weekdays
        ):
            raise ValueError(f"weekdays must be a non-empty set of 0 (Monday) to 6: {weekdays}")
        object.__setattr__(self, "weekdays", weekdays)
        _check_country(self.country)

    @property
    def zone(self) -> ZoneInfo:
        return time_zone(self.timezone)

    @property
    def business_day_length(self) -> timedelta:
        """Nominal length of a working day (``end - start`` on the wall clock)."""
        return datetime.combine(date.min, self.end) - datetime.combine(date.min, self.start)

    def local(self, instant: datetime) -> datetime:
        """``instant`` expressed in the calendar's time zone."""
        return as_utc(instant).astimezone(self.zone)

    def is_working_day(self, day: date) -> bool:
        _check_day(day)
        return _is_working_day(self.country, self.weekdays, day)

    def is_working_time(self, instant: datetime) -> bool:
        """Whether ``instant`` lies in ``[opening, closing)`` of a working day."""
        moment = as_utc(instant)
        window = self._window(moment.astimezone(self.zone).date())
        return window is not None and window[0] <= moment < window[1]

    def next_opening(self, instant: datetime) -> datetime:
        """``instant`` itself when it is working time, else the next opening after it."""
        moment = as_utc(instant)
        year = self._local_year(moment)
        windows = self._year(year)
        index = bisect_right(windows.opens, moment)
        if index and moment < windows.closes[index - 1]:
            return moment.astimezone(self.zone)
        for _ in range(_MAX_IDLE_YEARS + 1):
            if index < len(windows.opens):
                return windows.opens[index].astimezone(self.zone)
            year, index = year + 1, 0
            windows = self._year(year)
        raise ValueError(f"no working day in {_MAX_IDLE_YEARS} years after {instant}")

    def add(self, instant: datetime, duration: timedelta) -> datetime:
        """The instant at which ``duration`` of working time has elapsed after ``instant``.

        See the module docstring: the result of a positive duration may be a closing time.
        """
        moment = as_utc(instant)
        _check_duration(duration)
        if not duration:
            return self.next_opening(moment)
        year = self._local_year(moment)
        windows = self._year(year)
        target = windows.worked_before(moment) + duration
        idle_years = 0
        while target > windows.total:
            target -= windows.total
            idle_years = idle_years + 1 if not windows.total else 0
            if idle_years > _MAX_IDLE_YEARS:
                raise ValueError(f"no working day in {_MAX_IDLE_YEARS} years after {instant}")
            year += 1
            windows = self._year(year)
        index = bisect_left(windows.worked, target) - 1
        return (windows.opens[index] + (target - windows.worked[index])).astimezone(self.zone)

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Working time in ``[start, end)``; zero when ``end <= start``."""
        begin, finish = as_utc(start, "start"), as_utc(end, "end")
        if finish <= begin:
            return timedelta(0)
        first_year, last_year = self._local_year(begin), self._local_year(finish)
        total = -self._year(first_year).worked_before(begin)
        for year in range(first_year, last_year):
            total += self._year(year).total
        return total + self._year(last_year).worked_before(finish)

    def next_business_day(self, day: date) -> date:
        """The first working day strictly after ``day``."""
        _check_day(day)
        candidate = day + _ONE_DAY
        for _ in range(_MAX_DAYS_WITHOUT_WORK):
            if self.is_working_day(candidate):
                return candidate
            candidate += _ONE_DAY
        raise ValueError(f"no working day within {_MAX_DAYS_WITHOUT_WORK} days after {day}")

    def end_of_business_day(self, day: date) -> datetime:
        """Closing time of the working day ``day``; ValueError when ``day`` is not one."""
        _check_day(day)
        window = self._window(day)
        if window is None:
            raise ValueError(f"{day.isoformat()} is not a working day")
        return window[1].astimezone(self.zone)

    def add_business_days(self, instant: datetime, days: int) -> datetime:
        """``add(instant, days × business_day_length)``: same time of day, ``days`` later."""
        _check_days(days)
        return self.add(instant, days * self.business_day_length)

    def _window(self, day: date) -> tuple[datetime, datetime] | None:
        return _business_window(self, day)

    def _local_year(self, moment: datetime) -> int:
        return moment.astimezone(self.zone).year

    def _year(self, year: int) -> _WorkingYear:
        return _working_year(self, year)


@dataclass(frozen=True)
class _WorkingYear:
    """The working intervals (UTC) of one local calendar year, with running totals.

    ``worked[k]`` is the working time of the first ``k`` intervals, so measuring and adding
    are binary searches instead of walks over the days.
    """

    opens: tuple[datetime, ...]
    closes: tuple[datetime, ...]
    worked: tuple[timedelta, ...]

    @property
    def total(self) -> timedelta:
        return self.worked[-1]

    def worked_before(self, moment: datetime) -> timedelta:
        """Working time of this year before ``moment`` (a UTC instant)."""
        index = bisect_right(self.opens, moment)
        if not index:
            return timedelta(0)
        last = index - 1
        return self.worked[last] + min(moment, self.closes[last]) - self.opens[last]


@functools.lru_cache(maxsize=64)
def _working_year(calendar: BusinessCalendar, year: int) -> _WorkingYear:
    opens: list[datetime] = []
    closes: list[datetime] = []
    worked = [timedelta(0)]
    day = date(year, 1, 1)
    while day.year == year:
        window = _window_of(calendar, day)
        if window is not None:
            opens.append(window[0])
            closes.append(window[1])
            worked.append(worked[-1] + (window[1] - window[0]))
        day += _ONE_DAY
    return _WorkingYear(tuple(opens), tuple(closes), tuple(worked))


@functools.lru_cache(maxsize=8192)
def _is_working_day(country: str | None, weekdays: frozenset[int], day: date) -> bool:
    if country is not None and day in make_up_working_days_in(country, day.year):
        return True
    if day.weekday() not in weekdays:
        return False
    return country is None or day not in holidays_in(country, day.year)


def _window_of(calendar: BusinessCalendar, day: date) -> tuple[datetime, datetime] | None:
    """The working interval of ``day`` as UTC instants, or None on a day off.

    Hours that a daylight-saving change swallows whole (02:30–03:00 in Europe/Berlin on the
    night the clocks go forward) give no interval rather than a negative one.
    """
    if not calendar.is_working_day(day):
        return None
    zone = calendar.zone
    opens = datetime.combine(day, calendar.start, tzinfo=zone).astimezone(UTC)
    closes = datetime.combine(day, calendar.end, tzinfo=zone).astimezone(UTC)
    if closes <= opens:
        return None
    return opens, closes


_business_window = functools.lru_cache(maxsize=4096)(_window_of)


@dataclass(frozen=True)
class TwentyFourSeven:
    """A clock that always runs (the ``onsite_4h`` level): every instant is working time.

    ``timezone`` only decides how results are expressed and where a "day" ends.
    """

    timezone: str = DEFAULT_TIMEZONE
    clock: str = field(default="24x7", init=False)

    def __post_init__(self) -> None:
        time_zone(self.timezone)

    @property
    def zone(self) -> ZoneInfo:
        return time_zone(self.timezone)

    @property
    def business_day_length(self) -> timedelta:
        return _ONE_DAY

    def local(self, instant: datetime) -> datetime:
        return as_utc(instant).astimezone(self.zone)

    def is_working_day(self, day: date) -> bool:
        _check_day(day)
        return True

    def is_working_time(self, instant: datetime) -> bool:
        as_utc(instant)
        return True

    def next_opening(self, instant: datetime) -> datetime:
        return self.local(instant)

    def add(self, instant: datetime, duration: timedelta) -> datetime:
        """``instant + duration`` in elapsed (not wall-clock) time."""
        moment = as_utc(instant)
        _check_duration(duration)
        return (moment + duration).astimezone(self.zone)

    def between(self, start: datetime, end: datetime) -> timedelta:
        return max(as_utc(end, "end") - as_utc(start, "start"), timedelta(0))

    def next_business_day(self, day: date) -> date:
        _check_day(day)
        return day + _ONE_DAY

    def end_of_business_day(self, day: date) -> datetime:
        """Local midnight at the end of ``day``."""
        _check_day(day)
        return datetime.combine(day + _ONE_DAY, time(0), tzinfo=self.zone)

    def add_business_days(self, instant: datetime, days: int) -> datetime:
        """``days`` × 24 hours later."""
        _check_days(days)
        return self.add(instant, days * _ONE_DAY)


#: Monday–Friday 09:00–18:00 Asia/Shanghai with Chinese holidays and make-up days.
DEFAULT_CALENDAR = BusinessCalendar()
#: Around the clock, expressed in Asia/Shanghai.
ALWAYS = TwentyFourSeven()
