import threading
from collections import Counter
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa

from servicedesk.notifications.models import Notification
from servicedesk.notifications.services import notifications_for
from servicedesk.sla.models import SlaClock
from servicedesk.sla.services import calendar_for, record_status
from servicedesk.sla.sweep import (
    BATCH_SIZE,
    BREACH,
    WARNING,
    claim_batch,
    due_clocks,
    insert_many,
    run_sweep,
)
from servicedesk.tickets.intake import TicketRequest, open_ticket
from servicedesk.tickets.models import Ticket, TicketEvent

ACTIVE = (date(2025, 1, 1), date(2027, 12, 31))
SECOND = timedelta(seconds=1)
FAR_FUTURE = timedelta(days=60)


@pytest.fixture
def agent(make_user):
    return make_user("agent1")


@pytest.fixture
def customer(make_customer):
    return make_customer()


@pytest.fixture
def open_repair(db, agent, customer, make_asset, now):
    """Open a depot repair (respond and resolve clocks) on a new asset, optionally at a
    station."""
    serials = iter(range(1, 10_000))

    def open_(*, station=None, entitlement="depot", at=None):
        serial = f"PF3SW{next(serials):04d}"
        make_asset(customer, serial, entitlements=[(entitlement, *ACTIVE)])
        request = TicketRequest(kind="repair", summary="Does not boot", serial=serial)
        ticket = open_ticket(agent, customer, request, now=at or now)
        ticket.station = station
        db.session.flush()
        return ticket

    return open_


def _clock(ticket: Ticket, target: str) -> SlaClock:
    return next(clock for clock in ticket.clocks if clock.target == target)


def _notices(db, **filters) -> list[Notification]:
    query = sa.select(Notification).filter_by(**filters).order_by(Notification.id)
    return list(db.session.scalars(query))


def test_warning_comes_at_75_percent_of_the_target_and_not_before(db, open_repair):
    ticket = open_repair()
    respond = _clock(ticket, "respond")
    calendar = calendar_for(respond.clock, respond.timezone)
    elapsed = calendar.between(respond.started_at, respond.warn_at)
    assert elapsed / calendar.between(respond.started_at, respond.due_at) == 0.75
    warn_at, clock_id = respond.warn_at, respond.id
    db.session.commit()

    early = run_sweep(warn_at - SECOND)
    assert (early.warnings, early.breaches, early.notifications) == (0, 0, 0)
    assert _notices(db) == []

    on_time = run_sweep(warn_at)
    assert (on_time.warnings, on_time.breaches) == (1, 0)
    [notice] = _notices(db)
    assert (notice.kind, notice.clock_id, notice.audience) == (WARNING, clock_id, "supervisors")
    assert db.session.get(SlaClock, clock_id).warned_at == warn_at


def test_breach_comes_once_the_due_time_has_passed(db, open_repair):
    ticket = open_repair()
    respond = _clock(ticket, "respond")
    due_at, clock_id = respond.due_at, respond.id
    db.session.commit()

    at_due = run_sweep(due_at)
    assert (at_due.warnings, at_due.breaches) == (1, 0)  # a due time is inclusive
    after = run_sweep(due_at + SECOND)
    assert (after.warnings, after.breaches) == (0, 1)
    clock = db.session.get(SlaClock, clock_id)
    assert clock.breached_at == due_at + SECOND
    assert clock.met is False
    assert [n.kind for n in _notices(db, clock_id=clock_id)] == [WARNING, BREACH]


def test_each_warning_and_breach_exactly_once_over_many_sweeps(db, open_repair, make_station, now):
    station = make_station()
    tickets = [open_repair(station=station), open_repair(), open_repair(entitlement="onsite")]
    clock_ids = [clock.id for ticket in tickets for clock in ticket.clocks]
    db.session.commit()

    totals = Counter()
    for hour in range(0, 24 * 14):
        result = run_sweep(now + timedelta(hours=hour))
        totals.update(result.as_dict())
    run_sweep(now + FAR_FUTURE)

    keys = Counter((n.clock_id, n.kind, n.audience) for n in _notices(db))
    assert set(keys.values()) == {1}
    assert {clock_id for clock_id, _kind, _audience in keys} == set(clock_ids)
    for clock_id in clock_ids:
        assert {kind for c, kind, _a in keys if c == clock_id} == {WARNING, BREACH}
    assert totals["warnings"] == totals["breaches"] == len(clock_ids)
    station_clocks = {clock.id for clock in tickets[0].clocks}
    assert {c for c, _k, audience in keys if audience == "station"} == station_clocks


def test_a_clock_found_past_due_is_marked_warned_but_only_the_breach_is_sent(db, open_repair, now):
    ticket = open_repair()
    clock_ids = {clock.id for clock in ticket.clocks}
    db.session.commit()

    result = run_sweep(now + FAR_FUTURE)
    assert (result.warnings, result.breaches) == (0, len(clock_ids))
    assert {(n.clock_id, n.kind) for n in _notices(db)} == {(c, BREACH) for c in clock_ids}
    for clock_id in clock_ids:
        clock = db.session.get(SlaClock, clock_id)
        assert clock.warned_at == clock.breached_at == now + FAR_FUTURE
    again = run_sweep(now + FAR_FUTURE + timedelta(days=1))
    assert (again.warnings, again.breaches, again.notifications) == (0, 0, 0)


def test_paused_clocks_are_not_warned_and_met_ones_neither(db, open_repair, now):
    ticket = open_repair()
    ticket.status = "waiting_customer"
    record_status(ticket, "waiting_customer", now=now + timedelta(minutes=10), previous="new")
    respond, resolve = _clock(ticket, "respond"), _clock(ticket, "resolve")
    assert respond.met_at is not None and resolve.paused_since is not None
    db.session.commit()

    result = run_sweep(now + FAR_FUTURE)
    assert (result.warnings, result.breaches) == (0, 0)
    assert _notices(db) == []


def test_resumed_clocks_are_swept_again(db, open_repair, now):
    ticket = open_repair()
    ticket.status = "waiting_customer"
    record_status(ticket, "waiting_customer", now=now + timedelta(minutes=10), previous="new")
    ticket.status = "accepted"
    record_status(ticket, "accepted", now=now + timedelta(days=2), previous="waiting_customer")
    resolve_id = _clock(ticket, "resolve").id
    db.session.commit()

    result = run_sweep(now + FAR_FUTURE)
    assert (result.warnings, result.breaches) == (0, 1)
    assert [n.clock_id for n in _notices(db)] == [resolve_id]


def test_met_clocks_are_not_warned(db, open_repair, now):
    ticket = open_repair()
    ticket.status = "resolved"
    record_status(ticket, "resolved", now=now + timedelta(minutes=5), previous="new")
    db.session.commit()

    assert run_sweep(now + FAR_FUTURE).as_dict()["notifications"] == 0
    assert _notices(db) == []


def test_clocks_of_a_cancelled_ticket_are_not_warned(db, open_repair, now):
    ticket = open_repair()
    ticket.status = "cancelled"
    record_status(ticket, "cancelled", now=now + timedelta(minutes=5), previous="new")
    assert all(clock.stopped_at is not None for clock in ticket.clocks)
    db.session.commit()

    assert run_sweep(now + FAR_FUTURE).as_dict()["notifications"] == 0


def test_complaint_notices_never_go_to_the_station_it_is_about(
    db, agent, customer, make_station, now
):
    station = make_station()
    complaint = open_ticket(
        agent, customer, TicketRequest(kind="complaint", summary="Engineer was rude"), now=now
    )
    complaint.station = station
    db.session.commit()

    result = run_sweep(now + FAR_FUTURE)
    assert result.breaches == 2
    notices = _notices(db)
    assert {n.audience for n in notices} == {"supervisors"}
    assert all(n.station_id is None for n in notices)


def test_a_station_hears_about_its_own_tickets_only(db, open_repair, make_station, make_user, now):
    north, south = make_station("BJ-01"), make_station("BJ-02")
    north_ticket, south_ticket = open_repair(station=north), open_repair(station=south)
    unassigned = open_repair()
    north_user = make_user("north", role="station", station_code="BJ-01")
    supervisor = make_user("boss", role="supervisor")
    numbers = {t.id: t.number for t in (north_ticket, south_ticket, unassigned)}
    db.session.commit()

    result = run_sweep(now + FAR_FUTURE)
    assert result.breaches == 6
    assert result.notifications == 6 + 4  # supervisors for all, stations for their two tickets

    north_seen = {item.notification.data["ticket_number"] for item in notifications_for(north_user)}
    assert north_seen == {numbers[north_ticket.id]}
    supervisor_seen = {item.notification.ticket_id for item in notifications_for(supervisor)}
    assert supervisor_seen == set(numbers)
    station_notices = _notices(db, audience="station")
    assert {(n.ticket_id, n.station_id) for n in station_notices} == {
        (north_ticket.id, north.id),
        (south_ticket.id, south.id),
    }


def test_notices_carry_what_the_screen_shows_and_the_history_records_them(db, open_repair, now):
    ticket = open_repair()
    respond = _clock(ticket, "respond")
    ticket_id, number, warn_at = ticket.id, ticket.number, respond.warn_at
    zone = calendar_for("business", respond.timezone).zone
    due_iso = respond.due_at.astimezone(zone).isoformat(timespec="seconds")
    db.session.commit()

    run_sweep(warn_at)
    [notice] = _notices(db)
    assert notice.data == {
        "target": "respond",
        "due_at": due_iso,
        "ticket_number": number,
        "ticket_kind": "repair",
        "service_level": "depot",
    }
    assert notice.data["due_at"].endswith("+08:00")
    assert notice.created_at == warn_at
    events = db.session.scalars(
        sa.select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.id)
    ).all()
    assert [e.action for e in events if e.action.startswith("sla_")] == ["sla_warning"]
    warning = events[-1]
    assert warning.action == "sla_warning"
    assert warning.actor_id is None and warning.at == warn_at
    assert warning.data == {"target": "respond", "due_at": due_iso}


def test_small_batches_sweep_everything(db, open_repair, now):
    tickets = [open_repair() for _ in range(7)]
    clock_count = sum(len(ticket.clocks) for ticket in tickets)
    db.session.commit()

    result = run_sweep(now + FAR_FUTURE, batch_size=3, workers=1)
    assert result.breaches == clock_count
    assert clock_count == 14
    assert result.batches == 5 + 1  # breaches 3+3+3+3+2, then one empty batch of warnings
    assert len(_notices(db, kind=BREACH)) == clock_count


def test_parallel_sweepers_share_the_work(db, open_repair, now):
    tickets = [open_repair() for _ in range(7)]
    clock_count = sum(len(ticket.clocks) for ticket in tickets)
    db.session.commit()

    result = run_sweep(now + FAR_FUTURE, batch_size=2, workers=3)
    assert (result.breaches, result.notifications) == (clock_count, clock_count)
    assert len(_notices(db, kind=BREACH)) == clock_count


@pytest.mark.parametrize("arguments", [{"batch_size": 0}, {"workers": 0}])
def test_sweep_arguments_must_be_positive(app, now, arguments):
    with pytest.raises(ValueError):
        run_sweep(now, **arguments)


def test_a_claimed_clock_cannot_be_claimed_again(db, open_repair, now):
    open_repair()
    db.session.commit()
    first = claim_batch(BREACH, now + FAR_FUTURE)
    assert len(first) == 2
    assert claim_batch(BREACH, now + FAR_FUTURE) == []
    db.session.rollback()
    assert len(claim_batch(BREACH, now + FAR_FUTURE)) == 2  # a rolled back claim is released


def test_bulk_insert_keeps_every_character(db, open_repair, now):
    ticket = open_repair()
    awkward = ["tab\there", "line\nbreak\r\n", "back\\slash", "\\N", "", "北京 ✓"]
    rows = [
        {
            "ticket_id": ticket.id,
            "at": now + timedelta(seconds=i),
            "actor_id": None,
            "action": "sla_warning",
            "reason": text,
            "data": {"text": text, "nested": [text, None]},
        }
        for i, text in enumerate(awkward)
    ]
    insert_many(TicketEvent, rows)
    stored = db.session.execute(
        sa.select(TicketEvent.reason, TicketEvent.data, TicketEvent.at, TicketEvent.actor_id)
        .where(TicketEvent.action == "sla_warning")
        .order_by(TicketEvent.at)
    ).all()
    assert [row.reason for row in stored] == awkward
    assert [row.data for row in stored] == [{"text": t, "nested": [t, None]} for t in awkward]
    assert [row.at for row in stored] == [now + timedelta(seconds=i) for i in range(6)]
    assert {row.actor_id for row in stored} == {None}


def test_sweep_uses_the_pending_indexes(db, now):
    """The claim conditions repeat the partial indexes' predicates term for term."""
    assert "ix_sla_clocks_breach_pending" in _claim_plan(db, BREACH, now)
    assert "ix_sla_clocks_warn_pending" in _claim_plan(db, WARNING, now)


def _claim_plan(db, kind, now) -> str:
    query = due_clocks(kind, now, BATCH_SIZE)
    connection = db.session.connection()
    compiled = query.compile(connection)
    values = {
        name: value.replace(tzinfo=None) if isinstance(value, datetime) else value
        for name, value in compiled.params.items()
    }
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        rows = connection.exec_driver_sql("EXPLAIN " + str(compiled), values).all()
    else:
        params = tuple(values[name] for name in compiled.positiontup)
        rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + str(compiled), params).all()
    return "\n".join(str(row) for row in rows)


def _sweep_concurrently(app, at, *, sweepers: int, batch_size: int):
    """Start ``sweepers`` threads at once, each with its own app context (and so its own
    session and connection); returns their results, re-raising any thread's error."""
    barrier = threading.Barrier(sweepers)
    results, errors = [None] * sweepers, []

    def sweep(index):
        try:
            with app.app_context():
                barrier.wait(timeout=30)
                results[index] = run_sweep(at, batch_size=batch_size)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=sweep, args=(i,)) for i in range(sweepers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    if errors:
        raise errors[0]
    return results


def _assert_each_notice_once(db, clock_ids, kind, audiences_per_clock):
    db.session.expire_all()
    notices = _notices(db, kind=kind)
    keys = Counter((n.clock_id, n.audience) for n in notices)
    assert set(keys.values()) == {1}
    assert {clock_id for clock_id, _audience in keys} == set(clock_ids)
    assert len(notices) == sum(audiences_per_clock[c] for c in clock_ids)
    events = db.session.scalars(sa.select(TicketEvent).where(TicketEvent.action == kind)).all()
    assert sorted(event.ticket_id for event in events) == sorted(
        db.session.scalars(sa.select(SlaClock.ticket_id).where(SlaClock.id.in_(clock_ids)))
    )


def _due_setup(open_repair, station, count):
    """``count`` onsite repairs, every other one at ``station``; their clocks by target."""
    tickets = [
        open_repair(entitlement="onsite", station=station if i % 2 else None) for i in range(count)
    ]
    audiences = {
        clock.id: 2 if ticket.station_id else 1 for ticket in tickets for clock in ticket.clocks
    }
    respond = [_clock(t, "respond") for t in tickets]
    return tickets, audiences, respond


def test_two_sweepers_at_once_send_each_notice_once(app, db, open_repair, make_station):
    station = make_station()
    _tickets, audiences, respond = _due_setup(open_repair, station, 12)
    warn_at = max(clock.warn_at for clock in respond)
    assert warn_at <= min(clock.due_at for clock in respond)
    respond_ids = [clock.id for clock in respond]
    db.session.commit()

    results = _sweep_concurrently(app, warn_at, sweepers=2, batch_size=2)
    assert sum(r.warnings for r in results) == len(respond_ids)
    assert sum(r.breaches for r in results) == 0
    _assert_each_notice_once(db, respond_ids, WARNING, audiences)


@pytest.mark.postgres
def test_two_postgres_sweepers_at_once_send_each_warning_and_breach_once(
    app, db, open_repair, make_station, now
):
    station = make_station()
    _tickets, audiences, respond = _due_setup(open_repair, station, 100)
    clock_ids = list(audiences)
    assert len(clock_ids) == 300
    warn_at = max(clock.warn_at for clock in respond)
    assert warn_at <= min(clock.due_at for clock in respond)
    respond_ids = [clock.id for clock in respond]
    db.session.commit()

    warned = _sweep_concurrently(app, warn_at, sweepers=2, batch_size=10)
    assert sum(r.warnings for r in warned) == len(respond_ids)
    _assert_each_notice_once(db, respond_ids, WARNING, audiences)

    breached = _sweep_concurrently(app, now + FAR_FUTURE, sweepers=2, batch_size=10)
    assert sum(r.breaches for r in breached) == len(clock_ids)
    assert sum(r.warnings for r in breached) == 0
    _assert_each_notice_once(db, clock_ids, BREACH, audiences)
    db.session.expire_all()
    unhandled = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(SlaClock)
        .where(sa.or_(SlaClock.warned_at.is_(None), SlaClock.breached_at.is_(None)))
    )
    assert unhandled == 0
