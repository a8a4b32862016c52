"""Phone calls: inbound calls and the agents who take them, satisfaction callbacks with their
attempts and survey answers, the do-not-call list, and the simulated line's own call records."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from servicedesk.core.choices import check_in
from servicedesk.core.db import JSONType, UTCDateTime, db, utcnow

CALL_DIRECTIONS = ("inbound", "outbound")
CALL_STATUSES = ("queued", "connected", "ended", "abandoned")
"""An inbound telephone call: waiting in a queue, connected to an agent, over; ``abandoned``
when the caller hung up before an agent took it. ``None`` for a call an agent started from the
terminal (a search, not a ringing phone)."""
CALL_QUEUES = ("vip", "general")

CALLBACK_STATUSES = ("scheduled", "calling", "completed", "exhausted", "stopped", "cancelled")
"""``scheduled``: the next attempt waits for ``due_at``; ``calling``: an attempt is in progress;
``completed``: the customer answered (some or all questions); ``exhausted``: every attempt
went unanswered; ``stopped``: never to be called again (opted out, on the do-not-call list,
a permanent error such as an invalid number); ``cancelled`` by a supervisor."""
ATTEMPT_STATUSES = (
    "dialling",
    "placed",
    "in_progress",
    "completed",
    "busy",
    "no_answer",
    "failed",
    "canceled",
    "machine",
    "error",
    "not_placed",
)
"""``dialling``: claimed by a sweeper, the call is being placed (a sweeper that dies here leaves
it for recovery); ``placed``: the provider accepted the call; ``in_progress``: answered by a
person; then one outcome. ``error``: the provider refused the call (``error_code`` says why);
``not_placed``: recovery found that a dead sweeper never placed it."""
SURVEY_QUESTIONS = ("overall", "solved", "engineer")
DO_NOT_CALL_REASONS = ("pressed_9", "requested", "imported")


class Call(db.Model):
    __tablename__ = "calls"
    __table_args__ = (
        check_in("direction", CALL_DIRECTIONS),
        check_in("status", CALL_STATUSES),
        check_in("queue", CALL_QUEUES),
        sa.Index("ix_calls_status_queue", "status", "queue", "started_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    direction: Mapped[str] = mapped_column(sa.String(10), default="inbound")
    caller_e164: Mapped[str | None] = mapped_column(sa.String(20), index=True)
    customer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("customers.id"), index=True)
    agent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    twilio_sid: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str | None] = mapped_column(sa.String(20))
    queue: Mapped[str | None] = mapped_column(sa.String(20))
    caller_withheld: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """When an agent took the call (the card popped on that agent's screen)."""

    customer = relationship("Customer")
    agent = relationship("User")
    tickets = relationship("Ticket", back_populates="call", order_by="Ticket.id")


class Callback(db.Model):
    """The satisfaction callback after one closed repair (at most one per ticket)."""

    __tablename__ = "callbacks"
    __table_args__ = (
        check_in("status", CALLBACK_STATUSES),
        sa.Index("ix_callbacks_status_due", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("tickets.id"), unique=True)
    customer_id: Mapped[int] = mapped_column(sa.ForeignKey("customers.id"), index=True)
    station_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stations.id"), index=True)
    """The station that did the repair: its scorecard gets the answers."""
    phone_e164: Mapped[str | None] = mapped_column(sa.String(20))
    language: Mapped[str] = mapped_column(sa.String(5))
    timezone: Mapped[str] = mapped_column(sa.String(60))
    status: Mapped[str] = mapped_column(sa.String(20), default="scheduled")
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """When the next attempt may be placed (inside calling hours); None once finished."""
    attempts_made: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=3)
    stop_reason: Mapped[str | None] = mapped_column(sa.String(40))
    stop_detail: Mapped[str] = mapped_column(sa.Text, default="")
    satisfied: Mapped[bool | None] = mapped_column()
    """Question 1 answered 4 or 5; None until question 1 is answered."""
    follow_up_ticket_id: Mapped[int | None] = mapped_column(sa.ForeignKey("tickets.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    ticket = relationship("Ticket", foreign_keys=[ticket_id])
    follow_up_ticket = relationship("Ticket", foreign_keys=[follow_up_ticket_id])
    customer = relationship("Customer")
    station = relationship("Station")
    attempts: Mapped[list[CallbackAttempt]] = relationship(
        back_populates="callback", cascade="all, delete-orphan", order_by="CallbackAttempt.number"
    )
    answers: Mapped[list[SurveyAnswer]] = relationship(
        back_populates="callback", cascade="all, delete-orphan", order_by="SurveyAnswer.id"
    )


class CallbackAttempt(db.Model):
    """One call placed (or being placed) for a callback; ``token`` names it in webhook URLs."""

    __tablename__ = "callback_attempts"
    __table_args__ = (
        sa.UniqueConstraint("callback_id", "number"),
        check_in("status", ATTEMPT_STATUSES),
        sa.Index("ix_callback_attempts_status_claimed", "status", "claimed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    callback_id: Mapped[int] = mapped_column(sa.ForeignKey("callbacks.id"), index=True)
    number: Mapped[int] = mapped_column()
    """1 for the first attempt, 2 for the second, ..."""
    token: Mapped[str] = mapped_column(sa.String(64), unique=True)
    status: Mapped[str] = mapped_column(sa.String(20), default="dialling")
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str] = mapped_column(sa.String(120), default="")
    placed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    call_sid: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    answered_by: Mapped[str | None] = mapped_column(sa.String(30))
    error_code: Mapped[str | None] = mapped_column(sa.String(30))
    error_message: Mapped[str] = mapped_column(sa.Text, default="")
    survey_state: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    """Where the survey stands on this call (question, re-prompts); None before it starts."""

    callback: Mapped[Callback] = relationship(back_populates="attempts")


class SurveyAnswer(db.Model):
    """The customer's key press for one survey question (one answer per question)."""

    __tablename__ = "survey_answers"
    __table_args__ = (
        sa.UniqueConstraint("callback_id", "question"),
        check_in("question", SURVEY_QUESTIONS),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    callback_id: Mapped[int] = mapped_column(sa.ForeignKey("callbacks.id"))
    attempt_id: Mapped[int] = mapped_column(sa.ForeignKey("callback_attempts.id"), index=True)
    question: Mapped[str] = mapped_column(sa.String(20))
    value: Mapped[int] = mapped_column()
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    callback: Mapped[Callback] = relationship(back_populates="answers")


class DoNotCallNumber(db.Model):
    """A number never to be called for a survey (the customer pressed 9, or asked)."""

    __tablename__ = "do_not_call_numbers"
    __table_args__ = (check_in("reason", DO_NOT_CALL_REASONS),)

    e164: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    customer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("customers.id"), index=True)
    reason: Mapped[str] = mapped_column(sa.String(20))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    added_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))


class SimulatedCall(db.Model):
    """A call on the simulated line: what a real provider would keep on its side.

    Kept in the database so that every web and scheduler process sees the same calls (the
    simulator page answers a call the scheduler placed). ``token`` is the attempt's token for an
    outbound survey call: placing the same attempt twice finds the call already there.
    """

    __tablename__ = "simulated_calls"
    __table_args__ = (sa.Index("ix_simulated_calls_status", "status", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sid: Mapped[str] = mapped_column(sa.String(64), unique=True)
    token: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    direction: Mapped[str] = mapped_column(sa.String(10))
    to_number: Mapped[str] = mapped_column(sa.String(100))
    from_number: Mapped[str] = mapped_column(sa.String(100))
    url: Mapped[str] = mapped_column(sa.Text, default="")
    status_callback: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[str] = mapped_column(sa.String(20), default="queued")
    """Twilio's call statuses: queued, ringing, in-progress, completed, busy, no-answer, ..."""
    twiml: Mapped[str] = mapped_column(sa.Text, default="")
    """The last TwiML the webhook handlers answered for this call."""
    transcript: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    """What was said and pressed so far, for the simulator page."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
