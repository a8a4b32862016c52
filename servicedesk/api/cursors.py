"""Opaque page cursors: a ticket list position, URL-safe base64 encoded."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime

from servicedesk.tickets.queries import TicketPosition

SEPARATOR = "|"


def encode_cursor(position: TicketPosition) -> str:
    text = f"{position.created_at.astimezone(UTC).isoformat()}{SEPARATOR}{position.id}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> TicketPosition | None:
    """The position in ``cursor``, or None when it is not one this API handed out."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created_text, separator, id_text = raw.decode("ascii").partition(SEPARATOR)
        if not separator or not id_text.isdigit():
            return None
        created_at = datetime.fromisoformat(created_text)
        if created_at.tzinfo is None:
            return None
        return TicketPosition(created_at=created_at.astimezone(UTC), id=int(id_text))
    except (binascii.Error, ValueError, OverflowError):
        return None
