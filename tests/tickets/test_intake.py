from datetime import date

import pytest
import sqlalchemy as sa

from servicedesk.callcenter.models import Call
from servicedesk.tickets.intake import IntakeError, TicketRequest, open_ticket
from servicedesk.tickets.models import Ticket, TicketEvent

ACTIVE = (date(2025, 1, 1), date(2027, 12, 31))
EXPIRED = (date(2020, 1, 1), date(2023, 1, 1))


@pytest.fixture
def agent(make_user):
    return make_user("agent1")


@pytest.fixture
def customer(make_customer):
    return make_customer()


def _repair(serial="PF3ABC12", **kwargs):
    return TicketRequest(kind="repair", summary="Screen flickers", serial=serial, **kwargs)


def test_repair_under_warranty_is_covered_with_reasons(agent, customer, make_asset, now):
    make_asset(customer, entitlements=[("onsite", *ACTIVE), ("depot", *ACTIVE)])
    ticket = open_ticket(agent, customer, _repair(), now=now)
    assert ticket.number == "SD-2026-000001"
    assert ticket.status == "new"
    assert ticket.covered is True and ticket.billable is False
    assert ticket.coverage_basis[0] == "onsite"
    assert ticket.service_level == "onsite"
    assert all(reason.render() for reason in ticket.reasons)
    assert [event.action for event in ticket.events] == ["created", "dispatch"]  # no station
    assert ticket.events[0].actor == agent
    assert ticket.events[0].data["covered"] is True


def test_out_of_warranty_repair_is_billable_but_flows(agent, customer, make_asset, now):
    make_asset(customer, entitlements=[("depot", *EXPIRED)])
    ticket = open_ticket(agent, customer, _repair(), now=now)
    assert ticket.billable is True and ticket.covered is False
    assert ticket.service_level == "billable"
    assert ticket.status == "new"
    assert "2023-01-01" in " ".join(reason.render() for reason in ticket.reasons)


def test_liquid_spill_needs_damage_protection(agent, customer, make_asset, now):
    make_asset(customer, entitlements=[("onsite", *ACTIVE)])
    spill = open_ticket(agent, customer, _repair(damage="liquid"), now=now)
    assert spill.billable is True
    make_asset(customer, "PF3ADP01", entitlements=[("onsite", *ACTIVE), ("adp", *ACTIVE)])
    protected = open_ticket(agent, customer, _repair("PF3ADP01", damage="liquid"), now=now)
    assert protected.covered is True
    assert protected.coverage_basis == ["adp"]


def test_battery_is_billable_under_warranty(agent, customer, make_asset, now):
    make_asset(customer, entitlements=[("onsite", *ACTIVE)])
    ticket = open_ticket(agent, customer, _repair(part="battery"), now=now)
    assert ticket.billable is True


def test_four_hour_falls_back_without_a_capable_station(
    agent, customer, make_asset, make_station, now
):
    make_asset(customer, entitlements=[("onsite_4h", *ACTIVE)])
    ticket = open_ticket(agent, customer, _repair(), now=now)
    assert ticket.service_level == "onsite"
    assert any("not available" in reason.render() for reason in ticket.level_reasons)

    make_station(four_hour=("北京",))
    make_asset(customer, "PF3FAST1", entitlements=[("onsite_4h", *ACTIVE)])
    fast = open_ticket(agent, customer, _repair("PF3FAST1"), now=now)
    assert fast.service_level == "onsite_4h"


def test_suspended_four_hour_station_does_not_count(agent, customer, make_asset, make_station, now):
    make_station(four_hour=("北京",), status="suspended")
    make_asset(customer, entitlements=[("onsite_4h", *ACTIVE)])
    assert open_ticket(agent, customer, _repair(), now=now).service_level == "onsite"


@pytest.mark.parametrize("kind", ["inquiry", "presales"])
def test_answered_inquiries_close_at_once(agent, customer, now, kind):
    ticket = open_ticket(agent, customer, TicketRequest(kind=kind, summary="Driver"), now=now)
    assert ticket.status == "closed"
    assert ticket.closed_at == now
    assert [(e.action, e.to_status) for e in ticket.events] == [
        ("created", "new"),
        ("status", "closed"),
    ]
    assert ticket.covered is None and ticket.service_level is None


def test_unanswered_inquiry_stays_open(agent, customer, now):
    request = TicketRequest(kind="inquiry", summary="Call back", answered=False)
    assert open_ticket(agent, customer, request, now=now).status == "new"


def test_complaint_stays_open_without_station(agent, customer, now):
    request = TicketRequest(kind="complaint", summary="Engineer was late")
    ticket = open_ticket(agent, customer, request, now=now)
    assert ticket.status == "new" and ticket.station is None


def test_one_call_opens_several_tickets(agent, customer, make_asset, now, db):
    make_asset(customer)
    call = Call(agent=agent)
    db.session.add(call)
    kinds = [
        TicketRequest(kind="inquiry", summary="Opening hours"),
        _repair(),
        TicketRequest(kind="complaint", summary="Rude engineer"),
    ]
    tickets = [open_ticket(agent, customer, request, now=now, call=call) for request in kinds]
    assert [t.call for t in tickets] == [call] * 3
    assert call.customer == customer
    assert len({t.number for t in tickets}) == 3


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (TicketRequest(kind="refund", summary="x"), "kind"),
        (TicketRequest(kind="inquiry", summary="   "), "summary"),
        (TicketRequest(kind="inquiry", summary="x" * 201), "summary"),
        (TicketRequest(kind="repair", summary="x"), "serial"),
        (TicketRequest(kind="repair", summary="x", serial="NOPE"), "serial"),
        (TicketRequest(kind="repair", summary="x", serial="PF3ABC12", damage="fire"), "damage"),
        (TicketRequest(kind="repair", summary="x", serial="PF3ABC12", part="engine"), "part"),
    ],
)
def test_invalid_requests_write_nothing(agent, customer, make_asset, now, db, request_, field):
    make_asset(customer)
    with pytest.raises(IntakeError) as raised:
        open_ticket(agent, customer, request_, now=now)
    assert raised.value.field == field
    assert db.session.scalar(sa.select(sa.func.count(Ticket.id))) == 0
    assert db.session.scalar(sa.select(sa.func.count(TicketEvent.id))) == 0


def test_serial_of_another_customer_is_refused(agent, customer, make_customer, make_asset, now):
    other = make_customer("C0002", phones=("139 1111 2222",))
    make_asset(other, "PF3OTHER")
    with pytest.raises(IntakeError, match="another customer"):
        open_ticket(agent, customer, _repair("PF3OTHER"), now=now)


def test_call_with_another_customer_is_refused(agent, customer, make_customer, now, db):
    other = make_customer("C0002", phones=("139 1111 2222",))
    call = Call(agent=agent, customer=other)
    db.session.add(call)
    db.session.flush()
    with pytest.raises(IntakeError) as raised:
        open_ticket(agent, customer, TicketRequest(kind="inquiry", summary="x"), now=now, call=call)
    assert raised.value.field == "call"
