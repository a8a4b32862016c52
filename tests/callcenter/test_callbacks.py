"""Satisfaction callbacks end to end on one process: scheduled when a repair closes, placed by
the sweep through a fake line, answered through signed webhooks (both languages), every
status path, opting out, the follow-up complaint and who hears of it."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from flask_babel import force_locale, gettext
from twilio.request_validator import RequestValidator

from servicedesk.callcenter import survey
from servicedesk.callcenter.callback_sweep import run_callback_sweep
from servicedesk.callcenter.callbacks import number_to_call, schedule_callback
from servicedesk.callcenter.models import (
    Callback,
    CallbackAttempt,
    DoNotCallNumber,
    SurveyAnswer,
)
from servicedesk.callcenter.telephony import PlacedCall, webhook_auth_token
from servicedesk.customers.models import Contact, ContactPhone, Customer
from servicedesk.notifications.models import Notification
from servicedesk.notifications.services import notifications_for
from servicedesk.stations.models import Station
from servicedesk.tickets.intake import TicketRequest, open_ticket
from servicedesk.tickets.models import Ticket
from tests.callcenter.conftest import callback_of

PUBLIC_URL = "http://testserver.example"
DUE = datetime(2026, 11, 21, 2, 30, tzinfo=UTC)
"""24 hours after the conftest's ``now`` (Saturday 10:30 in Shanghai): the first attempt."""


class FakeLine:
    """A line that records the calls placed and answers with made-up sids."""

    name = "fake"

    def __init__(self):
        self.placed = []

    def place_call(self, call):
        self.placed.append(call)
        return PlacedCall(sid=f"CA{len(self.placed):032d}", status="queued")

    def find_call(self, *, token, to, since):
        return None

    def connect_to_agent(self, call_sid, agent_number):
        raise NotImplementedError


def sign(url: str, data: dict[str, str]) -> str:
    return RequestValidator(webhook_auth_token()).compute_signature(url, data)


def post(client, url: str, data: dict[str, str] | None = None, *, signed=True):
    """POST a webhook as Twilio does: form-encoded, signed over the public URL."""
    data = data or {}
    if not url.startswith("http"):
        url = PUBLIC_URL + url
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    headers = {"X-Twilio-Signature": sign(url, data) if signed else "bad"}
    return client.post(path, data=data, headers=headers)


def twiml(response) -> ET.Element:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.content_type.startswith("text/xml")
    return ET.fromstring(response.get_data())


def says(root: ET.Element) -> list[tuple[str, str]]:
    return [(say.get("language"), say.text) for say in root.iter("Say")]


def gather_action(root: ET.Element) -> str | None:
    gather = root.find("Gather")
    return None if gather is None else gather.get("action")


def prompt(message: str, language: str) -> str:
    with force_locale(language):
        return gettext(message)


PROMPTS = {question.key: question.prompt.message for question in survey.QUESTIONS}


class Call:
    """One placed survey call, driven like Twilio drives it."""

    def __init__(self, client, attempt: CallbackAttempt):
        self.client = client
        self.token = attempt.token
        self.sid = attempt.call_sid or "CA" + "f" * 32
        self.action: str | None = None

    def answer(self, answered_by="human") -> ET.Element:
        root = twiml(
            post(
                self.client,
                f"/twilio/voice/survey/{self.token}",
                {"CallSid": self.sid, "CallStatus": "in-progress", "AnsweredBy": answered_by},
            )
        )
        self.action = gather_action(root)
        return root

    def press(self, digits: str) -> ET.Element:
        assert self.action, "no question is being asked"
        root = twiml(post(self.client, self.action, {"CallSid": self.sid, "Digits": digits}))
        self.action = gather_action(root)
        return root

    def status(self, status: str, **extra) -> object:
        response = post(
            self.client,
            f"/twilio/voice/status/{self.token}",
            {"CallSid": self.sid, "CallStatus": status, **extra},
        )
        assert response.status_code == 200, response.get_data(as_text=True)
        return response


class Clock:
    """The webhooks' clock, set by the test."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    """Webhooks run at the first attempt's due time unless a test moves the clock."""
    fixed = Clock(DUE + timedelta(minutes=1))
    monkeypatch.setattr("servicedesk.callcenter.survey_calls.utcnow", fixed)
    return fixed


@pytest.fixture
def line(app):
    fake = FakeLine()
    app.extensions["servicedesk_line"] = fake
    yield fake
    app.extensions.pop("servicedesk_line", None)


def place(ticket, line, client, *, at=DUE) -> Call:
    """Sweep at ``at`` and return the survey call placed for ``ticket``'s callback."""
    from servicedesk.core.db import db

    db.session.commit()
    result = run_callback_sweep(at, line=line)
    assert result.placed >= 1
    callback = callback_of(ticket)
    return Call(client, callback.attempts[-1])


# --------------------------------------------------------------------------------------
# Scheduling
# --------------------------------------------------------------------------------------


def test_closing_a_repair_schedules_one_callback(close_a_repair, now, db):
    ticket = close_a_repair()
    callback = callback_of(ticket)
    assert callback.status == "scheduled"
    assert callback.due_at == DUE
    assert callback.phone_e164 == "+8613800138000"
    assert (callback.language, callback.timezone) == ("zh", "Asia/Shanghai")
    assert callback.station_id == ticket.station_id
    assert callback.max_attempts == 3
    # Idempotent: the same callback again, never a second one.
    assert schedule_callback(ticket, now=now + timedelta(hours=1)) is callback
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Callback)) == 1


def test_closing_late_moves_the_call_into_calling_hours(close_a_repair, app, now):
    later = now.replace(hour=12, minute=30)  # 20:30 in Shanghai
    ticket = close_a_repair()
    ticket.closed_at = later
    callback = callback_of(ticket)
    callback_before = callback.due_at
    db_callback = schedule_callback(ticket, now=later)
    assert db_callback.due_at == callback_before  # already scheduled: unchanged
    # A fresh callback for a repair closed at 20:30 is due the day after next at 09:00.
    from servicedesk.core.db import db

    db.session.delete(callback)
    db.session.flush()
    fresh = schedule_callback(ticket, now=later)
    assert fresh.due_at == datetime(2026, 11, 22, 1, 0, tzinfo=UTC)


def test_delay_and_hours_come_from_configuration(close_a_repair, app):
    app.config.update(
        SERVICEDESK_CALLBACK_DELAY_MINUTES=30, SERVICEDESK_CALLING_HOURS="11:00-12:00"
    )
    try:
        ticket = close_a_repair()
    finally:
        app.config.update(
            SERVICEDESK_CALLBACK_DELAY_MINUTES=1440, SERVICEDESK_CALLING_HOURS="09:00-20:00"
        )
    # Closed 10:30 + 30 min = 11:00 Shanghai.
    assert callback_of(ticket).due_at == datetime(2026, 11, 20, 3, 0, tzinfo=UTC)


def test_other_tickets_get_no_callback(make_customer, agent, now):
    customer = make_customer()
    inquiry = open_ticket(agent, customer, TicketRequest(kind="inquiry", summary="Hours?"), now=now)
    assert inquiry.status == "closed"
    assert schedule_callback(inquiry, now=now) is None
    assert Callback.query.count() == 0


def test_a_repair_closed_without_a_phone_is_stopped_with_the_reason(close_a_repair):
    ticket = close_a_repair(phones=())
    callback = callback_of(ticket)
    assert (callback.status, callback.stop_reason, callback.due_at) == ("stopped", "no_phone", None)


def test_a_do_not_call_customer_is_never_scheduled(close_a_repair, make_customer, db):
    customer = make_customer("DNC1")
    customer.do_not_call = True
    ticket = close_a_repair(customer=customer)
    assert (callback_of(ticket).status, callback_of(ticket).stop_reason) == (
        "stopped",
        "do_not_call",
    )


def test_a_number_on_the_list_is_never_scheduled(close_a_repair, db):
    db.session.add(DoNotCallNumber(e164="+8613800138000", reason="requested"))
    ticket = close_a_repair()
    assert callback_of(ticket).stop_reason == "do_not_call"


def test_the_number_called_prefers_the_primary_contacts_mobile(make_customer, db):
    customer = make_customer(phones=("010-62751234", "139 1000 2000"))
    other = Contact(name="李娜", customer=customer)
    other.phones.append(ContactPhone(e164="+8613700001111", customer=customer))
    db.session.add(other)
    db.session.flush()
    assert number_to_call(customer.id) == "+8613910002000"


def test_without_a_mobile_any_phone_is_called(make_customer, db):
    customer = make_customer(phones=("010-62751234 ext 8", "(021) 6275 1234"))
    assert number_to_call(customer.id) == "+862162751234"
    other = make_customer("C0002", phones=())
    extra = Contact(name="王芳", customer=other)
    extra.phones.append(ContactPhone(e164="+8613700001111", customer=other))
    db.session.add(extra)
    db.session.flush()
    assert number_to_call(other.id) == "+8613700001111"
    assert number_to_call(make_customer("C0003", phones=()).id) is None


# --------------------------------------------------------------------------------------
# Placing and the survey through signed webhooks
# --------------------------------------------------------------------------------------


def test_the_sweep_places_the_call_with_its_urls(close_a_repair, line, db):
    ticket = close_a_repair()
    db.session.commit()
    assert run_callback_sweep(DUE - timedelta(seconds=1), line=line).claimed == 0
    result = run_callback_sweep(DUE, line=line)
    assert (result.claimed, result.placed) == (1, 1)
    (call,) = line.placed
    attempt = callback_of(ticket).attempts[0]
    assert call.to == "+8613800138000"
    assert call.token == attempt.token
    assert call.url == f"{PUBLIC_URL}/twilio/voice/survey/{attempt.token}"
    assert call.status_callback == f"{PUBLIC_URL}/twilio/voice/status/{attempt.token}"
    assert call.machine_detection is True
    assert call.timeout_seconds == 20
    assert (attempt.status, attempt.call_sid, attempt.number) == (
        "placed",
        "CA" + "0" * 31 + "1",
        1,
    )
    assert callback_of(ticket).status == "calling"
    # Nothing more is due.
    assert run_callback_sweep(DUE + timedelta(hours=1), line=line).claimed == 0


@pytest.mark.parametrize("language, say", [("zh", "zh-CN"), ("en", "en-US")])
def test_full_survey_in_the_customers_language(close_a_repair, line, client, language, say):
    ticket = close_a_repair(language=language)
    call = place(ticket, line, client)
    root = call.answer()
    assert says(root) == [
        (say, prompt(survey.GREETING, language)),
        (say, prompt(PROMPTS["overall"], language)),
    ]
    gather = root.find("Gather")
    assert gather.get("numDigits") == "1" and gather.get("input") == "dtmf"
    assert gather.get("actionOnEmptyResult") == "true"
    assert call.action.startswith(f"{PUBLIC_URL}/twilio/voice/survey/{call.token}/gather?")
    assert says(call.press("4")) == [(say, prompt(PROMPTS["solved"], language))]
    assert says(call.press("1")) == [(say, prompt(PROMPTS["engineer"], language))]
    root = call.press("5")
    assert says(root) == [(say, prompt(survey.THANKS, language))]
    assert root.find("Hangup") is not None and call.action is None
    call.status("completed", CallDuration="48")

    callback = callback_of(ticket)
    assert callback.status == "completed"
    assert callback.satisfied is True
    assert {a.question: a.value for a in callback.answers} == {
        "overall": 4,
        "solved": 1,
        "engineer": 5,
    }
    assert callback.follow_up_ticket_id is None
    attempt = callback.attempts[0]
    assert (attempt.status, attempt.answered_by) == ("completed", "human")
    assert attempt.ended_at is not None


def test_chinese_prompts_are_translated(close_a_repair, line, client):
    """Passes once the lead has merged the Chinese catalog (the prompts of /tmp/translations)."""
    ticket = close_a_repair(language="zh")
    call = place(ticket, line, client)
    texts = [text for _language, text in says(call.answer())]
    assert texts[1].startswith("您对本次维修的总体满意度如何")


def test_a_miss_re_prompts_once_then_moves_on(close_a_repair, line, client):
    ticket = close_a_repair(language="en")
    call = place(ticket, line, client)
    call.answer()
    assert [t for _l, t in says(call.press(""))] == [survey.REPROMPT, PROMPTS["overall"]]
    assert "try=2" in call.action
    assert [t for _l, t in says(call.press("7"))] == [PROMPTS["solved"]]
    call.press("2")
    call.press("3")
    call.status("completed")
    callback = callback_of(ticket)
    assert {a.question: a.value for a in callback.answers} == {"solved": 2, "engineer": 3}
    assert callback.satisfied is None
    assert callback.status == "completed"


def test_partial_answers_are_kept_when_the_customer_hangs_up(close_a_repair, line, client):
    ticket = close_a_repair()
    call = place(ticket, line, client)
    call.answer()
    call.press("3")
    call.status("completed", CallDuration="12")
    callback = callback_of(ticket)
    assert callback.status == "completed"
    assert [(a.question, a.value) for a in callback.answers] == [("overall", 3)]
    assert callback.satisfied is False
    assert callback.follow_up_ticket_id is None
    # Nothing else is due: a completed callback is never called again.
    assert run_callback_sweep(DUE + timedelta(days=2), line=line).claimed == 0


def test_a_replayed_gather_records_nothing_twice(close_a_repair, line, client, db):
    ticket = close_a_repair(language="en")
    call = place(ticket, line, client)
    call.answer()
    first_action = call.action
    call.press("5")
    replay = twiml(post(client, first_action, {"CallSid": call.sid, "Digits": "1"}))
    assert [t for _l, t in says(replay)] == [PROMPTS["solved"]]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SurveyAnswer)) == 1
    assert SurveyAnswer.query.one().value == 5
    # Answering the call's TwiML again repeats the current question without starting over.
    again = call.answer()
    assert [t for _l, t in says(again)] == [PROMPTS["solved"]]


def test_pressing_9_opts_out_for_good(close_a_repair, line, client, db):
    ticket = close_a_repair(language="en")
    call = place(ticket, line, client)
    call.answer()
    call.press("2")
    root = call.press("9")
    assert [t for _l, t in says(root)] == [survey.OPTED_OUT]
    assert root.find("Hangup") is not None
    call.status("completed")
    callback = callback_of(ticket)
    assert (callback.status, callback.stop_reason) == ("stopped", "opted_out")
    assert [(a.question, a.value) for a in callback.answers] == [("overall", 2)]
    entry = db.session.get(DoNotCallNumber, "+8613800138000")
    assert (entry.reason, entry.customer_id) == ("pressed_9", callback.customer_id)
    assert db.session.get(Customer, callback.customer_id).do_not_call is True
    # The next repair of that customer is never called.
    customer = db.session.get(Customer, callback.customer_id)
    later = close_a_repair(customer=customer)
    assert callback_of(later).stop_reason == "do_not_call"


# --------------------------------------------------------------------------------------
# Status callbacks: every outcome, idempotent
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        ("busy", "busy"),
        ("no-answer", "no_answer"),
        ("failed", "failed"),
        ("canceled", "canceled"),
    ],
)
def test_unanswered_calls_are_retried_two_hours_later(
    close_a_repair, line, client, clock, status, outcome
):
    ticket = close_a_repair()
    call = place(ticket, line, client)
    call.status("ringing")
    call.status(status)
    callback = callback_of(ticket)
    attempt = callback.attempts[0]
    assert (attempt.status, attempt.ended_at) == (outcome, clock.now)
    assert callback.status == "scheduled"
    assert callback.due_at == clock.now + timedelta(hours=2)


def test_an_answering_machine_is_hung_up_on_and_retried(close_a_repair, line, client):
    ticket = close_a_repair()
    call = place(ticket, line, client)
    root = call.answer(answered_by="machine_end_beep")
    assert root.find("Hangup") is not None and root.find("Gather") is None
    assert says(root) == []
    call.status("completed", AnsweredBy="machine_end_beep")
    callback = callback_of(ticket)
    attempt = callback.attempts[0]
    assert (attempt.status, attempt.answered_by) == ("machine", "machine_end_beep")
    assert callback.status == "scheduled"


def test_a_fax_counts_as_a_machine(close_a_repair, line, client):
    ticket = close_a_repair()
    call = place(ticket, line, client)
    call.status("completed", AnsweredBy="fax")
    assert callback_of(ticket).attempts[0].status == "machine"


def test_a_machine_reported_in_the_answered_event_is_a_machine(close_a_repair, line, client):
    ticket = close_a_repair()
    call = place(ticket, line, client)
    call.status("in-progress", AnsweredBy="machine_start")
    call.status("completed")
    callback = callback_of(ticket)
    assert callback.attempts[0].status == "machine"
    assert callback.status == "scheduled"


def test_a_person_who_presses_nothing_is_retried(close_a_repair, line, client):
    ticket = close_a_repair()
    call = place(ticket, line, client)
    call.answer()
    call.status("completed", CallDuration="3")
    callback = callback_of(ticket)
    assert callback.attempts[0].status == "completed"
    assert callback.status == "scheduled"


def test_status_callbacks_are_idempotent(close_a_repair, line, client):
    ticket = close_a_repair()
    call = place(ticket, line, client)
    call.status("busy")
    callback = callback_of(ticket)
    due, ended = callback.due_at, callback.attempts[0].ended_at
    call.status("busy")
    call.status("ringing")
    call.status("in-progress")
    call.status("completed")
    callback = callback_of(ticket)
    attempt = callback.attempts[0]
    assert (attempt.status, attempt.ended_at) == ("busy", ended)
    assert (callback.status, callback.due_at) == ("scheduled", due)


def test_three_unanswered_attempts_exhaust_the_callback(close_a_repair, line, client):
    ticket = close_a_repair()
    at = DUE
    for number in (1, 2, 3):
        call = place(ticket, line, client, at=at)
        call.status("no-answer")
        callback = callback_of(ticket)
        assert callback.attempts_made == number
        at = callback.due_at or at
    callback = callback_of(ticket)
    assert callback.status == "exhausted"
    assert callback.due_at is None and callback.finished_at is not None
    assert [a.status for a in callback.attempts] == ["no_answer"] * 3
    assert len({a.token for a in callback.attempts}) == 3
    assert run_callback_sweep(at + timedelta(days=3), line=line).claimed == 0


def test_a_retry_after_calling_hours_waits_for_the_next_window(close_a_repair, line, client, clock):
    ticket = close_a_repair()
    call = place(ticket, line, client)
    clock.now = datetime(2026, 11, 21, 11, 0, tzinfo=UTC)  # 19:00 in Shanghai
    call.status("busy")
    # 21:00 is past calling hours: Sunday 09:00 in Shanghai.
    assert callback_of(ticket).due_at == datetime(2026, 11, 22, 1, 0, tzinfo=UTC)


def test_no_retry_lands_in_a_holiday(close_a_repair, line, client, clock, db):
    ticket = close_a_repair()
    callback = callback_of(ticket)
    callback.due_at = datetime(2026, 9, 30, 10, 0, tzinfo=UTC)  # 18:00 in Shanghai
    call = place(ticket, line, client, at=callback.due_at)
    clock.now = datetime(2026, 9, 30, 10, 30, tzinfo=UTC)
    call.status("no-answer")
    # National Day: nobody is called from 1 to 7 October.
    assert callback_of(ticket).due_at == datetime(2026, 10, 8, 1, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("form", "code"),
    [({"CallStatus": "exploded"}, 400), ({}, 400)],
)
def test_bad_status_callbacks_are_refused(close_a_repair, line, client, form, code):
    ticket = close_a_repair()
    call = place(ticket, line, client)
    response = post(client, f"/twilio/voice/status/{call.token}", form)
    assert response.status_code == code


def test_unknown_tokens_and_bad_gathers(client, close_a_repair, line):
    assert (
        post(client, "/twilio/voice/survey/nope", {"CallStatus": "in-progress"}).status_code == 404
    )
    assert post(client, "/twilio/voice/status/nope", {"CallStatus": "busy"}).status_code == 404
    ticket = close_a_repair()
    call = place(ticket, line, client)
    base = f"/twilio/voice/survey/{call.token}/gather"
    for query in ("", "?q=price&try=1", "?q=overall&try=3", "?q=overall&try=x"):
        assert post(client, base + query, {"Digits": "1"}).status_code == 400


@pytest.mark.parametrize(
    "path",
    ["/twilio/voice/survey/{token}", "/twilio/voice/survey/{token}/gather?q=overall&try=1",
     "/twilio/voice/status/{token}"],
)  # fmt: skip
def test_unsigned_webhooks_are_refused(close_a_repair, line, client, path):
    ticket = close_a_repair()
    call = place(ticket, line, client)
    url = path.format(token=call.token)
    response = post(client, url, {"CallStatus": "completed", "Digits": "1"}, signed=False)
    assert response.status_code == 403
    assert callback_of(ticket).attempts[0].status == "placed"


# --------------------------------------------------------------------------------------
# The follow-up complaint
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("keys", "complaint"),
    [
        (["1", "1", "5"], True),
        (["2", "1", "5"], True),
        (["3", "1", "5"], False),
        (["5", "2", "5"], True),
        (["4", "1", "1"], False),
        (["", "", "2", "5"], True),
    ],
)
def test_a_bad_answer_opens_one_follow_up_complaint(
    close_a_repair, line, client, db, keys, complaint
):
    ticket = close_a_repair(language="en")
    call = place(ticket, line, client)
    call.answer()
    for key in keys:
        call.press(key)
    callback = callback_of(ticket)
    complaints = Ticket.query.filter_by(kind="complaint").all()
    if not complaint:
        assert complaints == [] and callback.follow_up_ticket_id is None
        return
    (follow_up,) = complaints
    assert callback.follow_up_ticket_id == follow_up.id
    assert follow_up.follow_up_of_id == ticket.id
    assert follow_up.station_id is None
    assert follow_up.customer_id == ticket.customer_id
    assert follow_up.created_by_id is None
    assert ticket.number in follow_up.summary
    assert follow_up.status == "new"
    assert {clock.target for clock in follow_up.clocks}  # the complaint's SLA runs
    notices = Notification.query.filter_by(kind="complaint").all()
    assert [(n.audience, n.station_id, n.ticket_id) for n in notices] == [
        ("supervisors", None, follow_up.id)
    ]


def test_both_bad_answers_still_open_only_one_complaint(close_a_repair, line, client):
    ticket = close_a_repair(language="en")
    call = place(ticket, line, client)
    call.answer()
    call.press("1")
    call.press("2")
    call.press("1")
    assert Ticket.query.filter_by(kind="complaint").count() == 1


def test_a_class_a_complaint_reaches_the_account_manager_never_the_station(
    close_a_repair, line, client, make_user, make_customer, engineer, db
):
    manager = make_user("manager1", role="agent")
    supervisor = make_user("sup1", role="supervisor")
    customer = make_customer("KEY1", customer_class="A")
    customer.account_manager_id = manager.id
    ticket = close_a_repair(customer=customer)
    call = place(ticket, line, client)
    call.answer()
    call.press("1")
    follow_up = Ticket.query.filter_by(kind="complaint").one()
    audiences = sorted(
        (n.audience, n.user_id) for n in Notification.query.filter_by(kind="complaint")
    )
    assert audiences == [("supervisors", None), ("user", manager.id)]
    assert [item.notification.ticket_id for item in notifications_for(manager)] == [follow_up.id]
    assert follow_up.id in [item.notification.ticket_id for item in notifications_for(supervisor)]
    assert notifications_for(engineer) == []


def test_answers_refresh_the_stations_scorecard(close_a_repair, line, client, db):
    ticket = close_a_repair()
    call = place(ticket, line, client)
    call.answer()
    call.press("5")
    station = db.session.get(Station, ticket.station_id)
    db.session.refresh(station)
    assert station.scored_at is not None
    assert station.scorecard is not None
