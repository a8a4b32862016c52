"""Closing a repair with its warranty records, and booking the visit."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from servicedesk.customers.models import Entitlement
from servicedesk.tickets.closing import ClosingError, adp_used_on_asset, book_visit, close_repair
from servicedesk.tickets.intake import TicketRequest, open_ticket
from servicedesk.tickets.lifecycle import TransitionError
from servicedesk.tickets.models import TicketEvent, TicketPart
from servicedesk.tickets.services import TicketInputError, TicketPermissionError, change_status
from servicedesk.warranty.closing import PartUsed

ACTIVE = (date(2025, 3, 1), date(2028, 2, 29))
REPAIR_DAY = date(2026, 11, 20)  # the conftest's ``now`` in Shanghai


@pytest.fixture
def station(make_station):
    return make_station("BJ-01")


@pytest.fixture
def engineer(make_user, station):
    return make_user("bj01", role="station", station_code="BJ-01")


@pytest.fixture
def customer(make_customer, make_asset):
    customer = make_customer()
    make_asset(customer, "PF3KYD", entitlements=[("onsite", *ACTIVE), ("kyd", *ACTIVE)])
    make_asset(customer, "PF3PLAIN", entitlements=[("onsite", *ACTIVE)])
    make_asset(
        customer,
        "PF3ADP",
        purchase_price=Decimal("1000.00"),
        entitlements=[("onsite", *ACTIVE), ("adp", *ACTIVE)],
    )
    return customer


@pytest.fixture
def on_site_repair(make_user, customer, station, engineer, now):
    """A repair of ``serial`` dispatched to BJ-01 and worked on site by its engineer."""
    agent = make_user("agent1")

    def make(serial="PF3PLAIN", damage="none"):
        ticket = open_ticket(
            agent,
            customer,
            TicketRequest(kind="repair", summary="Broken", serial=serial, damage=damage),
            now=now,
        )
        if ticket.status == "new":
            ticket.station = station
            change_status(agent, ticket, "dispatched", now=now)
        ticket.station = station
        change_status(engineer, ticket, "accepted", now=now)
        change_status(engineer, ticket, "on_site", now=now)
        return ticket

    return make


def drive(retained=None, **extra) -> PartUsed:
    return PartUsed(
        kind="drive",
        part_no="SSD-512",
        faulty_serial="S-OLD",
        replacement_serial="S-NEW",
        retained_by_customer=retained,
        **extra,
    )


def test_kyd_drive_stays_with_the_customer(on_site_repair, engineer, now):
    ticket = on_site_repair("PF3KYD")
    decision = close_repair(
        engineer, ticket, resolution="Replaced the SSD", parts=[drive(True)], now=now
    )
    assert ticket.status == "resolved"
    [part] = ticket.parts
    assert part.drive_disposition == "retained_by_customer"
    assert part.retained_by_customer is True
    assert part.charged_to == "warranty"
    assert ticket.billable_amount == 0
    assert ticket.resolution == "Replaced the SSD"
    assert decision.drives_kept


def test_kyd_drive_not_recorded_as_kept_is_refused(on_site_repair, engineer, now):
    ticket = on_site_repair("PF3KYD")
    with pytest.raises(ClosingError) as refused:
        close_repair(engineer, ticket, resolution="SSD", parts=[drive(None)], now=now)
    assert "keep-your-drive" in str(refused.value.reasons[0])


def test_without_kyd_the_drive_is_returned_to_the_maker(on_site_repair, engineer, now):
    ticket = on_site_repair("PF3PLAIN")
    close_repair(engineer, ticket, resolution="SSD", parts=[drive(False)], now=now)
    [part] = ticket.parts
    assert part.drive_disposition == "return_to_maker"
    assert part.charged_to == "warranty"


def test_without_kyd_the_customer_cannot_keep_the_drive(on_site_repair, engineer, now):
    ticket = on_site_repair("PF3PLAIN")
    with pytest.raises(ClosingError) as refused:
        close_repair(engineer, ticket, resolution="SSD", parts=[drive(True)], now=now)
    assert "returned to the maker" in str(refused.value.reasons[0])


def screen(value: str, *, whole_unit=False) -> PartUsed:
    return PartUsed(
        kind="screen",
        part_no="LCD-14",
        faulty_serial="U-OLD" if whole_unit else "",
        replacement_serial="U-NEW" if whole_unit else "",
        value=Decimal(value),
        whole_unit=whole_unit,
    )


def test_adp_repairs_count_towards_the_purchase_price_and_go_billable_beyond(
    on_site_repair, engineer, now
):
    first = on_site_repair("PF3ADP", damage="liquid")
    close_repair(engineer, first, resolution="Screen", parts=[screen("700")], now=now)
    assert first.parts[0].charged_to == "adp"
    assert first.parts[0].adp_value == Decimal("700")
    assert adp_used_on_asset(first.asset_id) == Decimal("700")

    second = on_site_repair("PF3ADP", damage="drop")
    with pytest.raises(ClosingError) as refused:
        close_repair(engineer, second, resolution="Screen", parts=[screen("500")], now=now)
    assert any("quote" in str(reason) for reason in refused.value.reasons)

    decision = close_repair(
        engineer,
        second,
        resolution="Screen",
        parts=[screen("500")],
        quote="Screen beyond ADP: 200.00 CNY",
        now=now,
    )
    [part] = second.parts
    assert decision.adp_within_limit == Decimal("300")
    assert second.billable_amount == Decimal("200")
    assert part.adp_value == Decimal("300")
    assert adp_used_on_asset(second.asset_id) == Decimal("1000")
    assert second.quote == "Screen beyond ADP: 200.00 CNY"


def test_whole_unit_replacement_ends_adp_on_the_repair_day(on_site_repair, engineer, now, db):
    ticket = on_site_repair("PF3ADP", damage="drop")
    close_repair(
        engineer,
        ticket,
        resolution="Unit replaced",
        parts=[screen("900", whole_unit=True)],
        now=now,
        status="closed",
    )
    adp = db.session.scalar(
        sa.select(Entitlement).where(
            Entitlement.asset_id == ticket.asset_id, Entitlement.offering == "adp"
        )
    )
    assert adp.end == REPAIR_DAY
    assert ticket.status == "closed"
    resolved = next(event for event in ticket.events if event.to_status == "resolved")
    assert resolved.data["adp_ended"] == [
        {"entitlement": adp.id, "old_end": ACTIVE[1].isoformat(), "new_end": "2026-11-20"}
    ]
    assert [event.to_status for event in ticket.events][-2:] == ["resolved", "closed"]


def test_whole_unit_under_hardware_warranty_keeps_adp(on_site_repair, engineer, now, db):
    ticket = on_site_repair("PF3ADP")
    close_repair(
        engineer, ticket, resolution="Unit", parts=[screen("900", whole_unit=True)], now=now
    )
    adp = db.session.scalar(
        sa.select(Entitlement).where(
            Entitlement.asset_id == ticket.asset_id, Entitlement.offering == "adp"
        )
    )
    assert adp.end == ACTIVE[1]
    assert ticket.parts[0].charged_to == "warranty"


def test_battery_is_billable_and_needs_a_quote(on_site_repair, engineer, now):
    ticket = on_site_repair("PF3PLAIN")
    battery = PartUsed(kind="battery", part_no="BAT-57", value=Decimal("450"))
    with pytest.raises(ClosingError) as refused:
        close_repair(engineer, ticket, resolution="Battery", parts=[battery], now=now)
    assert [str(reason) for reason in refused.value.reasons] == [
        "The repair includes billable work: enter the quote given to the customer."
    ]
    close_repair(engineer, ticket, resolution="Battery", parts=[battery], quote="450 CNY", now=now)
    assert ticket.parts[0].charged_to == "billable"
    assert ticket.billable_amount == Decimal("450")
    assert ticket.closing_decision["quote_required"] is True


def test_violations_refuse_with_nothing_written(on_site_repair, engineer, now, db):
    ticket = on_site_repair("PF3KYD")
    events_before = len(ticket.events)
    bad = [
        PartUsed(kind="drive", part_no="", retained_by_customer=False),
        PartUsed(kind="memory", part_no="M" * 61, value=Decimal("-1")),
    ]
    with pytest.raises(ClosingError) as refused:
        close_repair(engineer, ticket, resolution="", parts=bad, now=now)
    messages = [str(reason) for reason in refused.value.reasons]
    assert "Describe the resolution: what was wrong and what was done." in messages
    assert any("part number has at most 60" in message for message in messages)
    assert any("serial number of the faulty drive" in message for message in messages)
    assert any("cannot be negative" in message for message in messages)
    db.session.flush()
    assert ticket.status == "on_site"
    assert ticket.closing_decision is None
    assert ticket.resolution == ""
    assert db.session.scalar(sa.select(sa.func.count()).select_from(TicketPart)) == 0
    assert len(ticket.events) == events_before


def test_closing_follows_the_lifecycle(on_site_repair, engineer, now, make_user):
    ticket = on_site_repair("PF3PLAIN")
    close_repair(engineer, ticket, resolution="Fixed", parts=[], now=now)
    change_status(engineer, ticket, "closed", now=now)
    with pytest.raises(TransitionError):
        close_repair(engineer, ticket, resolution="Again", parts=[], now=now)


def test_another_station_cannot_close(on_site_repair, make_station, make_user, now):
    ticket = on_site_repair("PF3PLAIN")
    make_station("BJ-02")
    other = make_user("bj02", role="station", station_code="BJ-02")
    with pytest.raises(TicketPermissionError):
        close_repair(other, ticket, resolution="Fixed", parts=[], now=now)
    with pytest.raises(TicketPermissionError):
        book_visit(other, ticket, now + timedelta(hours=1), now + timedelta(hours=3), now=now)


def test_booking_the_visit_schedules_the_repair(on_site_repair, engineer, now):
    ticket = on_site_repair("PF3PLAIN")
    change_status(engineer, ticket, "scheduled", now=now)
    change_status(engineer, ticket, "accepted", now=now)
    starts, ends = now + timedelta(hours=20), now + timedelta(hours=22)
    event = book_visit(engineer, ticket, starts, ends, now=now)
    assert ticket.status == "scheduled"
    assert (ticket.visit_starts_at, ticket.visit_ends_at) == (starts, ends)
    assert event.data == {"visit_starts_at": starts.isoformat(), "visit_ends_at": ends.isoformat()}
    assert isinstance(event, TicketEvent)


@pytest.mark.parametrize(
    ("start_hours", "end_hours"), [(3, 2), (-3, -1)], ids=["ends-before-start", "past"]
)
def test_bad_visit_windows_are_refused(on_site_repair, engineer, now, start_hours, end_hours):
    ticket = on_site_repair("PF3PLAIN")
    change_status(engineer, ticket, "scheduled", now=now)
    change_status(engineer, ticket, "accepted", now=now)
    with pytest.raises(TicketInputError):
        book_visit(
            engineer,
            ticket,
            now + timedelta(hours=start_hours),
            now + timedelta(hours=end_hours),
            now=now,
        )
    assert ticket.status == "accepted"
