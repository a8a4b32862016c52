"""What an import did: rows added, updated, unchanged, and the rejected ones with their reasons."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Outcome(Enum):
    ADDED = "added"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class RejectedRow:
    line: int
    """The row's line in the file; the header is line 1."""
    reasons: tuple[str, ...]

    def describe(self) -> str:
        return f"line {self.line}: " + "; ".join(self.reasons)


@dataclass
class ImportReport:
    kind: str
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)
    ignored_columns: tuple[str, ...] = ()

    def count(self, outcome: Outcome) -> None:
        setattr(self, outcome.value, getattr(self, outcome.value) + 1)

    def reject(self, line: int, reasons: list[str] | tuple[str, ...]) -> None:
        self.rejected.append(RejectedRow(line=line, reasons=tuple(reasons)))

    @property
    def rows(self) -> int:
        """Rows read (blank rows are not counted)."""
        return self.added + self.updated + self.unchanged + len(self.rejected)

    @property
    def ok(self) -> bool:
        return not self.rejected

    def summary(self) -> str:
        return (
            f"{self.kind}: {self.rows} rows: {self.added} added, {self.updated} updated, "
            f"{self.unchanged} unchanged, {len(self.rejected)} rejected"
        )

    def sorted_rejections(self) -> list[RejectedRow]:
        return sorted(self.rejected, key=lambda row: row.line)
