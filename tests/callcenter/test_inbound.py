"""Inbound calls end to end through the test client: Twilio's signed webhooks, the queue the
agents see, taking a call (one agent wins), the card popping with the call linked to it."""

from __future__ import annotations

import re
import threading
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
import sqlalchemy as sa
from twilio.request_validator import RequestValidator

from servicedesk import create_app
from servicedesk.auth.models import User
from servicedesk.callcenter import inbound
from servicedesk.callcenter import views as callcenter_views
from servicedesk.callcenter.calls import SESSION_KEY, TAKEN_KEY
from servicedesk.callcenter.models import Call, SimulatedCall
from servicedesk.callcenter.telephony import (
    LINE_EXTENSION,
    PermanentTelephonyError,
    webhook_auth_token,
)
from servicedesk.core.db import db as db_extension
from servicedesk.tickets.models import Ticket
from tests.conftest import PASSWORD

PUBLIC_URL = "http://testserver.example"
CALLER = "+8613800138000"


class FakeLine:
    """Records what the views asked the line to do; ``error`` makes it refuse."""

    name = "fake"

    def __init__(self) -> None:
        self.connected: list[tuple[str, str]] = []
        self.after_dial: list[str | None] = []
        self.error: Exception | None = None

    def connect_to_agent(
        self, call_sid: str, agent_number: str, *, after_dial: str | None = None
    ) -> None:
        if self.error is not None:
            raise self.error
        self.connected.append((call_sid, agent_number))
        self.after_dial.append(after_dial)


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch, now):
    monkeypatch.setattr(callcenter_views, "utcnow", lambda: now)
    monkeypatch.setattr(inbound, "utcnow", lambda: now)


@pytest.fixture
def line(app):
    fake = FakeLine()
    app.extensions[LINE_EXTENSION] = fake
    yield fake
    app.extensions.pop(LINE_EXTENSION, None)


@pytest.fixture
def customer(make_customer):
    return make_customer("C0001", name="北京星河科技有限公司", customer_class="B")


@pytest.fixture
def key_account(make_customer):
    return make_customer(
        "A0001",
        name="国家电网信息中心",
        customer_class="A",
        phones=("010 6666 8888",),
        contact="王强",
    )


@pytest.fixture
def agent(make_user, db):
    user = make_user("agent1")
    user.phone = "+861062750001"
    db.session.flush()
    return user


@pytest.fixture
def signed_in(login, agent):
    login(agent)
    return agent


def sign(path: str, data: dict[str, str]) -> str:
    return RequestValidator(webhook_auth_token()).compute_signature(PUBLIC_URL + path, data)


def twilio_post(client, path: str, data: dict[str, str], *, signature: str | None = None):
    signature = sign(path, data) if signature is None else signature
    return client.post(path, data=data, headers={"X-Twilio-Signature": signature})


def ring(client, sid="CA0001", from_=CALLER, **extra):
    data = {"CallSid": sid, "From": from_, "To": "+864008001234", "CallStatus": "ringing"}
    data.update(extra)
    return twilio_post(client, "/twilio/voice/incoming", data)


def status(client, sid, call_status):
    data = {"CallSid": sid, "CallStatus": call_status, "CallDuration": "30"}
    return twilio_post(client, "/twilio/voice/incoming/status", data)


def twiml(response) -> ET.Element:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Content-Type"].startswith("text/xml")
    return ET.fromstring(response.get_data(as_text=True))


def calls(db) -> list[Call]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(Call).order_by(Call.id)))


def page(response) -> str:
    return response.get_data(as_text=True)


class Browser:
    """A second browser. Its requests run in their own application context: the test's
    context (which the first client's requests share) caches the signed-in user in ``g``."""

    def __init__(self, app) -> None:
        self.app = app
        self.client = app.test_client()

    def open(self, *args, **kwargs):
        with self.app.app_context():
            return self.client.open(*args, **kwargs)

    def get(self, *args, **kwargs):
        return self.open(*args, method="GET", **kwargs)

    def post(self, *args, **kwargs):
        return self.open(*args, method="POST", **kwargs)

    def session_transaction(self):
        return self.client.session_transaction()


def other_agent(app, make_user, db, username="agent2", phone="+861062750002"):
    """A second agent signed in on a second browser."""
    user = make_user(username)
    user.phone = phone
    db.session.commit()
    browser = Browser(app)
    response = browser.post("/login", data={"username": username, "password": PASSWORD})
    assert response.status_code == 302
    return user, browser


# --- the webhook: signature ---------------------------------------------------------------


def test_unsigned_or_wrongly_signed_calls_are_refused(client, customer, db):
    data = {"CallSid": "CA0001", "From": CALLER}
    assert client.post("/twilio/voice/incoming", data=data).status_code == 403
    assert twilio_post(client, "/twilio/voice/incoming", data, signature="bad").status_code == 403
    signed_for_other_data = sign("/twilio/voice/incoming", {**data, "From": "+8613900000000"})
    response = twilio_post(client, "/twilio/voice/incoming", data, signature=signed_for_other_data)
    assert response.status_code == 403
    for path in ("/twilio/voice/incoming/status", "/twilio/voice/incoming/wait"):
        assert client.post(path, data=data).status_code == 403
    assert calls(db) == []


def test_a_request_without_call_sid_is_a_400(client, db):
    response = twilio_post(client, "/twilio/voice/incoming", {"From": CALLER})
    assert response.status_code == 400
    response = twilio_post(client, "/twilio/voice/incoming", {"CallSid": "C" * 65})
    assert response.status_code == 400
    assert calls(db) == []


# --- the webhook: identifying the caller -----------------------------------------------------


@pytest.mark.parametrize(
    "spelling", ["+8613800138000", "+86 138 0013 8000", "0086 13800138000", "13800138000"]
)
def test_caller_id_identifies_the_customer_in_any_spelling(client, customer, db, now, spelling):
    root = twiml(ring(client, from_=spelling))
    (call,) = calls(db)
    assert call.customer_id == customer.id
    assert call.caller_e164 == CALLER
    assert (call.direction, call.status, call.queue) == ("inbound", "queued", "general")
    assert call.twilio_sid == "CA0001"
    assert call.started_at == now
    assert call.agent_id is None and call.answered_at is None and not call.caller_withheld
    says = root.findall("Say")
    assert [say.get("language") for say in says] == ["zh-CN"]
    enqueue = root.find("Enqueue")
    assert enqueue.text == "general"
    assert enqueue.get("waitUrl") == f"{PUBLIC_URL}/twilio/voice/incoming/wait"
    assert enqueue.get("waitUrlMethod") == "POST"


def test_a_class_a_account_waits_in_the_vip_queue(client, key_account, db):
    root = twiml(ring(client, from_="+861066668888"))
    (call,) = calls(db)
    assert call.customer_id == key_account.id
    assert call.queue == "vip"
    assert root.find("Enqueue").text == "vip"


def test_an_english_speaking_customer_is_greeted_in_english(client, make_customer, db):
    make_customer("E0001", name="Acme Ltd", language="en", phones=("+44 20 7183 8750",))
    root = twiml(ring(client, from_="+442071838750"))
    says = root.findall("Say")
    assert [say.get("language") for say in says] == ["en-US"]
    assert "Thank you for calling" in says[0].text


def test_an_unknown_caller_is_recorded_and_greeted_in_chinese_then_english(client, customer, db):
    root = twiml(ring(client, from_="+8613912345678"))
    (call,) = calls(db)
    assert call.customer_id is None
    assert call.caller_e164 == "+8613912345678"
    assert not call.caller_withheld
    assert call.queue == "general"
    assert [say.get("language") for say in root.findall("Say")] == ["zh-CN", "en-US"]


@pytest.mark.parametrize("from_", ["", "anonymous", "Restricted", "Unknown", "+266696687"])
def test_a_withheld_number_identifies_nobody(client, customer, db, from_):
    root = twiml(ring(client, from_=from_))
    (call,) = calls(db)
    assert call.caller_withheld
    assert call.caller_e164 is None and call.customer_id is None
    assert call.queue == "general"
    assert [say.get("language") for say in root.findall("Say")] == ["zh-CN", "en-US"]


def test_a_number_shared_by_several_customers_links_none(client, customer, make_customer, db):
    make_customer("A0002", name="共享号码大客户", customer_class="A", phones=("138 0013 8000",))
    root = twiml(ring(client))
    (call,) = calls(db)
    assert call.customer_id is None
    assert call.caller_e164 == CALLER
    assert call.queue == "vip"  # a key account has this number
    assert root.find("Enqueue").text == "vip"


def test_twilio_retrying_the_same_call_sid_records_one_call(client, customer, db):
    first = ring(client, sid="CA0042")
    second = ring(client, sid="CA0042")
    assert page(first) == page(second)
    assert len(calls(db)) == 1
    ring(client, sid="CA0043")
    assert len(calls(db)) == 2


def test_the_wait_url_tells_the_caller_the_place_in_the_queue(client, customer, db):
    ring(client)
    root = twiml(
        twilio_post(
            client, "/twilio/voice/incoming/wait", {"CallSid": "CA0001", "QueuePosition": "3"}
        )
    )
    (say,) = root.findall("Say")
    assert say.get("language") == "zh-CN"
    assert root.find("Pause").get("length") == str(inbound.HOLD_PAUSE_SECONDS)
    with_english = twiml(
        twilio_post(client, "/twilio/voice/incoming/wait", {"CallSid": "CA9999"})
    ).findall("Say")
    assert [say.get("language") for say in with_english] == ["zh-CN", "en-US"]


# --- the webhook: status callbacks ----------------------------------------------------------


@pytest.mark.parametrize("final", ["completed", "busy", "failed", "no-answer", "canceled"])
def test_a_caller_hanging_up_in_the_queue_abandons_the_call(client, customer, db, now, final):
    ring(client)
    root = twiml(status(client, "CA0001", final))
    assert list(root) == []
    (call,) = calls(db)
    assert (call.status, call.ended_at, call.agent_id) == ("abandoned", now, None)


def test_status_callbacks_are_idempotent(client, customer, db, now, monkeypatch):
    ring(client)
    assert status(client, "CA0001", "ringing").status_code == 200
    assert calls(db)[0].status == "queued"
    status(client, "CA0001", "completed")
    monkeypatch.setattr(inbound, "utcnow", lambda: now + timedelta(minutes=5))
    status(client, "CA0001", "completed")
    status(client, "CA0001", "busy")
    (call,) = calls(db)
    assert (call.status, call.ended_at) == ("abandoned", now)


def test_a_status_callback_for_an_unknown_call_is_404_and_bad_input_400(client, db):
    assert status(client, "CA-never-seen", "completed").status_code == 404
    response = twilio_post(client, "/twilio/voice/incoming/status", {"CallSid": "CA1"})
    assert response.status_code == 400


# --- the waiting-calls panel ----------------------------------------------------------------


def test_a_ringing_call_shows_on_the_next_poll(client, signed_in, customer, db):
    empty = page(client.get("/agent/calls/waiting"))
    assert 'data-count="0"' in empty and "No calls waiting." in empty
    ring(client)
    html = page(client.get("/agent/calls/waiting"))
    assert 'data-count="1"' in html
    assert customer.name in html
    assert "Class B: managed closely" in html
    assert "138 0013 8000" in html
    assert "waiting 0:00" in html
    (call,) = calls(db)
    assert f'name="call" value="{call.id}"' in html


def test_the_panel_lists_vip_first_then_oldest_first(
    client, signed_in, customer, key_account, make_customer, db, now, monkeypatch
):
    make_customer("A0002", name="共享号码客户", customer_class="C", phones=("138 0013 8000",))
    ring(client, sid="CA-withheld", from_="anonymous")
    monkeypatch.setattr(inbound, "utcnow", lambda: now + timedelta(seconds=10))
    ring(client, sid="CA-shared", from_=CALLER)
    ring(client, sid="CA-unknown", from_="+8613912345678")
    monkeypatch.setattr(inbound, "utcnow", lambda: now + timedelta(seconds=20))
    ring(client, sid="CA-vip", from_="+861066668888")
    monkeypatch.setattr(callcenter_views, "utcnow", lambda: now + timedelta(seconds=75))
    html = page(client.get("/agent/calls/waiting"))
    assert 'data-count="4"' in html
    labels = [
        key_account.name,
        "Number withheld",
        "2 customers with this number",
        "Unknown caller",
    ]
    positions = [html.index(label) for label in labels]
    assert positions == sorted(positions)
    assert "waiting 1:15" in html and "waiting 0:55" in html
    assert html.count("badge class-a") == 1


def test_the_terminal_and_the_card_show_the_panel(client, signed_in, customer, db):
    ring(client)
    for url in ("/agent/", f"/agent/customers/{customer.code}"):
        html = page(client.get(url))
        assert "data-incoming" in html
        assert 'data-poll-url="/agent/calls/waiting?next=' in html
        assert "Take the next call" in html
        assert customer.name in html
    assert "Alt</kbd>+<kbd>A" in html


def test_the_panel_in_chinese(client, login, make_user, customer, key_account, db):
    login(make_user("agent-zh", language="zh"))
    ring(client, sid="CA1", from_="+861066668888")
    ring(client, sid="CA2", from_="anonymous")
    response = client.get("/agent/")
    assert response.status_code == 200
    html = page(response)
    assert html.count("data-waiting-call=") == 2
    assert key_account.name in html


def test_the_card_lists_only_the_first_calls(client, signed_in, customer, db):
    for i in range(5):
        ring(client, sid=f"CA{i}", from_=f"+86139123456{i:02d}")
    html = page(client.get(f"/agent/customers/{customer.code}"))
    assert html.count("data-waiting-call=") == 3
    assert "and 2 more" in html
    assert 'data-poll-url="/agent/calls/waiting?next=/agent/customers/C0001?&amp;shown=3"' in html
    assert page(client.get("/agent/calls/waiting?shown=3")).count("data-waiting-call=") == 3
    assert page(client.get("/agent/calls/waiting?shown=0")).count("data-waiting-call=") == 1
    assert page(client.get("/agent/calls/waiting?shown=x")).count("data-waiting-call=") == 5
    assert page(client.get("/agent/")).count("data-waiting-call=") == 5


def test_abandoned_and_taken_calls_leave_the_panel(client, signed_in, customer, line, db):
    ring(client, sid="CA1")
    ring(client, sid="CA2", from_="+8613912345678")
    status(client, "CA1", "completed")
    html = page(client.get("/agent/calls/waiting"))
    assert 'data-count="1"' in html and customer.name not in html
    client.post("/agent/calls/take")
    assert 'data-count="0"' in page(client.get("/agent/calls/waiting"))


@pytest.mark.parametrize(
    ("path", "method"), [("/agent/calls/waiting", "GET"), ("/agent/calls/take", "POST")]
)
def test_station_users_cannot_see_or_take_calls(
    client, login, make_user, make_station, path, method
):
    make_station("BJ-01")
    login(make_user("eng", role="station", station_code="BJ-01"))
    assert client.open(path, method=method).status_code == 403


# --- taking a call ----------------------------------------------------------------------------


def dialled(client, sid, dial_status):
    data = {"CallSid": sid, "DialCallStatus": dial_status, "CallStatus": "in-progress"}
    return twilio_post(client, "/twilio/voice/incoming/dialled", data)


def test_the_agents_phone_is_dialled_with_an_action_for_the_outcome(
    client, signed_in, customer, line, db
):
    ring(client)
    client.post("/agent/calls/take")
    assert line.after_dial == [f"{PUBLIC_URL}/twilio/voice/incoming/dialled"]


@pytest.mark.parametrize("dial_status", ["no-answer", "busy", "failed", "canceled"])
def test_an_agent_phone_that_does_not_answer_puts_the_caller_back_in_the_queue(
    client, signed_in, key_account, line, db, dial_status
):
    ring(client, from_="010 6666 8888")
    client.post("/agent/calls/take")
    root = twiml(dialled(client, "CA0001", dial_status))
    assert [(verb.tag, verb.get("language")) for verb in root] == [
        ("Say", "zh-CN"),
        ("Enqueue", None),
    ]
    assert root.find("Enqueue").text == "vip"
    (call,) = calls(db)
    assert (call.status, call.agent_id, call.answered_at) == ("queued", None, None)
    assert key_account.name in page(client.get("/agent/calls/waiting"))
    twiml(dialled(client, "CA0001", dial_status))  # Twilio retrying changes nothing
    assert calls(db)[0].status == "queued"


@pytest.mark.parametrize("dial_status", ["completed", "answered"])
def test_after_a_conversation_with_the_agent_the_call_hangs_up(
    client, signed_in, customer, line, db, dial_status
):
    ring(client)
    client.post("/agent/calls/take")
    root = twiml(dialled(client, "CA0001", dial_status))
    assert [verb.tag for verb in root] == ["Hangup"]
    (call,) = calls(db)
    assert (call.status, call.agent_id) == ("connected", signed_in.id)


def test_the_dial_outcome_of_a_caller_who_hung_up_changes_nothing(
    client, signed_in, customer, line, db
):
    ring(client)
    client.post("/agent/calls/take")
    status(client, "CA0001", "completed")
    twiml(dialled(client, "CA0001", "no-answer"))
    assert calls(db)[0].status == "ended"


def test_the_dial_outcome_needs_a_signature_and_a_known_call(client, db):
    data = {"CallSid": "CA-nobody", "DialCallStatus": "no-answer"}
    path = "/twilio/voice/incoming/dialled"
    assert twilio_post(client, path, data, signature="forged").status_code == 403
    assert twilio_post(client, path, data).status_code == 404
    assert twilio_post(client, path, {"DialCallStatus": "busy"}).status_code == 400


def test_taking_a_call_pops_the_card_with_the_call_linked(
    client, signed_in, customer, line, db, now
):
    ring(client)
    response = client.post("/agent/calls/take", data={"next": "/agent/"})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/agent/customers/{customer.code}"
    (call,) = calls(db)
    assert (call.status, call.agent_id, call.answered_at) == ("connected", signed_in.id, now)
    assert line.connected == [("CA0001", "+861062750001")]

    html = page(client.get(response.headers["Location"]))
    assert customer.name in html
    assert "On the line since" in html and "Caller: 138 0013 8000" in html
    assert len(calls(db)) == 1  # the card uses the taken call, it does not start another
    with client.session_transaction() as session:
        assert session[SESSION_KEY] == {str(customer.id): call.id}


def test_tickets_opened_after_taking_are_linked_to_that_call(client, signed_in, customer, line, db):
    ring(client)
    card = client.post("/agent/calls/take").headers["Location"]
    client.get(card)
    for summary in ("How do I reset the BIOS password?", "Is there a newer docking station?"):
        form = {"kind": "inquiry", "summary": summary, "description": "", "serial": ""}
        assert client.post(f"{card}/tickets", data=form).status_code == 302
    (call,) = calls(db)
    tickets = db.session.scalars(sa.select(Ticket)).all()
    assert len(tickets) == 2
    assert {ticket.call_id for ticket in tickets} == {call.id}


def test_the_caller_hanging_up_keeps_the_call_for_the_wrap_up(
    client, signed_in, customer, line, db, now
):
    ring(client)
    card = client.post("/agent/calls/take").headers["Location"]
    status(client, "CA0001", "completed")
    (call,) = calls(db)
    assert (call.status, call.ended_at) == ("ended", now)
    html = page(client.get(card))
    assert "The caller hung up at" in html
    form = {"kind": "inquiry", "summary": "Follow-up question", "description": "", "serial": ""}
    client.post(f"{card}/tickets", data=form)
    assert db.session.scalar(sa.select(Ticket.call_id)) == call.id
    client.post(f"{card}/call/end")
    (call,) = calls(db)
    assert (call.status, call.ended_at) == ("ended", now)  # the hang-up time stays
    with client.session_transaction() as session:
        assert session[SESSION_KEY] == {}


def test_ending_a_taken_call_on_the_terminal_then_the_status_callback(
    client, signed_in, customer, line, db, now, monkeypatch
):
    ring(client)
    card = client.post("/agent/calls/take").headers["Location"]
    client.post(f"{card}/call/end")
    (call,) = calls(db)
    assert (call.status, call.ended_at) == ("ended", now)
    monkeypatch.setattr(inbound, "utcnow", lambda: now + timedelta(minutes=1))
    status(client, "CA0001", "completed")
    (call,) = calls(db)
    assert (call.status, call.ended_at) == ("ended", now)


def test_an_agent_without_a_desk_phone_still_gets_the_card(
    client, login, make_user, customer, line, db
):
    login(make_user("nophone"))
    ring(client)
    response = client.post("/agent/calls/take", follow_redirects=True)
    assert customer.name in page(response)
    assert "You have no desk phone set" in page(response)
    assert line.connected == []
    assert calls(db)[0].status == "connected"


def test_take_next_takes_vip_first_then_the_oldest(
    app, client, signed_in, customer, key_account, line, make_user, db, now, monkeypatch
):
    ring(client, sid="CA-old")
    monkeypatch.setattr(inbound, "utcnow", lambda: now + timedelta(seconds=30))
    ring(client, sid="CA-vip", from_="+861066668888")
    first = client.post("/agent/calls/take")
    assert first.headers["Location"] == f"/agent/customers/{key_account.code}"
    second_agent, browser = other_agent(app, make_user, db)
    second = browser.post("/agent/calls/take")
    assert second.headers["Location"] == f"/agent/customers/{customer.code}"
    by_sid = {call.twilio_sid: call for call in calls(db)}
    assert by_sid["CA-vip"].agent_id == signed_in.id
    assert by_sid["CA-old"].agent_id == second_agent.id
    assert line.connected == [("CA-vip", "+861062750001"), ("CA-old", "+861062750002")]
    third = browser.post("/agent/calls/take", data={"next": "/agent/customers/C0001"})
    assert third.headers["Location"] == "/agent/customers/C0001"
    assert "No call is waiting." in page(browser.get("/agent/"))


def test_two_agents_taking_the_same_call_one_wins_the_other_is_told(
    app, client, signed_in, customer, line, make_user, db
):
    ring(client)
    (call,) = calls(db)
    _, browser = other_agent(app, make_user, db)
    won = client.post("/agent/calls/take", data={"call": call.id})
    lost = browser.post("/agent/calls/take", data={"call": call.id, "next": "/agent/"})
    assert won.headers["Location"] == f"/agent/customers/{customer.code}"
    assert lost.headers["Location"] == "/agent/"
    assert "Another agent has just taken that call." in page(browser.get("/agent/"))
    (call,) = calls(db)
    assert call.agent_id == signed_in.id
    assert line.connected == [("CA0001", "+861062750001")]
    with browser.session_transaction() as session:
        assert not session.get(SESSION_KEY) and not session.get(TAKEN_KEY)


def test_a_double_click_takes_the_call_once(client, signed_in, customer, line, db):
    ring(client)
    (call,) = calls(db)
    for _ in range(2):
        response = client.post("/agent/calls/take", data={"call": call.id})
        assert response.headers["Location"] == f"/agent/customers/{customer.code}"
    assert line.connected == [("CA0001", "+861062750001")]


def test_a_call_whose_caller_hung_up_cannot_be_taken(client, signed_in, customer, line, db):
    ring(client)
    (call,) = calls(db)
    status(client, "CA0001", "canceled")
    response = client.post("/agent/calls/take", data={"call": call.id}, follow_redirects=True)
    assert "The caller hung up before the call was taken." in page(response)
    response = client.post("/agent/calls/take", data={"call": 999999}, follow_redirects=True)
    assert "There is no such call." in page(response)
    assert line.connected == []


def test_a_line_refusing_to_connect_leaves_the_call_waiting(client, signed_in, customer, line, db):
    ring(client)
    line.error = PermanentTelephonyError("call CA0001 is not in progress", "21220")
    response = client.post("/agent/calls/take", data={"next": "/agent/"}, follow_redirects=True)
    assert "could not be put through to your phone" in page(response)
    assert "21220" in page(response)
    (call,) = calls(db)
    assert (call.status, call.agent_id, call.answered_at) == ("queued", None, None)
    line.error = None
    assert client.post("/agent/calls/take").headers["Location"].endswith(customer.code)


def test_a_foreign_next_is_ignored(client, signed_in, line):
    response = client.post("/agent/calls/take", data={"next": "//evil.example/"})
    assert response.headers["Location"] == "/agent/"


# --- callers the caller ID does not identify --------------------------------------------------


def test_an_unknown_caller_goes_to_the_search_and_the_call_follows_the_card(
    client, signed_in, customer, make_customer, line, db
):
    other = make_customer("C0002", name="上海星河贸易有限公司", phones=("021 6888 1234",))
    db.session.commit()
    ring(client, from_="+8613912345678")
    response = client.post("/agent/calls/take")
    assert response.headers["Location"] == "/agent/?q=%2B8613912345678"
    assert "Caller 139 1234 5678" in page(client.get(response.headers["Location"]))
    (call,) = calls(db)

    client.get(f"/agent/customers/{other.code}")  # the wrong one first
    assert calls(db)[0].customer_id == other.id
    client.get(f"/agent/customers/{customer.code}")
    assert [(c.id, c.customer_id) for c in calls(db)] == [(call.id, customer.id)]
    form = {"kind": "inquiry", "summary": "Asked about onsite hours", "description": ""}
    client.post(f"/agent/customers/{customer.code}/tickets", data={**form, "serial": ""})
    assert db.session.scalar(sa.select(Ticket.call_id)) == call.id

    client.get(f"/agent/customers/{other.code}")  # after a ticket the call stays put
    later = calls(db)
    assert later[0].customer_id == customer.id
    assert len(later) == 2 and later[1].twilio_sid is None  # the other card's own call


def test_a_shared_number_goes_to_the_search_listing_its_customers(
    client, signed_in, customer, make_customer, line, db
):
    make_customer("C0002", name="上海星河贸易有限公司", phones=("138 0013 8000",))
    ring(client)
    response = client.post("/agent/calls/take")
    html = page(client.get(response.headers["Location"]))
    assert "2 customers match" in html
    links = re.findall(r'href="(/agent/customers/[^"]+)"[^>]*data-result', html)
    assert len(links) == 2


def test_a_withheld_caller_goes_to_the_empty_search(client, signed_in, customer, line, db):
    ring(client, from_="anonymous")
    response = client.post("/agent/calls/take")
    assert response.headers["Location"] == "/agent/"
    html = page(client.get("/agent/"))
    assert "The caller&#39;s number is withheld" in html
    client.get(f"/agent/customers/{customer.code}")
    (call,) = calls(db)
    assert call.customer_id == customer.id and call.caller_withheld
    assert "Number withheld" in page(client.get(f"/agent/customers/{customer.code}"))


def test_a_new_taken_call_replaces_a_caller_never_found(
    client, signed_in, customer, make_customer, line, db
):
    other = make_customer("C0002", name="上海星河贸易有限公司", phones=("021 6888 1234",))
    ring(client, sid="CA-withheld", from_="anonymous")
    client.post("/agent/calls/take")
    ring(client, sid="CA-known")
    client.post("/agent/calls/take")
    with client.session_transaction() as session:
        assert TAKEN_KEY not in session
    client.get(f"/agent/customers/{other.code}")
    by_sid = {call.twilio_sid: call for call in calls(db)}
    assert by_sid["CA-withheld"].customer_id is None
    assert by_sid["CA-known"].customer_id == customer.id


def test_the_panel_says_whether_the_agent_is_on_a_call(client, signed_in, customer, line, db):
    def on_a_call() -> bool:
        return "data-on-a-call" in page(client.get("/agent/calls/waiting"))

    assert not on_a_call()
    ring(client, sid="CA-withheld", from_="anonymous")
    client.post("/agent/calls/take")
    assert on_a_call()  # the caller is still to be found
    status(client, "CA-withheld", "completed")
    assert not on_a_call()  # and hung up before being found
    ring(client)
    card = client.post("/agent/calls/take").headers["Location"]
    assert on_a_call()
    client.post(f"{card}/call/end")
    assert not on_a_call()


def test_the_ready_switch_is_offered_on_the_terminal_only(client, signed_in, customer):
    assert "data-auto-take" in page(client.get("/agent/"))
    assert "data-auto-take" not in page(client.get(f"/agent/customers/{customer.code}"))


# --- the whole loop on the simulated line ------------------------------------------------------


def test_the_simulator_calls_in_and_the_agent_takes_it_on_the_simulated_line(
    client, signed_in, key_account, db
):
    response = client.post("/simulator/call-in", data={"number": "010 6666 8888"})
    assert response.status_code == 303
    (simulated,) = db.session.scalars(sa.select(SimulatedCall)).all()
    greeting = {
        "kind": "say",
        "lang": "zh-CN",
        "text": "感谢您致电服务台。请稍候，我们将为您接通下一位客服代表。",
    }
    assert any(greeting.items() <= entry.items() for entry in simulated.transcript)
    (call,) = calls(db)
    assert (call.twilio_sid, call.customer_id, call.queue) == (
        simulated.sid,
        key_account.id,
        "vip",
    )
    assert key_account.name in page(client.get("/agent/calls/waiting"))

    card = client.post("/agent/calls/take").headers["Location"]
    assert card == f"/agent/customers/{key_account.code}"
    db.session.expire_all()
    assert db.session.get(SimulatedCall, simulated.id).transcript[-1]["kind"] == "dial"
    assert db.session.get(SimulatedCall, simulated.id).transcript[-1]["text"] == signed_in.phone

    client.post(f"/simulator/calls/{simulated.sid}/hangup")
    (call,) = calls(db)
    assert (call.status, call.agent_id) == ("ended", signed_in.id)
    assert call.ended_at is not None


# --- several web processes, agents at the same moment -----------------------------------------


@pytest.fixture
def second_process(app, database_url):
    """Another web process: its own application, engine and connections on the same database."""
    other = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "WTF_CSRF_ENABLED": False,
            "SERVICEDESK_TELEPHONY": "simulated",
            "SERVICEDESK_PUBLIC_URL": PUBLIC_URL,
        }
    )
    yield other
    with other.app_context():
        db_extension.engine.dispose()


def test_a_call_rung_in_one_process_is_taken_in_another(
    client, second_process, customer, agent, line, db
):
    db.session.commit()
    ring(client)
    second_process.extensions[LINE_EXTENSION] = line
    browser = Browser(second_process)
    browser.post("/login", data={"username": agent.username, "password": PASSWORD})
    assert customer.name in page(browser.get("/agent/calls/waiting"))
    response = browser.post("/agent/calls/take")
    assert response.headers["Location"] == f"/agent/customers/{customer.code}"
    assert customer.name in page(browser.get(response.headers["Location"]))
    (call,) = calls(db)
    assert (call.status, call.agent_id) == ("connected", agent.id)
    assert line.connected == [("CA0001", "+861062750001")]


def _race(app, agent_ids, take):
    """Run ``take(agent)`` for every agent at once, each in its own thread and session."""
    barrier = threading.Barrier(len(agent_ids))

    def at_once(agent):
        barrier.wait()
        return take(agent)

    return _race_with_barrier(app, agent_ids, at_once)


def _race_with_barrier(app, agent_ids, take):
    """Run ``take(agent)`` for every agent, each in its own thread and session (``take``
    waits for the others itself)."""
    outcomes: dict[int, object] = {}

    def run(agent_id):
        with app.app_context():
            agent = db_extension.session.get(User, agent_id)
            db_extension.session.commit()
            try:
                outcomes[agent_id] = take(agent).call.id
                db_extension.session.commit()
            except inbound.CallNotTaken as refusal:
                db_extension.session.rollback()
                outcomes[agent_id] = refusal.reason
            finally:
                db_extension.session.remove()

    threads = [threading.Thread(target=run, args=(agent_id,)) for agent_id in agent_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def _queued_call(db, customer, sid, started_at):
    call = Call(
        direction="inbound",
        twilio_sid=sid,
        customer=customer,
        caller_e164=CALLER,
        status="queued",
        queue="general",
        started_at=started_at,
    )
    db.session.add(call)
    return call


@pytest.mark.postgres
def test_agents_racing_for_one_call_on_postgresql_exactly_one_wins(
    app, make_user, customer, db, now
):
    agent_ids = [make_user(f"racer{i}").id for i in range(8)]
    call = _queued_call(db, customer, "CA-race", now)
    db.session.commit()
    call_id = call.id

    outcomes = _race(app, agent_ids, lambda a: inbound.take_call(a, now=now, call_id=call_id))

    assert sorted(map(str, outcomes.values())) == sorted([str(call_id)] + ["taken"] * 7)
    winner = next(agent_id for agent_id, outcome in outcomes.items() if outcome == call_id)
    db.session.expire_all()
    assert db.session.get(Call, call_id).agent_id == winner


@pytest.mark.postgres
def test_agents_racing_for_the_next_call_on_postgresql_share_the_queue(
    app, make_user, customer, db, now
):
    agent_ids = [make_user(f"racer{i}").id for i in range(8)]
    call_ids = []
    for i in range(3):
        call_ids.append(_queued_call(db, customer, f"CA-{i}", now + timedelta(seconds=i)))
    db.session.commit()
    call_ids = [call.id for call in call_ids]

    outcomes = _race(app, agent_ids, lambda a: inbound.take_call(a, now=now))

    won = [outcome for outcome in outcomes.values() if isinstance(outcome, int)]
    assert sorted(won) == sorted(call_ids)  # each call to exactly one agent
    assert len(outcomes) == 8
    assert all(outcome in ("taken", "none") for outcome in outcomes.values() if outcome not in won)
    db.session.expire_all()
    taken_by = db.session.execute(sa.select(Call.id, Call.agent_id, Call.status)).all()
    assert {agent for _, agent, _ in taken_by} <= set(agent_ids)
    assert {status for _, _, status in taken_by} == {"connected"}
    assert {call_id: outcomes_agent for call_id, outcomes_agent, _ in taken_by} == {
        outcome: agent_id for agent_id, outcome in outcomes.items() if outcome in won
    }


def _hang_up_while_agents_take(app, agent_ids, call_id, sid, now):
    """The caller hangs up (a status callback) at the moment the agents take the call."""
    barrier = threading.Barrier(len(agent_ids) + 1)

    def hang_up():
        with app.app_context():
            barrier.wait()
            inbound.record_call_status(sid, "completed", now=now)
            db_extension.session.commit()
            db_extension.session.remove()

    def take(agent):
        barrier.wait()
        return inbound.take_call(agent, now=now, call_id=call_id)

    hanger = threading.Thread(target=hang_up)
    hanger.start()
    outcomes = _race_with_barrier(app, agent_ids, take)
    hanger.join(timeout=60)
    return outcomes


@pytest.mark.postgres
def test_a_hang_up_racing_the_agents_on_postgresql_leaves_one_consistent_outcome(
    app, make_user, customer, db, now
):
    agent_ids = [make_user(f"racer{i}").id for i in range(4)]
    for round_ in range(5):
        call = _queued_call(db, customer, f"CA-hangup-{round_}", now)
        db.session.commit()
        call_id = call.id

        outcomes = _hang_up_while_agents_take(app, agent_ids, call_id, call.twilio_sid, now)

        db.session.expire_all()
        call = db.session.get(Call, call_id)
        winners = [agent for agent, outcome in outcomes.items() if outcome == call_id]
        assert call.ended_at == now
        if call.status == "abandoned":
            assert winners == [] and call.agent_id is None
            assert set(outcomes.values()) <= {"over", "taken"}
        else:
            assert call.status == "ended"
            assert winners == [call.agent_id]


@pytest.mark.postgres
def test_twilio_retries_arriving_together_on_postgresql_record_one_call(app, customer, db, now):
    db.session.commit()
    barrier = threading.Barrier(6)
    recorded: list[int] = []

    def post_again():
        with app.app_context(), app.test_request_context():
            barrier.wait()
            recorded.append(inbound.record_incoming("CA-twice", CALLER, now=now).call.id)
            db_extension.session.commit()
            db_extension.session.remove()

    threads = [threading.Thread(target=post_again) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    (call,) = calls(db)
    assert recorded == [call.id] * 6
