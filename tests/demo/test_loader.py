"""Loading the demo data set into the database."""

from __future__ import annotations

import re
from collections import Counter

import pytest
import sqlalchemy as sa

from servicedesk.auth.models import User
from servicedesk.customers.identify import identify
from servicedesk.customers.models import Asset, Contact, ContactPhone, Customer, Entitlement
from servicedesk.customers.phones import parse_phone
from servicedesk.demo.generate import build_demo_data
from servicedesk.demo.loader import DemoDataError, demo_loaded, existing_data, load_demo
from servicedesk.demo.places import CITY_BY_NAME
from servicedesk.demo.showcase import (
    ADMIN_USERNAME,
    AGENT_USERNAME,
    DEMO_PASSWORD,
    SHOWCASE_CONSUMER_CODE,
    SHOWCASE_CONSUMER_PHONE,
    SHOWCASE_ENGLISH_CODE,
    SHOWCASE_ENGLISH_EXTENSION,
    SHOWCASE_ENGLISH_PHONE,
    SHOWCASE_ENTERPRISE_CODE,
    SHOWCASE_ENTERPRISE_PHONE,
    SHOWCASE_EXPIRED_SERIAL,
    SHOWCASE_EXPIRING_SERIAL,
    SHOWCASE_FOUR_HOUR_SERIAL,
    SHOWCASE_LAPTOP_SERIAL,
    SHOWCASE_NO_FOUR_HOUR_SERIAL,
    SHOWCASE_STATION_CODE,
    SHOWCASE_STATION_USERNAME,
    SUPERVISOR_USERNAME,
)
from servicedesk.stations.models import Region, Station, StationCity
from servicedesk.stations.regions import read_default_regions, region_for
from servicedesk.tickets.intake import TicketRequest, open_ticket
from servicedesk.tickets.models import Ticket, TicketEvent
from servicedesk.warranty.coverage import ADP_PRODUCT_LINES

SEED = 5
SCALE = 0.02


@pytest.fixture
def loaded(db, now):
    summary = load_demo(seed=SEED, scale=SCALE, now=now)
    db.session.flush()
    return summary


def count(db, model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_small_load_reports_what_it_inserted(db, loaded):
    assert loaded.customers == count(db, Customer) == 100
    assert loaded.assets == count(db, Asset) == 300
    assert loaded.entitlements == count(db, Entitlement)
    assert loaded.phones == count(db, ContactPhone)
    assert loaded.tickets == count(db, Ticket) == 60
    assert loaded.events == count(db, TicketEvent)
    assert loaded.stations == count(db, Station) == 18


def test_every_region_has_a_station_covering_cities_of_its_own(db, loaded):
    regions = set(db.session.scalars(sa.select(Region.code)))
    assert len(regions) == 18
    assert set(db.session.scalars(sa.select(Station.region_code))) == regions
    rows = db.session.execute(
        sa.select(Station.region_code, StationCity.city).join(StationCity.station)
    ).all()
    assert rows
    for region_code, city in rows:
        assert region_for(CITY_BY_NAME[city].province, city) == region_code


def test_customers_have_valid_phones_and_sound_entitlements(db, loaded):
    phones_by_customer = {}
    for customer_id, e164 in db.session.execute(
        sa.select(ContactPhone.customer_id, ContactPhone.e164)
    ):
        assert parse_phone(e164).e164 == e164
        phones_by_customer.setdefault(customer_id, []).append(e164)
    customer_ids = set(db.session.scalars(sa.select(Customer.id)))
    assert set(phones_by_customer) == customer_ids

    rows = db.session.execute(
        sa.select(
            Entitlement.offering, Entitlement.start, Entitlement.end, Asset.product_line
        ).join(Asset, Asset.id == Entitlement.asset_id)
    ).all()
    for offering, start, end, product_line in rows:
        assert end >= start
        if offering == "adp":
            assert product_line in ADP_PRODUCT_LINES
    classes = Counter(db.session.scalars(sa.select(Customer.customer_class)))
    assert set(classes) == {"A", "B", "C", "consumer"}
    assert classes["consumer"] > classes["A"]


def test_same_seed_gives_the_customers_the_generator_promises(db, loaded, now):
    expected = build_demo_data(seed=SEED, scale=SCALE, now=now, regions=read_default_regions())
    stored = db.session.scalars(sa.select(Customer.code).order_by(Customer.id)).all()
    assert stored == [customer.code for customer in expected.customers]


def test_ticket_numbers_are_unique_and_formatted_and_every_ticket_was_created(db, loaded, now):
    numbers = db.session.scalars(sa.select(Ticket.number)).all()
    assert len(set(numbers)) == len(numbers)
    assert all(re.fullmatch(r"SD-\d{4}-\d{6}", number) for number in numbers)
    created = Counter(
        db.session.scalars(sa.select(TicketEvent.ticket_id).where(TicketEvent.action == "created"))
    )
    assert set(created) == set(db.session.scalars(sa.select(Ticket.id)))
    assert set(created.values()) == {1}

    # numbering continues after the history
    customer = db.session.scalar(sa.select(Customer).where(Customer.code == SHOWCASE_CONSUMER_CODE))
    agent = db.session.scalar(sa.select(User).where(User.username == AGENT_USERNAME))
    ticket = open_ticket(agent, customer, TicketRequest("inquiry", "warranty?"), now=now)
    this_year = [n for n in numbers if n.startswith(f"SD-{now.year}-")]
    assert ticket.number == f"SD-{now.year}-{len(this_year) + 1:06d}"


def test_showcase_enterprise(db, loaded, now):
    [card] = identify(now=now, phone="138 0013 8000")
    assert card.customer.code == SHOWCASE_ENTERPRISE_CODE
    assert (card.customer.customer_class, card.customer.city) == ("A", "北京")
    assert SHOWCASE_ENTERPRISE_PHONE in {p.e164 for p in card.customer.phones}
    assert card.customer.account_manager_id is not None
    views = {view.asset.serial: view for view in card.assets}

    laptop = views[SHOWCASE_LAPTOP_SERIAL]
    active = {term.offering for term in laptop.terms if laptop.active(term)}
    assert active == {"onsite", "adp", "kyd"}
    assert views[SHOWCASE_FOUR_HOUR_SERIAL].service_level.level == "onsite_4h"
    assert views[SHOWCASE_NO_FOUR_HOUR_SERIAL].service_level.level == "onsite"
    expiring = views[SHOWCASE_EXPIRING_SERIAL]
    assert [expiring.expiring_soon(term) for term in expiring.terms] == [True]
    assert len(card.open_tickets) == 1
    assert card.open_tickets[0].asset.serial == SHOWCASE_EXPIRING_SERIAL
    assert len(card.recent_tickets) >= 2

    station = db.session.scalar(sa.select(Station).where(Station.code == SHOWCASE_STATION_CODE))
    assert station.status == "active"
    assert "北京" in station.four_hour_city_names


def test_showcase_consumer_is_out_of_warranty(db, loaded, now):
    [card] = identify(now=now, phone=SHOWCASE_CONSUMER_PHONE)
    assert card.customer.code == SHOWCASE_CONSUMER_CODE
    [laptop] = card.assets
    assert laptop.asset.serial == SHOWCASE_EXPIRED_SERIAL
    assert laptop.terms and not any(laptop.active(term) for term in laptop.terms)
    agent = db.session.scalar(sa.select(User).where(User.username == AGENT_USERNAME))
    repair = open_ticket(
        agent,
        card.customer,
        TicketRequest("repair", "no power", serial=SHOWCASE_EXPIRED_SERIAL),
        now=now,
    )
    assert (repair.covered, repair.billable) == (False, True)


def test_showcase_english_customer_is_found_by_landline_with_extension(db, loaded, now):
    [card] = identify(now=now, phone="021-6123 4567 ext 801")
    assert (card.customer.code, card.customer.language) == (SHOWCASE_ENGLISH_CODE, "en")
    phones = {(p.e164, p.extension) for p in card.customer.phones}
    assert (SHOWCASE_ENGLISH_PHONE, SHOWCASE_ENGLISH_EXTENSION) in phones


def test_demo_users_share_the_documented_password(db, loaded):
    users = {u.username: u for u in db.session.scalars(sa.select(User))}
    for username, role in (
        (AGENT_USERNAME, "agent"),
        (SUPERVISOR_USERNAME, "supervisor"),
        (ADMIN_USERNAME, "admin"),
        (SHOWCASE_STATION_USERNAME, "station"),
    ):
        assert users[username].role == role
    assert users[AGENT_USERNAME].check_password(DEMO_PASSWORD)
    assert len({u.password_hash for u in users.values()}) == 1
    assert users[SHOWCASE_STATION_USERNAME].station.code == SHOWCASE_STATION_CODE
    assert sum(u.role == "station" for u in users.values()) == loaded.stations


def test_existing_users_are_kept(db, make_user, now):
    make_user(AGENT_USERNAME, role="agent")
    summary = load_demo(seed=SEED, scale=SCALE, now=now)
    users = {u.username: u for u in db.session.scalars(sa.select(User))}
    assert users[AGENT_USERNAME].password_hash != users[SUPERVISOR_USERNAME].password_hash
    assert summary.users == len(users) - 1


def test_refuses_a_database_with_customers_and_writes_nothing(db, make_customer, now):
    make_customer()
    assert not demo_loaded()
    assert existing_data() == "the database already holds 1 customers"
    with pytest.raises(DemoDataError, match="1 customers; use a fresh database"):
        load_demo(seed=SEED, scale=SCALE, now=now)
    assert count(db, Station) == count(db, Region) == count(db, User) == 0
    assert count(db, Customer) == count(db, Contact) == 1


def test_refuses_a_second_load(db, loaded, now):
    assert demo_loaded()
    with pytest.raises(DemoDataError, match="demo data is already loaded; use a fresh database"):
        load_demo(seed=SEED + 1, scale=SCALE, now=now)
    assert count(db, Customer) == loaded.customers


def test_refuses_a_database_with_stations(db, make_station, now):
    make_station()
    assert existing_data() == "the database already holds 1 stations"
    with pytest.raises(DemoDataError):
        load_demo(seed=SEED, scale=SCALE, now=now)
    assert count(db, Customer) == 0
