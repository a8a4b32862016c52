"""Periodic background jobs and the processes that run them.

The jobs are defined in code (:data:`JOBS`); each one claims its work from database rows, so
any number of scheduler processes (``servicedesk scheduler``, one per machine if you like) and
in-process schedulers may run them at the same time without doing anything twice.

* ``servicedesk scheduler``: a foreground APScheduler ``BlockingScheduler``; SIGTERM or
  SIGINT stops it after the jobs running at that moment finish.
* ``servicedesk sweep``: every job once, now, printing what each did.
* In-process: with ``SERVICEDESK_SCHEDULER_IN_PROCESS`` set, ``create_app`` starts a
  ``BackgroundScheduler`` in the web server process (the single-machine default of
  ``make run``), once per process however many threads serve requests. Never under
  ``TESTING`` and never inside a CLI command (migrations, imports, the scheduler itself).

A job runs inside an app context; an exception is logged and rolled back, and the job runs
again at its next interval. A run still going when the next is due makes that one wait
(``max_instances=1``); runs missed meanwhile collapse into one (``coalesce=True``).
"""

from __future__ import annotations

import atexit
import logging
import signal
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import click
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask, current_app
from flask.cli import with_appcontext

from servicedesk.core.db import db, utcnow

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    """A periodic job: ``run(now)`` does the work (committing as it goes) and returns counts."""

    id: str
    description: str
    run: Callable[[datetime], Mapping[str, int]]
    every_seconds: int


def sla_sweep(now: datetime) -> Mapping[str, int]:
    from servicedesk.sla.sweep import run_sweep

    return run_sweep(now).as_dict()


def dispatch_waiting_repairs(now: datetime) -> Mapping[str, int]:
    from servicedesk.dispatch.services import dispatch_waiting

    return dispatch_waiting(now)


def station_scorecards(now: datetime) -> Mapping[str, int]:
    from servicedesk.stations.scorecards import refresh_all_scorecards

    return refresh_all_scorecards(now)


def satisfaction_callbacks(now: datetime) -> Mapping[str, int]:
    from servicedesk.callcenter.callback_sweep import JOB_WORKERS, run_callback_sweep

    return run_callback_sweep(now, workers=JOB_WORKERS).as_dict()


JOBS: tuple[Job, ...] = (
    Job(
        id="sla_sweep",
        description="SLA warnings at 75% of a target and escalations on breach",
        run=sla_sweep,
        every_seconds=30,
    ),
    Job(
        id="dispatch_waiting",
        description="Dispatch repairs waiting for a station as capacity frees",
        run=dispatch_waiting_repairs,
        every_seconds=30,
    ),
    Job(
        id="scorecards",
        description="Rolling 90-day station scorecards; automatic probation",
        run=station_scorecards,
        every_seconds=600,
    ),
    Job(
        id="callbacks",
        description="Place due satisfaction callbacks; recover attempts of dead sweepers",
        run=satisfaction_callbacks,
        every_seconds=30,
    ),
)
"""Every periodic job (later: satisfaction callbacks)."""

JOB_DEFAULTS = {"max_instances": 1, "coalesce": True, "misfire_grace_time": None}


@dataclass(frozen=True)
class JobRun:
    job: Job
    counts: Mapping[str, int] | None
    """What the job did; None when it failed."""
    seconds: float

    @property
    def ok(self) -> bool:
        return self.counts is not None

    def summary(self) -> str:
        if self.counts is None:
            return f"{self.job.id}: failed after {self.seconds:.2f} s (see the log)"
        counts = ", ".join(f"{name} {value}" for name, value in self.counts.items())
        return f"{self.job.id}: {counts} ({self.seconds:.2f} s)"


def run_job(app: Flask, job: Job, *, now: datetime | None = None) -> JobRun:
    """Run ``job`` once inside an app context; log and swallow any exception it raises."""
    started = time.perf_counter()
    with app.app_context():
        try:
            counts = job.run(now or utcnow())
        except Exception:
            db.session.rollback()
            logger.exception("job %s failed", job.id)
            counts = None
    run = JobRun(job=job, counts=counts, seconds=time.perf_counter() - started)
    if run.ok:
        logger.info(run.summary())
    return run


def build_scheduler(
    app: Flask, scheduler_class: type[BaseScheduler], jobs: Sequence[Job] = JOBS
) -> BaseScheduler:
    """A scheduler (not started) with each job on its interval, the first run right away."""
    scheduler = scheduler_class(job_defaults=JOB_DEFAULTS, timezone=UTC)
    for job in jobs:
        scheduler.add_job(
            run_job,
            IntervalTrigger(seconds=job.every_seconds, timezone=UTC),
            args=(app, job),
            id=job.id,
            name=job.id,
            next_run_time=datetime.now(UTC),
        )
    return scheduler


class _StopRequested(Exception):
    pass


def _request_stop(signum, _frame) -> None:
    raise _StopRequested(signal.Signals(signum).name)


def run_forever(app: Flask, jobs: Sequence[Job] = JOBS) -> None:
    """Run the jobs in the foreground until SIGTERM or SIGINT, then wait for running jobs."""
    scheduler = build_scheduler(app, BlockingScheduler, jobs)
    previous = {sig: signal.signal(sig, _request_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        logger.info("scheduler started: %s", ", ".join(job.id for job in jobs))
        scheduler.start()
    except _StopRequested as stop:
        logger.info("%s received: stopping after the running jobs finish", stop)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if scheduler.running:
        scheduler.shutdown(wait=True)
    logger.info("scheduler stopped")


_in_process_lock = threading.Lock()
_in_process: BackgroundScheduler | None = None


def start_in_process(app: Flask, jobs: Sequence[Job] = JOBS) -> BackgroundScheduler | None:
    """Start the background scheduler for this process when the app asks for it.

    Only when ``SERVICEDESK_SCHEDULER_IN_PROCESS`` is true, the app is not ``TESTING`` and
    no CLI command is running; at most one per process (later calls return the first).
    Returns the running scheduler, or None when none is wanted.
    """
    global _in_process
    if not app.config.get("SERVICEDESK_SCHEDULER_IN_PROCESS") or app.testing:
        return None
    if click.get_current_context(silent=True) is not None:
        return None
    with _in_process_lock:
        if _in_process is None:
            scheduler = build_scheduler(app, BackgroundScheduler, jobs)
            scheduler.start()
            _in_process = scheduler
            atexit.register(stop_in_process)
            logger.info("in-process scheduler started: %s", ", ".join(job.id for job in jobs))
        return _in_process


def stop_in_process() -> None:
    """Stop this process's background scheduler, if any, after its running jobs finish."""
    global _in_process
    with _in_process_lock:
        scheduler, _in_process = _in_process, None
    if scheduler is not None and scheduler.running:
        scheduler.shutdown(wait=True)


def _configure_logging() -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logger.setLevel(logging.INFO)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


@click.command("sweep")
@with_appcontext
def sweep_command() -> None:
    """Run every background job once, now, and print what each did."""
    app = current_app._get_current_object()
    runs = [run_job(app, job) for job in JOBS]
    for run in runs:
        click.echo(run.summary())
    if not all(run.ok for run in runs):
        raise click.exceptions.Exit(1)


@click.command("scheduler")
@with_appcontext
def scheduler_command() -> None:
    """Run the background jobs on their intervals until stopped (SIGTERM or Ctrl+C)."""
    _configure_logging()
    for job in JOBS:
        click.echo(f"{job.id}: every {job.every_seconds} s, {job.description}")
    run_forever(current_app._get_current_object())
