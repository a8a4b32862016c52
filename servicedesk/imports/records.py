"""Turning one CSV row into a normalised record, or into the reasons it cannot be imported.

No database and no Flask here: everything a row can be checked for on its own (formats, allowed
values, lengths, dates, phone numbers, consistency between its own columns). Checks against
what is already stored (unknown region, unknown customer, ...) belong to the services.

Every ``parse_*`` function returns either its record or a non-empty list of reasons written
for the person who will fix the file.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any

from servicedesk.customers.models import CUSTOMER_CLASSES, LANGUAGES, Asset, Customer
from servicedesk.customers.phones import InvalidPhone, Phone, parse_phone
from servicedesk.stations.models import STATION_STATUSES, Region, RegionPlace, Station, StationCity
from servicedesk.stations.regions import normalize_place
from servicedesk.warranty.coverage import ADP_PRODUCT_LINES, OFFERINGS, PRODUCT_LINES

LIST_SEPARATOR = ";"
MAX_CAPACITY = 2_147_483_647
"""The largest value the database's integer column holds."""
PRICE_INTEGER_DIGITS = 10
"""``purchase_price`` is NUMERIC(12, 2): ten digits before the point, two after."""


@cache
def _max_length(model: type, column: str) -> int:
    """The length limit of ``model.column`` (cached: attribute access is not cheap)."""
    return getattr(model, column).type.length


@dataclass(frozen=True)
class Layout:
    """The columns of one kind of import file and what identifies a row of it."""

    kind: str
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    key_label: str = "code"


REGIONS = Layout("regions", ("code", "name_zh", "name_en", "provinces"))
STATIONS = Layout(
    "stations",
    (
        "code",
        "name",
        "region",
        "cities",
        "four_hour_cities",
        "product_lines",
        "capacity",
        "status",
    ),
)
CUSTOMERS = Layout(
    "customers", ("code", "name", "class", "province", "city", "address", "phones", "language")
)
ASSETS = Layout(
    "assets",
    ("serial", "customer", "product_line", "model", "purchase_date", "province", "city"),
    optional=("purchase_price",),
    key_label="serial",
)
ENTITLEMENTS = Layout(
    "entitlements", ("serial", "offering", "start", "end"), key_label="serial, offering and start"
)
LAYOUTS = {layout.kind: layout for layout in (REGIONS, STATIONS, CUSTOMERS, ASSETS, ENTITLEMENTS)}


@dataclass(frozen=True)
class RegionRecord:
    code: str
    name_zh: str
    name_en: str
    places: tuple[str, ...]
    """Provinces, or cities that are regions of their own (深圳), in file order."""

    @property
    def key(self) -> Hashable:
        return self.code


@dataclass(frozen=True)
class StationRecord:
    code: str
    name: str
    region: str
    cities: tuple[str, ...]
    four_hour_cities: frozenset[str]
    """A subset of ``cities``."""
    product_lines: tuple[str, ...]
    capacity: int
    status: str | None
    """``None`` when the file leaves it empty: ``active`` for a new station, else unchanged."""

    @property
    def key(self) -> Hashable:
        return self.code


@dataclass(frozen=True)
class CustomerRecord:
    code: str
    name: str
    customer_class: str
    province: str
    city: str
    address: str
    phones: tuple[Phone, ...]
    """The primary contact's numbers, in E.164, without duplicates."""
    language: str | None
    """``None`` when the file leaves it empty: ``zh`` for a new customer, else unchanged."""

    @property
    def key(self) -> Hashable:
        return self.code


@dataclass(frozen=True)
class AssetRecord:
    serial: str
    customer: str
    """The owner's customer code."""
    product_line: str
    model: str
    purchase_date: date
    province: str
    city: str
    purchase_price: Decimal | None = None
    has_purchase_price: bool = False
    """Whether the file has a ``purchase_price`` column; without one the stored price stays."""

    @property
    def key(self) -> Hashable:
        return self.serial


@dataclass(frozen=True)
class EntitlementRecord:
    serial: str
    offering: str
    start: date
    end: date

    @property
    def key(self) -> Hashable:
        return (self.serial, self.offering, self.start)


def describe_key(key: Hashable) -> str:
    """A key as a person would write it: ``'PF3ABC12'`` or ``PF3ABC12, depot, 2025-03-01``."""
    if isinstance(key, tuple):
        return ", ".join(str(part) for part in key)
    return repr(key)


class _RowReader:
    """Reads typed values out of one row, collecting a reason for each bad one."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self.values = values
        self.reasons: list[str] = []

    def text(self, column: str, max_length: int, *, required: bool = True) -> str:
        value = self.values.get(column, "")
        if not value:
            if required:
                self.reasons.append(f"{column} is empty")
            return ""
        if len(value) > max_length:
            self.reasons.append(f"{column} is longer than {max_length} characters")
        return value

    def choice(
        self, column: str, choices: tuple[str, ...], what: str, *, required: bool = True
    ) -> str | None:
        """One of ``choices``, matched case-insensitively; ``None`` when empty and optional."""
        value = self.values.get(column, "")
        if not value:
            if required:
                self.reasons.append(f"{column} is empty")
            return None
        by_folded = {choice.casefold(): choice for choice in choices}
        chosen = by_folded.get(value.casefold())
        if chosen is None:
            self.reasons.append(f"unknown {what} {value!r} (expected {_one_of(choices)})")
        return chosen

    def items(self, column: str) -> list[str]:
        """The ``;``-separated values of ``column``, stripped, without empties or repeats."""
        raw = self.values.get(column, "")
        return list(
            dict.fromkeys(item.strip() for item in raw.split(LIST_SEPARATOR) if item.strip())
        )

    def place(self, column: str, max_length: int) -> str:
        value = normalize_place(self.values.get(column, ""))
        if not value:
            self.reasons.append(f"{column} is empty")
        elif len(value) > max_length:
            self.reasons.append(f"{column} is longer than {max_length} characters")
        return value

    def iso_date(self, column: str) -> date | None:
        value = self.values.get(column, "")
        if not value:
            self.reasons.append(f"{column} is empty")
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            self.reasons.append(
                f"bad {column} date {value!r} (expected YYYY-MM-DD, e.g. 2025-03-01)"
            )
            return None

    def result(self, build: Callable[[], Any]) -> Any:
        return self.reasons if self.reasons else build()


def _one_of(choices: tuple[str, ...]) -> str:
    return ", ".join(choices[:-1]) + " or " + choices[-1] if len(choices) > 1 else choices[0]


_CODE_PATTERN = re.compile(r"^\S+$")


def _code(reader: _RowReader, column: str, max_length: int) -> str:
    value = reader.text(column, max_length)
    if value and not _CODE_PATTERN.match(value):
        reader.reasons.append(f"{column} {value!r} contains spaces")
    return value


def parse_region(values: Mapping[str, str]) -> RegionRecord | list[str]:
    reader = _RowReader(values)
    code = _code(reader, "code", _max_length(Region, "code"))
    name_zh = reader.text("name_zh", _max_length(Region, "name_zh"))
    name_en = reader.text("name_en", _max_length(Region, "name_en"))
    places = list(dict.fromkeys(normalize_place(item) for item in reader.items("provinces")))
    if not places:
        reader.reasons.append("provinces is empty")
    limit = _max_length(RegionPlace, "name")
    for place in places:
        if len(place) > limit:
            reader.reasons.append(f"province {place!r} is longer than {limit} characters")
    return reader.result(
        lambda: RegionRecord(code=code, name_zh=name_zh, name_en=name_en, places=tuple(places))
    )


def parse_station(values: Mapping[str, str]) -> StationRecord | list[str]:
    reader = _RowReader(values)
    code = _code(reader, "code", _max_length(Station, "code"))
    name = reader.text("name", _max_length(Station, "name"))
    region = reader.text("region", _max_length(Station, "region_code"))
    cities = list(dict.fromkeys(normalize_place(city) for city in reader.items("cities")))
    four_hour = list(
        dict.fromkeys(normalize_place(city) for city in reader.items("four_hour_cities"))
    )
    limit = _max_length(StationCity, "city")
    for city in cities:
        if len(city) > limit:
            reader.reasons.append(f"city {city!r} is longer than {limit} characters")
    for city in four_hour:
        if city not in cities:
            reader.reasons.append(
                f"four-hour city {city!r} is not among the station's cities; add it to cities"
            )
    listed_lines = reader.items("product_lines")
    if not listed_lines:
        reader.reasons.append("product_lines is empty: list what the station may repair")
    product_lines = []
    for item in listed_lines:
        line = item.lower()
        if line in PRODUCT_LINES:
            product_lines.append(line)
        else:
            reader.reasons.append(
                f"unknown product line {item!r} (expected {_one_of(PRODUCT_LINES)})"
            )
    capacity = _capacity(reader)
    status = reader.choice("status", STATION_STATUSES, "status", required=False)
    return reader.result(
        lambda: StationRecord(
            code=code,
            name=name,
            region=region,
            cities=tuple(cities),
            four_hour_cities=frozenset(four_hour),
            product_lines=tuple(dict.fromkeys(product_lines)),
            capacity=capacity,
            status=status,
        )
    )


def _capacity(reader: _RowReader) -> int:
    value = reader.values.get("capacity", "")
    if not value.isascii() or not value.isdigit():
        shown = repr(value) if value else "empty"
        reader.reasons.append(
            f"capacity is {shown}: it must be a non-negative whole number of open tickets"
        )
        return 0
    capacity = int(value)
    if capacity > MAX_CAPACITY:
        reader.reasons.append(f"capacity {value} is too large (at most {MAX_CAPACITY})")
    return capacity


def parse_customer(values: Mapping[str, str]) -> CustomerRecord | list[str]:
    reader = _RowReader(values)
    code = _code(reader, "code", _max_length(Customer, "code"))
    name = reader.text("name", _max_length(Customer, "name"))
    customer_class = reader.choice("class", CUSTOMER_CLASSES, "class")
    province = reader.place("province", _max_length(Customer, "province"))
    city = reader.place("city", _max_length(Customer, "city"))
    address = reader.text("address", _max_length(Customer, "address"), required=False)
    phones = _phones(reader)
    language = reader.choice("language", LANGUAGES, "language", required=False)
    return reader.result(
        lambda: CustomerRecord(
            code=code,
            name=name,
            customer_class=customer_class,
            province=province,
            city=city,
            address=address,
            phones=phones,
            language=language,
        )
    )


_EXTENSION_LIMIT = 10


def _phones(reader: _RowReader) -> tuple[Phone, ...]:
    phones: list[Phone] = []
    for text in reader.items("phones"):
        try:
            phone = parse_phone(text)
        except InvalidPhone:
            reader.reasons.append(
                f"bad phone {text!r}: not a valid phone number "
                "(write e.g. 138 0013 8000, +86 10 6275 1234 or 010-62751234 ext 8)"
            )
            continue
        if phone.extension and len(phone.extension) > _EXTENSION_LIMIT:
            reader.reasons.append(
                f"bad phone {text!r}: the extension is longer than {_EXTENSION_LIMIT} digits"
            )
            continue
        phones.append(phone)
    return tuple(dict.fromkeys(phones))


def parse_asset(values: Mapping[str, str]) -> AssetRecord | list[str]:
    reader = _RowReader(values)
    serial = _code(reader, "serial", _max_length(Asset, "serial"))
    customer = reader.text("customer", _max_length(Customer, "code"))
    product_line = reader.choice("product_line", PRODUCT_LINES, "product line")
    model = reader.text("model", _max_length(Asset, "model"))
    purchase_date = reader.iso_date("purchase_date")
    province = reader.place("province", _max_length(Asset, "province"))
    city = reader.place("city", _max_length(Asset, "city"))
    has_price = "purchase_price" in values
    price = _price(reader) if has_price else None
    return reader.result(
        lambda: AssetRecord(
            serial=serial,
            customer=customer,
            product_line=product_line,
            model=model,
            purchase_date=purchase_date,
            province=province,
            city=city,
            purchase_price=price,
            has_purchase_price=has_price,
        )
    )


def _price(reader: _RowReader) -> Decimal | None:
    """An amount with at most two decimals; empty means the price is not known."""
    value = reader.values.get("purchase_price", "")
    if not value:
        return None
    problem = f"bad purchase_price {value!r} (expected a plain amount such as 12999.00)"
    try:
        price = Decimal(value)
    except InvalidOperation:
        reader.reasons.append(problem)
        return None
    if not price.is_finite() or price < 0 or price.as_tuple().exponent < -2:
        reader.reasons.append(problem)
        return None
    if price >= Decimal(10) ** PRICE_INTEGER_DIGITS:
        reader.reasons.append(f"purchase_price {value} is too large")
        return None
    return price


def parse_entitlement(values: Mapping[str, str]) -> EntitlementRecord | list[str]:
    reader = _RowReader(values)
    serial = reader.text("serial", _max_length(Asset, "serial"))
    offering = reader.choice("offering", OFFERINGS, "offering")
    start = reader.iso_date("start")
    end = reader.iso_date("end")
    if start and end and end < start:
        reader.reasons.append(f"end {end.isoformat()} is before start {start.isoformat()}")
    return reader.result(
        lambda: EntitlementRecord(serial=serial, offering=offering, start=start, end=end)
    )


def adp_allowed(product_line: str) -> bool:
    """Accidental damage protection is sold for laptops and all-in-ones only."""
    return product_line in ADP_PRODUCT_LINES


PARSERS: dict[str, Callable[[Mapping[str, str]], Any]] = {
    "regions": parse_region,
    "stations": parse_station,
    "customers": parse_customer,
    "assets": parse_asset,
    "entitlements": parse_entitlement,
}
