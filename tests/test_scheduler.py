import logging
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from datetime import date, timedelta

import click
import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from flask import current_app

from servicedesk import create_app
from servicedesk.config import config_from_env
from servicedesk.core.db import utcnow
from servicedesk.scheduler import (
    JOBS,
    Job,
    build_scheduler,
    run_job,
    start_in_process,
    stop_in_process,
)
from servicedesk.tickets.intake import TicketRequest, open_ticket

ACTIVE = (date(2020, 1, 1), date(2030, 12, 31))


def test_the_sla_sweep_runs_every_30_seconds_one_at_a_time(app):
    scheduler = build_scheduler(app, BackgroundScheduler)
    scheduler.start(paused=True)
    try:
        job = scheduler.get_job("sla_sweep")
        assert {j.id for j in scheduler.get_jobs()} == {job.id for job in JOBS}
        assert {"sla_sweep", "dispatch_waiting", "scorecards"} <= {job.id for job in JOBS}
        assert job.id == "sla_sweep"
        assert job.trigger.interval == timedelta(seconds=30)
        assert job.max_instances == 1
        assert job.coalesce is True
        assert job.args == (app, JOBS[0])
    finally:
        scheduler.shutdown(wait=False)


def test_a_failing_job_is_logged_and_does_not_raise(app, db, caplog):
    def explode(now):
        raise RuntimeError("database went away")

    with caplog.at_level(logging.ERROR, logger="servicedesk.scheduler"):
        run = run_job(app, Job(id="boom", description="fails", run=explode, every_seconds=1))
    assert not run.ok
    assert "boom: failed" in run.summary()
    assert "job boom failed" in caplog.text
    assert "database went away" in caplog.text


def test_a_job_runs_in_an_app_context_of_its_own(app):
    seen = {}

    def record(now):
        seen["app"] = current_app._get_current_object()
        seen["now"] = now
        return {"things": 3}

    at = utcnow()
    run = run_job(app, Job(id="record", description="", run=record, every_seconds=1), now=at)
    assert run.ok and run.counts == {"things": 3}
    assert run.summary().startswith("record: things 3 (")
    assert seen == {"app": app, "now": at}


def _overdue_repair(db, make_user, make_customer, make_asset):
    """A depot repair opened 60 days ago by the real clock: both its clocks are breached."""
    customer = make_customer()
    make_asset(customer, "PF3SCHED1", entitlements=[("depot", *ACTIVE)])
    request = TicketRequest(kind="repair", summary="Fan noise", serial="PF3SCHED1")
    ticket = open_ticket(make_user(), customer, request, now=utcnow() - timedelta(days=60))
    db.session.commit()
    return ticket


def test_sweep_command_runs_every_job_once_and_says_what_it_did(
    app, db, make_user, make_customer, make_asset
):
    _overdue_repair(db, make_user, make_customer, make_asset)
    runner = app.test_cli_runner()

    result = runner.invoke(args=["sweep"])
    assert result.exit_code == 0, result.output
    assert "sla_sweep: warnings 0, breaches 2, notifications 2, events 2" in result.output

    again = runner.invoke(args=["sweep"])
    assert "sla_sweep: warnings 0, breaches 0, notifications 0" in again.output


def test_in_process_scheduler_needs_the_setting_and_never_runs_in_tests(app, tmp_path):
    assert start_in_process(app) is None  # TESTING
    enabled = config_from_env({"SERVICEDESK_SCHEDULER_IN_PROCESS": "1"}, tmp_path)
    assert enabled["SERVICEDESK_SCHEDULER_IN_PROCESS"] is True
    assert config_from_env({}, tmp_path)["SERVICEDESK_SCHEDULER_IN_PROCESS"] is False


def test_one_in_process_scheduler_per_process_however_many_threads_ask(database_url):
    web_app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SECRET_KEY": "x",
            "SERVICEDESK_SCHEDULER_IN_PROCESS": False,
        }
    )
    assert not web_app.testing
    assert start_in_process(web_app) is None  # not enabled
    web_app.config["SERVICEDESK_SCHEDULER_IN_PROCESS"] = True
    ran = threading.Event()

    def record(now):
        assert current_app._get_current_object() is web_app
        ran.set()
        return {}

    jobs = (Job(id="record", description="", run=record, every_seconds=3600),)
    with click.Context(click.Command("migrate")):
        assert start_in_process(web_app, jobs) is None  # never inside a CLI command

    barrier = threading.Barrier(8)
    started = []

    def start():
        barrier.wait(timeout=10)
        started.append(start_in_process(web_app, jobs))

    threads = [threading.Thread(target=start) for _ in range(8)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=10)
        assert len(started) == 8
        assert len({id(scheduler) for scheduler in started}) == 1
        scheduler = started[0]
        assert scheduler.running
        assert [job.id for job in scheduler.get_jobs()] == ["record"]
        assert ran.wait(timeout=10)
    finally:
        stop_in_process()
    assert not scheduler.running


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_scheduler_process_sweeps_and_stops_cleanly_on_a_signal(
    app, database_url, tmp_path, stop_signal
):
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SERVICEDESK_INSTANCE_PATH": str(tmp_path),
        "SECRET_KEY": "x",
    }
    env.pop("SERVICEDESK_SCHEDULER_IN_PROCESS", None)
    command = [sys.executable, "-c", "from servicedesk.cli import main; main()", "scheduler"]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(line) for line in process.stdout])
    reader.start()
    output = []
    try:
        deadline = time.monotonic() + 60
        while not any("sla_sweep: warnings" in line for line in output):
            assert time.monotonic() < deadline, "".join(output)
            try:
                output.append(lines.get(timeout=1))
            except queue.Empty:
                assert process.poll() is None, "".join(output)
        process.send_signal(stop_signal)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        reader.join(timeout=10)
    while not lines.empty():
        output.append(lines.get())
    text = "".join(output)
    assert f"{signal.Signals(stop_signal).name} received" in text
    assert "scheduler stopped" in text
    assert "Traceback" not in text
