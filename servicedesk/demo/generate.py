"""Building the demo data set: plain values from a seeded random generator, no database.

The same seed, scale and ``now`` always give the same data set. Dates are placed relative to
``now`` (purchases over the last five years, tickets over the last year) so that a fresh load
always has active, expiring and expired entitlements and recent tickets. On top of the year's
tickets, the stations that closed fewer repairs over the last 90 days than their share get
more (see :meth:`_Generator.recent_repairs`), so that most stations' scorecards have enough
satisfaction answers to be judged; every closed repair then gets its satisfaction callback
(:mod:`servicedesk.demo.callbacks`).
"""

from __future__ import annotations

import dataclasses
import itertools
import random
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from servicedesk.customers.phones import InvalidPhone, parse_phone
from servicedesk.demo import pools
from servicedesk.demo.callbacks import CallbackHistory
from servicedesk.demo.places import (
    ALL_CITIES,
    CITIES_BY_PLACE,
    CITY_BY_NAME,
    FOUR_HOUR_CANDIDATES,
    STATION_BASES,
    City,
)
from servicedesk.demo.showcase import (
    ADMIN_USERNAME,
    AGENT_USERNAME,
    SHOWCASE_CONSUMER_CODE,
    SHOWCASE_ENTERPRISE_CODE,
    SHOWCASE_EXPIRING_SERIAL,
    SHOWCASE_FOUR_HOUR_SERIAL,
    SHOWCASE_LAPTOP_SERIAL,
    SUPERVISOR_USERNAME,
    showcase_customers,
    station_username,
)
from servicedesk.demo.specs import (
    AssetSpec,
    CallSpec,
    ContactSpec,
    CustomerSpec,
    DemoData,
    EntitlementSpec,
    EventSpec,
    PhoneSpec,
    StationSpec,
    TicketSpec,
    UserSpec,
    term,
)
from servicedesk.sla.levels import repair_service_level
from servicedesk.stations.regions import RegionRow
from servicedesk.stations.scorecard import WINDOW_DAYS
from servicedesk.warranty.coverage import (
    ADP_PRODUCT_LINES,
    PRODUCT_LINES,
    EntitlementTerm,
    decide_coverage,
)

DEFAULT_SEED = 2026
FULL_SCALE_CUSTOMERS = 5_000
FULL_SCALE_ASSETS = 15_000
FULL_SCALE_TICKETS = 3_000
CUSTOMER_TIMEZONE = ZoneInfo("Asia/Shanghai")
TICKET_HISTORY_DAYS = 365
RECENT_TICKET_DAYS = 14
RECENT_TICKET_SHARE = 0.15
PURCHASE_HISTORY_DAYS = 5 * 365

CLASS_SHARES = {"A": 0.03, "B": 0.12, "C": 0.20}
#: How strongly each class attracts assets (a key account owns dozens of machines).
ASSET_WEIGHTS = {"A": 40.0, "B": 8.0, "C": 2.5, "consumer": 0.25}
PRODUCT_LINE_WEIGHTS = {
    "consumer": {"laptop": 55, "desktop": 10, "aio": 12, "tablet": 13, "monitor": 10},
    "C": {"laptop": 45, "desktop": 30, "aio": 5, "workstation": 3, "server": 3, "tablet": 2,
          "monitor": 12},
    "B": {"laptop": 45, "desktop": 25, "aio": 4, "workstation": 6, "server": 7, "tablet": 2,
          "monitor": 11},
    "A": {"laptop": 40, "desktop": 22, "aio": 3, "workstation": 8, "server": 14, "tablet": 2,
          "monitor": 11},
}  # fmt: skip
KIND_WEIGHTS = {"inquiry": 30, "presales": 12, "repair": 48, "complaint": 10}
ADP_SHARE = {"A": 0.6, "B": 0.4, "C": 0.2, "consumer": 0.35}
KYD_SHARE = {"A": 0.8, "B": 0.45, "C": 0.15}
KYD_PRODUCT_LINES = ("laptop", "desktop", "aio", "workstation", "server")
FOUR_HOUR_SHARE = {"server": 0.9, "workstation": 0.6, "laptop": 0.2, "desktop": 0.2, "aio": 0.2}
MOBILE_PREFIXES = pools.words(
    "130 131 132 133 135 136 137 138 139 150 151 152 155 156 157 158 159 166 176 177 178 "
    "180 181 182 183 185 186 187 188 189 191 198 199"
)
#: Closed repairs per station over the last 90 days (the scorecards' window) at full scale:
#: most stations are busy enough for a satisfaction score (20 answers), the rest are quiet.
RECENT_REPAIR_DAYS = WINDOW_DAYS
BUSY_STATION_SHARE = 0.7
BUSY_STATION_REPAIRS = (32, 56)
QUIET_STATION_REPAIRS = (6, 22)
FULL_SCALE_STATIONS = 60
#: How long before the load the showcase laptop repair was opened: it is closed by then, its
#: callback due the next day.
SHOWCASE_JUST_CLOSED_AGE = timedelta(hours=20)

# Hours between a status and the next, as (shortest, longest).
_STEP_HOURS = {
    "dispatched": (0.02, 0.3),
    "accepted": (0.3, 4),
    "scheduled": (0.5, 6),
    "on_site": (2, 30),
    "waiting_parts": (0.5, 3),
    "waiting_customer": (0.5, 3),
    "resolved": (2, 72),
    "closed": (4, 72),
    "cancelled": (1, 48),
}
# 4-hour onsite repairs move faster: most meet their 30-minute, 4-hour and 24-hour targets.
_FOUR_HOUR_STEP_HOURS = _STEP_HOURS | {
    "dispatched": (0.01, 0.08),
    "accepted": (0.03, 0.45),
    "scheduled": (0.1, 0.4),
    "on_site": (0.8, 3.3),
    "resolved": (1, 20),
}
_STEP_REASONS = {
    "accepted": ("服务站已接单", "Accepted by the station"),
    "scheduled": ("已与客户预约上门时间", "Onsite visit booked with the customer"),
    "on_site": ("工程师已到达现场", "Engineer on site"),
    "waiting_parts": ("等待备件到货", "Waiting for the part to arrive"),
    "waiting_customer": ("等待客户确认时间", "Waiting for the customer to confirm a time"),
    "closed": ("客户确认问题已解决", "The customer confirmed the fix"),
    "cancelled": ("客户撤销报修", "The customer withdrew the request"),
}
_COMPLAINT_REASONS = {
    "accepted": ("主管已受理投诉", "A supervisor took the complaint"),
    "resolved": ("已回访客户并致歉，问题已处理", "Called the customer back and apologised"),
    "closed": ("客户接受处理结果", "The customer accepted the outcome"),
}
ANSWERED_ON_CALL = "answered during the call"
_LINE_CHOICES = {
    customer_class: (list(weights), list(itertools.accumulate(weights.values())))
    for customer_class, weights in PRODUCT_LINE_WEIGHTS.items()
}
_MODELS_BY_SEGMENT_AND_LINE = {
    (segment, line): [
        m for m in pools.MODELS if m.product_line == line and m.segment in (segment, "both")
    ]
    for segment in ("consumer", "enterprise")
    for line in PRODUCT_LINES
}


def build_demo_data(
    *, seed: int, scale: float, now: datetime, regions: Sequence[RegionRow]
) -> DemoData:
    """The whole demo data set for ``regions`` (the shipped 18) at ``scale`` (1.0: 5,000
    customers, 15,000 assets, 3,000 tickets over the year and about 2,000 more closed repairs
    over the last 90 days, their satisfaction callbacks and follow-up complaints, 60 stations;
    stations never fall below one per region). ``now`` must be aware."""
    if not scale > 0:
        raise ValueError("scale must be positive")
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    return _Generator(random.Random(seed), scale, now, regions).build()


@dataclasses.dataclass(frozen=True)
class _Counts:
    customers: int
    assets: int
    tickets: int

    @classmethod
    def at(cls, scale: float) -> _Counts:
        customers = max(round(FULL_SCALE_CUSTOMERS * scale), len(CLASS_SHARES) + 1)
        return cls(
            customers=customers,
            assets=max(round(FULL_SCALE_ASSETS * scale), customers),
            tickets=max(round(FULL_SCALE_TICKETS * scale), 8),
        )


class _Generator:
    def __init__(self, rng: random.Random, scale: float, now: datetime, regions):
        self.rng = rng
        self.scale = scale
        self.now = now
        self.today = now.astimezone(CUSTOMER_TIMEZONE).date()
        self.regions = list(regions)
        self.region_of_place = {
            place: region.code for region in self.regions for place in region.places
        }
        missing = sorted(set(self.region_of_place) - set(CITIES_BY_PLACE))
        if missing:
            raise ValueError(f"no demo cities for region places: {', '.join(missing)}")
        self.cities = [city for city in ALL_CITIES if city.place in self.region_of_place]
        self.city_cumulative = list(itertools.accumulate(city.weight for city in self.cities))
        self.used_phones: set[str] = set()
        self.used_serials: set[str] = set()
        self.used_codes: set[str] = set()
        self.used_names: set[str] = set()
        self.open_load: dict[str, int] = {}
        """Open tickets per station code."""
        self.call_starts: set[tuple[str, datetime]] = set()
        """Calls are told apart by customer and start time."""

    def build(self) -> DemoData:
        stations = self.stations()
        self.four_hour_cities = {
            city for station in stations if station.status != "suspended"
            for city in station.four_hour_cities
        }  # fmt: skip
        self.stations_by_region: dict[str, list[StationSpec]] = {}
        for station in stations:
            self.stations_by_region.setdefault(station.region_code, []).append(station)

        fixed = showcase_customers(self.today)
        for customer in fixed:
            self.used_codes.add(customer.code)
            self.used_names.add(customer.name)
            self.used_phones.update(phone.e164 for phone in customer.phones)
            self.used_serials.update(asset.serial for asset in customer.assets)
        counts = _Counts.at(self.scale)
        generated = self.customers(counts.customers - len(fixed))
        self.assets(generated, counts.assets - sum(len(c.assets) for c in fixed))
        showcase_calls = self.showcase_calls(fixed)
        showcase_tickets = sum(len(call.tickets) for call in showcase_calls)
        calls = showcase_calls + self.calls(generated, counts.tickets - showcase_tickets)
        calls += self.recent_repairs(generated, stations, calls)
        calls.sort(key=lambda call: call.started_at)
        data = DemoData(
            stations=stations,
            users=self.users(stations),
            customers=fixed + generated,
            calls=calls,
        )
        CallbackHistory(self, data, showcase_codes={c.code for c in fixed}).build()
        return data

    # -- stations and users -------------------------------------------------------------

    def stations(self) -> list[StationSpec]:
        stations: list[StationSpec] = []
        sequence_by_city: dict[str, int] = {}
        used_names: set[str] = set()
        for region in self.regions:
            bases = STATION_BASES.get(region.code) or (CITIES_BY_PLACE[region.places[0]][0].name,)
            kept = min(len(bases), max(1, round(len(bases) * self.scale)))
            bases = bases[:kept]
            region_cities = [city for place in region.places for city in CITIES_BY_PLACE[place]]
            coverage = self._station_coverage(bases, region_cities)
            seen_bases: set[str] = set()
            for index, base in enumerate(bases):
                city = CITY_BY_NAME[base]
                sequence_by_city[base] = sequence_by_city.get(base, 0) + 1
                first_in_city = base not in seen_bases
                seen_bases.add(base)
                four_hour = base in FOUR_HOUR_CANDIDATES and (
                    first_in_city or self.rng.random() < 0.5
                )
                stations.append(
                    StationSpec(
                        code=f"{city.code}-{sequence_by_city[base]:02d}",
                        name=self._station_name(base, used_names),
                        region_code=region.code,
                        capacity=self.rng.randrange(80, 201, 10)
                        if index == 0
                        else self.rng.randrange(20, 131, 10),
                        status="active",
                        cities=tuple(
                            (name, four_hour and name == base) for name in coverage[index]
                        ),
                        product_lines=self._station_lines(everything=index == 0),
                    )
                )
        return stations

    def _station_coverage(self, bases: Sequence[str], region_cities: Sequence[City]):
        """The cities each station covers: its base, every other city of the region handed to
        a station of the same province (the region's first station when there is none), and
        sometimes one more city of its province."""
        coverage = [[base] for base in bases]
        place_of_base = [CITY_BY_NAME[base].place for base in bases]
        for city in region_cities:
            if city.name in bases:
                continue
            same_place = [i for i, place in enumerate(place_of_base) if place == city.place]
            coverage[self.rng.choice(same_place) if same_place else 0].append(city.name)
        for index in range(len(bases)):
            others = [
                c.name
                for c in region_cities
                if c.place == place_of_base[index] and c.name not in coverage[index]
            ]
            if others and self.rng.random() < 0.5:
                coverage[index].append(self.rng.choice(others))
        return coverage

    def _station_name(self, city: str, used: set[str]) -> str:
        while True:
            name = (
                f"{city}{self.rng.choice(pools.STATION_TRADE_NAMES)}"
                f"{self.rng.choice(pools.STATION_SUFFIXES)}"
            )
            if name not in used:
                used.add(name)
                return name

    def _station_lines(self, *, everything: bool) -> tuple[str, ...]:
        if everything:
            return PRODUCT_LINES
        optional = {"monitor": 0.7, "tablet": 0.5, "workstation": 0.4, "server": 0.35}
        chosen = {"laptop", "desktop", "aio"}
        chosen.update(line for line, share in optional.items() if self.rng.random() < share)
        return tuple(line for line in PRODUCT_LINES if line in chosen)

    def users(self, stations: Sequence[StationSpec]) -> list[UserSpec]:
        return [
            UserSpec(AGENT_USERNAME, "agent", "Demo Agent"),
            UserSpec(SUPERVISOR_USERNAME, "supervisor", "Demo Supervisor"),
            UserSpec(ADMIN_USERNAME, "admin", "Demo Administrator"),
            *(
                UserSpec(station_username(s.code), "station", s.name, station_code=s.code)
                for s in stations
            ),
        ]

    # -- customers ----------------------------------------------------------------------

    def customers(self, count: int) -> list[CustomerSpec]:
        """``count`` customers (at least one of each class), classes in their demo shares."""
        count = max(count, len(CLASS_SHARES) + 1)
        classes = [
            name
            for name, share in CLASS_SHARES.items()
            for _ in range(max(1, round(count * share)))
        ]
        classes += ["consumer"] * (count - len(classes))
        self.rng.shuffle(classes)
        return [self.customer(customer_class) for customer_class in classes]

    def customer(self, customer_class: str) -> CustomerSpec:
        city = self.pick_city()
        consumer = customer_class == "consumer"
        english = self.rng.random() < (0.02 if consumer else 0.07)
        if consumer:
            name = self.english_person() if english else self.chinese_person()
            contacts = [ContactSpec(name, "", True, self.consumer_phones(city))]
        else:
            name = self.company_name(customer_class, city, english)
            contacts = self.enterprise_contacts(customer_class, city, english)
        return CustomerSpec(
            code=self.customer_code(),
            name=name,
            customer_class=customer_class,
            province=city.province,
            city=city.name,
            address=self.address(enterprise=not consumer),
            language="en" if english else "zh",
            contacts=contacts,
            do_not_call=consumer and self.rng.random() < 0.01,
        )

    def pick_city(self) -> City:
        return self.rng.choices(self.cities, cum_weights=self.city_cumulative)[0]

    def customer_code(self) -> str:
        while True:
            code = f"CU{self.rng.randrange(10**7):07d}"
            if code not in self.used_codes:
                self.used_codes.add(code)
                return code

    def chinese_person(self) -> str:
        given_length = 1 if self.rng.random() < 0.3 else 2
        given = "".join(self.rng.choices(pools.GIVEN_NAME_CHARACTERS, k=given_length))
        return self.rng.choice(pools.SURNAMES) + given

    def english_person(self) -> str:
        given = self.rng.choice(pools.ENGLISH_GIVEN_NAMES)
        return f"{given} {self.rng.choice(pools.ENGLISH_SURNAMES)}"

    def company_name(self, customer_class: str, city: City, english: bool) -> str:
        for _attempt in range(50):
            if english:
                name = (
                    f"{self.rng.choice(pools.ENGLISH_TRADE_NAMES)} "
                    f"{self.rng.choice(pools.ENGLISH_COMPANY_KINDS)} ({city.pinyin}) Co., Ltd."
                )
            elif customer_class == "A":
                name = self.key_account_name(city)
            else:
                name = (
                    f"{city.name}{self.rng.choice(pools.TRADE_NAMES)}"
                    f"{self.rng.choice(pools.INDUSTRIES)}{self.rng.choice(pools.COMPANY_SUFFIXES)}"
                )
            if name not in self.used_names:
                self.used_names.add(name)
                return name
        name = f"{name}（{len(self.used_names)}）"
        self.used_names.add(name)
        return name

    def key_account_name(self, city: City) -> str:
        patterns = [
            pattern
            for pattern in pools.KEY_ACCOUNT_PATTERNS
            if "{province}" not in pattern or city.province != city.name
        ]
        return self.rng.choice(patterns).format(
            city=city.name,
            province=city.province,
            n=self.rng.choice(pools.NUMBERS_ZH),
            bank=self.rng.choice(pools.BANKS),
            trade=self.rng.choice(pools.TRADE_NAMES),
            industry=self.rng.choice(pools.INDUSTRIES),
        )

    def address(self, *, enterprise: bool) -> str:
        street = (
            f"{self.rng.choice(pools.DISTRICT_KINDS)}{self.rng.choice(pools.ROADS)}"
            f"{self.rng.randrange(1, 999)}号"
        )
        if enterprise:
            return f"{street}{self.rng.choice(pools.BUILDINGS)}{self.rng.randrange(1, 30)}层"
        building, floor = self.rng.randrange(1, 30), self.rng.randrange(1, 30)
        return f"{street}{building}栋{floor}{self.rng.randrange(1, 5):02d}室"

    def enterprise_contacts(
        self, customer_class: str, city: City, english: bool
    ) -> list[ContactSpec]:
        most = {"A": 4, "B": 3, "C": 2}[customer_class]
        least = 2 if customer_class == "A" else 1
        contacts: list[ContactSpec] = []
        for index in range(self.rng.randint(least, most)):
            foreign = english and index == 0
            name = self.english_person() if foreign else self.chinese_person()
            while any(contact.name == name for contact in contacts):
                name = self.chinese_person()
            contacts.append(
                ContactSpec(
                    name=name,
                    title=self.rng.choice(
                        pools.ENGLISH_CONTACT_TITLES if foreign else pools.CONTACT_TITLES
                    ),
                    is_primary=index == 0,
                    phones=self.enterprise_phones(city),
                )
            )
        return contacts

    def consumer_phones(self, city: City) -> list[PhoneSpec]:
        phones = [self.mobile()]
        if self.rng.random() < 0.15:
            phones.append(self.landline(city, extension=False))
        return phones

    def enterprise_phones(self, city: City) -> list[PhoneSpec]:
        phones = [self.mobile()]
        if self.rng.random() < 0.6:
            phones.append(
                self.landline(city, extension=self.rng.random() < 0.3)
                if self.rng.random() < 0.8
                else self.mobile()
            )
        return phones

    def mobile(self) -> PhoneSpec:
        while True:
            digits = self.rng.choice(MOBILE_PREFIXES) + f"{self.rng.randrange(10**8):08d}"
            spelling = self.rng.choice(
                (
                    f"{digits[:3]} {digits[3:7]} {digits[7:]}",
                    digits,
                    f"+86 {digits[:3]} {digits[3:7]} {digits[7:]}",
                    f"{digits[:3]}-{digits[3:7]}-{digits[7:]}",
                )
            )
            phone = self._unused(spelling)
            if phone:
                return phone

    def landline(self, city: City, *, extension: bool) -> PhoneSpec:
        while True:
            local = f"{self.rng.randrange(2, 9)}{self.rng.randrange(10**7):07d}"
            suffix = f" ext {self.rng.randrange(100, 900)}" if extension else ""
            spelling_style = self.rng.random() < 0.5
            for digits in (local, local[:7]):
                spelling = (
                    f"({city.area_code}) {digits[:-4]} {digits[-4:]}{suffix}"
                    if spelling_style
                    else f"{city.area_code}-{digits}{suffix}"
                )
                phone = self._unused(spelling)
                if phone:
                    return phone

    def _unused(self, spelling: str) -> PhoneSpec | None:
        """The parsed number when it is valid and not given to anyone yet."""
        try:
            parsed = parse_phone(spelling)
        except InvalidPhone:
            return None
        if parsed.e164 in self.used_phones:
            return None
        self.used_phones.add(parsed.e164)
        return PhoneSpec(spelling, parsed.e164, parsed.extension)

    # -- assets and entitlements --------------------------------------------------------

    def assets(self, customers: Sequence[CustomerSpec], total: int) -> None:
        counts = [1] * len(customers)
        extra = max(0, total - len(customers))
        weights = [ASSET_WEIGHTS[c.customer_class] for c in customers]
        for index in self.rng.choices(range(len(customers)), weights=weights, k=extra):
            counts[index] += 1
        for customer, count in zip(customers, counts, strict=True):
            customer.assets = [self.asset(customer) for _ in range(count)]

    def asset(self, customer: CustomerSpec) -> AssetSpec:
        lines, cumulative = _LINE_CHOICES[customer.customer_class]
        line = self.rng.choices(lines, cum_weights=cumulative)[0]
        segment = "consumer" if customer.customer_class == "consumer" else "enterprise"
        model = self.rng.choice(_MODELS_BY_SEGMENT_AND_LINE[segment, line])
        purchased = self.today - timedelta(days=self.rng.randrange(PURCHASE_HISTORY_DAYS))
        price = int(model.price * Decimal(self.rng.uniform(0.88, 1.12)) / 10) * 10 - 1
        city = self.asset_city(customer)
        return AssetSpec(
            serial=self.serial(line),
            product_line=line,
            model=model.name,
            purchase_date=purchased,
            purchase_price=Decimal(f"{price}.00"),
            province=city.province,
            city=city.name,
            entitlements=self.entitlements(customer.customer_class, line, purchased, city.name),
        )

    def asset_city(self, customer: CustomerSpec) -> City:
        home = CITY_BY_NAME[customer.city]
        roll = self.rng.random()
        if roll < 0.85:
            return home
        if roll < 0.95 or customer.customer_class in ("C", "consumer"):
            return self.rng.choice(CITIES_BY_PLACE[home.place])
        return self.pick_city()

    def serial(self, line: str) -> str:
        while True:
            serial = pools.SERIAL_PREFIXES[line] + "".join(
                self.rng.choices(pools.SERIAL_ALPHABET, k=6)
            )
            if serial not in self.used_serials:
                self.used_serials.add(serial)
                return serial

    def entitlements(
        self, customer_class: str, line: str, purchased: date, city: str
    ) -> list[EntitlementSpec]:
        if customer_class == "consumer":
            terms = self._consumer_terms(line, purchased)
        else:
            terms = self._enterprise_terms(customer_class, line, purchased, city)
        adp_share = ADP_SHARE[customer_class]
        if line in ADP_PRODUCT_LINES and self.rng.random() < adp_share:
            terms.append(term("adp", purchased, self.rng.choice((1, 2, 3))))
        return terms

    def _consumer_terms(self, line: str, purchased: date) -> list[EntitlementSpec]:
        if line in ("tablet", "monitor"):
            return [term("depot", purchased, 1)]
        base = term("depot", purchased, self.rng.choices((1, 2, 3), weights=(60, 25, 15))[0])
        terms = [base]
        if self.rng.random() < 0.10:
            terms.append(self._extension(base))
        return terms

    def _enterprise_terms(
        self, customer_class: str, line: str, purchased: date, city: str
    ) -> list[EntitlementSpec]:
        years = self.rng.choices((3, 5), weights=(70, 30))[0] if line == "server" else 3
        if line in ("tablet", "monitor") or (customer_class == "C" and self.rng.random() < 0.3):
            offering = "depot"
        elif customer_class == "A" and self._gets_four_hour(line, city):
            offering = "onsite_4h"
        else:
            offering = "onsite"
        base = term(offering, purchased, years)
        terms = [base]
        if offering != "depot" and self.rng.random() < 0.2:
            terms.append(self._extension(base))
        if line in KYD_PRODUCT_LINES and self.rng.random() < KYD_SHARE[customer_class]:
            terms.append(EntitlementSpec("kyd", purchased, base.end))
        return terms

    def _gets_four_hour(self, line: str, city: str) -> bool:
        share = FOUR_HOUR_SHARE.get(line, 0.0)
        if city not in self.four_hour_cities:
            share = 0.05 if line == "server" else 0.0
        return self.rng.random() < share

    def _extension(self, base: EntitlementSpec) -> EntitlementSpec:
        return term(base.offering, base.end + timedelta(days=1), self.rng.choice((1, 2)))

    # -- calls and tickets --------------------------------------------------------------

    def calls(self, customers: Sequence[CustomerSpec], total_tickets: int) -> list[CallSpec]:
        cumulative = list(
            itertools.accumulate(len(c.assets) + (3 if c.customer_class == "A" else 0)
                                 for c in customers)
        )  # fmt: skip
        calls: list[CallSpec] = []
        made = 0
        while made < total_tickets:
            customer = self.rng.choices(customers, cum_weights=cumulative)[0]
            started = self.past_moment()
            while (customer.code, started) in self.call_starts:
                started -= timedelta(seconds=1)
            self.call_starts.add((customer.code, started))
            kinds = [self.rng.choices(list(KIND_WEIGHTS), weights=list(KIND_WEIGHTS.values()))[0]]
            if made + 1 < total_tickets and self.rng.random() < 0.2:
                kinds.append(self.rng.choice(("inquiry", "presales", "repair")))
            call = self.call(customer, started)
            moment = started
            for kind in kinds:
                moment += timedelta(minutes=self.rng.uniform(1, 5))
                call.tickets.append(self.ticket(customer, kind, moment))
            call.ended_at = min(self.now, moment + timedelta(minutes=self.rng.uniform(1, 3)))
            calls.append(call)
            made += len(kinds)
        return calls

    def recent_repairs(
        self,
        customers: Sequence[CustomerSpec],
        stations: Sequence[StationSpec],
        calls: Sequence[CallSpec],
    ) -> list[CallSpec]:
        """Calls with closed repairs over the last :data:`RECENT_REPAIR_DAYS` days for the
        stations that closed fewer than their share: most stations are busy (so that their
        scorecards have enough answers), some quiet. Each repair is of a machine the station
        would have been sent to (it covers the city and repairs the line; a 4-hour machine
        goes to a 4-hour station where the city has one)."""
        since = self.now - timedelta(days=RECENT_REPAIR_DAYS)
        closed: dict[str, int] = {}
        for call in calls:
            for ticket in call.tickets:
                if ticket.kind == "repair" and ticket.closed_at and ticket.closed_at > since:
                    closed[ticket.station_code] = closed.get(ticket.station_code, 0) + 1
        machines = self._machines_by_station(customers)
        share = self.scale * FULL_SCALE_STATIONS / len(stations)
        made: list[CallSpec] = []
        for station in stations:
            busy = self.rng.random() < BUSY_STATION_SHARE
            low, high = BUSY_STATION_REPAIRS if busy else QUIET_STATION_REPAIRS
            wanted = round(self.rng.uniform(low, high) * share)
            pool = machines.get(station.code, [])
            missing = min(wanted - closed.get(station.code, 0), len(pool))
            for _ in range(max(0, missing)):
                customer, asset = self.rng.choice(pool)
                started = self.moment_within(RECENT_REPAIR_DAYS, first_day=1)
                while (customer.code, started) in self.call_starts:
                    started -= timedelta(seconds=1)
                self.call_starts.add((customer.code, started))
                call = self.call(customer, started)
                created = started + timedelta(minutes=self.rng.uniform(1, 5))
                call.tickets.append(
                    self.ticket(
                        customer, "repair", created, asset=asset, status="closed", station=station
                    )
                )
                call.ended_at = min(self.now, created + timedelta(minutes=self.rng.uniform(1, 3)))
                made.append(call)
        return made

    def _machines_by_station(
        self, customers: Sequence[CustomerSpec]
    ) -> dict[str, list[tuple[CustomerSpec, AssetSpec]]]:
        """``{station code: [(owner, machine), ...]}``: the machines dispatch would send to
        each station (see :meth:`recent_repairs`)."""
        machines: dict[str, list[tuple[CustomerSpec, AssetSpec]]] = {}
        for customer in customers:
            for asset in customer.assets:
                region = self.region_of_place[CITY_BY_NAME[asset.city].place]
                local = [
                    s
                    for s in self.stations_by_region[region]
                    if asset.product_line in s.product_lines and asset.city in dict(s.cities)
                ]
                if any(e.offering == "onsite_4h" for e in asset.entitlements):
                    local = [s for s in local if asset.city in s.four_hour_cities] or local
                for station in local:
                    machines.setdefault(station.code, []).append((customer, asset))
        return machines

    def call(self, customer: CustomerSpec, started: datetime) -> CallSpec:
        return CallSpec(
            customer_code=customer.code,
            caller_e164=self.rng.choice(customer.phones).e164,
            agent=AGENT_USERNAME,
            started_at=started,
            ended_at=started,
        )

    def past_moment(self) -> datetime:
        """A moment in business-ish hours (08:30–21:30 Shanghai) within the last year, at least
        half an hour ago (a call's tickets follow within minutes); the last two weeks are
        busier so that stations have work open."""
        recent = self.rng.random() < RECENT_TICKET_SHARE
        return self.moment_within(RECENT_TICKET_DAYS if recent else TICKET_HISTORY_DAYS)

    def moment_within(self, days: int, *, first_day: int = 0) -> datetime:
        """A moment in business-ish hours (08:30–21:30 Shanghai) between ``first_day`` and
        ``days`` days ago, at least half an hour ago."""
        days_ago = self.rng.randrange(first_day, days)
        minutes = self.rng.randrange(13 * 60)
        latest = self.now - timedelta(minutes=30)
        while True:
            local = datetime.combine(
                self.today - timedelta(days=days_ago), time(8, 30), CUSTOMER_TIMEZONE
            ) + timedelta(minutes=minutes)
            if local <= latest:
                return local.astimezone(self.now.tzinfo)
            days_ago += 1

    def ticket(
        self,
        customer: CustomerSpec,
        kind: str,
        created: datetime,
        *,
        asset: AssetSpec | None = None,
        status: str | None = None,
        station: StationSpec | None = None,
    ) -> TicketSpec:
        english = customer.language == "en"
        language = 1 if english else 0
        ticket = TicketSpec(
            kind=kind,
            status="new",
            customer_code=customer.code,
            serial=None,
            summary="",
            description="",
            damage="none",
            part=None,
            created_at=created,
            created_by=AGENT_USERNAME,
            events=[],
        )
        ticket.status = status or self.pick_status(kind, self.now - created)
        if kind == "repair":
            asset = asset or self.repair_asset(customer, created)
            fault = self.rng.choice(self.faults(asset.product_line))
            ticket.serial = asset.serial
            ticket.summary = fault.en if english else fault.zh
            ticket.description = (
                f"Caller reports: {fault.en.lower()}. Phone diagnosis done."
                if english
                else f"客户来电反映：{fault.zh}。已完成电话诊断。"
            )
            ticket.damage = fault.damage
            ticket.part = fault.part
            self.decide(ticket, asset, created)
            station = station or self.pick_station(
                asset, ticket.service_level, open_now=ticket.is_open
            )
            if station is None:
                ticket.status = "new"
            else:
                ticket.station_code = station.code
        else:
            texts = {
                "inquiry": pools.INQUIRIES,
                "presales": pools.PRESALES,
                "complaint": pools.COMPLAINTS,
            }[kind]
            ticket.summary = self.rng.choice(texts)[language]
        ticket.events = self.events(ticket, english)
        if not any(event.to_status == "dispatched" for event in ticket.events):
            ticket.station_code = None
        if ticket.station_code and ticket.is_open:
            self.open_load[ticket.station_code] = self.open_load.get(ticket.station_code, 0) + 1
        if ticket.status == "closed":
            ticket.closed_at = ticket.events[-1].at
        return ticket

    def faults(self, line: str) -> tuple[pools.Fault, ...]:
        general = pools.FAULTS["*"] if line not in ("tablet", "monitor") else ()
        return general + pools.FAULTS.get(line, ())

    def decide(self, ticket: TicketSpec, asset: AssetSpec, created: datetime) -> None:
        """Coverage and service level as intake decides them, on the day the ticket opened."""
        on = created.astimezone(CUSTOMER_TIMEZONE).date()
        terms = [EntitlementTerm(e.offering, e.start, e.end) for e in asset.entitlements]
        coverage = decide_coverage(
            entitlements=terms,
            product_line=asset.product_line,
            on=on,
            damage=ticket.damage,
            part=ticket.part,
            purchase_price=asset.purchase_price,
        )
        level = repair_service_level(
            coverage,
            entitlements=terms,
            on=on,
            four_hour_available=asset.city in self.four_hour_cities,
        )
        ticket.covered = coverage.covered
        ticket.billable = coverage.billable
        ticket.coverage_basis = list(coverage.basis)
        ticket.coverage_reasons = [reason.to_json() for reason in coverage.reasons]
        ticket.service_level = level.level
        ticket.service_level_reasons = [reason.to_json() for reason in level.reasons]

    def repair_asset(self, customer: CustomerSpec, created: datetime) -> AssetSpec:
        """One of the customer's machines, more likely one under warranty (those get fixed
        through the hotline; owners of old ones often go elsewhere)."""
        on = created.astimezone(CUSTOMER_TIMEZONE).date()
        weights = [
            4 if any(e.start <= on <= e.end for e in asset.entitlements) else 1
            for asset in customer.assets
        ]
        return self.rng.choices(customer.assets, weights=weights)[0]

    def pick_station(
        self, asset: AssetSpec, level: str | None, *, open_now: bool
    ) -> StationSpec | None:
        """A station that covers the asset's city and repairs its line (with 4-hour capability
        for a 4-hour repair); else one of the region that repairs it; else the region's first
        station, which repairs everything. A ticket still open needs a station below capacity;
        ``None`` when there is none."""
        region = self.region_of_place[CITY_BY_NAME[asset.city].place]
        in_region = self.stations_by_region[region]
        if open_now:
            in_region = [s for s in in_region if self.open_load.get(s.code, 0) < s.capacity]
        repairs = [s for s in in_region if asset.product_line in s.product_lines]
        local = [s for s in repairs if asset.city in dict(s.cities)]
        if level == "onsite_4h":
            local = [s for s in local if asset.city in s.four_hour_cities] or local
        candidates = local or repairs or in_region[:1]
        return self.rng.choice(candidates) if candidates else None

    def pick_status(self, kind: str, age: timedelta) -> str:
        days = age.total_seconds() / 86400
        if kind in ("inquiry", "presales"):
            return "new" if days < 2 and self.rng.random() < 0.1 else "closed"
        if kind == "complaint":
            weights = (
                {"closed": 90, "resolved": 10}
                if days > 10
                else {"new": 40, "accepted": 20, "resolved": 20, "closed": 20}
            )
        elif days > 21:
            weights = {"closed": 90, "cancelled": 10}
        elif days > 7:
            weights = {"closed": 60, "resolved": 15, "waiting_parts": 10, "waiting_customer": 5,
                       "cancelled": 5, "on_site": 5}  # fmt: skip
        elif days > 2:
            weights = {"on_site": 15, "scheduled": 20, "waiting_parts": 15, "waiting_customer": 5,
                       "resolved": 20, "closed": 20, "accepted": 5}  # fmt: skip
        else:
            weights = {"new": 15, "dispatched": 30, "accepted": 30, "scheduled": 20,
                       "cancelled": 5}  # fmt: skip
        return self.rng.choices(list(weights), weights=list(weights.values()))[0]

    def events(self, ticket: TicketSpec, english: bool) -> list[EventSpec]:
        created = EventSpec(
            at=ticket.created_at,
            actor=ticket.created_by,
            action="created",
            from_status=None,
            to_status="new",
            data=_creation_data(ticket),
        )
        if ticket.kind in ("inquiry", "presales"):
            if ticket.status == "new":
                return [created]
            answered_now = self.rng.random() < 0.92
            later = timedelta(0) if answered_now else timedelta(hours=self.rng.uniform(2, 30))
            reason = (
                ANSWERED_ON_CALL
                if answered_now
                else ("Called back with the answer" if english else "已回电答复客户")
            )
            steps = [("closed", ticket.created_by, later, reason, {})]
            return [created, *self._timed(ticket, steps)]
        path = self._path(ticket)
        steps = []
        language = 1 if english else 0
        step_hours = _FOUR_HOUR_STEP_HOURS if ticket.service_level == "onsite_4h" else _STEP_HOURS
        for status in path:
            hours = timedelta(hours=self.rng.uniform(*step_hours[status]))
            actor, reason, data = self._step(ticket, status, language)
            steps.append((status, actor, hours, reason, data))
        return [created, *self._timed(ticket, steps)]

    def _path(self, ticket: TicketSpec) -> list[str]:
        """The statuses a ticket went through after ``new`` to reach its current one. A
        carry-in repair is never scheduled or on site: one drawn so stops at ``accepted``."""
        final = ticket.status
        if ticket.kind == "complaint":
            full = ["accepted", "resolved", "closed"]
            return [] if final == "new" else full[: full.index(final) + 1]
        if final == "new":
            return []
        onsite = ticket.service_level in ("onsite", "onsite_4h")
        if final in ("scheduled", "on_site") and not onsite:
            final = ticket.status = "accepted"
        full = ["dispatched", "accepted"]
        if onsite:
            full += ["scheduled", "on_site"]
        if final == "cancelled":
            return [*full[: self.rng.randrange(len(full) - 1)], "cancelled"]
        if final in ("waiting_parts", "waiting_customer"):
            return [*full, final]
        if final in ("resolved", "closed") and self.rng.random() < 0.25:
            full.append("waiting_parts")
        full += ["resolved", "closed"]
        return full[: full.index(final) + 1]

    def _step(self, ticket: TicketSpec, status: str, language: int):
        if ticket.kind == "complaint":
            return SUPERVISOR_USERNAME, _COMPLAINT_REASONS[status][language], {}
        station_user = station_username(ticket.station_code) if ticket.station_code else None
        if status == "dispatched":
            text = ("派单至服务站 {}", "Dispatched to station {}")[language]
            return (
                AGENT_USERNAME,
                text.format(ticket.station_code),
                {"station": ticket.station_code},
            )
        if status == "cancelled":
            return AGENT_USERNAME, _STEP_REASONS[status][language], {}
        if status == "resolved":
            resolution = self._resolution(ticket)[language]
            ticket.resolution = resolution
            return station_user, resolution, {}
        return station_user, _STEP_REASONS[status][language], {}

    def _resolution(self, ticket: TicketSpec) -> tuple[str, str]:
        """Mostly the part at fault was replaced; sometimes new firmware was enough."""
        if ticket.part not in pools.RESOLUTIONS or self.rng.random() < 0.1:
            return pools.FIRMWARE_RESOLUTION
        return pools.RESOLUTIONS[ticket.part]

    def _timed(self, ticket: TicketSpec, steps) -> list[EventSpec]:
        """Status events for ``(status, actor, delay, reason, data)`` steps, each ``delay``
        after the previous one, squeezed to end a minute before now."""
        offsets = list(itertools.accumulate(step[2] for step in steps))
        room = self.now - ticket.created_at - timedelta(minutes=1)
        if offsets and offsets[-1] > room:
            factor = room / offsets[-1]
            offsets = [offset * factor for offset in offsets]
        events = []
        previous = "new"
        for (status, actor, _delay, reason, data), offset in zip(steps, offsets, strict=True):
            events.append(
                EventSpec(
                    at=ticket.created_at + offset,
                    actor=actor,
                    action="status",
                    from_status=previous,
                    to_status=status,
                    reason=reason,
                    data=data,
                )
            )
            previous = status
        return events

    def showcase_calls(self, fixed: Sequence[CustomerSpec]) -> list[CallSpec]:
        """For the enterprise showcase a closed 4-hour server repair, a closed inquiry, an
        open desktop repair and a laptop repair closed within the last day (its satisfaction
        callback is still to come); for the consumer one a closed billable repair. The same
        whatever the seed (the station an open repair went to depends on the scale)."""
        by_code = {customer.code: customer for customer in fixed}
        enterprise = by_code[SHOWCASE_ENTERPRISE_CODE]
        consumer = by_code[SHOWCASE_CONSUMER_CODE]
        server = next(a for a in enterprise.assets if a.serial == SHOWCASE_FOUR_HOUR_SERIAL)
        desktop = next(a for a in enterprise.assets if a.serial == SHOWCASE_EXPIRING_SERIAL)
        laptop = next(a for a in enterprise.assets if a.serial == SHOWCASE_LAPTOP_SERIAL)
        saved = self.rng
        self.rng = random.Random("showcase")
        try:
            plans = [
                (enterprise, "repair", 60, "closed", server),
                (enterprise, "inquiry", 10, "closed", None),
                (enterprise, "repair", 1, "accepted", desktop),
                (consumer, "repair", 45, "closed", consumer.assets[0]),
                (enterprise, "repair", None, "closed", laptop),
            ]
            calls = []
            for customer, kind, days_ago, status, asset in plans:
                started = (
                    self.now - SHOWCASE_JUST_CLOSED_AGE
                    if days_ago is None
                    else datetime.combine(
                        self.today - timedelta(days=days_ago), time(10, 15), CUSTOMER_TIMEZONE
                    ).astimezone(self.now.tzinfo)
                )
                call = self.call(customer, started)
                created = started + timedelta(minutes=3)
                call.tickets.append(
                    self.ticket(customer, kind, created, asset=asset, status=status)
                )
                call.ended_at = created + timedelta(minutes=2)
                calls.append(call)
            return calls
        finally:
            self.rng = saved


def _creation_data(ticket: TicketSpec) -> dict:
    """What intake records on a ticket's creation event."""
    data: dict = {"kind": ticket.kind, "summary": ticket.summary}
    if ticket.serial is not None:
        data["serial"] = ticket.serial
    if ticket.kind == "repair":
        data.update(
            damage=ticket.damage,
            part=ticket.part,
            covered=ticket.covered,
            basis=ticket.coverage_basis,
            service_level=ticket.service_level,
        )
    return data
