import base64
from datetime import UTC, datetime, timedelta, timezone

import pytest

from servicedesk.api.cursors import decode_cursor, encode_cursor
from servicedesk.tickets.queries import TicketPosition


def test_a_cursor_round_trips_to_the_microsecond():
    position = TicketPosition(
        created_at=datetime(2026, 11, 20, 2, 30, 0, 123456, tzinfo=UTC), id=42
    )
    cursor = encode_cursor(position)
    assert cursor.isascii() and "=" not in cursor and "/" not in cursor and "+" not in cursor
    assert decode_cursor(cursor) == position


def test_a_cursor_is_kept_in_utc():
    shanghai = timezone(timedelta(hours=8))
    position = TicketPosition(created_at=datetime(2026, 11, 20, 10, 30, tzinfo=shanghai), id=7)
    decoded = decode_cursor(encode_cursor(position))
    assert decoded.created_at == position.created_at and decoded.created_at.tzinfo == UTC


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "garbage!",
        "☃",
        _b64("2026-11-20T02:30:00+00:00"),
        _b64("2026-11-20T02:30:00|1"),
        _b64("2026-11-20T02:30:00+00:00|"),
        _b64("2026-11-20T02:30:00+00:00|-1"),
        _b64("2026-11-20T02:30:00+00:00|1.5"),
        _b64("yesterday|1"),
        _b64("9999-12-31T23:59:59-23:59|1"),
        _b64("2026-11-20T02:30:00+00:00|" + "9" * 5000),
        base64.urlsafe_b64encode(b"\xff\xfe|1").decode(),
    ],
)
def test_garbage_cursors_decode_to_none(cursor):
    assert decode_cursor(cursor) is None
