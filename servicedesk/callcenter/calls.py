"""The call an agent is on: started when a customer's card opens, ended by the agent.

The current call of each customer is remembered in the agent's web session (customer id →
call id), so every ticket opened from the card during the call is linked to the same
:class:`Call`. A call taken from the queue (``inbound.take_call``) becomes the current call
too: with its customer when the caller ID identified one, otherwise it waits under
``TAKEN_KEY`` until the agent opens the caller's card. A phone call stays current after the
caller hangs up (the agent wraps up, opens tickets) until the agent ends it. Functions flush
and never commit.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from datetime import datetime

from servicedesk.auth.models import User
from servicedesk.callcenter.models import Call
from servicedesk.core.db import db
from servicedesk.customers.models import Customer

SESSION_KEY = "current_calls"
TAKEN_KEY = "taken_call"


def current_call(session: MutableMapping, agent: User, customer: Customer) -> Call | None:
    """The agent's unfinished call with ``customer`` remembered in ``session``, if any."""
    call_id = session.get(SESSION_KEY, {}).get(str(customer.id))
    if call_id is None:
        return None
    call = db.session.get(Call, call_id)
    if (
        call is None
        or (call.ended_at is not None and call.twilio_sid is None)
        or call.agent_id != agent.id
        or call.customer_id != customer.id
    ):
        _forget(session, customer)
        return None
    return call


def ensure_call(
    session: MutableMapping,
    agent: User,
    customer: Customer,
    *,
    now: datetime,
    caller_e164: str | None = None,
) -> Call:
    """The current call with ``customer``, started now (inbound) when there is none."""
    call = current_call(session, agent, customer) or _adopt_taken_call(session, agent, customer)
    if call is not None:
        return call
    call = Call(
        direction="inbound",
        agent=agent,
        customer=customer,
        caller_e164=caller_e164,
        started_at=now,
    )
    db.session.add(call)
    db.session.flush()
    _remember(session, customer.id, call.id)
    return call


def end_call(
    session: MutableMapping, agent: User, customer: Customer, *, now: datetime
) -> Call | None:
    """End the current call with ``customer``; ``None`` when there was none to end."""
    call = current_call(session, agent, customer)
    if call is None:
        return None
    if call.ended_at is None:
        call.ended_at = now
    if call.status == "connected":
        call.status = "ended"
    db.session.flush()
    _forget(session, customer)
    if session.get(TAKEN_KEY) == call.id:
        session.pop(TAKEN_KEY)
    return call


def remember_taken_call(session: MutableMapping, call: Call) -> None:
    """Make ``call``, just taken from the queue, the agent's current call: with its customer,
    or (caller unknown, withheld, or several customers with the number) with the first
    customer whose card the agent opens next. It replaces an earlier taken call still waiting
    for its customer (that caller is gone: the agent moved on)."""
    session.pop(TAKEN_KEY, None)
    if call.customer_id is not None:
        _remember(session, call.customer_id, call.id)
    else:
        session[TAKEN_KEY] = call.id


def on_a_call(session: MutableMapping, agent: User) -> bool:
    """Whether the agent has a call not yet ended on the terminal: a customer's current call,
    or a taken call whose caller is not known yet and who has not hung up."""
    if session.get(SESSION_KEY):
        return True
    call_id = session.get(TAKEN_KEY)
    if call_id is None:
        return False
    call = db.session.get(Call, call_id)
    return call is not None and call.agent_id == agent.id and call.ended_at is None


def _adopt_taken_call(session: MutableMapping, agent: User, customer: Customer) -> Call | None:
    """The taken call without a known caller, now linked to ``customer``. Until a ticket is
    opened in it, opening another card moves it there (the agent was still looking for the
    caller); after that it stays with its customer."""
    call_id = session.get(TAKEN_KEY)
    if call_id is None:
        return None
    call = db.session.get(Call, call_id)
    if call is None or call.agent_id != agent.id or call.tickets:
        session.pop(TAKEN_KEY, None)
        return None
    previous = call.customer_id
    call.customer = customer
    db.session.flush()
    calls = dict(session.get(SESSION_KEY, {}))
    if previous is not None and calls.get(str(previous)) == call.id:
        del calls[str(previous)]
    session[SESSION_KEY] = calls
    _remember(session, customer.id, call.id)
    return call


def _remember(session: MutableMapping, customer_id: int, call_id: int) -> None:
    calls = dict(session.get(SESSION_KEY, {}))
    calls[str(customer_id)] = call_id
    session[SESSION_KEY] = calls


def _forget(session: MutableMapping, customer: Customer) -> None:
    calls = dict(session.get(SESSION_KEY, {}))
    if calls.pop(str(customer.id), None) is not None:
        session[SESSION_KEY] = calls


def forget_call(session: MutableMapping, customer: Customer) -> None:
    """Drop the remembered call with ``customer`` (e.g. one started in a rolled-back request)."""
    _forget(session, customer)
