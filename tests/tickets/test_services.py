"""Status changes, the phone diagnosis end and asset corrections: events, rules and SLA clocks."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from servicedesk.sla.services import set_targets
from servicedesk.sla.targets import Target, TicketTargets
from servicedesk.tickets.closing import close_repair
from servicedesk.tickets.intake import TicketRequest, open_ticket
from servicedesk.tickets.lifecycle import TransitionError
from servicedesk.tickets.models import TicketEvent
from servicedesk.tickets.services import (
    TicketInputError,
    TicketPermissionError,
    TicketStateError,
    change_status,
    correct_asset,
    diagnosis_can_end,
    may_resolve,
    next_statuses,
    record_diagnosis_end,
    waiting_left_from,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
ACTIVE = (date(2025, 3, 1), date(2028, 2, 29))
H = timedelta(hours=1)


def sh(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    """A Shanghai wall-clock instant in 2026 (November unless told)."""
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


OPENED = sh(20, 10, 30)  # Friday; the conftest's ``now``


@pytest.fixture
def station(make_station):
    return make_station("BJ-01", four_hour=("北京",))


@pytest.fixture
def agent(make_user):
    return make_user("agent1")


@pytest.fixture
def customer(make_customer, make_asset):
    customer = make_customer()
    make_asset(customer, "PF3ONSITE", entitlements=[("onsite", *ACTIVE)])
    make_asset(customer, "PF3DEPOT", entitlements=[("depot", *ACTIVE)])
    make_asset(customer, "PF3FAST", entitlements=[("onsite_4h", *ACTIVE)])
    return customer


@pytest.fixture
def open_repair(agent, customer, station, now):
    def make(serial="PF3ONSITE", *, dispatch=True):
        station.status = "active" if dispatch else "suspended"  # opening dispatches (issue 4)
        ticket = open_ticket(
            agent,
            customer,
            TicketRequest(kind="repair", summary="No display", serial=serial),
            now=now,
        )
        station.status = "active"
        assert ticket.station == (station if dispatch else None)
        return ticket

    return make


def move(actor, ticket, status: str, *, now: datetime, reason: str = ""):
    """A status change; a repair is resolved with its closing records."""
    if status == "resolved" and ticket.kind == "repair":
        close_repair(actor, ticket, resolution="Replaced the display cable.", parts=[], now=now)
        return ticket.events[-1]
    return change_status(actor, ticket, status, now=now, reason=reason)


def clocks(ticket) -> dict:
    return {clock.target: clock for clock in ticket.clocks}


def due(ticket) -> dict[str, datetime]:
    return {name: clock.due_at for name, clock in clocks(ticket).items()}


def test_status_change_records_the_event_and_moves_the_ticket(agent, open_repair):
    ticket = open_repair(dispatch=False)
    event = change_status(agent, ticket, "cancelled", now=sh(20, 11), reason="  duplicate  ")
    assert (ticket.status, ticket.updated_at, ticket.closed_at) == (
        "cancelled",
        sh(20, 11),
        sh(20, 11),
    )
    assert (event.action, event.from_status, event.to_status, event.actor, event.reason) == (
        "status",
        "new",
        "cancelled",
        agent,
        "duplicate",
    )
    assert event.at == sh(20, 11)
    assert event in ticket.events
    assert event.id is not None


def test_dispatch_needs_the_station_chosen_first(agent, open_repair):
    ticket = open_repair(dispatch=False)
    with pytest.raises(TicketStateError, match="dispatch"):
        change_status(agent, ticket, "dispatched", now=sh(20, 11))
    assert ticket.status == "new"
    assert "dispatched" not in next_statuses(agent, ticket)


def test_refused_transition_changes_nothing(agent, open_repair, db):
    ticket = open_repair()
    events = len(ticket.events)
    with pytest.raises(TransitionError):
        change_status(agent, ticket, "closed", now=sh(20, 11))
    assert ticket.status == "dispatched"
    assert len(ticket.events) == events
    assert ticket.closed_at is None


@pytest.mark.parametrize(
    "path",
    [["accepted", "cancelled"], ["accepted", "resolved", "accepted"], ["accepted", "new"]],
    ids=["cancel", "reopen", "back-to-queue"],
)
def test_cancel_reopen_and_back_to_queue_need_a_reason(agent, open_repair, path):
    ticket = open_repair()
    *before, last = path
    for status in before:
        move(agent, ticket, status, now=sh(20, 11))
    with pytest.raises(TicketInputError) as refused:
        change_status(agent, ticket, last, now=sh(20, 12), reason="   ")
    assert refused.value.field == "reason"
    assert ticket.status == before[-1]
    event = change_status(agent, ticket, last, now=sh(20, 12), reason="customer asked")
    assert event.reason == "customer asked"


def test_too_long_reason_is_refused(agent, open_repair):
    ticket = open_repair()
    with pytest.raises(TicketInputError, match="1000"):
        change_status(agent, ticket, "accepted", now=sh(20, 11), reason="x" * 1001)
    assert ticket.status == "dispatched"


def test_targets_are_met_when_their_status_is_reached(agent, open_repair):
    ticket = open_repair()
    change_status(agent, ticket, "accepted", now=sh(20, 11))
    change_status(agent, ticket, "scheduled", now=sh(20, 11, 30))
    assert {name: c.met_at for name, c in clocks(ticket).items()} == {
        "respond": sh(20, 11),
        "arrive": None,
        "resolve": None,
    }
    change_status(agent, ticket, "on_site", now=sh(23, 10))
    move(agent, ticket, "resolved", now=sh(23, 15))
    change_status(agent, ticket, "closed", now=sh(24, 9))
    met = {name: (c.met_at, c.met) for name, c in clocks(ticket).items()}
    assert met == {
        "respond": (sh(20, 11), True),
        "arrive": (sh(23, 10), True),
        "resolve": (sh(23, 15), True),
    }
    assert ticket.closed_at == sh(24, 9)


def test_late_arrival_is_met_but_not_in_time(agent, open_repair):
    ticket = open_repair()
    change_status(agent, ticket, "accepted", now=sh(20, 11))
    change_status(agent, ticket, "on_site", now=sh(24, 9, 30))
    arrive = clocks(ticket)["arrive"]
    assert arrive.met_at == sh(24, 9, 30)
    assert arrive.due_at == sh(23, 18)
    assert arrive.met is False


def test_waiting_on_the_customer_pushes_due_times_by_the_business_time_paused(agent, open_repair):
    ticket = open_repair()
    change_status(agent, ticket, "accepted", now=sh(20, 11))
    assert due(ticket) == {
        "respond": sh(20, 12, 30),
        "arrive": sh(23, 18),
        "resolve": sh(25, 10, 30),
    }

    change_status(agent, ticket, "waiting_customer", now=sh(20, 17))  # Friday 17:00
    assert len(ticket.pauses) == 1
    assert all(c.paused_since == sh(20, 17) for c in ticket.clocks if c.target != "respond")
    assert clocks(ticket)["respond"].paused_since is None  # met already

    change_status(agent, ticket, "accepted", now=sh(23, 10))  # Monday 10:00: 2 business hours
    assert due(ticket) == {
        "respond": sh(20, 12, 30),
        "arrive": sh(24, 11),  # Monday 18:00 + 2 business hours
        "resolve": sh(25, 12, 30),
    }
    assert all(c.paused_since is None for c in ticket.clocks)
    assert (ticket.pauses[0].started_at, ticket.pauses[0].ended_at) == (sh(20, 17), sh(23, 10))
    assert clocks(ticket)["arrive"].original_due_at == sh(23, 18)
    assert clocks(ticket)["resolve"].warn_at > clocks(ticket)["resolve"].started_at


def test_pause_outside_working_hours_pushes_nothing(agent, open_repair):
    ticket = open_repair()
    change_status(agent, ticket, "accepted", now=sh(20, 11))
    before = due(ticket)
    change_status(agent, ticket, "waiting_customer", now=sh(20, 18, 30))  # Friday evening
    change_status(agent, ticket, "scheduled", now=sh(23, 8, 45))  # Monday before opening
    assert due(ticket) == before


def test_two_pauses_add_up(agent, open_repair):
    ticket = open_repair()
    change_status(agent, ticket, "accepted", now=sh(20, 11))
    change_status(agent, ticket, "waiting_customer", now=sh(20, 14))
    change_status(agent, ticket, "accepted", now=sh(20, 15))
    change_status(agent, ticket, "waiting_customer", now=sh(23, 9))
    change_status(agent, ticket, "waiting_parts", now=sh(23, 9, 30))
    assert due(ticket)["resolve"] == sh(25, 12)  # 1 h + 30 min of business time
    assert due(ticket)["arrive"] == sh(24, 10, 30)


def test_a_breach_is_not_undone_by_a_pause(agent, open_repair):
    ticket = open_repair()
    change_status(agent, ticket, "accepted", now=sh(20, 11))
    arrive = clocks(ticket)["arrive"]
    arrive.breached_at = sh(23, 18, 1)  # as the sweep records it
    change_status(agent, ticket, "waiting_customer", now=sh(24, 10))  # after the arrival due time
    change_status(agent, ticket, "scheduled", now=sh(24, 15))
    assert arrive.due_at == sh(23, 18)
    assert arrive.breached_at == sh(23, 18, 1)
    assert due(ticket)["resolve"] == sh(25, 15, 30)  # the running target still moves out
    change_status(agent, ticket, "on_site", now=sh(25, 9))
    assert arrive.met is False


def test_cancel_stops_the_running_clocks_and_keeps_the_met_ones(agent, open_repair):
    ticket = open_repair()
    change_status(agent, ticket, "accepted", now=sh(20, 11))
    change_status(agent, ticket, "waiting_customer", now=sh(20, 14))
    change_status(agent, ticket, "cancelled", now=sh(20, 16), reason="customer fixed it")
    stopped = {name: (c.met_at, c.stopped_at, c.paused_since) for name, c in clocks(ticket).items()}
    assert stopped == {
        "respond": (sh(20, 11), None, None),
        "arrive": (None, sh(20, 16), None),
        "resolve": (None, sh(20, 16), None),
    }
    assert ticket.pauses[0].ended_at == sh(20, 16)
    assert ticket.closed_at == sh(20, 16)


def test_waiting_returns_to_the_status_it_left(agent, open_repair):
    ticket = open_repair()
    change_status(agent, ticket, "accepted", now=sh(20, 11))
    change_status(agent, ticket, "on_site", now=sh(20, 13))
    change_status(agent, ticket, "waiting_customer", now=sh(20, 14))
    assert waiting_left_from(ticket) == "on_site"
    assert next_statuses(agent, ticket) == (
        "scheduled",
        "on_site",
        "waiting_parts",
        "cancelled",
    )
    with pytest.raises(TransitionError, match="since it was “on_site”"):
        change_status(agent, ticket, "dispatched", now=sh(20, 15), reason="other station")
    change_status(agent, ticket, "on_site", now=sh(20, 15))
    assert ticket.status == "on_site"


def test_complaint_is_answered_without_dispatch(agent, customer, now):
    ticket = open_ticket(agent, customer, TicketRequest(kind="complaint", summary="Rude"), now=now)
    assert set(clocks(ticket)) == {"respond", "resolve"}
    assert next_statuses(agent, ticket) == ("accepted", "waiting_customer", "resolved", "cancelled")
    change_status(agent, ticket, "accepted", now=sh(20, 11))
    change_status(agent, ticket, "resolved", now=sh(23, 11))
    assert clocks(ticket)["respond"].met_at == sh(20, 11)
    assert clocks(ticket)["resolve"].met_at == sh(23, 11)


def test_open_inquiry_is_closed_later_with_respond_met(agent, customer, now):
    ticket = open_ticket(
        agent, customer, TicketRequest(kind="inquiry", summary="Drivers?", answered=False), now=now
    )
    assert ticket.status == "new"
    change_status(agent, ticket, "closed", now=sh(20, 15))
    assert clocks(ticket)["respond"].met_at == sh(20, 15)
    assert clocks(ticket)["respond"].met is False  # due 12:30
    assert ticket.closed_at == sh(20, 15)


# Who may change what


def test_station_user_changes_its_own_stations_ticket(make_user, open_repair, station):
    ticket = open_repair()
    engineer = make_user("bj01", role="station", station_code="BJ-01")
    assert next_statuses(engineer, ticket) == ("accepted", "waiting_customer")
    event = change_status(engineer, ticket, "accepted", now=sh(20, 11))
    assert event.actor == engineer


def test_station_user_cannot_change_another_stations_ticket(make_user, make_station, open_repair):
    ticket = open_repair()
    make_station("BJ-02")
    other = make_user("bj02", role="station", station_code="BJ-02")
    assert next_statuses(other, ticket) == ()
    with pytest.raises(TicketPermissionError):
        change_status(other, ticket, "accepted", now=sh(20, 11))
    assert ticket.status == "dispatched"


def test_station_user_cannot_touch_an_undispatched_ticket(make_user, open_repair, station):
    ticket = open_repair(dispatch=False)
    engineer = make_user("bj01", role="station", station_code="BJ-01")
    with pytest.raises(TicketPermissionError):
        change_status(engineer, ticket, "cancelled", now=sh(20, 11), reason="no")


@pytest.mark.parametrize("status", ["cancelled", "new"])
def test_station_user_cannot_cancel_or_send_back(make_user, open_repair, station, status):
    ticket = open_repair()
    engineer = make_user("bj01", role="station", station_code="BJ-01")
    with pytest.raises(TicketPermissionError):
        change_status(engineer, ticket, status, now=sh(20, 11), reason="not ours")
    assert ticket.status == "dispatched"


@pytest.mark.parametrize("role", ["supervisor", "admin"])
def test_supervisors_and_admins_change_any_ticket(make_user, open_repair, role):
    ticket = open_repair()
    user = make_user(f"u-{role}", role=role)
    change_status(user, ticket, "cancelled", now=sh(20, 11), reason="duplicate")
    assert ticket.status == "cancelled"


# Phone diagnosis end (4-hour repairs)


def test_diagnosis_end_starts_the_four_hour_arrival_clock(agent, open_repair, db):
    ticket = open_repair("PF3FAST")
    assert ticket.service_level == "onsite_4h"
    assert due(ticket) == {
        "respond": sh(20, 11),
        "arrive": sh(20, 14, 30),
        "resolve": sh(21, 10, 30),
    }
    arrive_id = clocks(ticket)["arrive"].id
    assert diagnosis_can_end(ticket)

    event = record_diagnosis_end(agent, ticket, now=sh(20, 10, 55))
    assert ticket.diagnosis_ended_at == sh(20, 10, 55)
    assert due(ticket) == {
        "respond": sh(20, 11),
        "arrive": sh(20, 14, 55),
        "resolve": sh(21, 10, 30),
    }
    assert clocks(ticket)["arrive"].started_at == sh(20, 10, 55)
    assert clocks(ticket)["arrive"].id == arrive_id
    assert (event.action, event.actor, event.at) == ("diagnosis_ended", agent, sh(20, 10, 55))
    assert event.data == {"arrive_by": "2026-11-20T14:55:00+08:00"}
    assert not diagnosis_can_end(ticket)


def test_four_hour_arrival_runs_through_the_night(agent, customer, station, make_asset, db):
    opened = sh(20, 16)
    ticket = open_ticket(
        agent, customer, TicketRequest(kind="repair", summary="Down", serial="PF3FAST"), now=opened
    )
    record_diagnosis_end(agent, ticket, now=sh(20, 17, 40))
    assert due(ticket)["arrive"] == sh(20, 21, 40)
    assert clocks(ticket)["arrive"].warn_at == sh(20, 20, 40)


def test_diagnosis_end_keeps_the_promise_given_at_opening(agent, open_repair, make_user, now):
    ticket = open_repair("PF3FAST")
    admin = make_user("admin1", role="admin")
    quicker = TicketTargets(
        respond=Target(kind="duration", clock="24x7", amount=timedelta(minutes=10)),
        arrive=Target(
            kind="duration", clock="24x7", amount=timedelta(hours=2), starts="diagnosis_ended"
        ),
        resolve=Target(kind="duration", clock="24x7", amount=timedelta(hours=8)),
    )
    set_targets(admin, "onsite_4h", "repair", quicker, now=now)
    record_diagnosis_end(agent, ticket, now=sh(20, 10, 40))
    assert due(ticket) == {
        "respond": sh(20, 11),
        "arrive": sh(20, 14, 40),
        "resolve": sh(21, 10, 30),
    }


def test_diagnosis_end_is_recorded_once(agent, open_repair):
    ticket = open_repair("PF3FAST")
    record_diagnosis_end(agent, ticket, now=sh(20, 10, 50))
    with pytest.raises(TicketStateError, match="already recorded"):
        record_diagnosis_end(agent, ticket, now=sh(20, 11, 50))
    assert ticket.diagnosis_ended_at == sh(20, 10, 50)


def test_diagnosis_end_only_for_four_hour_repairs(agent, open_repair):
    ticket = open_repair("PF3ONSITE")
    assert not diagnosis_can_end(ticket)
    with pytest.raises(TicketStateError, match="4-hour"):
        record_diagnosis_end(agent, ticket, now=sh(20, 11))
    assert ticket.diagnosis_ended_at is None


def test_diagnosis_end_not_after_arrival(agent, open_repair):
    ticket = open_repair("PF3FAST")
    change_status(agent, ticket, "accepted", now=sh(20, 10, 40))
    change_status(agent, ticket, "on_site", now=sh(20, 13))
    with pytest.raises(TicketStateError, match="on site"):
        record_diagnosis_end(agent, ticket, now=sh(20, 13, 5))


def test_diagnosis_end_not_on_a_closed_ticket(agent, open_repair):
    ticket = open_repair("PF3FAST")
    change_status(agent, ticket, "cancelled", now=sh(20, 10, 40), reason="duplicate")
    with pytest.raises(TicketStateError, match="no longer open"):
        record_diagnosis_end(agent, ticket, now=sh(20, 10, 45))


def test_diagnosis_end_cannot_undo_a_breach(agent, open_repair):
    ticket = open_repair("PF3FAST")
    clocks(ticket)["arrive"].breached_at = sh(20, 14, 31)
    with pytest.raises(TicketStateError, match="breached"):
        record_diagnosis_end(agent, ticket, now=sh(20, 14, 40))


def test_station_user_cannot_end_the_diagnosis(make_user, open_repair, station):
    ticket = open_repair("PF3FAST")
    engineer = make_user("bj01", role="station", station_code="BJ-01")
    with pytest.raises(TicketPermissionError):
        record_diagnosis_end(engineer, ticket, now=sh(20, 10, 40))


# Asset correction


def test_correcting_the_asset_recomputes_coverage_level_and_clocks(agent, open_repair):
    ticket = open_repair("PF3DEPOT")
    assert (ticket.service_level, set(clocks(ticket))) == ("depot", {"respond", "resolve"})
    change_status(agent, ticket, "accepted", now=sh(20, 11))
    respond_id = clocks(ticket)["respond"].id

    event = correct_asset(agent, ticket, "PF3ONSITE", now=sh(20, 11, 30), reason="wrong machine")
    assert ticket.asset.serial == "PF3ONSITE"
    assert (ticket.service_level, ticket.covered, ticket.coverage_basis) == (
        "onsite",
        True,
        ["onsite"],
    )
    assert ticket.sla_targets["arrive"]["kind"] == "end_of_next_business_day"
    assert due(ticket) == {
        "respond": sh(20, 14, 30),
        "arrive": sh(23, 18),
        "resolve": sh(25, 10, 30),
    }
    assert clocks(ticket)["respond"].met_at == sh(20, 11)  # met clocks keep their result
    assert clocks(ticket)["respond"].id == respond_id
    assert (event.action, event.reason, event.actor) == ("asset_corrected", "wrong machine", agent)
    assert event.data == {
        "old_serial": "PF3DEPOT",
        "new_serial": "PF3ONSITE",
        "old_service_level": "depot",
        "new_service_level": "onsite",
        "old_covered": True,
        "new_covered": True,
        "old_billable": False,
        "new_billable": False,
        "old_basis": ["depot"],
        "new_basis": ["onsite"],
    }


def test_correction_to_a_lower_level_stops_the_arrival_clock(agent, open_repair):
    ticket = open_repair("PF3ONSITE")
    correct_asset(agent, ticket, "PF3DEPOT", now=sh(20, 11), reason="it is the desktop")
    assert ticket.service_level == "depot"
    assert clocks(ticket)["arrive"].stopped_at == sh(20, 11)
    assert ticket.sla_targets["arrive"] is None
    assert due(ticket)["respond"] == sh(20, 14, 30)
    assert due(ticket)["resolve"] == sh(27, 10, 30)


def test_correction_uses_the_entitlements_on_the_ticket_date(
    agent, customer, make_asset, open_repair
):
    make_asset(customer, "PF3ENDED", entitlements=[("onsite", date(2024, 1, 1), OPENED.date())])
    ticket = open_repair("PF3DEPOT")
    correct_asset(agent, ticket, "PF3ENDED", now=sh(23, 10), reason="serial misread")
    assert (ticket.covered, ticket.service_level) == (True, "onsite")


def test_correction_after_arrival_meets_the_new_arrival_target_when_reached(agent, open_repair):
    ticket = open_repair("PF3DEPOT")
    change_status(agent, ticket, "accepted", now=sh(20, 11))
    change_status(agent, ticket, "on_site", now=sh(20, 15))
    correct_asset(agent, ticket, "PF3ONSITE", now=sh(20, 16), reason="onsite contract found")
    assert clocks(ticket)["arrive"].met_at == sh(20, 15)
    assert clocks(ticket)["arrive"].met is True


def test_correction_while_waiting_keeps_the_clocks_paused(agent, open_repair):
    ticket = open_repair("PF3DEPOT")
    change_status(agent, ticket, "accepted", now=sh(20, 11))
    change_status(agent, ticket, "waiting_customer", now=sh(20, 14))
    correct_asset(agent, ticket, "PF3ONSITE", now=sh(20, 15), reason="wrong machine")
    assert clocks(ticket)["arrive"].paused_since == sh(20, 15)
    assert clocks(ticket)["resolve"].paused_since == sh(20, 14)
    change_status(agent, ticket, "accepted", now=sh(20, 16))  # 2 business hours paused
    assert due(ticket)["arrive"] == sh(24, 11)
    assert due(ticket)["resolve"] == sh(25, 12, 30)


@pytest.mark.parametrize(
    ("serial", "message"),
    [("NOPE", "no machine"), ("PF3OTHER", "another customer"), ("PF3ONSITE", "already")],
)
def test_correction_needs_another_machine_of_the_customer(
    agent, open_repair, make_customer, make_asset, serial, message
):
    other = make_customer("C0002", phones=("139 0000 0000",))
    make_asset(other, "PF3OTHER", entitlements=[("onsite", *ACTIVE)])
    ticket = open_repair("PF3ONSITE")
    with pytest.raises(TicketInputError, match=message) as refused:
        correct_asset(agent, ticket, serial, now=sh(20, 11), reason="wrong")
    assert refused.value.field == "serial"
    assert ticket.asset.serial == "PF3ONSITE"


def test_correction_needs_a_reason(agent, open_repair):
    ticket = open_repair("PF3ONSITE")
    with pytest.raises(TicketInputError) as refused:
        correct_asset(agent, ticket, "PF3DEPOT", now=sh(20, 11), reason=" ")
    assert refused.value.field == "reason"


def test_correction_only_on_open_repairs(agent, customer, open_repair, now):
    complaint = open_ticket(agent, customer, TicketRequest(kind="complaint", summary="x"), now=now)
    with pytest.raises(TicketStateError, match="repair"):
        correct_asset(agent, complaint, "PF3DEPOT", now=sh(20, 11), reason="x")
    ticket = open_repair("PF3ONSITE")
    change_status(agent, ticket, "cancelled", now=sh(20, 11), reason="dup")
    with pytest.raises(TicketStateError, match="no longer open"):
        correct_asset(agent, ticket, "PF3DEPOT", now=sh(20, 12), reason="x")


def test_station_user_cannot_correct_the_asset(make_user, open_repair, station):
    ticket = open_repair("PF3ONSITE")
    engineer = make_user("bj01", role="station", station_code="BJ-01")
    with pytest.raises(TicketPermissionError):
        correct_asset(engineer, ticket, "PF3DEPOT", now=sh(20, 11), reason="x")


def test_changes_survive_a_round_trip_to_the_database(agent, open_repair, db):
    ticket = open_repair()
    change_status(agent, ticket, "accepted", now=sh(20, 11), reason="on it")
    db.session.commit()
    db.session.expire_all()
    events = db.session.scalars(
        sa.select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id)
    ).all()
    assert [(e.action, e.from_status, e.to_status) for e in events] == [
        ("created", None, "new"),
        ("dispatch", "new", "dispatched"),
        ("status", "dispatched", "accepted"),
    ]
    assert events[-1].at == sh(20, 11).astimezone(UTC)
    assert clocks(ticket)["respond"].met_at == sh(20, 11)


def test_the_system_changes_a_status_without_an_actor(open_repair, station):
    ticket = open_repair(dispatch=False)
    ticket.station = station
    assert "dispatched" in next_statuses(None, ticket)
    event = change_status(None, ticket, "dispatched", now=sh(20, 10, 31))
    assert (event.actor, event.to_status) == (None, "dispatched")


# A repair is resolved only with its closing records


@pytest.mark.parametrize("role", ["agent", "station", "supervisor"])
def test_a_repair_is_not_resolved_by_a_plain_status_change(make_user, open_repair, role):
    ticket = open_repair()
    user = make_user(f"u-{role}", role=role, station_code="BJ-01" if role == "station" else None)
    change_status(user, ticket, "accepted", now=sh(20, 11))
    assert "resolved" not in next_statuses(user, ticket)
    with pytest.raises(TicketStateError, match="closing records"):
        change_status(user, ticket, "resolved", now=sh(20, 12))
    assert ticket.status == "accepted" and ticket.events[-1].to_status == "accepted"
    with pytest.raises(TransitionError):
        change_status(user, ticket, "closed", now=sh(20, 12))
    assert may_resolve(user, ticket)
    close_repair(user, ticket, resolution="New fan.", parts=[], now=sh(20, 13))
    assert ticket.status == "resolved" and not may_resolve(user, ticket)
    assert next_statuses(user, ticket)[-1] == "closed"
    change_status(user, ticket, "closed", now=sh(20, 14))
    assert ticket.status == "closed"
