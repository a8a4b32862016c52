"""The agent terminal through the Flask test client: search, customer card, tickets in one call."""

from __future__ import annotations

import re
from datetime import date

import pytest
import sqlalchemy as sa

from servicedesk.callcenter import views as callcenter_views
from servicedesk.callcenter.calls import SESSION_KEY
from servicedesk.callcenter.models import Call
from servicedesk.tickets.models import Ticket, TicketEvent

LANDLINE = "010-62751234 ext 8"


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch, now):
    """The views read the clock through ``utcnow``; pin it to the suite's Friday morning."""
    monkeypatch.setattr(callcenter_views, "utcnow", lambda: now)


@pytest.fixture
def customer(make_customer):
    return make_customer(phones=("138 0013 8000", LANDLINE))


@pytest.fixture
def laptop(make_asset, customer):
    """Depot until 2027-02-28; onsite ending in 20 days; accidental damage cover expired."""
    return make_asset(
        customer,
        "PF3ABC12",
        entitlements=(
            ("depot", date(2025, 3, 1), date(2027, 2, 28)),
            ("onsite", date(2023, 12, 11), date(2026, 12, 10)),
            ("adp", date(2025, 3, 1), date(2026, 3, 1)),
        ),
    )


@pytest.fixture
def old_desktop(make_asset, customer):
    """Out of warranty since 2024."""
    return make_asset(
        customer,
        "MJ0OLD99",
        product_line="desktop",
        model="ThinkCentre M70",
        purchase_date=date(2021, 5, 1),
        entitlements=(("depot", date(2021, 5, 1), date(2024, 4, 30)),),
    )


@pytest.fixture
def agent(make_user):
    return make_user("agent1", role="agent", language="en")


@pytest.fixture
def signed_in(login, agent, customer, laptop, old_desktop):
    login(agent)
    return agent


def page(response) -> str:
    return response.get_data(as_text=True)


def card_url(customer) -> str:
    return f"/agent/customers/{customer.code}"


def ticket_form(kind, summary, **fields):
    data = {"kind": kind, "summary": summary, "description": "", "serial": "", "damage": "none"}
    data.update(fields)
    return data


# --- access ---------------------------------------------------------------------------------


def test_anonymous_user_is_sent_to_sign_in(client):
    response = client.get("/agent/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_station_user_gets_403_on_the_terminal_and_the_card(
    client, login, make_user, make_station, customer
):
    make_station("BJ-01")
    login(make_user("station1", role="station", station_code="BJ-01"))
    assert client.get("/agent/").status_code == 403
    assert client.get(card_url(customer)).status_code == 403
    assert client.post(f"{card_url(customer)}/tickets", data={}).status_code == 403


@pytest.mark.parametrize("role", ["agent", "supervisor", "admin"])
def test_agent_roles_reach_the_terminal(client, login, make_user, role):
    login(make_user(f"user-{role}", role=role))
    response = client.get("/agent/")
    assert response.status_code == 200
    assert 'name="q"' in page(response)
    assert "autofocus" in page(response)


# --- search ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spelling",
    [
        "138 0013 8000",
        "+86-138-0013-8000",
        "0086 13800138000",
        "+8613800138000",
        "13800138000",
        "(010) 6275 1234",
        "010-62751234 ext 8",
        "010 6275 1234",
        "+86 10 6275 1234",
    ],
)
def test_every_phone_spelling_opens_the_customer_card(client, signed_in, customer, spelling):
    response = client.get("/agent/", query_string={"q": spelling})
    assert response.status_code == 302
    assert response.headers["Location"].startswith(card_url(customer))


def test_search_by_phone_records_the_caller_on_the_call(client, signed_in, customer, db):
    response = client.get("/agent/", query_string={"q": "138 0013 8000"}, follow_redirects=True)
    assert response.status_code == 200
    call = db.session.scalar(sa.select(Call))
    assert call.caller_e164 == "+8613800138000"
    assert "138 0013 8000" in page(response)


def test_search_by_serial_code_and_name(client, signed_in, customer):
    for term in ("PF3ABC12", "MJ0OLD99", customer.code, "星河科技", "张伟"):
        response = client.get("/agent/", query_string={"q": term})
        assert response.status_code == 302, term
        assert response.headers["Location"].startswith(card_url(customer)), term


def test_several_matches_give_a_numbered_result_list(client, signed_in, make_customer, customer):
    make_customer("C0002", name="上海星河贸易有限公司", phones=("021 6888 1234",), contact="李娜")
    response = client.get("/agent/", query_string={"q": "星河"})
    assert response.status_code == 200
    html = page(response)
    assert "2 customers match" in html
    links = re.findall(r'href="(/agent/customers/[^"]+)"[^>]*data-result', html)
    assert sorted(links) == ["/agent/customers/C0001", "/agent/customers/C0002"]
    assert 'class="result-number" aria-hidden="true">1<' in html
    assert "data-results" in html


def test_no_match_says_so(client, signed_in):
    response = client.get("/agent/", query_string={"q": "nobody at all"})
    assert response.status_code == 200
    assert "No customer found" in page(response)
    assert "nobody at all" in page(response)


def test_an_overlong_search_is_refused_with_400(client, signed_in):
    response = client.get("/agent/", query_string={"q": "x" * 500})
    assert response.status_code == 400


def test_unknown_customer_code_is_404(client, signed_in):
    assert client.get("/agent/customers/NOPE").status_code == 404


# --- the customer card ----------------------------------------------------------------------


def test_card_shows_customer_contacts_entitlements_and_service_level(client, signed_in, customer):
    html = page(client.get(card_url(customer)))
    assert customer.name in html
    assert "Class B: managed closely" in html
    assert "张伟" in html
    assert "138 0013 8000" in html  # format_phone
    assert "010 6275 1234 ext. 8" in html
    assert "PF3ABC12" in html and "MJ0OLD99" in html
    assert "Carry-in warranty (depot)" in html
    assert "Accidental damage protection" in html
    assert html.count(">Active<") == 2  # depot and onsite of the laptop
    assert html.count(">Expired<") == 2  # the laptop's adp, the desktop's depot
    assert "Onsite service expires in 20 days: offer an extension." in html
    assert "Next-business-day onsite" in html
    assert "an engineer comes to the site by the next business day" in html
    assert "Billable (no warranty)" in html
    assert "expired on Apr 30, 2024, so this repair is billable" in html


def test_card_in_chinese(client, login, make_user, customer, laptop, old_desktop):
    login(make_user("agent-zh", language="zh"))
    html = page(client.get(card_url(customer)))
    assert '<html lang="zh-Hans">' in html
    assert "设备与服务权益" in html
    assert "上门服务将在 20 天后到期：请向客户推荐延保。" in html
    assert "上门服务有效期至2026年12月10日：工程师将在下一个工作日内上门。" in html
    assert "送修保修已于2024年4月30日到期，因此本次维修需付费。" in html
    assert "010 6275 1234 转 8" in html


def test_opening_the_card_starts_one_call_and_reopening_keeps_it(client, signed_in, customer, db):
    client.get(card_url(customer))
    client.get(card_url(customer))
    calls = db.session.scalars(sa.select(Call)).all()
    assert len(calls) == 1
    call = calls[0]
    assert (call.direction, call.agent_id, call.customer_id) == (
        "inbound",
        signed_in.id,
        customer.id,
    )
    assert call.ended_at is None
    with client.session_transaction() as session:
        assert session[SESSION_KEY] == {str(customer.id): call.id}


def test_end_call_sets_the_end_and_the_next_card_starts_a_new_call(
    client, signed_in, customer, db, now
):
    client.get(card_url(customer))
    response = client.post(f"{card_url(customer)}/call/end")
    assert response.status_code == 302
    assert response.headers["Location"] == "/agent/"
    first = db.session.scalar(sa.select(Call))
    assert first.ended_at == now
    with client.session_transaction() as session:
        assert session[SESSION_KEY] == {}

    client.get(card_url(customer))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Call)) == 2


# --- tickets in one call --------------------------------------------------------------------


def test_four_kinds_in_one_call(client, signed_in, customer, db):
    client.get(card_url(customer))
    url = f"{card_url(customer)}/tickets"
    forms = [
        ticket_form("inquiry", "How do I update the BIOS?", answered="y"),
        ticket_form("presales", "Wants a quote for 20 workstations", answered="y"),
        ticket_form("repair", "Does not power on", serial="PF3ABC12", part="motherboard"),
        ticket_form("complaint", "Engineer came late last week", description="Two hours late."),
    ]
    for form in forms:
        response = client.post(url, data=form)
        assert response.status_code == 302, page(response)
        assert response.headers["Location"] == f"{card_url(customer)}#this-call"

    tickets = db.session.scalars(sa.select(Ticket).order_by(Ticket.id)).all()
    assert [t.kind for t in tickets] == ["inquiry", "presales", "repair", "complaint"]
    assert [t.status for t in tickets] == ["closed", "closed", "new", "new"]
    call = db.session.scalar(sa.select(Call))
    assert {t.call_id for t in tickets} == {call.id}
    repair = tickets[2]
    assert repair.covered is True and repair.billable is False
    assert repair.coverage_basis == ["onsite", "depot"]

    html = page(client.get(card_url(customer)))
    assert "Opened in this call" in html
    for ticket in tickets:
        assert ticket.number in html
    assert "Covered by onsite service until Dec 10, 2026." in html
    assert "Covered by the carry-in (depot) warranty until Feb 28, 2027." in html


def test_flash_names_the_new_ticket(client, signed_in, customer, db):
    response = client.post(
        f"{card_url(customer)}/tickets",
        data=ticket_form("inquiry", "Driver download", answered="y"),
        follow_redirects=True,
    )
    number = db.session.scalar(sa.select(Ticket.number))
    assert number == "SD-2026-000001"
    assert f"Inquiry {number} opened and closed: answered on the call." in page(response)


def test_inquiry_left_open_when_not_answered(client, signed_in, customer, db):
    client.post(f"{card_url(customer)}/tickets", data=ticket_form("inquiry", "Needs a callback"))
    assert db.session.scalar(sa.select(Ticket.status)) == "new"


def test_out_of_warranty_repair_is_billable_with_reasons(client, signed_in, customer, db):
    response = client.post(
        f"{card_url(customer)}/tickets",
        data=ticket_form("repair", "Fan noise", serial="MJ0OLD99", part="fan"),
        follow_redirects=True,
    )
    ticket = db.session.scalar(sa.select(Ticket))
    assert ticket.billable is True and ticket.service_level == "billable"
    html = page(response)
    assert f"Repair {ticket.number} opened. Not covered: this repair is billable." in html
    assert "Not covered: billable repair" in html
    assert (
        "The carry-in (depot) warranty expired on Apr 30, 2024, so this repair is billable." in html
    )


def test_accidental_damage_without_active_adp_is_billable(client, signed_in, customer, db):
    client.post(
        f"{card_url(customer)}/tickets",
        data=ticket_form("repair", "Coffee on the keyboard", serial="PF3ABC12", damage="liquid"),
    )
    ticket = db.session.scalar(sa.select(Ticket))
    assert ticket.billable is True
    html = page(client.get(f"/tickets/{ticket.number}"))
    assert "The damage was caused by a liquid spill, which is accidental damage." in html
    assert "Accidental damage protection expired on Mar 1, 2026" in html


def test_repair_without_a_machine_is_refused_and_nothing_written(client, signed_in, customer, db):
    response = client.post(
        f"{card_url(customer)}/tickets", data=ticket_form("repair", "Screen flickers")
    )
    assert response.status_code == 422
    assert "A repair needs the machine" in page(response)
    assert 'aria-invalid="true"' in page(response)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Ticket)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(TicketEvent)) == 0


def test_empty_summary_is_refused(client, signed_in, customer, db):
    response = client.post(f"{card_url(customer)}/tickets", data=ticket_form("inquiry", "  "))
    assert response.status_code == 422
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Ticket)) == 0


def test_unknown_kind_and_foreign_serial_are_refused(
    client, signed_in, customer, make_customer, make_asset, db
):
    other = make_customer("C0009", name="Other Co", phones=("139 0000 0009",))
    make_asset(other, "FOREIGN1")
    db.session.commit()
    url = f"{card_url(customer)}/tickets"
    assert client.post(url, data=ticket_form("praise", "Nice")).status_code == 422
    response = client.post(url, data=ticket_form("repair", "Broken", serial="FOREIGN1"))
    assert response.status_code == 422
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Ticket)) == 0


def test_intake_refusal_is_shown_at_the_field_and_rolls_back(
    client, signed_in, customer, db, monkeypatch
):
    """A refusal only the intake service detects: the message lands at its field, 422."""
    from servicedesk.tickets.intake import IntakeError

    def refuse(*args, **kwargs):
        raise IntakeError("a ticket needs a summary", field="summary")

    monkeypatch.setattr(callcenter_views, "open_ticket", refuse)
    response = client.post(f"{card_url(customer)}/tickets", data=ticket_form("complaint", "x"))
    assert response.status_code == 422
    assert 'id="summary-error"' in page(response)
    assert "Write a summary of at most 200 characters." in page(response)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Call)) == 0
    with client.session_transaction() as session:
        assert session.get(SESSION_KEY, {}) == {}


def test_preselected_repair_link(client, signed_in, customer):
    html = page(
        client.get(card_url(customer), query_string={"kind": "repair", "serial": "PF3ABC12"})
    )
    assert re.search(
        r'<input[^>]*checked[^>]*value="repair"|<input[^>]*value="repair"[^>]*checked', html
    )
    assert re.search(r'<option selected value="PF3ABC12">|<option value="PF3ABC12" selected>', html)


def test_keyboard_helpers_are_on_the_page(client, signed_in, customer):
    html = page(client.get(card_url(customer)))
    assert "/static/js/app.js" in html and "/static/css/app.css" in html
    assert 'class="skip-link"' in html
    assert "Keyboard shortcuts" in html
    assert 'data-kind-shortcut="3"' in html
    for field_id in ("summary", "description", "serial", "damage", "part", "answered"):
        assert f'for="{field_id}"' in html, field_id
    assert client.get("/static/js/app.js").status_code == 200
    assert client.get("/static/css/app.css").status_code == 200
