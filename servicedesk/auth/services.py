"""Users, their web sign-ins and API tokens, and sign-in throttling. Callers own the
transaction (except for a token's last use, see :func:`user_for_token`)."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from importlib import resources

import sqlalchemy as sa
from flask import current_app
from werkzeug.security import check_password_hash, generate_password_hash

from servicedesk.auth import rules
from servicedesk.auth.models import (
    ROLES,
    ApiToken,
    LoginFailure,
    LoginSession,
    User,
    hash_token,
)
from servicedesk.core.db import db, utcnow
from servicedesk.customers.phones import InvalidPhone, parse_phone
from servicedesk.stations.models import Station

log = logging.getLogger(__name__)

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
    check_password_policy(password, username)
    station = _station_for(role, station_code)
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


def _station_for(role: str, station_code: str | None) -> Station | None:
    if role == "station":
        if not station_code:
            raise UserError("a station user needs --station CODE")
        station = db.session.scalar(sa.select(Station).where(Station.code == station_code))
        if station is None:
            raise UserError(f"unknown station {station_code!r}")
        return station
    if station_code:
        raise UserError("only station users belong to a station")
    return None


def find_user(username: str) -> User:
    user = db.session.scalar(sa.select(User).where(User.username == username))
    if user is None:
        raise UserError(f"unknown user {username!r}")
    return user


def update_user(
    user: User,
    *,
    role: str | None = None,
    station_code: str | None = None,
    phone: str | None = None,
) -> User:
    """Change a user's role, station or desk phone (an empty ``phone`` removes it).

    A station user keeps its station unless another is given; a user becoming a station user
    needs one; any other role belongs to no station.
    """
    if role is not None and role not in ROLES:
        raise UserError(f"unknown role {role!r} (one of: {', '.join(ROLES)})")
    new_role = role or user.role
    if new_role == "station" and station_code is None and user.station is not None:
        station = user.station
    else:
        station = _station_for(new_role, station_code)
    user.role = new_role
    user.station = station
    if phone is not None:
        user.phone = agent_phone(phone) if phone.strip() else None
    db.session.flush()
    return user


def deactivate_user(user: User, now: datetime | None = None) -> tuple[int, int]:
    """The user can no longer sign in or use the API: every web sign-in ends and every token
    is revoked at once. Returns (sign-ins ended, tokens revoked)."""
    now = now or utcnow()
    user.active = False
    ended = end_login_sessions(user, now=now)
    revoked = revoke_tokens(user, now=now)
    db.session.flush()
    return ended, revoked


def change_password(
    user: User, password: str, *, keep_session: str | None = None, now: datetime | None = None
) -> int:
    """Set a new password (under the policy) and end every web sign-in of the user but
    ``keep_session`` (the key of the sign-in that made the change, if any). Returns how many
    sign-ins ended."""
    check_password_policy(password, user.username)
    user.set_password(password)
    return end_login_sessions(user, keep=keep_session, now=now)


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords (``common_passwords.txt``), lower case."""
    text = resources.files("servicedesk.auth").joinpath("common_passwords.txt").read_text("utf-8")
    return frozenset(
        line.strip().casefold()
        for line in text.splitlines()
        if line.strip() and not line.startswith("#")
    )


def check_password_policy(password: str, username: str) -> None:
    problem = rules.password_problem(password, username, common_passwords())
    if problem:
        raise UserError(problem)


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


def issue_token(
    user: User, *, lifetime: timedelta | None = None, now: datetime | None = None
) -> str:
    """A new bearer token for ``user``; only its hash is stored, so it is shown once."""
    return new_token(user, lifetime=lifetime, now=now)[1]


def new_token(
    user: User, *, lifetime: timedelta | None = None, now: datetime | None = None
) -> tuple[ApiToken, str]:
    """A new token row for ``user`` and the token itself (not stored).

    It expires after ``lifetime`` (default: ``SERVICEDESK_TOKEN_DAYS`` days).
    """
    now = now or utcnow()
    if lifetime is None:
        lifetime = timedelta(days=current_app.config["SERVICEDESK_TOKEN_DAYS"])
    token = secrets.token_urlsafe(32)
    row = ApiToken(
        user=user, token_hash=hash_token(token), created_at=now, expires_at=now + lifetime
    )
    db.session.add(row)
    db.session.flush()
    return row, token


def user_for_token(token: str, now: datetime | None = None) -> User | None:
    """The active user a bearer token that is neither revoked nor expired belongs to, or None.

    Every API request runs this: one select, and the statement built once. The token's last
    use is written only when the stored one is older than a few minutes
    (:data:`rules.LAST_USED_PRECISION`), in a transaction of its own so that it is kept even
    when the request writes nothing or fails.
    """
    now = now or utcnow()
    row = db.session.execute(
        _user_for_token_statement(), {"token_hash": hash_token(token), "now": now}
    ).first()
    if row is None:
        return None
    user, token_id, last_used_at = row
    if rules.last_use_is_stale(last_used_at, now):
        _record_token_use(token_id, now)
    return user


@cache
def _user_for_token_statement() -> sa.Select:
    return (
        sa.select(User, ApiToken.id, ApiToken.last_used_at)
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(
            ApiToken.token_hash == sa.bindparam("token_hash"),
            ApiToken.revoked_at.is_(None),
            ApiToken.expires_at > sa.bindparam("now", type_=ApiToken.expires_at.type),
            User.active,
        )
    )


LOCK_WAIT_MS = 100


def _record_token_use(token_id: int, now: datetime) -> None:
    """Best effort: a token that cannot be marked as used now still works (and is marked on
    a later request)."""
    stale_before = now - rules.LAST_USED_PRECISION
    statement = (
        sa.update(ApiToken)
        .where(
            ApiToken.id == token_id,
            sa.or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at <= stale_before),
        )
        .values(last_used_at=now)
    )
    with db.engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:  # the one writer may be busy: skip rather than hold the request up
            usual_wait = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
            connection.exec_driver_sql(f"PRAGMA busy_timeout = {LOCK_WAIT_MS}")
        try:
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql(f"SET LOCAL lock_timeout = {LOCK_WAIT_MS}")
            connection.execute(statement)
            connection.commit()
        except sa.exc.OperationalError:
            connection.rollback()
            log.warning("could not record the use of API token %s now", token_id, exc_info=True)
        finally:
            if sqlite:
                connection.exec_driver_sql(f"PRAGMA busy_timeout = {int(usual_wait)}")
                connection.commit()


def tokens_of(user: User) -> list[ApiToken]:
    """Every token of ``user``, newest first (revoked and expired ones too)."""
    return list(
        db.session.scalars(
            sa.select(ApiToken)
            .where(ApiToken.user_id == user.id)
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
    )


def token_state(token: ApiToken, now: datetime | None = None) -> str:
    if token.revoked_at is not None:
        return "revoked"
    return "active" if rules.token_usable(token.expires_at, None, now or utcnow()) else "expired"


def revoke_token(user: User, token_id: int, now: datetime | None = None) -> ApiToken:
    """Revoke one token of ``user`` (revoking one revoked already changes nothing)."""
    token = db.session.scalar(
        sa.select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user.id)
    )
    if token is None:
        raise UserError(f"user {user.username!r} has no token {token_id}")
    if token.revoked_at is None:
        token.revoked_at = now or utcnow()
        db.session.flush()
    return token


def revoke_tokens(user: User, now: datetime | None = None) -> int:
    """Revoke every token of ``user`` that is not revoked yet; returns how many."""
    result = db.session.execute(
        sa.update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now or utcnow())
    )
    return result.rowcount


# --- web sign-ins ----------------------------------------------------------------------------

SIGN_IN_LIFETIME = timedelta(hours=24)
"""How long a sign-in without "keep me signed in" lasts at most (a working day and more)."""


def start_login_session(user: User, *, remember: bool, now: datetime | None = None) -> str:
    """A new sign-in of ``user``; returns its key (also put in ``user.session_key``).

    A remembered sign-in lasts as long as the remember-me cookie (``REMEMBER_COOKIE_DURATION``),
    any other :data:`SIGN_IN_LIFETIME`. The user's ended and expired sign-ins are cleared away.
    """
    now = now or utcnow()
    lifetime = current_app.config["REMEMBER_COOKIE_DURATION"] if remember else SIGN_IN_LIFETIME
    db.session.execute(
        sa.delete(LoginSession).where(
            LoginSession.user_id == user.id,
            sa.or_(LoginSession.ended_at.is_not(None), LoginSession.expires_at <= now),
        )
    )
    key = secrets.token_urlsafe(32)
    db.session.add(
        LoginSession(
            user=user,
            key_hash=hash_token(key),
            remember=remember,
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    db.session.flush()
    user.session_key = key
    return key


def user_for_session(key: str, now: datetime | None = None) -> User | None:
    """The active user of a sign-in that has neither ended nor expired, or None (one select)."""
    user = db.session.scalars(
        _user_for_session_statement(), {"key_hash": hash_token(key), "now": now or utcnow()}
    ).first()
    if user is not None:
        user.session_key = key
    return user


@cache
def _user_for_session_statement() -> sa.Select[tuple[User]]:
    return (
        sa.select(User)
        .join(LoginSession, LoginSession.user_id == User.id)
        .where(
            LoginSession.key_hash == sa.bindparam("key_hash"),
            LoginSession.ended_at.is_(None),
            LoginSession.expires_at > sa.bindparam("now", type_=LoginSession.expires_at.type),
            User.active,
        )
    )


def end_login_session(key: str, now: datetime | None = None) -> None:
    """Sign-out: this sign-in ends for good, whatever copies of its cookies exist."""
    db.session.execute(
        sa.update(LoginSession)
        .where(LoginSession.key_hash == hash_token(key), LoginSession.ended_at.is_(None))
        .values(ended_at=now or utcnow())
    )


def end_login_sessions(user: User, *, keep: str | None = None, now: datetime | None = None) -> int:
    """End every sign-in of ``user`` but the one with key ``keep``; returns how many ended."""
    statement = sa.update(LoginSession).where(
        LoginSession.user_id == user.id, LoginSession.ended_at.is_(None)
    )
    if keep is not None:
        statement = statement.where(LoginSession.key_hash != hash_token(keep))
    return db.session.execute(statement.values(ended_at=now or utcnow())).rowcount


# --- signing in, throttled -------------------------------------------------------------------


ALLOWED = rules.Throttle(allowed=True)


@dataclass(frozen=True)
class SignIn:
    """The outcome of a sign-in attempt: a user (signed in), or refused, maybe throttled."""

    user: User | None = None
    throttle: rules.Throttle = ALLOWED


def sign_in(
    username: str,
    password: str,
    *,
    address: str | None,
    remember: bool = False,
    now: datetime | None = None,
) -> SignIn:
    """Check a user name and password, counted against the account and the client address.

    After :data:`rules.MAX_FAILURES` failures within :data:`rules.FAILURE_WINDOW` (of the name,
    or from the address; the address limit is ``SERVICEDESK_LOGIN_ADDRESS_FAILURES``) the attempt
    is refused without looking at the password. An unknown or inactive user costs the same
    password hashing as a known one, so that the answer time does not tell names apart.
    A success clears the account's failures and starts a sign-in (:func:`start_login_session`).
    """
    now = now or utcnow()
    account, client = rules.client_key(username), (address or "unknown")[:100]
    throttle = _throttle(account, client, now)
    if not throttle.allowed:
        return SignIn(throttle=throttle)
    user = db.session.scalar(sa.select(User).where(User.username == username.strip()))
    if user is None:
        check_password_hash(_dummy_password_hash(), password)
        valid = False
    else:
        valid = user.check_password(password) and user.active
    if not valid:
        _record_failure(account, client, now)
        return SignIn()
    db.session.execute(
        sa.delete(LoginFailure).where(LoginFailure.scope == "account", LoginFailure.key == account)
    )
    start_login_session(user, remember=remember, now=now)
    return SignIn(user=user)


def _throttle(account: str, address: str, now: datetime) -> rules.Throttle:
    rows = db.session.execute(
        sa.select(LoginFailure.scope, LoginFailure.at).where(
            LoginFailure.at > now - rules.FAILURE_WINDOW,
            sa.or_(
                sa.and_(LoginFailure.scope == "account", LoginFailure.key == account),
                sa.and_(LoginFailure.scope == "address", LoginFailure.key == address),
            ),
        )
    ).all()
    by_account = rules.sign_in_throttle([at for scope, at in rows if scope == "account"], now)
    by_address = rules.sign_in_throttle(
        [at for scope, at in rows if scope == "address"],
        now,
        limit=current_app.config["SERVICEDESK_LOGIN_ADDRESS_FAILURES"],
    )
    return rules.stricter(by_account, by_address)


def _record_failure(account: str, address: str, now: datetime) -> None:
    db.session.execute(sa.delete(LoginFailure).where(LoginFailure.at <= now - rules.FAILURE_WINDOW))
    db.session.add_all(
        [
            LoginFailure(scope="account", key=account, at=now),
            LoginFailure(scope="address", key=address, at=now),
        ]
    )
    db.session.flush()


@cache
def _dummy_password_hash() -> str:
    """A hash made the way real ones are, checked for unknown users (for equal timing)."""
    return generate_password_hash(secrets.token_urlsafe(16))
