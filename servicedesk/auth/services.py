"""Creating users and API tokens. Callers own the transaction."""

from __future__ import annotations

import secrets

import sqlalchemy as sa

from servicedesk.auth.models import ROLES, ApiToken, User, hash_token
from servicedesk.core.db import db, utcnow
from servicedesk.stations.models import Station


class UserError(ValueError):
    """A user cannot be created or changed as asked."""


def create_user(
    username: str,
    *,
    role: str,
    password: str,
    station_code: str | None = None,
    display_name: str = "",
    language: str | None = None,
) -> User:
    if role not in ROLES:
        raise UserError(f"unknown role {role!r} (one of: {', '.join(ROLES)})")
    if not username.strip():
        raise UserError("a user needs a name")
    if db.session.scalar(sa.select(User.id).where(User.username == username)):
        raise UserError(f"user {username!r} exists already")
    if len(password) < 8:
        raise UserError("the password must have at least 8 characters")
    station = None
    if role == "station":
        if not station_code:
            raise UserError("a station user needs --station CODE")
        station = db.session.scalar(sa.select(Station).where(Station.code == station_code))
        if station is None:
            raise UserError(f"unknown station {station_code!r}")
    elif station_code:
        raise UserError("only station users belong to a station")
    user = User(
        username=username,
        role=role,
        station=station,
        display_name=display_name or username,
        language=language,
    )
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    return user


def issue_token(user: User) -> str:
    """A new bearer token for ``user``; only its hash is stored, so it is shown once."""
    token = secrets.token_urlsafe(32)
    db.session.add(ApiToken(user=user, token_hash=hash_token(token)))
    db.session.flush()
    return token


def user_for_token(token: str) -> User | None:
    row = db.session.execute(
        sa.select(ApiToken, User)
        .join(User, ApiToken.user_id == User.id)
        .where(ApiToken.token_hash == hash_token(token), ApiToken.revoked_at.is_(None))
    ).first()
    if row is None or not row.User.active:
        return None
    return row.User


def revoke_tokens(user: User) -> int:
    result = db.session.execute(
        sa.update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return result.rowcount
