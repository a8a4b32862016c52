"""Station scorecards from real rows: callbacks with answers, repairs and SLA clocks; automatic
probation; the scheduler job; dispatch using the stored score."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from servicedesk.demo.loader import load_demo
from servicedesk.notifications.models import Notification
from servicedesk.notifications.services import notifications_for
from servicedesk.scheduler import JOBS
from servicedesk.sla.models import SlaClock
from servicedesk.stations.models import Station, StationChange
from servicedesk.stations.scorecard import AUTOMATIC_PROBATION_REASON
from servicedesk.stations.scorecards import (
    StationNotFound,
    refresh_all_scorecards,
    refresh_scorecard,
    review_reasons,
    stored_scorecard,
)
from servicedesk.stations.services import reinstate_station
from servicedesk.tickets.intake import TicketRequest, open_ticket
from servicedesk.tickets.models import Ticket

DAY = timedelta(days=1)
ACTIVE = (date(2025, 1, 1), date(2027, 12, 31))


@pytest.fixture
def customer(make_customer):
    return make_customer()


@pytest.fixture
def station(make_station):
    return make_station("BJ-01")


def mix(satisfied, unsatisfied):
    """``satisfied`` answers of 5 (solved) and ``unsatisfied`` of 2 (not solved)."""
    return [(5, 1)] * satisfied + [(2, 2)] * unsatisfied


def changes(db, station):
    return db.session.scalars(
        sa.select(StationChange).where(StationChange.station_id == station.id)
    ).all()


def probation_notices(db):
    return db.session.scalars(
        sa.select(Notification).where(Notification.kind == "station_probation")
    ).all()


# --- figures from the rows --------------------------------------------------------------


def test_a_station_without_anything_gets_an_empty_card(db, station, now):
    card = refresh_scorecard(station.id, now=now)
    assert card.answers == 0 and card.standing == "no_answers"
    assert station.scorecard["standing"] == "no_answers"
    assert station.scorecard["computed_at"] == now.isoformat()
    assert station.scored_at == now
    assert station.satisfaction is None
    assert stored_scorecard(station) == card
    assert "no satisfaction score yet" in review_reasons(station)[0].render()


def test_answers_are_counted_per_callback(db, station, customer, now, answered):
    answered(station, customer, [(5, 1), (4, 2), (3, 1), (1, None), (None, 1)], at=now - DAY)

    card = refresh_scorecard(station.id, now=now)

    assert (card.answers, card.satisfied) == (4, 2)
    assert (card.solved_answers, card.solved) == (4, 3)
    assert station.scorecard["satisfaction"] == 0.5
    assert station.satisfaction is None  # fewer than 20 answers: no score yet
    assert card.standing == "too_few_answers"


def test_only_the_stations_own_answers_count(db, make_station, station, customer, now, answered):
    other = make_station("BJ-02")
    answered(other, customer, mix(0, 25), at=now - DAY)
    answered(station, customer, mix(3, 0), at=now - DAY)
    assert refresh_scorecard(station.id, now=now).answers == 3
    assert station.status == "active"


def test_the_window_is_90_days_up_to_now(db, station, customer, now, answered):
    answered(station, customer, mix(1, 0), at=now)  # counted: the end is included
    answered(station, customer, mix(1, 0), at=now - 90 * DAY + timedelta(seconds=1))
    answered(station, customer, mix(0, 1), at=now - 90 * DAY)  # left the window
    answered(station, customer, mix(0, 1), at=now - 200 * DAY)
    answered(station, customer, mix(0, 1), at=now + DAY)  # not yet
    card = refresh_scorecard(station.id, now=now)
    assert (card.answers, card.satisfied) == (2, 2)


def test_a_callback_counts_from_its_first_answer(db, station, customer, now, answered):
    """Question 1 answered 5 seconds before the window's start and question 2 in it: the
    callback is before the window, with both its answers."""
    start = now - 90 * DAY
    answered(station, customer, [(5, 1)], at=start - timedelta(seconds=5))
    card = refresh_scorecard(station.id, now=now)
    assert (card.answers, card.solved_answers) == (0, 0)


def clock(ticket_id, target, *, due, met=None, stopped=None):
    return {
        "ticket_id": ticket_id,
        "target": target,
        "clock": "business",
        "timezone": "Asia/Shanghai",
        "started_at": due - DAY,
        "original_due_at": due,
        "due_at": due,
        "warn_at": due - timedelta(hours=2),
        "met_at": met,
        "stopped_at": stopped,
    }


def test_sla_compliance_of_repairs_closed_in_the_window(db, station, customer, now, repairs):
    closed = repairs(station, customer, 2, at=now - 10 * DAY)
    old = repairs(station, customer, 1, at=now - 100 * DAY)
    still_open = repairs(station, customer, 1, at=now - DAY, status="accepted")
    db.session.execute(sa.insert(Ticket), closed + old + still_open)
    ids = {
        number: ticket_id
        for number, ticket_id in db.session.execute(sa.select(Ticket.number, Ticket.id))
    }
    first, second = (ids[row["number"]] for row in closed)
    due = now - 11 * DAY
    db.session.execute(
        sa.insert(SlaClock),
        [
            clock(first, "respond", due=due, met=due - timedelta(hours=1)),  # met
            clock(first, "resolve", due=due, met=due + timedelta(hours=1)),  # late
            clock(second, "respond", due=due, met=due),  # met at the due time: on time
            clock(second, "arrive", due=now + DAY, stopped=now - 10 * DAY),  # undecided
            clock(ids[old[0]["number"]], "respond", due=due, met=due + DAY),  # outside
            clock(ids[still_open[0]["number"]], "respond", due=now - DAY),  # open
        ],
    )
    card = refresh_scorecard(station.id, now=now)
    assert (card.sla_met, card.sla_breached, card.repairs_closed) == (2, 1, 2)
    assert station.scorecard["sla_compliance"] == pytest.approx(2 / 3)


def test_repeat_repairs_of_the_same_machine(db, station, customer, make_asset, now, repairs):
    laptop = make_asset(customer, "PF3AAA")
    desktop = make_asset(customer, "PF3BBB", product_line="desktop")
    rows = [
        # the laptop: opened 43 days ago and closed 40 days ago; back 18 days later: a repeat
        *repairs(station, customer, 1, at=now - 40 * DAY, asset_id=laptop.id),
        *repairs(station, customer, 1, at=now - 19 * DAY, asset_id=laptop.id),
        # the desktop: closed 80 days ago, back 45 days later: not a repeat
        *repairs(station, customer, 1, at=now - 80 * DAY, asset_id=desktop.id),
        *repairs(station, customer, 1, at=now - 32 * DAY, asset_id=desktop.id),
        # a cancelled repair of the laptop right after: no repeat
        *repairs(station, customer, 1, at=now - 20 * DAY, status="cancelled",
                      asset_id=laptop.id),
    ]  # fmt: skip
    db.session.execute(sa.insert(Ticket), rows)
    card = refresh_scorecard(station.id, now=now)
    assert card.repairs_opened == 4
    assert card.repeat_repairs == 1
    assert station.scorecard["repeat_rate"] == 0.25


def test_an_unknown_station_is_refused(db, now):
    with pytest.raises(StationNotFound):
        refresh_scorecard(12345, now=now)


# --- automatic probation -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("satisfied", "unsatisfied", "status", "score"),
    [
        (16, 3, "active", None),  # 84.2% but 19 answers: not enough
        (16, 4, "probation", 0.8),  # 80% with 20 answers
        (17, 3, "active", 0.85),  # exactly 85% with 20 answers
        (0, 19, "active", None),
        (0, 20, "probation", 0.0),
    ],
)
def test_probation_needs_twenty_answers_below_85_percent(
    db, station, customer, now, satisfied, unsatisfied, status, score, answered
):
    answered(station, customer, mix(satisfied, unsatisfied), at=now - DAY)
    refresh_scorecard(station.id, now=now)
    assert station.status == status
    assert station.satisfaction == score
    assert len(changes(db, station)) == (status == "probation")
    assert len(probation_notices(db)) == 2 * (status == "probation")


@pytest.mark.parametrize(("satisfied", "status"), [(849, "probation"), (850, "active")])
def test_84_9_percent_is_below_and_85_percent_is_not(
    db, station, customer, now, satisfied, status, answered
):
    answered(station, customer, mix(satisfied, 1000 - satisfied), at=now - DAY)
    card = refresh_scorecard(station.id, now=now)
    assert card.answers == 1000
    assert station.status == status
    reason = review_reasons(station)[0].render()
    assert ("84.9%" if status == "probation" else "85%") in reason


def test_probation_is_recorded_by_the_system_and_supervisors_are_told(
    db, station, customer, make_user, now, answered
):
    supervisor = make_user("boss", role="supervisor")
    staff = make_user("bj01", role="station", station_code="BJ-01")
    agent = make_user("agent1")
    answered(station, customer, mix(16, 4), at=now - DAY)

    refresh_scorecard(station.id, now=now)

    [change] = changes(db, station)
    assert change.changed_by_id is None
    assert change.changed_at == now
    assert change.changes == {
        "status": {"before": "active", "after": "probation"},
        "satisfaction": {"before": None, "after": 0.8},
    }
    assert change.reason == AUTOMATIC_PROBATION_REASON
    notices = probation_notices(db)
    assert {(n.audience, n.station_id) for n in notices} == {
        ("supervisors", None),
        ("station", station.id),
    }
    for notice in notices:
        assert notice.ticket_id is None
        assert notice.created_at == now
        assert notice.data["station"] == "BJ-01"
        assert notice.data["satisfaction"] == 0.8
        assert notice.data["answers"] == 20
        texts = [r["message"] for r in notice.data["reasons"]]
        assert any("below the %(threshold)s probation threshold" in t for t in texts)
    assert [item.notification.kind for item in notifications_for(supervisor)] == [
        "station_probation"
    ]
    assert [item.notification.kind for item in notifications_for(staff)] == ["station_probation"]
    assert notifications_for(agent) == []


def test_refreshing_again_does_not_repeat_the_probation(db, station, customer, now, answered):
    answered(station, customer, mix(16, 4), at=now - DAY)
    refresh_scorecard(station.id, now=now)
    answered(station, customer, mix(0, 5), at=now)
    refresh_scorecard(station.id, now=now + timedelta(minutes=10))
    assert station.status == "probation"
    assert len(changes(db, station)) == 1
    assert len(probation_notices(db)) == 2
    assert "stays on probation" in review_reasons(station)[-1].render()


def test_a_suspended_station_is_never_touched(db, make_station, customer, now, answered):
    suspended = make_station("BJ-09", status="suspended")
    answered(suspended, customer, mix(0, 30), at=now - DAY)
    refresh_scorecard(suspended.id, now=now)
    assert suspended.status == "suspended"
    assert changes(db, suspended) == []
    assert probation_notices(db) == []


def test_a_good_score_never_lifts_probation_or_suspension(
    db, make_station, customer, now, answered
):
    on_probation = make_station("BJ-08", status="probation")
    suspended = make_station("BJ-09", status="suspended")
    for station in (on_probation, suspended):
        answered(station, customer, mix(30, 0), at=now - DAY)
        refresh_scorecard(station.id, now=now)
    assert (on_probation.status, suspended.status) == ("probation", "suspended")
    assert "a supervisor may reinstate it" in review_reasons(on_probation)[-1].render()
    assert "only a supervisor can reinstate it" in review_reasons(suspended)[-1].render()


def test_a_reinstatement_stands_until_new_answers_come_in(
    db, station, customer, make_user, now, answered
):
    supervisor = make_user("boss", role="supervisor")
    answered(station, customer, mix(16, 4), at=now - DAY)
    refresh_scorecard(station.id, now=now)
    assert station.status == "probation"

    reinstate_station(supervisor, station, reason="Talked to the manager", now=now + DAY)
    refresh_scorecard(station.id, now=now + DAY + timedelta(minutes=10))
    assert station.status == "active"
    assert "no answer has come in since" in review_reasons(station)[-1].render()

    answered(station, customer, mix(0, 1), at=now + 2 * DAY)
    refresh_scorecard(station.id, now=now + 2 * DAY)
    assert station.status == "probation"
    assert len(changes(db, station)) == 3  # probation, reinstated, probation again
    assert len(probation_notices(db)) == 4


# --- the job --------------------------------------------------------------------------


def test_the_job_scores_every_station_and_commits(db, app, make_station, customer, now, answered):
    good = make_station("BJ-01")
    bad = make_station("BJ-02")
    answered(good, customer, mix(20, 0), at=now - DAY)
    answered(bad, customer, mix(10, 10), at=now - DAY)
    db.session.commit()

    assert refresh_all_scorecards(now) == {"scored": 2, "probation": 1}
    db.session.remove()
    stations = {s.code: s for s in db.session.scalars(sa.select(Station))}
    assert stations["BJ-01"].satisfaction == 1.0 and stations["BJ-01"].status == "active"
    assert stations["BJ-02"].satisfaction == 0.5 and stations["BJ-02"].status == "probation"
    assert all(s.scored_at == now for s in stations.values())

    assert refresh_all_scorecards(now + timedelta(minutes=10)) == {"scored": 2, "probation": 0}


def test_the_job_is_scheduled_every_ten_minutes():
    [job] = [job for job in JOBS if job.id == "scorecards"]
    assert job.every_seconds == 600
    assert job.run.__module__ == "servicedesk.scheduler"


# --- dispatch uses the stored score ---------------------------------------------------


@pytest.fixture
def repair(make_user, make_asset, customer, now):
    agent = make_user("agent1")
    make_asset(customer, "PF3ONSITE", entitlements=[("onsite", *ACTIVE)])

    def make() -> Ticket:
        request = TicketRequest(kind="repair", summary="No display", serial="PF3ONSITE")
        return open_ticket(agent, customer, request, now=now)

    return make


def test_dispatch_ranks_the_better_scored_station_first_and_probation_last(
    db, make_station, customer, repair, now, answered
):
    fair = make_station("BJ-01", capacity=10)
    best = make_station("BJ-02", capacity=10)
    slipping = make_station("BJ-03", capacity=10)
    answered(fair, customer, mix(18, 2), at=now - DAY)  # 90%
    answered(best, customer, mix(19, 1), at=now - DAY)  # 95%
    answered(slipping, customer, mix(16, 4), at=now - DAY)  # 80%: probation
    for station in (fair, best, slipping):
        refresh_scorecard(station.id, now=now)
    # equal load for all three: the closed repairs above are not open
    assert slipping.status == "probation"

    ticket = repair()

    assert ticket.station.code == "BJ-02"
    assert _candidates(ticket) == ["BJ-02", "BJ-01", "BJ-03"]


def test_a_station_with_too_few_answers_ranks_as_the_target(
    db, make_station, customer, repair, now, answered
):
    new = make_station("BJ-01", capacity=10)  # 3 answers, all unhappy: no score yet
    steady = make_station("BJ-02", capacity=10)  # 87%: below the 88% target
    answered(new, customer, mix(0, 3), at=now - DAY)
    answered(steady, customer, mix(87, 13), at=now - DAY)
    for station in (new, steady):
        refresh_scorecard(station.id, now=now)
    assert new.satisfaction is None and steady.satisfaction == 0.87
    assert repair().station.code == "BJ-01"


def _candidates(ticket):
    return [candidate["code"] for candidate in ticket.dispatch_decision["candidates"]]


def test_the_demo_load_scores_every_station(db, now):
    load_demo(seed=3, scale=0.01, now=now)
    stations = db.session.scalars(sa.select(Station)).all()
    assert stations
    assert all(station.scored_at == now and station.scorecard for station in stations)
    assert sum(station.scorecard["repairs_opened"] for station in stations) > 0
