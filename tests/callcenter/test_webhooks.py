"""The /twilio blueprint's signature check, on a test-only blueprint of signed routes."""

from __future__ import annotations

import pytest
from flask import Blueprint, abort, request
from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import VoiceResponse

from servicedesk import create_app
from servicedesk.callcenter.telephony import webhook_auth_token
from servicedesk.callcenter.webhooks import (
    answer_errors_in_plain_text,
    bp,
    signature_for,
    twilio_signed,
    twiml,
)

PUBLIC = "https://desk.example.com"
PARAMS = {"CallSid": "CA" + "1" * 32, "From": "+8613800138000", "To": "+15005550006"}

dummy = Blueprint("twilio_test", __name__, url_prefix="/twilio/test")
answer_errors_in_plain_text(dummy)


@dummy.post("/voice/<token>")
@twilio_signed
def voice(token: str):
    response = VoiceResponse()
    response.say(f"{token} {request.args.get('q', '-')} {request.form.get('From', '-')}")
    return twiml(response)


@dummy.post("/refuse")
@twilio_signed
def refuse():
    abort(400)


@pytest.fixture(scope="module")
def signed_app(app):
    """An application with the test routes (the suite's is already serving requests)."""
    other = create_app({**app.config, "SERVICEDESK_PUBLIC_URL": PUBLIC})
    other.register_blueprint(dummy)
    return other


@pytest.fixture
def post(signed_app):
    client = signed_app.test_client()

    def do(path, params=PARAMS, *, signed_url=None, signature=None, **kwargs):
        headers = kwargs.pop("headers", {})
        if signature is None and signed_url is not False:
            with signed_app.app_context():
                signature = signature_for(signed_url or PUBLIC + path, params)
        if signature is not None:
            headers["X-Twilio-Signature"] = signature
        return client.post(path, data=params, headers=headers, **kwargs)

    return do


def test_the_blueprint_is_mounted_under_twilio_and_exempt_from_csrf(app):
    from servicedesk.extensions import csrf

    assert bp.url_prefix == "/twilio"
    assert app.blueprints["twilio"] is bp
    assert bp in csrf._exempt_blueprints


def test_a_signed_request_gets_twiml(post):
    response = post("/twilio/test/voice/tok1")

    assert response.status_code == 200
    assert response.content_type == "text/xml; charset=utf-8"
    assert response.get_data(as_text=True) == (
        '<?xml version="1.0" encoding="UTF-8"?>'
        "<Response><Say>tok1 - +8613800138000</Say></Response>"
    )


def test_an_unsigned_request_is_refused(post):
    response = post("/twilio/test/voice/tok1", signed_url=False)

    assert response.status_code == 403
    assert response.content_type.startswith("text/plain")
    assert "<Response>" not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "signature",
    [
        "",
        "not-a-signature",
        RequestValidator("another token").compute_signature(
            PUBLIC + "/twilio/test/voice/tok1", PARAMS
        ),
    ],
)
def test_a_forged_signature_is_refused(post, signature):
    assert post("/twilio/test/voice/tok1", signature=signature).status_code == 403


def test_a_signature_over_other_parameters_is_refused(signed_app, post):
    with signed_app.app_context():
        signature = signature_for(PUBLIC + "/twilio/test/voice/tok1", {**PARAMS, "From": "+1"})

    assert post("/twilio/test/voice/tok1", signature=signature).status_code == 403


def test_a_signature_for_another_path_is_refused(post):
    response = post("/twilio/test/voice/tok1", signed_url=PUBLIC + "/twilio/test/voice/tok2")

    assert response.status_code == 403


def test_the_query_string_is_part_of_the_signed_url(post):
    path = "/twilio/test/voice/tok1?q=overall&try=2"

    assert post(path).get_data(as_text=True).count("tok1 overall +8613800138000") == 1
    assert post(path, signed_url=PUBLIC + "/twilio/test/voice/tok1").status_code == 403
    assert post(path, signed_url=PUBLIC + path + "&try=3").status_code == 403


def test_behind_a_proxy_the_public_url_is_checked_not_the_host(post):
    proxied = {
        "base_url": "http://10.0.0.7:8000",
        "headers": {"X-Forwarded-Host": "desk.example.com", "X-Forwarded-Proto": "https"},
    }

    assert post("/twilio/test/voice/tok1", **proxied).status_code == 200
    internal = "http://10.0.0.7:8000/twilio/test/voice/tok1"
    assert post("/twilio/test/voice/tok1", signed_url=internal, **proxied).status_code == 403


def test_twilio_may_sign_the_url_with_its_default_port(post):
    signed = "https://desk.example.com:443/twilio/test/voice/tok1"

    assert post("/twilio/test/voice/tok1", signed_url=signed).status_code == 200


def test_on_the_twilio_line_the_auth_token_signs(signed_app, post):
    twilio = {"SERVICEDESK_TELEPHONY": "twilio", "TWILIO_AUTH_TOKEN": "real-twilio-token"}
    with signed_app.app_context():
        simulated = signature_for(PUBLIC + "/twilio/test/voice/tok1", PARAMS)
    signed_app.config.update(twilio)
    try:
        with signed_app.app_context():
            assert webhook_auth_token() == "real-twilio-token"
        real = RequestValidator("real-twilio-token").compute_signature(
            PUBLIC + "/twilio/test/voice/tok1", PARAMS
        )
        assert post("/twilio/test/voice/tok1", signature=real).status_code == 200
        assert post("/twilio/test/voice/tok1", signature=simulated).status_code == 403
    finally:
        signed_app.config.update({"SERVICEDESK_TELEPHONY": "simulated", "TWILIO_AUTH_TOKEN": None})


def test_errors_are_answered_in_plain_text(post):
    refused = post("/twilio/test/refuse")
    assert refused.status_code == 400
    assert refused.content_type.startswith("text/plain")
    assert refused.get_data(as_text=True) == "400 Bad Request\n"


def test_percent_encoded_paths_are_checked_as_sent(post):
    path = "/twilio/test/voice/a%20b"

    response = post(path)

    assert response.status_code == 200
    assert "<Say>a b -" in response.get_data(as_text=True)
