"""Benchmark: identify a caller by phone and by serial number through the HTTP API.

Loads a large data set into a dedicated PostgreSQL database (by default 1,000,000 customers
and 3,000,000 assets, see identify_dataset.py), starts the app under waitress on 127.0.0.1,
sends ``GET /api/v1/identify?phone=...`` (random existing numbers in various spellings) and
``?serial=...`` (random existing serials) from several client threads, checks that each
answer is the one right customer, and reports p50/p95/p99 latency server-side (the
``Server-Timing: app;dur=<ms>`` header) and client-side. Target: server-side p95 < 20 ms.

    python benchmarks/identify.py \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/servicedesk_bench

Loading is skipped when the database already holds the requested numbers of customers and
assets (``--reload`` forces it). The results are also written to
``benchmarks/results/identify-<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import random
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import httpx
import identify_dataset
import phonenumbers
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
    load_average,
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
    wait_until_ready,
    waitress_servers,
    write_results,
)

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/servicedesk_bench"
TARGET_P95_MS = 20.0
AGENT_USERNAME = "bench-agent"
IDENTIFY_PATH = "/api/v1/identify"
REQUEST_TIMEOUT_SECONDS = 10.0
LATE_START_MS = 10.0


# --- what to ask ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Lookup:
    kind: str  # the query parameter: "phone" or "serial"
    query: str
    customer_code: str  # the one customer that must come back


def phone_spellings(e164: str, extension: str | None) -> list[str]:
    """Ways an agent or a caller ID spells the number: ``138 0013 8000``, ``+86-138-0013-8000``,
    ``0086 13800138000``, ``(010) 6275 1234``, ``010-62751234 ext 8``, ..."""
    number = phonenumbers.parse(e164)
    national = str(number.national_number)
    area_length = phonenumbers.length_of_geographical_area_code(number)
    if area_length:
        area, local = national[:area_length], national[area_length:]
        grouped = f"{local[:-4]} {local[-4:]}"
        spellings = [
            f"(0{area}) {grouped}",
            f"0{area}-{local}",
            f"+86 {area} {grouped}",
            f"0086 {area} {local}",
            e164,
        ]
        if extension:
            spellings.append(f"0{area}-{local} ext {extension}")
        return spellings
    blocks = (national[:3], national[3:7], national[7:])
    return [
        national,
        " ".join(blocks),
        "-".join(blocks),
        "+86 " + " ".join(blocks),
        "+86-" + "-".join(blocks),
        f"0086 {national}",
        e164,
    ]


def sample_lookups(database_url: str, count: int, seed: int) -> dict[str, list[Lookup]]:
    """``count`` random existing phone numbers (each in a random spelling) and ``count``
    random existing serials, with the customer each belongs to."""
    rng = random.Random(seed + 2)
    with psycopg.connect(**libpq_params(database_url)) as conn:
        last_phone = conn.execute("SELECT max(id) FROM contact_phones").fetchone()[0]
        last_asset = conn.execute("SELECT max(id) FROM assets").fetchone()[0]
        phone_ids = [rng.randint(1, last_phone) for _ in range(count)]
        asset_ids = [rng.randint(1, last_asset) for _ in range(count)]
        phones = {
            phone_id: (e164, extension, code)
            for phone_id, e164, extension, code in conn.execute(
                "SELECT p.id, p.e164, p.extension, c.code FROM contact_phones p "
                "JOIN customers c ON c.id = p.customer_id WHERE p.id = ANY(%s)",
                (phone_ids,),
            )
        }
        serials = {
            asset_id: (serial, code)
            for asset_id, serial, code in conn.execute(
                "SELECT a.id, a.serial, c.code FROM assets a "
                "JOIN customers c ON c.id = a.customer_id WHERE a.id = ANY(%s)",
                (asset_ids,),
            )
        }
    by_phone = []
    for phone_id in phone_ids:
        e164, extension, code = phones[phone_id]
        by_phone.append(Lookup("phone", rng.choice(phone_spellings(e164, extension)), code))
    by_serial = [Lookup("serial", *serials[asset_id]) for asset_id in asset_ids]
    return {"phone": by_phone, "serial": by_serial}


# --- asking ---------------------------------------------------------------------------------


@dataclass
class Sample:
    client_ms: float
    server_ms: float | None
    error: str | None
    assets: int = 0
    late_ms: float = 0.0


def identify_once(client: httpx.Client, lookup: Lookup) -> Sample:
    """One request; anything but a 200 with exactly the expected customer is an error."""
    started = time.perf_counter()
    try:
        response = client.get(IDENTIFY_PATH, params={lookup.kind: lookup.query})
    except httpx.HTTPError as exc:
        return Sample((time.perf_counter() - started) * 1000, None, type(exc).__name__)
    client_ms = (time.perf_counter() - started) * 1000
    server_ms = server_timing_ms(response.headers.get("server-timing"))
    if response.status_code != 200:
        return Sample(client_ms, server_ms, f"HTTP {response.status_code}")
    try:
        matches = response.json()["matches"]
    except (ValueError, KeyError, TypeError):
        return Sample(client_ms, server_ms, "not an identify response")
    if len(matches) != 1:
        return Sample(client_ms, server_ms, f"{len(matches)} matches instead of 1")
    if (matches[0].get("customer") or {}).get("code") != lookup.customer_code:
        return Sample(client_ms, server_ms, "another customer")
    if server_ms is None:
        return Sample(client_ms, None, "no Server-Timing app;dur header")
    return Sample(client_ms, server_ms, None, assets=len(matches[0].get("assets") or ()))


# --- reporting ------------------------------------------------------------------------------


def summarize(
    kind: str, samples: list[Sample], seconds: float, server_cpu_seconds: float | None
) -> dict:
    good = [sample for sample in samples if sample.error is None]
    assets = [sample.assets for sample in good]

    return {
        "kind": kind,
        "requests": len(samples),
        "ok": len(good),
        "errors": dict(Counter(sample.error for sample in samples if sample.error)),
        "seconds": round(seconds, 2),
        "throughput_rps": round(len(samples) / seconds, 1) if seconds > 0 else None,
        "server_ms": rounded_percentiles([sample.server_ms for sample in good]),
        "client_ms": rounded_percentiles([sample.client_ms for sample in good]),
        "server_cpu_ms_per_request": (
            round(server_cpu_seconds * 1000 / len(samples), 2)
            if server_cpu_seconds is not None and samples
            else None
        ),
        "late_starts": sum(sample.late_ms > LATE_START_MS for sample in samples),
        "assets_per_card": {
            "mean": round(sum(assets) / len(assets), 1) if assets else None,
            "max": max(assets, default=None),
        },
    }


def cpu_per_request(result: dict) -> str:
    value = result["server_cpu_ms_per_request"]
    return f"{value:7.1f}" if value is not None else "      -"


def print_table(results: list[dict]) -> None:
    header = (
        f"{'kind':<7} {'requests':>8} {'errors':>6} | {'server p50':>10} {'p95':>7} {'p99':>7}"
        f" | {'client p50':>10} {'p95':>7} {'p99':>7} | {'req/s':>6} {'cpu/req':>7}"
    )
    say(header)
    say("-" * len(header))
    for result in results:
        server, client = result["server_ms"], result["client_ms"]
        say(
            f"{result['kind']:<7} {result['requests']:>8} {sum(result['errors'].values()):>6} |"
            f" {percentile_cells(server)} |"
            f" {percentile_cells(client)} |"
            f" {result['throughput_rps'] or 0:>6.1f} {cpu_per_request(result)}"
        )
    say(
        "ms; server = Server-Timing app;dur, client = round trip seen by the client, "
        "cpu/req = CPU time of the server processes per request"
    )
    for result in results:
        if "load_average" in result:
            load = result["load_average"]
            say(f"  {result['kind']}: 1-minute load average {load['start']} -> {load['end']}")
        for error, count in result["errors"].items():
            say(f"  {result['kind']}: {count} x {error}")
        if result["late_starts"]:
            say(
                f"  {result['kind']}: {result['late_starts']} requests started more than "
                f"{LATE_START_MS:.0f} ms after they were due (all client threads were busy)"
            )


def verdict(results: list[dict]) -> tuple[bool, str]:
    passed = True
    parts = []
    for result in results:
        p95 = result["server_ms"].get("p95")
        errors = sum(result["errors"].values())
        passed = passed and p95 is not None and p95 < TARGET_P95_MS and errors == 0
        shown = f"{p95:.1f} ms" if p95 is not None else "n/a"
        parts.append(f"{result['kind']} {shown}" + (f", {errors} errors" if errors else ""))
    word = "PASS" if passed else "FAIL"
    return passed, f"{word}: server-side p95 < {TARGET_P95_MS:.0f} ms ({'; '.join(parts)})"


# --- main -----------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Load a large data set into PostgreSQL and measure GET /api/v1/identify."
    )
    add_database_url(
        parser, DEFAULT_URL, help="a database of its own (created when missing; never 'test')"
    )
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--assets", type=int, default=3_000_000)
    parser.add_argument("--requests", type=int, default=5000, help="per kind (phone, serial)")
    parser.add_argument("--concurrency", type=int, default=8, help="client threads")
    parser.add_argument(
        "--rate",
        type=float,
        default=None,
        help="requests per second (an open loop); default: as fast as the threads can",
    )
    parser.add_argument(
        "--server-processes",
        type=int,
        default=1,
        help="waitress processes, each on its own port (the client threads are spread over them)",
    )
    parser.add_argument(
        "--server-threads", type=int, default=8, help="waitress threads per server process"
    )
    parser.add_argument("--warmup", type=int, default=500, help="requests before measuring")
    parser.add_argument(
        "--max-seconds", type=float, default=600, help="time limit for each measured kind"
    )
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--reload", action="store_true", help="load even if the data is there")
    parser.add_argument(
        "--keep-indexes",
        action="store_true",
        help="COPY with every index and foreign key in place (slower; to compare)",
    )
    parser.add_argument("--load-only", action="store_true", help="stop after loading")
    args = parser.parse_args(argv)
    if min(args.customers, args.requests, args.concurrency, args.server_threads) < 1:
        parser.error("customers, requests, concurrency and server threads must be at least 1")
    if not 1 <= args.server_processes <= 16:
        parser.error("server processes: 1 to 16")
    if args.concurrency < args.server_processes:
        parser.error("give at least one client thread per server process")
    if args.assets < 0 or args.warmup < 0 or (args.rate is not None and args.rate <= 0):
        parser.error("assets and warm-up must not be negative, a rate must be positive")
    if args.requests > 100_000 or args.concurrency > 64 or args.warmup > 10_000:
        parser.error("bounded: at most 100,000 requests per kind, 64 threads, 10,000 warm-ups")
    if args.max_seconds > 3600:
        parser.error("bounded: at most 3600 seconds per measured kind")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    database_url = args.database_url
    database = benchmark_database_name(database_url)
    with private_instance("sd-bench-") as workdir:
        if ensure_database(database_url):
            say(f"created database {database}")
        with stage("migrations and regions"):
            migrate_and_load_regions(database_url)

        load_seconds = None
        size = identify_dataset.loaded_size(database_url)
        if args.reload or size != (args.customers, args.assets):
            if size != (0, 0) and not args.reload:
                say(f"the database holds {size[0]:,} customers and {size[1]:,} assets")
            plan = identify_dataset.plan_data(args.customers, args.assets, args.seed)
            load_seconds = identify_dataset.load(
                database_url, plan, seed=args.seed, defer_indexes=not args.keep_indexes
            )
        else:
            say(f"data present: {size[0]:,} customers, {size[1]:,} assets (--reload reloads)")
        if args.load_only:
            return 0

        _agent_id, token = agent_user(database_url, AGENT_USERNAME)
        lookups = sample_lookups(database_url, args.requests + args.warmup, args.seed)
        results, load_before = measure(args, database_url, token, lookups, workdir)

    say("")
    print_table(results)
    passed, line = verdict(results)
    say(line)
    path = write_results(
        "identify",
        {
            "commit": git_commit(),
            "database": database,
            "postgresql": postgres_version(database_url),
            "customers": args.customers,
            "assets": args.assets,
            "load_seconds": round(load_seconds, 1) if load_seconds else None,
            "concurrency": args.concurrency,
            "rate": args.rate,
            "server_processes": args.server_processes,
            "server_threads": args.server_threads,
            "warmup": args.warmup,
            "target_p95_ms": TARGET_P95_MS,
            "passed": passed,
            "machine": machine(load_average_before=load_before, load_average_after=load_average()),
            "results": results,
        },
    )
    say(f"results: {path.relative_to(PROJECT_ROOT)}")
    return 0 if passed else 1


def measure(
    args: argparse.Namespace,
    database_url: str,
    token: str,
    lookups: dict[str, list[Lookup]],
    workdir: Path,
) -> tuple[list[dict], float]:
    """Serve the app, warm it up, then measure each kind; the servers always stop after.

    ``lookups`` holds ``args.requests + args.warmup`` of each kind: the warm-up takes its
    requests from the end, so that the measured ones are asked for the first time."""
    measured = {kind: found[: args.requests] for kind, found in lookups.items()}
    spare = {kind: found[args.requests :] for kind, found in lookups.items()}
    warmup = spare["phone"][: args.warmup // 2] + spare["serial"][: args.warmup - args.warmup // 2]
    results = []
    with waitress_servers(
        env=server_env(database_url),
        log_dir=workdir,
        processes=args.server_processes,
        threads=args.server_threads,
    ) as servers:
        base_urls = [server.base_url for server in servers]
        pids = [server.process.pid for server in servers]

        ready = api_probe(IDENTIFY_PATH, {"serial": "NO-SUCH-SERIAL"}, token)
        for server in servers:
            wait_until_ready(server, ready)
        say(
            f"{len(servers)} server process(es) ready at {', '.join(base_urls)} "
            f"({args.server_threads} threads each); warming up"
        )
        run_load(
            base_urls,
            token,
            warmup,
            identify_once,
            clients=args.concurrency,
            deadline=time.monotonic() + args.max_seconds,
            timeout=REQUEST_TIMEOUT_SECONDS,
        )
        load_before = load_average()
        pace = f" at {args.rate:g}/s" if args.rate else ""
        for kind in ("phone", "serial"):
            load_at_start = load_average()
            say(
                f"measuring {len(measured[kind]):,} identify requests by {kind}{pace}, "
                f"{args.concurrency} client threads, {args.server_processes} server process(es) "
                f"(load average {load_at_start})"
            )
            cpu_before = processes_cpu_seconds(pids)
            samples, seconds = run_load(
                base_urls,
                token,
                measured[kind],
                identify_once,
                clients=args.concurrency,
                deadline=time.monotonic() + args.max_seconds,
                rate=args.rate,
                timeout=REQUEST_TIMEOUT_SECONDS,
            )
            cpu_after = processes_cpu_seconds(pids)
            cpu_used = cpu_after - cpu_before if None not in (cpu_before, cpu_after) else None
            result = summarize(kind, samples, seconds, cpu_used)
            result["load_average"] = {"start": load_at_start, "end": load_average()}
            results.append(result)
    return results, load_before


if __name__ == "__main__":
    run_main(main)
