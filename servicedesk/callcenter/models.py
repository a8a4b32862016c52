"""Call records: one phone call, from whom, taken by whom, and the tickets it opened."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from servicedesk.core.choices import check_in
from servicedesk.core.db import UTCDateTime, db, utcnow

CALL_DIRECTIONS = ("inbound", "outbound")


class Call(db.Model):
    __tablename__ = "calls"
    __table_args__ = (check_in("direction", CALL_DIRECTIONS),)

    id: Mapped[int] = mapped_column(primary_key=True)
    direction: Mapped[str] = mapped_column(sa.String(10), default="inbound")
    caller_e164: Mapped[str | None] = mapped_column(sa.String(20), index=True)
    customer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("customers.id"), index=True)
    agent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    twilio_sid: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    customer = relationship("Customer")
    agent = relationship("User")
    tickets = relationship("Ticket", back_populates="call", order_by="Ticket.id")
