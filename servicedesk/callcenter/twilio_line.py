"""The Twilio line: outbound calls and call updates through the ``twilio`` library's REST client.

Every failure surfaces as a ``TelephonyError``: ``TransientTelephonyError`` when trying again
later may work (HTTP 429, 5xx, timeouts, connection errors, an answer that is not JSON, a
failed authentication, which an operator fixes in the configuration),
``PermanentTelephonyError`` when it cannot (any other 4xx,
e.g. 21211 invalid "To" number, 21214 not reachable, 21217 not a valid phone number, 21215
geographic permission, 13224 invalid number).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

import requests
from twilio.base.exceptions import TwilioException
from twilio.http import HttpClient
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from servicedesk.callcenter.telephony import (
    OutboundCall,
    PermanentTelephonyError,
    PlacedCall,
    TelephonyError,
    TransientTelephonyError,
    agent_dial,
)

STATUS_CALLBACK_EVENTS = ("initiated", "ringing", "answered", "completed")
REQUEST_TIMEOUT_SECONDS = 10.0
"""How long one request to Twilio's API may take before it counts as a transient failure."""
FIND_CALL_LIMIT = 20
AUTHENTICATION_STATUSES = (401,)
"""Twilio refused the credentials (error 20003): the configuration is wrong, not the number,
so the call may succeed once an operator fixes it."""

T = TypeVar("T")


def telephony_error(error: Exception) -> TelephonyError:
    """The ``TelephonyError`` for what the twilio library (or its HTTP client) raised."""
    status = getattr(error, "status", None)
    if isinstance(error, TwilioException) and isinstance(status, int):
        code = getattr(error, "code", None)
        code_text = str(code) if code is not None else None
        message = getattr(error, "msg", None) or getattr(error, "title", None) or str(error)
        if status == 429 or status >= 500 or status in AUTHENTICATION_STATUSES:
            return TransientTelephonyError(f"Twilio HTTP {status}: {message}", code_text)
        return PermanentTelephonyError(f"Twilio HTTP {status}: {message}", code_text)
    if isinstance(error, requests.Timeout):
        return TransientTelephonyError(f"Twilio did not answer in time: {error}")
    if isinstance(error, requests.RequestException | OSError):
        return TransientTelephonyError(f"Twilio could not be reached: {error}")
    if isinstance(error, json.JSONDecodeError):
        return TransientTelephonyError(f"Twilio's answer was not JSON: {error}")
    return TransientTelephonyError(f"Twilio request failed: {error}")


def _calling(request: Callable[[], T]) -> T:
    try:
        return request()
    except (TwilioException, requests.RequestException, OSError, json.JSONDecodeError) as error:
        raise telephony_error(error) from error


class TwilioLine:
    """A ``Line`` over Twilio's REST API (``http_client`` replaced in tests)."""

    name = "twilio"

    def __init__(
        self, account_sid: str, auth_token: str, *, http_client: HttpClient | None = None
    ) -> None:
        self.client = Client(
            account_sid,
            auth_token,
            http_client=http_client or TwilioHttpClient(timeout=REQUEST_TIMEOUT_SECONDS),
        )

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> TwilioLine:
        return cls(config["TWILIO_ACCOUNT_SID"], config["TWILIO_AUTH_TOKEN"])

    def place_call(self, call: OutboundCall) -> PlacedCall:
        options: dict[str, Any] = {
            "to": call.to,
            "from_": call.from_,
            "url": call.url,
            "method": "POST",
            "status_callback": call.status_callback,
            "status_callback_method": "POST",
            "status_callback_event": list(STATUS_CALLBACK_EVENTS),
            "timeout": call.timeout_seconds,
        }
        if call.machine_detection:
            options["machine_detection"] = "Enable"
        created = _calling(lambda: self.client.calls.create(**options))
        return PlacedCall(sid=created.sid, status=created.status or "queued")

    def find_call(self, *, token: str, to: str, since: datetime) -> PlacedCall | None:
        """The earliest call to ``to`` created at or after ``since`` (second precision, as
        Twilio's dates are), among the first ``FIND_CALL_LIMIT`` Twilio lists. ``token`` is not
        known to Twilio: the caller's attempt is the only one placed to that number then."""
        since = since.astimezone(UTC) if since.tzinfo else since.replace(tzinfo=UTC)
        since = since.replace(microsecond=0)
        calls = _calling(
            lambda: self.client.calls.list(to=to, start_time_after=since, limit=FIND_CALL_LIMIT)
        )
        placed = [
            call for call in calls if call.date_created is not None and call.date_created >= since
        ]
        if not placed:
            return None
        earliest = min(placed, key=lambda call: call.date_created)
        return PlacedCall(sid=earliest.sid, status=earliest.status or "queued")

    def connect_to_agent(
        self, call_sid: str, agent_number: str, *, after_dial: str | None = None
    ) -> None:
        response = agent_dial(agent_number, after_dial)
        _calling(lambda: self.client.calls(call_sid).update(twiml=str(response)))
