"""Helpers shared by the benchmark scripts: command-line and environment set-up, the app's
database (migrations, an agent user, emptying tables), PostgreSQL bulk loading, running the app
as a real HTTP server on the loopback interface, CPU and latency statistics, and the results.

Benchmarks are scripts, not tests; they import this module as ``_common`` (the script's own
folder is first on ``sys.path`` when it runs as ``python benchmarks/<name>.py``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol, TypeVar

import httpx
import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

T = TypeVar("T")
ItemT = TypeVar("ItemT")
SampleT = TypeVar("SampleT", bound="Timed")

PROJECT_ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = Path(__file__).resolve().parent / "results"  # git-ignored
PROTECTED_DATABASES = frozenset({"test", "postgres", "template0", "template1"})
"""Databases a benchmark never creates, fills or wipes (``test`` belongs to the test suite)."""
NULL = "\\N"
"""NULL in COPY text."""


# --- command line and environment --------------------------------------------------------


def add_database_url(parser: argparse.ArgumentParser, default: str, help: str) -> None:
    """``--database-url``, by default ``$BENCH_DATABASE_URL`` or else ``default``."""
    parser.add_argument(
        "--database-url", default=os.environ.get("BENCH_DATABASE_URL", default), help=help
    )


@contextlib.contextmanager
def private_instance(prefix: str) -> Iterator[Path]:
    """A temporary working folder, removed on leaving the block; its ``instance`` subfolder
    becomes the app's ``SERVICEDESK_INSTANCE_PATH``, and ``SECRET_KEY`` gets a random value
    unless one is set. Yields the working folder (server logs can go there)."""
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    os.environ["SERVICEDESK_INSTANCE_PATH"] = str(workdir / "instance")
    os.environ.setdefault("SECRET_KEY", secrets.token_hex(32))
    try:
        yield workdir
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def run_main(main: Callable[[], int | None]) -> None:
    """Run a script's ``main`` and exit with its status; Ctrl-C exits with 130."""
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        say("interrupted")
        sys.exit(130)


# --- the app and its database ------------------------------------------------------------


def make_app(database_url: str):
    from servicedesk import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": database_url})


def migrate_and_load_regions(database_url: str) -> None:
    """``flask db upgrade``, then the shipped regions (the stations refer to them)."""
    import flask_migrate

    from servicedesk.extensions import db
    from servicedesk.stations.regions import load_default_regions

    app = make_app(database_url)
    with app.app_context():
        flask_migrate.upgrade()
        load_default_regions()
        db.session.commit()
        db.engine.dispose()


def agent_user(database_url: str, username: str) -> tuple[int, str]:
    """The id of the agent user ``username`` (created when missing) and a new API token."""
    import sqlalchemy as sa

    from servicedesk.auth.models import User
    from servicedesk.auth.services import create_user, issue_token
    from servicedesk.extensions import db

    app = make_app(database_url)
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == username))
        if user is None:
            user = create_user(username, role="agent", password=secrets.token_urlsafe(16))
        token = issue_token(user)
        db.session.commit()
        user_id = user.id
        db.engine.dispose()
    return user_id, token


def server_env(database_url: str, **extra: str) -> dict[str, str]:
    """The environment of a server process: this database, the instance folder and secret
    key of :func:`private_instance`, and ``extra``."""
    return {
        "DATABASE_URL": database_url,
        "SERVICEDESK_INSTANCE_PATH": os.environ["SERVICEDESK_INSTANCE_PATH"],
        "SECRET_KEY": os.environ["SECRET_KEY"],
        **extra,
    }


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


def empty_tables(database_url: str, tables: Sequence[str]) -> None:
    """``TRUNCATE ... RESTART IDENTITY CASCADE`` those of ``tables`` that exist (also every
    table that refers to them): before migrating, so that a migration never has to deal with
    a benchmark's rows."""
    with psycopg.connect(**libpq_params(database_url)) as conn:
        present = [
            name
            for (name,) in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename = ANY(%s)",
                (list(tables),),
            )
        ]
        if present:
            conn.execute(
                sql.SQL("TRUNCATE {} RESTART IDENTITY CASCADE").format(
                    sql.SQL(", ").join(map(sql.Identifier, present))
                )
            )


def copy_timestamp(moment: datetime | None) -> str:
    """Naive UTC text, as the ``UTCDateTime`` columns store it; ``\\N`` for None."""
    if moment is None:
        return NULL
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")


def postgres_version(database_url: str) -> str:
    with psycopg.connect(**libpq_params(database_url)) as conn:
        return conn.execute("SHOW server_version").fetchone()[0]


def backend_cpu_seconds(database_url: str) -> dict[int, float]:
    """CPU time (user + system, seconds) so far of each PostgreSQL backend connected to the
    benchmark database, by process id, read from ``/proc`` (the server runs on this machine);
    empty when ``/proc`` cannot tell."""
    with psycopg.connect(**libpq_params(database_url)) as conn:
        pids = [
            pid
            for (pid,) in conn.execute(
                "SELECT pid FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ]
    seconds = {}
    for pid in pids:
        used = process_cpu_seconds(pid)
        if used is not None:
            seconds[pid] = used
    return seconds


@dataclass
class Timing:
    """Of one call: wall seconds, this process's CPU seconds, and the CPU seconds of the
    database's backends (None when ``/proc`` cannot tell)."""

    seconds: float
    python_cpu: float
    postgres_cpu: float | None


def timed(database_url: str, call: Callable[[], T]) -> tuple[T, Timing]:
    """Run ``call`` once; its result and the :class:`Timing` it took."""
    postgres_before = backend_cpu_seconds(database_url)
    python_before = time.process_time()
    started = time.perf_counter()
    result = call()
    seconds = time.perf_counter() - started
    python_cpu = time.process_time() - python_before
    postgres_after = backend_cpu_seconds(database_url)
    postgres_cpu = None
    if postgres_after:
        postgres_cpu = sum(
            cpu - postgres_before.get(pid, 0.0) for pid, cpu in postgres_after.items()
        )
    return result, Timing(seconds, python_cpu, postgres_cpu)


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


def api_probe(path: str, params: dict[str, object], token: str) -> Callable[[httpx.Client], bool]:
    """A probe for :func:`wait_until_ready`: ``GET path?params`` with the bearer ``token``
    answers 200. A 404 stops the benchmark (the server does not have that endpoint)."""

    def ready(client: httpx.Client) -> bool:
        response = client.get(path, params=params, headers={"Authorization": f"Bearer {token}"})
        if response.status_code == 404:
            raise SystemExit(f"{path} does not exist on this server (404)")
        return response.status_code == 200

    return ready


@contextlib.contextmanager
def waitress_servers(
    *,
    env: dict[str, str],
    log_dir: Path,
    processes: int,
    threads: int,
    app_factory: str = "servicedesk:create_app",
) -> Iterator[list[Server]]:
    """``processes`` waitress processes (``threads`` threads each), each on its own free
    127.0.0.1 port with its log in ``log_dir/server-<n>.log``; the client spreads its load
    over them. One Python process runs Python on one core at a time (the GIL), so this is how
    a deployment uses more cores. Every process is stopped on leaving the block."""
    with contextlib.ExitStack() as stack:
        yield [
            stack.enter_context(
                waitress_server(
                    env=env,
                    log_path=log_dir / f"server-{number}.log",
                    threads=threads,
                    app_factory=app_factory,
                )
            )
            for number in range(1, processes + 1)
        ]


def processes_cpu_seconds(pids: Iterable[int]) -> float | None:
    """The sum of :func:`process_cpu_seconds` over ``pids``, or None if one is unknown."""
    total = 0.0
    for pid in pids:
        seconds = process_cpu_seconds(pid)
        if seconds is None:
            return None
        total += seconds
    return total


# --- the load ----------------------------------------------------------------------------------


class Timed(Protocol):
    """A sample :func:`run_load` can mark as sent late (milliseconds)."""

    late_ms: float


def run_load(
    base_urls: Sequence[str],
    token: str,
    items: Sequence[ItemT],
    send: Callable[[httpx.Client, ItemT], SampleT],
    *,
    clients: int,
    deadline: float,
    rate: float | None = None,
    timeout: float = 10.0,
) -> tuple[list[SampleT], float]:
    """``send(client, item)`` for each of ``items`` from ``clients`` threads, one keep-alive
    HTTP client each with the bearer ``token``; thread ``i`` talks to server ``i mod
    len(base_urls)``.

    Without ``rate`` each thread sends its next item as soon as it has the previous answer (a
    closed loop: the server is kept saturated). With ``rate`` (items per second, all threads
    together) item ``i`` is due ``i / rate`` seconds after the start (an open loop), and each
    sample's ``late_ms`` says how late a busy thread sent it. Stops when the items run out or
    at ``deadline`` (``time.monotonic()``). Returns the samples and the seconds taken.
    """
    samples: list[SampleT] = []
    lock = threading.Lock()
    pending = iter(enumerate(items))
    started = time.monotonic()

    def worker(base_url: str) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=base_url, headers=headers, timeout=timeout) as client:
            while True:
                with lock:
                    position, item = next(pending, (None, None))
                if item is None:
                    return
                late_ms = 0.0
                if rate:
                    due = started + position / rate
                    if due >= deadline:
                        return
                    wait = due - time.monotonic()
                    if wait > 0:
                        time.sleep(wait)
                    else:
                        late_ms = -wait * 1000
                if time.monotonic() >= deadline:
                    return
                sample = send(client, item)
                sample.late_ms = late_ms
                with lock:
                    samples.append(sample)

    threads = [
        threading.Thread(target=worker, args=(base_urls[number % len(base_urls)],), daemon=True)
        for number in range(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return samples, time.monotonic() - started


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


def rounded_percentiles(values: Sequence[float]) -> dict[str, float]:
    """:func:`percentiles` rounded to 0.01."""
    return {point: round(value, 2) for point, value in percentiles(values).items()}


def percentile_cells(stats: dict[str, float]) -> str:
    """p50, p95 and p99 of ``stats`` as table columns 10, 7 and 7 wide, ``-`` when missing."""

    def cell(point: str) -> str:
        return f"{stats[point]:7.1f}" if point in stats else "      -"

    return f"{cell('p50'):>10} {cell('p95')} {cell('p99')}"


# --- the machine and the results --------------------------------------------------------------


def load_average() -> float:
    """The 1-minute load average."""
    return round(os.getloadavg()[0], 2)


def load_averages() -> list[float]:
    """The 1-, 5- and 15-minute load averages."""
    return [round(value, 2) for value in os.getloadavg()]


def uptime() -> str:
    completed = subprocess.run(["uptime"], capture_output=True, text=True)
    return completed.stdout.strip()


def machine(**extra: object) -> dict[str, object]:
    """What the results record of the machine: CPUs, Python version, and ``extra``."""
    return {"cpus": os.cpu_count(), "python": platform.python_version(), **extra}


def git_commit() -> str | None:
    if not shutil.which("git"):
        return None
    completed = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True
    )
    return completed.stdout.strip() or None


def write_results(benchmark: str, data: dict) -> Path:
    """``benchmarks/results/<benchmark>-<UTC timestamp>.json``, with when it ran."""
    now = datetime.now(UTC)
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"{benchmark}-{now:%Y%m%dT%H%M%SZ}.json"
    document = {"benchmark": benchmark, "at": now.isoformat(timespec="seconds"), **data}
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    return path
