"""Satisfaction callbacks in the web UI: the supervisors' callbacks page and its actions, the
callback on the ticket page (and what a station user sees of it), and the do-not-call block of
the customer card; with the services behind the actions."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from servicedesk.callcenter import callback_views
from servicedesk.callcenter.callbacks import (
    CallbackActionError,
    add_do_not_call,
    call_callback_now,
    cancel_callback,
    do_not_call_entries,
    finish_attempt,
    record_answer,
    remove_do_not_call,
)
from servicedesk.callcenter.models import Callback, CallbackAttempt, DoNotCallNumber
from servicedesk.customers.models import Customer
from servicedesk.tickets.intake import TicketRequest, open_ticket
from servicedesk.tickets.models import Ticket, TicketEvent
from tests.callcenter.conftest import ACTIVE, callback_of

DUE = datetime(2026, 11, 21, 2, 30, tzinfo=UTC)
"""24 hours after the conftest's ``now``: the first attempt (10:30 in Shanghai)."""


@pytest.fixture(autouse=True)
def no_scorecards(monkeypatch):
    """Answers refresh the station's scorecard; not what these tests are about."""
    monkeypatch.setattr(
        "servicedesk.callcenter.callbacks._refresh_scorecard", lambda station_id, *, now: None
    )


@pytest.fixture
def supervisor(make_user):
    return make_user("boss", role="supervisor")


def answered(callback: Callback, now: datetime, **answers: int) -> CallbackAttempt:
    """One call that a person answered with ``answers`` ({question: key}), then hung up."""
    callback.status = "calling"
    callback.attempts_made += 1
    attempt = CallbackAttempt(
        callback=callback,
        number=callback.attempts_made,
        token=f"token-{callback.id}-{callback.attempts_made}",
        status="in_progress",
        claimed_at=now,
        placed_at=now,
        answered_at=now,
        answered_by="human",
        call_sid=f"CA{callback.id:016d}{callback.attempts_made:016d}",
    )
    sa_session().add(attempt)
    sa_session().flush()
    for question, value in answers.items():
        record_answer(attempt, question, value, now=now)
    finish_attempt(attempt, "completed", now=now + timedelta(minutes=2))
    return attempt


def unanswered(callback: Callback, now: datetime, outcome="busy") -> CallbackAttempt:
    callback.status = "calling"
    callback.attempts_made += 1
    attempt = CallbackAttempt(
        callback=callback,
        number=callback.attempts_made,
        token=f"token-{callback.id}-{callback.attempts_made}",
        status="placed",
        claimed_at=now,
        placed_at=now,
    )
    sa_session().add(attempt)
    sa_session().flush()
    finish_attempt(attempt, outcome, now=now + timedelta(seconds=30))
    return attempt


def sa_session():
    from servicedesk.core.db import db

    return db.session


def events(ticket: Ticket, action: str) -> list[TicketEvent]:
    return list(
        sa_session().scalars(
            sa.select(TicketEvent).where(
                TicketEvent.ticket_id == ticket.id, TicketEvent.action == action
            )
        )
    )


# --- the services -----------------------------------------------------------------------


def test_cancel_records_an_event_with_the_reason(close_a_repair, supervisor, now):
    ticket = close_a_repair()
    callback = callback_of(ticket)
    event = cancel_callback(supervisor, callback, reason="  Customer moved abroad ", now=now)
    assert (callback.status, callback.due_at, callback.finished_at) == ("cancelled", None, now)
    assert event.action == "callback_cancelled"
    assert event.reason == "Customer moved abroad"
    assert event.actor_id == supervisor.id
    assert event.data == {"callback_id": callback.id, "due_at": DUE.isoformat()}
    assert events(ticket, "callback_cancelled") == [event]


@pytest.mark.parametrize("reason", ["", "   ", "x" * 1001])
def test_cancel_and_call_now_need_a_reason(close_a_repair, supervisor, now, reason):
    callback = callback_of(close_a_repair())
    for action in (cancel_callback, call_callback_now):
        with pytest.raises(CallbackActionError) as refused:
            action(supervisor, callback, reason=reason, now=now)
        assert refused.value.field == "reason"
    assert (callback.status, callback.due_at) == ("scheduled", DUE)


@pytest.mark.parametrize("status", ["calling", "completed", "exhausted", "stopped", "cancelled"])
def test_only_a_scheduled_callback_is_cancelled(close_a_repair, supervisor, now, status):
    ticket = close_a_repair()
    callback = callback_of(ticket)
    callback.status = status
    with pytest.raises(CallbackActionError) as refused:
        cancel_callback(supervisor, callback, reason="not needed", now=now)
    assert refused.value.field is None
    assert callback.status == status
    assert events(ticket, "callback_cancelled") == []


def test_call_now_makes_the_callback_due_now(close_a_repair, supervisor, now):
    ticket = close_a_repair()
    callback = callback_of(ticket)
    later = now + timedelta(hours=3)
    event = call_callback_now(supervisor, callback, reason="Customer asked", now=later)
    assert (callback.status, callback.due_at) == ("scheduled", later)
    assert event.action == "callback_called_now"
    assert event.data == {"callback_id": callback.id, "was_due_at": DUE.isoformat()}
    assert events(ticket, "callback_called_now") == [event]


@pytest.mark.parametrize(
    ("status", "message"),
    [
        ("completed", "finished"),
        ("exhausted", "finished"),
        ("stopped", "finished"),
        ("cancelled", "finished"),
        ("calling", "being called"),
    ],
)
def test_call_now_refuses_a_callback_finished_or_being_called(
    close_a_repair, supervisor, now, status, message
):
    callback = callback_of(close_a_repair())
    callback.status = status
    with pytest.raises(CallbackActionError) as refused:
        call_callback_now(supervisor, callback, reason="try again", now=now)
    assert message in refused.value.reason.message
    assert callback.due_at == DUE


@pytest.mark.parametrize("listed", ["customer", "number"])
def test_call_now_refuses_a_customer_on_the_do_not_call_list(
    close_a_repair, supervisor, now, listed
):
    ticket = close_a_repair()
    callback = callback_of(ticket)
    if listed == "customer":
        ticket.customer.do_not_call = True
    else:
        sa_session().add(DoNotCallNumber(e164=callback.phone_e164, reason="imported"))
    sa_session().flush()
    with pytest.raises(CallbackActionError) as refused:
        call_callback_now(supervisor, callback, reason="try again", now=now)
    assert "do-not-call" in refused.value.reason.message
    assert callback.due_at == DUE
    assert events(ticket, "callback_called_now") == []


def test_the_caller_asks_not_to_be_called(close_a_repair, agent, now):
    ticket = close_a_repair(phones=("138 0013 8000", "010 6275 1234", "+86 138 0013 8000"))
    customer = ticket.customer
    callback = callback_of(ticket)
    assert add_do_not_call(agent, customer, now=now) == 2
    assert customer.do_not_call is True
    entries = do_not_call_entries(customer.id)
    assert [(e.e164, e.reason, e.added_by_id) for e in entries] == [
        ("+861062751234", "requested", agent.id),
        ("+8613800138000", "requested", agent.id),
    ]
    assert (callback.status, callback.stop_reason, callback.due_at) == (
        "stopped",
        "do_not_call",
        None,
    )
    assert add_do_not_call(agent, customer, now=now) == 0


def test_a_number_listed_before_keeps_its_entry(close_a_repair, agent, now):
    ticket = close_a_repair()
    sa_session().add(
        DoNotCallNumber(e164="+8613800138000", customer_id=ticket.customer_id, reason="pressed_9")
    )
    sa_session().flush()
    assert add_do_not_call(agent, ticket.customer, now=now) == 0
    assert [e.reason for e in do_not_call_entries(ticket.customer_id)] == ["pressed_9"]


def test_a_supervisor_takes_a_number_off_the_list(close_a_repair, agent, supervisor, now):
    ticket = close_a_repair(phones=("138 0013 8000", "010 6275 1234"))
    customer = ticket.customer
    add_do_not_call(agent, customer, now=now)
    remove_do_not_call(supervisor, customer, "+8613800138000", reason="Asked again", now=now)
    assert customer.do_not_call is False
    assert [e.e164 for e in do_not_call_entries(customer.id)] == ["+861062751234"]
    assert callback_of(ticket).status == "stopped", "a stopped callback stays stopped"


def test_taking_off_the_mark_alone(make_customer, supervisor, now):
    customer = make_customer(phones=())
    customer.do_not_call = True
    remove_do_not_call(supervisor, customer, None, reason="Asked again", now=now)
    assert customer.do_not_call is False
    with pytest.raises(CallbackActionError) as refused:
        remove_do_not_call(supervisor, customer, None, reason="Asked again", now=now)
    assert refused.value.field == "e164"


def test_taking_off_needs_a_reason_and_a_listed_number(make_customer, agent, supervisor, now):
    customer = make_customer()
    other = make_customer("C0002", phones=("139 0000 0000",))
    add_do_not_call(agent, customer, now=now)
    add_do_not_call(agent, other, now=now)
    with pytest.raises(CallbackActionError) as refused:
        remove_do_not_call(supervisor, customer, "+8613800138000", reason=" ", now=now)
    assert refused.value.field == "reason"
    with pytest.raises(CallbackActionError) as refused:
        remove_do_not_call(supervisor, customer, "+8613900000000", reason="x", now=now)
    assert refused.value.field == "e164"
    assert len(do_not_call_entries(customer.id)) == 1
    assert len(do_not_call_entries(other.id)) == 1


# --- the callbacks page -----------------------------------------------------------------


@pytest.mark.parametrize("role", ["agent", "station"])
def test_only_supervisors_and_admins_see_the_callbacks_page(
    client, login, make_user, station, role
):
    login(make_user("someone", role=role, station_code="BJ-01" if role == "station" else None))
    assert client.get("/callbacks").status_code == 403


@pytest.mark.parametrize("role", ["agent", "station"])
def test_only_supervisors_and_admins_act_on_callbacks(
    client, login, make_user, close_a_repair, role
):
    ticket = close_a_repair()
    login(make_user("someone", role=role, station_code="BJ-01" if role == "station" else None))
    for action in ("cancel", "call-now"):
        response = client.post(f"/callbacks/{ticket.number}/{action}", data={"reason": "x"})
        assert response.status_code == 403
    sa_session().expire_all()
    assert callback_of(ticket).status == "scheduled"


@pytest.mark.parametrize("role", ["supervisor", "admin"])
def test_the_callbacks_page_lists_callbacks_with_counts(
    client, login, make_user, close_a_repair, now, role
):
    scheduled = close_a_repair()
    happy = close_a_repair()
    answered(callback_of(happy), DUE, overall=5, solved=1, engineer=4)
    unhappy = close_a_repair()
    answered(callback_of(unhappy), DUE, overall=1)
    complaint = callback_of(unhappy).follow_up_ticket
    login(make_user("boss", role=role))

    response = client.get("/callbacks")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert page.index(unhappy.number) < page.index(happy.number) < page.index(scheduled.number)
    counts = dict(re.findall(r'data-status="(\w+)">.*?<span class="count">(\d+)</span>', page))
    assert counts == {
        "scheduled": "1",
        "calling": "0",
        "completed": "2",
        "exhausted": "0",
        "stopped": "0",
        "cancelled": "0",
    }
    assert "Satisfied" in page and "Not satisfied" in page
    assert "Overall 5/5" in page and "Solved Yes" in page and "Engineer 4/5" in page
    assert complaint.number in page
    assert "2026-11-21 10:30" in page, "due in the customer's zone (Shanghai)"
    assert page.count("Call now") == 1, "actions only on the scheduled callback"
    assert "Satisfaction callbacks" in page


def test_the_callbacks_page_filters(client, login, supervisor, close_a_repair, make_station, now):
    first = close_a_repair()
    second = close_a_repair(at=now + timedelta(days=3))
    other_station = make_station("BJ-02")
    callback_of(second).station_id = other_station.id
    answered(callback_of(first), DUE, overall=4)
    login(supervisor)

    def listed(query: str) -> set[str]:
        response = client.get(f"/callbacks?{query}")
        assert response.status_code == 200, response.get_data(as_text=True)
        page = response.get_data(as_text=True)
        return {t.number for t in (first, second) if f'data-ticket="{t.number}"' in page}

    assert listed("") == {first.number, second.number}
    assert listed("status=completed") == {first.number}
    assert listed("status=scheduled") == {second.number}
    assert listed("station=BJ-02") == {second.number}
    assert listed("station=BJ-01&status=scheduled") == set()
    assert listed("since=2026-11-21") == {second.number}
    assert listed("until=2026-11-20") == {first.number}
    assert listed("since=2026-11-20&until=2026-11-23") == {first.number, second.number}


@pytest.mark.parametrize(
    "query",
    [
        "status=nonsense",
        "station=XX-99",
        "since=yesterday",
        "until=2026-13-01",
        "since=2026-11-22&until=2026-11-21",
        "page=0",
        "page=abc",
    ],
)
def test_bad_filters_are_refused_with_a_message(client, login, supervisor, query):
    login(supervisor)
    response = client.get(f"/callbacks?{query}")
    assert response.status_code == 422
    assert 'role="alert"' in response.get_data(as_text=True)


def test_the_callbacks_page_is_paged(client, login, supervisor, close_a_repair, monkeypatch):
    monkeypatch.setattr(callback_views, "PAGE_SIZE", 2)
    tickets = [close_a_repair() for _ in range(3)]
    login(supervisor)
    first = client.get("/callbacks").get_data(as_text=True)
    second = client.get("/callbacks?page=2").get_data(as_text=True)
    assert "Page 1 of 2" in first and 'rel="next"' in first
    assert [t.number for t in tickets if f'data-ticket="{t.number}"' in first] == [
        t.number for t in tickets[1:]
    ]
    assert [t.number for t in tickets if f'data-ticket="{t.number}"' in second] == [
        tickets[0].number
    ]
    assert 'rel="prev"' in second


def test_cancel_from_the_page(client, login, supervisor, close_a_repair):
    ticket = close_a_repair()
    login(supervisor)
    response = client.post(
        f"/callbacks/{ticket.number}/cancel",
        data={"reason": "Customer closed the company", "next": "/callbacks?status=scheduled"},
    )
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/callbacks?status=scheduled")
    sa_session().expire_all()
    assert callback_of(ticket).status == "cancelled"
    [event] = events(ticket, "callback_cancelled")
    assert (event.actor_id, event.reason) == (supervisor.id, "Customer closed the company")
    page = client.get(f"/tickets/{ticket.number}").get_data(as_text=True)
    assert "Satisfaction callback cancelled" in page
    assert "Customer closed the company" in page


def test_a_refused_action_says_why_and_changes_nothing(client, login, supervisor, close_a_repair):
    ticket = close_a_repair()
    login(supervisor)
    response = client.post(f"/callbacks/{ticket.number}/cancel", data={"reason": ""})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/tickets/{ticket.number}")
    page = client.get(f"/tickets/{ticket.number}").get_data(as_text=True)
    assert "Say why." in page
    sa_session().expire_all()
    assert callback_of(ticket).status == "scheduled"
    assert events(ticket, "callback_cancelled") == []


def test_call_now_from_the_page(client, login, supervisor, close_a_repair, now, monkeypatch):
    ticket = close_a_repair()
    asked_at = now + timedelta(hours=2)
    monkeypatch.setattr(callback_views, "utcnow", lambda: asked_at)
    login(supervisor)
    response = client.post(f"/callbacks/{ticket.number}/call-now", data={"reason": "Asked for it"})
    assert response.status_code == 303
    sa_session().expire_all()
    callback = callback_of(ticket)
    assert callback.due_at == asked_at
    assert events(ticket, "callback_called_now")[0].reason == "Asked for it"
    page = client.get(f"/tickets/{ticket.number}").get_data(as_text=True)
    assert "placed at the next sweep" in page
    assert "2026-11-20 12:30" in page, "due now, in the customer's zone"


def test_call_now_is_refused_on_the_do_not_call_list(client, login, supervisor, close_a_repair):
    ticket = close_a_repair()
    ticket.customer.do_not_call = True
    login(supervisor)
    client.post(f"/callbacks/{ticket.number}/call-now", data={"reason": "Asked for it"})
    page = client.get(f"/tickets/{ticket.number}").get_data(as_text=True)
    assert "The customer is on the do-not-call list" in page
    sa_session().expire_all()
    assert callback_of(ticket).due_at == DUE


def test_actions_on_a_repair_without_a_callback_are_not_found(client, login, supervisor):
    login(supervisor)
    for action in ("cancel", "call-now"):
        response = client.post(f"/callbacks/SD-2026-999999/{action}", data={"reason": "x"})
        assert response.status_code == 404


def test_a_foreign_next_address_is_not_followed(client, login, supervisor, close_a_repair):
    ticket = close_a_repair()
    login(supervisor)
    response = client.post(
        f"/callbacks/{ticket.number}/cancel",
        data={"reason": "x", "next": "https://evil.example/"},
    )
    assert response.headers["Location"].endswith(f"/tickets/{ticket.number}")


# --- the ticket page --------------------------------------------------------------------


def test_the_ticket_page_shows_the_callback(client, login, supervisor, close_a_repair):
    ticket = close_a_repair()
    callback = callback_of(ticket)
    unanswered(callback, DUE, outcome="no_answer")
    callback.timezone = "Europe/London"
    callback.due_at = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
    answered(callback, datetime(2026, 11, 21, 9, 0, tzinfo=UTC), overall=2, solved=2, engineer=3)
    complaint = callback.follow_up_ticket
    login(supervisor)
    page = client.get(f"/tickets/{ticket.number}").get_data(as_text=True)
    assert 'id="callback-heading"' in page
    assert "Answered" in page and "Not satisfied" in page
    assert "2 of 3" in page
    assert 'data-attempt="1"' in page and 'data-attempt="2"' in page
    assert "No answer" in page and "A person" in page
    assert "2026-11-21 02:30" in page, "the first call placed, in the customer's zone (London)"
    assert "2026-11-21 09:02" in page, "the second call's end"
    assert "2 of 5" in page and "3 of 5" in page and ">No<" in page
    assert f'href="/tickets/{complaint.number}"' in page
    assert "Cancel the callback" not in page, "no actions on a finished callback"


def test_a_scheduled_callback_has_its_actions_on_the_ticket_page(
    client, login, supervisor, close_a_repair
):
    ticket = close_a_repair()
    login(supervisor)
    page = client.get(f"/tickets/{ticket.number}").get_data(as_text=True)
    assert "Scheduled" in page and "2026-11-21 10:30" in page and "Asia/Shanghai" in page
    assert f'action="/callbacks/{ticket.number}/call-now"' in page
    assert f'formaction="/callbacks/{ticket.number}/cancel"' in page


def test_the_complaint_page_links_to_the_repair(client, login, supervisor, close_a_repair):
    ticket = close_a_repair()
    answered(callback_of(ticket), DUE, overall=1)
    complaint = callback_of(ticket).follow_up_ticket
    login(supervisor)
    page = client.get(f"/tickets/{complaint.number}").get_data(as_text=True)
    assert "Follow-up of" in page
    assert f'<a href="/tickets/{ticket.number}" class="mono">{ticket.number}</a>' in page


def test_a_station_user_sees_its_repair_callback_but_never_the_complaint(
    client, login, engineer, close_a_repair
):
    ticket = close_a_repair()
    answered(callback_of(ticket), DUE, overall=1, solved=2, engineer=2)
    complaint = callback_of(ticket).follow_up_ticket
    login(engineer)
    page = client.get(f"/tickets/{ticket.number}").get_data(as_text=True)
    assert 'id="callback-heading"' in page
    assert "1 of 5" in page and "Not satisfied" in page, "answers included"
    assert complaint.number not in page
    assert "Follow-up complaint" not in page
    assert "Call now" not in page
    assert client.get(f"/tickets/{complaint.number}").status_code == 404
    queue = client.get("/tickets/station").get_data(as_text=True)
    assert complaint.number not in queue


def test_a_repair_still_open_shows_no_callback(
    client, login, supervisor, make_customer, make_asset, agent, now
):
    customer = make_customer()
    asset = make_asset(customer, entitlements=[("onsite", *ACTIVE)])
    ticket = open_ticket(
        agent, customer, TicketRequest(kind="repair", summary="Fan", serial=asset.serial), now=now
    )
    login(supervisor)
    page = client.get(f"/tickets/{ticket.number}").get_data(as_text=True)
    assert 'id="callback-heading"' not in page


# --- the customer card ------------------------------------------------------------------


def test_an_agent_puts_the_caller_on_the_do_not_call_list(client, login, agent, close_a_repair):
    ticket = close_a_repair()
    code = ticket.customer.code
    login(agent)
    page = client.get(f"/agent/customers/{code}").get_data(as_text=True)
    assert "The caller asks not to be called" in page
    response = client.post(f"/callbacks/customers/{code}/do-not-call")
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/agent/customers/{code}")
    sa_session().expire_all()
    customer = sa_session().scalar(sa.select(Customer).where(Customer.code == code))
    assert customer.do_not_call is True
    assert [e.reason for e in do_not_call_entries(customer.id)] == ["requested"]
    assert callback_of(ticket).status == "stopped"
    page = client.get(f"/agent/customers/{code}").get_data(as_text=True)
    assert "On the do-not-call list" in page
    assert "Asked not to be called" in page
    assert "Take off the list" not in page, "agents cannot take a number off"
    assert (
        client.post(
            f"/callbacks/customers/{code}/do-not-call/remove",
            data={"e164": "+8613800138000", "reason": "x"},
        ).status_code
        == 403
    )


def test_a_supervisor_takes_a_number_off_from_the_card(
    client, login, agent, supervisor, make_customer, now
):
    customer = make_customer()
    add_do_not_call(agent, customer, now=now)
    login(supervisor)
    page = client.get("/agent/customers/C0001").get_data(as_text=True)
    assert 'data-number="+8613800138000"' in page and "Take off the list" in page
    response = client.post(
        "/callbacks/customers/C0001/do-not-call/remove", data={"e164": "+8613800138000"}
    )
    assert response.status_code == 303
    assert "Say why." in client.get("/agent/customers/C0001").get_data(as_text=True)
    assert len(do_not_call_entries(customer.id)) == 1
    client.post(
        "/callbacks/customers/C0001/do-not-call/remove",
        data={"e164": "+8613800138000", "reason": "Wants the surveys again"},
    )
    sa_session().expire_all()
    assert do_not_call_entries(customer.id) == []
    assert sa_session().get(Customer, customer.id).do_not_call is False
    page = client.get("/agent/customers/C0001").get_data(as_text=True)
    assert "may be called for satisfaction surveys" in page


def test_do_not_call_actions_on_an_unknown_customer(client, login, supervisor):
    login(supervisor)
    assert client.post("/callbacks/customers/NOPE/do-not-call").status_code == 404
    response = client.post("/callbacks/customers/NOPE/do-not-call/remove", data={"reason": "x"})
    assert response.status_code == 404


def test_the_nav_links_the_callbacks_page_for_supervisors_only(client, login, agent, supervisor):
    login(agent)
    assert 'href="/callbacks"' not in client.get("/agent/").get_data(as_text=True)
    client.post("/logout")
    login(supervisor)
    assert 'href="/callbacks"' in client.get("/agent/").get_data(as_text=True)
