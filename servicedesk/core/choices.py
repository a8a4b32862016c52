"""Helpers for string columns that only take a fixed set of values."""

import sqlalchemy as sa


def check_in(column: str, values: tuple[str, ...] | list[str], name: str | None = None):
    """A CHECK constraint that keeps ``column`` inside ``values``."""
    quoted = ", ".join(f"'{value}'" for value in values)
    return sa.CheckConstraint(f"{column} IN ({quoted})", name=name or column)
