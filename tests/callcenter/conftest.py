"""Fixtures shared by the callback tests: a station with its engineer, an agent, and closed
repairs (closing one schedules its satisfaction callback)."""

from __future__ import annotations

from datetime import date

import pytest

from servicedesk.callcenter.models import Callback
from servicedesk.tickets.closing import close_repair
from servicedesk.tickets.intake import TicketRequest, open_ticket
from servicedesk.tickets.models import Ticket
from servicedesk.tickets.services import change_status

ACTIVE = (date(2025, 3, 1), date(2028, 2, 29))
"""The on-site warranty of every machine :func:`close_a_repair` repairs."""


@pytest.fixture
def station(make_station):
    return make_station("BJ-01")


@pytest.fixture
def engineer(make_user, station):
    return make_user("bj01", role="station", station_code="BJ-01")


@pytest.fixture
def agent(make_user):
    return make_user("agent1")


@pytest.fixture
def close_a_repair(make_customer, make_asset, station, engineer, agent, now):
    """Open, work and close a repair, at ``at`` (default: the conftest's ``now``), for
    ``customer`` or a new customer ``Customer <n>``; returns the ticket. Its callback is due
    24 hours after ``at``."""
    counter = iter(range(1, 1000))

    def make(
        *,
        language="zh",
        customer_class="B",
        phones=("138 0013 8000",),
        customer=None,
        at=None,
    ) -> Ticket:
        n = next(counter)
        at = now if at is None else at
        if customer is None:
            customer = make_customer(
                f"C{n:04d}",
                name=f"Customer {n}",
                language=language,
                customer_class=customer_class,
                phones=phones,
            )
        asset = make_asset(customer, f"PF{n:06d}", entitlements=[("onsite", *ACTIVE)])
        ticket = open_ticket(
            agent,
            customer,
            TicketRequest(kind="repair", summary="Broken screen", serial=asset.serial),
            now=at,
        )
        if ticket.status == "new":
            ticket.station = station
            change_status(agent, ticket, "dispatched", now=at)
        change_status(engineer, ticket, "accepted", now=at)
        change_status(engineer, ticket, "on_site", now=at)
        close_repair(
            engineer, ticket, resolution="Replaced the screen", parts=[], now=at, status="closed"
        )
        return ticket

    return make


def callback_of(ticket: Ticket) -> Callback:
    """The callback the closing of ``ticket`` scheduled."""
    return Callback.query.filter_by(ticket_id=ticket.id).one()
