"""Benchmark: sustained creation of repairs, each dispatched to a station, through the HTTP API.

Loads a realistic data set into a dedicated PostgreSQL database (the generator of the identify
benchmark, ``identify_dataset.py``, at a smaller size by default: 100,000 customers, 300,000
assets with their entitlements, 92 stations in the cities of all 18 regions with capacities of
40-200 open tickets, a ticket history whose recent repairs already occupy the stations), starts
the app under waitress (several processes) on 127.0.0.1, and has 20 concurrent clients open
repairs with ``POST /api/v1/tickets`` for random machines (mixed products, service levels,
damage types and parts). Every answer must be a 201 whose ``dispatch`` block says where the
repair went (``dispatched`` with the station) or why it waits (``waiting``).

Two phases, each for a fixed time:

* ``sustained``: an open loop at ``--rate`` repairs per second shared by the clients (a 200-seat
  call center opens a few repairs a minute; 20/s is far beyond its peak). Target: server-side
  p95 (``Server-Timing: app;dur``) under 60 ms.
* ``saturated``: a closed loop, each client sending its next repair as soon as it has the answer:
  the throughput the machine can sustain (latency is then queueing, by Little's law).

Afterwards it checks in the database that no ticket was lost (every 201 is a stored repair
with its creation and dispatch events, no other repair appeared) and that no station is over
its capacity (open tickets at most the capacity, or at most what the station already held
before the run when the loaded history had put it over). Results go to
``benchmarks/results/dispatch-<timestamp>.json``.

    python benchmarks/dispatch.py \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/servicedesk_bench_dispatch
"""

from __future__ import annotations

import argparse
import itertools
import random
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import httpx
import identify_dataset
import psycopg
from _common import (
    PROJECT_ROOT,
    add_database_url,
    agent_user,
    api_probe,
    benchmark_database_name,
    ensure_database,
    git_commit,
    libpq_params,
    load_averages,
    machine,
    migrate_and_load_regions,
    percentile_cells,
    postgres_version,
    private_instance,
    processes_cpu_seconds,
    rounded_percentiles,
    run_load,
    run_main,
    say,
    server_env,
    server_timing_ms,
    stage,
    uptime,
    wait_until_ready,
    waitress_servers,
    write_results,
)

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/servicedesk_bench_dispatch"
TARGET_P95_MS = 60.0
AGENT_USERNAME = "bench-dispatch-agent"
TICKETS_PATH = "/api/v1/tickets"
REQUEST_TIMEOUT_SECONDS = 30.0
LATE_START_MS = 10.0
DAMAGE_MIX = (("none", 90), ("liquid", 4), ("drop", 4), ("pressure", 1), ("surge", 1))


# --- what to open ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Repair:
    customer: str
    serial: str
    summary: str
    damage: str
    part: str | None

    def body(self) -> dict:
        body = {
            "kind": "repair",
            "customer": self.customer,
            "serial": self.serial,
            "summary": self.summary,
            "description": "benchmark",
            "damage": self.damage,
        }
        if self.part is not None:
            body["part"] = self.part
        return body


def sample_repairs(database_url: str, count: int, seed: int) -> list[Repair]:
    """``count`` repairs of random existing machines (a machine may come back: a repeat
    repair), each with a summary of the data set and the part it names, some accidental."""
    rng = random.Random(seed + 3)
    with psycopg.connect(**libpq_params(database_url)) as conn:
        last_asset = conn.execute("SELECT max(id) FROM assets").fetchone()[0]
        asset_ids = [rng.randint(1, last_asset) for _ in range(count)]
        machines = {
            asset_id: (serial, code)
            for asset_id, serial, code in conn.execute(
                "SELECT a.id, a.serial, c.code FROM assets a "
                "JOIN customers c ON c.id = a.customer_id WHERE a.id = ANY(%s)",
                (sorted(set(asset_ids)),),
            )
        }
    damages, weights = zip(*DAMAGE_MIX, strict=True)
    summaries = identify_dataset.SUMMARIES["repair"]
    repairs = []
    for asset_id in asset_ids:
        serial, code = machines[asset_id]
        summary = rng.choice(summaries)
        damage = rng.choices(damages, weights)[0]
        part = identify_dataset.PART_OF_SUMMARY.get(summary)
        repairs.append(Repair(code, serial, summary, damage, part))
    return repairs


# --- opening them ---------------------------------------------------------------------------


@dataclass
class Sample:
    client_ms: float
    server_ms: float | None
    error: str | None
    number: str | None = None
    state: str | None = None
    late_ms: float = 0.0


def open_repair(client: httpx.Client, repair: Repair) -> Sample:
    """One request; anything but a 201 with a consistent dispatch block is an error."""
    started = time.perf_counter()
    try:
        response = client.post(TICKETS_PATH, json=repair.body())
    except httpx.HTTPError as exc:
        return Sample((time.perf_counter() - started) * 1000, None, type(exc).__name__)
    client_ms = (time.perf_counter() - started) * 1000
    server_ms = server_timing_ms(response.headers.get("server-timing"))
    if response.status_code != 201:
        return Sample(client_ms, server_ms, f"HTTP {response.status_code}")
    try:
        ticket = response.json()
        number, dispatch, station = ticket["number"], ticket["dispatch"], ticket["station"]
        state = dispatch["state"]
    except (ValueError, KeyError, TypeError):
        return Sample(client_ms, server_ms, "not a ticket with a dispatch block")
    if (ticket.get("asset") or {}).get("serial") != repair.serial:
        return Sample(client_ms, server_ms, "another machine", number)
    consistent = (state == "dispatched" and station and ticket["status"] == "dispatched") or (
        state == "waiting" and station is None and ticket["status"] == "new"
    )
    if not consistent or not dispatch.get("reason"):
        return Sample(client_ms, server_ms, f"inconsistent dispatch block ({state})", number)
    if server_ms is None:
        return Sample(client_ms, None, "no Server-Timing app;dur header", number)
    return Sample(client_ms, server_ms, None, number, state)


# --- checking the outcome -------------------------------------------------------------------


def station_load(conn: psycopg.Connection) -> dict[str, tuple[int, int]]:
    """``{code: (open tickets, capacity)}`` of every station."""
    rows = conn.execute(
        """
        SELECT s.code, count(t.id), s.capacity
        FROM stations s
        LEFT JOIN tickets t ON t.station_id = s.id
             AND t.status IN ('new', 'dispatched', 'accepted', 'scheduled', 'on_site',
                              'waiting_customer', 'waiting_parts')
        GROUP BY s.code, s.capacity
        """
    )
    return {code: (count, capacity) for code, count, capacity in rows}


def check_outcome(
    conn: psycopg.Connection,
    agent_id: int,
    answered: list[str],
    before: dict[str, tuple[int, int]],
) -> dict:
    """Lost or duplicated tickets, inconsistent dispatch states, overloaded stations."""
    stored = {
        number: (status, state, station_id, events)
        for number, status, state, station_id, events in conn.execute(
            """
            SELECT t.number, t.status, t.dispatch_state, t.station_id,
                   array_agg(e.action ORDER BY e.id)
            FROM tickets t JOIN ticket_events e ON e.ticket_id = t.id
            WHERE t.created_by_id = %s AND t.kind = 'repair'
            GROUP BY t.id
            """,
            (agent_id,),
        )
    }
    answered_set = set(answered)
    inconsistent = 0
    for status, state, station_id, events in stored.values():
        dispatched = state == "dispatched" and station_id is not None and status == "dispatched"
        waiting = state == "waiting" and station_id is None and status == "new"
        if not (dispatched or waiting) or events[:2] != ["created", "dispatch"]:
            inconsistent += 1
    after = station_load(conn)
    over = {
        code: {"open": count, "capacity": capacity, "open_before": before[code][0]}
        for code, (count, capacity) in after.items()
        if count > max(capacity, before.get(code, (0, 0))[0])
    }
    full = sum(1 for count, capacity in after.values() if count >= capacity)
    states = Counter(state for _status, state, _station, _events in stored.values())
    return {
        "answered_201": len(answered),
        "duplicate_numbers": len(answered) - len(answered_set),
        "stored_repairs": len(stored),
        "lost": len(answered_set - stored.keys()),
        "unanswered_but_stored": len(stored.keys() - answered_set),
        "inconsistent": inconsistent,
        "dispatched": states.get("dispatched", 0),
        "waiting": states.get("waiting", 0),
        "stations_over_capacity": over,
        "stations_full_after": full,
        "stations": len(after),
        "open_tickets_before": sum(count for count, _capacity in before.values()),
        "open_tickets_after": sum(count for count, _capacity in after.values()),
        "capacity_total": sum(capacity for _count, capacity in after.values()),
    }


# --- reporting ------------------------------------------------------------------------------


def summarize(
    phase: str, samples: list[Sample], seconds: float, server_cpu_seconds: float | None
) -> dict:
    good = [sample for sample in samples if sample.error is None]

    return {
        "phase": phase,
        "requests": len(samples),
        "ok": len(good),
        "errors": dict(Counter(sample.error for sample in samples if sample.error)),
        "dispatched": sum(sample.state == "dispatched" for sample in good),
        "waiting": sum(sample.state == "waiting" for sample in good),
        "seconds": round(seconds, 2),
        "throughput_rps": round(len(good) / seconds, 1) if seconds > 0 else None,
        "server_ms": rounded_percentiles([sample.server_ms for sample in good]),
        "client_ms": rounded_percentiles([sample.client_ms for sample in good]),
        "server_cpu_ms_per_request": (
            round(server_cpu_seconds * 1000 / len(samples), 2)
            if server_cpu_seconds is not None and samples
            else None
        ),
        "late_starts": sum(sample.late_ms > LATE_START_MS for sample in samples),
    }


def print_table(results: list[dict]) -> None:
    header = (
        f"{'phase':<9} {'requests':>8} {'errors':>6} {'waiting':>7} |"
        f" {'server p50':>10} {'p95':>7} {'p99':>7} | {'client p50':>10} {'p95':>7} {'p99':>7}"
        f" | {'req/s':>6} {'cpu/req':>7}"
    )
    say(header)
    say("-" * len(header))
    for result in results:
        server, client = result["server_ms"], result["client_ms"]
        cpu = result["server_cpu_ms_per_request"]
        say(
            f"{result['phase']:<9} {result['requests']:>8} {sum(result['errors'].values()):>6}"
            f" {result['waiting']:>7} |"
            f" {percentile_cells(server)} |"
            f" {percentile_cells(client)} |"
            f" {result['throughput_rps'] or 0:>6.1f} {cpu if cpu is not None else '-':>7}"
        )
    say(
        "ms; server = Server-Timing app;dur, client = round trip seen by the client, "
        "cpu/req = CPU time of the server processes per request, waiting = repairs queued "
        "for lack of an eligible station"
    )
    for result in results:
        for error, count in result["errors"].items():
            say(f"  {result['phase']}: {count} x {error}")
        if result["late_starts"]:
            say(
                f"  {result['phase']}: {result['late_starts']} requests started more than "
                f"{LATE_START_MS:.0f} ms after they were due (all clients were busy)"
            )


# --- main -----------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Open repairs with dispatch through POST /api/v1/tickets from concurrent "
        "clients, on PostgreSQL."
    )
    add_database_url(
        parser,
        DEFAULT_URL,
        help="a database of its own (created when missing, emptied and loaded; never 'test')",
    )
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--assets", type=int, default=300_000)
    parser.add_argument("--clients", type=int, default=20, help="concurrent client threads")
    parser.add_argument(
        "--rate", type=float, default=20.0, help="repairs per second of the sustained phase"
    )
    parser.add_argument("--seconds", type=float, default=60.0, help="length of each phase")
    parser.add_argument(
        "--phases",
        default="sustained,saturated",
        help="comma-separated: sustained (open loop at --rate), saturated (closed loop)",
    )
    parser.add_argument("--server-processes", type=int, default=2, help="waitress processes")
    parser.add_argument("--server-threads", type=int, default=4, help="threads per process")
    parser.add_argument("--warmup", type=int, default=200, help="repairs before measuring")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    args.phases = [phase.strip() for phase in args.phases.split(",") if phase.strip()]
    if not args.phases or set(args.phases) - {"sustained", "saturated"}:
        parser.error("--phases: sustained and/or saturated")
    if min(args.customers, args.assets, args.clients, args.server_processes) < 1:
        parser.error("customers, assets, clients and server processes must be at least 1")
    if args.server_threads < 1 or args.rate <= 0 or args.seconds <= 0 or args.warmup < 0:
        parser.error("threads, rate and seconds must be positive, warm-up not negative")
    if args.clients > 64 or args.server_processes > 8 or args.seconds > 1800:
        parser.error("bounded: at most 64 clients, 8 server processes, 1800 s per phase")
    if args.customers > 1_000_000 or args.assets > 3_000_000:
        parser.error("bounded: at most 1,000,000 customers and 3,000,000 assets")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    database_url = args.database_url
    database = benchmark_database_name(database_url)
    say(f"database {database}; {uptime()}")
    with private_instance("sd-bench-dispatch-") as workdir:
        if ensure_database(database_url):
            say(f"created database {database}")
        with stage("migrations and regions"):
            migrate_and_load_regions(database_url)
        # Always a fresh load: every run fills the stations it measures.
        plan = identify_dataset.plan_data(args.customers, args.assets, args.seed)
        load_seconds = identify_dataset.load(database_url, plan, seed=args.seed)
        agent_id, token = agent_user(database_url, AGENT_USERNAME)
        per_phase = int(args.seconds * args.rate) + 1
        closed_loop_bound = int(args.seconds * 400)  # more than 2 cores can open
        wanted = args.warmup + sum(
            per_phase if phase == "sustained" else closed_loop_bound for phase in args.phases
        )
        repairs = sample_repairs(database_url, wanted, args.seed)
        with psycopg.connect(**libpq_params(database_url)) as conn:
            before = station_load(conn)
        results, samples, seen = measure(args, database_url, token, repairs, workdir)
        with psycopg.connect(**libpq_params(database_url)) as conn:
            answered = [sample.number for sample in samples if sample.number]
            outcome = check_outcome(conn, agent_id, answered, before)

    say("")
    print_table(results)
    say(
        f"outcome: {outcome['stored_repairs']:,} repairs stored for {outcome['answered_201']:,} "
        f"answers, {outcome['lost']} lost, {outcome['duplicate_numbers']} duplicate numbers, "
        f"{outcome['inconsistent']} inconsistent; {outcome['dispatched']:,} dispatched, "
        f"{outcome['waiting']:,} waiting; {len(outcome['stations_over_capacity'])} stations "
        f"over capacity, {outcome['stations_full_after']} of {outcome['stations']} full; open "
        f"tickets {outcome['open_tickets_before']:,} -> {outcome['open_tickets_after']:,} "
        f"(capacity {outcome['capacity_total']:,})"
    )
    correct = (
        outcome["lost"] == outcome["duplicate_numbers"] == outcome["inconsistent"] == 0
        and outcome["unanswered_but_stored"] == 0
        and not outcome["stations_over_capacity"]
    )
    sustained = next((result for result in results if result["phase"] == "sustained"), None)
    passed = correct and all(not result["errors"] for result in results)
    if sustained is not None:
        p95 = sustained["server_ms"].get("p95")
        passed = passed and p95 is not None and p95 < TARGET_P95_MS
        shown = f"{p95:.1f} ms" if p95 is not None else "n/a"
        verdict = f"sustained {args.rate:g}/s server-side p95 {shown}, target < {TARGET_P95_MS:g}"
    else:
        verdict = "no sustained phase: throughput only"
    wrong = "" if correct else " (WRONG OUTCOME, see above)"
    say(f"{'PASS' if passed else 'FAIL'}: {verdict}{wrong}")
    path = write_results(
        "dispatch",
        {
            "commit": git_commit(),
            "database": database,
            "postgresql": postgres_version(database_url),
            "customers": args.customers,
            "assets": args.assets,
            "load_seconds": round(load_seconds, 1),
            "clients": args.clients,
            "rate": args.rate,
            "seconds_per_phase": args.seconds,
            "server_processes": args.server_processes,
            "server_threads": args.server_threads,
            "warmup": args.warmup,
            "target_p95_ms": TARGET_P95_MS,
            "passed": passed,
            "machine": machine(**seen),
            "results": results,
            "outcome": outcome,
        },
    )
    say(f"results: {path.relative_to(PROJECT_ROOT)}")
    return 0 if passed else 1


def measure(
    args: argparse.Namespace,
    database_url: str,
    token: str,
    repairs: list[Repair],
    workdir: Path,
) -> tuple[list[dict], list[Sample], dict]:
    """Serve the app, warm it up, then run each phase; the servers always stop after.

    Returns the phase summaries, every sample (warm-up included: its tickets are checked
    too) and the load averages seen."""
    remaining = iter(repairs)
    results, every_sample = [], []
    seen: dict = {"uptime_before": uptime()}
    with waitress_servers(
        env=server_env(database_url, SERVICEDESK_SCHEDULER_IN_PROCESS="0"),
        log_dir=workdir,
        processes=args.server_processes,
        threads=args.server_threads,
    ) as servers:
        pids = [server.process.pid for server in servers]

        ready = api_probe(TICKETS_PATH, {"limit": 1}, token)
        for server in servers:
            wait_until_ready(server, ready)
        base_urls = [server.base_url for server in servers]
        say(
            f"{len(servers)} servers ready ({args.server_threads} threads each); "
            f"warming up with {args.warmup} repairs"
        )
        warmup, _seconds = run_load(
            base_urls,
            token,
            list(itertools.islice(remaining, args.warmup)),
            open_repair,
            clients=args.clients,
            deadline=time.monotonic() + 600,
            timeout=REQUEST_TIMEOUT_SECONDS,
        )
        every_sample += warmup
        seen["load_average"] = {}
        for phase in args.phases:
            rate = args.rate if phase == "sustained" else None
            count = int(args.seconds * args.rate) + 1 if rate else int(args.seconds * 400)
            pace = f"at {rate:g}/s" if rate else "as fast as answered"
            say(
                f"{phase}: {args.clients} clients open repairs {pace} for {args.seconds:g} s "
                f"(load average {load_averages()})"
            )
            cpu_before = processes_cpu_seconds(pids)
            load_before = load_averages()
            samples, seconds = run_load(
                base_urls,
                token,
                list(itertools.islice(remaining, count)),
                open_repair,
                clients=args.clients,
                deadline=time.monotonic() + args.seconds,
                rate=rate,
                timeout=REQUEST_TIMEOUT_SECONDS,
            )
            cpu_after = processes_cpu_seconds(pids)
            cpu_used = cpu_after - cpu_before if None not in (cpu_before, cpu_after) else None
            seen["load_average"][phase] = {"before": load_before, "after": load_averages()}
            every_sample += samples
            results.append(summarize(phase, samples, seconds, cpu_used))
        errors = sum(sample.error is not None for sample in warmup)
        if errors:
            say(f"  warm-up: {errors} errors")
    seen["uptime_after"] = uptime()
    return results, every_sample, seen


if __name__ == "__main__":
    run_main(main)
