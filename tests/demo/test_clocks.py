"""Demo tickets carry the SLA clocks the live services would have given them."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from servicedesk.demo.loader import load_demo
from servicedesk.sla.models import SlaClock, TicketPause
from servicedesk.sla.reports import BoardFilters, Period, compliance, sla_board
from servicedesk.sla.services import record_status, start_clocks
from servicedesk.tickets.models import Ticket, TicketEvent

SEED = 5
SCALE = 0.05
CLOCK_FIELDS = (
    "target", "clock", "timezone", "started_at", "original_due_at", "due_at", "warn_at",
    "met_at", "paused_since", "stopped_at",
)  # fmt: skip


@pytest.fixture
def loaded(db, now):
    summary = load_demo(seed=SEED, scale=SCALE, now=now)
    db.session.flush()
    return summary


def stored(ticket: Ticket) -> list[tuple]:
    return sorted(tuple(getattr(clock, name) for name in CLOCK_FIELDS) for clock in ticket.clocks)


def test_every_demo_ticket_has_the_clocks_the_services_would_have_given_it(db, loaded):
    """Replaying each ticket's events through start_clocks and record_status gives exactly the
    clocks and waits the loader inserted."""
    tickets = db.session.scalars(sa.select(Ticket).order_by(Ticket.id)).all()
    assert loaded.clocks == db.session.scalar(sa.select(sa.func.count()).select_from(SlaClock))
    assert loaded.clocks >= len(tickets)
    for ticket in tickets:
        assert ticket.sla_targets is not None and ticket.sla_targets["respond"] is not None
        expected_clocks = stored(ticket)
        expected_pauses = [(p.started_at, p.ended_at) for p in ticket.pauses]
        events = db.session.scalars(
            sa.select(TicketEvent)
            .where(TicketEvent.ticket_id == ticket.id, TicketEvent.action == "status")
            .order_by(TicketEvent.id)
        ).all()
        for clock in list(ticket.clocks):
            ticket.clocks.remove(clock)
        for pause in list(ticket.pauses):
            ticket.pauses.remove(pause)
        db.session.flush()

        start_clocks(ticket, now=ticket.created_at)
        for event in events:
            record_status(ticket, event.to_status, now=event.at, previous=event.from_status)

        assert stored(ticket) == expected_clocks, ticket.number
        assert [(p.started_at, p.ended_at) for p in ticket.pauses] == expected_pauses


def test_settled_history_records_its_warnings_and_breaches(db, loaded):
    late = db.session.scalars(sa.select(SlaClock).where(SlaClock.met_at > SlaClock.due_at)).all()
    assert late
    assert all(clock.breached_at == clock.due_at for clock in late)
    assert all(clock.warned_at == clock.warn_at for clock in late)
    in_time = db.session.scalars(
        sa.select(SlaClock).where(SlaClock.met_at <= SlaClock.warn_at)
    ).all()
    assert in_time and all(c.warned_at is None and c.breached_at is None for c in in_time)
    running = db.session.scalars(
        sa.select(SlaClock).where(SlaClock.met_at.is_(None), SlaClock.stopped_at.is_(None))
    ).all()
    assert running and all(c.warned_at is None and c.breached_at is None for c in running)


def test_demo_board_and_compliance_have_realistic_figures(db, loaded, now):
    board = sla_board(BoardFilters(), now=now)
    assert board.breached > 0 and board.at_risk > 0
    report = compliance(Period.last_days(now.date(), "Asia/Shanghai", days=90), now=now)
    assert report.overall.met > report.overall.breached > 0
    assert {line.code for line in report.by_level} >= {"onsite", "depot", None}
    waiting = db.session.scalar(
        sa.select(sa.func.count()).select_from(TicketPause).where(TicketPause.ended_at.is_(None))
    )
    open_waiting = db.session.scalar(
        sa.select(sa.func.count()).select_from(Ticket).where(Ticket.status == "waiting_customer")
    )
    assert waiting == open_waiting
