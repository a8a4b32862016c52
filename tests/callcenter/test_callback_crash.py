"""Crash test on PostgreSQL: two scheduler processes sweep the same due callbacks through the
simulated line, one is SIGKILLed mid-sweep, a recovery sweep follows; every due callback is
placed exactly once (one simulated call per attempt token, one attempt per callback) and none
is lost."""

from __future__ import annotations

import json
import os
import queue
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from servicedesk.callcenter.callback_sweep import JOB_WORKERS, LEASE
from servicedesk.callcenter.models import Callback, CallbackAttempt, SimulatedCall
from servicedesk.core.db import utcnow
from servicedesk.customers.models import Customer
from servicedesk.tickets.models import Ticket

SWEEPER = textwrap.dedent(
    """
    import json, sys, threading, time
    from datetime import datetime, timedelta

    from servicedesk import create_app
    from servicedesk.callcenter.simulated_line import SimulatedLine
    from servicedesk.core.db import utcnow
    from servicedesk.scheduler import JOBS, run_job

    database_url, pause, batch_size, later_seconds = sys.argv[1:5]


    output = threading.Lock()


    def say(*words):
        '''One whole line at a time: the job's sweeper threads print side by side.'''
        with output:
            sys.stdout.write(" ".join(str(word) for word in words) + "\\n")
            sys.stdout.flush()


    class PausingLine(SimulatedLine):
        '''The simulated line; ``pause`` stops the process for good just before the first
        calls are placed ("before") or just after, before anything is recorded ("after").'''

        def place_calls(self, calls):
            if pause == "before":
                say("PAUSED", len(calls))
                time.sleep(3600)
            placed = super().place_calls(calls)
            if pause == "after":
                say("PAUSED", len(calls))
                time.sleep(3600)
            return placed


    import servicedesk.callcenter.callback_sweep as sweep

    sweep.BATCH_SIZE = int(batch_size)
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SECRET_KEY": "test-secret",
            "SERVICEDESK_TELEPHONY": "simulated",
            "SERVICEDESK_PUBLIC_URL": "http://testserver.example",
        }
    )
    app.extensions["servicedesk_line"] = PausingLine()
    (job,) = [job for job in JOBS if job.id == "callbacks"]
    say("STARTED")
    run = run_job(app, job, now=utcnow() + timedelta(seconds=float(later_seconds)))
    say("RESULT", json.dumps(dict(run.counts) if run.ok else None))
    """
)


def _seed(db, count: int, due) -> None:
    """``count`` due callbacks, each of a closed repair of its own customer."""
    db.session.execute(
        sa.insert(Customer),
        [
            {
                "code": f"K{n:06d}",
                "name": f"Customer {n}",
                "customer_class": "consumer",
                "province": "北京",
                "city": "北京",
                "language": "zh",
            }
            for n in range(count)
        ],
    )
    customers = dict(db.session.execute(sa.select(Customer.code, Customer.id)).all())
    db.session.execute(
        sa.insert(Ticket),
        [
            {
                "number": f"SD-2026-{n:06d}",
                "kind": "repair",
                "status": "closed",
                "customer_id": customers[f"K{n:06d}"],
                "summary": "Fixed",
                "closed_at": due - timedelta(days=1),
            }
            for n in range(count)
        ],
    )
    tickets = db.session.execute(sa.select(Ticket.id, Ticket.customer_id)).all()
    db.session.execute(
        sa.insert(Callback),
        [
            {
                "ticket_id": ticket_id,
                "customer_id": customer_id,
                "phone_e164": f"+86139{ticket_id:08d}",
                "language": "zh",
                "timezone": "Asia/Shanghai",
                "status": "scheduled",
                "due_at": due,
                "stop_detail": "",
            }
            for ticket_id, customer_id in tickets
        ],
    )
    db.session.commit()


class Sweeper:
    """One scheduler process running the ``callbacks`` job once."""

    def __init__(self, database_url, tmp_path, *, pause="none", batch_size=50, later=0.0):
        env = {**os.environ, "SERVICEDESK_INSTANCE_PATH": str(tmp_path)}
        env.pop("SERVICEDESK_SCHEDULER_IN_PROCESS", None)
        script = tmp_path / "sweeper.py"
        script.write_text(SWEEPER)
        self.process = subprocess.Popen(
            [sys.executable, str(script), database_url, pause, str(batch_size), str(later)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        self.reader = threading.Thread(
            target=lambda: [self.lines.put(line) for line in self.process.stdout], daemon=True
        )
        self.reader.start()

    def wait_for(self, marker: str, timeout: float = 120) -> str:
        deadline = time.monotonic() + timeout
        while True:
            for line in self.output:
                if line.startswith(marker):
                    return line
            assert time.monotonic() < deadline, "".join(self.output)
            try:
                self.output.append(self.lines.get(timeout=0.5))
            except queue.Empty:
                assert self.process.poll() is None or not self.lines.empty(), "".join(self.output)

    def wait_for_all(self, marker: str, count: int, timeout: float = 120) -> list[str]:
        """The first ``count`` output lines starting with ``marker``, waiting for them."""
        deadline = time.monotonic() + timeout
        while True:
            found = [line for line in self.output if line.startswith(marker)]
            if len(found) >= count:
                return found[:count]
            assert time.monotonic() < deadline, "".join(self.output)
            try:
                self.output.append(self.lines.get(timeout=0.5))
            except queue.Empty:
                assert self.process.poll() is None, "".join(self.output)

    def result(self) -> dict[str, int]:
        line = self.wait_for("RESULT")
        assert self.process.wait(timeout=120) == 0, "".join(self.output)
        counts = json.loads(line.split(" ", 1)[1])
        assert counts is not None, "".join(self.output)
        return counts

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)


def _placed_exactly_once(db, count: int) -> None:
    db.session.expire_all()
    callbacks = db.session.execute(sa.select(Callback.status, Callback.attempts_made)).all()
    assert len(callbacks) == count
    assert {status for status, _made in callbacks} == {"calling"}
    assert {made for _status, made in callbacks} == {1}
    attempts = db.session.execute(
        sa.select(CallbackAttempt.token, CallbackAttempt.status, CallbackAttempt.call_sid)
    ).all()
    assert len(attempts) == count
    assert {status for _token, status, _sid in attempts} == {"placed"}
    calls_per_token = dict(
        db.session.execute(
            sa.select(SimulatedCall.token, sa.func.count()).group_by(SimulatedCall.token)
        ).all()
    )
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SimulatedCall)) == count
    assert calls_per_token == {token: 1 for token, _status, _sid in attempts}
    sids = dict(db.session.execute(sa.select(SimulatedCall.token, SimulatedCall.sid)).all())
    assert all(sids[token] == sid for token, _status, sid in attempts)


def _dialling(db) -> int:
    db.session.expire_all()
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(CallbackAttempt)
        .where(CallbackAttempt.status == "dialling")
    )


@pytest.mark.postgres
@pytest.mark.parametrize("pause", ["before", "after"])
def test_a_sweeper_killed_between_claim_and_record_loses_nothing_and_places_nothing_twice(
    db, database_url, tmp_path, pause
):
    count = 600
    _seed(db, count, due=utcnow() - timedelta(minutes=1))
    doomed = Sweeper(database_url, tmp_path, pause=pause, batch_size=50)
    survivor = None
    try:
        # Each of the job's sweepers (threads) stops at its first batch.
        paused = doomed.wait_for_all("PAUSED", JOB_WORKERS)
        claimed_by_doomed = sum(int(line.split()[1]) for line in paused)
        # The other process runs past the lease while the paused one is alive: the attempts
        # it holds locked are not "recovered", and it places everything else.
        survivor = Sweeper(database_url, tmp_path, batch_size=50, later=LEASE.total_seconds() + 5)
        survivor_counts = survivor.result()
        assert survivor_counts["claimed"] == count - claimed_by_doomed
        assert survivor_counts["recovered"] == 0
        doomed.kill()
    finally:
        doomed.kill()
        if survivor is not None:
            survivor.kill()
    assert _dialling(db) == claimed_by_doomed
    expected_calls = claimed_by_doomed if pause == "after" else 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SimulatedCall)) == (
        count - claimed_by_doomed + expected_calls
    )

    # Within the lease the claim is left alone; after it, a recovery sweep settles it.
    early = Sweeper(database_url, tmp_path).result()
    assert (early["recovered"], early["claimed"], early["placed"]) == (0, 0, 0)
    later = LEASE.total_seconds() + 5
    recovery = Sweeper(database_url, tmp_path, later=later).result()
    assert recovery["recovered"] == claimed_by_doomed
    assert recovery["adopted"] == expected_calls
    assert recovery["claimed"] == 0
    _placed_exactly_once(db, count)


@pytest.mark.postgres
def test_two_sweepers_one_killed_at_a_random_moment(db, database_url, tmp_path):
    count = 3000
    _seed(db, count, due=utcnow() - timedelta(minutes=1))
    first = Sweeper(database_url, tmp_path, batch_size=40)
    second = Sweeper(database_url, tmp_path, batch_size=40)
    try:
        first.wait_for("STARTED")
        second.wait_for("STARTED")
        time.sleep(random.uniform(0.2, 1.5))
        first.kill()
        second.result()
    finally:
        first.kill()
        second.kill()
    Sweeper(database_url, tmp_path, later=LEASE.total_seconds() + 5).result()
    _placed_exactly_once(db, count)
