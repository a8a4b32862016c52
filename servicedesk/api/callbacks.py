"""``/api/v1/callbacks?ticket={number}``: the satisfaction callback of a repair, with every
attempt and the answers given."""

from __future__ import annotations

import marshmallow as ma
import sqlalchemy as sa
from flask import g
from marshmallow import fields, validate
from sqlalchemy.orm import selectinload

from servicedesk.api.base import API_PREFIX, ApiBlueprint, authenticated, documents_errors
from servicedesk.api.errors import abort_api
from servicedesk.api.schemas import QUERY_TEXT_MAX, LocalDateTime, Text
from servicedesk.auth.access import AGENT_ROLES
from servicedesk.callcenter.callbacks import answers_of
from servicedesk.callcenter.models import (
    ATTEMPT_STATUSES,
    CALLBACK_STATUSES,
    SURVEY_QUESTIONS,
    Callback,
)
from servicedesk.core.db import db
from servicedesk.tickets.models import Ticket
from servicedesk.tickets.queries import visible_to

blp = ApiBlueprint(
    "api_callbacks",
    __name__,
    url_prefix=API_PREFIX,
    description="Satisfaction callbacks: read a repair's.",
)


class CallbacksQuerySchema(ma.Schema):
    ticket = Text(
        required=True,
        validate=validate.Length(min=1, max=QUERY_TEXT_MAX),
        metadata={"description": "The repair's ticket number, e.g. SD-2026-000123."},
    )


class CallbackAttemptSchema(ma.Schema):
    number = fields.Integer(required=True, metadata={"description": "1 for the first call."})
    status = fields.String(
        required=True,
        metadata={
            "enum": list(ATTEMPT_STATUSES),
            "description": "dialling, placed, in_progress, then the outcome: completed, busy, "
            "no_answer, failed, canceled, machine (answering machine or fax), error (the "
            "provider refused the call), not_placed (do-not-call found just before dialling).",
        },
    )
    claimed_at = LocalDateTime(required=True)
    placed_at = LocalDateTime(required=True, allow_none=True)
    answered_at = LocalDateTime(required=True, allow_none=True)
    ended_at = LocalDateTime(required=True, allow_none=True)
    call_sid = fields.String(required=True, allow_none=True)
    answered_by = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "Answering-machine detection's verdict, e.g. human."},
    )
    error_code = fields.String(
        required=True, allow_none=True, metadata={"description": "The provider's error code."}
    )
    error_message = fields.String(required=True)


class CallbackAnswersSchema(ma.Schema):
    overall = fields.Integer(
        metadata={"description": "Question 1, overall satisfaction: 1 (very dissatisfied) to 5."}
    )
    solved = fields.Integer(metadata={"description": "Question 2, problem solved: 1 yes, 2 no."})
    engineer = fields.Integer(metadata={"description": "Question 3, the engineer's service: 1-5."})


class CallbackSchema(ma.Schema):
    id = fields.Integer(required=True)
    ticket = fields.String(required=True, metadata={"description": "The repair's number."})
    status = fields.String(required=True, metadata={"enum": list(CALLBACK_STATUSES)})
    due_at = LocalDateTime(
        required=True,
        allow_none=True,
        metadata={"description": "When the next attempt may be placed; null once finished."},
    )
    stop_reason = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "no_phone, do_not_call, opted_out or permanent_error."},
    )
    satisfied = fields.Boolean(
        required=True,
        allow_none=True,
        metadata={"description": "Question 1 at 4 or 5; null until it is answered."},
    )
    follow_up = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "The number of the follow-up complaint it opened, if any."},
    )
    attempts_made = fields.Integer(required=True)
    max_attempts = fields.Integer(required=True)
    attempts = fields.Nested(CallbackAttemptSchema, many=True, required=True)
    answers = fields.Nested(
        CallbackAnswersSchema,
        required=True,
        metadata={"description": f"The keys pressed, by question ({', '.join(SURVEY_QUESTIONS)})."},
    )


class CallbacksSchema(ma.Schema):
    callbacks = fields.Nested(CallbackSchema, many=True, required=True)


@blp.route("/callbacks")
@authenticated(*AGENT_ROLES, "station")
@blp.arguments(CallbacksQuerySchema, location="query", as_kwargs=True)
@blp.response(200, CallbacksSchema)
@documents_errors(404)
def list_callbacks(ticket: str):
    """Read a repair's satisfaction callback

    The callback of the repair numbered `ticket` (an empty list while the repair is not
    closed), with each call attempt and the answers given so far. A station user may only read
    its own station's repairs (404 for any other, as for an unknown number).
    """
    repair = db.session.scalar(
        sa.select(Ticket).where(Ticket.number == ticket.strip(), visible_to(g.api_user))
    )
    if repair is None:
        abort_api(404, message=f"no ticket {ticket.strip()[:40]!r}")
    callbacks = db.session.scalars(
        sa.select(Callback)
        .where(Callback.ticket_id == repair.id)
        .options(
            selectinload(Callback.attempts),
            selectinload(Callback.answers),
            selectinload(Callback.follow_up_ticket),
        )
        .order_by(Callback.id)
    ).all()
    return {
        "callbacks": [
            {
                "id": callback.id,
                "ticket": repair.number,
                "status": callback.status,
                "due_at": callback.due_at,
                "stop_reason": callback.stop_reason,
                "satisfied": callback.satisfied,
                "follow_up": callback.follow_up_ticket.number
                if callback.follow_up_ticket is not None
                else None,
                "attempts_made": callback.attempts_made,
                "max_attempts": callback.max_attempts,
                "attempts": callback.attempts,
                "answers": answers_of(callback),
            }
            for callback in callbacks
        ]
    }
