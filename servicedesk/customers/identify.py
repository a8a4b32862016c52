"""Who is calling: find customers by phone (any spelling), serial number, code or name, and
build the card an agent sees: contacts, assets with what each is entitled to, tickets."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from servicedesk.core.db import db
from servicedesk.customers.models import Asset, Contact, ContactPhone, Customer
from servicedesk.customers.phones import looks_like_phone, normalize_phone
from servicedesk.sla.levels import LevelDecision, effective_service_level
from servicedesk.stations.models import Station, StationCity
from servicedesk.tickets.models import OPEN_STATUSES, Ticket
from servicedesk.warranty.coverage import EntitlementTerm

MAX_MATCHES = 20
RECENT_TICKETS = 10
EXPIRY_PROMPT_DAYS = 30


@dataclass
class AssetView:
    asset: Asset
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
    customer: Customer
    today: date
    assets: list[AssetView] = field(default_factory=list)
    open_tickets: list[Ticket] = field(default_factory=list)
    recent_tickets: list[Ticket] = field(default_factory=list)

    @property
    def contacts(self) -> list[Contact]:
        return self.customer.contacts


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


def _by_phone(e164: str) -> list[int]:
    return list(
        db.session.scalars(
            sa.select(ContactPhone.customer_id)
            .where(ContactPhone.e164 == e164)
            .distinct()
            .limit(MAX_MATCHES)
        )
    )


def _by_serial(serial: str) -> list[int]:
    return list(db.session.scalars(sa.select(Asset.customer_id).where(Asset.serial == serial)))


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


def load_cards(customer_ids: list[int], *, now: datetime) -> list[CustomerCard]:
    """Cards for the given customers, in the given order, with every relation loaded at once."""
    if not customer_ids:
        return []
    customers = db.session.scalars(
        sa.select(Customer)
        .where(Customer.id.in_(customer_ids))
        .options(
            selectinload(Customer.contacts).selectinload(Contact.phones),
            selectinload(Customer.assets).selectinload(Asset.entitlements),
        )
    ).all()
    by_id = {customer.id: customer for customer in customers}
    four_hour_cities = _four_hour_cities({a.city for c in customers for a in c.assets})
    tickets = _tickets_by_customer(customer_ids)

    cards = []
    for customer_id in customer_ids:
        customer = by_id.get(customer_id)
        if customer is None:
            continue
        today = now.astimezone(ZoneInfo(customer.timezone)).date()
        card = CustomerCard(customer=customer, today=today)
        for asset in customer.assets:
            terms = asset.terms
            card.assets.append(
                AssetView(
                    asset=asset,
                    today=today,
                    terms=terms,
                    service_level=effective_service_level(
                        entitlements=terms,
                        on=today,
                        four_hour_available=asset.city in four_hour_cities,
                    ),
                )
            )
        for ticket in tickets.get(customer_id, []):
            if ticket.status in OPEN_STATUSES:
                card.open_tickets.append(ticket)
            elif len(card.recent_tickets) < RECENT_TICKETS:
                card.recent_tickets.append(ticket)
        cards.append(card)
    return cards


def identify(
    *, now: datetime, phone: str | None = None, serial: str | None = None, q: str | None = None
) -> list[CustomerCard]:
    return load_cards(find_customer_ids(phone=phone, serial=serial, q=q), now=now)


def _four_hour_cities(cities: set[str]) -> set[str]:
    if not cities:
        return set()
    return set(
        db.session.scalars(
            sa.select(StationCity.city)
            .join(Station, Station.id == StationCity.station_id)
            .where(
                StationCity.city.in_(cities),
                StationCity.four_hour,
                Station.status != "suspended",
            )
            .distinct()
        )
    )


def _tickets_by_customer(customer_ids: list[int]) -> dict[int, list[Ticket]]:
    """Open tickets and the latest closed ones per customer, newest first."""
    ranked = (
        sa.select(
            Ticket.id,
            sa.func.row_number()
            .over(partition_by=Ticket.customer_id, order_by=Ticket.created_at.desc())
            .label("position"),
        )
        .where(Ticket.customer_id.in_(customer_ids), Ticket.status.not_in(OPEN_STATUSES))
        .subquery()
    )
    recent_ids = sa.select(ranked.c.id).where(ranked.c.position <= RECENT_TICKETS)
    rows = db.session.scalars(
        sa.select(Ticket)
        .where(
            Ticket.customer_id.in_(customer_ids),
            sa.or_(Ticket.status.in_(OPEN_STATUSES), Ticket.id.in_(recent_ids)),
        )
        .options(joinedload(Ticket.asset), joinedload(Ticket.station))
        .order_by(Ticket.created_at.desc(), Ticket.id.desc())
    )
    grouped: dict[int, list[Ticket]] = {}
    for ticket in rows:
        grouped.setdefault(ticket.customer_id, []).append(ticket)
    return grouped
