"""Bulk CSV imports (idempotent upserts with a report of added, updated and rejected rows)."""
