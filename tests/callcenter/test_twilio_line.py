"""The Twilio line through the real ``twilio`` client, its HTTP client replaced by a recorder:
the exact form fields Twilio would receive, and how each kind of failure is classified."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from twilio.http import HttpClient
from twilio.http.response import Response

from servicedesk.callcenter.telephony import (
    OutboundCall,
    PermanentTelephonyError,
    PlacedCall,
    TransientTelephonyError,
)
from servicedesk.callcenter.twilio_line import TwilioLine, telephony_error

ACCOUNT_SID = "AC" + "1" * 32
AUTH_TOKEN = "twilio-auth-token"
CALLS_URI = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json"
CALL_SID = "CA" + "a" * 32
SINCE = datetime(2026, 11, 20, 2, 30, 15, 123456, tzinfo=UTC)

CALL = OutboundCall(
    to="+8613800138000",
    from_="+15005550006",
    url="https://desk.example/twilio/voice/survey/tok123",
    status_callback="https://desk.example/twilio/voice/status/tok123",
    token="tok123",
    timeout_seconds=18,
)


@dataclass
class Sent:
    method: str
    uri: str
    params: dict[str, Any]
    data: dict[str, Any]
    auth: tuple[str, str] | None


@dataclass
class RecordingHttpClient(HttpClient):
    """Answers each request with the next canned response (or raises it), recording what was
    sent."""

    answers: list[Response | Exception] = field(default_factory=list)
    sent: list[Sent] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(logger=None, is_async=False)

    def request(
        self,
        method,
        uri,
        params=None,
        data=None,
        headers=None,
        auth=None,
        timeout=None,
        allow_redirects=False,
    ):
        self.sent.append(Sent(method, uri, dict(params or {}), dict(data or {}), auth))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def call_json(sid=CALL_SID, status="queued", created=SINCE, to=CALL.to) -> dict[str, Any]:
    return {
        "sid": sid,
        "status": status,
        "to": to,
        "from": CALL.from_,
        "account_sid": ACCOUNT_SID,
        "date_created": created.strftime("%a, %d %b %Y %H:%M:%S +0000"),
        "direction": "outbound-api",
    }


def error(status: int, code: int | None = None, message="refused") -> Response:
    body: dict[str, Any] = {"status": status, "message": message}
    if code is not None:
        body["code"] = code
    return Response(status, json.dumps(body))


@pytest.fixture
def http() -> RecordingHttpClient:
    return RecordingHttpClient()


@pytest.fixture
def line(http) -> TwilioLine:
    return TwilioLine(ACCOUNT_SID, AUTH_TOKEN, http_client=http)


def test_place_call_sends_exactly_the_survey_call_parameters(line, http):
    http.answers.append(Response(201, json.dumps(call_json())))

    placed = line.place_call(CALL)

    assert placed == PlacedCall(sid=CALL_SID, status="queued")
    [sent] = http.sent
    assert (sent.method, sent.uri, sent.auth) == ("POST", CALLS_URI, (ACCOUNT_SID, AUTH_TOKEN))
    assert sent.data == {
        "To": "+8613800138000",
        "From": "+15005550006",
        "Url": "https://desk.example/twilio/voice/survey/tok123",
        "Method": "POST",
        "StatusCallback": "https://desk.example/twilio/voice/status/tok123",
        "StatusCallbackMethod": "POST",
        "StatusCallbackEvent": ["initiated", "ringing", "answered", "completed"],
        "MachineDetection": "Enable",
        "Timeout": 18,
    }


def test_place_call_without_machine_detection_leaves_it_out(line, http):
    http.answers.append(Response(201, json.dumps(call_json())))

    line.place_call(OutboundCall(**{**CALL.__dict__, "machine_detection": False}))

    assert "MachineDetection" not in http.sent[0].data
    assert http.sent[0].data["Timeout"] == 18


@pytest.mark.parametrize(
    ("answer", "kind", "code"),
    [
        (error(429, 20429, "Too Many Requests"), TransientTelephonyError, "20429"),
        (error(500, None, "Internal Server Error"), TransientTelephonyError, "500"),
        (error(503, None, "Service Unavailable"), TransientTelephonyError, "503"),
        (Response(502, "<html>Bad Gateway</html>"), TransientTelephonyError, "502"),
        (error(401, 20003, "Authenticate"), TransientTelephonyError, "20003"),
        (
            error(400, 21211, "The 'To' number is not a valid phone number."),
            PermanentTelephonyError,
            "21211",
        ),
        (
            error(400, 21214, "'To' phone number cannot be reached"),
            PermanentTelephonyError,
            "21214",
        ),
        (
            error(400, 21217, "Phone number does not appear to be valid"),
            PermanentTelephonyError,
            "21217",
        ),
        (
            error(400, 21215, "Geo permission configuration is not permitting call"),
            PermanentTelephonyError,
            "21215",
        ),
        (error(400, 13224, "Dial: Invalid phone number"), PermanentTelephonyError, "13224"),
        (error(404, 20404, "Not Found"), PermanentTelephonyError, "20404"),
    ],
)
def test_place_call_classifies_twilio_errors(line, http, answer, kind, code):
    http.answers.append(answer)

    with pytest.raises(kind) as raised:
        line.place_call(CALL)

    assert type(raised.value) is kind
    assert raised.value.code == code
    assert f"HTTP {answer.status_code}" in raised.value.message


def test_rfc_9457_service_errors_are_classified_by_status(line, http):
    problem = {
        "type": "https://www.twilio.com/docs/errors/21211",
        "title": "Invalid 'To'",
        "status": 400,
        "code": 21211,
        "detail": "not a number",
    }
    http.answers.append(Response(400, json.dumps(problem)))

    with pytest.raises(PermanentTelephonyError) as raised:
        line.place_call(CALL)

    assert raised.value.code == "21211"


@pytest.mark.parametrize(
    "failure",
    [
        requests.Timeout("read timed out"),
        requests.ConnectTimeout("connect timed out"),
        requests.ConnectionError("connection refused"),
        ConnectionResetError("reset by peer"),
    ],
)
def test_timeouts_and_connection_errors_are_transient(line, http, failure):
    http.answers.append(failure)

    with pytest.raises(TransientTelephonyError) as raised:
        line.place_call(CALL)

    assert raised.value.code is None
    assert raised.value.__cause__ is failure


def test_a_response_that_is_not_json_is_transient(line, http):
    http.answers.append(Response(201, "<html>captive portal</html>"))

    with pytest.raises(TransientTelephonyError):
        line.place_call(CALL)


def test_find_call_lists_calls_to_the_number_since_and_picks_the_earliest(line, http):
    calls = [
        call_json("CA" + "c" * 32, "completed", SINCE + timedelta(minutes=5)),
        call_json("CA" + "b" * 32, "in-progress", SINCE + timedelta(seconds=1)),
        call_json("CA" + "0" * 32, "completed", SINCE - timedelta(minutes=1)),
    ]
    page = {"calls": calls, "next_page_uri": None, "page": 0, "page_size": 20, "uri": "/x"}
    http.answers.append(Response(200, json.dumps(page)))

    found = line.find_call(token="tok123", to=CALL.to, since=SINCE)

    assert found == PlacedCall(sid="CA" + "b" * 32, status="in-progress")
    [sent] = http.sent
    assert (sent.method, sent.uri) == ("GET", CALLS_URI)
    assert sent.params == {
        "To": "+8613800138000",
        "StartTime>": "2026-11-20T02:30:15Z",
        "PageSize": 20,
    }


def test_find_call_counts_a_call_created_in_the_same_second(line, http):
    page = {"calls": [call_json(created=SINCE.replace(microsecond=0))], "next_page_uri": None}
    http.answers.append(Response(200, json.dumps(page)))

    assert line.find_call(token="t", to=CALL.to, since=SINCE).sid == CALL_SID


def test_find_call_without_a_call_is_none(line, http):
    http.answers.append(Response(200, json.dumps({"calls": [], "next_page_uri": None})))

    assert line.find_call(token="t", to=CALL.to, since=SINCE) is None


def test_find_call_errors_are_classified_too(line, http):
    http.answers.append(error(503))

    with pytest.raises(TransientTelephonyError):
        line.find_call(token="t", to=CALL.to, since=SINCE)


def test_connect_to_agent_updates_the_call_with_a_dial(line, http):
    http.answers.append(Response(200, json.dumps(call_json(status="in-progress"))))

    line.connect_to_agent(CALL_SID, "+8613900139000")

    [sent] = http.sent
    assert (sent.method, sent.uri) == ("POST", CALLS_URI.replace(".json", f"/{CALL_SID}.json"))
    assert sent.data == {
        "Twiml": '<?xml version="1.0" encoding="UTF-8"?>'
        '<Response><Dial timeout="20">+8613900139000</Dial></Response>'
    }


@pytest.mark.parametrize(
    ("agent_phone", "dial"),
    [
        (
            "+8613900139000",
            '<Dial action="https://sd.example/after" method="POST" timeout="20">'
            "+8613900139000</Dial>",
        ),
        (
            "sip:agent-17@pbx.example.com",
            '<Dial action="https://sd.example/after" method="POST" timeout="20">'
            "<Sip>sip:agent-17@pbx.example.com</Sip></Dial>",
        ),
    ],
)
def test_connect_to_agent_asks_for_the_dials_outcome(line, http, agent_phone, dial):
    http.answers.append(Response(200, json.dumps(call_json(status="in-progress"))))

    line.connect_to_agent(CALL_SID, agent_phone, after_dial="https://sd.example/after")

    [sent] = http.sent
    assert sent.data["Twiml"] == (
        f'<?xml version="1.0" encoding="UTF-8"?><Response>{dial}</Response>'
    )


def test_connect_to_agent_on_an_ended_call_is_permanent(line, http):
    http.answers.append(error(400, 21220, "Call is not in-progress. Cannot redirect."))

    with pytest.raises(PermanentTelephonyError) as raised:
        line.connect_to_agent(CALL_SID, "+8613900139000")

    assert raised.value.code == "21220"


def test_telephony_error_of_an_unknown_failure_is_transient():
    assert isinstance(telephony_error(RuntimeError("boom")), TransientTelephonyError)


def test_the_app_builds_one_twilio_line_from_its_settings(app):
    from flask import current_app

    from servicedesk.callcenter.telephony import TWILIO_LINE_EXTENSION, get_line

    settings = {
        "SERVICEDESK_TELEPHONY": "twilio",
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_FROM_NUMBER": "+15005550006",
    }
    saved = {name: current_app.config.get(name) for name in settings}
    current_app.config.update(settings)
    try:
        first = get_line()
        assert isinstance(first, TwilioLine)
        assert get_line() is first
        assert first.client.username == ACCOUNT_SID
    finally:
        current_app.config.update(saved)
        current_app.extensions.pop(TWILIO_LINE_EXTENSION, None)
