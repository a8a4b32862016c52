import pytest

from servicedesk.tickets.intake import TicketRequest, open_ticket
from servicedesk.tickets.models import NUMBER_PREFIX, Ticket, format_ticket_number
from servicedesk.tickets.numbering import (
    ensure_counter_at_least,
    next_ticket_number,
    provisional_number,
)


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


def test_provisional_numbers_are_unique_fit_the_column_and_are_never_real_ones():
    numbers = {provisional_number() for _ in range(1000)}
    assert len(numbers) == 1000
    width = Ticket.__table__.c.number.type.length
    assert all(len(number) <= width for number in numbers)
    assert not any(number.startswith(NUMBER_PREFIX) for number in numbers)


def test_an_opened_ticket_has_its_real_number(db, make_user, make_customer, now):
    agent, customer = make_user("agent1"), make_customer()
    first = open_ticket(agent, customer, TicketRequest(kind="inquiry", summary="Hi"), now=now)
    second = open_ticket(agent, customer, TicketRequest(kind="inquiry", summary="Yo"), now=now)
    db.session.expire_all()
    assert [first.number, second.number] == [f"SD-{now.year}-000001", f"SD-{now.year}-000002"]
