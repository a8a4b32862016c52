"""The escalation sweep: a warning at 75% of each SLA target, an escalation on its breach.

Each warning and each breach is announced exactly once per clock, however many sweepers run
at once in however many processes, because a sweeper first *claims* the clocks it handles:

* PostgreSQL: ``SELECT id FROM sla_clocks WHERE <due> ... LIMIT n FOR UPDATE SKIP LOCKED``
  (inside the ``UPDATE`` that marks them); the claimed rows stay locked until the batch
  commits, a concurrent sweeper skips them, and one that reads a row after the commit sees
  ``warned_at``/``breached_at`` set and leaves it.
* SQLite (and other databases): one conditional ``UPDATE sla_clocks SET warned_at = :now
  WHERE id IN (<due ids, oldest first, LIMIT n>) AND warned_at IS NULL AND ... RETURNING
  id``; the rows it changed are this sweeper's (SQLite runs one writer at a time and the
  condition is checked again by the update itself, so two sweepers never change one row).

The ``UNIQUE(clock_id, kind, audience)`` constraint on notifications is a last line of
defence only; the claim is what makes a second notice impossible.

Which clocks are due (the conditions repeat the partial indexes ``ix_sla_clocks_warn_pending``
and ``ix_sla_clocks_breach_pending`` term for term, so that the database uses them):

* every clock only while it runs: not met, not stopped (ticket cancelled), not paused
  (waiting on the customer);
* breach: ``breached_at IS NULL AND due_at < now``. A due time is inclusive (see
  :mod:`servicedesk.sla.clock`): a target met exactly at its due time is met, so a clock is
  breached only once ``now`` is strictly later;
* warning: ``warned_at IS NULL AND warn_at <= now``, for clocks not yet past due.

Breaches are swept before warnings. A clock found already past due that was never warned
(the scheduler was down, or the warning and due instants fell between two sweeps) gets its
``warned_at`` set too, but only the breach is announced: a warning after the fact adds nothing.

Each claimed clock yields one notification per audience (supervisors always; the ticket's
station too, except for complaints) and a ``TicketEvent`` (``sla_warning`` / ``sla_breach``,
no actor) in the ticket's history. Work goes in batches: :func:`sweep_batch` claims and
records one batch and flushes only; :func:`run_sweep` is the job that commits each batch.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import Flask, current_app
from psycopg import sql as psycopg_sql

from servicedesk.core.db import UTCDateTime, db
from servicedesk.notifications.models import Notification
from servicedesk.notifications.services import build_notifications
from servicedesk.sla.models import SlaClock
from servicedesk.tickets.models import Ticket, TicketEvent

WARNING = "sla_warning"
BREACH = "sla_breach"
KINDS = (BREACH, WARNING)
"""The order a sweep handles them in (breaches first, see the module docstring)."""
BATCH_SIZE = 5000
"""Clocks per transaction: big enough that a backlog of 100,000 goes in a few seconds, small
enough that a claim holds its row locks for well under a second."""
DEFAULT_WORKERS = 2
"""Sweepers side by side on PostgreSQL (see :func:`run_sweep`)."""


class ClaimedClock(NamedTuple):
    """A clock this sweeper claimed, with what the notices about it need from its ticket."""

    clock_id: int
    ticket_id: int
    target: str
    due_at: datetime
    timezone: str
    ticket_number: str
    ticket_kind: str
    station_id: int | None
    service_level: str | None

    def local_due_at(self) -> str:
        """The due time, ISO 8601 with the offset of the clock's time zone."""
        return self.due_at.astimezone(ZoneInfo(self.timezone)).isoformat(timespec="seconds")


@dataclass(frozen=True)
class BatchResult:
    """One batch: the clocks this sweeper claimed and the notifications it added for them."""

    kind: str
    claimed: int
    notifications: int

    def exhausted(self, batch_size: int) -> bool:
        """Nothing more to claim for this kind (as of the sweep's ``now``): a short batch.

        On PostgreSQL, due clocks locked by another sweeper are skipped and left to it.
        """
        return self.claimed < batch_size


@dataclass
class SweepResult:
    """What one sweep did: clocks warned, clocks breached, notifications and events added."""

    warnings: int = 0
    breaches: int = 0
    notifications: int = 0
    events: int = 0
    batches: int = 0

    def add(self, batch: BatchResult) -> None:
        if batch.kind == WARNING:
            self.warnings += batch.claimed
        else:
            self.breaches += batch.claimed
        self.notifications += batch.notifications
        self.events += batch.claimed
        self.batches += 1

    @classmethod
    def combine(cls, results: Sequence[SweepResult]) -> SweepResult:
        """The sum of several sweepers' results."""
        total = cls()
        for result in results:
            total.warnings += result.warnings
            total.breaches += result.breaches
            total.notifications += result.notifications
            total.events += result.events
            total.batches += result.batches
        return total

    def as_dict(self) -> dict[str, int]:
        return {
            "warnings": self.warnings,
            "breaches": self.breaches,
            "notifications": self.notifications,
            "events": self.events,
            "batches": self.batches,
        }


def _running() -> tuple[sa.ColumnElement[bool], ...]:
    return (
        SlaClock.met_at.is_(None),
        SlaClock.stopped_at.is_(None),
        SlaClock.paused_since.is_(None),
    )


def due_condition(kind: str, now: datetime) -> tuple[sa.ColumnElement[bool], ...]:
    """The WHERE terms selecting clocks due for ``kind`` at ``now`` (see the module docstring)."""
    if kind == BREACH:
        return (*_running(), SlaClock.breached_at.is_(None), SlaClock.due_at < now)
    if kind == WARNING:
        return (
            *_running(),
            SlaClock.warned_at.is_(None),
            SlaClock.warn_at <= now,
            SlaClock.due_at >= now,
        )
    raise ValueError(f"unknown sweep kind {kind!r}")


def _claim_values(kind: str, now: datetime) -> dict[str, Any]:
    if kind == BREACH:
        return {
            "breached_at": now,
            "warned_at": sa.func.coalesce(SlaClock.warned_at, sa.literal(now, UTCDateTime())),
        }
    return {"warned_at": now}


CLAIMED_COLUMNS = (
    SlaClock.id,
    SlaClock.ticket_id,
    SlaClock.target,
    SlaClock.due_at,
    SlaClock.timezone,
    Ticket.number,
    Ticket.kind,
    Ticket.station_id,
    Ticket.service_level,
)
"""What :class:`ClaimedClock` holds, in its field order."""


def due_clocks(kind: str, now: datetime, limit: int) -> sa.Select:
    """The ids of up to ``limit`` clocks due for ``kind`` at ``now``, the longest due first
    (in the order of the kind's pending index, so that no sort is needed)."""
    oldest_first = SlaClock.due_at if kind == BREACH else SlaClock.warn_at
    return (
        sa.select(SlaClock.id).where(*due_condition(kind, now)).order_by(oldest_first).limit(limit)
    )


def _mark(kind: str, now: datetime) -> sa.Update:
    return (
        sa.update(SlaClock)
        .values(_claim_values(kind, now))
        .execution_options(synchronize_session=False)
    )


def locking_claim(kind: str, now: datetime, limit: int) -> sa.Update:
    """PostgreSQL's claim statement (see :func:`claim_batch`)."""
    locked = due_clocks(kind, now, limit).with_for_update(skip_locked=True).subquery("due")
    return (
        _mark(kind, now)
        .where(SlaClock.id == locked.c.id, Ticket.id == SlaClock.ticket_id)
        .returning(*CLAIMED_COLUMNS)
    )


def claim_batch(kind: str, now: datetime, limit: int = BATCH_SIZE) -> list[ClaimedClock]:
    """Claim up to ``limit`` clocks due for ``kind`` and mark them warned/breached at
    ``now``; the caller's transaction holds the claim until it commits.

    PostgreSQL, one statement: ``UPDATE sla_clocks ... FROM (SELECT id ... FOR UPDATE SKIP
    LOCKED) due, tickets ... RETURNING`` the claimed clocks with their tickets' columns;
    rows another sweeper holds are skipped.

    Elsewhere: one conditional ``UPDATE ... WHERE id IN (due ids) AND <still due>
    RETURNING id``, then the claimed clocks' details. As the transaction's first statement
    the update waits for SQLite's write lock before it reads, so two SQLite sweepers take
    turns instead of failing with "database is locked".
    """
    if db.session.get_bind().dialect.name == "postgresql":
        rows = db.session.connection().execute(locking_claim(kind, now, limit))
        return [ClaimedClock(*row) for row in rows]

    still_due = SlaClock.id.in_(due_clocks(kind, now, limit))
    marked = db.session.execute(
        _mark(kind, now).where(still_due, *due_condition(kind, now)).returning(SlaClock.id)
    )
    ids = list(marked.scalars())
    if not ids:
        return []
    details = (
        sa.select(*CLAIMED_COLUMNS)
        .join(Ticket, Ticket.id == SlaClock.ticket_id)
        .where(SlaClock.id.in_(ids))
    )
    return [ClaimedClock(*row) for row in db.session.execute(details)]


def record_claimed(kind: str, claimed: list[ClaimedClock], now: datetime) -> int:
    """Insert the notifications and ticket events for claimed clocks; notifications count."""
    notifications: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for clock in claimed:
        due_at = clock.local_due_at()
        data = {
            "target": clock.target,
            "due_at": due_at,
            "ticket_number": clock.ticket_number,
            "ticket_kind": clock.ticket_kind,
            "service_level": clock.service_level,
        }
        notifications.extend(
            build_notifications(
                kind,
                ticket_id=clock.ticket_id,
                ticket_kind=clock.ticket_kind,
                station_id=clock.station_id,
                clock_id=clock.clock_id,
                data=data,
                now=now,
            )
        )
        events.append(
            {
                "ticket_id": clock.ticket_id,
                "at": now,
                "actor_id": None,
                "action": kind,
                "from_status": None,
                "to_status": None,
                "reason": "",
                "data": {"target": clock.target, "due_at": due_at},
            }
        )
    insert_many(TicketEvent, events)
    insert_many(Notification, notifications)
    return len(notifications)


def insert_many(model: type[db.Model], rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert rows (dicts with the same keys, column names) into ``model``'s table, fast.

    PostgreSQL: one ``COPY ... FROM STDIN`` on the session's connection (so in the same
    transaction), each value converted as its column type binds it (an aware datetime
    becomes naive UTC, JSON its text); elsewhere one executemany ``INSERT``.
    """
    if not rows:
        return
    connection = db.session.connection()
    if connection.dialect.name != "postgresql":
        db.session.execute(sa.insert(model), rows, execution_options={"render_nulls": True})
        return
    table = model.__table__
    names = list(rows[0])
    columns = []
    for name in names:
        field, costly = _copy_field(table.c[name].type, connection.dialect)
        if costly:
            texts: dict[int, str] = {}  # by object: a value shared by rows converts once
            column = []
            for row in rows:
                value = row[name]
                text = texts.get(id(value))
                if text is None:
                    text = texts[id(value)] = field(value)
                column.append(text)
        else:
            column = [field(row[name]) for row in rows]
        columns.append(column)
    payload = "".join("\t".join(fields) + "\n" for fields in zip(*columns, strict=True))
    copy_statement = psycopg_sql.SQL("COPY {} ({}) FROM STDIN").format(
        psycopg_sql.Identifier(table.name),
        psycopg_sql.SQL(", ").join(map(psycopg_sql.Identifier, names)),
    )
    driver_connection = connection.connection.driver_connection
    with driver_connection.cursor() as cursor, cursor.copy(copy_statement) as copy:
        copy.write(payload)


def _copy_field(column_type: sa.types.TypeEngine, dialect) -> tuple[Callable[[Any], str], bool]:
    """How a value of ``column_type`` is written as a text-format COPY field (``\\N`` for
    NULL), and whether that conversion is costly enough to do once per distinct object."""
    implementation = column_type.dialect_impl(dialect)
    if isinstance(implementation, sa.JSON):
        return (lambda value: _COPY_NULL if value is None else _escaped(json.dumps(value))), True
    bind = implementation.bind_processor(dialect)
    if bind is not None:
        return (lambda value: _COPY_NULL if value is None else _escaped(_text(bind(value)))), True
    return (lambda value: _COPY_NULL if value is None else _escaped(_text(value))), False


_COPY_NULL = "\\N"
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _escaped(text: str) -> str:
    return text.translate(_COPY_ESCAPES)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "t" if value else "f"
    return str(value)


def sweep_batch(kind: str, now: datetime, limit: int = BATCH_SIZE) -> BatchResult:
    """Claim one batch of clocks due for ``kind`` and record their notices; never commits."""
    claimed = claim_batch(kind, now, limit)
    notifications = record_claimed(kind, claimed, now)
    return BatchResult(kind=kind, claimed=len(claimed), notifications=notifications)


def run_sweep(
    now: datetime, *, batch_size: int = BATCH_SIZE, workers: int = DEFAULT_WORKERS
) -> SweepResult:
    """Sweep every clock due at ``now``, committing after each batch (the job's transaction
    boundary: a crash loses at most the batch in progress, which the next sweep redoes).

    On PostgreSQL ``workers`` sweepers run side by side, each in a thread with its own app
    context (so its own session and connection), sharing the work through the claim; a
    large backlog is swept in about half the time on two cores. Elsewhere one sweeper runs.
    Rolls back and re-raises on error. Call it in an app context outside a request, e.g.
    from the scheduler.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    if workers == 1 or db.session.get_bind().dialect.name != "postgresql":
        return _sweep_until_done(now, batch_size)
    app = current_app._get_current_object()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sla-sweep") as pool:
        runs = [
            pool.submit(_sweep_in_app_context, app, now, batch_size) for _worker in range(workers)
        ]
        results = [run.result() for run in runs]
    return SweepResult.combine(results)


def _sweep_in_app_context(app: Flask, now: datetime, batch_size: int) -> SweepResult:
    with app.app_context():
        return _sweep_until_done(now, batch_size)


def _sweep_until_done(now: datetime, batch_size: int) -> SweepResult:
    """One sweeper's loop, a transaction per batch.

    On PostgreSQL a batch commits without waiting for its WAL to reach the disk
    (``synchronous_commit off``): a database crash just then loses the batch as a whole, its
    claim together with its notices, and the next sweep does it again.
    """
    asynchronous_commit = db.session.get_bind().dialect.name == "postgresql"
    result = SweepResult()
    for kind in KINDS:
        while True:
            try:
                if asynchronous_commit:
                    db.session.execute(sa.text("SET LOCAL synchronous_commit TO OFF"))
                batch = sweep_batch(kind, now, batch_size)
                db.session.commit()
            except BaseException:
                db.session.rollback()
                raise
            result.add(batch)
            if batch.exhausted(batch_size):
                break
    return result
