"""Cross-cutting building blocks: database types, time helpers."""
