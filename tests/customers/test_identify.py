from datetime import date

import pytest

from servicedesk.customers.identify import MAX_MATCHES, find_customer_ids, identify
from servicedesk.customers.models import Contact, ContactPhone
from servicedesk.tickets.intake import TicketRequest, open_ticket


@pytest.fixture
def customer(make_customer):
    return make_customer(phones=("138 0013 8000", "010-62751234 ext 8"))


@pytest.mark.parametrize(
    "spelling",
    [
        "138 0013 8000",
        "+86-138-0013-8000",
        "0086 13800138000",
        "+8613800138000",
        "(010) 6275 1234",
        "010-62751234 ext 8",
        "+86 10 6275 1234",
    ],
)
def test_find_by_any_phone_spelling(customer, spelling, now):
    assert find_customer_ids(phone=spelling) == [customer.id]
    assert find_customer_ids(q=spelling) == [customer.id]
    [card] = identify(now=now, phone=spelling)
    assert card.customer is customer


def test_find_by_serial_code_and_names(customer, make_asset, db):
    make_asset(customer, "PF3ABC12")
    assert find_customer_ids(serial="PF3ABC12") == [customer.id]
    assert find_customer_ids(serial=" PF3ABC12 ") == [customer.id]
    assert find_customer_ids(q="PF3ABC12") == [customer.id]
    assert find_customer_ids(q="C0001") == [customer.id]
    assert find_customer_ids(q="星河") == [customer.id]
    assert find_customer_ids(q="张伟") == [customer.id]


@pytest.mark.parametrize("term", ["", "   ", "999 9999 9999", "nobody", "100%", "_"])
def test_no_match(customer, term, now):
    assert find_customer_ids(q=term) == []
    assert identify(now=now, q=term) == []


def test_unparseable_phone_matches_nothing(customer):
    assert find_customer_ids(phone="12345") == []


def test_shared_number_finds_every_customer(make_customer):
    first = make_customer("C0001", phones=("010-62751234",))
    second = make_customer("C0002", name="另一家公司", phones=("(010) 6275 1234 ext 9",))
    assert sorted(find_customer_ids(phone="010 6275 1234")) == sorted([first.id, second.id])


def test_name_search_is_capped(make_customer):
    for i in range(MAX_MATCHES + 5):
        make_customer(f"C{i:04d}", name=f"华为客户{i}", phones=())
    assert len(find_customer_ids(q="华为客户")) == MAX_MATCHES


def test_card_shows_assets_entitlements_and_tickets(customer, make_asset, make_user, now, db):
    asset = make_asset(
        customer,
        entitlements=[
            ("onsite", date(2024, 1, 1), date(2026, 12, 10)),
            ("depot", date(2020, 1, 1), date(2022, 1, 1)),
        ],
    )
    agent = make_user()
    open_ticket(
        agent, customer, TicketRequest(kind="repair", summary="Fan", serial=asset.serial), now=now
    )
    open_ticket(agent, customer, TicketRequest(kind="inquiry", summary="Hours"), now=now)
    db.session.add(
        Contact(
            customer=customer,
            name="李娜",
            phones=[ContactPhone(e164="+8613912345678", customer=customer)],
        )
    )
    db.session.flush()

    [card] = identify(now=now, q="C0001")
    assert [c.name for c in card.contacts] == ["张伟", "李娜"]
    [view] = card.assets
    assert view.service_level.level == "onsite"
    onsite, depot = sorted(view.terms, key=lambda t: t.offering, reverse=True)
    assert view.active(onsite) and view.expiring_soon(onsite)
    assert not view.active(depot) and not view.expiring_soon(depot)
    assert [t.kind for t in card.open_tickets] == ["repair"]
    assert [t.kind for t in card.recent_tickets] == ["inquiry"]


def test_today_is_the_customers_local_date(customer, make_asset):
    from datetime import UTC, datetime

    make_asset(customer, entitlements=[("depot", date(2025, 1, 1), date(2026, 11, 20))])
    late_evening_utc = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)  # 01:00 on the 21st in Shanghai
    [card] = identify(now=late_evening_utc, q="C0001")
    assert card.today == date(2026, 11, 21)
    assert card.assets[0].service_level.level == "billable"
