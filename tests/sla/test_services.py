"""SLA services on real tickets: clocks started, restarted, paused, resumed; the target table."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from servicedesk.notifications.models import Notification
from servicedesk.sla import services
from servicedesk.sla.calendar import BusinessCalendar, TwentyFourSeven
from servicedesk.sla.models import SlaClock, SlaTargetChange, SlaTargetSetting, TicketPause
from servicedesk.sla.services import (
    calendar_for,
    current_target_table,
    pause,
    record_status,
    restart_clocks,
    resume,
    set_targets,
    start_clocks,
)
from servicedesk.sla.targets import Target, TicketTargets, default_targets, targets_for
from servicedesk.tickets.intake import TicketRequest, open_ticket

SHANGHAI = ZoneInfo("Asia/Shanghai")
ACTIVE = (date(2025, 3, 1), date(2028, 2, 29))


def sh(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """A Shanghai wall-clock instant in 2026."""
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


FRIDAY = sh(11, 20, 10, 30)  # the conftest's ``now``


@pytest.fixture
def agent(make_user):
    return make_user("agent1")


@pytest.fixture
def admin(make_user):
    return make_user("admin1", role="admin")


@pytest.fixture
def customer(make_customer, make_asset, make_station):
    make_station("BJ-01", four_hour=("北京",))
    customer = make_customer()
    make_asset(customer, "PF3FAST", entitlements=[("onsite_4h", *ACTIVE)])
    make_asset(customer, "PF3ONSITE", entitlements=[("onsite", *ACTIVE)])
    make_asset(customer, "PF3DEPOT", entitlements=[("depot", *ACTIVE)])
    make_asset(customer, "PF3EXPIRED", entitlements=[("depot", date(2022, 1, 1), date(2023, 1, 1))])
    return customer


@pytest.fixture
def open_one(agent, customer):
    def make(kind="repair", serial=None, *, now=FRIDAY, answered=False):
        request = TicketRequest(kind=kind, summary="x", serial=serial, answered=answered)
        return open_ticket(agent, customer, request, now=now)

    return make


def clocks(ticket) -> dict[str, SlaClock]:
    return {clock.target: clock for clock in ticket.clocks}


def due(ticket) -> dict[str, datetime]:
    return {name: clock.due_at for name, clock in clocks(ticket).items()}


@pytest.mark.parametrize(
    ("kind", "serial", "level", "expected", "clock"),
    [
        (
            "repair",
            "PF3FAST",
            "onsite_4h",
            {
                "respond": sh(11, 20, 11),
                "arrive": sh(11, 20, 14, 30),
                "resolve": sh(11, 21, 10, 30),
            },
            "24x7",
        ),
        (
            "repair",
            "PF3ONSITE",
            "onsite",
            # arrive: end of the next business day (Monday); resolve: 3 business days
            {
                "respond": sh(11, 20, 12, 30),
                "arrive": sh(11, 23, 18),
                "resolve": sh(11, 25, 10, 30),
            },
            "business",
        ),
        (
            "repair",
            "PF3DEPOT",
            "depot",
            {"respond": sh(11, 20, 14, 30), "resolve": sh(11, 27, 10, 30)},
            "business",
        ),
        (
            "repair",
            "PF3EXPIRED",
            "billable",
            {"respond": sh(11, 20, 14, 30), "resolve": sh(11, 27, 10, 30)},
            "business",
        ),
        (
            "complaint",
            None,
            None,
            {"respond": sh(11, 20, 12, 30), "resolve": sh(11, 25, 10, 30)},
            "business",
        ),
        ("inquiry", None, None, {"respond": sh(11, 20, 12, 30)}, "business"),
        ("presales", "PF3FAST", None, {"respond": sh(11, 20, 12, 30)}, "business"),
    ],
)
def test_start_clocks_due_times_per_level_and_kind(open_one, kind, serial, level, expected, clock):
    ticket = open_one(kind, serial)
    assert ticket.service_level == level
    assert due(ticket) == expected
    for started in ticket.clocks:
        assert started.clock == clock
        assert started.timezone == "Asia/Shanghai"
        assert started.started_at == FRIDAY
        assert started.original_due_at == started.due_at
        assert started.met_at is started.stopped_at is started.paused_since is None


def test_warning_falls_at_three_quarters_of_the_clock_time(open_one):
    ticket = open_one("repair", "PF3ONSITE")
    # respond: 2 business hours from 10:30 -> warn after 1.5 h; arrive: Friday 10:30 to
    # Monday 18:00 is 16.5 business hours -> warn after 12.375 h (Monday 13:52:30)
    assert clocks(ticket)["respond"].warn_at == sh(11, 20, 12)
    assert clocks(ticket)["arrive"].warn_at == datetime(2026, 11, 23, 13, 52, 30, tzinfo=SHANGHAI)
    fast = open_one("repair", "PF3FAST")
    assert clocks(fast)["arrive"].warn_at == sh(11, 20, 13, 30)


def test_four_hour_clocks_run_around_the_clock(open_one):
    ticket = open_one("repair", "PF3FAST", now=sh(11, 20, 22))  # Friday night
    assert due(ticket) == {
        "respond": sh(11, 20, 22, 30),
        "arrive": sh(11, 21, 2),
        "resolve": sh(11, 21, 22),
    }


def test_business_clocks_skip_national_day_and_count_its_make_up_saturday(open_one):
    ticket = open_one("repair", "PF3ONSITE", now=sh(10, 1, 10))  # National Day holiday
    assert due(ticket) == {
        "respond": sh(10, 8, 11),
        "arrive": sh(10, 8, 18),
        "resolve": sh(10, 10, 18),  # Saturday 10 October is a working day (调休)
    }


def test_spring_festival_make_up_saturday_is_the_next_business_day(open_one):
    ticket = open_one("repair", "PF3ONSITE", now=sh(2, 13, 16))
    assert due(ticket)["arrive"] == sh(2, 14, 18)


def test_clocks_run_in_the_customers_time_zone(agent, make_customer, make_asset, make_station):
    customer = make_customer("C0009", phones=("139 0000 0009",))
    customer.timezone = "Asia/Urumqi"  # UTC+6: 10:30 in Shanghai is 08:30 there
    make_asset(customer, "PF3WEST", entitlements=[("onsite", *ACTIVE)])
    ticket = open_ticket(
        agent, customer, TicketRequest(kind="repair", summary="x", serial="PF3WEST"), now=FRIDAY
    )
    urumqi = ZoneInfo("Asia/Urumqi")
    assert clocks(ticket)["respond"].timezone == "Asia/Urumqi"
    assert due(ticket)["respond"] == datetime(2026, 11, 20, 11, 0, tzinfo=urumqi)


def test_inquiry_closed_at_once_has_its_respond_target_met(open_one):
    ticket = open_one("inquiry", answered=True)
    assert ticket.status == "closed"
    respond = clocks(ticket)["respond"]
    assert respond.met_at == FRIDAY
    assert respond.met is True


def test_the_promise_is_stored_on_the_ticket(open_one):
    ticket = open_one("repair", "PF3ONSITE")
    assert ticket.sla_targets == targets_for(default_targets(), "onsite", "repair").to_json()
    assert ticket.sla_targets["arrive"] == {
        "kind": "end_of_next_business_day",
        "clock": "business",
        "starts": "opened",
    }
    assert TicketTargets.from_json(ticket.sla_targets).resolve.days == 3


def test_start_clocks_takes_an_explicit_table(open_one, db):
    ticket = open_one("complaint")
    for clock in list(ticket.clocks):
        ticket.clocks.remove(clock)
    db.session.flush()
    table = default_targets().replace(
        "billable", "complaint", TicketTargets(respond=_hours(1), resolve=None)
    )
    start_clocks(ticket, now=FRIDAY, table=table)
    assert due(ticket) == {"respond": sh(11, 20, 11, 30)}
    assert ticket.sla_targets["resolve"] is None


# The target table


def _hours(hours: int) -> Target:
    return Target(kind="duration", clock="business", amount=timedelta(hours=hours))


def test_set_targets_applies_to_new_tickets_only_and_is_recorded(admin, open_one, db):
    before = open_one("repair", "PF3DEPOT")
    faster = TicketTargets(respond=_hours(1), resolve=Target(kind="business_days", days=2))
    change = set_targets(admin, "depot", "repair", faster, now=sh(11, 20, 11))
    assert isinstance(change, SlaTargetChange)
    assert (change.service_level, change.ticket_kind) == ("depot", "repair")
    assert change.before == targets_for(default_targets(), "depot", "repair").to_json()
    assert change.after == faster.to_json()
    assert (change.changed_by, change.changed_at) == (admin, sh(11, 20, 11))
    setting = db.session.get(SlaTargetSetting, ("depot", "repair"))
    assert (setting.targets, setting.updated_by_id) == (faster.to_json(), admin.id)

    after = open_one("repair", "PF3DEPOT", now=sh(11, 20, 12))
    assert due(after) == {"respond": sh(11, 20, 13), "resolve": sh(11, 24, 12)}
    assert due(before) == {"respond": sh(11, 20, 14, 30), "resolve": sh(11, 27, 10, 30)}
    assert before.sla_targets["respond"]["seconds"] == 4 * 3600
    assert targets_for(current_target_table(), "depot", "repair") == faster
    assert targets_for(current_target_table(), "onsite", "repair") == targets_for(
        default_targets(), "onsite", "repair"
    )


def test_set_targets_returns_none_when_nothing_changes(admin, db):
    same = targets_for(default_targets(), "onsite", "complaint")
    assert set_targets(admin, "onsite", "complaint", same, now=FRIDAY) is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SlaTargetChange)) == 0
    assert db.session.get(SlaTargetSetting, ("onsite", "complaint")) is None

    changed = TicketTargets(respond=_hours(1), resolve=Target(kind="business_days", days=3))
    assert set_targets(admin, "onsite", "complaint", changed, now=FRIDAY) is not None
    assert set_targets(admin, "onsite", "complaint", changed, now=FRIDAY) is None
    second = set_targets(admin, "onsite", "complaint", same, now=sh(11, 21, 9))
    assert second.before == changed.to_json()
    assert second.after == same.to_json()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SlaTargetChange)) == 2


def test_set_targets_refuses_an_unknown_row(admin):
    with pytest.raises(ValueError):
        set_targets(admin, "platinum", "repair", TicketTargets(respond=_hours(1)), now=FRIDAY)


def test_calendar_for_is_cached_per_clock_and_zone():
    business = calendar_for("business", "Asia/Shanghai")
    assert business is calendar_for("business", "Asia/Shanghai")
    assert isinstance(business, BusinessCalendar)
    assert business.zone == SHANGHAI
    always = calendar_for("24x7", "Asia/Shanghai")
    assert isinstance(always, TwentyFourSeven)
    assert always is calendar_for("24x7", "Asia/Shanghai")
    assert calendar_for("business", "Asia/Urumqi") is not business
    assert calendar_for.cache_info().currsize >= 3


# Restarting clocks


def test_restart_keeps_met_clocks_and_recomputes_the_others_in_place(open_one, db):
    ticket = open_one("repair", "PF3DEPOT")
    respond, resolve = clocks(ticket)["respond"], clocks(ticket)["resolve"]
    record_status(ticket, "accepted", now=sh(11, 20, 11), previous="new")
    resolve.warned_at = sh(11, 20, 11, 5)
    ticket.service_level = "onsite"
    restart_clocks(ticket, now=sh(11, 20, 11, 10))
    assert set(clocks(ticket)) == {"respond", "resolve", "arrive"}
    assert clocks(ticket)["respond"] is respond
    assert (respond.met_at, respond.due_at) == (sh(11, 20, 11), sh(11, 20, 14, 30))
    assert clocks(ticket)["resolve"] is resolve
    assert resolve.due_at == sh(11, 25, 10, 30)
    assert resolve.warned_at == sh(11, 20, 11, 5)  # a warning once sent stays recorded
    assert clocks(ticket)["arrive"].due_at == sh(11, 23, 18)
    assert clocks(ticket)["arrive"].started_at == FRIDAY
    assert ticket.sla_targets == targets_for(default_targets(), "onsite", "repair").to_json()


def test_restart_stops_a_clock_the_new_promise_lacks_and_revives_it_later(open_one):
    ticket = open_one("repair", "PF3ONSITE")
    arrive = clocks(ticket)["arrive"]
    ticket.service_level = "depot"
    restart_clocks(ticket, now=sh(11, 20, 11))
    assert arrive.stopped_at == sh(11, 20, 11)
    ticket.service_level = "onsite"
    restart_clocks(ticket, now=sh(11, 20, 12))
    assert clocks(ticket)["arrive"] is arrive
    assert arrive.stopped_at is None
    assert arrive.due_at == sh(11, 23, 18)


def test_restart_with_kept_promise_moves_only_the_diagnosis_clock(open_one, admin):
    ticket = open_one("repair", "PF3FAST")
    set_targets(
        admin, "onsite_4h", "repair", TicketTargets(respond=_hours(9)), now=sh(11, 20, 10, 35)
    )
    ticket.diagnosis_ended_at = sh(11, 20, 10, 45)
    restart_clocks(ticket, now=sh(11, 20, 10, 45), keep_promise=True)
    assert due(ticket) == {
        "respond": sh(11, 20, 11),
        "arrive": sh(11, 20, 14, 45),
        "resolve": sh(11, 21, 10, 30),
    }


def test_restart_keeps_notified_clocks_so_their_notifications_stay_valid(open_one, db):
    ticket = open_one("repair", "PF3ONSITE")
    respond = clocks(ticket)["respond"]
    respond.warned_at = sh(11, 20, 12)
    db.session.add(
        Notification(
            kind="sla_warning",
            audience="supervisors",
            ticket_id=ticket.id,
            clock_id=respond.id,
            created_at=sh(11, 20, 12),
        )
    )
    db.session.flush()
    ticket.service_level = "depot"
    restart_clocks(ticket, now=sh(11, 20, 12, 5))
    db.session.commit()
    notification = db.session.scalar(sa.select(Notification))
    assert db.session.get(SlaClock, notification.clock_id).due_at == sh(11, 20, 14, 30)


def test_restart_while_waiting_pauses_the_new_clocks(open_one):
    ticket = open_one("repair", "PF3DEPOT")
    record_status(ticket, "waiting_customer", now=sh(11, 20, 11), previous="new")
    ticket.status = "waiting_customer"
    ticket.service_level = "onsite"
    restart_clocks(ticket, now=sh(11, 20, 12))
    assert clocks(ticket)["arrive"].paused_since == sh(11, 20, 12)
    assert clocks(ticket)["resolve"].paused_since == sh(11, 20, 11)
    assert clocks(ticket)["resolve"].due_at == sh(11, 25, 11, 30)  # paused 11:00-12:00 so far


# Pausing and resuming


def test_pause_and_resume_are_idempotent(open_one, db):
    ticket = open_one("repair", "PF3ONSITE")
    pause(ticket, now=sh(11, 20, 14))
    pause(ticket, now=sh(11, 20, 15))
    assert [(p.started_at, p.ended_at) for p in ticket.pauses] == [(sh(11, 20, 14), None)]
    assert all(clock.paused_since == sh(11, 20, 14) for clock in ticket.clocks)
    resume(ticket, now=sh(11, 20, 16))
    first = due(ticket)
    resume(ticket, now=sh(11, 20, 17))
    assert due(ticket) == first
    assert first["resolve"] == sh(11, 25, 12, 30)
    assert [(p.started_at, p.ended_at) for p in ticket.pauses] == [(sh(11, 20, 14), sh(11, 20, 16))]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(TicketPause)) == 1


def test_resume_without_a_pause_changes_nothing(open_one):
    ticket = open_one("repair", "PF3ONSITE")
    before = {name: (c.due_at, c.warn_at) for name, c in clocks(ticket).items()}
    resume(ticket, now=sh(11, 20, 16))
    assert {name: (c.due_at, c.warn_at) for name, c in clocks(ticket).items()} == before


def test_resume_moves_the_warning_with_the_due_time(open_one):
    ticket = open_one("repair", "PF3ONSITE")
    record_status(ticket, "waiting_customer", now=sh(11, 20, 10, 45), previous="new")
    record_status(ticket, "dispatched", now=sh(11, 20, 11, 45), previous="waiting_customer")
    respond = clocks(ticket)["respond"]
    assert respond.met_at == sh(11, 20, 10, 45)  # waiting on the customer is a response
    resolve = clocks(ticket)["resolve"]
    assert resolve.due_at == sh(11, 25, 11, 30)
    # 3 business days = 27 h; warn after 20.25 h from Friday 10:30 -> Tuesday 12:45,
    # pushed by the hour paused -> 13:45
    assert resolve.warn_at == sh(11, 24, 13, 45)


def test_status_recorded_while_paused_then_cancelled_closes_the_pause(open_one):
    ticket = open_one("repair", "PF3ONSITE")
    record_status(ticket, "waiting_customer", now=sh(11, 20, 14), previous="new")
    record_status(ticket, "cancelled", now=sh(11, 20, 15), previous="waiting_customer")
    assert ticket.pauses[0].ended_at == sh(11, 20, 15)
    assert all(c.stopped_at == sh(11, 20, 15) for c in ticket.clocks if c.met_at is None)
    assert all(c.paused_since is None for c in ticket.clocks)


def test_record_status_meets_each_target_once(open_one):
    ticket = open_one("repair", "PF3ONSITE")
    record_status(ticket, "on_site", now=sh(11, 20, 15), previous="accepted")
    record_status(ticket, "resolved", now=sh(11, 20, 16), previous="on_site")
    record_status(ticket, "closed", now=sh(11, 21, 9), previous="resolved")
    assert {name: c.met_at for name, c in clocks(ticket).items()} == {
        "respond": sh(11, 20, 15),
        "arrive": sh(11, 20, 15),
        "resolve": sh(11, 20, 16),
    }


def test_met_statuses_cover_every_target():
    assert set(services.MET_STATUSES) == {"respond", "arrive", "resolve"}
    assert services.MET_STATUSES["resolve"] <= services.MET_STATUSES["respond"]
