"""SLA clocks on tickets, the pauses that stop them, and the admin-edited target table."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from servicedesk.core.choices import check_in
from servicedesk.core.db import JSONType, UTCDateTime, db, utcnow
from servicedesk.sla.levels import SERVICE_LEVELS
from servicedesk.sla.targets import CLOCKS, TARGET_NAMES, TICKET_KINDS

_UNMET = "met_at IS NULL AND stopped_at IS NULL AND paused_since IS NULL"


class SlaClock(db.Model):
    """One promise on one ticket (respond, arrive or resolve) and where it stands.

    ``due_at`` moves out when the ticket resumes after waiting on the customer;
    ``original_due_at`` is the promise as first given. ``warned_at`` and ``breached_at`` are
    set once, by the sweep that claimed the clock; ``stopped_at`` when the ticket is cancelled.
    """

    __tablename__ = "sla_clocks"
    __table_args__ = (
        sa.UniqueConstraint("ticket_id", "target"),
        check_in("target", TARGET_NAMES),
        check_in("clock", CLOCKS),
        sa.Index(
            "ix_sla_clocks_warn_pending",
            "warn_at",
            postgresql_where=sa.text(f"{_UNMET} AND warned_at IS NULL"),
            sqlite_where=sa.text(f"{_UNMET} AND warned_at IS NULL"),
        ),
        sa.Index(
            "ix_sla_clocks_breach_pending",
            "due_at",
            postgresql_where=sa.text(f"{_UNMET} AND breached_at IS NULL"),
            sqlite_where=sa.text(f"{_UNMET} AND breached_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("tickets.id"), index=True)
    target: Mapped[str] = mapped_column(sa.String(10))
    clock: Mapped[str] = mapped_column(sa.String(10))
    timezone: Mapped[str] = mapped_column(sa.String(60))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    original_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    warn_at: Mapped[datetime] = mapped_column(UTCDateTime)
    met_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    breached_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paused_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    ticket = relationship("Ticket", back_populates="clocks")

    @property
    def met(self) -> bool | None:
        """True when met in time, False when met late or breached, None while running."""
        if self.met_at is not None:
            return self.met_at <= self.due_at
        if self.breached_at is not None:
            return False
        return None


class TicketPause(db.Model):
    """A stretch of time the ticket waited on the customer; ``ended_at`` is None while it lasts."""

    __tablename__ = "ticket_pauses"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("tickets.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    ticket = relationship("Ticket", back_populates="pauses")


class SlaTargetSetting(db.Model):
    """An admin's targets for one service level and ticket kind, replacing the defaults."""

    __tablename__ = "sla_target_settings"
    __table_args__ = (
        check_in("service_level", SERVICE_LEVELS),
        check_in("ticket_kind", TICKET_KINDS),
    )

    service_level: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    ticket_kind: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    targets: Mapped[dict[str, Any]] = mapped_column(JSONType)
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SlaTargetChange(db.Model):
    """The history of target edits: who changed which row, from what, to what."""

    __tablename__ = "sla_target_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    service_level: Mapped[str] = mapped_column(sa.String(20))
    ticket_kind: Mapped[str] = mapped_column(sa.String(20))
    before: Mapped[dict[str, Any]] = mapped_column(JSONType)
    after: Mapped[dict[str, Any]] = mapped_column(JSONType)
    changed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    changed_by = relationship("User")
