"""Helpers shared by the benchmark scripts: PostgreSQL bulk loading, running the app as a real
HTTP server on the loopback interface, and latency statistics.

Benchmarks are scripts, not tests; they import this module as ``_common`` (the script's own
folder is first on ``sys.path`` when it runs as ``python benchmarks/<name>.py``).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

RESULTS_DIR = Path(__file__).resolve().parent / "results"  # git-ignored
PROTECTED_DATABASES = frozenset({"test", "postgres", "template0", "template1"})
"""Databases a benchmark never creates, fills or wipes (``test`` belongs to the test suite)."""


# --- PostgreSQL ----------------------------------------------------------------------------


def libpq_params(database_url: str, *, dbname: str | None = None) -> dict[str, str]:
    """Connection keywords for psycopg from a SQLAlchemy URL (``postgresql+psycopg://...``)."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        raise SystemExit(f"a PostgreSQL URL is needed, not {url.render_as_string()!r}")
    params = {
        "host": url.host or "127.0.0.1",
        "port": str(url.port or 5432),
        "user": url.username or "postgres",
        "dbname": dbname or url.database or "",
    }
    if url.password:
        params["password"] = str(url.password)
    return params


def benchmark_database_name(database_url: str) -> str:
    name = make_url(database_url).database or ""
    if not name or name in PROTECTED_DATABASES:
        raise SystemExit(
            f"refusing to use database {name!r} for a benchmark: pick a dedicated one, "
            "e.g. servicedesk_bench"
        )
    return name


def ensure_database(database_url: str) -> bool:
    """Create the benchmark database when it is missing; True when it was created.

    Connects to the ``postgres`` maintenance database for that, never to another one.
    """
    name = benchmark_database_name(database_url)
    params = libpq_params(database_url, dbname="postgres")
    with psycopg.connect(**params, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists:
            return False
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return True


@dataclass
class DeferredSchema:
    """Secondary indexes, unique constraints and foreign keys of some tables, dropped for a
    bulk load and created again afterwards from their exact catalogue definitions.

    Primary keys stay: rows arrive in key order, so their indexes grow at the right edge.
    """

    statements: list[str] = field(default_factory=list)

    @classmethod
    def drop(cls, conn: psycopg.Connection, tables: Sequence[str]) -> DeferredSchema:
        table_ids = (list(tables),)
        constraints = conn.execute(
            """
            SELECT rel.relname, con.conname, pg_get_constraintdef(con.oid)
            FROM pg_constraint con JOIN pg_class rel ON rel.oid = con.conrelid
            WHERE con.contype IN ('u', 'f') AND con.conrelid = ANY(%s::regclass[])
            ORDER BY con.contype DESC, rel.relname, con.conname
            """,
            table_ids,
        ).fetchall()  # unique constraints first: foreign keys may need them back first
        indexes = conn.execute(
            """
            SELECT rel.relname, pg_get_indexdef(idx.indexrelid)
            FROM pg_index idx JOIN pg_class rel ON rel.oid = idx.indexrelid
            WHERE idx.indrelid = ANY(%s::regclass[])
              AND NOT idx.indisprimary
              AND NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = idx.indexrelid)
            ORDER BY rel.relname
            """,
            table_ids,
        ).fetchall()
        for table, name, _definition in reversed(constraints):
            conn.execute(
                sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
                    sql.Identifier(table), sql.Identifier(name)
                )
            )
        for name, _definition in indexes:
            conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
        deferred = cls([definition for _name, definition in indexes])
        for table, name, definition in constraints:
            deferred.statements.append(
                sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} ")
                .format(sql.Identifier(table), sql.Identifier(name))
                .as_string(conn)
                + definition
            )
        return deferred

    def restore(self, conn: psycopg.Connection, report: Callable[[str, float], None]) -> None:
        """Recreate everything that :meth:`drop` removed; ``report(statement, seconds)``."""
        for statement in self.statements:
            started = time.perf_counter()
            conn.execute(statement)
            report(statement, time.perf_counter() - started)


def copy_lines(
    conn: psycopg.Connection,
    table: str,
    columns: Sequence[str],
    lines: Iterable[str],
    *,
    freeze: bool = False,
    chunk_rows: int = 20_000,
) -> int:
    """COPY tab-separated text lines (each ending in a newline) into ``table``; row count.

    The caller guarantees that values hold no tab, newline or backslash (``\\N`` is NULL).
    ``freeze`` is only allowed when the table was truncated in the same transaction.
    """
    options = sql.SQL(" (FREEZE)") if freeze else sql.SQL("")
    statement = sql.SQL("COPY {} ({}) FROM STDIN{}").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns)), options
    )
    count = 0
    buffer: list[str] = []
    with conn.cursor() as cursor, cursor.copy(statement) as copy:
        for line in lines:
            buffer.append(line)
            if len(buffer) >= chunk_rows:
                copy.write("".join(buffer))
                count += len(buffer)
                buffer.clear()
        if buffer:
            copy.write("".join(buffer))
            count += len(buffer)
    return count


def reset_sequences(conn: psycopg.Connection, tables: Sequence[str]) -> None:
    """Move each table's ``id`` sequence past the largest id (rows were copied with ids)."""
    for table in tables:
        conn.execute(
            sql.SQL(
                "SELECT setval(pg_get_serial_sequence({table_name}, 'id'), "
                "coalesce(max(id), 0) + 1, false) FROM {table}"
            ).format(table_name=sql.Literal(table), table=sql.Identifier(table))
        )


# --- progress ------------------------------------------------------------------------------


def say(message: str) -> None:
    print(message, flush=True)


@contextlib.contextmanager
def stage(name: str) -> Iterator[dict[str, int]]:
    """Time a loading stage; put the row count into ``counter["rows"]`` to get rows/s."""
    counter = {"rows": 0}
    started = time.perf_counter()
    yield counter
    seconds = time.perf_counter() - started
    rows = counter["rows"]
    rate = f", {rows / seconds:,.0f} rows/s" if rows and seconds > 0 else ""
    rows_text = f"{rows:,} rows in " if rows else ""
    say(f"  {name:<28} {rows_text}{seconds:,.1f} s{rate}")


# --- the app as an HTTP server ----------------------------------------------------------------


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    process: subprocess.Popen
    base_url: str
    log_path: Path

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@contextlib.contextmanager
def waitress_server(
    *,
    env: dict[str, str],
    log_path: Path,
    threads: int,
    app_factory: str = "servicedesk:create_app",
) -> Iterator[Server]:
    """Serve ``app_factory`` with waitress on a free 127.0.0.1 port in a child process.

    The process is always stopped on leaving the block (also on errors and Ctrl-C).
    """
    port = free_loopback_port()
    command = [
        sys.executable,
        "-m",
        "waitress",
        "--host=127.0.0.1",
        f"--port={port}",
        f"--threads={threads}",
        "--call",
        app_factory,
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        yield Server(process=process, base_url=f"http://127.0.0.1:{port}", log_path=log_path)
    finally:
        stop_process(process)


def stop_process(process: subprocess.Popen, grace_seconds: float = 10.0) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=grace_seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=grace_seconds)


def process_cpu_seconds(pid: int) -> float | None:
    """User plus system CPU time a process has used so far (Linux ``/proc``), or None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_until_ready(
    server: Server,
    probe: Callable[[httpx.Client], bool],
    *,
    attempts: int = 120,
    pause: float = 0.5,
) -> None:
    """Call ``probe`` until it returns True; give up after ``attempts`` tries or if the server
    process exits, showing the end of its log."""
    with httpx.Client(base_url=server.base_url, timeout=5.0) as client:
        for _attempt in range(attempts):
            if server.process.poll() is not None:
                raise SystemExit(
                    f"the server exited with status {server.process.returncode}:\n"
                    + server.log_tail()
                )
            try:
                if probe(client):
                    return
            except httpx.TransportError:
                pass
            time.sleep(pause)
    raise SystemExit(
        f"the server at {server.base_url} was not ready after {attempts * pause:.0f} s:\n"
        + server.log_tail()
    )


# --- statistics --------------------------------------------------------------------------------

SERVER_TIMING_APP = re.compile(r"(?:^|,)\s*app\s*;(?:[^,]*;)?\s*dur=([0-9.]+)")


def server_timing_ms(header: str | None) -> float | None:
    """The ``app;dur=<ms>`` entry of a ``Server-Timing`` header, or None."""
    if not header:
        return None
    match = SERVER_TIMING_APP.search(header)
    return float(match.group(1)) if match else None


def percentiles(values: Sequence[float], points: Sequence[int] = (50, 95, 99)) -> dict[str, float]:
    """``{"p50": ..., "p95": ..., "p99": ...}`` (linear interpolation between samples);
    empty when there are fewer than two values."""
    if len(values) < 2:
        return {}
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {f"p{point}": cuts[point - 1] for point in points}


def write_results(benchmark: str, data: dict) -> Path:
    """``benchmarks/results/<benchmark>-<UTC timestamp>.json``, with when it ran."""
    now = datetime.now(UTC)
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"{benchmark}-{now:%Y%m%dT%H%M%SZ}.json"
    document = {"benchmark": benchmark, "at": now.isoformat(timespec="seconds"), **data}
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    return path
