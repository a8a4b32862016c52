"""Helpers for the station tests: repairs and answered satisfaction callbacks as real rows,
inserted in bulk."""

from __future__ import annotations

from datetime import timedelta
from itertools import count

import pytest
import sqlalchemy as sa

from servicedesk.callcenter.models import Callback, CallbackAttempt, SurveyAnswer
from servicedesk.tickets.models import Ticket

DAY = timedelta(days=1)
_numbers = count(1)


def ticket_rows(station, customer, n, *, at, status="closed", asset_id=None):
    rows = []
    for _ in range(n):
        rows.append(
            {
                "number": f"SD-2026-{next(_numbers):06d}",
                "kind": "repair",
                "status": status,
                "customer_id": customer.id,
                "station_id": station.id,
                "asset_id": asset_id,
                "summary": "no power",
                "created_at": at - 3 * DAY,
                "updated_at": at,
                "closed_at": at if status in ("closed", "cancelled") else None,
            }
        )
    return rows


def add_answers(db, station, customer, values, *, at):
    """One closed repair with an answered callback per ``(overall, solved)`` in ``values``
    (None: that question unanswered), answered at ``at``; bulk inserts."""
    values = list(values)
    rows = ticket_rows(station, customer, len(values), at=at - DAY)
    db.session.execute(sa.insert(Ticket), rows)
    ticket_ids = db.session.scalars(
        sa.select(Ticket.id).where(Ticket.number.in_([row["number"] for row in rows]))
    ).all()
    db.session.execute(
        sa.insert(Callback),
        [
            {
                "ticket_id": ticket_id,
                "customer_id": customer.id,
                "station_id": station.id,
                "phone_e164": "+8613800138000",
                "language": "zh",
                "timezone": "Asia/Shanghai",
                "status": "completed",
                "attempts_made": 1,
                "created_at": at - DAY,
                "answered_at": at,
            }
            for ticket_id in ticket_ids
        ],
    )
    callback_ids = db.session.scalars(
        sa.select(Callback.id).where(Callback.ticket_id.in_(ticket_ids)).order_by(Callback.id)
    ).all()
    tokens = [f"tok-{next(_numbers)}" for _ in callback_ids]
    db.session.execute(
        sa.insert(CallbackAttempt),
        [
            {
                "callback_id": callback_id,
                "number": 1,
                "token": token,
                "status": "completed",
                "claimed_at": at - timedelta(minutes=2),
                "answered_at": at,
            }
            for callback_id, token in zip(callback_ids, tokens, strict=True)
        ],
    )
    attempt_ids = dict(
        db.session.execute(
            sa.select(CallbackAttempt.callback_id, CallbackAttempt.id).where(
                CallbackAttempt.token.in_(tokens)
            )
        ).all()
    )
    answer_rows = []
    for callback_id, (overall, solved) in zip(callback_ids, values, strict=True):
        for offset, (question, value) in enumerate((("overall", overall), ("solved", solved))):
            if value is not None:
                answer_rows.append(
                    {
                        "callback_id": callback_id,
                        "attempt_id": attempt_ids[callback_id],
                        "question": question,
                        "value": value,
                        "answered_at": at + timedelta(seconds=10 * offset),
                    }
                )
    if answer_rows:
        db.session.execute(sa.insert(SurveyAnswer), answer_rows)
    db.session.flush()


@pytest.fixture
def answered(db):
    """``answered(station, customer, values, at=...)``: see :func:`add_answers`."""

    def add(station, customer, values, *, at):
        add_answers(db, station, customer, values, at=at)

    return add


@pytest.fixture
def repairs():
    """``repairs(station, customer, n, at=..., status=..., asset_id=...)``: ticket rows."""
    return ticket_rows
