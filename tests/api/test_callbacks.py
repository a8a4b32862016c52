"""``GET /api/v1/callbacks?ticket=``: a repair's callback with its attempts and answers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from servicedesk.callcenter.models import Callback, CallbackAttempt, SurveyAnswer
from servicedesk.tickets.models import Ticket

DUE = datetime(2026, 11, 21, 2, 30, tzinfo=UTC)


def bearer(api_token, user) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_token(user)}"}


def assert_error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.get_json()["error"]["code"] == code
    assert response.get_json()["error"]["message"]


@pytest.fixture
def repair(db, make_customer, make_station):
    """A closed repair of BJ-01 whose callback was answered on the second attempt."""
    station = make_station("BJ-01")
    make_station("BJ-02")
    customer = make_customer()
    ticket = Ticket(
        number="SD-2026-000001",
        kind="repair",
        status="closed",
        customer=customer,
        station=station,
        summary="Screen",
    )
    complaint = Ticket(
        number="SD-2026-000002", kind="complaint", status="new", customer=customer, summary="x"
    )
    callback = Callback(
        ticket=ticket,
        customer_id=customer.id,
        station_id=station.id,
        phone_e164="+8613800138000",
        language="zh",
        timezone="Asia/Shanghai",
        status="completed",
        due_at=None,
        attempts_made=2,
        max_attempts=3,
        satisfied=False,
        follow_up_ticket=complaint,
        stop_detail="",
    )
    first = CallbackAttempt(
        number=1,
        token="t1",
        status="busy",
        claimed_at=DUE,
        claimed_by="sweeper",
        placed_at=DUE,
        ended_at=DUE,
        call_sid="CA1",
        error_message="",
    )
    second = CallbackAttempt(
        number=2,
        token="t2",
        status="completed",
        claimed_at=DUE,
        claimed_by="sweeper",
        placed_at=DUE,
        answered_at=DUE,
        ended_at=DUE,
        call_sid="CA2",
        answered_by="human",
        error_message="",
    )
    callback.attempts = [first, second]
    db.session.add_all([ticket, complaint, callback])
    db.session.flush()
    for question, value in (("solved", 2), ("overall", 2)):
        db.session.add(
            SurveyAnswer(callback=callback, attempt_id=second.id, question=question, value=value)
        )
    db.session.flush()
    return ticket


def test_reads_the_callback_with_attempts_and_answers(client, make_user, api_token, repair):
    response = client.get(
        "/api/v1/callbacks?ticket=SD-2026-000001", headers=bearer(api_token, make_user())
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    (callback,) = response.get_json()["callbacks"]
    assert callback["ticket"] == "SD-2026-000001"
    assert callback["status"] == "completed"
    assert callback["due_at"] is None
    assert callback["satisfied"] is False
    assert callback["follow_up"] == "SD-2026-000002"
    assert (callback["attempts_made"], callback["max_attempts"]) == (2, 3)
    assert callback["answers"] == {"overall": 2, "solved": 2}
    assert list(callback["answers"]) == ["overall", "solved"]
    first, second = callback["attempts"]
    assert (first["number"], first["status"], first["call_sid"]) == (1, "busy", "CA1")
    assert first["answered_at"] is None
    assert (second["status"], second["answered_by"]) == ("completed", "human")
    assert second["placed_at"] == "2026-11-21T10:30:00+08:00"
    assert "token" not in second


def test_a_scheduled_callback_shows_its_due_time(client, make_user, api_token, repair, db):
    callback = Callback.query.one()
    callback.status, callback.due_at = "scheduled", DUE
    response = client.get(
        "/api/v1/callbacks?ticket=SD-2026-000001", headers=bearer(api_token, make_user())
    )
    assert response.get_json()["callbacks"][0]["due_at"] == "2026-11-21T10:30:00+08:00"


def test_a_ticket_without_callback_has_an_empty_list(client, make_user, api_token, repair):
    response = client.get(
        "/api/v1/callbacks?ticket=SD-2026-000002",
        headers=bearer(api_token, make_user("sup", role="supervisor")),
    )
    assert response.status_code == 200
    assert response.get_json() == {"callbacks": []}


def test_a_station_reads_only_its_own_repairs(client, make_user, api_token, repair):
    own = make_user("bj01", role="station", station_code="BJ-01")
    other = make_user("bj02", role="station", station_code="BJ-02")
    url = "/api/v1/callbacks?ticket=SD-2026-000001"
    assert client.get(url, headers=bearer(api_token, own)).status_code == 200
    assert_error(client.get(url, headers=bearer(api_token, other)), 404, "not_found")


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ("?ticket=SD-2026-999999", 404, "not_found"),
        ("", 422, "validation_error"),
        ("?ticket=", 422, "validation_error"),
        ("?ticket=" + "X" * 300, 422, "validation_error"),
        ("?ticket=%00", 422, "validation_error"),
    ],
)
def test_bad_queries(client, make_user, api_token, repair, query, status, code):
    response = client.get(f"/api/v1/callbacks{query}", headers=bearer(api_token, make_user()))
    assert_error(response, status, code)


def test_needs_a_token(client, repair):
    assert_error(client.get("/api/v1/callbacks?ticket=SD-2026-000001"), 401, "unauthorized")


def test_is_in_the_openapi_document(client):
    document = client.get("/api/v1/openapi.json").get_json()
    operation = document["paths"]["/api/v1/callbacks"]["get"]
    assert {"200", "401", "403", "404", "422"} <= set(operation["responses"])
    assert [p["name"] for p in operation["parameters"]] == ["ticket"]
    schemas = document["components"]["schemas"]
    assert {"Callback", "CallbackAttempt", "CallbackAnswers"} <= set(schemas)
