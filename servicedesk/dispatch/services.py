"""Dispatching repairs to stations: on creation, from the waiting queue, and by hand.

The services load the candidate stations with their open-ticket counts, ask
:func:`~servicedesk.dispatch.rules.decide_dispatch`, store the decision on the ticket and record
a :class:`TicketEvent` (action ``dispatch``) saying who and why. They flush and never commit,
except :func:`dispatch_waiting`, the scheduler job, which commits after each ticket.

Capacity under concurrency. Counting a station's open tickets and adding one must not
interleave with another transaction doing the same, or two agents could both see the last
free place. On PostgreSQL the candidate station rows are locked (``SELECT ... FOR UPDATE``,
ordered by id so that two transactions never wait on each other in a cycle) *before* the open
tickets are counted; the locks last until the caller commits, and the count, a new statement
under READ COMMITTED, sees every ticket committed by the previous holder. Lock order
everywhere: the ticket row (sweep, re-dispatch, a repair sent back), then stations, then the
year's ticket counter (intake takes the number last, see
:func:`servicedesk.tickets.intake.open_ticket`); nothing that holds the counter waits for a
station. SQLite runs one writer at a time: there, intake's first write (the ticket counter
upsert) takes the write lock before dispatch counts, so dispatches follow one another.

A repair that leaves its station (:func:`send_back`) is not dispatched to that station again
automatically; a supervisor may still send it there by hand.

Complaints are never dispatched to a station: they go to supervisors.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from servicedesk.auth.models import User
from servicedesk.core.db import db
from servicedesk.dispatch.rules import (
    DispatchDecision,
    DispatchRequest,
    StationCandidate,
    decide_dispatch,
)
from servicedesk.sla.services import record_status
from servicedesk.stations.models import Station, StationCity
from servicedesk.stations.regions import region_for
from servicedesk.tickets.lifecycle import TransitionError, check_transition
from servicedesk.tickets.models import OPEN_STATUSES, Ticket, TicketEvent
from servicedesk.tickets.services import waiting_left_from
from servicedesk.warranty.coverage import N_, Reason

DISPATCH_ACTION = "dispatch"
SENT_BACK = "sent_back"
"""Marks the dispatch events of a repair leaving its station (data ``sent_back: true``)."""
BACK_TO_QUEUE = "new"
WAITING = "waiting"
DISPATCHED = "dispatched"
SUPERVISOR_ROLES = ("supervisor", "admin")
REASON_MAX = 1000
WAITING_BATCH = 500
"""How many waiting tickets one run of :func:`dispatch_waiting` looks at, at most."""
FALLBACK_LEVEL = "depot"
"""The level dispatch assumes for a repair without one (imported history): no 4-hour need."""

_NOT_A_REPAIR = N_("Only repairs are dispatched to stations; complaints go to supervisors.")
_NO_MACHINE = N_("The repair has no machine, so there is no city to dispatch it to.")
_NOT_OPEN = N_("The ticket is “%(current)s”: it is no longer open.")
_SUPERVISORS_ONLY = N_("Only supervisors and administrators can re-dispatch a repair.")
_UNKNOWN_STATION = N_("There is no station %(code)s.")
_SUSPENDED = N_("The station %(code)s is suspended and takes no repairs.")
_FULL = N_(
    "The station %(code)s is at capacity (%(open)s open repairs for a capacity of "
    "%(capacity)s). Tick “over capacity” to send the repair there anyway."
)
_REASON_NEEDED = N_("Say why the repair goes to this station.")
_REASON_TOO_LONG = N_("Write the reason in at most %(max)s characters.")
_CANNOT_MOVE = N_("The repair is “%(current)s”: it can no longer go to another station.")
_SAME_STATION = N_("The repair is already with %(code)s.")
_MANUAL = N_("Re-dispatched by hand by %(user)s: %(reason)s")
_MANUAL_OVER_CAPACITY = N_(
    "Re-dispatched by hand by %(user)s over the station's capacity: %(reason)s"
)
_SENT_BACK_TO_QUEUE = N_("Sent back from %(station)s to the dispatch queue by %(user)s: %(reason)s")


class DispatchError(Exception):
    """A dispatch the service refuses; ``reason`` says why in words a supervisor can read."""

    def __init__(self, reason: Reason, field: str | None = None):
        super().__init__(str(reason))
        self.reason = reason
        self.field = field


class DispatchPermissionError(DispatchError, PermissionError):
    """The actor may not re-dispatch."""


# --------------------------------------------------------------------------------------
# Candidates
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidates:
    """The locked candidate stations (by code) and what dispatch knows of each."""

    stations: Mapping[str, Station]
    candidates: tuple[StationCandidate, ...]


def dispatch_request(ticket: Ticket, *, also_returned: Iterable[str] = ()) -> DispatchRequest:
    """What the repair needs: its machine's city and region, product line and level, and the
    stations that may not have it again automatically: those that sent it back
    (:func:`returned_stations`) and ``also_returned``."""
    _check_repair(ticket)
    asset = ticket.asset
    return DispatchRequest(
        city=asset.city,
        region=region_for(asset.province, asset.city),
        product_line=asset.product_line,
        service_level=ticket.service_level or FALLBACK_LEVEL,
        returned_by=returned_stations(ticket) | frozenset(also_returned),
    )


def returned_stations(ticket: Ticket) -> frozenset[str]:
    """The codes of the stations that sent ``ticket`` back (see :func:`send_back`)."""
    return frozenset(
        event.data["previous_station"]
        for event in ticket.events
        if event.action == DISPATCH_ACTION
        and (event.data or {}).get(SENT_BACK)
        and event.data.get("previous_station")
    )


def _is_postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def open_ticket_counts(station_ids: list[int], *, excluding: int | None = None) -> dict[int, int]:
    """Open tickets per station (absent: none), leaving out the ticket ``excluding``."""
    if not station_ids:
        return {}
    query = (
        sa.select(Ticket.station_id, sa.func.count())
        .where(Ticket.station_id.in_(station_ids), Ticket.status.in_(OPEN_STATUSES))
        .group_by(Ticket.station_id)
    )
    if excluding is not None:
        query = query.where(Ticket.id != excluding)
    return {station_id: count for station_id, count in db.session.execute(query)}


def load_candidates(
    request: DispatchRequest, *, extra_codes: Iterable[str] = (), excluding: int | None = None
) -> Candidates:
    """Lock and load the candidate stations, with their open tickets counted after the lock:
    the stations listing ``request.city`` or, when none does, those of ``request.region``
    (the region fallback of the rules; when a station lists the city, the others of the
    region could not take the repair), and the stations ``extra_codes``.

    One statement selects and locks them (PostgreSQL: ``FOR UPDATE`` in id order, so that two
    transactions never wait on each other in a cycle), with their cities and product lines.
    Only the stations that matter are locked: repairs for different cities do not wait on
    each other.

    ``excluding`` is the ticket being dispatched: it does not count against its own station.
    """
    lists_city = sa.select(StationCity.station_id).where(StationCity.city == request.city)
    wanted = [Station.id.in_(lists_city)]
    if request.region is not None:
        wanted.append(
            sa.and_(Station.region_code == request.region, ~sa.exists(lists_city.limit(1)))
        )
    extra = sorted(set(extra_codes))
    if extra:
        wanted.append(Station.code.in_(extra))
    query = (
        sa.select(Station)
        .where(sa.or_(*wanted))
        .options(joinedload(Station.cities), joinedload(Station.product_lines))
        .order_by(Station.id)
        .execution_options(populate_existing=True)
    )
    if _is_postgresql():
        # rows are locked as the sorted result is produced: in id order
        query = query.with_for_update(of=Station)
    stations = db.session.scalars(query).unique().all()
    if not stations:
        return Candidates(stations={}, candidates=())
    ids = [station.id for station in stations]
    counts = open_ticket_counts(ids, excluding=excluding)
    candidates = tuple(
        StationCandidate(
            code=station.code,
            name=station.name,
            region=station.region_code,
            status=station.status,
            cities=station.city_names,
            four_hour_cities=station.four_hour_city_names,
            product_lines=station.product_line_names,
            capacity=station.capacity,
            open_tickets=counts.get(station.id, 0),
            satisfaction=station.satisfaction,
        )
        for station in stations
    )
    return Candidates(
        stations={station.code: station for station in stations}, candidates=candidates
    )


# --------------------------------------------------------------------------------------
# Dispatching
# --------------------------------------------------------------------------------------


def dispatch_ticket(actor: User | None, ticket: Ticket, *, now: datetime) -> DispatchDecision:
    """Send an open repair to the best eligible station now, or queue it with the reason.

    ``actor`` is who caused the dispatch (the agent opening the repair; None for the
    scheduler). Dispatched: the ticket gets the station, ``dispatch_state`` ``dispatched``,
    status ``dispatched`` and a ``dispatch`` event. No eligible station: ``dispatch_state``
    ``waiting`` (since ``now``, or since it first waited) and status unchanged; the event is
    recorded when it starts waiting, not again at every later attempt that still finds nobody.
    Raises :class:`DispatchError` for a ticket that is not an open repair with a machine, or
    whose status cannot go to ``dispatched``.
    """
    request = dispatch_request(ticket)
    _check_open(ticket)
    found = load_candidates(request, excluding=ticket.id)
    decision = decide_dispatch(request, found.candidates)
    if decision.state == DISPATCHED:
        try:
            _send(actor, ticket, found.stations[decision.station], decision, now=now)
        except TransitionError as error:
            raise DispatchError(Reason(_CANNOT_MOVE, {"current": ticket.status})) from error
    else:
        _queue(actor, ticket, decision, now=now)
    db.session.flush()
    return decision


def _send(
    actor: User | None,
    ticket: Ticket,
    station: Station,
    decision: DispatchDecision,
    *,
    now: datetime,
    reason_text: str | None = None,
    data: Mapping | None = None,
) -> TicketEvent:
    if ticket.status != DISPATCHED:
        check_transition(
            ticket.kind, ticket.status, DISPATCHED, left_from=waiting_left_from(ticket)
        )
    previous_station = ticket.station.code if ticket.station is not None else None
    return _move(
        actor,
        ticket,
        station,
        DISPATCHED,
        decision,
        now=now,
        reason_text=reason_text if reason_text is not None else decision.reason.render(),
        data={
            "station": station.code,
            "previous_station": previous_station,
            "manual": False,
            **(data or {}),
        },
    )


def _move(
    actor: User | None,
    ticket: Ticket,
    station: Station | None,
    status: str,
    decision: DispatchDecision,
    *,
    now: datetime,
    reason_text: str,
    data: Mapping,
) -> TicketEvent:
    """Give ``ticket`` its ``station`` (None: the queue) and ``status`` (``dispatched``, or
    back to the queue: waiting since ``now``) with ``decision`` stored, and add the dispatch
    event saying so: ``data`` plus the dispatch state and the decision's reason. The status
    history records the status when it changes. Returns the event."""
    current = ticket.status
    state = DISPATCHED if status == DISPATCHED else WAITING
    ticket.station = station
    ticket.status = status
    ticket.dispatch_state = state
    ticket.dispatch_decision = decision.to_json()
    ticket.waiting_since = None if state == DISPATCHED else now
    ticket.updated_at = now
    event = TicketEvent(
        ticket=ticket,
        at=now,
        actor=actor,
        action=DISPATCH_ACTION,
        from_status=current,
        to_status=status,
        reason=reason_text,
        data={**data, "state": state, "reason": decision.reason.to_json()},
    )
    db.session.add(event)
    if status != current:
        record_status(ticket, status, now=now, previous=current)
    return event


def _queue(
    actor: User | None, ticket: Ticket, decision: DispatchDecision, *, now: datetime
) -> None:
    already_waiting = ticket.dispatch_state == WAITING
    ticket.dispatch_decision = decision.to_json()
    if already_waiting:
        return
    ticket.dispatch_state = WAITING
    ticket.waiting_since = now
    ticket.updated_at = now
    db.session.add(
        TicketEvent(
            ticket=ticket,
            at=now,
            actor=actor,
            action=DISPATCH_ACTION,
            from_status=None,
            to_status=None,
            reason=decision.reason.render(),
            data={"state": WAITING, "reason": decision.reason.to_json()},
        )
    )


def send_back(
    actor: User | None, ticket: Ticket, status: str, *, now: datetime, reason: str
) -> TicketEvent:
    """The repair leaves the station it was dispatched to; returns the event recorded.

    Called by :func:`servicedesk.tickets.services.change_status`, which has checked who asks,
    the transition and the ``reason``. ``status`` is where the repair goes:

    * ``new``: back to the supervisors' queue. The station is cleared, ``dispatch_state``
      becomes ``waiting`` since ``now`` with the reason stored as the decision, so that
      :func:`dispatch_waiting` or a supervisor dispatches it again;
    * ``dispatched``: on to another station, chosen as on creation among the others (the
      candidate stations locked); when none is eligible, to the queue as for ``new``, with
      the reason why none is.

    Either way the station it leaves is recorded (``previous_station``, ``sent_back``) and is
    not chosen for this repair again automatically; its users no longer see the ticket.
    """
    left = ticket.station.code if ticket.station is not None else None
    data = {SENT_BACK: True, "previous_station": left}
    if status == DISPATCHED:
        request = dispatch_request(ticket, also_returned=[left] if left else ())
        found = load_candidates(request, excluding=ticket.id)
        decision = decide_dispatch(request, found.candidates)
        if decision.state == DISPATCHED:
            event = _send(
                actor,
                ticket,
                found.stations[decision.station],
                decision,
                now=now,
                reason_text=reason,
                data=data,
            )
            db.session.flush()
            return event
    else:
        who = (actor.display_name or actor.username) if actor is not None else "system"
        headline = Reason(
            _SENT_BACK_TO_QUEUE, {"station": left or "", "user": who, "reason": reason}
        )
        decision = DispatchDecision(state=WAITING, station=None, reason=headline, candidates=())
    event = _move(
        actor, ticket, None, BACK_TO_QUEUE, decision, now=now, reason_text=reason, data=data
    )
    db.session.flush()
    return event


# --------------------------------------------------------------------------------------
# The waiting queue
# --------------------------------------------------------------------------------------


def waiting_tickets() -> sa.Select:
    """Open repairs waiting for a station, oldest first (the supervisors' queue order)."""
    return (
        sa.select(Ticket)
        .where(
            Ticket.dispatch_state == WAITING,
            Ticket.kind == "repair",
            Ticket.status.in_(OPEN_STATUSES),
        )
        .order_by(Ticket.waiting_since, Ticket.id)
    )


def _claim_next_waiting(after: tuple[datetime, int] | None) -> Ticket | None:
    """The oldest waiting repair after ``after`` (``(waiting_since, id)``) that nobody else
    holds; on PostgreSQL its row stays locked (``FOR UPDATE SKIP LOCKED``) until commit.
    A repair waiting on the customer is left alone until the customer answers."""
    query = waiting_tickets().where(Ticket.status != "waiting_customer").limit(1)
    if after is not None:
        since, ticket_id = after
        query = query.where(
            sa.or_(
                Ticket.waiting_since > since,
                sa.and_(Ticket.waiting_since == since, Ticket.id > ticket_id),
            )
        )
    if _is_postgresql():
        query = query.with_for_update(skip_locked=True, of=Ticket)
    return db.session.scalars(query.execution_options(populate_existing=True)).first()


def dispatch_waiting(now: datetime, *, limit: int = WAITING_BATCH) -> dict[str, int]:
    """The scheduler job: try again each waiting repair, oldest first, up to ``limit`` of them.

    Each ticket is claimed (PostgreSQL: ``FOR UPDATE SKIP LOCKED``, so concurrent runs share
    the queue and never dispatch one ticket twice), dispatched as :func:`dispatch_ticket`
    decides (the system is the actor) and committed on its own, which releases its station
    locks before the next one. Returns ``{"dispatched": n, "still_waiting": m, "refused": r}``
    (refused: a ticket dispatch cannot handle, e.g. one whose machine was removed; it stays
    in the queue for a supervisor). Rolls back and re-raises on any other error. Call it in an
    app context outside a request.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    counts = {"dispatched": 0, "still_waiting": 0, "refused": 0}
    after: tuple[datetime, int] | None = None
    for _attempt in range(limit):
        try:
            ticket = _claim_next_waiting(after)
            if ticket is None:
                db.session.commit()
                break
            after = (ticket.waiting_since, ticket.id)
            try:
                with db.session.begin_nested():
                    decision = dispatch_ticket(None, ticket, now=now)
            except DispatchError:
                counts["refused"] += 1
                db.session.commit()
                continue
            db.session.commit()
        except BaseException:
            db.session.rollback()
            raise
        counts["dispatched" if decision.state == DISPATCHED else "still_waiting"] += 1
    return counts


# --------------------------------------------------------------------------------------
# By hand
# --------------------------------------------------------------------------------------


def redispatch(
    actor: User,
    ticket: Ticket,
    station_code: str,
    *,
    now: datetime,
    reason: str,
    force: bool = False,
) -> DispatchDecision:
    """A supervisor sends an open repair to the station ``station_code``.

    Refused (:class:`DispatchError`): a suspended station, always; a station at capacity
    unless ``force`` (the supervisor knowingly overloads it; recorded as such); the station
    the repair is already with; a repair past the point of moving (engineer on site). Other
    criteria (city, product line, 4-hour capability) are the supervisor's judgement: the
    stored decision still lists the automatic verdict of every candidate, the chosen station
    included, so the record shows what was overridden. ``reason`` is required.

    The stored decision is the automatic one with the supervisor's choice as the station and
    headline reason, plus a ``manual`` block (who, why, over capacity, the automatic choice).
    """
    if actor is None or actor.role not in SUPERVISOR_ROLES:
        raise DispatchPermissionError(Reason(_SUPERVISORS_ONLY))
    _check_repair(ticket)
    _lock_ticket(ticket)
    _check_open(ticket)
    reason = (reason or "").strip()
    if not reason:
        raise DispatchError(Reason(_REASON_NEEDED), field="reason")
    if len(reason) > REASON_MAX:
        raise DispatchError(Reason(_REASON_TOO_LONG, {"max": str(REASON_MAX)}), field="reason")
    code = (station_code or "").strip()
    if ticket.station is not None and ticket.station.code == code and ticket.status == DISPATCHED:
        raise DispatchError(Reason(_SAME_STATION, {"code": code}), field="station")
    if ticket.status != DISPATCHED:
        try:
            check_transition(
                ticket.kind, ticket.status, DISPATCHED, left_from=waiting_left_from(ticket)
            )
        except TransitionError as error:
            raise DispatchError(Reason(_CANNOT_MOVE, {"current": ticket.status})) from error

    request = dispatch_request(ticket)
    found = load_candidates(request, extra_codes=[code] if code else (), excluding=ticket.id)
    station = found.stations.get(code)
    if station is None:
        raise DispatchError(Reason(_UNKNOWN_STATION, {"code": code}), field="station")
    chosen = next(candidate for candidate in found.candidates if candidate.code == code)
    if chosen.status == "suspended":
        raise DispatchError(Reason(_SUSPENDED, {"code": code}), field="station")
    over_capacity = not chosen.has_room
    if over_capacity and not force:
        params = {"code": code, "open": str(chosen.open_tickets), "capacity": str(chosen.capacity)}
        raise DispatchError(Reason(_FULL, params), field="station")

    automatic = decide_dispatch(request, found.candidates)
    who = actor.display_name or actor.username
    headline = Reason(
        _MANUAL_OVER_CAPACITY if over_capacity else _MANUAL, {"user": who, "reason": reason}
    )
    decision = replace(automatic, state=DISPATCHED, station=code, reason=headline)
    manual = {
        "by": actor.username,
        "reason": reason,
        "over_capacity": over_capacity,
        "automatic_choice": automatic.station,
    }
    _send(
        actor,
        ticket,
        station,
        decision,
        now=now,
        reason_text=reason,
        data={
            "manual": True,
            "over_capacity": over_capacity,
            "automatic_choice": automatic.station,
        },
    )
    ticket.dispatch_decision = {**decision.to_json(), "manual": manual}
    db.session.flush()
    return decision


def stored_decision(ticket: Ticket) -> DispatchDecision | None:
    """The ticket's last dispatch decision, or None (not a repair, never dispatched, or a
    stored value that cannot be read)."""
    if ticket.kind != "repair" or not ticket.dispatch_decision:
        return None
    try:
        return DispatchDecision.from_json(ticket.dispatch_decision)
    except ValueError:
        return None


def station_choices() -> list[tuple[Station, int]]:
    """Every station with its open tickets now, by code (for the re-dispatch form)."""
    stations = db.session.scalars(sa.select(Station).order_by(Station.code)).all()
    counts = open_ticket_counts([station.id for station in stations])
    return [(station, counts.get(station.id, 0)) for station in stations]


def _lock_ticket(ticket: Ticket) -> None:
    """Lock the ticket row first (PostgreSQL) and re-read it: the sweep may have moved it."""
    query = sa.select(Ticket).where(Ticket.id == ticket.id)
    if _is_postgresql():
        query = query.with_for_update(of=Ticket)
    db.session.scalars(query.execution_options(populate_existing=True)).one()


def _check_repair(ticket: Ticket) -> None:
    if ticket.kind != "repair":
        raise DispatchError(Reason(_NOT_A_REPAIR, {"kind": ticket.kind}))
    if ticket.asset is None:
        raise DispatchError(Reason(_NO_MACHINE))


def _check_open(ticket: Ticket) -> None:
    if not ticket.is_open:
        raise DispatchError(Reason(_NOT_OPEN, {"current": ticket.status}))
