"""Users with a role, and their API tokens (only a hash of each token is stored)."""

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

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    def has_role(self, *roles: str) -> bool:
        return self.role in roles


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ApiToken(db.Model):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()
