"""Who is calling: find customers by phone (any spelling), serial number, code or name, and
build the card an agent sees: contacts, assets with what each is entitled to, tickets.

The card is read with a fixed number of plain SQL selects into small frozen dataclasses, not
ORM entities: identifying a caller is the hottest request of the call center, and building
entities costs several times the database's own time (see ``benchmarks/README.md``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from servicedesk.core.db import db
from servicedesk.customers.models import Asset, Contact, ContactPhone, Customer, Entitlement
from servicedesk.customers.phones import looks_like_phone, normalize_phone
from servicedesk.sla.levels import LevelDecision, effective_service_level
from servicedesk.stations.models import Station, StationCity
from servicedesk.tickets.models import OPEN_STATUSES, Ticket
from servicedesk.warranty.coverage import EntitlementTerm

MAX_MATCHES = 20
RECENT_TICKETS = 10
EXPIRY_PROMPT_DAYS = 30

_customers = Customer.__table__
_contacts = Contact.__table__
_phones = ContactPhone.__table__
_assets = Asset.__table__
_entitlements = Entitlement.__table__
_tickets = Ticket.__table__
_stations = Station.__table__
_station_cities = StationCity.__table__


@dataclass(frozen=True, slots=True)
class CardCustomer:
    id: int
    code: str
    name: str
    customer_class: str
    province: str
    city: str
    address: str
    language: str
    timezone: str
    do_not_call: bool


@dataclass(frozen=True, slots=True)
class CardPhone:
    """A contact's number in E.164, with its extension apart (None when there is none)."""

    e164: str
    extension: str | None


@dataclass(frozen=True, slots=True)
class CardContact:
    id: int
    name: str
    title: str
    is_primary: bool
    phones: tuple[CardPhone, ...]


@dataclass(frozen=True, slots=True)
class CardAsset:
    id: int
    serial: str
    product_line: str
    model: str
    purchase_date: date
    province: str
    city: str


@dataclass(frozen=True, slots=True)
class TicketAsset:
    """The machine a ticket is about, as far as the card shows it."""

    id: int
    serial: str


@dataclass(frozen=True, slots=True)
class CardTicket:
    """A ticket on the card; ``created_at`` is an aware UTC datetime."""

    id: int
    number: str
    kind: str
    status: str
    summary: str
    created_at: datetime
    asset: TicketAsset | None

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


@dataclass
class AssetView:
    asset: CardAsset
    today: date
    service_level: LevelDecision
    terms: list[EntitlementTerm]

    def active(self, term: EntitlementTerm) -> bool:
        return term.is_active(self.today)

    def expiring_soon(self, term: EntitlementTerm) -> bool:
        """Active and ending within 30 days: the agent is prompted to offer an extension."""
        return term.is_active(self.today) and term.days_left(self.today) <= EXPIRY_PROMPT_DAYS


@dataclass
class CustomerCard:
    """What an agent sees of one customer. ``today`` is the date in the customer's zone.

    The tickets are :class:`CardTicket` rows, or ``Ticket`` entities when the card was loaded
    with ``ticket_entities=True`` (pages that show their SLA clocks).
    """

    customer: CardCustomer
    today: date
    contacts: list[CardContact] = field(default_factory=list)
    assets: list[AssetView] = field(default_factory=list)
    open_tickets: list[CardTicket | Ticket] = field(default_factory=list)
    recent_tickets: list[CardTicket | Ticket] = field(default_factory=list)


def find_customer_ids(
    *, phone: str | None = None, serial: str | None = None, q: str | None = None
) -> list[int]:
    """Customer ids matching, best first. ``q`` tries phone, serial, code, then names."""
    if phone:
        e164 = normalize_phone(phone)
        return _by_phone(e164) if e164 else []
    if serial:
        return _by_serial(serial.strip())
    term = (q or "").strip()
    if not term:
        return []
    ids: list[int] = []
    if looks_like_phone(term) and (e164 := normalize_phone(term)):
        ids += _by_phone(e164)
    ids += _by_serial(term)
    ids += db.session.scalars(sa.select(Customer.id).where(Customer.code == term)).all()
    if len(ids) < MAX_MATCHES:
        ids += _by_name(term, MAX_MATCHES - len(ids))
    return list(dict.fromkeys(ids))[:MAX_MATCHES]


# The statements of the hot path are built once: building a select costs more Python time
# than PostgreSQL needs to run it. ``ids`` is a list of customer ids.
_IDS = sa.bindparam("ids", expanding=True)

_BY_PHONE = (
    sa.select(_phones.c.customer_id)
    .where(_phones.c.e164 == sa.bindparam("e164"))
    .distinct()
    .limit(MAX_MATCHES)
)

_BY_SERIAL = sa.select(_assets.c.customer_id).where(_assets.c.serial == sa.bindparam("serial"))

_CUSTOMER_COLUMNS = 10
_CUSTOMERS = (
    sa.select(
        _customers.c.id,
        _customers.c.code,
        _customers.c.name,
        _customers.c["class"],
        _customers.c.province,
        _customers.c.city,
        _customers.c.address,
        _customers.c.language,
        _customers.c.timezone,
        _customers.c.do_not_call,
        _contacts.c.id,
        _contacts.c.name,
        _contacts.c.title,
        _contacts.c.is_primary,
        _phones.c.e164,
        _phones.c.extension,
    )
    .select_from(
        _customers.outerjoin(_contacts, _contacts.c.customer_id == _customers.c.id).outerjoin(
            _phones, _phones.c.contact_id == _contacts.c.id
        )
    )
    .where(_customers.c.id.in_(_IDS))
    .order_by(_customers.c.id, _contacts.c.id, _phones.c.id)
)
"""Customers with their contacts and their phone numbers: a row per number."""

_FOUR_HOUR_CITIES = (
    sa.select(_station_cities.c.city)
    .join(_stations, _stations.c.id == _station_cities.c.station_id)
    .where(_station_cities.c.four_hour, _stations.c.status != "suspended")
)
"""Cities that a station which is not suspended serves with 4-hour capability."""

_ASSETS = (
    sa.select(
        _assets.c.customer_id,
        _assets.c.id,
        _assets.c.serial,
        _assets.c.product_line,
        _assets.c.model,
        _assets.c.purchase_date,
        _assets.c.province,
        _assets.c.city,
        _assets.c.city.in_(_FOUR_HOUR_CITIES).label("four_hour"),
        _entitlements.c.offering,
        _entitlements.c.start,
        _entitlements.c.end,
    )
    .select_from(_assets.outerjoin(_entitlements, _entitlements.c.asset_id == _assets.c.id))
    .where(_assets.c.customer_id.in_(_IDS))
    .order_by(_assets.c.serial, _entitlements.c.start, _entitlements.c.offering)
)


def _ticket_filter() -> sa.ColumnElement[bool]:
    """Open tickets and the latest :data:`RECENT_TICKETS` others of each customer."""
    ranked = (
        sa.select(
            _tickets.c.id,
            sa.func.row_number()
            .over(partition_by=_tickets.c.customer_id, order_by=_tickets.c.created_at.desc())
            .label("position"),
        )
        .where(_tickets.c.customer_id.in_(_IDS), _tickets.c.status.not_in(OPEN_STATUSES))
        .subquery()
    )
    recent_ids = sa.select(ranked.c.id).where(ranked.c.position <= RECENT_TICKETS)
    return sa.and_(
        _tickets.c.customer_id.in_(_IDS),
        sa.or_(_tickets.c.status.in_(OPEN_STATUSES), _tickets.c.id.in_(recent_ids)),
    )


_TICKETS = (
    sa.select(
        _tickets.c.customer_id,
        _tickets.c.id,
        _tickets.c.number,
        _tickets.c.kind,
        _tickets.c.status,
        _tickets.c.summary,
        _tickets.c.created_at,
        _assets.c.id,
        _assets.c.serial,
    )
    .select_from(_tickets.outerjoin(_assets, _assets.c.id == _tickets.c.asset_id))
    .where(_ticket_filter())
    .order_by(_tickets.c.created_at.desc(), _tickets.c.id.desc())
)


def _run(statement: sa.Executable, **params: object) -> sa.CursorResult:
    """``statement`` on the session's connection: plain rows, none of the ORM's work, but the
    session's pending changes flushed first, as an ORM query would (unless autoflush is off)."""
    session = db.session()
    if session.autoflush:
        session.flush()
    return session.connection().execute(statement, params)


def _by_phone(e164: str) -> list[int]:
    return list(_run(_BY_PHONE, e164=e164).scalars())


def _by_serial(serial: str) -> list[int]:
    return list(_run(_BY_SERIAL, serial=serial).scalars())


def _by_name(term: str, limit: int) -> list[int]:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = f"%{escaped}%"
    by_customer = (
        sa.select(Customer.id).where(Customer.name.ilike(pattern, escape="\\")).limit(limit)
    )
    by_contact = (
        sa.select(Contact.customer_id).where(Contact.name.ilike(pattern, escape="\\")).limit(limit)
    )
    return list(dict.fromkeys([*db.session.scalars(by_customer), *db.session.scalars(by_contact)]))


def load_cards(
    customer_ids: Sequence[int], *, now: datetime, ticket_entities: bool = False
) -> list[CustomerCard]:
    """Cards for the given customers, in the given order (unknown ids are left out).

    Three selects whatever the number of customers, contacts, assets and tickets: customers
    with their contacts and phones; assets with their entitlements and whether a 4-hour
    station serves their city; tickets with their machine. With ``ticket_entities`` the
    tickets are ``Ticket`` entities (their asset and station loaded), for pages that show
    SLA clocks.
    """
    ids = list(dict.fromkeys(customer_ids))
    if not ids:
        return []
    cards = _cards_with_contacts(_run(_CUSTOMERS, ids=ids), now)
    found = list(cards)
    if not found:
        return []
    _add_assets(cards, _run(_ASSETS, ids=found))
    if ticket_entities:
        entities = (
            sa.select(Ticket)
            .where(_ticket_filter())
            .options(joinedload(Ticket.asset), joinedload(Ticket.station))
            .order_by(Ticket.created_at.desc(), Ticket.id.desc())
        )
        for ticket in db.session.scalars(entities, {"ids": found}):
            _file_ticket(cards[ticket.customer_id], ticket)
    else:
        for customer_id, *ticket_fields, asset_id, serial in _run(_TICKETS, ids=found):
            asset = TicketAsset(asset_id, serial) if asset_id is not None else None
            _file_ticket(cards[customer_id], CardTicket(*ticket_fields, asset=asset))
    return [cards[customer_id] for customer_id in ids if customer_id in cards]


def identify(
    *, now: datetime, phone: str | None = None, serial: str | None = None, q: str | None = None
) -> list[CustomerCard]:
    return load_cards(find_customer_ids(phone=phone, serial=serial, q=q), now=now)


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _local_date(now: datetime, customer: CardCustomer) -> date:
    return now.astimezone(_zone(customer.timezone)).date()


def _cards_with_contacts(rows: Iterable[sa.Row], now: datetime) -> dict[int, CustomerCard]:
    """Cards by customer id, with their contacts in the order they were added, each with its
    numbers in the same order."""
    cards: dict[int, CustomerCard] = {}
    contacts: dict[int, tuple[int, tuple, list[CardPhone]]] = {}
    for row in rows:
        customer_id = row[0]
        if customer_id not in cards:
            customer = CardCustomer(*row[:_CUSTOMER_COLUMNS])
            cards[customer_id] = CustomerCard(customer=customer, today=_local_date(now, customer))
        contact_id, name, title, is_primary, e164, extension = row[_CUSTOMER_COLUMNS:]
        if contact_id is None:
            continue
        if contact_id not in contacts:
            contacts[contact_id] = (customer_id, (contact_id, name, title, is_primary), [])
        if e164 is not None:
            contacts[contact_id][2].append(CardPhone(e164, extension))
    for customer_id, contact_fields, phones in contacts.values():
        cards[customer_id].contacts.append(CardContact(*contact_fields, phones=tuple(phones)))
    return cards


def _add_assets(cards: dict[int, CustomerCard], rows: Iterable[sa.Row]) -> None:
    """Assets by serial, each with its entitlements (by start, then offering) and its service
    level on the customer's today.

    Whether a 4-hour station serves the asset's city is asked in the same select (PostgreSQL
    hashes the few 4-hour cities once per statement): a station's change is seen at once by
    every server process, with no cache to keep right and no statement of its own.
    """
    assets: dict[int, tuple[int, CardAsset, bool, list[EntitlementTerm]]] = {}
    for customer_id, asset_id, *asset_fields, four_hour, offering, start, end in rows:
        if asset_id not in assets:
            assets[asset_id] = (
                customer_id,
                CardAsset(asset_id, *asset_fields),
                bool(four_hour),
                [],
            )
        if offering is not None:
            assets[asset_id][3].append(EntitlementTerm(offering=offering, start=start, end=end))
    for customer_id, asset, four_hour, terms in assets.values():
        card = cards[customer_id]
        level = effective_service_level(
            entitlements=terms, on=card.today, four_hour_available=four_hour
        )
        card.assets.append(
            AssetView(asset=asset, today=card.today, service_level=level, terms=terms)
        )


def _file_ticket(card: CustomerCard, ticket: CardTicket | Ticket) -> None:
    """Newest first: every open ticket, then up to :data:`RECENT_TICKETS` others."""
    if ticket.status in OPEN_STATUSES:
        card.open_tickets.append(ticket)
    elif len(card.recent_tickets) < RECENT_TICKETS:
        card.recent_tickets.append(ticket)
