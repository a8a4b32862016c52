"""``/api/v1/stations/{code}``: a repair station's status, load against capacity and scorecard."""

from __future__ import annotations

import marshmallow as ma
import sqlalchemy as sa
from flask import g
from marshmallow import fields

from servicedesk.api.base import API_PREFIX, ApiBlueprint, authenticated, documents_errors
from servicedesk.api.errors import abort_api
from servicedesk.auth.access import AGENT_ROLES
from servicedesk.core.db import db
from servicedesk.stations.models import STATION_STATUSES, Station
from servicedesk.stations.services import station_load

#: The organisation's satisfaction target (DESIGN.md, satisfaction callbacks).
SATISFACTION_TARGET = 0.88

blp = ApiBlueprint(
    "api_stations", __name__, url_prefix=API_PREFIX, description="Repair stations: read one."
)


class ScorecardSchema(ma.Schema):
    satisfaction = fields.Float(
        required=True,
        allow_none=True,
        metadata={
            "description": "Rolling 90-day satisfaction rate, 0..1; null until enough answers."
        },
    )
    satisfaction_target = fields.Float(
        required=True, metadata={"description": "The organisation's target rate, 0..1."}
    )


class StationSchema(ma.Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    region = fields.String(required=True, metadata={"description": "The region's code."})
    status = fields.String(required=True, metadata={"enum": list(STATION_STATUSES)})
    capacity = fields.Integer(
        required=True, metadata={"description": "Open tickets the station can carry."}
    )
    load = fields.Integer(required=True, metadata={"description": "Open tickets it carries now."})
    scorecard = fields.Nested(ScorecardSchema, required=True)


@blp.route("/stations/<code>")
@authenticated(*AGENT_ROLES, "station")
@blp.response(200, StationSchema)
@documents_errors(404)
def get_station(code: str):
    """Read a station

    Its status, capacity, current load (open tickets) and scorecard. A station user may only
    read its own station (404 for any other).
    """
    station = db.session.scalar(sa.select(Station).where(Station.code == code))
    user = g.api_user
    if station is None or (user.has_role("station") and user.station_id != station.id):
        abort_api(404, message=f"no station {code[:40]!r}")
    load, capacity = station_load(station)
    return {
        "code": station.code,
        "name": station.name,
        "region": station.region_code,
        "status": station.status,
        "capacity": capacity,
        "load": load,
        "scorecard": {
            "satisfaction": station.satisfaction,
            "satisfaction_target": SATISFACTION_TARGET,
        },
    }
