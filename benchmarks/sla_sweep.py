"""Benchmark: one SLA escalation sweep over 100,000 open tickets on PostgreSQL.

Creates (when missing) and migrates a dedicated database (never ``test``), empties its
customers, stations, tickets and everything that hangs off them, and loads with COPY:
customers, 60 repair stations, 100,000 open tickets (repairs of every service level,
complaints, open inquiries) opened over the last 8 days, and their SLA clocks (respond,
arrive on the on-site levels, resolve). Due and warning instants follow the default targets
(business time approximated by wall time: the sweep compares stored instants and computes no
calendar), warnings at 75%. Two scenarios:

* ``working`` (default): tickets are worked as usual. A target that has come due was met
  for most tickets (respond 90%, arrive 75%), one not yet due was met in proportion to the
  time elapsed; resolve is never met (the tickets are open); 8% wait on the customer
  (paused). A large share of the tickets has a clock due: every resolve target past 75%,
  and the respond and arrive targets missed.
* ``backlog``: the worst case, statuses drawn regardless of the tickets' age (60% never
  responded to after up to 8 days), about 1.4 clocks due per ticket.

Then it times ``run_sweep(now)``, one full sweep that claims and records every due clock in
batches, each committed, and checks the outcome: nothing due is left, every notice exists
exactly once, complaints never reach a station. It reports the CPU time the sweep took in
Python and in PostgreSQL (the machine may be busy with other work: wall time suffers, CPU
time much less). A second sweep right after shows the cost of an idle one. Target: the full
sweep in under 10 s.

    python benchmarks/sla_sweep.py [--scenario working|backlog] [--explain] \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/servicedesk_bench_sla

Results also go to ``benchmarks/results/sla_sweep-<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg
from _common import (
    NULL,
    add_database_url,
    benchmark_database_name,
    copy_lines,
    copy_timestamp,
    empty_tables,
    ensure_database,
    libpq_params,
    load_averages,
    machine,
    make_app,
    migrate_and_load_regions,
    reset_sequences,
    say,
    stage,
    timed,
    write_results,
)

from servicedesk.sla.sweep import BATCH_SIZE, DEFAULT_WORKERS

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/servicedesk_bench_sla"
TARGET_SECONDS = 10.0
NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)  # a Friday, 16:00 in Shanghai
OPENED_WITHIN = timedelta(days=8)
WARN_FRACTION = 0.75
TIMEZONE = "Asia/Shanghai"
REGION = "jingjinji"
STATIONS = 60
CUSTOMERS = 20_000
EMPTIED = ("customers", "stations", "users", "tickets", "ticket_counters")
"""TRUNCATE ... CASCADE on these empties every table that refers to them as well."""

HOUR = timedelta(hours=1)
# (ticket kind, service level): weight, and per target (clock, wall-clock duration).
PROFILES: dict[tuple[str, str | None], tuple[int, dict[str, tuple[str, timedelta]]]] = {
    ("repair", "onsite_4h"): (
        8,
        {
            "respond": ("24x7", timedelta(minutes=30)),
            "arrive": ("24x7", 4 * HOUR),
            "resolve": ("24x7", 24 * HOUR),
        },
    ),
    ("repair", "onsite"): (
        37,
        {
            "respond": ("business", 5 * HOUR),
            "arrive": ("business", 30 * HOUR),
            "resolve": ("business", 100 * HOUR),
        },
    ),
    ("repair", "depot"): (
        30,
        {"respond": ("business", 10 * HOUR), "resolve": ("business", 170 * HOUR)},
    ),
    ("repair", "billable"): (
        10,
        {"respond": ("business", 10 * HOUR), "resolve": ("business", 170 * HOUR)},
    ),
    ("complaint", None): (
        10,
        {"respond": ("business", 5 * HOUR), "resolve": ("business", 100 * HOUR)},
    ),
    ("inquiry", None): (5, {"respond": ("business", 5 * HOUR)}),
}
# The "backlog" scenario: status drawn regardless of age, with the targets met in it.
BACKLOG_STATUSES = {
    "new": (35, ()),
    "dispatched": (25, ()),
    "accepted": (20, ("respond",)),
    "on_site": (12, ("respond", "arrive")),
    "waiting_customer": (8, ("respond",)),
}
# The "working" scenario: the share of targets met once due (the rest are breaching), and
# of tickets waiting on the customer (their running clocks paused).
MET_ONCE_DUE = {"respond": 0.9, "arrive": 0.75}
WAITING_CUSTOMER = 0.08
SCENARIOS = ("working", "backlog")

TICKET_COLUMNS = [
    "id",
    "number",
    "kind",
    "status",
    "customer_id",
    "station_id",
    "summary",
    "description",
    "damage",
    "coverage_basis",
    "coverage_reasons",
    "service_level",
    "service_level_reasons",
    "resolution",
    "created_at",
    "updated_at",
]
CLOCK_COLUMNS = [
    "id",
    "ticket_id",
    "target",
    "clock",
    "timezone",
    "started_at",
    "original_due_at",
    "due_at",
    "warn_at",
    "met_at",
    "paused_since",
]


@dataclass
class Dataset:
    tickets: int
    scenario: str
    clocks: int = 0


def met_targets(
    scenario: str, targets: dict[str, tuple[str, timedelta]], opened: datetime, rng: random.Random
) -> tuple[str, dict[str, datetime]]:
    """The ticket's status and when each of its met targets was met (never resolve: the
    ticket is open)."""
    if scenario == "backlog":
        statuses = list(BACKLOG_STATUSES.items())
        weights = [weight for _status, (weight, _met) in statuses]
        status, (_weight, names) = rng.choices(statuses, weights)[0]
        met = {}
        for name in names:
            if name in targets:
                met[name] = min(NOW, opened + targets[name][1] * rng.uniform(0.2, 1.3))
        return status, met
    met: dict[str, datetime] = {}
    for name in ("respond", "arrive"):
        if name not in targets or (name == "arrive" and "respond" not in met):
            break
        duration = targets[name][1]
        elapsed = (NOW - opened) / duration
        chance = MET_ONCE_DUE[name] if elapsed >= 1 else 0.8 * elapsed
        if rng.random() >= chance:
            break
        met_at = min(NOW, opened + duration * rng.uniform(0.3, min(elapsed, 1.2)))
        met[name] = max(met_at, *met.values()) if met else met_at
    if "arrive" in met:
        status = rng.choice(("on_site", "waiting_parts"))
    elif "respond" in met:
        status = rng.choice(("accepted", "scheduled"))
    else:
        status = rng.choice(("new", "dispatched"))
    if met and rng.random() < WAITING_CUSTOMER:
        status = "waiting_customer"
    return status, met


def ticket_and_clock_lines(
    count: int, scenario: str, rng: random.Random, dataset: Dataset, ticket_suffix: str = ""
) -> tuple[list[str], list[str]]:
    """COPY lines of the tickets (each ending in ``ticket_suffix``, more fields) and clocks."""
    profiles = list(PROFILES.items())
    profile_weights = [weight for _key, (weight, _targets) in profiles]
    tickets, clocks = [], []
    clock_id = 0
    for ticket_id in range(1, count + 1):
        (kind, level), (_weight, targets) = rng.choices(profiles, profile_weights)[0]
        opened = NOW - OPENED_WITHIN * rng.random()
        status, met = met_targets(scenario, targets, opened, rng)
        if kind == "inquiry":
            status, met = "new", {}
        at_station = rng.random() < (0.5 if kind == "complaint" else 0.9 if kind == "repair" else 0)
        station_id = rng.randint(1, STATIONS) if at_station else None
        tickets.append(
            "\t".join(
                (
                    str(ticket_id),
                    f"SD-2026-{ticket_id:06d}",
                    kind,
                    status,
                    str(rng.randint(1, CUSTOMERS)),
                    NULL if station_id is None else str(station_id),
                    f"Benchmark {kind} {ticket_id}",
                    "",
                    "none",
                    "[]",
                    "[]",
                    NULL if level is None else level,
                    "[]",
                    "",
                    copy_timestamp(opened),
                    copy_timestamp(opened),
                )
            )
            + ticket_suffix
            + "\n"
        )
        paused_since = None
        if status == "waiting_customer":
            paused_since = max(opened, *met.values()) + (NOW - max(opened, *met.values())) / 2
        for target, (clock, duration) in targets.items():
            clock_id += 1
            due = opened + duration
            met_at = met.get(target)
            clocks.append(
                "\t".join(
                    (
                        str(clock_id),
                        str(ticket_id),
                        target,
                        clock,
                        TIMEZONE,
                        copy_timestamp(opened),
                        copy_timestamp(due),
                        copy_timestamp(due),
                        copy_timestamp(opened + duration * WARN_FRACTION),
                        copy_timestamp(met_at),
                        copy_timestamp(paused_since if met_at is None else None),
                    )
                )
                + "\n"
            )
    dataset.clocks = clock_id
    return tickets, clocks


def customer_lines(count: int) -> Iterator[str]:
    for customer_id in range(1, count + 1):
        yield (
            f"{customer_id}\tBENCH{customer_id:06d}\tBenchmark customer {customer_id}\tB\t"
            f"北京\t北京\t\tzh\t{TIMEZONE}\tf\t{copy_timestamp(NOW - timedelta(days=400))}\n"
        )


def station_lines(count: int) -> Iterator[str]:
    for station_id in range(1, count + 1):
        yield f"{station_id}\tBENCH-{station_id:02d}\tStation {station_id}\t{REGION}\t50\tactive\n"


def copy_text(value) -> str:
    if value is None:
        return NULL
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def other_required_ticket_columns() -> tuple[list[str], str]:
    """The tickets' NOT NULL columns this benchmark does not fill (added by later work), and
    the COPY fields giving each its model default: ``(names, "\\t<field>...")``."""
    from servicedesk.tickets.models import Ticket

    names, fields = [], []
    for column in Ticket.__table__.columns:
        if column.name in TICKET_COLUMNS or column.nullable or column.server_default is not None:
            continue
        if column.default is None:
            raise SystemExit(f"tickets.{column.name} is required and has no default")
        value = column.default.arg if column.default.is_scalar else column.default.arg(None)
        names.append(column.name)
        fields.append(copy_text(value))
    return names, "".join(f"\t{field}" for field in fields)


def load(database_url: str, tickets: int, scenario: str, seed: int) -> Dataset:
    rng = random.Random(seed)
    dataset = Dataset(tickets=tickets, scenario=scenario)
    extra_columns, ticket_suffix = other_required_ticket_columns()
    with stage("generate tickets and clocks") as counter:
        ticket_rows, clock_rows = ticket_and_clock_lines(
            tickets, scenario, rng, dataset, ticket_suffix
        )
        counter["rows"] = len(ticket_rows) + len(clock_rows)
    with psycopg.connect(**libpq_params(database_url)) as conn:
        with stage("copy customers") as counter:
            columns = [
                "id",
                "code",
                "name",
                "class",
                "province",
                "city",
                "address",
                "language",
                "timezone",
                "do_not_call",
                "created_at",
            ]
            counter["rows"] = copy_lines(conn, "customers", columns, customer_lines(CUSTOMERS))
        with stage("copy stations") as counter:
            columns = ["id", "code", "name", "region_code", "capacity", "status"]
            counter["rows"] = copy_lines(conn, "stations", columns, station_lines(STATIONS))
        with stage("copy tickets") as counter:
            columns = [*TICKET_COLUMNS, *extra_columns]
            counter["rows"] = copy_lines(conn, "tickets", columns, ticket_rows)
        with stage("copy sla_clocks") as counter:
            counter["rows"] = copy_lines(conn, "sla_clocks", CLOCK_COLUMNS, clock_rows)
        conn.execute("INSERT INTO ticket_counters (year, last_value) VALUES (2026, %s)", (tickets,))
        reset_sequences(conn, ("customers", "stations", "tickets", "sla_clocks"))
        conn.commit()
    with (
        psycopg.connect(**libpq_params(database_url), autocommit=True) as conn,
        stage("vacuum analyze"),
    ):
        for table in ("customers", "stations", "tickets", "sla_clocks"):
            conn.execute(f"VACUUM ANALYZE {table}")
    return dataset


def due_counts(conn: psycopg.Connection) -> dict[str, int]:
    """Clocks due at NOW (and their tickets), counted with the sweep's own conditions."""
    running = "met_at IS NULL AND stopped_at IS NULL AND paused_since IS NULL"
    breach = f"{running} AND breached_at IS NULL AND due_at < %(now)s"
    warning = f"{running} AND warned_at IS NULL AND warn_at <= %(now)s AND due_at >= %(now)s"
    breaches, warnings, tickets = conn.execute(
        f"SELECT count(*) FILTER (WHERE {breach}), count(*) FILTER (WHERE {warning}), "
        f"count(DISTINCT ticket_id) FILTER (WHERE ({breach}) OR ({warning})) FROM sla_clocks",
        {"now": copy_timestamp(NOW)},
    ).fetchone()
    return {"due_breaches": breaches, "due_warnings": warnings, "tickets_with_due_clocks": tickets}


def claim_plans(app) -> dict[str, str]:
    """EXPLAIN (without running it) of the claim statement of each kind."""
    from servicedesk.extensions import db
    from servicedesk.sla import sweep

    plans = {}
    with app.app_context():
        for kind in sweep.KINDS:
            query = sweep.locking_claim(kind, NOW, sweep.BATCH_SIZE)
            compiled = query.compile(db.engine)
            params = {
                key: value.replace(tzinfo=None) if isinstance(value, datetime) else value
                for key, value in compiled.params.items()
            }
            rows = db.session.connection().exec_driver_sql("EXPLAIN " + str(compiled), params)
            plans[kind] = "\n".join(row[0] for row in rows)
            db.session.rollback()
    return plans


def check_outcome(conn: psycopg.Connection) -> dict[str, int]:
    duplicates = conn.execute(
        "SELECT count(*) FROM (SELECT clock_id, kind, audience FROM notifications "
        "GROUP BY 1, 2, 3 HAVING count(*) > 1) d"
    ).fetchone()[0]
    complaint_to_station = conn.execute(
        "SELECT count(*) FROM notifications n JOIN tickets t ON t.id = n.ticket_id "
        "WHERE t.kind = 'complaint' AND n.audience = 'station'"
    ).fetchone()[0]
    by_kind = dict(conn.execute("SELECT kind, count(*) FROM notifications GROUP BY kind"))
    events = conn.execute(
        "SELECT count(*) FROM ticket_events WHERE action IN ('sla_warning', 'sla_breach')"
    ).fetchone()[0]
    return {
        "duplicate_notices": duplicates,
        "complaint_notices_to_a_station": complaint_to_station,
        "warning_notifications": by_kind.get("sla_warning", 0),
        "breach_notifications": by_kind.get("sla_breach", 0),
        "events": events,
        **{
            f"left_{key}": value
            for key, value in due_counts(conn).items()
            if key != "tickets_with_due_clocks"
        },
    }


def timed_sweep(app, database_url: str, batch_size: int, workers: int):
    from servicedesk.sla.sweep import run_sweep

    with app.app_context():
        return timed(database_url, lambda: run_sweep(NOW, batch_size=batch_size, workers=workers))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_database_url(parser, DEFAULT_URL, help="a database of its own (never 'test')")
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    parser.add_argument(
        "--workers", type=int, default=DEFAULT_WORKERS, help="sweepers side by side"
    )
    parser.add_argument(
        "--scenario",
        choices=SCENARIOS,
        default="working",
        help="working: tickets worked as usual (targets mostly met once due); backlog: most "
        "targets never met, whatever the ticket's age (the worst case)",
    )
    parser.add_argument("--seed", type=int, default=20261120)
    parser.add_argument("--explain", action="store_true", help="print the claim query plans")
    args = parser.parse_args()
    if not 1 <= args.tickets <= 1_000_000:
        raise SystemExit("--tickets must be between 1 and 1,000,000")
    benchmark_database_name(args.database_url)
    os.environ.setdefault("SERVICEDESK_INSTANCE_PATH", tempfile.mkdtemp(prefix="sd-bench-sla-"))

    say(f"database {benchmark_database_name(args.database_url)}")
    if ensure_database(args.database_url):
        say("  created")
    empty_tables(args.database_url, EMPTIED)
    with stage("migrate"):
        migrate_and_load_regions(args.database_url)
    dataset = load(args.database_url, args.tickets, args.scenario, args.seed)
    with psycopg.connect(**libpq_params(args.database_url)) as conn:
        due = due_counts(conn)
        statuses = Counter(
            dict(conn.execute("SELECT status, count(*) FROM tickets GROUP BY status"))
        )
    say(
        f"{dataset.tickets:,} open tickets, {dataset.scenario} scenario ({dict(statuses)}), "
        f"{dataset.clocks:,} clocks; "
        f"due at {NOW.isoformat()}: {due['due_breaches']:,} breaches, "
        f"{due['due_warnings']:,} warnings, on {due['tickets_with_due_clocks']:,} tickets"
    )

    app = make_app(args.database_url)
    load_before = load_averages()
    if args.explain:
        for kind, plan in claim_plans(app).items():
            say(f"claim plan ({kind}):\n{plan}")
    result, timing = timed_sweep(app, args.database_url, args.batch_size, args.workers)
    idle, idle_timing = timed_sweep(app, args.database_url, args.batch_size, args.workers)
    seconds, idle_seconds = timing.seconds, idle_timing.seconds
    with psycopg.connect(**libpq_params(args.database_url)) as conn:
        outcome = check_outcome(conn)

    processed = result.warnings + result.breaches
    correct = (
        result.warnings == due["due_warnings"]
        and result.breaches == due["due_breaches"]
        and outcome["duplicate_notices"] == 0
        and outcome["complaint_notices_to_a_station"] == 0
        and outcome["left_due_breaches"] == outcome["left_due_warnings"] == 0
        and outcome["events"] == processed
        and idle.notifications == 0
    )
    passed = correct and seconds < TARGET_SECONDS
    say("")
    say(f"tickets               {dataset.tickets:>10,}")
    say(f"clocks                {dataset.clocks:>10,}")
    say(
        f"clocks processed      {processed:>10,}  ({result.warnings:,} warnings, "
        f"{result.breaches:,} breaches, {result.batches} batches of <= {args.batch_size}, "
        f"{args.workers} sweepers)"
    )
    say(f"notifications created {result.notifications:>10,}")
    say(f"ticket events created {result.events:>10,}")
    say(f"sweep                 {seconds:>10.2f} s  ({processed / seconds:,.0f} clocks/s)")
    postgres_cpu = "?" if timing.postgres_cpu is None else f"{timing.postgres_cpu:.1f}"
    say(
        f"CPU of the sweep      python {timing.python_cpu:.1f} s, "
        f"postgres backends {postgres_cpu} s (load average before: {load_before})"
    )
    say(f"idle sweep after it   {idle_seconds:>10.3f} s")
    say(f"outcome               {json.dumps(outcome)}")
    verdict = "PASS" if passed else "FAIL"
    wrong = "" if correct else " (WRONG OUTCOME, see above)"
    say(f"{verdict}: full sweep {seconds:.2f} s, target < {TARGET_SECONDS:.0f} s{wrong}")
    path = write_results(
        "sla_sweep",
        {
            "database": benchmark_database_name(args.database_url),
            "machine": machine(),
            "now": NOW.isoformat(),
            "scenario": dataset.scenario,
            "tickets": dataset.tickets,
            "clocks": dataset.clocks,
            "due": due,
            "sweep": {
                **result.as_dict(),
                "seconds": round(seconds, 3),
                "batch_size": args.batch_size,
                "workers": args.workers,
                "python_cpu_seconds": round(timing.python_cpu, 2),
                "postgres_cpu_seconds": None
                if timing.postgres_cpu is None
                else round(timing.postgres_cpu, 2),
                "load_average_before": load_before,
            },
            "idle_sweep_seconds": round(idle_seconds, 3),
            "outcome": outcome,
            "target_seconds": TARGET_SECONDS,
            "passed": passed,
        },
    )
    say(f"results: {path}")
    if not passed:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
