"""The station's pages: visit booking and closing forms, the queue's station panel."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from servicedesk.tickets.intake import TicketRequest, open_ticket
from servicedesk.tickets.models import Ticket
from servicedesk.tickets.services import change_status

ACTIVE = (date(2025, 3, 1), date(2028, 2, 29))


@pytest.fixture
def station(make_station):
    return make_station("BJ-01", capacity=2)


@pytest.fixture
def engineer(make_user, station):
    return make_user("bj01", role="station", station_code="BJ-01")


@pytest.fixture
def make_repair(make_user, make_customer, make_asset, station, engineer, now, db):
    agent = make_user("agent1")
    customer = make_customer()
    make_asset(customer, "PF3KYD", entitlements=[("onsite", *ACTIVE), ("kyd", *ACTIVE)])
    make_asset(customer, "PF3PLAIN", entitlements=[("onsite", *ACTIVE)])

    def make(serial, *statuses):
        ticket = open_ticket(
            agent, customer, TicketRequest(kind="repair", summary="Disk", serial=serial), now=now
        )
        if ticket.status == "new":
            ticket.station = station
            change_status(agent, ticket, "dispatched", now=now)
        ticket.station = station
        for status in statuses:
            change_status(engineer, ticket, status, now=now)
        db.session.commit()
        return ticket

    return make


def drive_row(retained: bool) -> dict:
    row = {
        "close-parts-0-kind": "drive",
        "close-parts-0-part_no": "SSD-512",
        "close-parts-0-faulty_serial": "S-OLD",
        "close-parts-0-replacement_serial": "S-NEW",
    }
    if retained:
        row["close-parts-0-retained_by_customer"] = "y"
    return row


def test_the_closing_form_says_where_the_drive_goes(client, login, engineer, make_repair):
    kyd = make_repair("PF3KYD", "accepted", "on_site")
    plain = make_repair("PF3PLAIN", "accepted", "on_site")
    login(engineer)
    page = client.get(f"/tickets/{kyd.number}").get_data(as_text=True)
    assert 'id="close-form"' in page
    assert "keep-your-drive until 2028-02-29: a replaced drive stays with the customer" in page
    page = client.get(f"/tickets/{plain.number}").get_data(as_text=True)
    assert "a replaced faulty drive is returned to the maker" in page


def test_closing_through_the_form_records_the_parts(client, login, engineer, make_repair, db):
    ticket = make_repair("PF3KYD", "accepted", "on_site")
    login(engineer)
    response = client.post(
        f"/tickets/{ticket.number}/close",
        data={"close-resolution": "Replaced the SSD", "close-close_now": "y", **drive_row(True)},
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.expire_all()
    stored = db.session.get(Ticket, ticket.id)
    assert stored.status == "closed"
    [part] = stored.parts
    assert part.drive_disposition == "retained_by_customer"


def test_refused_closing_shows_every_problem_and_saves_nothing(
    client, login, engineer, make_repair, db
):
    ticket = make_repair("PF3KYD", "accepted", "on_site")
    login(engineer)
    data = {
        "close-resolution": "SSD",
        **drive_row(False),
        "close-parts-1-kind": "battery",
        "close-parts-1-part_no": "BAT",
        "close-parts-1-value": "450",
    }
    response = client.post(f"/tickets/{ticket.number}/close", data=data)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "may not be taken back" in page
    assert "enter the quote given to the customer" in page
    db.session.expire_all()
    stored = db.session.get(Ticket, ticket.id)
    assert stored.status == "on_site" and not stored.parts


def test_booking_a_visit_in_the_customers_time(client, login, engineer, make_repair, db):
    ticket = make_repair("PF3PLAIN", "accepted")
    login(engineer)
    response = client.post(
        f"/tickets/{ticket.number}/visit",
        data={"visit-starts_at": "2030-01-02T09:00", "visit-ends_at": "2030-01-02T11:00"},
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.expire_all()
    stored = db.session.get(Ticket, ticket.id)
    assert stored.status == "scheduled"
    assert stored.visit_starts_at.isoformat() == "2030-01-02T01:00:00+00:00"


def test_a_visit_ending_before_it_starts_is_refused(client, login, engineer, make_repair):
    ticket = make_repair("PF3PLAIN", "accepted")
    login(engineer)
    response = client.post(
        f"/tickets/{ticket.number}/visit",
        data={"visit-starts_at": "2030-01-02T11:00", "visit-ends_at": "2030-01-02T09:00"},
    )
    assert response.status_code == 422
    assert "The visit must end after it starts." in response.get_data(as_text=True)


def test_agents_do_not_get_the_station_forms(client, login, make_user, make_repair):
    ticket = make_repair("PF3PLAIN", "accepted", "on_site")
    login(make_user("agent2"))
    page = client.get(f"/tickets/{ticket.number}").get_data(as_text=True)
    assert 'id="close-form"' not in page


def test_queue_shows_load_against_capacity_and_the_score(
    client, login, engineer, make_repair, station, db
):
    make_repair("PF3PLAIN")
    make_repair("PF3KYD")
    login(engineer)
    page = client.get("/tickets/station").get_data(as_text=True)
    assert "2 open tickets of a capacity of 2" in page
    assert "Full: no new repairs are dispatched to the station" in page
    assert "No score yet" in page
    station.satisfaction = Decimal("0.87")
    db.session.commit()
    page = client.get("/tickets/station").get_data(as_text=True)
    assert "87%" in page
    assert "No score yet" not in page


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-5", "abc"])
def test_a_bad_part_value_is_422(client, login, engineer, make_repair, db, value):
    ticket = make_repair("PF3PLAIN", "accepted", "on_site")
    login(engineer)
    data = {
        "close-resolution": "Fan",
        "close-parts-0-kind": "fan",
        "close-parts-0-part_no": "FAN-1",
        "close-parts-0-value": value,
    }
    response = client.post(f"/tickets/{ticket.number}/close", data=data)
    assert response.status_code == 422
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).status == "on_site"
