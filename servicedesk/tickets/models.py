"""Tickets, the events that trace every change to them, and the yearly number counter."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from servicedesk.core.choices import check_in
from servicedesk.core.db import JSONType, UTCDateTime, db, utcnow
from servicedesk.sla.levels import SERVICE_LEVELS
from servicedesk.warranty.coverage import DAMAGE_TYPES, Reason

TICKET_KINDS = ("inquiry", "presales", "repair", "complaint")
TICKET_STATUSES = (
    "new",
    "dispatched",
    "accepted",
    "scheduled",
    "on_site",
    "waiting_customer",
    "waiting_parts",
    "resolved",
    "closed",
    "cancelled",
)
OPEN_STATUSES = tuple(s for s in TICKET_STATUSES if s not in ("resolved", "closed", "cancelled"))
NUMBER_PREFIX = "SD"


def format_ticket_number(year: int, sequence: int) -> str:
    """``SD-2026-000123``; the sequence widens past six digits rather than wrapping."""
    return f"{NUMBER_PREFIX}-{year}-{sequence:06d}"


class TicketCounter(db.Model):
    """The last ticket sequence handed out in a year; incremented under a row lock."""

    __tablename__ = "ticket_counters"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_value: Mapped[int] = mapped_column(default=0)


class Ticket(db.Model):
    __tablename__ = "tickets"
    __table_args__ = (
        check_in("kind", TICKET_KINDS),
        check_in("status", TICKET_STATUSES),
        check_in("damage", DAMAGE_TYPES),
        check_in("service_level", SERVICE_LEVELS),
        sa.Index("ix_tickets_customer_created", "customer_id", "created_at"),
        sa.Index("ix_tickets_status_created", "status", "created_at"),
        sa.Index("ix_tickets_station_status", "station_id", "status"),
        sa.Index("ix_tickets_dispatch_waiting", "dispatch_state", "waiting_since"),
        check_in("dispatch_state", ("dispatched", "waiting")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(20), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    status: Mapped[str] = mapped_column(sa.String(20), default="new")
    customer_id: Mapped[int] = mapped_column(sa.ForeignKey("customers.id"))
    asset_id: Mapped[int | None] = mapped_column(sa.ForeignKey("assets.id"), index=True)
    call_id: Mapped[int | None] = mapped_column(sa.ForeignKey("calls.id"), index=True)
    station_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stations.id"))
    summary: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    damage: Mapped[str] = mapped_column(sa.String(20), default="none")
    part: Mapped[str | None] = mapped_column(sa.String(30))
    covered: Mapped[bool | None] = mapped_column()
    billable: Mapped[bool | None] = mapped_column()
    coverage_basis: Mapped[list[str]] = mapped_column(JSONType, default=list)
    coverage_reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    service_level: Mapped[str | None] = mapped_column(sa.String(20))
    service_level_reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    resolution: Mapped[str] = mapped_column(sa.Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    diagnosis_ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """When the agent's phone diagnosis ended; starts the 4-hour arrival clock."""
    sla_targets: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    """The promise given when the ticket was opened (later target edits do not change it)."""
    dispatch_state: Mapped[str | None] = mapped_column(sa.String(20))
    """``dispatched`` or ``waiting`` (in the supervisors' queue); None for non-repairs."""
    dispatch_decision: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    """The last dispatch decision with every candidate and why it won or lost."""
    waiting_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    visit_starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    visit_ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    billable_amount: Mapped[Decimal | None] = mapped_column(sa.Numeric(12, 2))
    quote: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    closing_decision: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    """The warranty rules applied at closing (drives, damage protection, billable parts)."""
    follow_up_of_id: Mapped[int | None] = mapped_column(sa.ForeignKey("tickets.id"), index=True)
    """The repair a follow-up complaint is about (opened from a satisfaction callback)."""

    customer = relationship("Customer")
    asset = relationship("Asset")
    call = relationship("Call", back_populates="tickets")
    station = relationship("Station")
    created_by = relationship("User")
    follow_up_of = relationship("Ticket", remote_side=[id], foreign_keys=[follow_up_of_id])
    clocks = relationship(
        "SlaClock", back_populates="ticket", cascade="all, delete-orphan", order_by="SlaClock.id"
    )
    pauses = relationship(
        "TicketPause",
        back_populates="ticket",
        cascade="all, delete-orphan",
        order_by="TicketPause.started_at",
    )
    parts: Mapped[list[TicketPart]] = relationship(
        back_populates="ticket", cascade="all, delete-orphan", order_by="TicketPart.id"
    )
    events: Mapped[list[TicketEvent]] = relationship(
        back_populates="ticket", cascade="all, delete-orphan", order_by="TicketEvent.id"
    )

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def reasons(self) -> list[Reason]:
        return [Reason.from_json(item) for item in self.coverage_reasons]

    @property
    def level_reasons(self) -> list[Reason]:
        return [Reason.from_json(item) for item in self.service_level_reasons]


class TicketEvent(db.Model):
    """One change to a ticket: who made it, when, what changed and why. Never updated."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("tickets.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(sa.String(30))
    from_status: Mapped[str | None] = mapped_column(sa.String(20))
    to_status: Mapped[str | None] = mapped_column(sa.String(20))
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)

    ticket: Mapped[Ticket] = relationship(back_populates="events")
    actor = relationship("User")


PART_CHARGES = ("warranty", "adp", "billable")
DRIVE_DISPOSITIONS = ("retained_by_customer", "return_to_maker")


class TicketPart(db.Model):
    """A part used in a repair, as recorded by the station when it closes the ticket."""

    __tablename__ = "ticket_parts"
    __table_args__ = (
        check_in("charged_to", PART_CHARGES),
        check_in("drive_disposition", DRIVE_DISPOSITIONS),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("tickets.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(30))
    part_no: Mapped[str] = mapped_column(sa.String(60), default="")
    faulty_serial: Mapped[str | None] = mapped_column(sa.String(60))
    replacement_serial: Mapped[str | None] = mapped_column(sa.String(60))
    value: Mapped[Decimal | None] = mapped_column(sa.Numeric(12, 2))
    whole_unit: Mapped[bool] = mapped_column(default=False)
    retained_by_customer: Mapped[bool | None] = mapped_column()
    drive_disposition: Mapped[str | None] = mapped_column(sa.String(30))
    charged_to: Mapped[str] = mapped_column(sa.String(10), default="warranty")
    adp_value: Mapped[Decimal] = mapped_column(sa.Numeric(12, 2), default=Decimal(0))
    """The part's value paid by accidental damage protection (counts against the cap)."""

    ticket: Mapped[Ticket] = relationship(back_populates="parts")
