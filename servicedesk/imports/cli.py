"""``servicedesk import regions|stations|customers|assets|entitlements FILE.csv``."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy.exc import OperationalError, ProgrammingError

from servicedesk.core.db import db
from servicedesk.imports.csvfile import CsvFileError
from servicedesk.imports.records import LAYOUTS
from servicedesk.imports.report import ImportReport
from servicedesk.imports.services import BATCH_SIZE, import_table, read_import_file
from servicedesk.stations.regions import DEFAULT_REGIONS_CSV

PROGRESS_EVERY = 10_000
"""Rows between two progress lines on stderr."""
EXIT_REJECTED = 1
EXIT_REFUSED = 2

import_cli = AppGroup(
    "import",
    help="""Import CSV files (idempotent: importing a file twice changes nothing).

    Import in this order: regions, stations, customers, assets, entitlements.
    Files are UTF-8 (with or without a byte-order mark) with a header row;
    list values are separated by ';'.

    \b
    Exit status:
      0  every row was imported (added, updated or unchanged)
      1  some rows were rejected; the others were imported
      2  the file was refused as a whole (not UTF-8, a required column missing,
         ...) or the database could not be used
    """,
)


class FileRefused(click.ClickException):
    """The whole file is refused; nothing was imported."""

    exit_code = EXIT_REFUSED


_FILE = click.Path(exists=True, dir_okay=False, readable=True, path_type=Path)
_DRY_RUN = click.option(
    "--dry-run", is_flag=True, help="Check every row and report, but save nothing."
)
_EPILOG = "Exit status: 0 all rows imported, 1 some rows rejected (the rest kept), 2 file refused."


@import_cli.command("regions", epilog=_EPILOG)
@click.argument("file", type=_FILE, required=False)
@_DRY_RUN
def regions_command(file: Path | None, dry_run: bool) -> None:
    """Import service regions from FILE, or the 18 shipped regions when FILE is not given.

    \b
    Columns: code,name_zh,name_en,provinces
    provinces: the provinces (or cities that are regions of their own, like 深圳)
    of the region, ';'-separated. A province listed under another region moves.
    """
    _run("regions", file or DEFAULT_REGIONS_CSV, dry_run)


@import_cli.command("stations", epilog=_EPILOG)
@click.argument("file", type=_FILE)
@_DRY_RUN
def stations_command(file: Path, dry_run: bool) -> None:
    """Import repair stations from FILE, matched by code.

    \b
    Columns: code,name,region,cities,four_hour_cities,product_lines,capacity,status
    region: a region code; cities, four_hour_cities, product_lines: ';' lists
    four_hour_cities must be among cities; capacity: open tickets (0 or more)
    status: active, probation or suspended; empty means active for a new
    station and leaves an existing station's status as it is.
    """
    _run("stations", file, dry_run)


@import_cli.command("customers", epilog=_EPILOG)
@click.argument("file", type=_FILE)
@_DRY_RUN
def customers_command(file: Path, dry_run: bool) -> None:
    """Import customers from FILE, matched by code.

    \b
    Columns: code,name,class,province,city,address,phones,language
    class: A, B, C or consumer; province: one of a service region's provinces
    (广东省 and 广东 are both fine); phones: ';' list in any spelling, stored
    as E.164 on the customer's primary contact (replacing its numbers);
    language: zh or en, empty means zh for a new customer and leaves an
    existing customer's language as it is.
    """
    _run("customers", file, dry_run)


@import_cli.command("assets", epilog=_EPILOG)
@click.argument("file", type=_FILE)
@_DRY_RUN
def assets_command(file: Path, dry_run: bool) -> None:
    """Import assets from FILE, matched by serial.

    \b
    Columns: serial,customer,product_line,model,purchase_date,province,city
    Optional column: purchase_price (e.g. 12999.00; empty means unknown)
    customer: an imported customer's code; purchase_date: YYYY-MM-DD
    """
    _run("assets", file, dry_run)


@import_cli.command("entitlements", epilog=_EPILOG)
@click.argument("file", type=_FILE)
@_DRY_RUN
def entitlements_command(file: Path, dry_run: bool) -> None:
    """Import entitlements from FILE, matched by serial, offering and start.

    \b
    Columns: serial,offering,start,end
    offering: depot, onsite, onsite_4h, adp or kyd (adp on laptops and aio only)
    start, end: YYYY-MM-DD, both days included
    """
    _run("entitlements", file, dry_run)


def _run(kind: str, path: Path, dry_run: bool) -> None:
    try:
        table = read_import_file(kind, path.read_bytes())
    except CsvFileError as exc:
        raise FileRefused(f"{path}: {exc}; nothing was imported") from exc
    if table.ignored_columns:
        click.echo(
            f"warning: ignoring unknown column(s) {', '.join(table.ignored_columns)} "
            f"(a {kind} file has {', '.join(LAYOUTS[kind].required + LAYOUTS[kind].optional)})",
            err=True,
        )
    total = len(table.rows)
    next_progress = PROGRESS_EVERY
    saved_rows = 0

    def after_batch(report: ImportReport) -> None:
        nonlocal next_progress, saved_rows
        if not dry_run:
            db.session.commit()
            saved_rows = report.rows
        if report.rows >= next_progress:
            click.echo(f"{kind}: {report.rows:,} of {total:,} rows done", err=True)
            next_progress = (report.rows // PROGRESS_EVERY + 1) * PROGRESS_EVERY

    try:
        report = import_table(kind, table, batch_size=BATCH_SIZE, after_batch=after_batch)
    except (OperationalError, ProgrammingError) as exc:
        db.session.rollback()
        saved = f"; the first {saved_rows} rows were saved" if saved_rows else ""
        raise FileRefused(
            f"the database could not be used ({str(exc.orig).strip().splitlines()[0]}){saved}; "
            "is it reachable, and has `servicedesk db upgrade` been run?"
        ) from exc
    if dry_run:
        db.session.rollback()
    else:
        db.session.commit()
    _print_report(report, path, dry_run)
    if not report.ok:
        click.get_current_context().exit(EXIT_REJECTED)


def _print_report(report: ImportReport, path: Path, dry_run: bool) -> None:
    for row in report.sorted_rejections():
        click.echo(f"{path.name}: rejected {row.describe()}")
    prefix = "dry run, nothing saved: " if dry_run else ""
    click.echo(prefix + report.summary())
