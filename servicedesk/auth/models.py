"""Users with a role, their signed-in sessions, their API tokens, and failed sign-ins.

Only hashes of session keys and API tokens are stored.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from servicedesk.core.choices import check_in
from servicedesk.core.db import UTCDateTime, db, utcnow

ROLES = ("agent", "supervisor", "station", "admin")


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (
        check_in("role", ROLES),
        sa.CheckConstraint(
            "(role = 'station') = (station_id IS NOT NULL)", name="station_users_have_a_station"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(80), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(200), default="")
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[str] = mapped_column(sa.String(20))
    station_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stations.id"), index=True)
    language: Mapped[str | None] = mapped_column(sa.String(5))
    timezone: Mapped[str | None] = mapped_column(sa.String(60))
    phone: Mapped[str | None] = mapped_column(sa.String(100))
    """Where an agent's calls are put through: an E.164 number or a SIP URI."""
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    station = relationship("Station")

    session_key = None
    """The key (str) of the sign-in this object was loaded for; not stored, see get_id."""

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    def has_role(self, *roles: str) -> bool:
        return self.role in roles

    def get_id(self) -> str | None:
        """What Flask-Login keeps in the session and the remember-me cookie: the key of this
        sign-in (a :class:`LoginSession`), never the user's id, so that ending the sign-in row
        makes every copy of either cookie worthless."""
        return self.session_key


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ApiToken(db.Model):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """When the token was last used, to within a few minutes (see services.LAST_USED_PRECISION)."""
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class LoginSession(db.Model):
    """One sign-in on the web: the session cookie and the remember-me cookie carry its key.

    It ends (``ended_at``) on sign-out, on a password change and on deactivation; an ended or
    expired sign-in loads nobody, whatever cookie is presented.
    """

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    remember: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


LOGIN_FAILURE_SCOPES = ("account", "address")


class LoginFailure(db.Model):
    """A failed sign-in, counted per account (the name typed) and per client address.

    Kept in the database so that every web process sees the same counts; rows older than the
    throttling window are deleted as new failures come in.
    """

    __tablename__ = "login_failures"
    __table_args__ = (
        check_in("scope", LOGIN_FAILURE_SCOPES),
        sa.Index("ix_login_failures_scope_key_at", "scope", "key", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(sa.String(10))
    key: Mapped[str] = mapped_column(sa.String(100))
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
