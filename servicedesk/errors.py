"""HTML error pages for the web UI.

Handlers are registered per status code. Requests under ``/api/`` are not theirs: they are
handed to the application's handler for :class:`HTTPException` (flask-smorest's JSON errors)
when there is one, and otherwise get the exception itself.
"""

from __future__ import annotations

from flask import Flask, current_app, render_template, request
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException, InternalServerError

from servicedesk.core.db import db

API_PREFIX = "/api/"

PAGES = {
    400: (
        _l("The request could not be understood"),
        _l("The form may have expired or been sent twice. Go back, reload the page and try again."),
    ),
    403: (
        _l("Not allowed"),
        _l("Your role does not give access to this page. Ask a supervisor if you need it."),
    ),
    404: (
        _l("Not found"),
        _l("There is nothing at this address. Check the number or search again."),
    ),
    405: (
        _l("Not allowed this way"),
        _l("This page cannot be used like that. Use the buttons on the page."),
    ),
    413: (
        _l("Too much data"),
        _l("What was sent is too large. Send less at once."),
    ),
    500: (
        _l("Something went wrong"),
        _l(
            "The system could not complete the request and nothing was saved. "
            "Try again; if it keeps happening, tell a supervisor."
        ),
    ),
}


def init_errors(app: Flask) -> None:
    for code in PAGES:
        app.register_error_handler(code, render_error)


def render_error(error: HTTPException):
    if not isinstance(error, HTTPException):
        error = InternalServerError(original_exception=error)
    if request.path.startswith(API_PREFIX):
        return _api_error(error)
    if error.code >= 500:
        db.session.rollback()
    title, message = PAGES.get(error.code, PAGES[500])
    return (
        render_template("errors/error.html", code=error.code, title=title, message=message),
        error.code,
    )


def _api_error(error: HTTPException):
    """Whatever the application does with HTTP errors outside of these per-code pages."""
    for name in (*request.blueprints, None):
        handler = current_app.error_handler_spec.get(name, {}).get(None, {}).get(HTTPException)
        if handler is not None:
            return handler(error)
    return error
