from datetime import date, timedelta

import pytest

from servicedesk.customers.identify import (
    MAX_MATCHES,
    RECENT_TICKETS,
    CardTicket,
    find_customer_ids,
    identify,
    load_cards,
)
from servicedesk.customers.models import Contact, ContactPhone, Entitlement
from servicedesk.tickets.intake import TicketRequest, open_ticket
from servicedesk.tickets.models import Ticket


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
    assert card.customer.id == customer.id and card.customer.code == customer.code


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


def test_a_card_takes_three_statements_whatever_its_size(
    customer, make_customer, make_asset, make_user, now, db, count_statements
):
    small = make_customer("C0002", name="小客户", phones=("139 1234 5678",))
    make_asset(small, "SMALL001")
    agent = make_user()
    for number in range(6):
        make_asset(
            customer,
            f"BIG{number:05d}",
            entitlements=[
                ("depot", date(2025, 3, 1), date(2027, 2, 28)),
                ("onsite", date(2025, 3, 1), date(2026, 12, 10)),
                ("adp", date(2023, 1, 1), date(2024, 1, 1)),
            ],
        )
        open_ticket(
            agent, customer, TicketRequest("repair", "Fan", serial=f"BIG{number:05d}"), now=now
        )
        open_ticket(agent, customer, TicketRequest("inquiry", "Hours"), now=now)
    db.session.add(
        Contact(
            customer=customer,
            name="李娜",
            phones=[
                ContactPhone(e164="+8613912345678", customer=customer),
                ContactPhone(e164="+8613912345679", customer=customer),
            ],
        )
    )
    db.session.flush()

    for ids in ([small.id], [customer.id], [customer.id, small.id]):
        with count_statements() as statements:
            cards = load_cards(ids, now=now)
        assert [card.customer.id for card in cards] == ids
        assert len(statements) == 3, statements
    with count_statements() as statements:
        [card] = identify(now=now, serial="BIG00003")
    assert len(statements) == 4, statements
    assert len(card.assets) == 6 and len(card.contacts) == 2
    assert len(card.open_tickets) == 6 and len(card.recent_tickets) == 6


def test_card_keeps_the_order_of_everything(customer, make_customer, make_asset, now, db):
    other = make_customer("C0002", name="另一家公司", phones=("139 1234 5678",))
    make_asset(customer, "ZZ000001")
    make_asset(
        customer,
        "AA000001",
        entitlements=[
            ("onsite", date(2025, 3, 1), date(2026, 3, 1)),
            ("depot", date(2025, 3, 1), date(2027, 2, 28)),
            ("adp", date(2024, 1, 1), date(2025, 1, 1)),
        ],
    )
    contact = Contact(customer=customer, name="李娜", title="IT")
    db.session.add(contact)
    db.session.flush()
    contact.phones = [
        ContactPhone(e164="+8613912345679", customer=customer),
        ContactPhone(e164="+8613912345678", extension="12", customer=customer),
    ]
    db.session.add(Contact(customer=customer, name="王芳"))
    db.session.flush()

    first, second = load_cards([other.id, 999_999, customer.id, other.id], now=now)
    assert (first.customer.code, second.customer.code) == ("C0002", "C0001")
    assert [c.name for c in second.contacts] == ["张伟", "李娜", "王芳"]
    assert [(p.e164, p.extension) for p in second.contacts[1].phones] == [
        ("+8613912345679", None),
        ("+8613912345678", "12"),
    ]
    assert second.contacts[1].title == "IT" and second.contacts[2].phones == ()
    assert [view.asset.serial for view in second.assets] == ["AA000001", "ZZ000001"]
    assert [t.offering for t in second.assets[0].terms] == ["adp", "depot", "onsite"]
    assert second.customer.address == "海淀区中关村大街1号"
    assert second.customer.timezone == "Asia/Shanghai" and not second.customer.do_not_call
    assert load_cards([], now=now) == [] and load_cards([999_999], now=now) == []


def test_card_sees_changes_not_yet_flushed(customer, make_asset, now, db):
    asset = make_asset(customer, entitlements=())
    asset.entitlements.append(
        Entitlement(offering="onsite", start=date(2026, 1, 1), end=date(2027, 1, 1))
    )
    [card] = load_cards([customer.id], now=now)
    assert card.assets[0].service_level.level == "onsite"


def test_card_tickets_are_rows_with_their_machine_or_entities(customer, make_asset, make_user, now):
    asset = make_asset(customer)
    agent = make_user()
    repair = open_ticket(
        agent, customer, TicketRequest("repair", "Fan", serial=asset.serial), now=now
    )
    open_ticket(agent, customer, TicketRequest("inquiry", "Hours"), now=now)

    [card] = load_cards([customer.id], now=now)
    [summary] = card.open_tickets
    assert isinstance(summary, CardTicket) and summary.is_open
    assert (summary.id, summary.number, summary.summary) == (repair.id, repair.number, "Fan")
    assert summary.asset.serial == asset.serial and summary.created_at == now
    [closed] = card.recent_tickets
    assert closed.asset is None and not closed.is_open

    [card] = load_cards([customer.id], now=now, ticket_entities=True)
    assert card.open_tickets == [repair]
    assert isinstance(card.recent_tickets[0], Ticket)


def test_recent_tickets_are_the_latest_ten(customer, make_user, now):
    agent = make_user()
    for day in range(RECENT_TICKETS + 3):
        open_ticket(
            agent, customer, TicketRequest("inquiry", f"Day {day}"), now=now - timedelta(days=day)
        )
    for ticket_entities in (False, True):
        [card] = load_cards([customer.id], now=now, ticket_entities=ticket_entities)
        assert [t.summary for t in card.recent_tickets] == [
            f"Day {day}" for day in range(RECENT_TICKETS)
        ]


def test_four_hour_service_follows_the_stations_at_once(
    customer, make_asset, make_station, now, db
):
    """No stale answer within a process: suspending the only 4-hour station of the city, or
    taking its 4-hour capability away, is seen by the very next identification."""
    make_asset(
        customer,
        product_line="server",
        entitlements=[("onsite_4h", date(2025, 1, 1), date(2027, 1, 1))],
    )
    make_station("TJ-01", cities=("天津",), four_hour=("天津",))

    def level() -> str:
        [card] = identify(now=now, serial="PF3ABC12")
        return card.assets[0].service_level.level

    assert level() == "onsite"  # only Tianjin has 4-hour service
    station = make_station("BJ-01", cities=("北京",), four_hour=("北京",))
    assert level() == "onsite_4h"
    station.status = "suspended"
    db.session.flush()
    assert level() == "onsite"
    station.status = "active"
    station.cities[0].four_hour = False
    db.session.flush()
    assert level() == "onsite"
    station.cities[0].four_hour = True
    assert level() == "onsite_4h"  # not yet flushed: the query flushes first
