"""Dispatching repairs from the database: on opening, from the waiting queue, by hand."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from servicedesk.dispatch.rules import DispatchDecision
from servicedesk.dispatch.services import (
    DispatchError,
    DispatchPermissionError,
    dispatch_ticket,
    dispatch_waiting,
    redispatch,
)
from servicedesk.stations.models import Region, RegionPlace
from servicedesk.tickets.intake import TicketRequest, open_ticket
from servicedesk.tickets.models import Ticket, TicketEvent
from servicedesk.tickets.services import change_status

ACTIVE = (date(2025, 1, 1), date(2027, 12, 31))


@pytest.fixture
def agent(make_user):
    return make_user("agent1")


@pytest.fixture
def supervisor(make_user):
    return make_user("boss", role="supervisor")


@pytest.fixture
def customer(make_customer, make_asset):
    customer = make_customer()
    make_asset(customer, "PF3ONSITE", entitlements=[("onsite", *ACTIVE)])
    make_asset(customer, "PF3FAST", entitlements=[("onsite_4h", *ACTIVE)])
    make_asset(customer, "PF3TIANJIN", city="天津", entitlements=[("onsite", *ACTIVE)])
    return customer


@pytest.fixture
def repair(agent, customer, now):
    def make(serial="PF3ONSITE", *, at=None) -> Ticket:
        request = TicketRequest(kind="repair", summary="No display", serial=serial)
        return open_ticket(agent, customer, request, now=at or now)

    return make


def decision(ticket) -> DispatchDecision:
    return DispatchDecision.from_json(ticket.dispatch_decision)


def dispatch_events(ticket) -> list[TicketEvent]:
    return [event for event in ticket.events if event.action == "dispatch"]


def test_opening_a_repair_dispatches_it_to_the_least_loaded_station(make_station, repair, agent):
    make_station("BJ-01", capacity=10)
    quiet = make_station("BJ-02", capacity=20)
    busy = repair()
    assert busy.station.code == "BJ-01"  # tie on load 0: by code
    ticket = repair()
    assert ticket.station == quiet  # 1/10 against 0/20
    assert (ticket.status, ticket.dispatch_state, ticket.waiting_since) == (
        "dispatched",
        "dispatched",
        None,
    )
    stored = decision(ticket)
    assert stored.station == "BJ-02" and [c.code for c in stored.candidates] == ["BJ-02", "BJ-01"]
    [event] = dispatch_events(ticket)
    assert (event.actor, event.from_status, event.to_status) == (agent, "new", "dispatched")
    assert event.data["station"] == "BJ-02" and event.data["manual"] is False
    assert "lowest load" in event.reason


def test_better_satisfaction_wins_at_equal_load_and_probation_comes_last(make_station, repair):
    make_station("BJ-01", status="probation").satisfaction = 0.99
    make_station("BJ-02").satisfaction = 0.80
    make_station("BJ-03").satisfaction = 0.95
    assert repair().station.code == "BJ-03"
    codes = [candidate.code for candidate in decision(repair()).candidates]
    assert codes[-1] == "BJ-01"


def test_no_eligible_station_leaves_the_repair_waiting_with_the_reason(
    make_station, repair, agent, now
):
    make_station("BJ-01", product_lines=("server",))
    ticket = repair()
    assert (ticket.status, ticket.station, ticket.dispatch_state, ticket.waiting_since) == (
        "new",
        None,
        "waiting",
        now,
    )
    assert decision(ticket).reason.render() == "No station serving 北京 repairs laptops."
    [event] = dispatch_events(ticket)
    assert (event.actor, event.to_status, event.data["state"]) == (agent, None, "waiting")
    assert event.reason == "No station serving 北京 repairs laptops."


def test_region_fallback_when_no_station_lists_the_city(make_station, repair, region, db):
    make_station("BJ-01", cities=("北京",))
    outside = Region(code="huadong", name_zh="华东", name_en="East China")
    outside.places = [RegionPlace(name="上海", position=0)]
    db.session.add(outside)
    make_station("SH-01", cities=("上海",), region_code="huadong")
    ticket = repair("PF3TIANJIN")
    assert ticket.station.code == "BJ-01"  # 天津 is in jingjinji, like BJ-01
    assert any("region" in reason.render() for reason in decision(ticket).winner.reasons)


def test_four_hour_repairs_need_four_hour_capability(make_station, repair):
    make_station("BJ-01", capacity=100)
    make_station("BJ-02", four_hour=("北京",), capacity=1)
    first = repair("PF3FAST")
    assert (first.service_level, first.station.code) == ("onsite_4h", "BJ-02")
    [plain] = [c for c in decision(first).candidates if c.code == "BJ-01"]
    assert plain.render_reasons() == ["The station has no 4-hour capability in 北京."]
    full = repair("PF3FAST")
    assert full.dispatch_state == "waiting"
    assert "at capacity" in decision(full).reason.render()


def test_a_station_at_capacity_takes_no_more(make_station, repair):
    make_station("BJ-01", capacity=2)
    first, second, third = repair(), repair(), repair()
    assert [t.dispatch_state for t in (first, second, third)] == [
        "dispatched",
        "dispatched",
        "waiting",
    ]
    assert "at capacity" in decision(third).reason.render()


def test_complaints_are_never_dispatched(make_station, agent, customer, now):
    make_station("BJ-01")
    complaint = open_ticket(
        agent, customer, TicketRequest(kind="complaint", summary="Rude engineer"), now=now
    )
    assert (complaint.station, complaint.dispatch_state, complaint.dispatch_decision) == (
        None,
        None,
        None,
    )
    with pytest.raises(DispatchError, match="complaints go to supervisors"):
        dispatch_ticket(agent, complaint, now=now)


def test_waiting_repairs_are_dispatched_oldest_first_when_capacity_frees(
    make_station, repair, agent, db, now
):
    make_station("BJ-01", capacity=1)
    busy = repair()
    older = repair(at=now + timedelta(minutes=1))
    newer = repair(at=now + timedelta(minutes=2))
    db.session.commit()
    assert dispatch_waiting(now + timedelta(minutes=3)) == {
        "dispatched": 0,
        "still_waiting": 2,
        "refused": 0,
    }
    assert len(dispatch_events(older)) == 1  # a second attempt that finds nobody adds nothing

    change_status(agent, busy, "cancelled", now=now, reason="duplicate")
    db.session.commit()
    later = now + timedelta(minutes=5)
    assert dispatch_waiting(later) == {"dispatched": 1, "still_waiting": 1, "refused": 0}
    db.session.expire_all()
    older, newer = db.session.get(Ticket, older.id), db.session.get(Ticket, newer.id)
    assert (older.status, older.station.code, older.waiting_since) == ("dispatched", "BJ-01", None)
    assert newer.dispatch_state == "waiting"
    event = dispatch_events(older)[-1]
    assert (event.actor, event.at, event.to_status) == (None, later, "dispatched")


def test_waiting_job_leaves_cancelled_tickets_alone(make_station, repair, agent, db, now):
    make_station("BJ-01", capacity=0)
    ticket = repair()
    change_status(agent, ticket, "cancelled", now=now, reason="customer fixed it")
    db.session.commit()
    assert dispatch_waiting(now)["still_waiting"] == 0


def test_supervisor_redispatches_by_hand_with_a_reason(make_station, repair, supervisor, now):
    make_station("BJ-01")
    make_station("BJ-02", capacity=5)
    ticket = repair()
    assert ticket.station.code == "BJ-01"
    result = redispatch(supervisor, ticket, "BJ-02", now=now, reason="customer asked for BJ-02")
    assert result.station == "BJ-02" and ticket.station.code == "BJ-02"
    assert ticket.dispatch_decision["manual"] == {
        "by": "boss",
        "reason": "customer asked for BJ-02",
        "over_capacity": False,
        "automatic_choice": "BJ-01",
    }
    event = dispatch_events(ticket)[-1]
    assert (event.actor, event.reason, event.data["previous_station"]) == (
        supervisor,
        "customer asked for BJ-02",
        "BJ-01",
    )
    assert event.data["manual"] is True


def test_redispatch_refusals(make_station, repair, supervisor, agent, now, db):
    make_station("BJ-01", capacity=1)
    make_station("BJ-02", status="suspended")
    make_station("BJ-03", capacity=1)
    ticket = repair()
    other = repair()
    assert other.station.code == "BJ-03"
    with pytest.raises(DispatchPermissionError):
        redispatch(agent, ticket, "BJ-03", now=now, reason="x")
    with pytest.raises(DispatchError, match="Say why"):
        redispatch(supervisor, ticket, "BJ-03", now=now, reason="  ")
    with pytest.raises(DispatchError, match="no station NOPE"):
        redispatch(supervisor, ticket, "NOPE", now=now, reason="x")
    with pytest.raises(DispatchError, match="suspended"):
        redispatch(supervisor, ticket, "BJ-02", now=now, reason="x")
    with pytest.raises(DispatchError, match="already with BJ-01"):
        redispatch(supervisor, ticket, "BJ-01", now=now, reason="x")
    with pytest.raises(DispatchError, match="at capacity"):
        redispatch(supervisor, ticket, "BJ-03", now=now, reason="x")
    assert ticket.station.code == "BJ-01"
    redispatch(supervisor, ticket, "BJ-03", now=now, reason="urgent", force=True)
    assert ticket.dispatch_decision["manual"]["over_capacity"] is True
    assert "over the station's capacity" in decision(ticket).reason.render()
    db.session.flush()
    count = db.session.scalar(
        sa.select(sa.func.count()).select_from(Ticket).where(Ticket.station_id == other.station_id)
    )
    assert count == 2


# Leaving the station: back to the queue, or on to another station


def sent_back_events(ticket) -> list[TicketEvent]:
    return [event for event in dispatch_events(ticket) if event.data.get("sent_back")]


@pytest.mark.parametrize("from_status", ["dispatched", "accepted", "waiting_parts"])
def test_back_to_new_clears_the_station_and_queues_the_repair(
    make_station, repair, agent, now, from_status
):
    make_station("BJ-01")
    ticket = repair()
    for status in {"accepted": ["accepted"], "waiting_parts": ["accepted", "waiting_parts"]}.get(
        from_status, []
    ):
        change_status(agent, ticket, status, now=now)
    later = now + timedelta(hours=1)
    event = change_status(agent, ticket, "new", now=later, reason="customer moved to Tianjin")
    assert (ticket.status, ticket.station, ticket.dispatch_state, ticket.waiting_since) == (
        "new",
        None,
        "waiting",
        later,
    )
    assert (event.action, event.from_status, event.to_status, event.actor, event.reason) == (
        "dispatch",
        from_status,
        "new",
        agent,
        "customer moved to Tianjin",
    )
    assert event.data["previous_station"] == "BJ-01" and event.data["sent_back"] is True
    assert event.data["state"] == "waiting"
    stored = decision(ticket)
    assert (stored.state, stored.station) == ("waiting", None)
    assert stored.reason.render() == (
        "Sent back from BJ-01 to the dispatch queue by agent1: customer moved to Tianjin"
    )


def test_the_sweep_sends_a_returned_repair_to_another_station_only(
    make_station, repair, agent, db, now
):
    make_station("BJ-01")
    ticket = repair()
    change_status(agent, ticket, "accepted", now=now)
    change_status(agent, ticket, "new", now=now, reason="no engineer this week")
    db.session.commit()
    assert dispatch_waiting(now + timedelta(minutes=1)) == {
        "dispatched": 0,
        "still_waiting": 1,
        "refused": 0,
    }
    db.session.expire_all()
    ticket = db.session.get(Ticket, ticket.id)
    assert ticket.station is None and ticket.dispatch_state == "waiting"
    assert "has sent it back" in decision(ticket).reason.render()
    assert "sent this repair back" in decision(ticket).candidates[0].reasons[-1].render()

    make_station("BJ-02")
    db.session.commit()
    assert dispatch_waiting(now + timedelta(minutes=2))["dispatched"] == 1
    db.session.expire_all()
    ticket = db.session.get(Ticket, ticket.id)
    assert (ticket.status, ticket.station.code) == ("dispatched", "BJ-02")
    assert ticket.waiting_since is None


def test_dispatched_from_work_at_the_station_goes_to_another_station(
    make_station, repair, agent, now
):
    make_station("BJ-01")
    make_station("BJ-02", capacity=3)
    ticket = repair()
    assert ticket.station.code == "BJ-01"
    change_status(agent, ticket, "accepted", now=now)
    event = change_status(agent, ticket, "dispatched", now=now, reason="engineer on leave")
    assert (ticket.status, ticket.station.code, ticket.dispatch_state) == (
        "dispatched",
        "BJ-02",
        "dispatched",
    )
    assert (event.action, event.from_status, event.to_status, event.reason) == (
        "dispatch",
        "accepted",
        "dispatched",
        "engineer on leave",
    )
    assert (event.data["previous_station"], event.data["station"]) == ("BJ-01", "BJ-02")
    stored = decision(ticket)
    assert stored.station == "BJ-02"
    assert not next(c for c in stored.candidates if c.code == "BJ-01").eligible


def test_dispatched_from_work_with_no_other_station_waits_in_the_queue(
    make_station, repair, agent, now
):
    make_station("BJ-01")
    ticket = repair()
    change_status(agent, ticket, "accepted", now=now)
    event = change_status(agent, ticket, "dispatched", now=now, reason="engineer on leave")
    assert (ticket.status, ticket.station, ticket.dispatch_state) == ("new", None, "waiting")
    assert (event.from_status, event.to_status, event.data["previous_station"]) == (
        "accepted",
        "new",
        "BJ-01",
    )
    assert "has sent it back" in decision(ticket).reason.render()
    assert sent_back_events(ticket) == [event]


def test_back_from_waiting_on_the_customer_keeps_the_station(make_station, repair, agent, now):
    make_station("BJ-01")
    make_station("BJ-02")
    ticket = repair()
    change_status(agent, ticket, "waiting_customer", now=now)
    change_status(agent, ticket, "dispatched", now=now + timedelta(hours=1))
    assert (ticket.status, ticket.station.code, ticket.dispatch_state) == (
        "dispatched",
        "BJ-01",
        "dispatched",
    )
    assert sent_back_events(ticket) == []


def test_a_supervisor_may_still_choose_the_station_that_sent_it_back(
    make_station, repair, agent, supervisor, now
):
    make_station("BJ-01")
    ticket = repair()
    change_status(agent, ticket, "new", now=now, reason="wrong product line")
    redispatch(supervisor, ticket, "BJ-01", now=now, reason="checked with the station")
    assert (ticket.status, ticket.station.code) == ("dispatched", "BJ-01")
