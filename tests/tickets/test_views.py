"""The ticket page (who may see which ticket) and a station's own queue."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from servicedesk.tickets.intake import TicketRequest, open_ticket
from servicedesk.tickets.models import Ticket


@pytest.fixture
def stations(make_station):
    return make_station("BJ-01"), make_station("BJ-02")


@pytest.fixture
def repair(db, make_customer, make_asset, make_user, stations, now):
    """A covered repair dispatched to BJ-01."""
    customer = make_customer()
    make_asset(
        customer,
        "PF3ABC12",
        entitlements=(("onsite", date(2025, 3, 1), date(2028, 2, 29)),),
    )
    agent = make_user("agent1")
    ticket = open_ticket(
        agent,
        customer,
        TicketRequest(kind="repair", summary="No display", serial="PF3ABC12", part="drive"),
        now=now,
    )
    ticket.station = stations[0]
    db.session.commit()
    return ticket


def page(response) -> str:
    return response.get_data(as_text=True)


def test_agent_sees_the_ticket_with_coverage_reasons_and_history(client, login, repair, db):
    login(db.session.scalar(sa.select(Ticket).where(Ticket.id == repair.id)).created_by)
    response = client.get(f"/tickets/{repair.number}")
    assert response.status_code == 200
    html = page(response)
    assert repair.number in html
    assert "Covered under warranty: Onsite service" in html
    assert "Covered by onsite service until Feb 29, 2028." in html
    assert "the defective drive is returned to the maker" in html
    assert "Next-business-day onsite" in html
    assert "Station BJ-01" in html
    assert "Ticket opened" in html


@pytest.mark.parametrize("role", ["supervisor", "admin"])
def test_supervisors_and_admins_see_tickets(client, login, make_user, repair, role):
    login(make_user(f"user-{role}", role=role))
    assert client.get(f"/tickets/{repair.number}").status_code == 200


def test_station_user_sees_own_station_tickets_only(client, login, make_user, repair, db):
    login(make_user("bj01", role="station", station_code="BJ-01"))
    assert client.get(f"/tickets/{repair.number}").status_code == 200
    client.post("/logout")
    login(make_user("bj02", role="station", station_code="BJ-02"))
    assert client.get(f"/tickets/{repair.number}").status_code == 404


def test_undispatched_ticket_is_hidden_from_station_users(client, login, make_user, repair, db):
    repair = db.session.get(Ticket, repair.id)
    repair.station = None
    db.session.commit()
    login(make_user("bj01", role="station", station_code="BJ-01"))
    assert client.get(f"/tickets/{repair.number}").status_code == 404


def test_unknown_ticket_is_404_and_anonymous_is_sent_to_sign_in(client, login, make_user, repair):
    response = client.get(f"/tickets/{repair.number}")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
    login(make_user("agent2"))
    assert client.get("/tickets/SD-2026-999999").status_code == 404


def test_station_queue_lists_only_the_stations_tickets(
    client, login, make_user, repair, make_customer, db, now
):
    other = open_ticket(
        repair.created_by,
        make_customer("C0002", phones=("139 1111 2222",)),
        TicketRequest(kind="complaint", summary="Late engineer"),
        now=now,
    )
    db.session.commit()
    login(make_user("bj01", role="station", station_code="BJ-01"))
    html = page(client.get("/tickets/station"))
    assert repair.number in html
    assert other.number not in html
    assert "Tickets of Station BJ-01" in html


def test_station_queue_is_for_station_users(client, login, make_user):
    login(make_user("agent1"))
    assert client.get("/tickets/station").status_code == 403
