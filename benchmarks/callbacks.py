"""Benchmark: 100,000 due satisfaction callbacks swept through the simulated line on PostgreSQL.

Creates (when missing) and migrates a dedicated database (never ``test``), empties its
customers, stations, tickets and everything that hangs off them (callbacks, attempts,
simulated calls), and loads with COPY: 20,000 customers (1% of them on the do-not-call list),
60 stations, 100,000 closed repairs and their callbacks, all due at ``NOW`` (a Saturday
morning in Shanghai, inside calling hours).

Then it times ``run_callback_sweep(NOW)``, the ``callbacks`` job: per batch one claim
(``UPDATE ... FOR UPDATE SKIP LOCKED ... RETURNING`` and a COPY of the new attempts,
committed), the do-not-call check again, one bulk placement on the simulated line (its own
connection and transaction, ``INSERT ... ON CONFLICT (token) DO NOTHING``), the sids recorded,
committed. It checks the outcome (every callback either placed exactly once, one simulated call
per attempt token, or stopped as do-not-call; nothing left due) and reports callbacks per
second, with the CPU time spent in Python and in PostgreSQL. Target: at least 1,000
callbacks per second.

    python benchmarks/callbacks.py [--callbacks 100000] [--batch-size 2000] [--workers 2] \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/servicedesk_bench_callbacks

Results also go to ``benchmarks/results/callbacks-<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
from _common import (
    add_database_url,
    benchmark_database_name,
    copy_lines,
    copy_timestamp,
    empty_tables,
    ensure_database,
    libpq_params,
    load_average,
    machine,
    make_app,
    migrate_and_load_regions,
    reset_sequences,
    say,
    stage,
    timed,
    write_results,
)
from sla_sweep import TICKET_COLUMNS, other_required_ticket_columns, station_lines

from servicedesk.callcenter.callback_sweep import BATCH_SIZE, JOB_WORKERS

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/servicedesk_bench_callbacks"
TARGET_PER_SECOND = 1000.0
NOW = datetime(2026, 11, 21, 2, 30, tzinfo=UTC)  # Saturday 10:30 in Shanghai
TIMEZONE = "Asia/Shanghai"
CUSTOMERS = 20_000
STATIONS = 60
DO_NOT_CALL_SHARE = 0.01
EMPTIED = ("customers", "stations", "users", "tickets", "ticket_counters", "simulated_calls")
"""TRUNCATE ... CASCADE on these empties every table that refers to them as well."""
CALLBACK_COLUMNS = [
    "id",
    "ticket_id",
    "customer_id",
    "station_id",
    "phone_e164",
    "language",
    "timezone",
    "status",
    "due_at",
    "attempts_made",
    "max_attempts",
    "stop_detail",
    "created_at",
]


def customer_lines(count: int, do_not_call: set[int]) -> Iterator[str]:
    for customer_id in range(1, count + 1):
        flag = "t" if customer_id in do_not_call else "f"
        yield (
            f"{customer_id}\tCB{customer_id:06d}\tCallback customer {customer_id}\tconsumer\t"
            f"北京\t北京\t\tzh\t{TIMEZONE}\t{flag}\t{copy_timestamp(NOW - timedelta(days=400))}\n"
        )


def ticket_and_callback_lines(count: int, rng: random.Random, suffix: str):
    tickets, callbacks = [], []
    for ticket_id in range(1, count + 1):
        customer_id = rng.randint(1, CUSTOMERS)
        station_id = rng.randint(1, STATIONS)
        closed = NOW - timedelta(days=1, minutes=rng.randint(0, 600))
        tickets.append(
            "\t".join(
                (
                    str(ticket_id),
                    f"SD-2026-{ticket_id:06d}",
                    "repair",
                    "closed",
                    str(customer_id),
                    str(station_id),
                    f"Benchmark repair {ticket_id}",
                    "",
                    "none",
                    "[]",
                    "[]",
                    "depot",
                    "[]",
                    "Fixed",
                    copy_timestamp(closed - timedelta(days=3)),
                    copy_timestamp(closed),
                )
            )
            + suffix
            + f"\t{copy_timestamp(closed)}\n"
        )
        callbacks.append(
            "\t".join(
                (
                    str(ticket_id),
                    str(ticket_id),
                    str(customer_id),
                    str(station_id),
                    f"+86139{ticket_id:08d}",
                    "zh",
                    TIMEZONE,
                    "scheduled",
                    copy_timestamp(NOW - timedelta(minutes=rng.randint(0, 120))),
                    "0",
                    "3",
                    "",
                    copy_timestamp(closed),
                )
            )
            + "\n"
        )
    return tickets, callbacks


def load(database_url: str, count: int, seed: int) -> dict[str, int]:
    rng = random.Random(seed)
    do_not_call = set(rng.sample(range(1, CUSTOMERS + 1), int(CUSTOMERS * DO_NOT_CALL_SHARE)))
    extra_columns, suffix = other_required_ticket_columns()
    with stage("generate") as counter:
        tickets, callbacks = ticket_and_callback_lines(count, rng, suffix)
        counter["rows"] = len(tickets) + len(callbacks)
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
            counter["rows"] = copy_lines(
                conn, "customers", columns, customer_lines(CUSTOMERS, do_not_call)
            )
        with stage("copy stations") as counter:
            columns = ["id", "code", "name", "region_code", "capacity", "status"]
            counter["rows"] = copy_lines(conn, "stations", columns, station_lines(STATIONS))
        with stage("copy tickets") as counter:
            ticket_columns = [*TICKET_COLUMNS, *extra_columns, "closed_at"]
            counter["rows"] = copy_lines(conn, "tickets", ticket_columns, tickets)
        with stage("copy callbacks") as counter:
            counter["rows"] = copy_lines(conn, "callbacks", CALLBACK_COLUMNS, callbacks)
        reset_sequences(conn, ("customers", "stations", "tickets", "callbacks"))
        conn.commit()
    with psycopg.connect(**libpq_params(database_url), autocommit=True) as conn, stage("analyze"):
        for table in ("customers", "tickets", "callbacks"):
            conn.execute(f"VACUUM ANALYZE {table}")
    with psycopg.connect(**libpq_params(database_url)) as conn:
        expected_stopped = conn.execute(
            "SELECT count(*) FROM callbacks c JOIN customers k ON k.id = c.customer_id "
            "WHERE k.do_not_call"
        ).fetchone()[0]
    return {"callbacks": count, "do_not_call_callbacks": expected_stopped}


def check_outcome(conn: psycopg.Connection) -> dict[str, int]:
    (
        placed_attempts,
        attempts,
        calling,
        stopped,
        left_due,
    ) = conn.execute(
        "SELECT (SELECT count(*) FROM callback_attempts WHERE status = 'placed' "
        "        AND call_sid IS NOT NULL), "
        "       (SELECT count(*) FROM callback_attempts), "
        "       (SELECT count(*) FROM callbacks WHERE status = 'calling'), "
        "       (SELECT count(*) FROM callbacks WHERE status = 'stopped' "
        "        AND stop_reason = 'do_not_call'), "
        "       (SELECT count(*) FROM callbacks WHERE status = 'scheduled')"
    ).fetchone()
    (simulated, matched, duplicates) = conn.execute(
        "SELECT (SELECT count(*) FROM simulated_calls), "
        "       (SELECT count(*) FROM simulated_calls s JOIN callback_attempts a "
        "        ON a.token = s.token AND a.call_sid = s.sid), "
        "       (SELECT count(*) FROM (SELECT callback_id FROM callback_attempts "
        "        GROUP BY callback_id HAVING count(*) > 1) d)"
    ).fetchone()
    return {
        "attempts": attempts,
        "placed_attempts": placed_attempts,
        "callbacks_calling": calling,
        "callbacks_stopped_do_not_call": stopped,
        "left_due": left_due,
        "simulated_calls": simulated,
        "simulated_calls_matching_their_attempt": matched,
        "callbacks_with_two_attempts": duplicates,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_database_url(parser, DEFAULT_URL, help="a database of its own (never 'test')")
    parser.add_argument("--callbacks", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    parser.add_argument(
        "--workers", type=int, default=JOB_WORKERS, help="sweepers side by side (threads)"
    )
    parser.add_argument("--seed", type=int, default=20261121)
    args = parser.parse_args()
    if not 1 <= args.callbacks <= 1_000_000:
        raise SystemExit("--callbacks must be 1 to 1,000,000")
    database_url = args.database_url
    name = benchmark_database_name(database_url)
    say(f"database {name}: {'created' if ensure_database(database_url) else 'exists'}")
    empty_tables(database_url, EMPTIED)
    migrate_and_load_regions(database_url)
    say(f"loading {args.callbacks:,} due callbacks")
    dataset = load(database_url, args.callbacks, args.seed)

    from servicedesk.callcenter.callback_sweep import run_callback_sweep
    from servicedesk.callcenter.simulated_line import SimulatedLine

    app = make_app(database_url)
    app.config.update(SERVICEDESK_PUBLIC_URL="https://servicedesk.example.com")
    with app.app_context():
        result, timing = timed(
            database_url,
            lambda: run_callback_sweep(
                NOW, batch_size=args.batch_size, line=SimulatedLine(), workers=args.workers
            ),
        )
        idle_started = time.perf_counter()
        idle = run_callback_sweep(NOW, batch_size=args.batch_size, line=SimulatedLine())
        idle_seconds = time.perf_counter() - idle_started
    seconds, python_cpu, postgres_cpu = timing.seconds, timing.python_cpu, timing.postgres_cpu
    with psycopg.connect(**libpq_params(database_url)) as conn:
        outcome = check_outcome(conn)
    per_second = args.callbacks / seconds
    placed_per_second = result.placed / seconds
    correct = (
        outcome["placed_attempts"] == result.placed
        and outcome["simulated_calls"] == result.placed
        and outcome["simulated_calls_matching_their_attempt"] == result.placed
        and outcome["callbacks_with_two_attempts"] == 0
        and outcome["left_due"] == 0
        and outcome["callbacks_stopped_do_not_call"] == dataset["do_not_call_callbacks"]
        and result.placed + result.do_not_call == args.callbacks
        and idle.claimed == 0
    )
    met = per_second >= TARGET_PER_SECOND
    say("")
    say(f"  swept            {args.callbacks:,} due callbacks in {seconds:.2f} s")
    say(f"  placed           {result.placed:,} calls ({placed_per_second:,.0f}/s)")
    say(f"  do-not-call      {result.do_not_call:,} stopped instead")
    say(
        f"  batches          {result.batches} of up to {args.batch_size:,}, "
        f"{args.workers} sweeper(s)"
    )
    cpu_text = f"{python_cpu:.2f} s Python"
    if postgres_cpu is not None:
        cpu_text += f", {postgres_cpu:.2f} s PostgreSQL"
    say(f"  CPU              {cpu_text}; load average {load_average():.1f}")
    say(f"  idle sweep       {idle_seconds * 1000:.0f} ms")
    say(f"  checks           {'all exactly once' if correct else 'FAILED'}: {outcome}")
    say(
        f"  callbacks/s      {per_second:,.0f} "
        f"(target >= {TARGET_PER_SECOND:,.0f}): {'PASS' if met and correct else 'FAIL'}"
    )
    path = write_results(
        "callbacks",
        {
            "database": name,
            "machine": machine(),
            "dataset": dataset,
            "batch_size": args.batch_size,
            "workers": args.workers,
            "seconds": round(seconds, 3),
            "callbacks_per_second": round(per_second, 1),
            "placed_per_second": round(placed_per_second, 1),
            "python_cpu_seconds": round(python_cpu, 3),
            "postgres_cpu_seconds": None if postgres_cpu is None else round(postgres_cpu, 3),
            "load_average": load_average(),
            "idle_sweep_seconds": round(idle_seconds, 3),
            "result": result.as_dict(),
            "outcome": outcome,
            "correct": correct,
            "target_per_second": TARGET_PER_SECOND,
            "met": met and correct,
        },
    )
    say(f"  results          {path}")
    if not correct:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
