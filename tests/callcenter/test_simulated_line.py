"""The simulated line: calls kept as ``simulated_calls`` rows, as a provider would keep them."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from servicedesk.callcenter.models import SimulatedCall
from servicedesk.callcenter.simulated_line import BATCH_SIZE, SimulatedLine, new_sid
from servicedesk.callcenter.telephony import OutboundCall, PermanentTelephonyError, PlacedCall
from servicedesk.customers.models import Customer

SID = re.compile(r"^CA[0-9a-f]{32}$")
SINCE = datetime(2026, 11, 20, 2, 30, tzinfo=UTC)


def outbound(token: str, to: str = "+8613800138000") -> OutboundCall:
    return OutboundCall(
        to=to,
        from_="+15005550006",
        url=f"http://testserver.example/twilio/voice/survey/{token}",
        status_callback=f"http://testserver.example/twilio/voice/status/{token}",
        token=token,
    )


def stored(db, **where) -> list[SimulatedCall]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(SimulatedCall).filter_by(**where)))


@pytest.fixture
def line() -> SimulatedLine:
    return SimulatedLine()


def test_sids_are_spelled_like_twilios():
    sids = {new_sid() for _ in range(100)}
    assert len(sids) == 100
    assert all(SID.match(sid) for sid in sids)


def test_place_call_keeps_a_ringing_outbound_call(db, line):
    placed = line.place_call(outbound("tok-1"))

    assert SID.match(placed.sid)
    assert placed.status == "ringing"
    [call] = stored(db)
    assert (call.sid, call.token, call.direction, call.status) == (
        placed.sid,
        "tok-1",
        "outbound",
        "ringing",
    )
    assert call.to_number == "+8613800138000"
    assert call.from_number == "+15005550006"
    assert call.url == "http://testserver.example/twilio/voice/survey/tok-1"
    assert call.status_callback == "http://testserver.example/twilio/voice/status/tok-1"
    assert call.transcript == []
    assert call.ended_at is None


def test_placing_the_same_attempt_again_finds_the_call_already_there(db, line):
    first = line.place_call(outbound("tok-1"))
    second = line.place_call(outbound("tok-1", to="+8613900139000"))

    assert second == first
    [call] = stored(db)
    assert call.to_number == "+8613800138000"


def test_place_calls_in_bulk_keeps_the_order_and_is_idempotent(db, line):
    earlier = line.place_call(outbound("tok-2"))
    tokens = [f"tok-{n}" for n in range(1, BATCH_SIZE + 5)] + ["tok-3"]

    placed = line.place_calls([outbound(token) for token in tokens])

    assert len(placed) == len(tokens)
    assert placed[1] == earlier
    assert placed[2] == placed[-1]
    by_token = {call.token: call.sid for call in stored(db)}
    assert len(by_token) == BATCH_SIZE + 4
    assert [by_token[token] for token in tokens] == [call.sid for call in placed]
    assert len({call.sid for call in placed}) == BATCH_SIZE + 4


def test_place_calls_of_nothing_places_nothing(db, line):
    assert line.place_calls([]) == []
    assert stored(db) == []


def test_a_call_without_token_is_refused(db, line):
    with pytest.raises(PermanentTelephonyError):
        line.place_call(outbound(""))


def test_a_placed_call_survives_the_callers_rollback(db, line):
    line.place_call(outbound("tok-1"))
    db.session.rollback()

    assert [call.token for call in stored(db)] == ["tok-1"]


@pytest.mark.postgres
def test_a_placed_call_survives_the_rollback_of_the_callers_pending_writes(db, line, make_customer):
    make_customer()

    line.place_call(outbound("tok-1"))
    db.session.rollback()

    assert [call.token for call in stored(db)] == ["tok-1"]
    assert db.session.scalars(sa.select(Customer)).all() == []


def test_on_sqlite_a_caller_holding_the_write_lock_gets_the_row_in_its_own_transaction(
    db, line, make_customer
):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's single writer only")
    make_customer()

    placed = line.place_call(outbound("tok-1"))
    db.session.commit()

    assert [call.sid for call in stored(db)] == [placed.sid]
    assert len(db.session.scalars(sa.select(Customer)).all()) == 1


def test_find_call_is_by_token(db, line):
    placed = line.place_call(outbound("tok-1"))
    line.place_call(outbound("tok-2"))

    assert line.find_call(token="tok-1", to="+8613800138000", since=SINCE) == placed
    assert line.find_call(token="tok-9", to="+8613800138000", since=SINCE) is None


def inbound(db, status="in-progress") -> SimulatedCall:
    call = SimulatedCall(
        sid=new_sid(),
        direction="inbound",
        to_number="+15005550006",
        from_number="+8613800138000",
        status=status,
        transcript=[{"at": SINCE.isoformat(), "kind": "say", "text": "Please hold"}],
    )
    db.session.add(call)
    db.session.commit()
    return call


def test_connect_to_agent_records_the_dial_on_the_inbound_call(db, line):
    sid = inbound(db).sid

    line.connect_to_agent(sid, "+8613900139000")

    [call] = stored(db, sid=sid)
    assert call.status == "in-progress"
    assert '<Dial timeout="20">+8613900139000</Dial>' in call.twiml
    assert [(entry["kind"], entry["text"]) for entry in call.transcript] == [
        ("say", "Please hold"),
        ("dial", "+8613900139000"),
    ]


@pytest.mark.parametrize(
    ("status", "code"), [("completed", "21220"), ("canceled", "21220"), (None, "20404")]
)
def test_connect_to_agent_is_refused_for_a_call_over_or_unknown(db, line, status, code):
    sid = inbound(db, status).sid if status else new_sid()

    with pytest.raises(PermanentTelephonyError) as raised:
        line.connect_to_agent(sid, "+8613900139000")

    assert raised.value.code == code


def test_placed_calls_compare_by_value():
    assert PlacedCall("CA1", "ringing") == PlacedCall("CA1", "ringing")
