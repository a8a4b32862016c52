"""The line interface: which line the application uses, the webhook key, public URLs."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from flask import current_app

from servicedesk.callcenter.simulated_line import SimulatedLine
from servicedesk.callcenter.telephony import (
    LINE_EXTENSION,
    SIMULATED_FROM_NUMBER,
    TWILIO_LINE_EXTENSION,
    OutboundCall,
    PermanentTelephonyError,
    TelephonyError,
    TransientTelephonyError,
    caller_id,
    get_line,
    public_url,
    webhook_auth_token,
)
from servicedesk.callcenter.twilio_line import TwilioLine

TWILIO = {
    "SERVICEDESK_TELEPHONY": "twilio",
    "TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
    "TWILIO_AUTH_TOKEN": "twilio-auth-token",
    "TWILIO_FROM_NUMBER": "+8610800123456",
}


@contextmanager
def configured(**settings):
    saved = {name: current_app.config.get(name) for name in settings}
    current_app.config.update(settings)
    try:
        yield
    finally:
        current_app.config.update(saved)
        current_app.extensions.pop(TWILIO_LINE_EXTENSION, None)


def test_the_simulated_line_by_default_in_tests(app):
    line = get_line()
    assert isinstance(line, SimulatedLine)
    assert line.name == "simulated"


def test_the_twilio_line_when_configured(app):
    with configured(**TWILIO):
        line = get_line()
        assert isinstance(line, TwilioLine)
        assert line.name == "twilio"
        assert get_line() is line


def test_a_test_can_swap_the_line(app):
    fake = object()
    current_app.extensions[LINE_EXTENSION] = fake
    try:
        assert get_line() is fake
    finally:
        del current_app.extensions[LINE_EXTENSION]
    assert isinstance(get_line(), SimulatedLine)


def test_the_simulated_webhook_key_derives_from_the_secret_key(app):
    key = webhook_auth_token()
    assert len(key) == 64
    assert key != current_app.config["SECRET_KEY"]
    assert webhook_auth_token() == key
    with configured(SECRET_KEY="another secret"):
        assert webhook_auth_token() != key


def test_on_the_twilio_line_the_auth_token_is_the_webhook_key(app):
    with configured(**TWILIO):
        assert webhook_auth_token() == "twilio-auth-token"


def test_public_urls_are_built_on_the_configured_base(app):
    assert public_url("/twilio/voice/incoming") == "http://testserver.example/twilio/voice/incoming"
    with configured(SERVICEDESK_PUBLIC_URL="https://desk.example.com/sd/"):
        assert public_url("/twilio/x?q=1") == "https://desk.example.com/sd/twilio/x?q=1"


def test_caller_id_is_the_twilio_number_or_the_simulated_one(app):
    assert caller_id() == SIMULATED_FROM_NUMBER
    with configured(**TWILIO):
        assert caller_id() == "+8610800123456"


def test_outbound_calls_detect_machines_and_ring_briefly_by_default():
    call = OutboundCall(to="+1", from_="+2", url="u", status_callback="s", token="t")
    assert call.machine_detection is True
    assert call.timeout_seconds == 20


@pytest.mark.parametrize("kind", [TransientTelephonyError, PermanentTelephonyError])
def test_telephony_errors_carry_code_and_message(kind):
    error = kind("invalid number", "21211")
    assert isinstance(error, TelephonyError)
    assert (error.code, error.message) == ("21211", "invalid number")
    assert str(error) == "invalid number (code 21211)"
    assert str(kind("unreachable")) == "unreachable"
    assert kind("unreachable").code is None


def test_the_twilio_line_is_rebuilt_when_the_credentials_change(app):
    with configured(**TWILIO):
        first = get_line()
        with configured(TWILIO_AUTH_TOKEN="rotated-token"):
            second = get_line()
            assert second is not first
            assert second.client.password == "rotated-token"
