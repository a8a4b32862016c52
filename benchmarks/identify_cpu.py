"""Benchmark: the Python CPU time of one identify, in-process, without HTTP or concurrency.

Runs against the database that ``identify.py`` loaded (it only runs pending migrations, it
loads no data) and measures,
one call at a time in this process, the CPU time (``time.thread_time``: this thread only, not
PostgreSQL's) and the wall time of

- ``find_customer_ids`` + ``load_cards`` (the service: ``identify()``),
- a whole ``GET /api/v1/identify`` through Flask's test client (bearer authentication, query
  parsing, the service, marshmallow serialisation, the session's teardown),

with the number of SQL statements each one runs, for random existing phone numbers and
serials. This is the service time a server process cannot go below; ``identify.py`` then
measures what the HTTP server adds.

    python benchmarks/identify_cpu.py \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/servicedesk_bench
"""

from __future__ import annotations

import argparse
import gc
import time
from collections.abc import Callable

import identify as http_benchmark
import sqlalchemy as sa
from _common import (
    PROJECT_ROOT,
    add_database_url,
    agent_user,
    benchmark_database_name,
    git_commit,
    load_average,
    make_app,
    migrate_and_load_regions,
    percentiles,
    private_instance,
    run_main,
    say,
    write_results,
)


class StatementCounter:
    """Counts the statements an engine runs (an event listener on the engine)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.count = 0
        sa.event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, *args) -> None:
        self.count += 1


def measure(
    label: str, calls: list[Callable[[], object]], counter: StatementCounter
) -> dict[str, object]:
    cpu_ms: list[float] = []
    wall_ms: list[float] = []
    statements: list[int] = []
    gc.collect()
    for call in calls:
        before = counter.count
        wall, cpu = time.perf_counter(), time.thread_time()
        call()
        cpu_ms.append((time.thread_time() - cpu) * 1000)
        wall_ms.append((time.perf_counter() - wall) * 1000)
        statements.append(counter.count - before)
    return {
        "what": label,
        "calls": len(calls),
        "cpu_ms": {key: round(value, 2) for key, value in percentiles(cpu_ms).items()},
        "cpu_ms_mean": round(sum(cpu_ms) / len(cpu_ms), 2),
        "wall_ms": {key: round(value, 2) for key, value in percentiles(wall_ms).items()},
        "statements": {"min": min(statements), "max": max(statements)},
    }


def print_table(results: list[dict]) -> None:
    header = (
        f"{'what':<24} {'calls':>6} | {'cpu p50':>8} {'p95':>6} {'p99':>6} {'mean':>6}"
        f" | {'wall p50':>8} {'p95':>6} {'p99':>6} | {'SQL':>5}"
    )
    say(header)
    say("-" * len(header))
    for result in results:
        cpu, wall, statements = result["cpu_ms"], result["wall_ms"], result["statements"]
        mean = result["cpu_ms_mean"]
        count = str(statements["min"])
        if statements["max"] != statements["min"]:
            count += f"-{statements['max']}"
        say(
            f"{result['what']:<24} {result['calls']:>6} |"
            f" {cpu['p50']:>8.2f} {cpu['p95']:>6.2f} {cpu['p99']:>6.2f} {mean:>6.2f}"
            f" | {wall['p50']:>8.2f} {wall['p95']:>6.2f} {wall['p99']:>6.2f} | {count:>5}"
        )
    say("ms; cpu = this thread's CPU time (Python), wall = elapsed; SQL = statements per call")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="CPU time of identify, in-process.")
    add_database_url(parser, http_benchmark.DEFAULT_URL, help="the database identify.py loaded")
    parser.add_argument("--samples", type=int, default=2000, help="per kind (phone, serial)")
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--seed", type=int, default=2027)
    args = parser.parse_args(argv)
    if not 1 <= args.samples <= 100_000 or not 0 <= args.warmup <= 10_000:
        parser.error("samples: 1 to 100,000; warm-up: 0 to 10,000")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    database = benchmark_database_name(args.database_url)
    with private_instance("sd-bench-cpu-"):
        results = run(args)
    say("")
    print_table(results)
    path = write_results(
        "identify-cpu",
        {
            "commit": git_commit(),
            "database": database,
            "samples": args.samples,
            "load_average": load_average(),
            "results": results,
        },
    )
    say(f"results: {path.relative_to(PROJECT_ROOT)}")
    return 0


def run(args: argparse.Namespace) -> list[dict]:
    from servicedesk.core.db import db, utcnow
    from servicedesk.customers.identify import identify

    migrate_and_load_regions(args.database_url)
    _agent_id, token = agent_user(args.database_url, http_benchmark.AGENT_USERNAME)
    total = args.samples + args.warmup
    lookups = http_benchmark.sample_lookups(args.database_url, total, args.seed)
    app = make_app(args.database_url)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    with app.app_context():
        counter = StatementCounter(db.engine)

    def service(kind: str, query: str) -> Callable[[], object]:
        def call() -> object:
            with app.app_context():  # a session of its own, closed after, as in a request
                return identify(now=utcnow(), **{kind: query})

        return call

    def request(kind: str, query: str) -> Callable[[], object]:
        def call() -> object:
            response = client.get(
                http_benchmark.IDENTIFY_PATH, query_string={kind: query}, headers=headers
            )
            if response.status_code != 200 or len(response.get_json()["matches"]) != 1:
                raise SystemExit(f"unexpected answer for {kind}={query!r}: {response.status}")
            return response

        return call

    results = []
    for kind in ("phone", "serial"):
        found = lookups[kind]
        warm, measured = found[args.samples :], found[: args.samples]
        say(f"{kind}: warming up with {len(warm)} lookups, then {len(measured)} measured")
        for lookup in warm:
            service(kind, lookup.query)()
            request(kind, lookup.query)()
        for label, make in (("identify()", service), ("GET /identify", request)):
            calls = [make(kind, lookup.query) for lookup in measured]
            results.append(measure(f"{kind}: {label}", calls, counter))
    with app.app_context():
        db.engine.dispose()
    return results


if __name__ == "__main__":
    run_main(main)
