from datetime import timedelta

import pytest

from servicedesk.tickets.intake import TicketRequest, open_ticket
from servicedesk.tickets.queries import (
    MAX_PAGE_SIZE,
    TicketFilters,
    TicketPosition,
    TicketQueryError,
    list_tickets,
    ticket_by_number,
)


@pytest.fixture
def agent(make_user):
    return make_user("agent1")


@pytest.fixture
def tickets(agent, make_customer, make_station, now):
    """Nine tickets, three per minute (so creation times tie), every third at station BJ-01."""
    customer = make_customer()
    station = make_station("BJ-01")
    made = []
    for index in range(9):
        kind = "complaint" if index % 2 else "inquiry"
        created = now - timedelta(minutes=index // 3)
        ticket = open_ticket(agent, customer, TicketRequest(kind, f"t{index}"), now=created)
        if index % 3 == 0:
            ticket.station = station
        made.append(ticket)
    return made


def newest_first(tickets):
    return sorted(tickets, key=lambda t: (t.created_at, t.id), reverse=True)


def test_pages_follow_each_other_newest_first(agent, tickets):
    seen, after = [], None
    while True:
        page = list_tickets(agent, TicketFilters(), limit=4, after=after)
        seen += page.items
        if page.next is None:
            break
        assert page.next == TicketPosition.of(page.items[-1])
        after = page.next
    assert seen == newest_first(tickets)


def test_a_full_last_page_has_no_next(agent, tickets):
    page = list_tickets(agent, TicketFilters(), limit=9)
    assert len(page.items) == 9 and page.next is None


def test_filters_combine(agent, tickets):
    page = list_tickets(agent, TicketFilters(kind="complaint", station="BJ-01"), limit=50)
    expected = [t for t in tickets if t.kind == "complaint" and t.station is not None]
    assert page.items == newest_first(expected)
    assert list_tickets(
        agent, TicketFilters(status="closed", customer="C0001"), limit=50
    ).items == (newest_first([t for t in tickets if t.status == "closed"]))


@pytest.mark.parametrize(
    ("filters", "field"),
    [
        (TicketFilters(status="open"), "status"),
        (TicketFilters(kind="visit"), "kind"),
        (TicketFilters(station="NOPE"), "station"),
        (TicketFilters(customer="NOPE"), "customer"),
    ],
)
def test_unknown_filter_values_name_the_filter(agent, tickets, filters, field):
    with pytest.raises(TicketQueryError) as raised:
        list_tickets(agent, filters, limit=10)
    assert raised.value.field == field


@pytest.mark.parametrize("limit", [0, -1, MAX_PAGE_SIZE + 1])
def test_limit_is_bounded(agent, limit):
    with pytest.raises(ValueError):
        list_tickets(agent, TicketFilters(), limit=limit)


def test_station_users_see_only_their_stations_tickets(make_user, agent, tickets):
    engineer = make_user("engineer", role="station", station_code="BJ-01")
    visible = list_tickets(engineer, TicketFilters(), limit=50).items
    assert visible == newest_first([t for t in tickets if t.station is not None])
    own, other = tickets[0], tickets[1]
    assert ticket_by_number(engineer, own.number) == own
    assert ticket_by_number(engineer, other.number) is None
    assert ticket_by_number(agent, other.number) == other


@pytest.mark.parametrize("number", ["", "SD-2026-000001\x00", "SD-" + "9" * 50, "sd-2026-000001"])
def test_odd_numbers_find_nothing(agent, tickets, number):
    assert ticket_by_number(agent, number) is None
