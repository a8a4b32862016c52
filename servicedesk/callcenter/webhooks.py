"""The ``/twilio`` blueprint: the webhooks Twilio (or the simulator) calls, and their signature.

The route modules (``survey_calls``, ``inbound``) add their views to ``bp`` and wrap each in
``twilio_signed``. No login and no CSRF token here: the signature is the authentication.
A signature is computed over the URL Twilio requested, which behind a proxy is not the one the
application sees, so it is checked against SERVICEDESK_PUBLIC_URL + path + query string.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import quote

from flask import Blueprint, Response, request
from twilio.request_validator import (
    SIGNATURE_HEADER,
    SIGNATURE_SETTINGS_HEADER,
    RequestValidator,
    get_signature_algorithm,
)
from twilio.twiml.voice_response import VoiceResponse
from werkzeug.exceptions import HTTPException

from servicedesk.callcenter.telephony import public_url, webhook_auth_token
from servicedesk.core.db import db

bp = Blueprint("twilio", __name__, url_prefix="/twilio")

View = TypeVar("View", bound=Callable[..., Any])
PATH_SAFE = "/:@!$&'()*+,;=-._~"
"""Characters a URL path keeps unquoted (as ``url_for`` writes them)."""
PLAIN_ERROR_CODES = (400, 403, 404, 405, 413, 422, 500)


def requested_url() -> str:
    """The absolute URL the caller signed: SERVICEDESK_PUBLIC_URL + path + query string, as
    sent (no trailing "?" without one). The public URL includes any prefix a proxy strips."""
    path = quote(request.path, safe=PATH_SAFE)
    query = request.query_string.decode("latin-1")
    return public_url(path + ("?" + query if query else ""))


def signature_for(url: str, params: Mapping[str, str]) -> str:
    """The ``X-Twilio-Signature`` Twilio would send for a POST of ``params`` to ``url`` (the
    simulator signs its requests with it; so can tests)."""
    return RequestValidator(webhook_auth_token()).compute_signature(url, params)


def signature_is_valid() -> bool:
    signature = request.headers.get(SIGNATURE_HEADER, "")
    if not signature:
        return False
    algorithm = get_signature_algorithm(request.headers.get(SIGNATURE_SETTINGS_HEADER))
    validator = RequestValidator(webhook_auth_token())
    return validator.validate(requested_url(), request.form, signature, algorithm)


def twilio_signed(view: View) -> View:
    """Refuse (403, plain text) a request whose ``X-Twilio-Signature`` does not match."""

    @wraps(view)
    def signed_view(*args: Any, **kwargs: Any) -> Any:
        if not signature_is_valid():
            return Response("Invalid signature\n", status=403, mimetype="text/plain")
        return view(*args, **kwargs)

    return signed_view  # type: ignore[return-value]


def twiml(response: VoiceResponse | str, status: int = 200) -> Response:
    """A TwiML answer with ``Content-Type: text/xml``."""
    return Response(str(response), status=status, content_type="text/xml; charset=utf-8")


def plain_error(error: HTTPException) -> Response:
    """Errors here go to Twilio, not to a person: plain text instead of the HTML error page
    (a 5xx rolls the transaction back first)."""
    code = error.code or 500
    if code >= 500:
        db.session.rollback()
    return Response(f"{code} {error.name}\n", status=code, mimetype="text/plain")


def answer_errors_in_plain_text(blueprint: Blueprint) -> None:
    for code in PLAIN_ERROR_CODES:
        blueprint.register_error_handler(code, plain_error)


answer_errors_in_plain_text(bp)
