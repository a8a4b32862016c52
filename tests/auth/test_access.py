"""Every route checks who is asking: a new route without a role check fails here."""

from __future__ import annotations

import re

import pytest

PUBLIC = {
    "static",
    "auth.index",
    "auth.login",
    "auth.set_language",
    "api-docs.openapi_json",
}
SAMPLE_ARGUMENTS = {
    "code": "C0001",
    "number": "SD-2026-000001",
    "filename": "css/app.css",
    "notification_id": "1",
    "sid": "CA00000000000000000000000000000000",
    "action": "hangup",
    "token": "t0ken",
}


def _routes(app):
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: SAMPLE_ARGUMENTS[m[1]], rule.rule)
            yield rule.endpoint, method, path


def test_every_route_is_known(app):
    endpoints = {endpoint for endpoint, _, _ in _routes(app)}
    assert endpoints >= PUBLIC


def test_anonymous_requests_are_turned_away(app, client):
    for endpoint, method, path in _routes(app):
        if endpoint in PUBLIC:
            continue
        response = client.open(path, method=method)
        if path.startswith("/api/"):
            assert response.status_code == 401, (endpoint, method)
            assert response.get_json()["error"]["code"]
        elif path.startswith("/twilio/"):  # no login: the Twilio signature is required
            assert response.status_code == 403, (endpoint, method)
        else:
            assert response.status_code == 302, (endpoint, method)
            assert "/login" in response.headers["Location"], endpoint


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/agent/", "GET"),
        ("/agent/customers/C0001", "GET"),
        ("/agent/customers/C0001/tickets", "POST"),
        ("/agent/customers/C0001/call/end", "POST"),
    ],
)
def test_station_users_get_nothing_from_the_agent_terminal(
    client, make_station, make_user, make_customer, login, path, method
):
    make_customer()
    make_station("BJ-01")
    login(make_user("eng", role="station", station_code="BJ-01"))
    assert client.open(path, method=method).status_code == 403


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/api/v1/identify?q=C0001", "GET"),
        ("/api/v1/tickets", "GET"),
        ("/api/v1/tickets", "POST"),
    ],
)
def test_station_tokens_get_nothing_from_the_agent_api(
    client, make_station, make_user, api_token, path, method
):
    make_station("BJ-01")
    token = api_token(make_user("eng", role="station", station_code="BJ-01"))
    response = client.open(
        path,
        method=method,
        headers={"Authorization": f"Bearer {token}"},
        json={"kind": "inquiry", "customer": "C0001", "summary": "x"} if method == "POST" else None,
    )
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "forbidden"
