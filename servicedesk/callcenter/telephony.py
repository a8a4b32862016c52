"""The telephone line: placing outbound calls and steering inbound ones, whatever carries them.

Two lines exist: Twilio (``twilio_line.TwilioLine``, when the TWILIO_* settings are complete) and
the simulated line (``simulated_line.SimulatedLine``) whose calls a person answers on the
simulator page. Both drive the very same webhook handlers (``webhooks.bp``), signed with
``webhook_auth_token()``.

Tests swap the line with ``app.extensions["servicedesk_line"] = fake``.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from flask import current_app
from twilio.twiml.voice_response import VoiceResponse

LINE_EXTENSION = "servicedesk_line"
TWILIO_LINE_EXTENSION = "servicedesk_twilio_line"
"""Where the application keeps its Twilio line (its HTTP connections are pooled), with the
credentials it was built from."""
SIMULATED_FROM_NUMBER = "+15005550006"
"""The simulated line's own number (Twilio's magic test number), used as caller id."""


@dataclass(frozen=True)
class OutboundCall:
    """A call to place: ``to``/``from_`` in E.164, ``url`` the absolute TwiML URL fetched
    (POST) when the call is answered, ``status_callback`` the absolute URL of status callbacks
    (POST), ``token`` the attempt's token (the simulated line is idempotent on it),
    ``timeout_seconds`` how long it rings before "no-answer"."""

    to: str
    from_: str
    url: str
    status_callback: str
    token: str
    machine_detection: bool = True
    timeout_seconds: int = 20


@dataclass(frozen=True)
class PlacedCall:
    """A call the provider accepted: its ``sid`` and the status it had then (e.g. "queued")."""

    sid: str
    status: str


class TelephonyError(Exception):
    """The provider refused or could not be reached; ``code`` is its error code, if any."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code

    def __str__(self) -> str:
        return f"{self.message} (code {self.code})" if self.code else self.message


class TransientTelephonyError(TelephonyError):
    """Worth retrying later: HTTP 429, 5xx, timeouts, connection errors."""


class PermanentTelephonyError(TelephonyError):
    """Retrying will not help: an invalid or unreachable number, any other 4xx."""


class Line(Protocol):
    name: str
    """``"twilio"`` or ``"simulated"``."""

    def place_call(self, call: OutboundCall) -> PlacedCall:
        """Place one call; raises ``TransientTelephonyError``/``PermanentTelephonyError``."""
        ...

    def find_call(self, *, token: str, to: str, since: datetime) -> PlacedCall | None:
        """Recovery: the call placed for this attempt after ``since`` (UTC), if the provider
        has one (Twilio: the earliest call to ``to`` created at/after ``since``; simulated: by
        token). ``None`` when there is none."""
        ...

    def connect_to_agent(
        self, call_sid: str, agent_number: str, *, after_dial: str | None = None
    ) -> None:
        """Put a queued inbound call through to the agent's phone (Twilio: update the call
        with the TwiML of :func:`agent_dial`); ``after_dial`` is the URL asked when the dial
        ends, e.g. unanswered."""
        ...


AGENT_RING_SECONDS = 20
"""How long an agent's phone rings before the caller goes back to the queue."""


def agent_dial(agent_number: str, after_dial: str | None) -> VoiceResponse:
    """TwiML that puts a call through to an agent's phone (a number or a ``sip:`` URI); when
    ``after_dial`` is given, Twilio POSTs the dial's outcome (``DialCallStatus``) there."""
    response = VoiceResponse()
    options = {"action": after_dial, "method": "POST"} if after_dial else {}
    if agent_number.lower().startswith(("sip:", "sips:")):
        dial = response.dial(timeout=AGENT_RING_SECONDS, **options)
        dial.sip(agent_number)
    else:
        response.dial(agent_number, timeout=AGENT_RING_SECONDS, **options)
    return response


def get_line() -> Line:
    """The line the application is configured for (``SERVICEDESK_TELEPHONY``), or the one a
    test put in ``app.extensions["servicedesk_line"]``."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    override = app.extensions.get(LINE_EXTENSION)
    if override is not None:
        return override
    if app.config.get("SERVICEDESK_TELEPHONY") == "twilio":
        from servicedesk.callcenter.twilio_line import TwilioLine

        credentials = (app.config.get("TWILIO_ACCOUNT_SID"), app.config.get("TWILIO_AUTH_TOKEN"))
        cached = app.extensions.get(TWILIO_LINE_EXTENSION)
        if cached is None or cached[0] != credentials:
            cached = app.extensions[TWILIO_LINE_EXTENSION] = (
                credentials,
                TwilioLine.from_config(app.config),
            )
        return cached[1]
    from servicedesk.callcenter.simulated_line import SimulatedLine

    return SimulatedLine()


def caller_id() -> str:
    """The number outbound calls come from (``OutboundCall.from_``): TWILIO_FROM_NUMBER on the
    Twilio line, the simulated line's fixed demo number otherwise."""
    config = current_app.config
    if config.get("SERVICEDESK_TELEPHONY") == "twilio" and config.get("TWILIO_FROM_NUMBER"):
        return config["TWILIO_FROM_NUMBER"]
    return SIMULATED_FROM_NUMBER


def webhook_auth_token() -> str:
    """The key webhook requests are signed with: Twilio's auth token on the Twilio line; on
    the simulated line an HMAC of SECRET_KEY, so simulated requests are signed as well."""
    config = current_app.config
    if config.get("SERVICEDESK_TELEPHONY") == "twilio" and config.get("TWILIO_AUTH_TOKEN"):
        return config["TWILIO_AUTH_TOKEN"]
    return hmac.new(
        str(config["SECRET_KEY"]).encode(), b"servicedesk simulated line", hashlib.sha256
    ).hexdigest()


def public_url(path: str) -> str:
    """The absolute URL of ``path`` (which starts with "/") as the outside world reaches it:
    SERVICEDESK_PUBLIC_URL (no trailing slash) + ``path``."""
    return current_app.config["SERVICEDESK_PUBLIC_URL"].rstrip("/") + path
