"""What every API view shares: its blueprint class, bearer authentication, the transaction."""

from __future__ import annotations

import json
from collections.abc import Callable
from copy import deepcopy
from functools import wraps
from http import HTTPStatus
from typing import Any

import flask
import sqlalchemy.exc
from flask_smorest import Blueprint
from webargs.flaskparser import FlaskParser, is_json_request

from servicedesk.api.errors import abort_api
from servicedesk.auth.access import token_required
from servicedesk.core.db import db

API_PREFIX = "/api/v1"
BEARER_SCHEME = "bearerAuth"
BEARER_SECURITY_SCHEME = {
    "type": "http",
    "scheme": "bearer",
    "description": "An API token from `servicedesk users token NAME`.",
}


class JsonBodyParser(FlaskParser):
    """webargs' Flask parser, strict about bodies: anything but a JSON document is a 400."""

    def _raw_load_json(self, req: flask.Request) -> Any:
        if not is_json_request(req):
            abort_api(
                400,
                "invalid_json",
                "The body must be JSON, sent with 'Content-Type: application/json'.",
            )
        try:
            return json.loads(req.get_data(cache=True))
        except (ValueError, RecursionError):
            abort_api(400, "invalid_json", "The body is not valid JSON.")


class ApiBlueprint(Blueprint):
    ARGUMENTS_PARSER = JsonBodyParser()


def authenticated(*roles: str) -> Callable:
    """Require a bearer token of a user with one of ``roles`` (401, then 403); documents it.

    The user is in ``flask.g.api_user``. Put it right under ``@blueprint.route``, so that
    nobody unauthenticated learns anything from input validation.
    """

    def decorator(view: Callable) -> Callable:
        wrapped = documents_errors(401, 403)(token_required(*roles)(view))
        wrapped._apidoc.setdefault("manual_doc", {})["security"] = [{BEARER_SCHEME: []}]
        return wrapped

    return decorator


def documents_errors(*statuses: int) -> Callable:
    """List these error statuses in the view's OpenAPI responses (with the error schema)."""

    def decorator(view: Callable) -> Callable:
        apidoc = deepcopy(getattr(view, "_apidoc", {}))
        responses = apidoc.setdefault("response", {}).setdefault("responses", {})
        for status in statuses:
            responses.setdefault(status, []).append(HTTPStatus(status).name)
        view._apidoc = apidoc
        return view

    return decorator


def committed(view: Callable) -> Callable:
    """Commit what the view wrote once it has succeeded, roll everything back when it fails.

    A write the database refuses (a unique or foreign key constraint hit by a concurrent
    request) becomes a 409.
    """

    @wraps(view)
    def wrapped(*args, **kwargs):
        try:
            response = view(*args, **kwargs)
            db.session.commit()
        except sqlalchemy.exc.IntegrityError:
            db.session.rollback()
            abort_api(409)
        except BaseException:
            db.session.rollback()
            raise
        return response

    return wrapped
