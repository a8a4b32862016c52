import pytest

from servicedesk.tickets.models import format_ticket_number
from servicedesk.tickets.numbering import ensure_counter_at_least, next_ticket_number


@pytest.mark.parametrize(
    ("year", "sequence", "number"),
    [
        (2026, 1, "SD-2026-000001"),
        (2026, 123, "SD-2026-000123"),
        (2027, 1234567, "SD-2027-1234567"),
    ],
)
def test_format(year, sequence, number):
    assert format_ticket_number(year, sequence) == number


def test_numbers_count_up_per_year(db):
    assert [next_ticket_number(2026) for _ in range(3)] == [
        "SD-2026-000001",
        "SD-2026-000002",
        "SD-2026-000003",
    ]
    assert next_ticket_number(2027) == "SD-2027-000001"
    assert next_ticket_number(2026) == "SD-2026-000004"


def test_counter_moves_past_imported_numbers(db):
    next_ticket_number(2026)
    ensure_counter_at_least(2026, 500)
    ensure_counter_at_least(2026, 20)
    assert next_ticket_number(2026) == "SD-2026-000501"
