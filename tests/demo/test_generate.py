"""The demo data set as plain values: determinism and the shape promised by issue 2."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from servicedesk.customers.phones import parse_phone
from servicedesk.demo.generate import CUSTOMER_TIMEZONE, build_demo_data
from servicedesk.demo.places import CITY_BY_NAME
from servicedesk.demo.showcase import (
    SHOWCASE_CUSTOMER_CODES,
    SHOWCASE_ENTERPRISE_CODE,
    SHOWCASE_EXPIRING_IN_DAYS,
    SHOWCASE_EXPIRING_SERIAL,
    station_username,
)
from servicedesk.stations.regions import read_default_regions
from servicedesk.tickets.models import OPEN_STATUSES
from servicedesk.warranty.coverage import ADP_PRODUCT_LINES

NOW = datetime(2026, 11, 20, 2, 30, tzinfo=UTC)
REGIONS = read_default_regions()
SMALL = 0.05


def build(seed=7, scale=SMALL, now=NOW):
    return build_demo_data(seed=seed, scale=scale, now=now, regions=REGIONS)


def fingerprint(data):
    return (
        [(c.code, c.name, c.customer_class, c.city) for c in data.customers],
        [p.e164 for c in data.customers for p in c.phones],
        [(a.serial, a.model, a.purchase_date) for c in data.customers for a in c.assets],
        [(t.kind, t.status, t.summary, t.created_at) for t in data.tickets],
        [(s.code, s.name, s.cities) for s in data.stations],
    )


@pytest.fixture(scope="module")
def small():
    return build()


@pytest.fixture(scope="module")
def full():
    return build(seed=2026, scale=1.0)


def test_the_same_seed_gives_the_same_data_set():
    assert fingerprint(build(seed=11)) == fingerprint(build(seed=11))


def test_another_seed_gives_other_customers(small):
    other = build(seed=8)
    codes = [c.code for c in small.customers if c.code not in SHOWCASE_CUSTOMER_CODES]
    other_codes = [c.code for c in other.customers if c.code not in SHOWCASE_CUSTOMER_CODES]
    assert len(codes) == len(other_codes)
    assert codes != other_codes


def test_full_scale_has_the_promised_size(full):
    assets = [a for c in full.customers for a in c.assets]
    assert len(full.customers) == 5000
    assert len(assets) == 15000
    assert 55 <= len(full.stations) <= 65
    year = [t for call in full.calls for t in call.tickets]
    assert len(full.tickets) == len(year) + len(full.follow_ups)
    assert 4500 <= len(year) <= 5500
    closed = Counter(
        t.station_code
        for t in year
        if t.kind == "repair" and t.closed_at and t.closed_at > NOW - timedelta(days=90)
    )
    busy = [code for code, count in closed.items() if count >= 30]
    assert len(busy) >= 0.6 * len(full.stations)
    classes = Counter(c.customer_class for c in full.customers)
    assert classes["consumer"] > classes["C"] > classes["B"] > classes["A"] > 100
    assert {c.province for c in full.customers} >= {p for r in REGIONS for p in r.places} - {"深圳"}


def test_full_scale_stations(full):
    assert {s.status for s in full.stations} == {"active"}
    assert all(20 <= s.capacity <= 200 for s in full.stations)
    assert sum(1 for s in full.stations if s.four_hour_cities) >= 10
    assert len({s.product_lines for s in full.stations}) > 3
    assert len({s.code for s in full.stations}) == len(full.stations)
    covered = {city for s in full.stations for city, _ in s.cities}
    assert covered == set(CITY_BY_NAME)


def test_every_region_has_stations_covering_only_its_own_cities(small):
    by_region = {r.code: set(r.places) for r in REGIONS}
    assert {s.region_code for s in small.stations} == set(by_region)
    for station in small.stations:
        for city, _four_hour in station.cities:
            assert CITY_BY_NAME[city].place in by_region[station.region_code], station
        assert set(station.four_hour_cities) <= {city for city, _ in station.cities}


def test_phones_are_valid_unique_e164(small):
    phones = [p for c in small.customers for p in c.phones]
    assert all(c.phones for c in small.customers)
    for phone in phones:
        parsed = parse_phone(phone.spelling)
        assert (parsed.e164, parsed.extension) == (phone.e164, phone.extension)
        assert re.fullmatch(r"\+86\d{9,11}", phone.e164)
    assert len({p.e164 for p in phones}) == len(phones)
    kinds = Counter("mobile" if p.e164.startswith("+861") else "landline" for p in phones)
    assert kinds["mobile"] and kinds["landline"]


def test_contacts_per_class(small):
    for customer in small.customers:
        if customer.customer_class == "consumer":
            assert [c.name for c in customer.contacts] == [customer.name]
        else:
            assert 1 <= len(customer.contacts) <= 4
        assert all(1 <= len(c.phones) <= 2 for c in customer.contacts)
        assert sum(c.is_primary for c in customer.contacts) == 1
        assert len({c.name for c in customer.contacts}) == len(customer.contacts)
    assert Counter(c.language for c in small.customers).keys() == {"zh", "en"}


def test_assets_and_entitlements(full):
    assets = [(c, a) for c in full.customers for a in c.assets]
    assert len({a.serial for _, a in assets}) == len(assets)
    today = NOW.astimezone(CUSTOMER_TIMEZONE).date()
    for customer, asset in assets:
        assert today - timedelta(days=5 * 366) <= asset.purchase_date <= today
        assert asset.purchase_price > 0
        assert CITY_BY_NAME[asset.city].province == asset.province
        for entitlement in asset.entitlements:
            assert entitlement.end >= entitlement.start
            if entitlement.offering == "adp":
                assert asset.product_line in ADP_PRODUCT_LINES
            if customer.customer_class == "consumer":
                assert entitlement.offering in ("depot", "adp")
    offerings = Counter(e.offering for _, a in assets for e in a.entitlements)
    assert set(offerings) == {"depot", "onsite", "onsite_4h", "adp", "kyd"}
    ends = [e.end for _, a in assets for e in a.entitlements]
    assert any(end < today for end in ends)
    assert sum(today <= end <= today + timedelta(days=30) for end in ends) > 50


def test_tickets_tell_a_consistent_story(full):
    stations = {s.code: s for s in full.stations}
    open_load = Counter()
    for ticket in full.tickets:
        first, *rest = ticket.events
        assert (first.action, first.to_status, first.at) == ("created", "new", ticket.created_at)
        previous = first
        for event in rest:
            assert event.from_status == previous.to_status
            assert previous.at <= event.at <= NOW
            previous = event
        assert previous.to_status == ticket.status
        if ticket.kind == "repair":
            assert ticket.serial and ticket.service_level
        if ticket.station_code:
            assert ticket.kind == "repair"
            if ticket.status in OPEN_STATUSES:
                open_load[ticket.station_code] += 1
            actors = {e.actor for e in ticket.events if e.to_status == "accepted"}
            assert actors <= {station_username(ticket.station_code)}
    assert all(load <= stations[code].capacity for code, load in open_load.items())
    kinds = Counter((t.kind, t.status in OPEN_STATUSES) for t in full.tickets)
    assert all(kinds[kind, False] for kind in ("inquiry", "presales", "repair", "complaint"))
    assert kinds["repair", True] > 20
    assert {t.service_level for t in full.tickets if t.kind == "repair"} == {
        "onsite_4h",
        "onsite",
        "depot",
        "billable",
    }


def test_showcase_customers_are_fixed_whatever_the_seed():
    def showcase(data):
        return [c for c in data.customers if c.code in SHOWCASE_CUSTOMER_CODES]

    assert showcase(build(seed=1)) == showcase(build(seed=2, scale=0.01))
    enterprise = next(c for c in build().customers if c.code == SHOWCASE_ENTERPRISE_CODE)
    desktop = next(a for a in enterprise.assets if a.serial == SHOWCASE_EXPIRING_SERIAL)
    local_today = NOW.astimezone(CUSTOMER_TIMEZONE).date()
    assert desktop.entitlements[-1].end == local_today + timedelta(days=SHOWCASE_EXPIRING_IN_DAYS)


def test_scale_must_be_positive():
    with pytest.raises(ValueError):
        build(scale=0)
