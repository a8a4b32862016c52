"""The call an agent is on: started when a customer's card opens, ended by the agent.

The current call of each customer is remembered in the agent's web session (customer id →
call id), so every ticket opened from the card during the call is linked to the same
:class:`Call`. Functions flush and never commit.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from datetime import datetime

from servicedesk.auth.models import User
from servicedesk.callcenter.models import Call
from servicedesk.core.db import db
from servicedesk.customers.models import Customer

SESSION_KEY = "current_calls"


def current_call(session: MutableMapping, agent: User, customer: Customer) -> Call | None:
    """The agent's unfinished call with ``customer`` remembered in ``session``, if any."""
    call_id = session.get(SESSION_KEY, {}).get(str(customer.id))
    if call_id is None:
        return None
    call = db.session.get(Call, call_id)
    if (
        call is None
        or call.ended_at is not None
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
    call = current_call(session, agent, customer)
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
    calls = dict(session.get(SESSION_KEY, {}))
    calls[str(customer.id)] = call.id
    session[SESSION_KEY] = calls
    return call


def end_call(
    session: MutableMapping, agent: User, customer: Customer, *, now: datetime
) -> Call | None:
    """End the current call with ``customer``; ``None`` when there was none to end."""
    call = current_call(session, agent, customer)
    if call is None:
        return None
    call.ended_at = now
    db.session.flush()
    _forget(session, customer)
    return call


def _forget(session: MutableMapping, customer: Customer) -> None:
    calls = dict(session.get(SESSION_KEY, {}))
    if calls.pop(str(customer.id), None) is not None:
        session[SESSION_KEY] = calls


def forget_call(session: MutableMapping, customer: Customer) -> None:
    """Drop the remembered call with ``customer`` (e.g. one started in a rolled-back request)."""
    _forget(session, customer)
