"""Reading an import file: UTF-8 (with or without a byte-order mark), a header row, one record
per row, each row kept with the line number it starts on in the file (the header is line 1).

A problem that makes the whole file unusable (not UTF-8, no header, a required column missing)
raises :class:`CsvFileError`; a problem with one row is recorded on that row and left to the
caller to report.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field


class CsvFileError(ValueError):
    """The file cannot be imported at all; the message says what to fix."""


@dataclass(frozen=True)
class CsvRow:
    line: int
    """The line the row starts on (a quoted value may span several lines)."""
    values: dict[str, str]
    """Stripped values by lower-case column name; empty when ``problem`` is set."""
    problem: str | None = None


@dataclass
class CsvTable:
    columns: tuple[str, ...]
    rows: list[CsvRow] = field(default_factory=list)
    ignored_columns: tuple[str, ...] = ()
    """Columns in the header that the import does not know and leaves alone."""


def decode(data: bytes) -> str:
    """The text of ``data`` read as UTF-8, a leading byte-order mark dropped."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise CsvFileError(
            f"the file is not UTF-8 (first bad byte on line {line}); save it as UTF-8 "
            "(in Excel: 'CSV UTF-8') and import it again"
        ) from exc


def read_table(text: str, required: Sequence[str], optional: Sequence[str] = ()) -> CsvTable:
    """Split ``text`` into rows keyed by column name.

    Header names are matched case-insensitively and without surrounding spaces. Entirely blank
    rows are skipped. A row with more or fewer fields than the header is kept with a
    ``problem`` instead of values.
    """
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None or not any(name.strip() for name in header):
            raise CsvFileError(
                "the file is empty: the first line must be the header " + ",".join(required)
            )
        columns = tuple(name.strip().lower() for name in header)
        _check_header(columns, required)
        known = set(required) | set(optional)
        table = CsvTable(
            columns=columns,
            ignored_columns=tuple(name for name in columns if name not in known and name),
        )
        previous_end = reader.line_num
        for fields in reader:
            line = previous_end + 1
            previous_end = reader.line_num
            if not any(value.strip() for value in fields):
                continue
            if len(fields) != len(columns):
                table.rows.append(
                    CsvRow(
                        line=line,
                        values={},
                        problem=(
                            f"the row has {len(fields)} fields but the header has "
                            f"{len(columns)} (a value that contains a comma must be quoted)"
                        ),
                    )
                )
                continue
            values = {
                name: value.strip() for name, value in zip(columns, fields, strict=True) if name
            }
            table.rows.append(CsvRow(line=line, values=values))
    except csv.Error as exc:
        raise CsvFileError(
            f"line {reader.line_num}: the file is not valid CSV ({exc}; is a quote left open?)"
        ) from exc
    return table


def _check_header(columns: tuple[str, ...], required: Sequence[str]) -> None:
    duplicates = sorted({name for name in columns if name and columns.count(name) > 1})
    if duplicates:
        raise CsvFileError(f"the header names {', '.join(duplicates)} more than once")
    missing = [name for name in required if name not in columns]
    if missing:
        raise CsvFileError(
            f"the header lacks the column(s) {', '.join(missing)}; "
            f"expected the header {','.join(required)}"
        )
