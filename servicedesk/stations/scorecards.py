"""Station scorecards in the database: worked out from the satisfaction callbacks, repairs and
SLA clocks of the last 90 days, stored on the station, and acted upon.

:func:`refresh_scorecard` recomputes one station's card (the rules are in
:mod:`servicedesk.stations.scorecard`) and stores it:

- ``Station.scorecard``: the card as JSON (:meth:`Scorecard.to_json`), ``Station.scored_at``;
- ``Station.satisfaction``: the satisfaction *score* dispatch ranks by, which is the rate once
  the station has :data:`~servicedesk.stations.scorecard.MIN_ANSWERS` answers in the window,
  and None before (dispatch ranks a station without a score as if it met the organisation's
  target, so a handful of answers neither starves nor favours a station);
- an ``active`` station whose card calls for probation goes on probation: a
  :class:`StationChange` by nobody (the system) with the reason, and a ``station_probation``
  notification to the supervisors and to the station's own staff. After a supervisor has set
  the status by hand (reinstated the station, say), only answers received after that decision
  put it on probation again. Nothing is ever lifted automatically: a suspended station stays
  suspended, a station on probation stays there until a supervisor reinstates it.

The station row is locked first (``FOR UPDATE`` on PostgreSQL), so two refreshes at once (the
job and a callback answered that moment) cannot both put it on probation. Flushes, never
commits: the caller (the callback webhook, the job below) owns the transaction.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from servicedesk.callcenter.models import Callback, SurveyAnswer
from servicedesk.core.db import db
from servicedesk.notifications.models import Notification
from servicedesk.sla.models import SlaClock
from servicedesk.sla.reports import target_outcomes as sla_outcomes
from servicedesk.stations.models import Station, StationChange
from servicedesk.stations.scorecard import (
    AUTOMATIC_PROBATION_REASON,
    PROBATION_THRESHOLD,
    REPEAT_DAYS,
    RepairRecord,
    Scorecard,
    SurveyResponse,
    compute_scorecard,
    review_status,
    window_start,
)
from servicedesk.tickets.models import Ticket
from servicedesk.warranty.coverage import Reason

#: Question 2 answered 1 means "yes, solved" (DESIGN.md).
SOLVED_YES = 1


class StationNotFound(LookupError):
    """No station has that id."""


def survey_responses(station_id: int, *, now: datetime) -> list[SurveyResponse]:
    """The answers of the station's callbacks first answered in the window ending at ``now``.

    One grouped query over the station's callbacks (found by their station index): per
    callback the time of its first answer and its answers to questions 1 and 2.
    """
    start = window_start(now)
    first = sa.func.min(SurveyAnswer.answered_at)
    overall = sa.func.max(sa.case((SurveyAnswer.question == "overall", SurveyAnswer.value)))
    solved = sa.func.max(sa.case((SurveyAnswer.question == "solved", SurveyAnswer.value)))
    rows = db.session.execute(
        sa.select(first, overall, solved)
        .select_from(Callback)
        .join(SurveyAnswer, SurveyAnswer.callback_id == Callback.id)
        .where(Callback.station_id == station_id)
        .group_by(Callback.id)
        .having(first > start, first <= now)
    ).all()
    return [
        SurveyResponse(
            answered_at=answered_at,
            overall=overall_value if overall_value in range(1, 6) else None,
            solved=None if solved_value is None else solved_value == SOLVED_YES,
        )
        for answered_at, overall_value, solved_value in rows
    ]


def repair_records(station_id: int, *, now: datetime) -> list[RepairRecord]:
    """The station's repairs that matter for the window ending at ``now``: those opened in it,
    and those closed since :data:`REPEAT_DAYS` days before it (earlier repairs a repeat may
    follow), with their SLA targets met and breached counted as the compliance report counts
    them. One grouped query."""
    start = window_start(now)
    met, breached = sla_outcomes(now)
    rows = db.session.execute(
        sa.select(
            Ticket.asset_id,
            Ticket.created_at,
            Ticket.closed_at,
            Ticket.status,
            sa.func.coalesce(sa.func.sum(sa.case((met, 1), else_=0)), 0),
            sa.func.coalesce(sa.func.sum(sa.case((breached, 1), else_=0)), 0),
        )
        .select_from(Ticket)
        .outerjoin(SlaClock, SlaClock.ticket_id == Ticket.id)
        .where(
            Ticket.station_id == station_id,
            Ticket.kind == "repair",
            Ticket.created_at <= now,
            sa.or_(
                Ticket.created_at > start,
                Ticket.closed_at > start - timedelta(days=REPEAT_DAYS),
            ),
        )
        .group_by(Ticket.id, Ticket.asset_id, Ticket.created_at, Ticket.closed_at, Ticket.status)
    ).all()
    records = []
    for asset_id, created_at, closed_at, status, met_count, breached_count in rows:
        closed = status == "closed" and closed_at is not None and closed_at >= created_at
        records.append(
            RepairRecord(
                opened_at=created_at,
                asset=asset_id,
                closed_at=closed_at if closed else None,
                sla_met=int(met_count),
                sla_breached=int(breached_count),
                cancelled=status == "cancelled",
            )
        )
    return records


def _locked_station(station_id: int) -> Station:
    query = sa.select(Station).where(Station.id == station_id)
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=Station)
    station = db.session.scalar(query.execution_options(populate_existing=True))
    if station is None:
        raise StationNotFound(f"no station with id {station_id}")
    return station


#: How many of a station's latest changes by people are searched for the last status decision.
DECISION_LOOKBACK = 50


def last_status_decision(station_id: int) -> datetime | None:
    """When a person last changed the station's status (None: never, or only the system)."""
    changes = db.session.execute(
        sa.select(StationChange.changed_at, StationChange.changes)
        .where(StationChange.station_id == station_id, StationChange.changed_by_id.is_not(None))
        .order_by(StationChange.changed_at.desc(), StationChange.id.desc())
        .limit(DECISION_LOOKBACK)
    ).all()
    for changed_at, fields in changes:
        if "status" in (fields or {}):
            return changed_at
    return None


def refresh_scorecard(station_id: int, *, now: datetime) -> Scorecard:
    """Recompute and store the station's rolling scorecard at ``now`` (see the module
    docstring), putting an active station on probation when the card calls for it.

    Raises :class:`StationNotFound` for an unknown id. Flushes; the caller commits.
    """
    return _refresh(station_id, now=now)[0]


def _refresh(station_id: int, *, now: datetime) -> tuple[Scorecard, bool]:
    """The stored card, and whether it put the station on probation."""
    station = _locked_station(station_id)
    card = compute_scorecard(
        survey_responses(station_id, now=now), repair_records(station_id, now=now), now=now
    )
    return card, store_scorecard(station, card)


def store_scorecard(station: Station, card: Scorecard) -> bool:
    """Store ``card`` on ``station`` (locked by the caller) and act on it: its review, its
    score, and automatic probation with its history entry and notifications (see the module
    docstring). True when it put the station on probation. Flushes."""
    review = review_status(station.status, card, decided_at=last_status_decision(station.id))
    previous_score = station.satisfaction
    stored = card.to_json()
    stored["review"] = [reason.to_json() for reason in review.reasons]
    station.scorecard = stored
    station.scored_at = card.computed_at
    station.satisfaction = None if card.score is None else float(card.score)
    if review.new_status is not None:
        _put_on_probation(station, card, review.new_status, previous_score, now=card.computed_at)
    db.session.flush()
    return review.new_status is not None


def _put_on_probation(
    station: Station,
    card: Scorecard,
    new_status: str,
    previous_score: float | None,
    *,
    now: datetime,
) -> None:
    db.session.add(
        StationChange(
            station_id=station.id,
            changed_by_id=None,
            changed_at=now,
            changes={
                "status": {"before": station.status, "after": new_status},
                "satisfaction": {"before": previous_score, "after": station.satisfaction},
            },
            reason=AUTOMATIC_PROBATION_REASON,
        )
    )
    station.status = new_status
    data = {
        "station": station.code,
        "station_name": station.name,
        "satisfaction": station.satisfaction,
        "answers": card.answers,
        "satisfied": card.satisfied,
        "threshold": float(PROBATION_THRESHOLD),
        "reasons": station.scorecard["review"],
    }
    for audience, station_id in (("supervisors", None), ("station", station.id)):
        db.session.add(
            Notification(
                kind="station_probation",
                audience=audience,
                station_id=station_id,
                ticket_id=None,
                data=data,
                created_at=now,
            )
        )


def stored_scorecard(station: Station) -> Scorecard | None:
    """The card last stored on ``station``, or None when it was never scored (or the stored
    value cannot be read)."""
    if not station.scorecard:
        return None
    try:
        return Scorecard.from_json(station.scorecard)
    except ValueError:
        return None


def review_reasons(station: Station) -> list[Reason]:
    """What the stored card says about the station's standing and status, for a supervisor
    (empty when never scored; unreadable entries are left out)."""
    reasons = []
    for item in (station.scorecard or {}).get("review") or ():
        try:
            reasons.append(Reason.from_json(item))
        except ValueError:
            continue
    return reasons


def score_every_station(now: datetime) -> int:
    """Refresh every station's card in the caller's transaction (e.g. after a bulk load);
    how many were scored. Flushes, never commits: for the scheduler use
    :func:`refresh_all_scorecards`, which holds each station's lock only briefly."""
    station_ids = list(db.session.scalars(sa.select(Station.id).order_by(Station.id)))
    for station_id in station_ids:
        _refresh(station_id, now=now)
    return len(station_ids)


def refresh_all_scorecards(now: datetime) -> dict[str, int]:
    """The scheduler job: refresh every station's card, committing after each station (so its
    row lock is held only while its own card is worked out).

    Returns ``{"scored": n, "probation": p}`` (p: stations put on probation by this run).
    Rolls back and re-raises on an error. Call it in an app context outside a request.
    """
    counts = {"scored": 0, "probation": 0}
    station_ids = list(db.session.scalars(sa.select(Station.id).order_by(Station.id)))
    db.session.commit()
    for station_id in station_ids:
        try:
            try:
                _card, put_on_probation = _refresh(station_id, now=now)
            except StationNotFound:
                db.session.rollback()
                continue
            db.session.commit()
        except BaseException:
            db.session.rollback()
            raise
        counts["scored"] += 1
        counts["probation"] += put_on_probation
    return counts
