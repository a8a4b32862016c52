"""Dispatch under concurrency (PostgreSQL): parallel repairs never overload a station."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from flask import current_app

from servicedesk.auth.models import User
from servicedesk.core.db import db as _db
from servicedesk.customers.models import Customer
from servicedesk.dispatch.rules import DispatchDecision
from servicedesk.dispatch.services import dispatch_waiting
from servicedesk.tickets.intake import TicketRequest, open_ticket
from servicedesk.tickets.models import OPEN_STATUSES, Ticket

REPAIRS = 200
CAPACITY = 40
STATIONS = ("BJ-01", "BJ-02", "BJ-03")
CLIENTS = 12
ACTIVE = (date(2025, 1, 1), date(2027, 12, 31))


def _open_repair(app, agent_id: int, customer_id: int, index: int, now) -> str:
    with app.app_context():
        try:
            ticket = open_ticket(
                _db.session.get(User, agent_id),
                _db.session.get(Customer, customer_id),
                TicketRequest(kind="repair", summary=f"Repair {index}", serial="PF3ONSITE"),
                now=now + timedelta(milliseconds=index),
            )
            number = ticket.number
            _db.session.commit()
            return number
        except BaseException:
            _db.session.rollback()
            raise
        finally:
            _db.session.remove()


def _open_per_station(db) -> dict[str, int]:
    rows = db.session.execute(
        sa.text(
            "SELECT s.code, count(t.id) FROM stations s LEFT JOIN tickets t "
            "ON t.station_id = s.id AND t.status IN :open GROUP BY s.code"
        ).bindparams(sa.bindparam("open", expanding=True)),
        {"open": list(OPEN_STATUSES)},
    )
    return dict(rows.all())


@pytest.mark.postgres
def test_parallel_repairs_never_push_a_station_past_its_capacity(
    db, make_station, make_customer, make_asset, make_user, now
):
    for code in STATIONS:
        make_station(code, capacity=CAPACITY)
    customer = make_customer()
    make_asset(customer, "PF3ONSITE", entitlements=[("onsite", *ACTIVE)])
    agent = make_user("agent1")
    db.session.commit()
    app = current_app._get_current_object()
    agent_id, customer_id = agent.id, customer.id

    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        numbers = list(
            pool.map(lambda i: _open_repair(app, agent_id, customer_id, i, now), range(REPAIRS))
        )

    db.session.expire_all()
    assert len(set(numbers)) == REPAIRS
    tickets = db.session.scalars(sa.select(Ticket)).all()
    assert len(tickets) == REPAIRS
    assert _open_per_station(db) == {code: CAPACITY for code in STATIONS}
    waiting = [ticket for ticket in tickets if ticket.dispatch_state == "waiting"]
    assert len(waiting) == REPAIRS - CAPACITY * len(STATIONS)
    for ticket in tickets:
        stored = DispatchDecision.from_json(ticket.dispatch_decision)
        assert stored.state == ticket.dispatch_state
        assert stored.reason is not None and stored.reason.render()
        if ticket.dispatch_state == "waiting":
            assert ticket.status == "new" and ticket.station_id is None
            assert "at capacity" in stored.reason.render()
        else:
            assert ticket.status == "dispatched" and ticket.station.code == stored.station

    # Room for more: the waiting job fills it, still without passing any capacity.
    db.session.execute(sa.text("UPDATE stations SET capacity = :c"), {"c": CAPACITY + 10})
    db.session.commit()
    counts = dispatch_waiting(now + timedelta(hours=1))
    assert counts["dispatched"] == 30 and counts["still_waiting"] == len(waiting) - 30
    assert _open_per_station(db) == {code: CAPACITY + 10 for code in STATIONS}
