"""Loading the demo data set into the database."""

from __future__ import annotations

import re
from collections import Counter

import pytest
import sqlalchemy as sa

from servicedesk.auth.models import User
from servicedesk.callcenter.callback_sweep import run_callback_sweep
from servicedesk.callcenter.callback_timing import is_calling_time, parse_calling_hours
from servicedesk.callcenter.models import (
    Callback,
    CallbackAttempt,
    DoNotCallNumber,
    SurveyAnswer,
)
from servicedesk.callcenter.survey import needs_follow_up
from servicedesk.callcenter.telephony import PlacedCall
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
from servicedesk.notifications.models import Notification, NotificationRead
from servicedesk.stations.models import Region, Station, StationChange, StationCity
from servicedesk.stations.regions import read_default_regions, region_for
from servicedesk.tickets.intake import TicketRequest, open_ticket
from servicedesk.tickets.models import Ticket, TicketEvent
from servicedesk.warranty.coverage import ADP_PRODUCT_LINES

SEED = 5
SCALE = 0.02
CALLING_HOURS = parse_calling_hours("09:00-20:00")


@pytest.fixture
def loaded(db, now):
    summary = load_demo(seed=SEED, scale=SCALE, now=now)
    db.session.flush()
    return summary


def count(db, model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_small_load_reports_what_it_inserted(db, loaded, now):
    expected = build_demo_data(seed=SEED, scale=SCALE, now=now, regions=read_default_regions())
    assert loaded.customers == count(db, Customer) == 100
    assert loaded.assets == count(db, Asset) == 300
    assert loaded.entitlements == count(db, Entitlement)
    assert loaded.phones == count(db, ContactPhone)
    assert loaded.tickets == count(db, Ticket) == len(expected.tickets) > 60
    assert loaded.events == count(db, TicketEvent)
    assert loaded.stations == count(db, Station) == 18
    assert loaded.callbacks == count(db, Callback) == len(expected.callbacks)
    assert loaded.attempts == count(db, CallbackAttempt)
    assert loaded.answers == count(db, SurveyAnswer)
    assert count(db, DoNotCallNumber) == len(expected.do_not_call)


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
    assert SHOWCASE_ENTERPRISE_PHONE in {p.e164 for c in card.contacts for p in c.phones}
    assert db.session.get(Customer, card.customer.id).account_manager_id is not None
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
        db.session.get(Customer, card.customer.id),
        TicketRequest("repair", "no power", serial=SHOWCASE_EXPIRED_SERIAL),
        now=now,
    )
    assert (repair.covered, repair.billable) == (False, True)


def test_showcase_english_customer_is_found_by_landline_with_extension(db, loaded, now):
    [card] = identify(now=now, phone="021-6123 4567 ext 801")
    assert (card.customer.code, card.customer.language) == (SHOWCASE_ENGLISH_CODE, "en")
    phones = {(p.e164, p.extension) for c in card.contacts for p in c.phones}
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


def test_every_closed_repair_has_its_callback(db, loaded):
    closed = set(
        db.session.scalars(
            sa.select(Ticket.id).where(Ticket.kind == "repair", Ticket.status == "closed")
        )
    )
    rows = db.session.execute(
        sa.select(Callback, Ticket).join(Ticket, Ticket.id == Callback.ticket_id)
    ).all()
    assert {ticket.id for _callback, ticket in rows} == closed
    for callback, ticket in rows:
        assert callback.customer_id == ticket.customer_id
        assert callback.station_id == ticket.station_id
        assert callback.created_at == ticket.closed_at
        assert callback.attempts_made == len(callback.attempts)
        assert [a.number for a in callback.attempts] == list(range(1, callback.attempts_made + 1))


def test_answers_are_consistent_with_the_callback_statuses(db, loaded, now):
    callbacks = db.session.scalars(sa.select(Callback)).all()
    statuses = Counter(c.status for c in callbacks)
    assert statuses["completed"] and statuses["scheduled"]
    for callback in callbacks:
        answers = {a.question: a.value for a in callback.answers}
        attempt_of = {a.id: a for a in callback.attempts}
        if callback.status == "completed":
            assert answers and callback.due_at is None and callback.finished_at
            assert callback.answered_at == min(a.answered_at for a in callback.answers)
            assert all(attempt_of[a.attempt_id].status == "completed" for a in callback.answers)
        elif callback.status == "exhausted":
            assert not answers and callback.attempts_made == callback.max_attempts == 3
        elif callback.status == "scheduled":
            assert not answers and callback.attempts_made < 3
            assert is_calling_time(callback.due_at, callback.timezone, CALLING_HOURS)
        else:
            assert callback.status == "stopped"
            assert callback.stop_reason in ("do_not_call", "opted_out")
        overall = answers.get("overall")
        assert callback.satisfied == (None if overall is None else overall >= 4)
        assert (callback.follow_up_ticket_id is not None) == needs_follow_up(answers)


def test_follow_up_complaints_are_linked_to_their_repairs(db, loaded):
    rows = db.session.execute(
        sa.select(Callback, Ticket).join(Ticket, Ticket.id == Callback.follow_up_ticket_id)
    ).all()
    assert rows
    for callback, complaint in rows:
        assert complaint.kind == "complaint" and complaint.station_id is None
        assert complaint.follow_up_of_id == callback.ticket_id
        assert complaint.customer_id == callback.customer_id
        assert complaint.call_id is None and complaint.created_by_id is None
        assert complaint.follow_up_of.number in complaint.summary
        assert complaint.sla_targets
    follow_ups = db.session.scalar(
        sa.select(sa.func.count()).select_from(Ticket).where(Ticket.follow_up_of_id.is_not(None))
    )
    assert follow_ups == len(rows)
    notices = db.session.scalars(
        sa.select(Notification).where(
            Notification.kind == "complaint", Notification.audience == "supervisors"
        )
    ).all()
    assert {n.ticket_id for n in notices} == {complaint.id for _callback, complaint in rows}
    read = set(db.session.scalars(sa.select(NotificationRead.notification_id)))
    for notice in notices:
        assert (notice.id in read) == (notice.ticket.status != "new")
        assert notice.data["follow_up_of"] == notice.ticket.follow_up_of.number


def test_opted_out_customers_are_on_the_do_not_call_list(db, now):
    load_demo(seed=SEED, scale=0.1, now=now)
    entries = db.session.scalars(sa.select(DoNotCallNumber)).all()
    assert entries
    for entry in entries:
        assert entry.reason == "pressed_9"
        assert db.session.get(Customer, entry.customer_id).do_not_call
        stopped = db.session.scalars(
            sa.select(Callback).where(
                Callback.phone_e164 == entry.e164, Callback.stop_reason == "opted_out"
            )
        ).all()
        assert len(stopped) == 1 and stopped[0].finished_at == entry.added_at


def test_after_a_load_stations_are_scored_and_the_bad_ones_on_probation(db, now):
    load_demo(seed=SEED, scale=0.2, now=now)
    stations = db.session.scalars(sa.select(Station)).all()
    scored = [s for s in stations if s.satisfaction is not None]
    assert len(scored) >= 6
    assert all(s.scorecard["answers"] >= 20 for s in scored)
    on_probation = [s for s in stations if s.status == "probation"]
    assert on_probation
    assert {s.code for s in on_probation} == {
        s.code for s in scored if s.scorecard["standing"] == "below_threshold"
    }
    assert min(s.satisfaction for s in on_probation) < 0.75
    assert all(s.satisfaction >= 0.85 for s in scored if s.status == "active")
    changes = db.session.scalars(sa.select(StationChange)).all()
    assert {c.station_id for c in changes} == {s.id for s in on_probation}
    assert all(c.changed_by_id is None for c in changes)
    notices = db.session.scalars(
        sa.select(Notification).where(Notification.kind == "station_probation")
    ).all()
    assert {n.data["station"] for n in notices} == {s.code for s in on_probation}


class _Line:
    name = "fake"

    def __init__(self):
        self.placed = []

    def place_call(self, call):
        self.placed.append(call)
        return PlacedCall(sid=f"CA{len(self.placed):032d}", status="queued")

    def find_call(self, *, token, to, since):
        return None

    def connect_to_agent(self, call_sid, agent_number):
        raise NotImplementedError


def test_the_sweep_places_the_scheduled_callbacks(db, loaded, now):
    due = db.session.scalars(
        sa.select(Callback).where(Callback.status == "scheduled").order_by(Callback.id)
    ).all()
    assert due
    later = max(c.due_at for c in due)
    db.session.commit()
    line = _Line()
    result = run_callback_sweep(later, line=line)
    assert result.claimed == result.placed == len(due) == len(line.placed)
    assert {call.to for call in line.placed} == {c.phone_e164 for c in due}


def test_the_api_reads_a_demo_callback(db, loaded, client, api_token):
    callback = db.session.scalar(
        sa.select(Callback)
        .where(Callback.follow_up_ticket_id.is_not(None), Callback.status == "completed")
        .order_by(Callback.id)
        .limit(1)
    )
    repair = db.session.get(Ticket, callback.ticket_id)
    complaint = db.session.get(Ticket, callback.follow_up_ticket_id)
    supervisor = db.session.scalar(sa.select(User).where(User.username == SUPERVISOR_USERNAME))
    response = client.get(
        f"/api/v1/callbacks?ticket={repair.number}",
        headers={"Authorization": f"Bearer {api_token(supervisor)}"},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    (shown,) = response.get_json()["callbacks"]
    assert (shown["status"], shown["follow_up"]) == ("completed", complaint.number)
    assert shown["answers"] == {a.question: a.value for a in callback.answers}
    assert len(shown["attempts"]) == callback.attempts_made


def test_supervisor_pages_show_the_demo_callbacks_and_scores(db, loaded, client, login):
    supervisor = db.session.scalar(sa.select(User).where(User.username == SUPERVISOR_USERNAME))
    login(supervisor, password=DEMO_PASSWORD)
    callback = db.session.scalar(
        sa.select(Callback).where(Callback.follow_up_ticket_id.is_not(None)).limit(1)
    )
    repair = db.session.get(Ticket, callback.ticket_id)
    complaint = db.session.get(Ticket, callback.follow_up_ticket_id)
    station = db.session.get(Station, repair.station_id)
    for path in (
        f"/tickets/{repair.number}",
        f"/tickets/{complaint.number}",
        f"/stations/{station.code}",
        "/stations/",
        "/notifications/",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
    assert repair.number in client.get(f"/tickets/{complaint.number}").get_data(as_text=True)
