"""``GET /api/v1/identify``: who is calling."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

import sqlalchemy as sa
from flask import jsonify
from sqlalchemy.orm import ORMExecuteState, Session

from servicedesk.api.base import API_PREFIX, ApiBlueprint, authenticated
from servicedesk.api.schemas import (
    IdentifyQuerySchema,
    IdentifyResponseSchema,
    identify_document,
)
from servicedesk.auth.access import AGENT_ROLES
from servicedesk.core.db import db, utcnow
from servicedesk.customers.identify import identify

blp = ApiBlueprint(
    "api_identify",
    __name__,
    url_prefix=API_PREFIX,
    description="Caller identification: customer cards by phone, serial number or search.",
)


READ_ONLY = "servicedesk.reads_without_transaction"
"""``Session.info`` key set while a view reads without a transaction."""


class WriteRefused(RuntimeError):
    """A view that reads without a transaction tried to write (it would have been committed
    at once, statement by statement, whatever happened next)."""


@sa.event.listens_for(Session, "before_flush")
def _refuse_flush(session: Session, flush_context, instances) -> None:
    if session.info.get(READ_ONLY):
        raise WriteRefused("a view reading without a transaction tried to flush changes")


@sa.event.listens_for(Session, "do_orm_execute")
def _refuse_dml(state: ORMExecuteState) -> None:
    writes = state.is_insert or state.is_update or state.is_delete
    if writes and state.session.info.get(READ_ONLY):
        raise WriteRefused("a view reading without a transaction tried to write")


def reads_without_transaction(view: Callable) -> Callable:
    """Run a view that only reads on a connection in autocommit mode, bearer check included.

    Each statement then sees the data committed when it starts, which is what PostgreSQL's
    READ COMMITTED gives every statement of a transaction anyway; what goes is the ``BEGIN``
    and the ``ROLLBACK`` at the end, two of the eight round trips of an identify request.
    The session is closed afterwards (its connection goes back to the pool with its usual
    isolation level). A session already in a transaction (a test's) is read in as it is.
    Only for views that read: a flush or an ORM write in the view raises :class:`WriteRefused`
    (a 500) rather than committing at once.
    """

    @wraps(view)
    def wrapped(*args, **kwargs):
        session = db.session()
        if session.in_transaction():
            return view(*args, **kwargs)
        session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        session.info[READ_ONLY] = True
        try:
            return view(*args, **kwargs)
        finally:
            session.info.pop(READ_ONLY, None)
            session.close()

    return wrapped


@blp.route("/identify")
@reads_without_transaction
@authenticated(*AGENT_ROLES)
@blp.arguments(IdentifyQuerySchema, location="query", as_kwargs=True)
@blp.response(200, IdentifyResponseSchema)
def identify_caller(**query: str):
    """Identify a caller

    Give exactly one of `phone` (any spelling, e.g. the caller ID), `serial`, or `q` (phone,
    serial, customer code, or part of a customer or contact name). Each match is a customer
    card: contacts, assets with their entitlements and effective service level, open and
    recent tickets. No match gives an empty list.
    """
    return jsonify(identify_document(identify(now=utcnow(), **query)))
