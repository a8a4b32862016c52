"""The API as a whole: its OpenAPI document, CSRF exemption and Server-Timing header."""

import re

from servicedesk import create_app

OPERATIONS = {
    ("/api/v1/identify", "get"),
    ("/api/v1/tickets", "get"),
    ("/api/v1/tickets", "post"),
    ("/api/v1/tickets/{number}", "get"),
}


def _refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _resolve(spec, ref):
    node = spec
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def test_openapi_document_is_served_without_authentication(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    spec = response.get_json()
    assert spec["openapi"].startswith("3.")
    assert spec["info"]["title"] and spec["info"]["version"] == "v1"
    assert {(p, m) for p, ops in spec["paths"].items() for m in ops} >= OPERATIONS


def test_every_operation_is_documented_with_bearer_security_and_errors(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "An API token from `servicedesk users token NAME`.",
    }
    for path, method in OPERATIONS:
        operation = spec["paths"][path][method]
        assert operation["security"] == [{"bearerAuth": []}]
        assert operation["summary"] and operation["description"]
        assert {"401", "403"} <= set(operation["responses"])
    assert "422" in spec["paths"]["/api/v1/tickets"]["post"]["responses"]
    assert "404" in spec["paths"]["/api/v1/tickets/{number}"]["get"]["responses"]
    assert spec["paths"]["/api/v1/tickets/{number}"]["parameters"][0]["name"] == "number"


def test_every_reference_resolves_and_errors_have_the_contract_shape(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    for ref in set(_refs(spec)):
        assert _resolve(spec, ref), ref
    error = spec["components"]["schemas"]["Error"]
    body = _resolve(spec, error["properties"]["error"]["$ref"])
    assert {"code", "message"} <= set(body["properties"]) and set(body["required"]) == {
        "code",
        "message",
    }
    unauthorized = spec["components"]["responses"]["UNAUTHORIZED"]
    assert unauthorized["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"
    }


def test_documented_schemas_describe_the_representations(client):
    schemas = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    assert set(schemas["Ticket"]["properties"]) == {
        "number", "kind", "status", "customer", "asset", "summary", "description", "damage",
        "part", "coverage", "service_level", "sla", "station", "dispatch", "parts",
        "created_at", "events",
    }  # fmt: skip
    assert set(schemas["TicketCreate"]["required"]) == {"kind", "customer", "summary"}
    assert schemas["TicketCreate"]["properties"]["kind"]["enum"] == [
        "inquiry",
        "presales",
        "repair",
        "complaint",
    ]
    assert set(schemas["IdentifyResponse"]["properties"]) == {"matches"}
    assert set(schemas["TicketPage"]["properties"]) == {"items", "next"}


def test_the_api_is_exempt_from_csrf(database_url, db, make_user, make_customer, api_token):
    """Browser forms need a CSRF token; API clients authenticate with a bearer token instead."""
    make_customer()
    token = api_token(make_user())
    csrf_app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "WTF_CSRF_ENABLED": True,
        }
    )
    client = csrf_app.test_client()
    response = client.post(
        "/api/v1/tickets",
        json={"kind": "inquiry", "customer": "C0001", "summary": "Opening hours?"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 201, response.get_json()
    assert client.post("/login", data={"username": "agent1"}).status_code == 400


SERVER_TIMING = re.compile(r"^app;dur=\d+\.\d{2}$")


def test_api_responses_carry_server_timing(client, make_user, api_token):
    headers = {"Authorization": f"Bearer {api_token(make_user())}"}
    for response in (
        client.get("/api/v1/identify?serial=X", headers=headers),
        client.get("/api/v1/identify?serial=X"),
        client.get("/api/v1/tickets/nothing", headers=headers),
        client.get("/api/v1/openapi.json"),
        client.get("/api/v1/nowhere"),
    ):
        assert SERVER_TIMING.match(response.headers["Server-Timing"]), response.headers


def test_web_pages_do_not_carry_server_timing(client):
    assert "Server-Timing" not in client.get("/login").headers
