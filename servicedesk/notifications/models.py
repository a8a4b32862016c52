"""Notifications addressed to an audience: all supervisors, or one station's staff."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from servicedesk.core.choices import check_in
from servicedesk.core.db import JSONType, UTCDateTime, db, utcnow

NOTIFICATION_KINDS = (
    "sla_warning",
    "sla_breach",
    "complaint",
    "callback_failed",
    "station_probation",
)
AUDIENCES = ("supervisors", "station", "user")
"""``user``: one person (``user_id``), e.g. the account manager of a class A customer."""


class Notification(db.Model):
    """One notice; the unique key makes a second warning for the same clock impossible."""

    __tablename__ = "notifications"
    __table_args__ = (
        sa.UniqueConstraint("clock_id", "kind", "audience"),
        check_in("kind", NOTIFICATION_KINDS),
        check_in("audience", AUDIENCES),
        sa.CheckConstraint(
            "(audience = 'station') = (station_id IS NOT NULL)", name="station_audience"
        ),
        sa.CheckConstraint("(audience = 'user') = (user_id IS NOT NULL)", name="user_audience"),
        sa.Index("ix_notifications_audience_created", "audience", "station_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    audience: Mapped[str] = mapped_column(sa.String(20))
    station_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stations.id"))
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    ticket_id: Mapped[int | None] = mapped_column(sa.ForeignKey("tickets.id"), index=True)
    clock_id: Mapped[int | None] = mapped_column(sa.ForeignKey("sla_clocks.id"))
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    ticket = relationship("Ticket")
    station = relationship("Station")


class NotificationRead(db.Model):
    __tablename__ = "notification_reads"

    notification_id: Mapped[int] = mapped_column(
        sa.ForeignKey("notifications.id"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), primary_key=True)
    read_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
