"""POST /api/v1/tickets/{number}/events: status changes, visits and closing a repair."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from servicedesk.tickets.intake import TicketRequest, open_ticket
from servicedesk.tickets.models import Ticket, TicketPart
from servicedesk.tickets.services import change_status

ACTIVE = (date(2025, 3, 1), date(2028, 2, 29))


@pytest.fixture
def station(make_station):
    return make_station("BJ-01")


@pytest.fixture
def engineer(make_user, station):
    return make_user("bj01", role="station", station_code="BJ-01")


@pytest.fixture
def repair(make_user, make_customer, make_asset, station, now, db):
    """A laptop repair under onsite + keep-your-drive, dispatched to BJ-01."""
    agent = make_user("agent1")
    customer = make_customer()
    make_asset(customer, "PF3KYD", entitlements=[("onsite", *ACTIVE), ("kyd", *ACTIVE)])
    ticket = open_ticket(
        agent, customer, TicketRequest(kind="repair", summary="Disk", serial="PF3KYD"), now=now
    )
    if ticket.status == "new":
        ticket.station = station
        change_status(agent, ticket, "dispatched", now=now)
    ticket.station = station
    db.session.commit()
    return ticket


@pytest.fixture
def post(client, api_token):
    def send(user, number, body, *, token=None):
        headers = {"Authorization": f"Bearer {token or api_token(user)}"}
        return client.post(f"/api/v1/tickets/{number}/events", json=body, headers=headers)

    return send


def ssd(retained):
    return {
        "kind": "drive",
        "part_no": "SSD-512",
        "faulty_serial": "S-OLD",
        "replacement_serial": "S-NEW",
        "retained_by_customer": retained,
    }


def work_on(post, engineer, number, *statuses):
    for status in statuses:
        response = post(engineer, number, {"status": status})
        assert response.status_code == 200, response.get_json()


def test_the_station_works_a_repair_to_closure(post, engineer, repair, db):
    work_on(post, engineer, repair.number, "accepted")
    starts = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
    visit = {"starts_at": starts.isoformat(), "ends_at": (starts + timedelta(hours=2)).isoformat()}
    response = post(engineer, repair.number, {"status": "scheduled", "visit": visit})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "scheduled"
    work_on(post, engineer, repair.number, "on_site")

    response = post(
        engineer,
        repair.number,
        {"status": "closed", "resolution": "Replaced the SSD", "parts": [ssd(True)]},
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "closed"
    assert body["parts"] == [
        {
            "kind": "drive",
            "part_no": "SSD-512",
            "faulty_serial": "S-OLD",
            "replacement_serial": "S-NEW",
            "value": None,
            "whole_unit": False,
            "retained_by_customer": True,
            "drive_disposition": "retained_by_customer",
            "charged_to": "warranty",
        }
    ]
    assert [event["to_status"] for event in body["events"]][-2:] == ["resolved", "closed"]
    db.session.expire_all()
    stored = db.session.scalar(sa.select(Ticket).where(Ticket.number == repair.number))
    assert stored.resolution == "Replaced the SSD"
    assert stored.visit_starts_at == starts


def test_without_a_token_401(client, repair):
    response = client.post(f"/api/v1/tickets/{repair.number}/events", json={"status": "accepted"})
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"


def test_another_stations_ticket_is_404_and_unchanged(post, make_station, make_user, repair, db):
    make_station("BJ-02")
    other = make_user("bj02", role="station", station_code="BJ-02")
    response = post(other, repair.number, {"status": "accepted"})
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
    db.session.expire_all()
    assert db.session.scalar(sa.select(Ticket.status).where(Ticket.number == repair.number)) == (
        "dispatched"
    )


def test_unknown_ticket_404(post, engineer):
    assert post(engineer, "SD-2026-999999", {"status": "accepted"}).status_code == 404
    assert post(engineer, "X" * 300, {"status": "accepted"}).status_code == 404


def test_a_station_may_not_cancel_403(post, engineer, repair):
    response = post(engineer, repair.number, {"status": "cancelled", "reason": "no"})
    assert response.status_code == 403
    assert "call center" in response.get_json()["error"]["message"]


def test_forbidden_transition_409_with_the_reason(post, engineer, repair):
    response = post(engineer, repair.number, {"status": "on_site"})
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "transition_refused"
    assert (
        error["message"]
        == "A ticket of kind “Repair” cannot go from “Dispatched” to “Engineer on site”."
    )


def test_closing_a_closed_repair_again_409(post, engineer, repair):
    work_on(post, engineer, repair.number, "accepted", "on_site")
    closing = {"status": "closed", "resolution": "SSD", "parts": [ssd(True)]}
    assert post(engineer, repair.number, closing).status_code == 200
    assert post(engineer, repair.number, closing).status_code == 409


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "status"),
        ({"status": "fixed"}, "status"),
        ({"status": "resolved", "parts": [{"kind": "wheel", "part_no": "W"}]}, "parts.0.kind"),
        ({"status": "resolved", "parts": [{"kind": "fan", "part_no": ""}]}, "parts.0.part_no"),
        (
            {"status": "resolved", "parts": [{"kind": "fan", "part_no": "F", "value": -1}]},
            "parts.0.value",
        ),
        (
            {"status": "resolved", "parts": [{"kind": "fan", "part_no": "F", "value": "NaN"}]},
            "parts.0.value",
        ),
        ({"status": "resolved", "parts": "fan"}, "parts"),
        ({"status": "resolved", "parts": [ssd("yes")]}, "parts.0.retained_by_customer"),
        ({"status": "scheduled", "visit": {"starts_at": "2026-11-21T09:00:00"}}, "visit.starts_at"),
        ({"status": "accepted", "resolution": "done"}, "resolution"),
        (
            {
                "status": "accepted",
                "visit": {
                    "starts_at": "2026-11-21T09:00:00+08:00",
                    "ends_at": "2026-11-21T10:00:00+08:00",
                },
            },
            "visit",
        ),
        ({"status": "accepted", "reason": "x" * 1001}, "reason"),
    ],
)
def test_bad_data_422(post, engineer, repair, body, field):
    response = post(engineer, repair.number, body)
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "validation_error"
    assert field in error["fields"], error["fields"]


def test_not_json_400(client, engineer, repair, api_token):
    response = client.post(
        f"/api/v1/tickets/{repair.number}/events",
        data="status=accepted",
        headers={"Authorization": f"Bearer {api_token(engineer)}"},
    )
    assert response.status_code == 400


def test_visit_ending_before_it_starts_422(post, engineer, repair):
    work_on(post, engineer, repair.number, "accepted")
    response = post(
        engineer,
        repair.number,
        {
            "status": "scheduled",
            "visit": {
                "starts_at": "2026-11-21T11:00:00+08:00",
                "ends_at": "2026-11-21T09:00:00+08:00",
            },
        },
    )
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"] == {
        "visit": ["The visit must end after it starts."]
    }


def test_warranty_violations_422_listing_each_and_nothing_saved(post, engineer, repair, db):
    work_on(post, engineer, repair.number, "accepted", "on_site")
    response = post(
        engineer,
        repair.number,
        {
            "status": "closed",
            "parts": [ssd(False), {"kind": "battery", "part_no": "BAT-57", "value": "450"}],
        },
    )
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "closing_refused"
    assert set(error["fields"]) == {"resolution", "parts", "quote"}
    assert "keep-your-drive" in error["fields"]["parts"][0]
    db.session.expire_all()
    assert db.session.scalar(sa.select(Ticket.status).where(Ticket.number == repair.number)) == (
        "on_site"
    )
    assert db.session.scalar(sa.select(sa.func.count()).select_from(TicketPart)) == 0


def test_billable_battery_with_quote_is_closed(post, engineer, repair, db):
    work_on(post, engineer, repair.number, "accepted", "on_site")
    response = post(
        engineer,
        repair.number,
        {
            "status": "resolved",
            "resolution": "New battery",
            "parts": [{"kind": "battery", "part_no": "BAT-57", "value": 450}],
            "quote": "Battery 450.00 CNY",
        },
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["parts"][0]["charged_to"] == "billable"
    db.session.expire_all()
    stored = db.session.scalar(sa.select(Ticket).where(Ticket.number == repair.number))
    assert stored.billable_amount == Decimal("450.00")
    assert stored.quote == "Battery 450.00 CNY"
    work_on(post, engineer, repair.number, "closed")


def test_messages_follow_the_request_language(client, engineer, repair, api_token):
    response = client.post(
        f"/api/v1/tickets/{repair.number}/events",
        json={"status": "on_site"},
        headers={"Authorization": f"Bearer {api_token(engineer)}", "Accept-Language": "zh"},
    )
    assert response.status_code == 409
    assert "工程师已到场" in response.get_json()["error"]["message"]


# A repair is resolved only with its closing records, whoever asks; leaving the station


@pytest.mark.parametrize("who", ["station", "agent"])
@pytest.mark.parametrize("status", ["resolved", "closed"])
def test_resolving_a_repair_needs_its_closing_records(
    post, engineer, make_user, repair, db, who, status
):
    user = engineer if who == "station" else make_user("agent2")
    assert post(user, repair.number, {"status": "accepted"}).status_code == 200
    response = post(user, repair.number, {"status": status, "reason": "done"})
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "closing_refused"
    db.session.expire_all()
    ticket = db.session.get(Ticket, repair.id)
    assert (ticket.status, ticket.resolution, ticket.closed_at) == ("accepted", "", None)


def test_a_resolved_repair_is_closed_without_more_records(post, engineer, repair, db):
    post(engineer, repair.number, {"status": "accepted"})
    body = {"status": "resolved", "resolution": "Reseated the memory.", "parts": []}
    assert post(engineer, repair.number, body).status_code == 200
    response = post(engineer, repair.number, {"status": "closed"})
    assert response.status_code == 200
    assert response.get_json()["status"] == "closed"


def test_back_to_new_through_the_api_leaves_the_station(
    client, post, engineer, make_user, repair, api_token, db
):
    agent = make_user("agent2")
    post(engineer, repair.number, {"status": "accepted"})
    response = post(agent, repair.number, {"status": "new", "reason": "wrong city"})
    assert response.status_code == 200
    body = response.get_json()
    assert (body["status"], body["station"], body["dispatch"]["state"]) == ("new", None, "waiting")
    assert "Sent back from BJ-01" in body["dispatch"]["reason"]
    assert body["events"][-1]["to_status"] == "new"
    headers = {"Authorization": f"Bearer {api_token(engineer)}"}
    assert client.get(f"/api/v1/tickets/{repair.number}", headers=headers).status_code == 404
    assert post(engineer, repair.number, {"status": "accepted"}).status_code == 404
