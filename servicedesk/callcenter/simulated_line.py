"""The simulated line: the provider's side of calls kept in ``simulated_calls``.

A placed call is written in its own short transaction on its own connection, as an external
provider would keep it: it survives the caller's rollback. One exception, because SQLite has a
single writer: when the caller's session already holds SQLite's write lock, the row is written
through that session instead (a separate connection would wait for the lock it holds).

``place_call`` is idempotent on the attempt's token: placing the same attempt again returns
the call already there. The simulator page (``simulator.py``) then plays Twilio's part.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from servicedesk.callcenter.models import SimulatedCall
from servicedesk.callcenter.telephony import (
    OutboundCall,
    PermanentTelephonyError,
    PlacedCall,
    agent_dial,
)
from servicedesk.core.db import db, utcnow

BATCH_SIZE = 1000
"""Rows per INSERT and per read-back query in ``place_calls``."""
ENDED_STATUSES = frozenset({"completed", "busy", "no-answer", "failed", "canceled"})
"""Twilio's final call statuses."""

calls_table: sa.Table = SimulatedCall.__table__  # type: ignore[assignment]


def new_sid() -> str:
    """A call sid spelled like Twilio's: "CA" and 32 hexadecimal digits."""
    return "CA" + uuid.uuid4().hex


@contextmanager
def provider_connection() -> Iterator[sa.Connection]:
    """A connection in its own transaction, committed on leaving (see the module docstring for
    the SQLite exception, where the caller's session connection is used, uncommitted)."""
    session_connection = _session_connection_holding_sqlite_lock()
    if session_connection is not None:
        yield session_connection
        return
    with db.engine.begin() as connection:
        yield connection


def _session_connection_holding_sqlite_lock() -> sa.Connection | None:
    session = db.session()
    if db.engine.dialect.name != "sqlite" or not session.in_transaction():
        return None
    connection = session.connection()
    dbapi_connection = connection.connection.dbapi_connection
    return connection if getattr(dbapi_connection, "in_transaction", False) else None


def _insert(dialect_name: str) -> Any:
    module = postgresql if dialect_name == "postgresql" else sqlite
    return module.insert(calls_table).on_conflict_do_nothing(index_elements=["token"])


def _row(call: OutboundCall, now: datetime) -> dict[str, Any]:
    return {
        "sid": new_sid(),
        "token": call.token,
        "direction": "outbound",
        "to_number": call.to,
        "from_number": call.from_,
        "url": call.url,
        "status_callback": call.status_callback,
        "status": "ringing",
        "twiml": "",
        "transcript": [],
        "created_at": now,
    }


class SimulatedLine:
    """A ``Line`` whose calls are rows in ``simulated_calls``, answered on the simulator page."""

    name = "simulated"

    def place_call(self, call: OutboundCall) -> PlacedCall:
        return self.place_calls([call])[0]

    def place_calls(self, calls: Sequence[OutboundCall]) -> list[PlacedCall]:
        """Place many calls at once, in the order given: one INSERT ... ON CONFLICT (token) DO
        NOTHING per ``BATCH_SIZE`` calls, then the sids read back by token. A token already
        placed (here or in an earlier call) gets the call already there."""
        tokens = [call.token for call in calls]
        if not tokens:
            return []
        if any(not token for token in tokens):
            raise PermanentTelephonyError("a call to place needs its attempt token")
        now = utcnow()
        placed: dict[str, PlacedCall] = {}
        with provider_connection() as connection:
            statement = _insert(connection.dialect.name)
            for start in range(0, len(calls), BATCH_SIZE):
                batch = calls[start : start + BATCH_SIZE]
                connection.execute(statement, [_row(call, now) for call in batch])
            lookup = sa.select(calls_table.c.token, calls_table.c.sid, calls_table.c.status).where(
                calls_table.c.token.in_(sa.bindparam("tokens", expanding=True))
            )
            unique_tokens = list(dict.fromkeys(tokens))
            for start in range(0, len(unique_tokens), BATCH_SIZE):
                batch_tokens = unique_tokens[start : start + BATCH_SIZE]
                for token, sid, status in connection.execute(lookup, {"tokens": batch_tokens}):
                    placed[token] = PlacedCall(sid=sid, status=status)
        return [placed[token] for token in tokens]

    def find_call(self, *, token: str, to: str, since: datetime) -> PlacedCall | None:
        """The call placed with ``token`` (``to`` and ``since`` are not needed: the token
        names the attempt)."""
        with provider_connection() as connection:
            row = connection.execute(
                sa.select(calls_table.c.sid, calls_table.c.status).where(
                    calls_table.c.token == token
                )
            ).first()
        return PlacedCall(sid=row.sid, status=row.status) if row else None

    def connect_to_agent(
        self, call_sid: str, agent_number: str, *, after_dial: str | None = None
    ) -> None:
        """Record on the inbound call that it was put through to ``agent_number`` (TwiML
        ``<Dial>``, shown on the simulator page). Refused like Twilio refuses it: unknown
        sid (20404), call already over (21220)."""
        response = agent_dial(agent_number, after_dial)
        with provider_connection() as connection:
            row = connection.execute(
                sa.select(calls_table.c.status, calls_table.c.transcript).where(
                    calls_table.c.sid == call_sid
                )
            ).first()
            if row is None:
                raise PermanentTelephonyError(f"no call {call_sid}", "20404")
            if row.status in ENDED_STATUSES:
                raise PermanentTelephonyError(f"call {call_sid} is not in progress", "21220")
            transcript = [
                *(row.transcript or []),
                {"at": utcnow().isoformat(), "kind": "dial", "text": agent_number},
            ]
            connection.execute(
                calls_table.update()
                .where(calls_table.c.sid == call_sid)
                .values(twiml=str(response), transcript=transcript, status="in-progress")
            )
