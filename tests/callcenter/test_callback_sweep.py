"""The callback sweep: claiming, do-not-call checks at claim and just before dialling, provider
errors through a fake line, bulk placing on the simulated line, and recovery of attempts a
dead sweeper left ``dialling``."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import requests
import sqlalchemy as sa
from twilio.http import HttpClient
from twilio.http.response import Response as TwilioResponse

from servicedesk.callcenter import callback_sweep
from servicedesk.callcenter.callback_sweep import LEASE, run_callback_sweep
from servicedesk.callcenter.models import (
    Callback,
    CallbackAttempt,
    DoNotCallNumber,
    SimulatedCall,
)
from servicedesk.callcenter.simulated_line import SimulatedLine
from servicedesk.callcenter.telephony import (
    PermanentTelephonyError,
    PlacedCall,
    TransientTelephonyError,
)
from servicedesk.callcenter.twilio_line import TwilioLine
from servicedesk.customers.models import Customer
from servicedesk.notifications.models import Notification
from servicedesk.tickets.models import Ticket

NOW = datetime(2026, 11, 21, 2, 30, tzinfo=UTC)  # Saturday 10:30 in Shanghai


class FakeLine:
    """Places one call at a time; ``errors`` maps a number to the exception to raise."""

    name = "fake"

    def __init__(self, errors=None, hook=None):
        self.errors = errors or {}
        self.hook = hook
        self.placed = []
        self.calls_by_token = {}

    def place_call(self, call):
        if self.hook is not None:
            self.hook(call)
        error = self.errors.get(call.to)
        if error is not None:
            raise error
        self.placed.append(call)
        placed = PlacedCall(sid=f"CA{len(self.placed):032d}", status="queued")
        self.calls_by_token[call.token] = placed
        return placed

    def find_call(self, *, token, to, since):
        return self.calls_by_token.get(token)

    def connect_to_agent(self, call_sid, agent_number):
        raise NotImplementedError


@pytest.fixture
def make_callbacks(db, make_customer, make_station):
    """``count`` scheduled callbacks due at ``due`` (one closed repair each), committed."""
    station = make_station("BJ-01")

    def make(count=1, *, due=NOW, phones=None):
        made = []
        for n in range(count):
            phone = phones[n] if phones else f"+86138{n:08d}"
            customer = make_customer(f"C{len(made) + 1:05d}-{phone}", phones=(phone,))
            ticket = Ticket(
                number=f"SD-2026-{Ticket.query.count() + 1:06d}",
                kind="repair",
                status="closed",
                customer=customer,
                station=station,
                summary="Fixed",
                closed_at=due - timedelta(days=1),
            )
            callback = Callback(
                ticket=ticket,
                customer_id=customer.id,
                station_id=station.id,
                phone_e164=customer.phones[0].e164,
                language="zh",
                timezone="Asia/Shanghai",
                status="scheduled",
                due_at=due,
                max_attempts=3,
                attempts_made=0,
                stop_detail="",
            )
            db.session.add_all([ticket, callback])
            made.append(callback)
        db.session.commit()
        return made

    return make


def attempts() -> list[CallbackAttempt]:
    return CallbackAttempt.query.order_by(CallbackAttempt.id).all()


def test_due_callbacks_are_claimed_once(make_callbacks, db):
    make_callbacks(3)
    make_callbacks(1, due=NOW + timedelta(minutes=5), phones=["+8613911112222"])
    line = FakeLine()
    result = run_callback_sweep(NOW, line=line)
    assert (result.claimed, result.placed, result.errors) == (3, 3, 0)
    assert len(line.placed) == 3
    assert {a.status for a in attempts()} == {"placed"}
    assert all(a.claimed_by and a.claimed_at == NOW for a in attempts())
    assert len({a.token for a in attempts()}) == 3
    assert run_callback_sweep(NOW, line=line).claimed == 0
    assert len(line.placed) == 3


def test_batches_cover_everything(make_callbacks):
    make_callbacks(7)
    line = FakeLine()
    result = run_callback_sweep(NOW, line=line, batch_size=3)
    assert (result.claimed, result.batches, len(line.placed)) == (7, 3, 7)


def test_do_not_call_is_checked_when_claiming(make_callbacks, db):
    first, second, third = make_callbacks(3)
    db.session.get(Customer, first.customer_id).do_not_call = True
    db.session.add(DoNotCallNumber(e164=second.phone_e164, reason="requested"))
    db.session.commit()
    line = FakeLine()
    result = run_callback_sweep(NOW, line=line)
    assert (result.claimed, result.do_not_call) == (1, 2)
    assert [call.to for call in line.placed] == [third.phone_e164]
    for callback in (first, second):
        db.session.refresh(callback)
        assert (callback.status, callback.stop_reason) == ("stopped", "do_not_call")
        assert callback.attempts == []


def test_do_not_call_is_checked_again_just_before_dialling(make_callbacks, db, monkeypatch):
    first, second = make_callbacks(2)
    real_lock = callback_sweep.lock_claimed

    def opt_out_meanwhile(tokens):
        # The customer presses 9 on another call between the claim and the dial.
        db.session.execute(
            sa.update(Customer).where(Customer.id == first.customer_id).values(do_not_call=True)
        )
        return real_lock(tokens)

    monkeypatch.setattr(callback_sweep, "lock_claimed", opt_out_meanwhile)
    line = FakeLine()
    result = run_callback_sweep(NOW, line=line)
    assert (result.claimed, result.placed, result.do_not_call) == (2, 1, 1)
    assert [call.to for call in line.placed] == [second.phone_e164]
    db.session.refresh(first)
    assert (first.status, first.stop_reason) == ("stopped", "do_not_call")
    (attempt,) = first.attempts
    assert attempt.status == "not_placed" and attempt.call_sid is None


@pytest.mark.parametrize(
    "error",
    [
        TransientTelephonyError("Too Many Requests", "20429"),
        TransientTelephonyError("Service Unavailable", "503"),
        TransientTelephonyError("timed out"),
    ],
)
def test_a_transient_error_is_retried_later(make_callbacks, db, error):
    (callback,) = make_callbacks(1)
    line = FakeLine(errors={callback.phone_e164: error})
    result = run_callback_sweep(NOW, line=line)
    assert (result.claimed, result.placed, result.errors) == (1, 0, 1)
    db.session.refresh(callback)
    (attempt,) = callback.attempts
    assert (attempt.status, attempt.error_code) == ("error", error.code)
    assert attempt.error_message == error.message
    assert callback.status == "scheduled"
    assert callback.due_at == NOW + timedelta(hours=2)
    assert Notification.query.count() == 0
    # The retry places it under a new attempt once the line works again.
    line.errors = {}
    assert run_callback_sweep(NOW + timedelta(hours=2), line=line).placed == 1
    db.session.refresh(callback)
    assert [a.status for a in callback.attempts] == ["error", "placed"]


@pytest.mark.parametrize(
    "error",
    [
        PermanentTelephonyError("The 'To' number is not a valid phone number.", "21211"),
        PermanentTelephonyError("Invalid 'To' Phone Number", "21214"),
        PermanentTelephonyError("The 'To' phone number is blocked", "21610"),
    ],
)
def test_a_permanent_error_stops_the_callback_and_tells_supervisors(make_callbacks, db, error):
    (callback,) = make_callbacks(1)
    line = FakeLine(errors={callback.phone_e164: error})
    run_callback_sweep(NOW, line=line)
    db.session.refresh(callback)
    assert (callback.status, callback.stop_reason) == ("stopped", "permanent_error")
    assert callback.stop_detail == error.message
    assert callback.attempts[0].error_code == error.code
    (notice,) = Notification.query.all()
    assert (notice.kind, notice.audience, notice.ticket_id) == (
        "callback_failed",
        "supervisors",
        callback.ticket_id,
    )
    assert notice.data["code"] == error.code
    assert run_callback_sweep(NOW + timedelta(days=1), line=line).claimed == 0


def test_errors_on_one_call_do_not_stop_the_others(make_callbacks, db):
    bad, good = make_callbacks(2)
    line = FakeLine(errors={bad.phone_e164: PermanentTelephonyError("invalid", "21211")})
    result = run_callback_sweep(NOW, line=line)
    assert (result.placed, result.errors) == (1, 1)
    assert [call.to for call in line.placed] == [good.phone_e164]


def test_transient_errors_exhaust_after_the_last_attempt(make_callbacks, db):
    (callback,) = make_callbacks(1)
    line = FakeLine(errors={callback.phone_e164: TransientTelephonyError("busy upstream", "503")})
    at = NOW
    for _ in range(3):
        run_callback_sweep(at, line=line)
        db.session.refresh(callback)
        at = callback.due_at or at
    assert callback.status == "exhausted"
    assert [a.status for a in callback.attempts] == ["error"] * 3


def test_bulk_placing_on_the_simulated_line(make_callbacks, db):
    make_callbacks(25)
    result = run_callback_sweep(NOW, line=SimulatedLine(), batch_size=10)
    assert (result.claimed, result.placed, result.batches) == (25, 25, 3)
    calls = {call.token: call for call in SimulatedCall.query.all()}
    assert len(calls) == 25
    for attempt in attempts():
        assert attempt.status == "placed"
        assert calls[attempt.token].sid == attempt.call_sid
        assert calls[attempt.token].url.endswith(f"/twilio/voice/survey/{attempt.token}")


def test_a_lost_final_status_is_asked_for_after_an_hour(make_callbacks, db):
    answered_later, still_ringing = make_callbacks(2)
    line = FakeLine()
    run_callback_sweep(NOW, line=line)
    tokens = {call.to: call.token for call in line.placed}
    # The provider says how the calls went; their status callbacks never reached us.
    line.calls_by_token[tokens[answered_later.phone_e164]] = PlacedCall("CA1", "no-answer")
    line.calls_by_token[tokens[still_ringing.phone_e164]] = PlacedCall("CA2", "ringing")
    assert run_callback_sweep(NOW + timedelta(minutes=59), line=line).settled == 0
    later = NOW + callback_sweep.CALL_LOST_AFTER + timedelta(minutes=1)
    assert run_callback_sweep(later, line=line).settled == 1
    db.session.expire_all()
    settled = db.session.get(Callback, answered_later.id)
    assert settled.attempts[0].status == "no_answer"
    assert (settled.status, settled.due_at) == ("scheduled", later + timedelta(hours=2))
    ringing = db.session.get(Callback, still_ringing.id)
    assert (ringing.status, ringing.attempts[0].status) == ("calling", "placed")


def test_two_workers_share_the_sweep(make_callbacks, db):
    make_callbacks(30)
    result = run_callback_sweep(NOW, line=SimulatedLine(), batch_size=4, workers=2)
    assert (result.claimed, result.placed) == (30, 30)
    assert SimulatedCall.query.count() == 30
    assert len(attempts()) == 30 and {a.status for a in attempts()} == {"placed"}


def test_supervisors_see_a_failed_callback(make_callbacks, db, client, login, make_user):
    (callback,) = make_callbacks(1)
    error = PermanentTelephonyError("The 'To' number is not a valid phone number.", "21211")
    run_callback_sweep(NOW, line=FakeLine(errors={callback.phone_e164: error}))
    login(make_user("boss", role="supervisor"))
    page = client.get("/notifications/").get_data(as_text=True)
    assert "Satisfaction callback failed" in page
    assert "(21211)" in page and callback.ticket.number in page


# --------------------------------------------------------------------------------------
# Recovery of a sweeper killed between claim and dial, or between dial and record
# --------------------------------------------------------------------------------------


class Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs (not even ``except Exception``)."""


def test_a_sweeper_killed_before_dialling_is_recovered_after_the_lease(make_callbacks, db):
    make_callbacks(3)

    def die(call):
        raise Killed

    with pytest.raises(Killed):
        run_callback_sweep(NOW, line=FakeLine(hook=die))
    assert [a.status for a in attempts()] == ["dialling"] * 3
    assert {c.status for c in Callback.query} == {"calling"}

    line = FakeLine()
    # Inside the lease nothing is touched (the sweeper may still be alive).
    early = run_callback_sweep(NOW + LEASE - timedelta(seconds=1), line=line)
    assert (early.recovered, early.claimed, line.placed) == (0, 0, [])
    late = run_callback_sweep(NOW + LEASE + timedelta(seconds=1), line=line)
    assert (late.recovered, late.adopted, late.placed) == (3, 0, 3)
    assert sorted(call.token for call in line.placed) == sorted(a.token for a in attempts())
    assert [a.status for a in attempts()] == ["placed"] * 3
    assert len(attempts()) == 3  # the same attempts, no new ones
    assert run_callback_sweep(NOW + 2 * LEASE, line=line).placed == 0


def test_a_call_placed_by_a_killed_sweeper_is_adopted_not_placed_again(make_callbacks, db):
    make_callbacks(2)
    line = FakeLine()
    placed = []

    def record_then_die(call):
        placed.append(call.token)
        if len(placed) == 2:
            raise Killed  # the first call went out; killed before anything was recorded

    line.hook = record_then_die
    with pytest.raises(Killed):
        run_callback_sweep(NOW, line=line)
    assert [a.status for a in attempts()] == ["dialling"] * 2
    assert len(line.placed) == 1
    line.hook = None
    result = run_callback_sweep(NOW + LEASE + timedelta(seconds=1), line=line)
    assert (result.recovered, result.adopted, result.placed) == (2, 1, 2)
    assert len(line.placed) == 2
    assert sorted(call.token for call in line.placed) == sorted(a.token for a in attempts())
    by_token = {a.token: a for a in attempts()}
    first = line.placed[0]
    assert by_token[first.token].call_sid == line.calls_by_token[first.token].sid


def test_recovery_checks_do_not_call_before_placing(make_callbacks, db):
    (callback,) = make_callbacks(1)

    def die(call):
        raise Killed

    with pytest.raises(Killed):
        run_callback_sweep(NOW, line=FakeLine(hook=die))
    db.session.add(DoNotCallNumber(e164=callback.phone_e164, reason="pressed_9"))
    db.session.commit()
    line = FakeLine()
    result = run_callback_sweep(NOW + LEASE * 2, line=line)
    assert (result.recovered, result.placed, result.do_not_call) == (1, 0, 1)
    assert line.placed == []
    db.session.refresh(callback)
    assert callback.status == "stopped"
    assert callback.attempts[0].status == "not_placed"


def test_the_job_is_registered():
    from servicedesk.scheduler import JOBS

    (job,) = [job for job in JOBS if job.id == "callbacks"]
    assert job.every_seconds <= 60


# --------------------------------------------------------------------------------------
# Through the real twilio client, its HTTP client replaced
# --------------------------------------------------------------------------------------


class CannedTwilioHttp(HttpClient):
    """Answers Twilio API requests per ``To`` number; records the form of each request."""

    def __init__(self, answers):
        super().__init__(logger=None, is_async=False)
        self.answers = answers
        self.sent = []

    def request(self, method, uri, params=None, data=None, headers=None, auth=None, **kwargs):
        self.sent.append(dict(data or {}))
        answer = self.answers[data["To"]]
        if isinstance(answer, Exception):
            raise answer
        return answer


def twilio_error(status: int, code: int, message: str) -> TwilioResponse:
    return TwilioResponse(status, json.dumps({"status": status, "code": code, "message": message}))


def test_the_sweep_through_the_twilio_client(make_callbacks, db):
    placed, invalid, throttled, down = make_callbacks(4)
    created = {
        "sid": "CA" + "b" * 32,
        "status": "queued",
        "to": placed.phone_e164,
        "from": "+15005550006",
        "account_sid": "AC" + "1" * 32,
        "date_created": "Sat, 21 Nov 2026 02:30:00 +0000",
        "direction": "outbound-api",
    }
    http = CannedTwilioHttp(
        {
            placed.phone_e164: TwilioResponse(201, json.dumps(created)),
            invalid.phone_e164: twilio_error(400, 21211, "Invalid 'To' Phone Number"),
            throttled.phone_e164: twilio_error(429, 20429, "Too Many Requests"),
            down.phone_e164: requests.ConnectionError("connection refused"),
        }
    )
    line = TwilioLine("AC" + "1" * 32, "token", http_client=http)
    result = run_callback_sweep(NOW, line=line)
    assert (result.claimed, result.placed, result.errors) == (4, 1, 3)

    db.session.expire_all()
    (first,) = db.session.get(Callback, placed.id).attempts
    token = first.token
    form = next(sent for sent in http.sent if sent["To"] == placed.phone_e164)
    assert form["Url"] == f"http://testserver.example/twilio/voice/survey/{token}"
    assert form["StatusCallback"] == f"http://testserver.example/twilio/voice/status/{token}"
    assert (form["MachineDetection"], form["Timeout"], form["From"]) == (
        "Enable",
        20,
        "+15005550006",
    )
    assert (first.status, first.call_sid) == ("placed", "CA" + "b" * 32)

    stopped = db.session.get(Callback, invalid.id)
    assert (stopped.status, stopped.stop_reason) == ("stopped", "permanent_error")
    assert stopped.attempts[0].error_code == "21211"
    for retried in (throttled, down):
        callback = db.session.get(Callback, retried.id)
        assert callback.status == "scheduled"
        assert callback.due_at == NOW + timedelta(hours=2)
        assert callback.attempts[0].status == "error"
    assert db.session.get(Callback, throttled.id).attempts[0].error_code == "20429"
    assert [n.kind for n in Notification.query] == ["callback_failed"]
