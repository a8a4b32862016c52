"""The supervisors' dispatch queue page and the re-dispatch form."""

from __future__ import annotations

from datetime import date

import pytest

from servicedesk.tickets.intake import TicketRequest, open_ticket
from servicedesk.tickets.models import Ticket

ACTIVE = (date(2025, 1, 1), date(2027, 12, 31))


@pytest.fixture
def waiting(db, make_station, make_customer, make_asset, make_user, now):
    make_station("BJ-01", capacity=0)
    make_station("BJ-02", capacity=0)
    customer = make_customer()
    make_asset(customer, "PF3ONSITE", entitlements=[("onsite", *ACTIVE)])
    request = TicketRequest(kind="repair", summary="No display", serial="PF3ONSITE")
    ticket = open_ticket(make_user("agent1"), customer, request, now=now)
    assert ticket.dispatch_state == "waiting"
    return ticket


def test_queue_lists_waiting_repairs_with_the_reason_and_a_form(client, login, make_user, waiting):
    login(make_user("boss", role="supervisor"))
    response = client.get("/dispatch/queue")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert waiting.number in html
    assert "Every station that could take this repair is at capacity" in html
    assert 'name="csrf_token"' in html and 'name="reason"' in html
    assert '<option value="BJ-02"' in html


def test_agents_may_not_see_the_queue(client, login, make_user, waiting):
    login(make_user("agent2"))
    assert client.get("/dispatch/queue").status_code == 403


def test_redispatch_form_sends_the_repair_and_records_it(client, login, make_user, waiting, db):
    login(make_user("boss", role="supervisor"))
    url = f"/dispatch/tickets/{waiting.number}/redispatch"
    refused = client.post(url, data={"station": "BJ-02", "reason": "urgent"})
    assert refused.status_code == 422
    assert "at capacity" in refused.get_data(as_text=True)
    response = client.post(url, data={"station": "BJ-02", "reason": "urgent", "force": "1"})
    assert response.status_code == 302
    db.session.expire_all()
    ticket = db.session.get(Ticket, waiting.id)
    assert (ticket.status, ticket.station.code, ticket.dispatch_state) == (
        "dispatched",
        "BJ-02",
        "dispatched",
    )
    assert ticket.events[-1].reason == "urgent"
    assert client.post("/dispatch/tickets/SD-1999-000001/redispatch").status_code == 404


def test_ticket_page_shows_the_dispatch_decision_in_words(client, login, make_user, waiting):
    login(make_user("boss", role="supervisor"))
    html = client.get(f"/tickets/{waiting.number}").get_data(as_text=True)
    assert "Dispatch decision" in html
    assert "The station is at capacity: 0 open repairs for a capacity of 0." not in html
    assert "The station has no capacity set, so it takes no repairs." in html
