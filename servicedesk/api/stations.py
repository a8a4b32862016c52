"""``/api/v1/stations/{code}``: a repair station's status, load against capacity and scorecard."""

from __future__ import annotations

import marshmallow as ma
import sqlalchemy as sa
from flask import g
from marshmallow import fields

from servicedesk.api.base import API_PREFIX, ApiBlueprint, authenticated, documents_errors
from servicedesk.api.errors import abort_api
from servicedesk.api.schemas import LocalDateTime
from servicedesk.auth.access import AGENT_ROLES
from servicedesk.callcenter.display import render_reason
from servicedesk.core.db import db
from servicedesk.stations.models import STATION_STATUSES, Station
from servicedesk.stations.scorecard import (
    MIN_ANSWERS,
    PROBATION_THRESHOLD,
    REPEAT_DAYS,
    SATISFACTION_TARGET,
    STANDINGS,
    WINDOW_DAYS,
)
from servicedesk.stations.scorecards import review_reasons, stored_scorecard
from servicedesk.stations.services import station_load

NEVER_SCORED_COUNTS = (
    "answers",
    "satisfied",
    "solved_answers",
    "sla_met",
    "sla_breached",
    "repairs_closed",
    "repeat_repairs",
    "repairs_opened",
)

blp = ApiBlueprint(
    "api_stations", __name__, url_prefix=API_PREFIX, description="Repair stations: read one."
)


def _rate(description: str) -> fields.Float:
    return fields.Float(
        required=True,
        allow_none=True,
        metadata={"description": f"{description}, 0..1; null when there is nothing to count."},
    )


def _count(description: str) -> fields.Integer:
    return fields.Integer(required=True, metadata={"description": description})


class ScorecardWindowSchema(ma.Schema):
    days = fields.Integer(required=True, metadata={"description": "The window's length."})
    start = LocalDateTime(required=True, metadata={"description": "The window's start (excluded)."})
    end = LocalDateTime(
        required=True, metadata={"description": "The window's end (included): computed_at."}
    )


class ScorecardSchema(ma.Schema):
    satisfaction = fields.Float(
        required=True,
        allow_none=True,
        metadata={
            "description": "The satisfaction score dispatch ranks by: the 90-day satisfaction "
            "rate, 0..1, once the station has min_answers answers; null before (dispatch then "
            "ranks the station as if it met the target)."
        },
    )
    satisfaction_rate = _rate(
        "Answers to question 1 at 4 or 5 over all answers to question 1 in the window"
    )
    answers = _count("Callbacks whose question 1 (overall satisfaction) was answered.")
    satisfied = _count("Of those, answered 4 or 5.")
    solved_rate = _rate("Question 2 answered yes over all answers to question 2")
    solved_answers = _count("Callbacks whose question 2 (problem solved) was answered.")
    sla_compliance = _rate(
        "SLA targets met on time over targets met or breached, of repairs closed in the window"
    )
    sla_met = _count("SLA targets met on time, of the station's repairs closed in the window.")
    sla_breached = _count("SLA targets breached, of those repairs.")
    repairs_closed = _count("The station's repairs closed in the window.")
    repeat_repairs = _count(
        f"The station's repairs opened in the window within {REPEAT_DAYS} days after it "
        "closed an earlier repair of the same machine."
    )
    repeat_rate = _rate("Repeat repairs over the station's repairs opened in the window")
    repairs_opened = _count("The station's repairs opened in the window (not cancelled).")
    standing = fields.String(
        required=True,
        metadata={
            "enum": list(STANDINGS),
            "description": "below_threshold: the card calls for probation.",
        },
    )
    reasons = fields.List(
        fields.String(),
        required=True,
        metadata={"description": "The standing and what it means, in the reader's language."},
    )
    window = fields.Nested(
        ScorecardWindowSchema,
        required=True,
        allow_none=True,
        metadata={"description": f"The {WINDOW_DAYS} days counted; null until first scored."},
    )
    computed_at = LocalDateTime(
        required=True,
        allow_none=True,
        metadata={
            "description": "When the card was worked out (every 10 minutes, and when a "
            "customer answers a survey); null until first scored."
        },
    )
    satisfaction_target = fields.Float(
        required=True, metadata={"description": "The organisation's target rate, 0..1."}
    )
    probation_threshold = fields.Float(
        required=True,
        metadata={"description": "Below this rate, with min_answers answers: probation."},
    )
    min_answers = fields.Integer(
        required=True, metadata={"description": "Answers needed before a score counts."}
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

    Its status, capacity, current load (open tickets) and rolling 90-day scorecard: an
    answer, a repair or an SLA target is counted when it falls in the window ending at
    ``computed_at`` (the start excluded, the end included). A station user may only read its
    own station (404 for any other).
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
        "scorecard": scorecard_block(station),
    }


def scorecard_block(station: Station) -> dict:
    """The ``scorecard`` of a station as the API shows it (zeros and nulls until scored)."""
    block = {
        "satisfaction": station.satisfaction,
        "satisfaction_target": float(SATISFACTION_TARGET),
        "probation_threshold": float(PROBATION_THRESHOLD),
        "min_answers": MIN_ANSWERS,
    }
    card = stored_scorecard(station)
    if card is None:
        zero = dict.fromkeys(NEVER_SCORED_COUNTS, 0)
        rates = dict.fromkeys(("satisfaction_rate", "solved_rate", "sla_compliance"), None)
        return {
            **block,
            **zero,
            **rates,
            "repeat_rate": None,
            "standing": "no_answers",
            "reasons": [],
            "window": None,
            "computed_at": None,
        }
    block.update(
        window={"days": WINDOW_DAYS, "start": card.window_start, "end": card.computed_at},
        computed_at=card.computed_at,
        satisfaction_rate=_float(card.satisfaction),
        answers=card.answers,
        satisfied=card.satisfied,
        solved_rate=_float(card.solved_rate),
        solved_answers=card.solved_answers,
        sla_compliance=_float(card.sla_compliance),
        sla_met=card.sla_met,
        sla_breached=card.sla_breached,
        repairs_closed=card.repairs_closed,
        repeat_repairs=card.repeat_repairs,
        repeat_rate=_float(card.repeat_rate),
        repairs_opened=card.repairs_opened,
        standing=card.standing,
        reasons=[render_reason(reason) for reason in review_reasons(station)],
    )
    return block


def _float(rate) -> float | None:
    return None if rate is None else float(rate)
