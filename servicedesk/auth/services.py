"""Creating users and API tokens. Callers own the transaction."""

from __future__ import annotations

import secrets
from functools import cache

import sqlalchemy as sa

from servicedesk.auth.models import ROLES, ApiToken, User, hash_token
from servicedesk.core.db import db, utcnow
from servicedesk.customers.phones import InvalidPhone, parse_phone
from servicedesk.stations.models import Station

SIP_PREFIXES = ("sip:", "sips:")


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
    phone: str | None = None,
) -> User:
    """A new user; ``phone`` is where an agent's calls are put through (see :func:`agent_phone`)."""
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
        phone=agent_phone(phone) if phone else None,
    )
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    return user


def agent_phone(text: str) -> str:
    """An agent's desk phone as calls are dialled to it: a SIP URI as given, a number in E.164.

    Numbers take any spelling (``010-6275 1234``); an extension cannot be dialled, so a number
    with one is refused, as is anything that is neither a valid number nor a SIP URI.
    """
    text = text.strip()
    if text.lower().startswith(SIP_PREFIXES) and "@" in text:
        return text
    try:
        parsed = parse_phone(text)
    except InvalidPhone as exc:
        message = f"{text!r} is neither a phone number nor a SIP URI (sip:name@host)"
        raise UserError(message) from exc
    if parsed.extension:
        raise UserError("an agent's phone is dialled directly: give it without an extension")
    return parsed.e164


def issue_token(user: User) -> str:
    """A new bearer token for ``user``; only its hash is stored, so it is shown once."""
    token = secrets.token_urlsafe(32)
    db.session.add(ApiToken(user=user, token_hash=hash_token(token)))
    db.session.flush()
    return token


def user_for_token(token: str) -> User | None:
    """The active user a bearer token that is not revoked belongs to, or None.

    Every API request runs this: one select, one entity, and the statement built once.
    """
    return db.session.scalars(
        _user_for_token_statement(), {"token_hash": hash_token(token)}
    ).first()


@cache
def _user_for_token_statement() -> sa.Select[tuple[User]]:
    return (
        sa.select(User)
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(
            ApiToken.token_hash == sa.bindparam("token_hash"),
            ApiToken.revoked_at.is_(None),
            User.active,
        )
    )


def revoke_tokens(user: User) -> int:
    result = db.session.execute(
        sa.update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return result.rowcount
