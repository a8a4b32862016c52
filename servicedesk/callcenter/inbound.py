"""Inbound calls: Twilio's webhooks for a ringing call, the queue agents see, taking a call.

A call to the service number reaches ``POST /twilio/voice/incoming``: the caller is identified
by caller ID, a :class:`Call` is recorded (``queued``, in the ``vip`` queue for class A
accounts) and the TwiML greets the caller and puts the call in Twilio's queue of that name.
Agents see the waiting calls on the terminal (VIP first, oldest first) and take one: the call
is claimed with one conditional UPDATE (of two agents taking it at once exactly one wins, in
any number of web processes, since all state is in the database), put through to the agent's
desk phone, and the agent's screen opens the caller's card with the call linked to it.

Services here flush and never commit; the views (these webhooks, and the agent views in
``views.py``) commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask import abort, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from twilio.twiml.voice_response import VoiceResponse

from servicedesk.auth.models import User
from servicedesk.callcenter.caller_id import (
    QUEUES,
    greeting_languages,
    queue_for,
    read_caller_id,
    say_language,
    status_after,
)
from servicedesk.callcenter.models import Call
from servicedesk.callcenter.telephony import get_line, public_url
from servicedesk.callcenter.webhooks import bp, twilio_signed, twiml
from servicedesk.core.db import db, utcnow
from servicedesk.customers.identify import find_customer_ids
from servicedesk.customers.models import ContactPhone, Customer

SID_MAX = 64
WAITING_SHOWN = 20
"""How many waiting calls the terminal lists (the rest are counted)."""
TAKE_TRIES = 10
"""How many waiting calls "take the next call" tries to claim before giving up."""
HOLD_PAUSE_SECONDS = 20
"""Silence between the position announcements while a caller waits."""
AGENT_ANSWERED = frozenset({"completed", "answered"})
"""``DialCallStatus`` values of a dial the agent's phone answered."""


# --- The ringing call ------------------------------------------------------------------------


@dataclass(frozen=True)
class Arrival:
    """A recorded inbound call and the languages its caller is greeted in."""

    call: Call
    languages: tuple[str, ...]


def record_incoming(call_sid: str, from_value: str | None, *, now: datetime) -> Arrival:
    """Identify the caller by ``From`` and record the call (idempotent on ``call_sid``).

    Twilio retries a webhook that timed out with the same CallSid: the call recorded the first
    time is returned, never a second one (a retry racing the first request loses on the unique
    sid and reads the first one's row). A number shared by several customers links none of them
    (the agent chooses); a withheld number identifies nobody."""
    caller = read_caller_id(from_value)
    customers = _customers_with_phone(caller.e164)
    languages = greeting_languages([customer.language for customer in customers])
    call = _call_by_sid(call_sid)
    if call is not None:
        return Arrival(call=call, languages=_languages_of(call, languages))
    call = Call(
        direction="inbound",
        twilio_sid=call_sid,
        caller_e164=caller.e164,
        caller_withheld=caller.withheld,
        customer=customers[0] if len(customers) == 1 else None,
        status="queued",
        queue=queue_for([customer.customer_class for customer in customers]),
        started_at=now,
    )
    try:
        with db.session.begin_nested():
            db.session.add(call)
    except IntegrityError:
        call = _call_by_sid(call_sid)
        if call is None:
            raise
    return Arrival(call=call, languages=_languages_of(call, languages))


def _customers_with_phone(e164: str | None) -> list[Customer]:
    if e164 is None:
        return []
    ids = find_customer_ids(phone=e164)
    if not ids:
        return []
    found = {c.id: c for c in db.session.scalars(sa.select(Customer).where(Customer.id.in_(ids)))}
    return [found[i] for i in ids if i in found]


def _call_by_sid(call_sid: str) -> Call | None:
    return db.session.scalar(sa.select(Call).where(Call.twilio_sid == call_sid))


def _languages_of(call: Call, identified: tuple[str, ...]) -> tuple[str, ...]:
    if call.customer is not None:
        return greeting_languages([call.customer.language])
    return identified


def incoming_twiml(arrival: Arrival) -> VoiceResponse:
    """A short greeting in each of the caller's languages, then Twilio's queue of the call."""
    response = VoiceResponse()
    for language in arrival.languages:
        with force_locale(language):
            text = _("Thank you for calling the service desk. Please hold for the next agent.")
        response.say(text, language=say_language(language))
    response.enqueue(
        arrival.call.queue or "general",
        wait_url=public_url(url_for("twilio.incoming_wait")),
        wait_url_method="POST",
    )
    return response


def record_call_status(call_sid: str, twilio_status: str, *, now: datetime) -> Call | None:
    """Apply an inbound call's status callback; ``None`` for a sid never recorded.

    A final status (completed, busy, failed, no-answer, canceled) ends the call: ``abandoned``
    with ``ended_at`` when no agent had taken it, ``ended`` when one had (``ended_at`` is kept if
    the agent already ended it on the terminal). Each change is a conditional UPDATE, so a
    repeated callback changes nothing and a callback racing an agent who takes the call leaves
    one consistent outcome."""
    call = _call_by_sid(call_sid)
    if call is None:
        return None
    for current in ("queued", "connected"):
        new_status = status_after(current, twilio_status)
        if new_status is None:
            continue
        db.session.execute(
            sa.update(Call)
            .where(Call.id == call.id, Call.status == current)
            .values(status=new_status, ended_at=sa.func.coalesce(Call.ended_at, now))
            .execution_options(synchronize_session=False)
        )
    db.session.refresh(call)
    return call


def after_agent_dial(call_sid: str, dial_status: str) -> Call | None:
    """The dial to the agent's phone ended (``DialCallStatus``); ``None`` for an unknown sid.

    Unless the agent answered (``completed``, ``answered``), the call goes back to its queue for
    the next agent (a conditional UPDATE of a ``connected`` call: a repeated request, or a
    caller who has hung up meanwhile, changes nothing)."""
    call = _call_by_sid(call_sid)
    if call is None:
        return None
    if dial_status not in AGENT_ANSWERED:
        db.session.execute(
            sa.update(Call)
            .where(Call.id == call.id, Call.status == "connected")
            .values(status="queued", agent_id=None, answered_at=None)
            .execution_options(synchronize_session=False)
        )
        db.session.refresh(call)
    return call


def back_in_queue_twiml(call: Call) -> VoiceResponse:
    """The caller whose agent did not answer hears so and waits in the queue again."""
    response = VoiceResponse()
    for language in _languages_of(call, greeting_languages([])):
        with force_locale(language):
            text = _("The agent could not take your call. Please hold for the next agent.")
        response.say(text, language=say_language(language))
    response.enqueue(
        call.queue or "general",
        wait_url=public_url(url_for("twilio.incoming_wait")),
        wait_url_method="POST",
    )
    return response


def wait_twiml(call: Call | None, position: int | None) -> VoiceResponse:
    """What a waiting caller hears between the silences: the place in the queue."""
    response = VoiceResponse()
    languages = (
        greeting_languages([call.customer.language])
        if call is not None and call.customer is not None
        else greeting_languages([])
    )
    for language in languages:
        with force_locale(language):
            if position:
                text = _(
                    "Thank you for holding. You are number %(position)d in the queue.",
                    position=position,
                )
            else:
                text = _("Thank you for holding. An agent will be with you shortly.")
        response.say(text, language=say_language(language))
    response.pause(length=HOLD_PAUSE_SECONDS)
    return response


def _call_sid_or_400() -> str:
    call_sid = request.form.get("CallSid", "").strip()
    if not call_sid or len(call_sid) > SID_MAX:
        abort(400)
    return call_sid


@bp.route("/voice/incoming", methods=["POST"])
@twilio_signed
def incoming():
    call_sid = _call_sid_or_400()
    arrival = record_incoming(call_sid, request.form.get("From"), now=utcnow())
    db.session.commit()
    return twiml(incoming_twiml(arrival))


@bp.route("/voice/incoming/status", methods=["POST"])
@twilio_signed
def incoming_status():
    call_sid = _call_sid_or_400()
    twilio_status = request.form.get("CallStatus", "").strip()
    if not twilio_status:
        abort(400)
    if record_call_status(call_sid, twilio_status, now=utcnow()) is None:
        abort(404)
    db.session.commit()
    return twiml(VoiceResponse())


@bp.route("/voice/incoming/dialled", methods=["POST"])
@twilio_signed
def incoming_dialled():
    """The ``action`` of the dial to the agent's phone: hang up after a conversation, or put
    the caller back in the queue when the agent's phone was busy or not answered."""
    dial_status = request.form.get("DialCallStatus", "").strip()
    call = after_agent_dial(_call_sid_or_400(), dial_status)
    if call is None:
        abort(404)
    db.session.commit()
    if call.status == "queued":
        return twiml(back_in_queue_twiml(call))
    response = VoiceResponse()
    response.hangup()
    return twiml(response)


@bp.route("/voice/incoming/wait", methods=["POST"])
@twilio_signed
def incoming_wait():
    call = _call_by_sid(_call_sid_or_400())
    position = request.form.get("QueuePosition", type=int)
    return twiml(wait_twiml(call, position if position and position > 0 else None))


# --- The queue agents see ----------------------------------------------------------------------


@dataclass(frozen=True)
class WaitingCaller:
    code: str
    name: str
    customer_class: str


@dataclass(frozen=True)
class WaitingCall:
    """A queued call as the terminal lists it. ``matches`` counts the customers with the
    caller's number when none was linked (0: unknown caller, 2 or more: the agent chooses)."""

    id: int
    queue: str
    started_at: datetime
    caller_e164: str | None
    caller_withheld: bool
    customer: WaitingCaller | None
    matches: int

    def waited_seconds(self, now: datetime) -> int:
        return max(0, int((now - self.started_at).total_seconds()))


@dataclass(frozen=True)
class WaitingPanel:
    calls: list[WaitingCall]
    total: int
    now: datetime


def waiting_panel(*, now: datetime, limit: int = WAITING_SHOWN) -> WaitingPanel:
    """The calls waiting for an agent, VIP first then oldest first (at most ``limit``), and how
    many wait in all. Two or three small queries, whatever the number of agents polling."""
    rows = db.session.execute(
        sa.select(
            Call.id,
            Call.queue,
            Call.started_at,
            Call.caller_e164,
            Call.caller_withheld,
            Customer.code,
            Customer.name,
            Customer.customer_class,
        )
        .outerjoin(Customer, Customer.id == Call.customer_id)
        .where(Call.status == "queued")
        .order_by(_queue_rank(), Call.started_at, Call.id)
        .limit(limit)
    ).all()
    unlinked = {row.caller_e164 for row in rows if row.code is None and row.caller_e164}
    matches = _customers_per_number(unlinked)
    calls = [
        WaitingCall(
            id=row.id,
            queue=row.queue or "general",
            started_at=row.started_at,
            caller_e164=row.caller_e164,
            caller_withheld=row.caller_withheld,
            customer=WaitingCaller(row.code, row.name, row.customer_class) if row.code else None,
            matches=1 if row.code else matches.get(row.caller_e164 or "", 0),
        )
        for row in rows
    ]
    total = len(calls)
    if total == limit:
        total = db.session.scalar(sa.select(sa.func.count(Call.id)).where(Call.status == "queued"))
    return WaitingPanel(calls=calls, total=total or 0, now=now)


def _queue_rank() -> sa.ColumnElement[int]:
    """0 for the VIP queue, 1 for the general one: the order agents take calls in."""
    return sa.case(*((Call.queue == q, i) for i, q in enumerate(QUEUES)), else_=len(QUEUES))


def _customers_per_number(numbers: set[str]) -> dict[str, int]:
    if not numbers:
        return {}
    rows = db.session.execute(
        sa.select(ContactPhone.e164, sa.func.count(sa.distinct(ContactPhone.customer_id)))
        .where(ContactPhone.e164.in_(numbers))
        .group_by(ContactPhone.e164)
    )
    return {e164: count for e164, count in rows}


# --- Taking a call -----------------------------------------------------------------------------


class CallNotTaken(Exception):
    """The agent did not get the call. ``reason``: ``taken`` (another agent was quicker),
    ``over`` (the caller hung up), ``none`` (no call is waiting), ``unknown`` (no such call)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class TakenCall:
    """A call the agent now has. ``put_through``: the line was asked to ring the agent's desk
    phone (False when the agent has no phone number set, or already had this call)."""

    call: Call
    put_through: bool


def take_call(agent: User, *, now: datetime, call_id: int | None = None) -> TakenCall:
    """Claim a waiting call for ``agent``: the given one, or the next (VIP first, oldest first).

    The claim is ``UPDATE calls SET agent, status='connected', answered_at WHERE id=:id AND
    status='queued' AND agent_id IS NULL``: of several agents (in any web processes) taking one
    call exactly one updates the row; the next call is then tried for "take the next call", or
    :class:`CallNotTaken` says why for a given call. Taking a call one already has (a double
    click) returns it again. The claimed call is put through to ``agent.phone`` by the line;
    a :class:`~servicedesk.callcenter.telephony.TelephonyError` from it propagates, and the
    caller rolls the claim back so that the call waits for the next agent."""
    if call_id is not None:
        if not _claim(call_id, agent, now):
            call = db.session.get(Call, call_id, populate_existing=True)
            if call is None or call.direction != "inbound" or call.twilio_sid is None:
                raise CallNotTaken("unknown")
            if call.agent_id == agent.id and call.status == "connected":
                return TakenCall(call=call, put_through=False)
            raise CallNotTaken("over" if call.status in ("ended", "abandoned") else "taken")
        claimed = call_id
    else:
        candidates = db.session.scalars(
            sa.select(Call.id)
            .where(Call.status == "queued", Call.agent_id.is_(None))
            .order_by(_queue_rank(), Call.started_at, Call.id)
            .limit(TAKE_TRIES)
        ).all()
        claimed = next((c for c in candidates if _claim(c, agent, now)), None)
        if claimed is None:
            raise CallNotTaken("taken" if candidates else "none")
    call = db.session.get(Call, claimed, populate_existing=True)
    if call is None:
        raise CallNotTaken("unknown")
    put_through = bool(agent.phone and call.twilio_sid)
    if put_through:
        get_line().connect_to_agent(
            call.twilio_sid,
            agent.phone,
            after_dial=public_url(url_for("twilio.incoming_dialled")),
        )
    return TakenCall(call=call, put_through=put_through)


def _claim(call_id: int, agent: User, now: datetime) -> bool:
    result = db.session.execute(
        sa.update(Call)
        .where(Call.id == call_id, Call.status == "queued", Call.agent_id.is_(None))
        .values(agent_id=agent.id, status="connected", answered_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1
