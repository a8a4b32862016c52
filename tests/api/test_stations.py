from datetime import timedelta

import pytest

from servicedesk.auth.models import User
from servicedesk.stations.scorecard import RepairRecord, SurveyResponse, compute_scorecard
from servicedesk.stations.scorecards import store_scorecard
from servicedesk.tickets.models import Ticket


@pytest.fixture
def station(make_station):
    return make_station("BJ-01", capacity=8)


def bearer(api_token, user) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_token(user)}"}


def assert_error(response, status: int, code: str) -> None:
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == code
    assert response.get_json()["error"]["message"]


def test_reads_a_station_with_its_load_and_scorecard(
    client, db, make_user, make_customer, api_token, station
):
    customer = make_customer()
    for sequence, status in enumerate(["dispatched", "on_site", "closed"], start=1):
        db.session.add(
            Ticket(
                number=f"SD-2026-{sequence:06d}",
                kind="repair",
                status=status,
                customer_id=customer.id,
                station_id=station.id,
                summary="fan noise",
            )
        )
    station.satisfaction = 0.9
    headers = bearer(api_token, make_user())

    response = client.get("/api/v1/stations/BJ-01", headers=headers)

    assert response.status_code == 200
    assert response.get_json() == {
        "code": "BJ-01",
        "name": "Station BJ-01",
        "region": "jingjinji",
        "status": "active",
        "capacity": 8,
        "load": 2,
        "scorecard": {
            "satisfaction": 0.9,
            "satisfaction_target": 0.88,
            "probation_threshold": 0.85,
            "min_answers": 20,
            "satisfaction_rate": None,
            "answers": 0,
            "satisfied": 0,
            "solved_rate": None,
            "solved_answers": 0,
            "sla_compliance": None,
            "sla_met": 0,
            "sla_breached": 0,
            "repairs_closed": 0,
            "repeat_repairs": 0,
            "repeat_rate": None,
            "repairs_opened": 0,
            "standing": "no_answers",
            "reasons": [],
            "window": None,
            "computed_at": None,
        },
    }


@pytest.mark.parametrize("role", ["supervisor", "admin"])
def test_supervisors_and_admins_may_read(client, make_user, api_token, station, role):
    response = client.get("/api/v1/stations/BJ-01", headers=bearer(api_token, make_user(role=role)))
    assert response.status_code == 200
    assert response.get_json()["scorecard"]["satisfaction"] is None


def test_station_user_reads_its_own_station_only(
    client, make_station, make_user, api_token, station
):
    make_station("BJ-02")
    headers = bearer(api_token, make_user("bj01", role="station", station_code="BJ-01"))

    assert client.get("/api/v1/stations/BJ-01", headers=headers).status_code == 200
    assert_error(client.get("/api/v1/stations/BJ-02", headers=headers), 404, "not_found")


def test_unknown_station_is_a_404(client, make_user, api_token, station):
    response = client.get("/api/v1/stations/NOPE", headers=bearer(api_token, make_user()))
    assert_error(response, 404, "not_found")


@pytest.mark.parametrize("header", [None, "Bearer nonsense", "Basic dXNlcjpwYXNz"])
def test_without_a_valid_token_is_a_401(client, station, header):
    headers = {"Authorization": header} if header else {}
    response = client.get("/api/v1/stations/BJ-01", headers=headers)
    assert_error(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_role_without_access_is_a_403(client, monkeypatch, make_user, api_token, station):
    """Every role today may read some station; a role outside the list is refused."""
    headers = bearer(api_token, make_user())
    monkeypatch.setattr(User, "has_role", lambda self, *roles: False)

    assert_error(client.get("/api/v1/stations/BJ-01", headers=headers), 403, "forbidden")


def test_documented_in_openapi(client, app):
    spec = client.get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/stations/{code}"]["get"]
    assert {"200", "401", "403", "404"} <= set(operation["responses"])


def score(station, now, satisfied: int, unsatisfied: int) -> None:
    """Store the card of ``satisfied`` answers of 5 (solved) and ``unsatisfied`` of 2 (not
    solved), each with its closed repair; the row loading is tested in tests/stations."""
    at = now - timedelta(days=1)
    responses = [SurveyResponse(at, overall=5, solved=True)] * satisfied + [
        SurveyResponse(at, overall=2, solved=False)
    ] * unsatisfied
    repairs = [RepairRecord(at - timedelta(days=3), None, at)] * (satisfied + unsatisfied)
    store_scorecard(station, compute_scorecard(responses, repairs, now=now))


def test_the_scorecard_block_once_scored(client, db, make_user, api_token, station, now):
    score(station, now, 16, 4)
    headers = bearer(api_token, make_user())

    block = client.get("/api/v1/stations/BJ-01", headers=headers).get_json()["scorecard"]

    assert block["satisfaction"] == 0.8
    assert block["satisfaction_rate"] == 0.8
    assert (block["answers"], block["satisfied"]) == (20, 16)
    assert (block["solved_answers"], block["solved_rate"]) == (20, 0.8)
    assert block["sla_compliance"] is None and block["sla_met"] == 0
    assert block["repairs_closed"] == 20 and block["repairs_opened"] == 20
    assert block["repeat_repairs"] == 0 and block["repeat_rate"] == 0.0
    assert block["standing"] == "below_threshold"
    assert block["satisfaction_target"] == 0.88 and block["probation_threshold"] == 0.85
    assert block["computed_at"] == "2026-11-20T10:30:00+08:00"
    assert block["window"] == {
        "days": 90,
        "start": "2026-08-22T10:30:00+08:00",
        "end": "2026-11-20T10:30:00+08:00",
    }
    assert any("below the 85% probation threshold" in text for text in block["reasons"])
    assert any("put on probation" in text for text in block["reasons"])


def test_a_score_needs_twenty_answers(client, db, make_user, api_token, station, now):
    score(station, now, 19, 0)
    block = client.get("/api/v1/stations/BJ-01", headers=bearer(api_token, make_user())).get_json()[
        "scorecard"
    ]
    assert block["satisfaction"] is None
    assert block["satisfaction_rate"] == 1.0
    assert block["standing"] == "too_few_answers"


def test_the_scorecard_is_documented(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    scorecard = next(
        schema
        for name, schema in schemas.items()
        if name.startswith("Scorecard") and "window" in schema.get("properties", {})
    )
    properties = scorecard["properties"]
    for name in (
        "satisfaction",
        "satisfaction_rate",
        "solved_rate",
        "sla_compliance",
        "repeat_repairs",
        "repeat_rate",
        "answers",
        "window",
        "computed_at",
        "satisfaction_target",
        "probation_threshold",
    ):
        assert name in properties, name
        assert name in scorecard["required"]
    assert "0..1" in properties["solved_rate"]["description"]
    assert properties["standing"]["enum"][0] == "no_answers"
