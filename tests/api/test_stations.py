import pytest

from servicedesk.auth.models import User
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
        "scorecard": {"satisfaction": 0.9, "satisfaction_target": 0.88},
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
