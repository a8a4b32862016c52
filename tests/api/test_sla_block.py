"""The ``sla`` block of API tickets: due times with their offset, and each target's status."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from servicedesk.sla.services import record_status
from servicedesk.tickets.models import Ticket

ACTIVE = (date(2025, 1, 1), date(2027, 12, 31))
H = timedelta(hours=1)


@pytest.fixture
def clock(monkeypatch, now):
    """Tickets are opened at ``now``; the sla block is computed at ``clock.at``."""

    class Clock:
        at = now

    monkeypatch.setattr("servicedesk.api.tickets.utcnow", lambda: now)
    monkeypatch.setattr("servicedesk.api.schemas.utcnow", lambda: Clock.at)
    return Clock


@pytest.fixture
def agent(make_user):
    return make_user("agent1", role="agent")


@pytest.fixture
def headers(api_token, agent):
    return {"Authorization": f"Bearer {api_token(agent)}"}


@pytest.fixture
def customer(make_customer, make_asset, make_station):
    customer = make_customer()
    make_asset(customer, "DEPOT001", entitlements=[("depot", *ACTIVE)])
    make_asset(customer, "FOURH001", product_line="server", entitlements=[("onsite_4h", *ACTIVE)])
    make_station("BJ-01", four_hour=("北京",))
    return customer


def open_ticket(client, headers, **body) -> dict:
    payload = {"customer": "C0001", "summary": "No power"} | body
    response = client.post("/api/v1/tickets", json=payload, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def read(client, headers, number: str) -> dict:
    response = client.get(f"/api/v1/tickets/{number}", headers=headers)
    assert response.status_code == 200
    return response.get_json()


def test_depot_repair_has_respond_and_resolve_targets(client, headers, customer, clock):
    sla = open_ticket(client, headers, kind="repair", serial="DEPOT001")["sla"]

    assert sla["respond_by"] == "2026-11-20T14:30:00+08:00"  # 4 business hours
    assert sla["arrive_by"] is None
    assert sla["resolve_by"] == "2026-11-27T10:30:00+08:00"  # 5 business days
    assert sla["targets"] == {
        "respond": {
            "due": "2026-11-20T14:30:00+08:00",
            "original_due": "2026-11-20T14:30:00+08:00",
            "met_at": None,
            "status": "running",
            "met": None,
            "clock": "business",
        },
        "arrive": None,
        "resolve": {
            "due": "2026-11-27T10:30:00+08:00",
            "original_due": "2026-11-27T10:30:00+08:00",
            "met_at": None,
            "status": "running",
            "met": None,
            "clock": "business",
        },
    }


def test_four_hour_repair_runs_around_the_clock(client, headers, customer, clock):
    sla = open_ticket(client, headers, kind="repair", serial="FOURH001")["sla"]
    assert sla["respond_by"] == "2026-11-20T11:00:00+08:00"
    assert sla["arrive_by"] == "2026-11-20T14:30:00+08:00"
    assert sla["resolve_by"] == "2026-11-21T10:30:00+08:00"
    assert {target["clock"] for target in sla["targets"].values()} == {"24x7"}


def test_an_inquiry_answered_on_the_call_met_its_only_target(client, headers, customer, clock):
    sla = open_ticket(client, headers, kind="inquiry")["sla"]
    assert sla["respond_by"] == "2026-11-20T12:30:00+08:00"
    assert sla["arrive_by"] is None and sla["resolve_by"] is None
    assert sla["targets"]["respond"]["status"] == "met"
    assert sla["targets"]["respond"]["met"] is True
    assert sla["targets"]["respond"]["met_at"] == "2026-11-20T10:30:00+08:00"
    assert sla["targets"]["arrive"] is None and sla["targets"]["resolve"] is None


def test_times_use_the_service_time_zone_offset(app, client, headers, customer, clock,
                                                monkeypatch):  # fmt: skip
    monkeypatch.setitem(app.config, "SERVICEDESK_TIMEZONE", "Europe/Berlin")
    sla = open_ticket(client, headers, kind="repair", serial="DEPOT001")["sla"]
    assert sla["respond_by"] == "2026-11-20T07:30:00+01:00"
    assert sla["targets"]["resolve"]["due"] == "2026-11-27T03:30:00+01:00"


def test_statuses_follow_the_ticket(client, db, headers, customer, clock, now):
    number = open_ticket(client, headers, kind="repair", serial="DEPOT001")["number"]
    clock.at = now + 5 * H
    sla = read(client, headers, number)["sla"]
    assert sla["targets"]["respond"]["status"] == "breached"
    assert sla["targets"]["respond"]["met"] is False
    assert sla["targets"]["resolve"]["status"] == "running"

    ticket = db.session.scalar(sa.select(Ticket).where(Ticket.number == number))
    record_status(ticket, "accepted", now=now + 6 * H, previous="new")
    record_status(ticket, "waiting_customer", now=now + 7 * H, previous="accepted")
    db.session.commit()
    sla = read(client, headers, number)["sla"]
    assert sla["targets"]["respond"] | {"due": None} == {
        "due": None,
        "original_due": "2026-11-20T14:30:00+08:00",
        "met_at": "2026-11-20T16:30:00+08:00",
        "status": "breached",  # met late
        "met": False,
        "clock": "business",
    }
    assert sla["targets"]["resolve"]["status"] == "paused"
    assert sla["targets"]["resolve"]["met"] is None

    ticket = db.session.scalar(sa.select(Ticket).where(Ticket.number == number))
    record_status(ticket, "cancelled", now=now + 8 * H, previous="waiting_customer")
    db.session.commit()
    sla = read(client, headers, number)["sla"]
    resolve = sla["targets"]["resolve"]
    assert resolve["status"] == "stopped" and resolve["met"] is None
    # leaving the wait pushed the due time out by the business time spent waiting: Friday
    # 17:30-18:00 (working hours end at 18:00)
    assert resolve["original_due"] == "2026-11-27T10:30:00+08:00"
    assert resolve["due"] == sla["resolve_by"] == "2026-11-27T11:00:00+08:00"


def test_listing_loads_the_clocks_of_a_page_at_once(client, db, headers, customer, clock):
    @contextmanager
    def counting():
        statements: list[str] = []

        def record(connection, cursor, statement, *args):
            statements.append(statement)

        sa.event.listen(db.engine, "before_cursor_execute", record)
        try:
            yield statements
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", record)

    def listing() -> tuple[int, list[dict]]:
        db.session.expire_all()
        with counting() as statements:
            items = client.get("/api/v1/tickets?limit=50", headers=headers).get_json()["items"]
        return len(statements), items

    for _ in range(2):
        open_ticket(client, headers, kind="repair", serial="DEPOT001")
    few, _ = listing()
    for _ in range(8):
        open_ticket(client, headers, kind="repair", serial="DEPOT001")
    many, items = listing()
    assert few == many
    assert len(items) == 10
    assert all(item["sla"]["respond_by"] == "2026-11-20T14:30:00+08:00" for item in items)


def test_openapi_documents_the_sla_block(client):
    schemas = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    assert set(schemas["Sla"]["properties"]) == {"respond_by", "arrive_by", "resolve_by", "targets"}
    assert set(schemas["SlaTargets"]["properties"]) == {"respond", "arrive", "resolve"}
    target = schemas["SlaTarget"]["properties"]
    assert set(target) == {"due", "original_due", "met_at", "status", "met", "clock"}
    assert target["status"]["enum"] == ["met", "breached", "running", "paused", "stopped"]
    assert target["due"]["format"] == "date-time"
