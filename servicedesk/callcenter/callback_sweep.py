"""The callback sweep: place the satisfaction calls that are due, and recover dead sweepers'.

A call must never be placed twice for one attempt, even with several sweepers at once or one
killed half-way, and no due callback may be lost. So a sweep works in two committed steps per
batch, and recovers what a dead sweeper left between them:

1. **Claim** (one transaction, committed before any call is placed). PostgreSQL:
   ``UPDATE callbacks SET status = 'calling', attempts_made = attempts_made + 1 FROM (SELECT id
   ... WHERE status = 'scheduled' AND due_at <= now AND <not do-not-call> ORDER BY due_at LIMIT
   n FOR UPDATE SKIP LOCKED) ... RETURNING``: a concurrent sweeper skips the rows locked here,
   and once this commits they are no longer ``scheduled``. SQLite (one writer at a time): the
   same conditional ``UPDATE ... WHERE id IN (<due ids>) AND status = 'scheduled'``. Each
   claimed callback gets a :class:`CallbackAttempt` in status ``dialling`` with a new token,
   ``claimed_at`` and ``claimed_by`` (one bulk insert).
2. **Dial** (a second transaction). The claimed attempts still ``dialling`` are locked
   (``FOR UPDATE``: while this sweeper lives, recovery skips them), the do-not-call list is
   checked again just before dialling (an attempt found on it ends ``not_placed`` and its
   callback ``stopped``), the calls are placed through :func:`get_line` (``place_calls`` in
   bulk when the line has it) with the attempt token, and each attempt records its call sid
   and ``placed``; then commit. A provider error ends the attempt ``error``: transient ones are
   retried later, permanent ones stop the callback (see :mod:`servicedesk.callcenter.callbacks`).

**Recovery.** A sweeper killed between the two steps (or during the second) leaves attempts
``dialling`` and unlocked. After :data:`LEASE` they are taken (``FOR UPDATE SKIP LOCKED``, so
never one a live sweeper holds), the line is asked whether a call was placed for the attempt
(``find_call(token=, to=, since=claimed_at)``): if so its sid is adopted, else the call is
placed now, under the same attempt and token, which the provider (the simulated line) treats
idempotently. A dead recoverer leaves the attempt as it found it, for the next one.

The lease must outlast one batch's dialling; batches on a line without bulk placing are kept
small (:data:`SINGLE_CALL_BATCH`) for that reason.

**Lost status callbacks.** A placed call whose final status callback never arrived (the
application was down) would leave its callback ``calling`` for ever; after
:data:`CALL_LOST_AFTER` the sweep asks the line how it ended (:func:`settle_lost_calls`).
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import sqlalchemy as sa
from flask import Flask, current_app

from servicedesk.callcenter import callbacks
from servicedesk.callcenter.models import Callback, CallbackAttempt, DoNotCallNumber
from servicedesk.callcenter.telephony import (
    SIMULATED_FROM_NUMBER,
    Line,
    OutboundCall,
    PermanentTelephonyError,
    PlacedCall,
    TelephonyError,
    get_line,
    public_url,
)
from servicedesk.core.db import UTCDateTime, db
from servicedesk.customers.models import Customer
from servicedesk.sla.sweep import insert_many

BATCH_SIZE = 2000
"""Callbacks per claim on a line that places calls in bulk (the simulated line)."""
SINGLE_CALL_BATCH = 10
"""Callbacks per claim on a line that places one call per request (Twilio): their dialling
must finish well inside :data:`LEASE`."""
LEASE = timedelta(minutes=2)
"""How long an attempt may stay ``dialling`` before recovery treats its sweeper as dead."""
RING_TIMEOUT_SECONDS = 20
CALL_LOST_AFTER = timedelta(hours=1)
"""A placed call with no final status callback after this long is asked about (see
:func:`settle_lost_calls`): no survey call lasts that long."""
LOST_CALLS_PER_SWEEP = 100
JOB_WORKERS = 2
"""Sweepers side by side in the scheduler's job on PostgreSQL (see :func:`run_callback_sweep`)."""


@dataclass
class CallbackSweepResult:
    """What one sweep did (counts of callbacks or attempts)."""

    claimed: int = 0
    placed: int = 0
    do_not_call: int = 0
    errors: int = 0
    recovered: int = 0
    adopted: int = 0
    settled: int = 0
    batches: int = 0

    def add(self, other: CallbackSweepResult) -> None:
        for field in fields(self):
            setattr(self, field.name, getattr(self, field.name) + getattr(other, field.name))

    def as_dict(self) -> dict[str, int]:
        return {field.name: getattr(self, field.name) for field in fields(self)}


class Dialling(NamedTuple):
    """An attempt about to be dialled, with what the call needs."""

    attempt_id: int
    token: str
    callback_id: int
    phone: str
    claimed_at: datetime


def sweeper_name() -> str:
    """Who claims: host, process and thread (``claimed_by``)."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"[:120]


def _postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def _not_do_not_call() -> tuple[sa.ColumnElement[bool], ...]:
    return (
        ~Callback.customer_id.in_(sa.select(Customer.id).where(Customer.do_not_call)),
        ~sa.exists().where(DoNotCallNumber.e164 == Callback.phone_e164),
    )


def _due(now: datetime) -> tuple[sa.ColumnElement[bool], ...]:
    return (Callback.status == "scheduled", Callback.due_at <= now)


def stop_do_not_call(now: datetime) -> int:
    """Stop the due callbacks whose customer or number went on the do-not-call list since
    they were scheduled (checked when claiming); how many."""
    on_list = sa.or_(
        Callback.customer_id.in_(sa.select(Customer.id).where(Customer.do_not_call)),
        sa.exists().where(DoNotCallNumber.e164 == Callback.phone_e164),
    )
    result = db.session.execute(
        sa.update(Callback)
        .where(*_due(now), on_list)
        .values(
            status="stopped",
            stop_reason=callbacks.STOP_DO_NOT_CALL,
            due_at=None,
            finished_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def claim_batch(now: datetime, limit: int, claimed_by: str) -> list[Dialling]:
    """Claim up to ``limit`` due callbacks (the longest due first) and create their
    ``dialling`` attempts; the caller commits (see the module docstring)."""
    due_ids = (
        sa.select(Callback.id)
        .where(*_due(now), *_not_do_not_call())
        .order_by(Callback.due_at)
        .limit(limit)
    )
    claim = sa.update(Callback).values(status="calling", attempts_made=Callback.attempts_made + 1)
    returning = (Callback.id, Callback.attempts_made, Callback.phone_e164)
    if _postgresql():
        locked = due_ids.with_for_update(skip_locked=True, of=Callback).subquery("due")
        statement = claim.where(Callback.id == locked.c.id).returning(*returning)
    else:
        statement = claim.where(Callback.id.in_(due_ids), *_due(now)).returning(*returning)
    rows = db.session.execute(statement.execution_options(synchronize_session=False)).all()
    if not rows:
        return []
    attempts = [
        {
            "callback_id": callback_id,
            "number": number,
            "token": secrets.token_urlsafe(24),
            "status": "dialling",
            "claimed_at": now,
            "claimed_by": claimed_by,
            "error_message": "",
        }
        for callback_id, number, _phone in rows
    ]
    insert_many(CallbackAttempt, attempts)
    return [
        Dialling(0, attempt["token"], callback_id, phone, now)
        for attempt, (callback_id, _number, phone) in zip(attempts, rows, strict=True)
    ]


_DIALLING_COLUMNS = (
    CallbackAttempt.id,
    CallbackAttempt.token,
    CallbackAttempt.callback_id,
    Callback.phone_e164,
    CallbackAttempt.claimed_at,
)


def lock_claimed(tokens: Sequence[str]) -> list[Dialling]:
    """The attempts of ``tokens`` still ``dialling``, locked (PostgreSQL) for dialling."""
    query = (
        sa.select(*_DIALLING_COLUMNS)
        .join(Callback, Callback.id == CallbackAttempt.callback_id)
        .where(
            CallbackAttempt.token.in_(sa.bindparam("tokens", expanding=True)),
            CallbackAttempt.status == "dialling",
        )
        .order_by(CallbackAttempt.id)
    )
    if _postgresql():
        query = query.with_for_update(of=CallbackAttempt)
    return [Dialling(*row) for row in db.session.execute(query, {"tokens": list(tokens)})]


def lock_stale(now: datetime, limit: int, lease: timedelta = LEASE) -> list[Dialling]:
    """Up to ``limit`` attempts left ``dialling`` for longer than ``lease`` by a sweeper that
    is gone, locked (``SKIP LOCKED``: never one a live sweeper holds)."""
    query = (
        sa.select(*_DIALLING_COLUMNS)
        .join(Callback, Callback.id == CallbackAttempt.callback_id)
        .where(CallbackAttempt.status == "dialling", CallbackAttempt.claimed_at < now - lease)
        .order_by(CallbackAttempt.claimed_at)
        .limit(limit)
    )
    if _postgresql():
        query = query.with_for_update(of=CallbackAttempt, skip_locked=True)
    return [Dialling(*row) for row in db.session.execute(query)]


def _end_on_do_not_call(dialling: list[Dialling], now: datetime) -> tuple[list[Dialling], int]:
    """Check the do-not-call list just before dialling: the attempts on it end
    ``not_placed`` and their callbacks stop. Returns the others and how many stopped."""
    if not dialling:
        return dialling, 0
    ids = [item.callback_id for item in dialling]
    stopped = set(
        db.session.scalars(
            sa.select(Callback.id)
            .join(Customer, Customer.id == Callback.customer_id)
            .where(
                Callback.id.in_(sa.bindparam("ids", expanding=True)),
                sa.or_(
                    Customer.do_not_call,
                    sa.exists().where(DoNotCallNumber.e164 == Callback.phone_e164),
                ),
            ),
            {"ids": ids},
        )
    )
    if not stopped:
        return dialling, 0
    db.session.execute(
        sa.update(CallbackAttempt)
        .where(
            CallbackAttempt.callback_id.in_(sa.bindparam("ids", expanding=True)),
            CallbackAttempt.status == "dialling",
        )
        .values(status="not_placed", ended_at=now, error_message="on the do-not-call list")
        .execution_options(synchronize_session=False),
        {"ids": list(stopped)},
    )
    db.session.execute(
        sa.update(Callback)
        .where(Callback.id.in_(sa.bindparam("ids", expanding=True)))
        .values(
            status="stopped", stop_reason=callbacks.STOP_DO_NOT_CALL, due_at=None, finished_at=now
        )
        .execution_options(synchronize_session=False),
        {"ids": list(stopped)},
    )
    return [item for item in dialling if item.callback_id not in stopped], len(stopped)


def outbound_call(item: Dialling) -> OutboundCall:
    """The call of one attempt: TwiML and status-callback URLs named by its token."""
    config = current_app.config
    return OutboundCall(
        to=item.phone,
        from_=config.get("TWILIO_FROM_NUMBER") or SIMULATED_FROM_NUMBER,
        url=public_url(f"/twilio/voice/survey/{item.token}"),
        status_callback=public_url(f"/twilio/voice/status/{item.token}"),
        token=item.token,
        machine_detection=True,
        timeout_seconds=RING_TIMEOUT_SECONDS,
    )


_PLACED_FROM_ARRAYS = sa.text(
    "UPDATE callback_attempts AS a SET call_sid = coalesce(a.call_sid, p.sid), "
    "placed_at = coalesce(a.placed_at, :now), "
    "status = CASE WHEN a.status = 'dialling' THEN 'placed' ELSE a.status END "
    "FROM unnest(CAST(:ids AS integer[]), CAST(:sids AS text[])) AS p(attempt, sid) "
    "WHERE a.id = p.attempt"
).bindparams(sa.bindparam("now", type_=UTCDateTime()))


def _record_placed(placed: Sequence[tuple[Dialling, PlacedCall]], now: datetime) -> None:
    """Each attempt's call sid and ``placed`` (unless a webhook already moved it on): on
    PostgreSQL one ``UPDATE ... FROM unnest(ids, sids)``, elsewhere one executemany."""
    if not placed:
        return
    table = CallbackAttempt.__table__
    changes = {
        "placed_at": sa.func.coalesce(table.c.placed_at, sa.literal(now, UTCDateTime())),
        "status": sa.case((table.c.status == "dialling", "placed"), else_=table.c.status),
    }
    if _postgresql():
        db.session.execute(
            _PLACED_FROM_ARRAYS,
            {
                "ids": [item.attempt_id for item, _call in placed],
                "sids": [call.sid for _item, call in placed],
                "now": now,
            },
        )
        return
    db.session.connection().execute(
        table.update()
        .where(table.c.id == sa.bindparam("attempt"))
        .values(call_sid=sa.func.coalesce(table.c.call_sid, sa.bindparam("sid")), **changes),
        [{"attempt": item.attempt_id, "sid": call.sid} for item, call in placed],
    )


def _record_error(item: Dialling, error: TelephonyError, now: datetime) -> None:
    attempt = db.session.get(CallbackAttempt, item.attempt_id, populate_existing=True)
    callbacks.finish_attempt(
        attempt,
        "error",
        now=now,
        error_code=error.code,
        error_message=error.message,
        permanent=isinstance(error, PermanentTelephonyError),
    )


def _place(line: Line, dialling: list[Dialling], now: datetime) -> tuple[int, int]:
    """Place the calls and record them; (placed, errors)."""
    calls = [outbound_call(item) for item in dialling]
    place_calls = getattr(line, "place_calls", None)
    if place_calls is not None and len(calls) > 1:
        try:
            placed = place_calls(calls)
        except TelephonyError:
            placed = None  # told apart call by call below
        if placed is not None:
            _record_placed(list(zip(dialling, placed, strict=True)), now)
            return len(placed), 0
    successes: list[tuple[Dialling, PlacedCall]] = []
    errors = 0
    for item, call in zip(dialling, calls, strict=True):
        try:
            successes.append((item, line.place_call(call)))
        except TelephonyError as error:
            _record_error(item, error, now)
            errors += 1
    _record_placed(successes, now)
    return len(successes), errors


def dial(line: Line, dialling: list[Dialling], now: datetime) -> CallbackSweepResult:
    """Check do-not-call again, place the calls of locked ``dialling`` attempts and record
    them; the caller commits."""
    dialling, stopped = _end_on_do_not_call(dialling, now)
    placed, errors = _place(line, dialling, now) if dialling else (0, 0)
    return CallbackSweepResult(placed=placed, errors=errors, do_not_call=stopped)


def recover(line: Line, stale: list[Dialling], now: datetime) -> CallbackSweepResult:
    """Settle attempts a dead sweeper left ``dialling``: adopt the call the line already has
    for the attempt, or place it now under the same token; the caller commits."""
    taken = len(stale)
    stale, stopped = _end_on_do_not_call(stale, now)
    adopted: list[tuple[Dialling, PlacedCall]] = []
    missing: list[Dialling] = []
    for item in stale:
        found = line.find_call(token=item.token, to=item.phone, since=item.claimed_at)
        if found is None:
            missing.append(item)
        else:
            adopted.append((item, found))
    _record_placed(adopted, now)
    placed, errors = _place(line, missing, now) if missing else (0, 0)
    return CallbackSweepResult(
        recovered=taken,
        adopted=len(adopted),
        placed=placed + len(adopted),
        errors=errors,
        do_not_call=stopped,
    )


def settle_lost_calls(
    line: Line, now: datetime, limit: int = LOST_CALLS_PER_SWEEP
) -> CallbackSweepResult:
    """Attempts placed more than :data:`CALL_LOST_AFTER` ago that never heard their final
    status callback (the application was down when it came): the line is asked how the call
    ended and the attempt ends so, which retries or finishes its callback as the webhook
    would have. A call the line does not know, or still reports in progress (a simulated call
    nobody answered yet), is left as it is. Locked ``SKIP LOCKED``; the caller commits."""
    placed_before = sa.func.coalesce(CallbackAttempt.placed_at, CallbackAttempt.claimed_at)
    query = (
        sa.select(CallbackAttempt)
        .where(
            CallbackAttempt.status.in_(("placed", "in_progress")),
            CallbackAttempt.ended_at.is_(None),
            placed_before < now - CALL_LOST_AFTER,
        )
        .order_by(CallbackAttempt.id)
        .limit(limit)
    )
    if _postgresql():
        query = query.with_for_update(of=CallbackAttempt, skip_locked=True)
    settled = 0
    for attempt in db.session.scalars(query).all():
        callback = attempt.callback
        found = line.find_call(
            token=attempt.token, to=callback.phone_e164 or "", since=attempt.claimed_at
        )
        if found is None or found.status not in callbacks.FINAL_CALL_STATUSES:
            continue
        if attempt.call_sid is None:
            attempt.call_sid = found.sid
        callbacks.finish_attempt(attempt, callbacks.FINAL_CALL_STATUSES[found.status], now=now)
        settled += 1
    return CallbackSweepResult(settled=settled)


def _recover_batch(line: Line, now: datetime, limit: int, lease: timedelta) -> CallbackSweepResult:
    return recover(line, lock_stale(now, limit, lease), now)


def _committed(work, *args: Any) -> Any:
    try:
        result = work(*args)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return result


def run_callback_sweep(
    now: datetime,
    *,
    batch_size: int | None = None,
    lease: timedelta = LEASE,
    line: Line | None = None,
    claimed_by: str | None = None,
    workers: int = 1,
) -> CallbackSweepResult:
    """The ``callbacks`` job: recover stale attempts, stop due callbacks now on the
    do-not-call list, then claim and dial due callbacks batch by batch until none is left
    (each claim and each dial its own transaction, see the module docstring). Call it in an
    app context outside a request.

    On PostgreSQL ``workers`` sweepers run side by side, each in a thread with its own app
    context (its own session and connection) and its own line unless ``line`` is given,
    sharing the work through the claims; elsewhere one runs.
    """
    if batch_size is not None and batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    if workers == 1 or not _postgresql():
        return _sweep(now, batch_size, lease, line, claimed_by)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="callback-sweep") as pool:
        runs = [
            pool.submit(_sweep_in_app_context, app, now, batch_size, lease, line)
            for _worker in range(workers)
        ]
        results = [run.result() for run in runs]
    total = CallbackSweepResult()
    for result in results:
        total.add(result)
    return total


def _sweep_in_app_context(
    app: Flask, now: datetime, batch_size: int | None, lease: timedelta, line: Line | None
) -> CallbackSweepResult:
    with app.app_context():
        return _sweep(now, batch_size, lease, line, None)


def _sweep(
    now: datetime,
    batch_size: int | None,
    lease: timedelta,
    line: Line | None,
    claimed_by: str | None,
) -> CallbackSweepResult:
    line = line or get_line()
    if batch_size is None:
        batch_size = BATCH_SIZE if hasattr(line, "place_calls") else SINGLE_CALL_BATCH
    claimed_by = claimed_by or sweeper_name()
    result = CallbackSweepResult()
    while True:
        recovered = _committed(_recover_batch, line, now, batch_size, lease)
        result.add(recovered)
        if recovered.recovered < batch_size:
            break
    result.add(_committed(settle_lost_calls, line, now))
    result.do_not_call += _committed(stop_do_not_call, now)
    while True:
        claimed = _committed(claim_batch, now, batch_size, claimed_by)
        if not claimed:
            break
        result.claimed += len(claimed)
        result.batches += 1

        def dial_claimed(claimed: list[Dialling] = claimed) -> CallbackSweepResult:
            return dial(line, lock_claimed([item.token for item in claimed]), now)

        result.add(_committed(dial_claimed))
        if len(claimed) < batch_size:
            break
    return result
