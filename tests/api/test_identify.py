from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from servicedesk.api.schemas import IdentifyResponseSchema, identify_document
from servicedesk.customers.identify import load_cards
from servicedesk.customers.models import Contact
from servicedesk.tickets.intake import TicketRequest, open_ticket

CARD_KEYS = {"customer", "contacts", "assets", "open_tickets", "recent_tickets"}
SUMMARY_KEYS = {"number", "kind", "status", "summary", "created_at", "serial"}


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch, now):
    monkeypatch.setattr("servicedesk.api.identify.utcnow", lambda: now)


@pytest.fixture
def agent(make_user):
    return make_user("agent1", role="agent")


@pytest.fixture
def bearer(api_token):
    def make(user, **extra) -> dict:
        return {"Authorization": f"Bearer {api_token(user)}", **extra}

    return make


@pytest.fixture
def caller(db, agent, make_customer, make_asset, now):
    """A customer with a landline extension, two machines and one open and one closed ticket."""
    customer = make_customer(phones=("138 0013 8000", "010-62751234 ext 8"))
    make_asset(
        customer,
        "PF3ABC12",
        entitlements=[
            ("depot", date(2025, 3, 1), date(2027, 2, 28)),
            ("onsite", date(2025, 3, 1), date(2026, 12, 10)),
            ("adp", date(2023, 1, 1), date(2024, 1, 1)),
        ],
    )
    make_asset(
        customer,
        "SRV00001",
        product_line="server",
        model="ThinkSystem SR650",
        entitlements=[("depot", date(2020, 1, 1), date(2023, 1, 1))],
    )
    open_ticket(
        agent,
        customer,
        TicketRequest("repair", "Fan noise", serial="PF3ABC12"),
        now=now - timedelta(days=1),
    )
    open_ticket(agent, customer, TicketRequest("inquiry", "Opening hours"), now=now)
    return customer


def identify(client, headers, **query):
    return client.get("/api/v1/identify", query_string=query, headers=headers)


def assert_error(response, status, code=None, field=None):
    assert response.status_code == status, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert set(error) <= {"code", "message", "fields"} and error["message"]
    if code:
        assert error["code"] == code
    if field:
        assert error["fields"][field]
    return error


def test_identify_by_phone_gives_the_whole_card(client, agent, caller, bearer):
    response = identify(client, bearer(agent), phone="+8613800138000")

    assert response.status_code == 200
    assert response.headers["Server-Timing"].startswith("app;dur=")
    [card] = response.get_json()["matches"]
    assert set(card) == CARD_KEYS
    assert card["customer"] == {
        "code": "C0001",
        "name": "北京星河科技有限公司",
        "class": "B",
        "province": "北京",
        "city": "北京",
        "language": "zh",
    }
    assert card["contacts"] == [
        {
            "name": "张伟",
            "primary": True,
            "phones": [
                {"e164": "+8613800138000", "extension": None},
                {"e164": "+861062751234", "extension": "8"},
            ],
        }
    ]
    laptop, server = card["assets"]
    assert set(laptop) == {
        "serial",
        "product_line",
        "model",
        "purchase_date",
        "city",
        "service_level",
        "entitlements",
    }
    assert laptop["serial"] == "PF3ABC12" and laptop["purchase_date"] == "2025-03-01"
    assert laptop["service_level"] == "onsite"
    assert {(e["offering"], e["active"]) for e in laptop["entitlements"]} == {
        ("depot", True),
        ("onsite", True),
        ("adp", False),
    }
    assert {"offering": "adp", "start": "2023-01-01", "end": "2024-01-01", "active": False} in (
        laptop["entitlements"]
    )
    assert server["service_level"] == "billable"
    [open_ticket_] = card["open_tickets"]
    assert set(open_ticket_) == SUMMARY_KEYS
    assert open_ticket_["kind"] == "repair" and open_ticket_["serial"] == "PF3ABC12"
    assert open_ticket_["created_at"] == "2026-11-19T10:30:00+08:00"
    [closed] = card["recent_tickets"]
    assert closed["kind"] == "inquiry" and closed["status"] == "closed"
    assert closed["serial"] is None
    assert closed["created_at"] == "2026-11-20T10:30:00+08:00"


@pytest.mark.parametrize(
    "query",
    [
        {"phone": "138 0013 8000"},
        {"phone": "0086 13800138000"},
        {"phone": "(010) 6275 1234"},
        {"serial": "SRV00001"},
        {"serial": "  PF3ABC12 "},
        {"q": "星河"},
        {"q": "张伟"},
        {"q": "C0001"},
        {"q": "+86-138-0013-8000"},
        {"q": "PF3ABC12"},
    ],
)
def test_identify_by_any_handle(client, agent, caller, bearer, query):
    response = identify(client, bearer(agent), **query)
    assert response.status_code == 200
    assert [m["customer"]["code"] for m in response.get_json()["matches"]] == ["C0001"]


@pytest.mark.parametrize(
    "query",
    [
        {"phone": "+8613999999999"},
        {"phone": "not a number"},
        {"serial": "NOPE"},
        {"q": "nobody at all"},
        {"q": "100%_"},
        {"q": "☃"},
    ],
)
def test_no_match_is_an_empty_list(client, agent, caller, bearer, query):
    response = identify(client, bearer(agent), **query)
    assert response.status_code == 200
    assert response.get_json() == {"matches": []}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({}, "query"),
        ({"phone": ""}, "query"),
        ({"q": "   "}, "query"),
        ({"phone": "13800138000", "serial": "PF3ABC12"}, "query"),
        ({"phone": "1", "serial": "2", "q": "3"}, "query"),
        ({"q": "x" * 201}, "q"),
        ({"phone": "1" * 5000}, "phone"),
        ({"serial": "PF3\x00ABC"}, "serial"),
    ],
)
def test_bad_queries_are_422(client, agent, caller, bearer, query, field):
    assert_error(identify(client, bearer(agent), **query), 422, "validation_error", field)


def test_identify_needs_a_token(client, caller):
    response = identify(client, {}, phone="13800138000")
    assert_error(response, 401, "unauthorized")
    assert "Server-Timing" in response.headers


def test_identify_with_an_unknown_token_is_401(client, caller):
    assert_error(identify(client, {"Authorization": "Bearer x"}, serial="PF3ABC12"), 401)


def test_station_users_get_nothing_from_identify(client, make_station, make_user, caller, bearer):
    make_station("BJ-01")
    station_user = make_user("engineer", role="station", station_code="BJ-01")
    response = identify(client, bearer(station_user), phone="13800138000")
    assert_error(response, 403, "forbidden")
    assert "matches" not in response.get_json()


@pytest.mark.parametrize("role", ["supervisor", "admin"])
def test_supervisors_and_admins_may_identify(client, make_user, caller, bearer, role):
    user = make_user(f"{role}1", role=role)
    assert identify(client, bearer(user), serial="PF3ABC12").status_code == 200


def test_identify_takes_only_get(client, agent, bearer):
    assert_error(client.post("/api/v1/identify", headers=bearer(agent)), 405)


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    query=st.dictionaries(
        st.sampled_from(["phone", "serial", "q", "other"]),
        st.text(max_size=250),
        max_size=3,
    )
)
def test_garbage_queries_never_crash(client, agent, caller, bearer, query):
    response = identify(client, bearer(agent), **query)
    assert response.status_code in {200, 422}, (query, response.get_data(as_text=True))
    if response.status_code == 200:
        assert isinstance(response.get_json()["matches"], list)
    else:
        assert_error(response, 422, "validation_error")


def test_the_document_is_what_the_schema_dumps(db, caller, make_customer, make_asset, now):
    """``identify_document`` builds the answer by hand for speed; the schema defines it."""
    other = make_customer("C0002", name="另一家公司", customer_class="A", phones=())
    make_asset(other, "NOENT001", entitlements=())
    db.session.add(Contact(customer=caller, name="李娜", title="IT"))
    db.session.flush()

    for ticket_entities in (False, True):
        cards = load_cards([caller.id, other.id], now=now, ticket_entities=ticket_entities)
        assert identify_document(cards) == IdentifyResponseSchema().dump({"matches": cards})
    assert identify_document([]) == {"matches": []}


def test_identify_reads_outside_a_transaction(client, db, agent, caller, bearer):
    """No BEGIN and ROLLBACK round trips: every statement runs in autocommit mode."""
    headers = bearer(agent)
    db.session.commit()
    # A token's first use is written down (in a transaction of its own, then at most every
    # few minutes): counted here is a request with a token in use.
    identify(client, headers, serial="PF3ABC12")
    levels: list[str | None] = []

    def record(connection, cursor, statement, *args):
        levels.append(connection.get_execution_options().get("isolation_level"))

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        response = identify(client, headers, serial="PF3ABC12")
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    assert [m["customer"]["code"] for m in response.get_json()["matches"]] == ["C0001"]
    assert len(levels) == 5 and set(levels) == {"AUTOCOMMIT"}
    assert not db.session().in_transaction()
    assert db.session.connection().get_isolation_level() != "AUTOCOMMIT"  # reset in the pool


@pytest.mark.parametrize("how", ["flush", "update"])
def test_a_write_while_reading_without_a_transaction_is_refused(
    client, app, db, agent, caller, bearer, monkeypatch, how
):
    """The view runs in autocommit mode: a write there would be committed at once."""
    from servicedesk.customers.models import Customer

    headers = bearer(agent)
    db.session.commit()

    def write(**query):
        if how == "flush":
            db.session.add(
                Customer(code="HALF", name="x", customer_class="C", province="北京", city="北京")
            )
            db.session.flush()
        else:
            db.session.execute(sa.update(Customer).values(name="renamed"))
        return []

    monkeypatch.setattr("servicedesk.api.identify.identify", write)
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    response = identify(client, headers, serial="PF3ABC12")
    assert_error(response, 500, "internal_error")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Customer)) == 1
    assert db.session.scalar(sa.select(Customer.name)) == "北京星河科技有限公司"
    assert identify(client, headers, serial="PF3ABC12").status_code == 200
