"""A station user cannot read, list or change another station's tickets, in the UI or the API."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from servicedesk.tickets.intake import TicketRequest, open_ticket
from servicedesk.tickets.models import Ticket, TicketEvent
from servicedesk.tickets.services import change_status

ACTIVE = (date(2025, 3, 1), date(2028, 2, 29))


@pytest.fixture
def stations(make_station):
    return make_station("BJ-01"), make_station("BJ-02")


@pytest.fixture
def tickets(make_user, make_customer, make_asset, stations, now, db):
    """One repair dispatched to each station: ``{code: ticket}``."""
    agent = make_user("agent1")
    customer = make_customer()
    result = {}
    for station in stations:
        serial = f"PF3-{station.code}"
        make_asset(customer, serial, entitlements=[("onsite", *ACTIVE)])
        ticket = open_ticket(
            agent, customer, TicketRequest(kind="repair", summary="Fan", serial=serial), now=now
        )
        if ticket.status == "new":
            ticket.station = station
            change_status(agent, ticket, "dispatched", now=now)
        ticket.station = station
        result[station.code] = ticket
    db.session.commit()
    return result


@pytest.fixture
def bj01(make_user, stations):
    return make_user("bj01", role="station", station_code="BJ-01")


def event_count(db, ticket) -> int:
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(TicketEvent)
        .where(TicketEvent.ticket_id == ticket.id)
    )


def unchanged(db, ticket, events_before: int) -> bool:
    db.session.expire_all()
    stored = db.session.get(Ticket, ticket.id)
    return (
        stored.status == "dispatched"
        and not stored.parts
        and event_count(db, ticket) == events_before
    )


def test_queue_lists_only_the_own_stations_tickets(client, login, bj01, tickets):
    login(bj01)
    page = client.get("/tickets/station").get_data(as_text=True)
    assert tickets["BJ-01"].number in page
    assert tickets["BJ-02"].number not in page


def test_detail_of_another_stations_ticket_is_404(client, login, bj01, tickets):
    login(bj01)
    assert client.get(f"/tickets/{tickets['BJ-01'].number}").status_code == 200
    assert client.get(f"/tickets/{tickets['BJ-02'].number}").status_code == 404


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("status", {"status-status": "accepted", "status-expected": "dispatched"}),
        ("close", {"close-resolution": "Fixed", "close-parts-0-kind": ""}),
        ("visit", {"visit-starts_at": "2030-01-01T09:00", "visit-ends_at": "2030-01-01T11:00"}),
    ],
)
def test_changing_another_stations_ticket_in_the_ui_is_404(
    client, login, bj01, tickets, db, path, data
):
    login(bj01)
    other = tickets["BJ-02"]
    events_before = event_count(db, other)
    assert client.post(f"/tickets/{other.number}/{path}", data=data).status_code == 404
    assert unchanged(db, other, events_before)


def test_api_read_and_change_of_another_stations_ticket_is_404(
    client, api_token, bj01, tickets, db
):
    headers = {"Authorization": f"Bearer {api_token(bj01)}"}
    own, other = tickets["BJ-01"], tickets["BJ-02"]
    events_before = event_count(db, other)
    assert client.get(f"/api/v1/tickets/{own.number}", headers=headers).status_code == 200
    assert client.get(f"/api/v1/tickets/{other.number}", headers=headers).status_code == 404
    for body in (
        {"status": "accepted"},
        {"status": "resolved", "resolution": "Fixed", "parts": []},
    ):
        response = client.post(f"/api/v1/tickets/{other.number}/events", json=body, headers=headers)
        assert response.status_code == 404
    assert unchanged(db, other, events_before)


def test_api_listing_is_not_for_stations(client, api_token, bj01, tickets):
    headers = {"Authorization": f"Bearer {api_token(bj01)}"}
    response = client.get("/api/v1/tickets?station=BJ-02", headers=headers)
    assert response.status_code == 403


def test_a_station_user_changes_its_own_ticket(client, login, bj01, tickets, db):
    login(bj01)
    own = tickets["BJ-01"]
    response = client.post(
        f"/tickets/{own.number}/status",
        data={"status-status": "accepted", "status-expected": "dispatched"},
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Ticket, own.id).status == "accepted"
