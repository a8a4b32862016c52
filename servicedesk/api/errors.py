"""The API's error contract and the flask-smorest ``Api`` that applies it.

Every failure under ``/api/`` answers ``{"error": {"code": "<short_snake_code>", "message":
"<text>"}}``; validation failures add ``"fields": {"<name>": ["<message>", ...]}``. Requests
outside ``/api/`` (the web UI) keep Flask's own handling of HTTP errors.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, NoReturn

import marshmallow as ma
from flask import jsonify, request
from flask_smorest import Api
from marshmallow.exceptions import SCHEMA as SCHEMA_ERRORS_KEY
from werkzeug.exceptions import HTTPException, default_exceptions

from servicedesk.core.db import db

API_PATH_PREFIX = "/api/"

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    422: "validation_error",
    500: "internal_error",
}

MESSAGES = {
    401: "Authentication required: send 'Authorization: Bearer <token>' with a valid token.",
    403: "Your role may not use this part of the API.",
    404: "Nothing was found at this address.",
    405: "This address does not accept that method.",
    409: "The request conflicts with the current state of the data; nothing was saved.",
    413: "The request body is too large.",
    500: "The server could not complete the request; nothing was saved.",
}

LOCATION_LABELS = {"json": "body", "query": "query"}


def is_api_request() -> bool:
    return request.path.startswith(API_PATH_PREFIX) or request.path == API_PATH_PREFIX.rstrip("/")


def abort_api(
    status: int,
    code: str | None = None,
    message: str | None = None,
    *,
    fields: Mapping[str, list[str]] | None = None,
) -> NoReturn:
    """Stop the request with an API error (``code`` and ``message`` default per status)."""
    error = default_exceptions[status]()
    error.data = {"error_code": code, "message": message, "fields": fields}
    raise error


def abort_invalid(field: str | None, message: str) -> NoReturn:
    """422 for one input: ``field`` names it (``None``: the request as a whole)."""
    abort_api(422, message=message, fields={field or "body": [message]})


def error_response(error: HTTPException):
    """The contract's JSON body for ``error``, with the headers the status calls for.

    Whatever the request wrote so far is rolled back first.
    """
    db.session.rollback()
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    fields = data.get("fields")
    if fields is None and "messages" in data:
        fields = field_errors(data["messages"])
    body: dict[str, Any] = {
        "code": data.get("error_code") or CODES.get(status) or _snake(error.name),
        "message": data.get("message")
        or (_fields_message(fields) if fields else None)
        or MESSAGES.get(status)
        or error.description
        or error.name,
    }
    if fields:
        body["fields"] = fields
    response = jsonify({"error": body})
    response.status_code = status
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="servicedesk"'
    for name, value in (data.get("headers") or {}).items():
        response.headers[name] = value
    return response


def field_errors(messages: Any) -> dict[str, list[str]]:
    """Flatten webargs/marshmallow messages (``{"json": {"kind": [...]}}``) to ``{"kind": [...]}``.

    Nested names are joined with dots; errors about the input as a whole are named after
    where it came from (``body`` or ``query``).
    """
    flat: dict[str, list[str]] = {}

    def walk(value: Any, path: list[str], location: str) -> None:
        if isinstance(value, Mapping):
            for key, inner in value.items():
                name = str(key)
                walk(inner, path if name == SCHEMA_ERRORS_KEY else [*path, name], location)
        elif isinstance(value, list) and all(isinstance(item, str) for item in value):
            flat.setdefault(".".join(path) or location, []).extend(value)
        elif isinstance(value, list):
            for item in value:
                walk(item, path, location)
        else:
            flat.setdefault(".".join(path) or location, []).append(str(value))

    if isinstance(messages, Mapping):
        for location, inner in messages.items():
            walk(inner, [], LOCATION_LABELS.get(str(location), str(location)))
    else:
        walk(messages, [], "body")
    return flat


def _fields_message(fields: Mapping[str, list[str]]) -> str:
    return "; ".join(f"{name}: {' '.join(messages)}" for name, messages in fields.items())


def _snake(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "error"


class ErrorBodySchema(ma.Schema):
    code = ma.fields.String(
        required=True, metadata={"description": "Short snake_case error code, e.g. not_found."}
    )
    message = ma.fields.String(required=True, metadata={"description": "What went wrong."})
    fields = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.List(ma.fields.String()),
        metadata={"description": "Validation errors: messages per input field (422 only)."},
    )


class ErrorSchema(ma.Schema):
    error = ma.fields.Nested(ErrorBodySchema, required=True)


class ServiceDeskApi(Api):
    """flask-smorest's ``Api`` whose HTTP error handler speaks the contract under ``/api/``.

    flask-smorest registers that handler for the whole application; other requests get the
    exception back, which Flask turns into its usual error page.
    """

    ERROR_SCHEMA = ErrorSchema

    def handle_http_exception(self, error: HTTPException):
        if is_api_request():
            return error_response(error)
        return error
