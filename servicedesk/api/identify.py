"""``GET /api/v1/identify``: who is calling."""

from __future__ import annotations

from servicedesk.api.base import API_PREFIX, ApiBlueprint, authenticated
from servicedesk.api.schemas import IdentifyQuerySchema, IdentifyResponseSchema
from servicedesk.auth.access import AGENT_ROLES
from servicedesk.core.db import utcnow
from servicedesk.customers.identify import identify

blp = ApiBlueprint(
    "api_identify",
    __name__,
    url_prefix=API_PREFIX,
    description="Caller identification: customer cards by phone, serial number or search.",
)


@blp.route("/identify")
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
    return {"matches": identify(now=utcnow(), **query)}
