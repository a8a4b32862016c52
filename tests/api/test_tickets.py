import json
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import servicedesk.tickets.intake as intake
from servicedesk.auth.services import revoke_tokens
from servicedesk.callcenter.models import Call
from servicedesk.config import PROJECT_ROOT
from servicedesk.tickets.intake import IntakeError, TicketRequest, open_ticket
from servicedesk.tickets.models import (
    DAMAGE_TYPES,
    TICKET_KINDS,
    Ticket,
    TicketCounter,
    TicketEvent,
)
from servicedesk.warranty.coverage import PART_KINDS

ACTIVE = (date(2025, 1, 1), date(2027, 12, 31))
EXPIRED = (date(2020, 1, 1), date(2023, 1, 1))
TICKET_KEYS = {
    "number",
    "kind",
    "status",
    "customer",
    "asset",
    "summary",
    "description",
    "damage",
    "part",
    "coverage",
    "service_level",
    "sla",
    "station",
    "dispatch",
    "parts",
    "created_at",
    "events",
}
ALLOWED_POST_STATUSES = {201, 400, 413, 422}


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch, now):
    monkeypatch.setattr("servicedesk.api.tickets.utcnow", lambda: now)


@pytest.fixture
def agent(make_user):
    return make_user("agent1", role="agent")


@pytest.fixture
def customer(make_customer):
    return make_customer()


@pytest.fixture
def laptop(customer, make_asset):
    return make_asset(customer, entitlements=[("depot", *ACTIVE)])


@pytest.fixture
def bearer(api_token):
    """Headers with a fresh token for ``user``; commits what the test set up so far."""

    def make(user, **extra) -> dict:
        return {"Authorization": f"Bearer {api_token(user)}", **extra}

    return make


def post(client, headers, body):
    return client.post("/api/v1/tickets", json=body, headers=headers)


def repair(**overrides):
    return {"kind": "repair", "customer": "C0001", "serial": "PF3ABC12", "summary": "No power"} | (
        overrides
    )


def assert_error(response, status, code=None, field=None):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    error = response.get_json()["error"]
    assert set(error) <= {"code", "message", "fields"}
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["code"], str) and error["code"].replace("_", "").isalpha()
    if code is not None:
        assert error["code"] == code
    if field is not None:
        assert field in error["fields"], error
        assert all(isinstance(m, str) and m for m in error["fields"][field])
    return error


def counts(db):
    return tuple(
        db.session.scalar(sa.select(sa.func.count()).select_from(model))
        for model in (Ticket, TicketEvent, TicketCounter)
    )


# --- POST /api/v1/tickets: success --------------------------------------------------------


def test_open_a_covered_repair(client, db, agent, laptop, bearer):
    response = post(client, bearer(agent), repair(description="Dead since Monday"))

    assert response.status_code == 201, response.get_json()
    ticket = response.get_json()
    assert set(ticket) == TICKET_KEYS
    assert ticket["number"] == "SD-2026-000001"
    assert response.headers["Location"].endswith("/api/v1/tickets/SD-2026-000001")
    assert ticket["kind"] == "repair" and ticket["status"] == "new"
    assert ticket["customer"] == {"code": "C0001", "name": "北京星河科技有限公司"}
    assert ticket["asset"] == {
        "serial": "PF3ABC12",
        "product_line": "laptop",
        "model": "ThinkPad X1 Carbon Gen 12",
        "city": "北京",
    }
    assert ticket["description"] == "Dead since Monday"
    assert ticket["damage"] == "none" and ticket["part"] is None
    coverage = ticket["coverage"]
    assert coverage["covered"] is True and coverage["billable"] is False
    assert coverage["basis"] == ["depot"]
    assert coverage["reasons"] and all(isinstance(r, str) and r for r in coverage["reasons"])
    assert "2027-12-31" in " ".join(coverage["reasons"])
    assert ticket["service_level"] == "depot"
    assert ticket["sla"]["respond_by"] == "2026-11-20T14:30:00+08:00"
    assert ticket["sla"]["arrive_by"] is None
    assert ticket["station"] is None and ticket["parts"] == []
    assert ticket["dispatch"]["state"] == "waiting"  # no station is set up
    assert ticket["created_at"] == "2026-11-20T10:30:00+08:00"
    event, _waiting = ticket["events"]
    assert event["actor"] == "agent1" and event["action"] == "created"
    assert event["from_status"] is None and event["to_status"] == "new"
    assert event["at"] == "2026-11-20T10:30:00+08:00"
    assert event["data"]["serial"] == "PF3ABC12"

    db.session.rollback()  # what remains after a rollback was committed by the request
    assert db.session.scalar(sa.select(Ticket.number)) == "SD-2026-000001"


def test_battery_repair_is_billable_with_readable_reasons(client, agent, laptop, bearer):
    response = post(client, bearer(agent), repair(part="battery"))
    assert response.status_code == 201
    coverage = response.get_json()["coverage"]
    assert coverage["billable"] is True and coverage["covered"] is False
    assert coverage["basis"] == []
    assert any("atter" in reason for reason in coverage["reasons"])
    assert response.get_json()["service_level"] == "billable"


def test_accidental_damage_is_recorded(client, agent, laptop, bearer):
    response = post(client, bearer(agent), repair(damage="liquid", part="motherboard"))
    assert response.status_code == 201
    body = response.get_json()
    assert body["damage"] == "liquid" and body["part"] == "motherboard"
    assert body["coverage"]["billable"] is True


def test_inquiry_answered_on_the_call_is_closed_at_once(client, agent, customer, bearer):
    response = post(
        client, bearer(agent), {"kind": "inquiry", "customer": "C0001", "summary": "Hours?"}
    )
    assert response.status_code == 201
    body = response.get_json()
    assert body["status"] == "closed"
    assert body["coverage"] is None and body["service_level"] is None and body["asset"] is None
    assert [(e["action"], e["to_status"]) for e in body["events"]] == [
        ("created", "new"),
        ("status", "closed"),
    ]


def test_unanswered_presales_stays_open(client, agent, customer, bearer):
    body = {"kind": "presales", "customer": "C0001", "summary": "Quote", "answered": False}
    response = post(client, bearer(agent), body)
    assert response.status_code == 201
    assert response.get_json()["status"] == "new"


def test_complaint_with_nulls_for_optional_fields(client, agent, customer, bearer):
    body = {
        "kind": "complaint",
        "customer": "C0001",
        "summary": "Engineer was late",
        "serial": None,
        "description": None,
        "damage": None,
        "part": None,
        "call": None,
    }
    response = post(client, bearer(agent), body)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["status"] == "new"
    assert response.get_json()["description"] == ""


def test_tickets_opened_in_a_call_are_linked_to_it(client, db, agent, customer, bearer, now):
    call = Call(caller_e164="+8613800138000", started_at=now)
    db.session.add(call)
    db.session.flush()
    headers = bearer(agent)
    for kind in ("inquiry", "complaint"):
        response = post(
            client, headers, {"kind": kind, "customer": "C0001", "summary": "x", "call": call.id}
        )
        assert response.status_code == 201
    db.session.rollback()
    linked = db.session.scalars(sa.select(Ticket.kind).where(Ticket.call_id == call.id)).all()
    assert sorted(linked) == ["complaint", "inquiry"]
    assert db.session.get(Call, call.id).customer_id == customer.id


def test_unicode_text_is_kept(client, agent, laptop, bearer):
    text = "屏幕闪烁 — écran 🖥️"
    response = post(client, bearer(agent), repair(summary=text, description=text * 100))
    assert response.status_code == 201
    assert response.get_json()["summary"] == text


# --- POST: authentication and roles -------------------------------------------------------


def test_post_without_token_is_401(client, customer):
    response = client.post("/api/v1/tickets", json=repair())
    assert_error(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "header",
    ["Bearer nonsense", "Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "Token abc", "bearer \x7f"],
)
def test_post_with_a_bad_authorization_header_is_401(client, agent, bearer, header):
    bearer(agent)
    assert_error(post(client, {"Authorization": header}, repair()), 401, "unauthorized")


def test_revoked_token_is_401(client, db, agent, bearer):
    headers = bearer(agent)
    revoke_tokens(agent)
    db.session.commit()
    assert_error(post(client, headers, repair()), 401)


def test_inactive_user_is_401(client, db, agent, bearer):
    headers = bearer(agent)
    agent.active = False
    db.session.commit()
    assert_error(post(client, headers, repair()), 401)


def test_station_user_may_not_open_tickets(client, db, make_station, make_user, laptop, bearer):
    make_station("BJ-01")
    station_user = make_user("engineer", role="station", station_code="BJ-01")
    response = post(client, bearer(station_user), repair())
    assert_error(response, 403, "forbidden")
    assert counts(db) == (0, 0, 0)


@pytest.mark.parametrize("role", ["supervisor", "admin"])
def test_supervisors_and_admins_may_open_tickets(client, make_user, laptop, bearer, role):
    user = make_user(f"{role}1", role=role)
    assert post(client, bearer(user), repair()).status_code == 201


def test_authentication_comes_before_validation(client):
    response = client.post("/api/v1/tickets", data="{not json", content_type="application/json")
    assert_error(response, 401)


# --- POST: bad bodies ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        ("{not json", "application/json"),
        ("", "application/json"),
        ('{"kind": "repair",}', "application/json"),
        (b"\xff\xfe\x00garbage", "application/json"),
        ("[" * 100_000 + "]" * 100_000, "application/json"),
        ('{"kind": "inquiry", "customer": "C0001", "summary": "x"}', "text/plain"),
        ("kind=inquiry&customer=C0001&summary=x", "application/x-www-form-urlencoded"),
        ('{"kind": "inquiry", "customer": "C0001", "summary": "x"}', None),
    ],
)
def test_a_body_that_is_not_json_is_400(client, db, agent, customer, bearer, data, content_type):
    headers = bearer(agent)
    if content_type:
        headers["Content-Type"] = content_type
    response = client.post("/api/v1/tickets", data=data, headers=headers)
    assert_error(response, 400, "invalid_json")
    assert counts(db) == (0, 0, 0)


def test_a_body_over_the_size_limit_is_413(client, app, db, agent, customer, bearer):
    body = json.dumps(repair(description="x" * app.config["MAX_CONTENT_LENGTH"]))
    response = client.post(
        "/api/v1/tickets", data=body, headers=bearer(agent, **{"Content-Type": "application/json"})
    )
    assert_error(response, 413, "payload_too_large")
    assert counts(db) == (0, 0, 0)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"customer": "C0001", "summary": "x"}, "kind"),
        ({"kind": "repair", "serial": "PF3ABC12", "summary": "x"}, "customer"),
        ({"kind": "inquiry", "customer": "C0001"}, "summary"),
        (repair(kind="visit"), "kind"),
        (repair(kind=None), "kind"),
        (repair(kind=3), "kind"),
        (repair(customer=None), "customer"),
        (repair(customer=["C0001"]), "customer"),
        (repair(customer=""), "customer"),
        (repair(customer="NOBODY"), "customer"),
        (repair(customer="x" * 10_000), "customer"),
        (repair(summary=None), "summary"),
        (repair(summary=""), "summary"),
        (repair(summary="   "), "summary"),
        (repair(summary="x" * 201), "summary"),
        (repair(summary={"text": "x"}), "summary"),
        (repair(summary="nul\x00byte"), "summary"),
        (repair(description=12), "description"),
        (repair(serial=None), "serial"),
        (repair(serial="UNKNOWN"), "serial"),
        (repair(serial=12345678), "serial"),
        (repair(serial="\x00"), "serial"),
        (repair(damage="fire"), "damage"),
        (repair(damage=True), "damage"),
        (repair(part="flux_capacitor"), "part"),
        (repair(call="1"), "call"),
        (repair(call=1.5), "call"),
        (repair(call=True), "call"),
        (repair(call=0), "call"),
        (repair(call=2**31), "call"),
        (repair(call=2**70), "call"),
        (repair(call=999), "call"),
        (repair(answered="yes"), "answered"),
        (repair(answered=1), "answered"),
        (repair(answered=None), "answered"),
        (repair(station="BJ-01"), "station"),
    ],
)
def test_invalid_fields_are_422_naming_the_field(client, db, agent, laptop, bearer, body, field):
    response = post(client, bearer(agent), body)
    error = assert_error(response, 422, "validation_error", field)
    assert field in error["message"]
    assert counts(db) == (0, 0, 0)


def test_serial_of_another_customer_is_422(client, db, agent, laptop, make_customer, bearer):
    make_customer("C0002", phones=("139 1000 2000",))
    response = post(client, bearer(agent), repair(customer="C0002"))
    assert_error(response, 422, field="serial")
    assert counts(db) == (0, 0, 0)


def test_call_with_another_customer_is_422(client, db, agent, laptop, make_customer, bearer, now):
    other = make_customer("C0002", phones=("139 1000 2000",))
    call = Call(caller_e164="+8613910002000", customer=other, started_at=now)
    db.session.add(call)
    db.session.flush()
    response = post(client, bearer(agent), repair(call=call.id))
    assert_error(response, 422, field="call")
    assert counts(db) == (0, 0, 0)


@pytest.mark.parametrize(
    "body",
    [[], [repair()], "repair", 42, None, True, {"": ""}, {"kind": {"kind": "repair"}}],
)
def test_bodies_that_are_not_ticket_objects_are_422(client, db, agent, laptop, bearer, body):
    response = client.post(
        "/api/v1/tickets",
        data=json.dumps(body),
        headers=bearer(agent, **{"Content-Type": "application/json"}),
    )
    assert_error(response, 422, "validation_error")
    assert counts(db) == (0, 0, 0)


def test_a_lone_surrogate_is_422_not_a_crash(client, db, agent, laptop, bearer):
    raw = '{"kind": "repair", "customer": "C0001", "serial": "PF3ABC12", "summary": "\\ud800"}'
    response = client.post(
        "/api/v1/tickets", data=raw, headers=bearer(agent, **{"Content-Type": "application/json"})
    )
    assert_error(response, 422, field="summary")


def test_a_failure_after_writing_leaves_nothing_behind(
    client, db, agent, laptop, bearer, monkeypatch
):
    """The number counter is written before coverage is decided; a later failure undoes it."""

    def fail_after_numbering(ticket, *, now):
        raise IntakeError("coverage could not be decided", field="serial")

    monkeypatch.setattr(intake, "apply_coverage", fail_after_numbering)
    assert_error(post(client, bearer(agent), repair()), 422, field="serial")
    assert counts(db) == (0, 0, 0)


def test_a_write_the_database_refuses_is_409_and_rolled_back(
    client, db, agent, laptop, bearer, monkeypatch
):
    headers = bearer(agent)
    assert post(client, headers, repair()).status_code == 201
    before = counts(db)
    monkeypatch.setattr(intake, "next_ticket_number", lambda year: "SD-2026-000001")
    assert_error(post(client, headers, repair()), 409, "conflict")
    assert counts(db) == before


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)
ticket_bodies = st.fixed_dictionaries(
    {},
    optional={
        "kind": st.sampled_from(TICKET_KINDS) | json_values,
        "customer": st.just("C0001") | json_values,
        "serial": st.just("PF3ABC12") | json_values,
        "summary": st.text(max_size=250) | json_values,
        "description": st.text() | json_values,
        "damage": st.sampled_from(DAMAGE_TYPES) | json_values,
        "part": st.sampled_from(PART_KINDS) | json_values,
        "call": json_values,
        "answered": json_values,
    },
)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=ticket_bodies | json_values)
def test_garbage_bodies_never_crash(client, agent, laptop, bearer, body):
    headers = bearer(agent)
    response = post(client, headers, body)
    assert response.status_code in ALLOWED_POST_STATUSES, (body, response.get_data(as_text=True))
    if response.status_code == 201:
        assert set(response.get_json()) == TICKET_KEYS
    else:
        assert_error(response, response.status_code)


# --- GET /api/v1/tickets/{number} ---------------------------------------------------------


@pytest.fixture
def opened(db, agent, laptop, now):
    """A repair, committed."""
    ticket = open_ticket(
        agent, laptop.customer, TicketRequest("repair", "No power", serial=laptop.serial), now=now
    )
    db.session.commit()
    return ticket


def test_read_a_ticket(client, agent, opened, bearer):
    response = client.get(f"/api/v1/tickets/{opened.number}", headers=bearer(agent))
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == TICKET_KEYS
    assert body["number"] == opened.number
    assert body["coverage"]["basis"] == ["depot"]
    assert body["created_at"] == "2026-11-20T10:30:00+08:00"
    assert response.headers["Server-Timing"].startswith("app;dur=")


def test_times_follow_the_configured_time_zone(client, app, agent, opened, bearer, monkeypatch):
    monkeypatch.setitem(app.config, "SERVICEDESK_TIMEZONE", "UTC")
    body = client.get(f"/api/v1/tickets/{opened.number}", headers=bearer(agent)).get_json()
    assert body["created_at"] == "2026-11-20T02:30:00+00:00"


@pytest.mark.parametrize("language", ["en", "zh-CN,zh;q=0.9", "fr", "*", "zh;q=garbage"])
def test_reasons_are_text_in_any_accept_language(client, agent, opened, bearer, language):
    headers = bearer(agent, **{"Accept-Language": language})
    response = client.get(f"/api/v1/tickets/{opened.number}", headers=headers)
    assert response.status_code == 200
    reasons = response.get_json()["coverage"]["reasons"]
    assert reasons and all(isinstance(r, str) and r.strip() for r in reasons)


@pytest.mark.skipif(
    not (PROJECT_ROOT / "translations" / "zh" / "LC_MESSAGES" / "messages.mo").exists(),
    reason="the Chinese catalog is not compiled",
)
def test_chinese_reasons_with_a_compiled_catalog(client, agent, opened, bearer):
    def reasons(language):
        headers = bearer(agent, **{"Accept-Language": language})
        body = client.get(f"/api/v1/tickets/{opened.number}", headers=headers).get_json()
        return body["coverage"]["reasons"]

    chinese = reasons("zh")
    assert chinese != reasons("en")
    assert any("\u4e00" <= char <= "\u9fff" for char in "".join(chinese))


@pytest.mark.parametrize(
    "number", ["SD-2026-999999", "nothing", "SD-2026-000001%00", "x" * 5000, "%E2%98%83"]
)
def test_unknown_ticket_is_404(client, agent, opened, bearer, number):
    response = client.get(f"/api/v1/tickets/{number}", headers=bearer(agent))
    assert_error(response, 404, "not_found")


def test_read_needs_a_token(client, opened):
    assert_error(client.get(f"/api/v1/tickets/{opened.number}"), 401)


def test_station_users_see_only_their_own_stations_tickets(
    client, db, make_station, make_user, opened, bearer
):
    own = make_station("BJ-01")
    other = make_station("BJ-02")
    station_user = make_user("engineer", role="station", station_code="BJ-01")
    headers = bearer(station_user)
    url = f"/api/v1/tickets/{opened.number}"

    assert_error(client.get(url, headers=headers), 404)
    opened.station = other
    db.session.commit()
    assert_error(client.get(url, headers=headers), 404)
    opened.station = own
    db.session.commit()
    response = client.get(url, headers=headers)
    assert response.status_code == 200
    assert response.get_json()["station"] == {"code": "BJ-01", "name": "Station BJ-01"}


# --- GET /api/v1/tickets ------------------------------------------------------------------


@pytest.fixture
def many(db, agent, customer, make_customer, make_asset, make_station, now):
    """25 tickets of two customers, several created at the very same instant."""
    make_asset(customer, entitlements=[("depot", *ACTIVE)])
    other = make_customer("C0002", name="Other Ltd", phones=("139 1000 2000",))
    station = make_station("BJ-01")
    tickets = []
    for index in range(25):
        owner = customer if index % 3 else other
        created = now - timedelta(minutes=index // 4)
        kind = ("inquiry", "complaint", "presales")[index % 3]
        ticket = open_ticket(agent, owner, TicketRequest(kind, f"ticket {index}"), now=created)
        if index % 5 == 0:
            ticket.station = station
        tickets.append(ticket)
    db.session.commit()
    return tickets


def newest_first(tickets):
    return [t.number for t in sorted(tickets, key=lambda t: (t.created_at, t.id), reverse=True)]


def walk(client, headers, query=""):
    numbers, pages, cursor = [], 0, None
    while True:
        url = f"/api/v1/tickets?{query}" + (f"&cursor={cursor}" if cursor else "")
        response = client.get(url, headers=headers)
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        numbers += [item["number"] for item in body["items"]]
        pages += 1
        cursor = body["next"]
        if cursor is None:
            return numbers, pages
        assert pages < 100


@pytest.mark.parametrize("limit", [1, 3, 7, 24, 25, 200])
def test_pages_walk_every_ticket_once_newest_first(client, agent, many, bearer, limit):
    numbers, pages = walk(client, bearer(agent), f"limit={limit}")
    assert numbers == newest_first(many)
    assert len(set(numbers)) == 25
    assert pages == max(1, -(-25 // limit))


def test_a_page_has_full_tickets(client, agent, many, bearer):
    body = client.get("/api/v1/tickets?limit=2", headers=bearer(agent)).get_json()
    assert set(body) == {"items", "next"}
    assert all(set(item) == TICKET_KEYS for item in body["items"])
    assert isinstance(body["next"], str)


def test_default_page_size_comes_from_the_configuration(
    client, app, agent, many, bearer, monkeypatch
):
    monkeypatch.setitem(app.config, "API_PAGE_SIZE", 4)
    body = client.get("/api/v1/tickets", headers=bearer(agent)).get_json()
    assert len(body["items"]) == 4 and body["next"]


def test_new_tickets_do_not_shift_later_pages(client, db, agent, customer, many, bearer, now):
    headers = bearer(agent)
    first = client.get("/api/v1/tickets?limit=10", headers=headers).get_json()
    open_ticket(agent, customer, TicketRequest("inquiry", "late"), now=now + timedelta(hours=1))
    db.session.commit()
    second = client.get(f"/api/v1/tickets?limit=10&cursor={first['next']}", headers=headers)
    assert [item["number"] for item in second.get_json()["items"]] == newest_first(many)[10:20]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("kind=inquiry", lambda t: t.kind == "inquiry"),
        ("status=closed", lambda t: t.status == "closed"),
        ("status=new", lambda t: t.status == "new"),
        ("customer=C0002", lambda t: t.customer.code == "C0002"),
        ("station=BJ-01", lambda t: t.station is not None),
        (
            "kind=complaint&customer=C0001",
            lambda t: t.kind == "complaint" and t.customer.code == "C0001",
        ),
        ("status=cancelled", lambda t: False),
    ],
)
def test_filters(client, agent, many, bearer, query, expected):
    numbers, _ = walk(client, bearer(agent), f"limit=4&{query}")
    assert numbers == newest_first([t for t in many if expected(t)])


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=open", "status"),
        ("status=", "status"),
        ("kind=visit", "kind"),
        ("station=NOPE", "station"),
        ("customer=NOPE", "customer"),
        ("customer=%00", "customer"),
        ("customer=" + "x" * 300, "customer"),
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("limit=-1", "limit"),
        ("limit=ten", "limit"),
        ("limit=1.5", "limit"),
        ("limit=99999999999999999999999", "limit"),
        ("cursor=garbage", "cursor"),
        ("cursor=", "cursor"),
        ("cursor=%F0%9F%98%80", "cursor"),
        ("cursor=MjAyNi0xMS0yMFQwMjozMDowMCswMDowMHwtMQ", "cursor"),  # id -1
        ("cursor=MjAyNi0xMS0yMFQwMjozMDowMHwx", "cursor"),  # no offset
        ("cursor=bm90IGEgZGF0ZXwx", "cursor"),  # "not a date|1"
        ("cursor=MjAyNi0xMS0yMFQwMjozMDowMCswMDowMHw5OTk5OTk5OTk5OTk5", "cursor"),  # huge id
    ],
)
def test_bad_list_parameters_are_422(client, agent, many, bearer, query, field):
    response = client.get(f"/api/v1/tickets?{query}", headers=bearer(agent))
    assert_error(response, 422, "validation_error", field)


def test_station_users_may_not_list_tickets(client, make_station, make_user, bearer):
    make_station("BJ-01")
    station_user = make_user("engineer", role="station", station_code="BJ-01")
    assert_error(client.get("/api/v1/tickets", headers=bearer(station_user)), 403, "forbidden")


def test_listing_needs_a_token(client):
    assert_error(client.get("/api/v1/tickets"), 401)


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    params=st.dictionaries(
        st.sampled_from(["status", "kind", "station", "customer", "limit", "cursor", "other"]),
        st.text(),
        max_size=4,
    )
)
def test_garbage_list_parameters_never_crash(client, agent, customer, bearer, params):
    response = client.get("/api/v1/tickets", query_string=params, headers=bearer(agent))
    assert response.status_code in {200, 422}, (params, response.get_data(as_text=True))
    if response.status_code == 422:
        assert_error(response, 422, "validation_error")


def test_other_methods_are_405_in_the_error_shape(client, agent, bearer):
    response = client.delete("/api/v1/tickets", headers=bearer(agent))
    assert_error(response, 405, "method_not_allowed")
    assert "GET" in response.headers["Allow"] and "POST" in response.headers["Allow"]
