"""Role checks for web views (session login) and API views (bearer tokens)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import abort, g, request
from flask_login import current_user, login_required

from servicedesk.auth.models import User
from servicedesk.auth.services import user_for_token


def roles_required(*roles: str) -> Callable:
    """Web views: log in first, then 403 unless the user has one of ``roles``."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not current_user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def bearer_user() -> User | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return user_for_token(token.strip())


def token_required(*roles: str) -> Callable:
    """API views: 401 without a valid bearer token, 403 without one of ``roles``.

    The user is put in ``g.api_user``.
    """

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args, **kwargs):
            user = bearer_user()
            if user is None:
                abort(401)
            if roles and not user.has_role(*roles):
                abort(403)
            g.api_user = user
            return view(*args, **kwargs)

        return wrapped

    return decorator


AGENT_ROLES = ("agent", "supervisor", "admin")
