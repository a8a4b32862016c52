"""Loading the demo data set into the database with bulk inserts.

:func:`load_demo` flushes into the current session and never commits: the command that calls
it owns the transaction, so a failed load leaves nothing behind.
"""

from __future__ import annotations

import dataclasses
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from servicedesk.auth.models import User
from servicedesk.callcenter.callbacks import follow_up_texts
from servicedesk.callcenter.models import (
    Call,
    Callback,
    CallbackAttempt,
    DoNotCallNumber,
    SurveyAnswer,
)
from servicedesk.core.db import db, utcnow
from servicedesk.customers.models import (
    DEFAULT_TIMEZONE,
    Asset,
    Contact,
    ContactPhone,
    Customer,
    Entitlement,
)
from servicedesk.demo.callbacks import CLAIMED_BY
from servicedesk.demo.clocks import replay_clocks
from servicedesk.demo.generate import DEFAULT_SEED, build_demo_data
from servicedesk.demo.showcase import DEMO_PASSWORD, SHOWCASE_ENTERPRISE_CODE, SUPERVISOR_USERNAME
from servicedesk.demo.specs import CallbackSpec, DemoData, EventSpec, TicketSpec
from servicedesk.notifications.models import Notification, NotificationRead
from servicedesk.sla.models import SlaClock, TicketPause
from servicedesk.sla.services import current_target_table
from servicedesk.sla.targets import TicketTargets, targets_for
from servicedesk.stations.models import Station, StationCity, StationProductLine
from servicedesk.stations.regions import load_default_regions, read_default_regions
from servicedesk.stations.scorecards import score_every_station
from servicedesk.tickets.intake import SUMMARY_MAX
from servicedesk.tickets.models import Ticket, TicketEvent, format_ticket_number
from servicedesk.tickets.numbering import ensure_counter_at_least, next_ticket_number

BATCH_SIZE = 2_000

Progress = Callable[[str], None]


class DemoDataError(RuntimeError):
    """The demo data cannot be loaded into this database."""


@dataclass(frozen=True)
class DemoSummary:
    """What a load inserted (users that existed already are left alone and not counted)."""

    stations: int
    users: int
    customers: int
    contacts: int
    phones: int
    assets: int
    entitlements: int
    calls: int
    tickets: int
    events: int
    clocks: int
    callbacks: int
    attempts: int
    answers: int
    seconds: float


def demo_loaded() -> bool:
    """Whether the demo data set is in the database (its showcase customer is)."""
    return (
        db.session.scalar(sa.select(Customer.id).where(Customer.code == SHOWCASE_ENTERPRISE_CODE))
        is not None
    )


def existing_data() -> str | None:
    """What already in the database stops a demo load (``"demo data is already loaded"``,
    ``"the database already holds 12 customers"``), or ``None`` when it may go ahead."""
    if demo_loaded():
        return "demo data is already loaded"
    for model, things in ((Customer, "customers"), (Station, "stations")):
        existing = db.session.scalar(sa.select(sa.func.count()).select_from(model))
        if existing:
            return f"the database already holds {existing} {things}"
    return None


def refusal_message(existing: str) -> str:
    return f"{existing}; use a fresh database"


def load_demo(
    seed: int = DEFAULT_SEED,
    scale: float = 1.0,
    *,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> DemoSummary:
    """Load the demo data set (see :func:`~servicedesk.demo.generate.build_demo_data`).

    Raises :class:`DemoDataError` before writing anything when the database already has
    customers or stations (see :func:`existing_data`).
    ``now`` (aware, default the current time) anchors every date; ``progress`` receives one
    line per stage.
    """
    existing = existing_data()
    if existing:
        raise DemoDataError(refusal_message(existing))
    report = progress or (lambda line: None)
    started = time.perf_counter()
    now = now or utcnow()

    regions = read_default_regions()
    added = load_default_regions()
    report(f"regions: {len(regions)} ({added} new)")

    data = build_demo_data(seed=seed, scale=scale, now=now, regions=regions)
    report(
        f"generated: {len(data.customers)} customers, "
        f"{sum(len(c.assets) for c in data.customers)} assets, {len(data.tickets)} tickets "
        f"(seed {seed}, scale {scale:g})"
    )
    loader = _Loader(data, report)
    loader.stations()
    loader.users()
    loader.customers()
    loader.assets()
    loader.tickets()
    loader.callbacks()
    db.session.flush()
    scored = score_every_station(now)
    with_score, on_probation = db.session.execute(
        sa.select(
            sa.func.count(Station.satisfaction),
            sa.func.count(sa.case((Station.status == "probation", 1))),
        )
    ).one()
    report(
        f"scorecards: {scored} stations scored, {with_score} with enough answers for a "
        f"satisfaction score, {on_probation} on probation"
    )
    return DemoSummary(**loader.counts, seconds=time.perf_counter() - started)


@cache
def _demo_password_hash() -> str:
    """One hash for every demo login (they share the documented password); hashing is slow
    on purpose, so it is done once per process."""
    return generate_password_hash(DEMO_PASSWORD)


def _batches(rows: Sequence[dict[str, Any]]) -> Iterable[Sequence[dict[str, Any]]]:
    for start in range(0, len(rows), BATCH_SIZE):
        yield rows[start : start + BATCH_SIZE]


def _insert(model, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (keyed by attribute name) with one executemany per batch.

    A Core insert on the table: the ORM's bulk insert splits a batch wherever the pattern of
    ``None`` values changes, which turns mixed rows into thousands of small statements.
    """
    if not rows:
        return
    attributes = sa.inspect(model).column_attrs
    column_names = {key: attributes[key].columns[0].name for key in rows[0]}
    statement = model.__table__.insert()
    for batch in _batches(rows):
        db.session.execute(
            statement, [{column_names[key]: value for key, value in row.items()} for row in batch]
        )


def _ids_by(*key_columns) -> dict[Any, int]:
    """``{key: id}`` for every row of the key columns' table (a single column gives plain
    keys, several give tuples). Rows are read back by natural key because SQLite can only
    return inserted ids in order one row at a time, which is far slower than executemany."""
    table = key_columns[0].class_
    rows = db.session.execute(sa.select(*key_columns, table.id)).all()
    if len(key_columns) == 1:
        return {row[0]: row[1] for row in rows}
    return {tuple(row[:-1]): row[-1] for row in rows}


class _Loader:
    def __init__(self, data: DemoData, report: Progress):
        self.data = data
        self.report = report
        self.counts: dict[str, int] = {}
        self.station_ids: dict[str, int] = {}
        self.user_ids: dict[str, int] = {}
        self.customer_ids: dict[str, int] = {}
        self.asset_ids: dict[str, int] = {}
        self.ticket_ids: dict[int, int] = {}
        """``id()`` of a ticket spec → the ticket's id."""
        self.number_of: dict[int, str] = {}
        """``id()`` of a ticket spec → the ticket's number."""

    def stations(self) -> None:
        stations = self.data.stations
        rows = [
            {
                "code": s.code,
                "name": s.name,
                "region_code": s.region_code,
                "capacity": s.capacity,
                "status": s.status,
            }
            for s in stations
        ]
        _insert(Station, rows)
        self.station_ids = _ids_by(Station.code)
        _insert(
            StationCity,
            [
                {"station_id": self.station_ids[s.code], "city": city, "four_hour": four_hour}
                for s in stations
                for city, four_hour in s.cities
            ],
        )
        _insert(
            StationProductLine,
            [
                {"station_id": self.station_ids[s.code], "product_line": line}
                for s in stations
                for line in s.product_lines
            ],
        )
        self.counts["stations"] = len(stations)
        four_hour = sum(1 for s in stations if s.four_hour_cities)
        self.report(f"stations: {len(stations)} ({four_hour} with 4-hour response)")

    def users(self) -> None:
        existing = dict(
            db.session.execute(
                sa.select(User.username, User.id).where(
                    User.username.in_([u.username for u in self.data.users])
                )
            ).all()
        )
        new = [u for u in self.data.users if u.username not in existing]
        password_hash = _demo_password_hash()
        rows = [
            {
                "username": u.username,
                "display_name": u.display_name,
                "password_hash": password_hash,
                "role": u.role,
                "station_id": self.station_ids[u.station_code] if u.station_code else None,
                "language": u.language,
            }
            for u in new
        ]
        _insert(User, rows)
        self.user_ids = _ids_by(User.username)
        self.counts["users"] = len(new)
        kept = f", {len(existing)} existing kept as they were" if existing else ""
        self.report(f"users: {len(new)}{kept}")

    def customers(self) -> None:
        customers = self.data.customers
        manager = self.user_ids.get(SUPERVISOR_USERNAME)
        _insert(
            Customer,
            [
                {
                    "code": c.code,
                    "name": c.name,
                    "customer_class": c.customer_class,
                    "province": c.province,
                    "city": c.city,
                    "address": c.address,
                    "language": c.language,
                    "do_not_call": c.do_not_call,
                    "account_manager_id": manager if c.customer_class == "A" else None,
                }
                for c in customers
            ],
        )
        self.customer_ids = _ids_by(Customer.code)
        contacts = [(c, contact) for c in customers for contact in c.contacts]
        _insert(
            Contact,
            [
                {
                    "customer_id": self.customer_ids[c.code],
                    "name": contact.name,
                    "title": contact.title,
                    "is_primary": contact.is_primary,
                }
                for c, contact in contacts
            ],
        )
        contact_ids = _ids_by(Contact.customer_id, Contact.name)
        phones = [
            {
                "contact_id": contact_ids[self.customer_ids[c.code], contact.name],
                "customer_id": self.customer_ids[c.code],
                "e164": phone.e164,
                "extension": phone.extension,
            }
            for c, contact in contacts
            for phone in contact.phones
        ]
        _insert(ContactPhone, phones)
        self.counts.update(customers=len(customers), contacts=len(contacts), phones=len(phones))
        classes = defaultdict(int)
        for c in customers:
            classes[c.customer_class] += 1
        mix = ", ".join(f"{name} {classes[name]}" for name in ("A", "B", "C", "consumer"))
        self.report(
            f"customers: {len(customers)} ({mix}); contacts: {len(contacts)}; phones: {len(phones)}"
        )

    def assets(self) -> None:
        assets = [(c, a) for c in self.data.customers for a in c.assets]
        _insert(
            Asset,
            [
                {
                    "serial": a.serial,
                    "customer_id": self.customer_ids[c.code],
                    "product_line": a.product_line,
                    "model": a.model,
                    "purchase_date": a.purchase_date,
                    "purchase_price": a.purchase_price,
                    "province": a.province,
                    "city": a.city,
                }
                for c, a in assets
            ],
        )
        self.asset_ids = _ids_by(Asset.serial)
        entitlements = [
            {"asset_id": self.asset_ids[a.serial], "offering": e.offering, "start": e.start,
             "end": e.end}
            for _c, a in assets
            for e in a.entitlements
        ]  # fmt: skip
        _insert(Entitlement, entitlements)
        self.counts.update(assets=len(assets), entitlements=len(entitlements))
        self.report(f"assets: {len(assets)}; entitlements: {len(entitlements)}")

    def tickets(self) -> None:
        calls = self.data.calls
        _insert(
            Call,
            [
                {
                    "direction": "inbound",
                    "caller_e164": call.caller_e164,
                    "customer_id": self.customer_ids[call.customer_code],
                    "agent_id": self.user_ids[call.agent],
                    "started_at": call.started_at,
                    "ended_at": call.ended_at,
                }
                for call in calls
            ],
        )
        call_ids = _ids_by(Call.customer_id, Call.started_at)
        call_of: dict[int, int | None] = {}
        for call in calls:
            call_id = call_ids[self.customer_ids[call.customer_code], call.started_at]
            call_of.update((id(ticket), call_id) for ticket in call.tickets)
        tickets = sorted(self.data.tickets, key=lambda ticket: ticket.created_at)
        numbers = _reserve_numbers(tickets)
        number_of = {id(ticket): number for ticket, number in zip(tickets, numbers, strict=True)}
        self.number_of = number_of
        language_of = {customer.code: customer.language for customer in self.data.customers}
        for ticket in tickets:
            if ticket.follow_up_of is not None:
                _write_follow_up_texts(
                    ticket, number_of[id(ticket.follow_up_of)], language_of[ticket.customer_code]
                )
        table = current_target_table()
        promises = [targets_for(table, t.service_level, t.kind) for t in tickets]
        _insert(
            Ticket,
            [
                self._ticket_row(ticket, call_of.get(id(ticket)), number, promise)
                for ticket, number, promise in zip(tickets, numbers, promises, strict=True)
            ],
        )
        ticket_ids = _ids_by(Ticket.number)
        self.ticket_ids = {id(ticket): ticket_ids[number_of[id(ticket)]] for ticket in tickets}
        follow_ups = [
            {"b_id": self.ticket_ids[id(t)], "b_of": self.ticket_ids[id(t.follow_up_of)]}
            for t in tickets
            if t.follow_up_of is not None
        ]
        if follow_ups:
            column = Ticket.__table__.c
            db.session.execute(
                sa.update(Ticket.__table__)
                .where(column.id == sa.bindparam("b_id"))
                .values(follow_up_of_id=sa.bindparam("b_of")),
                follow_ups,
            )
        events = [
            self._event_row(ticket_ids[number], event)
            for ticket, number in zip(tickets, numbers, strict=True)
            for event in ticket.events
        ]
        _insert(TicketEvent, events)
        self.counts.update(calls=len(calls), tickets=len(tickets), events=len(events))
        still_open = sum(1 for ticket in tickets if ticket.is_open)
        self.report(
            f"calls: {len(calls)}; tickets: {len(tickets)} ({still_open} open, "
            f"{len(follow_ups)} follow-ups of satisfaction callbacks); "
            f"ticket events: {len(events)}"
        )
        self.clocks([ticket_ids[number] for number in numbers], tickets, promises)

    def callbacks(self) -> None:
        """The satisfaction callbacks with their attempts and answers, and the do-not-call
        list (the customers who opted out were inserted marked do-not-call)."""
        callbacks = self.data.callbacks
        _insert(Callback, [self._callback_row(callback) for callback in callbacks])
        callback_ids = _ids_by(Callback.ticket_id)
        attempts = [
            (callback_ids[self.ticket_ids[id(callback.ticket)]], attempt)
            for callback in callbacks
            for attempt in callback.attempts
        ]
        _insert(
            CallbackAttempt,
            [
                {
                    "callback_id": callback_id,
                    "number": a.number,
                    "token": a.token,
                    "status": a.status,
                    "claimed_at": a.claimed_at,
                    "claimed_by": CLAIMED_BY,
                    "placed_at": a.placed_at,
                    "answered_at": a.answered_at,
                    "ended_at": a.ended_at,
                    "call_sid": a.call_sid,
                    "answered_by": a.answered_by,
                    "error_code": None,
                    "error_message": "",
                    "survey_state": a.survey_state,
                }
                for callback_id, a in attempts
            ],
        )
        attempt_ids = _ids_by(CallbackAttempt.token)
        answers = [
            {
                "callback_id": callback_id,
                "attempt_id": attempt_ids[attempt.token],
                "question": answer.question,
                "value": answer.value,
                "answered_at": answer.at,
            }
            for callback_id, attempt in attempts
            for answer in attempt.answers
        ]
        _insert(SurveyAnswer, answers)
        _insert(
            DoNotCallNumber,
            [
                {
                    "e164": entry.e164,
                    "customer_id": self.customer_ids[entry.customer_code],
                    "reason": entry.reason,
                    "added_at": entry.added_at,
                    "added_by_id": None,
                }
                for entry in self.data.do_not_call
            ],
        )
        self.counts.update(callbacks=len(callbacks), attempts=len(attempts), answers=len(answers))
        self.complaint_notices([c for c in callbacks if c.follow_up is not None])
        statuses = defaultdict(int)
        for callback in callbacks:
            statuses[callback.status] += 1
        mix = ", ".join(
            f"{statuses[name]} {name}"
            for name in ("completed", "scheduled", "exhausted", "stopped")
            if statuses[name]
        )
        self.report(
            f"satisfaction callbacks: {len(callbacks)} ({mix}); attempts: {len(attempts)}; "
            f"answers: {len(answers)}; do-not-call numbers: {len(self.data.do_not_call)}"
        )

    def complaint_notices(self, callbacks: Sequence[CallbackSpec]) -> None:
        """The ``complaint`` notices each follow-up was announced with (to the supervisors,
        and to a class A account's manager), read by the demo supervisor once a supervisor
        took the complaint."""
        customers = {c.code: c for c in self.data.customers}
        manager = self.user_ids.get(SUPERVISOR_USERNAME)
        notices: list[tuple[dict[str, Any], datetime | None]] = []
        for callback in callbacks:
            complaint = callback.follow_up
            customer = customers[callback.customer_code]
            data = {
                "ticket_number": self.number_of[id(complaint)],
                "follow_up_of": self.number_of[id(complaint.follow_up_of)],
                "customer": customer.name,
                "answers": complaint.follow_up_answers,
            }
            taken = next((e.at for e in complaint.events if e.to_status == "accepted"), None)
            audiences: list[tuple[str, int | None]] = [("supervisors", None)]
            if customer.customer_class == "A" and manager is not None:
                audiences.append(("user", manager))
            for audience, user_id in audiences:
                row = {
                    "kind": "complaint",
                    "audience": audience,
                    "station_id": None,
                    "user_id": user_id,
                    "ticket_id": self.ticket_ids[id(complaint)],
                    "clock_id": None,
                    "data": data,
                    "created_at": complaint.created_at,
                }
                notices.append((row, taken))
        _insert(Notification, [row for row, _taken in notices])
        if manager is None or not notices:
            return
        ids = _ids_by(Notification.ticket_id, Notification.audience)
        _insert(
            NotificationRead,
            [
                {
                    "notification_id": ids[row["ticket_id"], row["audience"]],
                    "user_id": manager,
                    "read_at": taken,
                }
                for row, taken in notices
                if taken is not None
            ],
        )

    def _callback_row(self, callback: CallbackSpec) -> dict[str, Any]:
        follow_up = callback.follow_up
        return {
            "ticket_id": self.ticket_ids[id(callback.ticket)],
            "customer_id": self.customer_ids[callback.customer_code],
            "station_id": self.station_ids[callback.station_code]
            if callback.station_code
            else None,
            "phone_e164": callback.phone_e164,
            "language": callback.language,
            "timezone": callback.timezone,
            "status": callback.status,
            "due_at": callback.due_at,
            "attempts_made": len(callback.attempts),
            "max_attempts": callback.max_attempts,
            "stop_reason": callback.stop_reason,
            "stop_detail": "",
            "satisfied": callback.satisfied,
            "follow_up_ticket_id": self.ticket_ids[id(follow_up)] if follow_up else None,
            "created_at": callback.created_at,
            "answered_at": callback.answered_at,
            "finished_at": callback.finished_at,
        }

    def clocks(
        self, ids: Sequence[int], tickets: Sequence[TicketSpec], promises: Sequence[TicketTargets]
    ) -> None:
        """SLA clocks and waits on the customer, replayed from each ticket's status history."""
        clock_rows: list[dict[str, Any]] = []
        pause_rows: list[dict[str, Any]] = []
        for ticket_id, ticket, promise in zip(ids, tickets, promises, strict=True):
            replayed = replay_clocks(
                promise,
                opened_at=ticket.created_at,
                timezone=DEFAULT_TIMEZONE,
                changes=[
                    (event.at, event.from_status, event.to_status)
                    for event in ticket.events
                    if event.action == "status"
                ],
            )
            clock_rows += [{"ticket_id": ticket_id, **row} for row in replayed.clocks]
            pause_rows += [{"ticket_id": ticket_id, **row} for row in replayed.pauses]
        _insert(SlaClock, clock_rows)
        _insert(TicketPause, pause_rows)
        self.counts["clocks"] = len(clock_rows)
        still_running = sum(
            1 for row in clock_rows if row["met_at"] is None and row["stopped_at"] is None
        )
        self.report(
            f"SLA clocks: {len(clock_rows)} ({still_running} running); "
            f"waits on the customer: {len(pause_rows)}"
        )

    def _event_row(self, ticket_id: int, event: EventSpec) -> dict[str, Any]:
        return {
            "ticket_id": ticket_id,
            "at": event.at,
            "actor_id": self.user_ids[event.actor] if event.actor else None,
            "action": event.action,
            "from_status": event.from_status,
            "to_status": event.to_status,
            "reason": event.reason,
            "data": event.data,
        }

    def _ticket_row(
        self, ticket: TicketSpec, call_id: int | None, number: str, promise: TicketTargets
    ) -> dict[str, Any]:
        return {
            "number": number,
            "kind": ticket.kind,
            "status": ticket.status,
            "customer_id": self.customer_ids[ticket.customer_code],
            "asset_id": self.asset_ids[ticket.serial] if ticket.serial else None,
            "call_id": call_id,
            "station_id": self.station_ids[ticket.station_code] if ticket.station_code else None,
            "summary": ticket.summary,
            "description": ticket.description,
            "damage": ticket.damage,
            "part": ticket.part,
            "covered": ticket.covered,
            "billable": ticket.billable,
            "coverage_basis": ticket.coverage_basis,
            "coverage_reasons": ticket.coverage_reasons,
            "service_level": ticket.service_level,
            "service_level_reasons": ticket.service_level_reasons,
            "resolution": ticket.resolution,
            "created_by_id": self.user_ids[ticket.created_by] if ticket.created_by else None,
            "created_at": ticket.created_at,
            "updated_at": ticket.updated_at,
            "closed_at": ticket.closed_at,
            "sla_targets": promise.to_json(),
        }


def _write_follow_up_texts(complaint: TicketSpec, repair_number: str, language: str) -> None:
    """The summary and description a callback's follow-up complaint is opened with, in the
    customer's language (the texts :func:`servicedesk.callcenter.callbacks.open_follow_up`
    writes), also on its creation event."""
    summary, description = follow_up_texts(
        _Numbered(repair_number), complaint.follow_up_answers, language
    )
    complaint.summary = summary[:SUMMARY_MAX]
    complaint.description = description
    created = complaint.events[0]
    complaint.events[0] = dataclasses.replace(created, data={**created.data, "summary": summary})


@dataclass(frozen=True)
class _Numbered:
    """Stands in for the repair where only its number is read."""

    number: str


def _reserve_numbers(tickets: Sequence[TicketSpec]) -> list[str]:
    """Ticket numbers for ``tickets`` (in creation order), taken from each year's counter the
    way intake takes them, so that tickets opened later continue the sequence."""
    years = [ticket.created_at.astimezone(UTC).year for ticket in tickets]
    per_year: dict[int, int] = defaultdict(int)
    for year in years:
        per_year[year] += 1
    next_sequence: dict[int, int] = {}
    for year, count in sorted(per_year.items()):
        first = int(next_ticket_number(year).rsplit("-", 1)[1])
        ensure_counter_at_least(year, first + count - 1)
        next_sequence[year] = first
    numbers = []
    for year in years:
        numbers.append(format_ticket_number(year, next_sequence[year]))
        next_sequence[year] += 1
    return numbers
