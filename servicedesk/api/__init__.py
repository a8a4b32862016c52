"""The JSON API under /api/v1, documented by the OpenAPI document at /api/v1/openapi.json."""

from flask import Flask

from servicedesk.api.base import BEARER_SCHEME, BEARER_SECURITY_SCHEME
from servicedesk.api.errors import ServiceDeskApi
from servicedesk.api.timing import init_server_timing
from servicedesk.extensions import csrf

API_DESCRIPTION = (
    "Call-center intake and tickets. Authenticate with `Authorization: Bearer <token>`. "
    'Errors are `{"error": {"code", "message"}}` (422s add `fields`); times are ISO 8601 '
    "with their offset."
)


def init_api(app: Flask) -> ServiceDeskApi:
    from servicedesk.api.callbacks import blp as callbacks_blp
    from servicedesk.api.events import blp as events_blp
    from servicedesk.api.identify import blp as identify_blp
    from servicedesk.api.stations import blp as stations_blp
    from servicedesk.api.tickets import blp as tickets_blp

    api = ServiceDeskApi(app, spec_kwargs={"info": {"description": API_DESCRIPTION}})
    api.spec.components.security_scheme(BEARER_SCHEME, BEARER_SECURITY_SCHEME)
    for blueprint in (identify_blp, stations_blp, tickets_blp, events_blp, callbacks_blp):
        csrf.exempt(blueprint)
        api.register_blueprint(blueprint)
    init_server_timing(app)
    return api
