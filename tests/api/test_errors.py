import pytest
from werkzeug.exceptions import InternalServerError, NotFound, RequestEntityTooLarge

from servicedesk.api.errors import abort_api, error_response, field_errors


@pytest.mark.parametrize(
    ("messages", "expected"),
    [
        ({"json": {"kind": ["Unknown."]}}, {"kind": ["Unknown."]}),
        ({"json": {"_schema": ["Invalid input type."]}}, {"body": ["Invalid input type."]}),
        ({"query": {"_schema": ["Give one."]}}, {"query": ["Give one."]}),
        ({"json": {"a": {"b": ["Bad."]}}}, {"a.b": ["Bad."]}),
        ({"json": {"items": {0: {"x": ["Bad."]}}}}, {"items.0.x": ["Bad."]}),
        (
            {"json": {"a": ["One.", "Two."], "b": ["Three."]}},
            {"a": ["One.", "Two."], "b": ["Three."]},
        ),
        (["Loose."], {"body": ["Loose."]}),
    ],
)
def test_field_errors_are_flattened(messages, expected):
    assert field_errors(messages) == expected


def test_error_response_for_a_crash(app):
    with app.test_request_context("/api/v1/identify"):
        response = error_response(InternalServerError())
    assert response.status_code == 500
    assert response.get_json() == {
        "error": {
            "code": "internal_error",
            "message": "The server could not complete the request; nothing was saved.",
        }
    }


def test_error_response_from_abort_api_keeps_code_message_and_fields(app):
    with app.test_request_context("/api/v1/tickets"):
        with pytest.raises(Exception) as raised:
            abort_api(
                422, "validation_error", "summary: too long", fields={"summary": ["too long"]}
            )
        response = error_response(raised.value)
    assert response.status_code == 422
    assert response.get_json()["error"] == {
        "code": "validation_error",
        "message": "summary: too long",
        "fields": {"summary": ["too long"]},
    }


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [(NotFound(), 404, "not_found"), (RequestEntityTooLarge(), 413, "payload_too_large")],
)
def test_error_response_codes(app, error, status, code):
    with app.test_request_context("/api/v1/tickets"):
        response = error_response(error)
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == code


def test_unknown_api_address_is_a_json_404(client):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def test_web_pages_keep_html_errors(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert response.get_json(silent=True) is None


def test_a_crash_in_an_api_view_is_a_json_500_and_rolls_back(
    client, app, db, make_user, api_token, monkeypatch
):
    from servicedesk.customers.models import Customer

    headers = {"Authorization": f"Bearer {api_token(make_user())}"}

    def crash(**query):
        db.session.add(
            Customer(
                code="HALF", name="half-written", customer_class="C", province="北京", city="北京"
            )
        )
        db.session.flush()
        raise RuntimeError("boom")

    monkeypatch.setattr("servicedesk.api.identify.identify", crash)
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    response = client.get("/api/v1/identify?q=x", headers=headers)
    assert response.status_code == 500
    assert response.get_json()["error"]["code"] == "internal_error"
    assert db.session.query(Customer).filter_by(code="HALF").count() == 0
