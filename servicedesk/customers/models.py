"""Customers, contacts, phone numbers, assets and entitlements."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from servicedesk.core.choices import check_in
from servicedesk.core.db import UTCDateTime, db, utcnow
from servicedesk.warranty.coverage import OFFERINGS, PRODUCT_LINES, EntitlementTerm

CUSTOMER_CLASSES = ("A", "B", "C", "consumer")
LANGUAGES = ("zh", "en")
DEFAULT_TIMEZONE = "Asia/Shanghai"


class Customer(db.Model):
    __tablename__ = "customers"
    __table_args__ = (check_in("class", CUSTOMER_CLASSES), check_in("language", LANGUAGES))

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200), index=True)
    customer_class: Mapped[str] = mapped_column("class", sa.String(10))
    province: Mapped[str] = mapped_column(sa.String(40))
    city: Mapped[str] = mapped_column(sa.String(60))
    address: Mapped[str] = mapped_column(sa.String(400), default="")
    language: Mapped[str] = mapped_column(sa.String(5), default="zh")
    timezone: Mapped[str] = mapped_column(sa.String(60), default=DEFAULT_TIMEZONE)
    do_not_call: Mapped[bool] = mapped_column(default=False)
    account_manager_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    contacts: Mapped[list[Contact]] = relationship(
        back_populates="customer", cascade="all, delete-orphan", order_by="Contact.id"
    )
    assets: Mapped[list[Asset]] = relationship(back_populates="customer", order_by="Asset.serial")

    @property
    def phones(self) -> list[ContactPhone]:
        return [phone for contact in self.contacts for phone in contact.phones]


class Contact(db.Model):
    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(sa.ForeignKey("customers.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200), index=True)
    title: Mapped[str] = mapped_column(sa.String(100), default="")
    is_primary: Mapped[bool] = mapped_column(default=False)

    customer: Mapped[Customer] = relationship(back_populates="contacts")
    phones: Mapped[list[ContactPhone]] = relationship(
        back_populates="contact", cascade="all, delete-orphan", order_by="ContactPhone.id"
    )


class ContactPhone(db.Model):
    """A contact's number in E.164 (``+8613800138000``), with its extension kept apart."""

    __tablename__ = "contact_phones"
    __table_args__ = (sa.UniqueConstraint("contact_id", "e164", "extension"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(sa.ForeignKey("contacts.id"), index=True)
    customer_id: Mapped[int] = mapped_column(sa.ForeignKey("customers.id"), index=True)
    e164: Mapped[str] = mapped_column(sa.String(20), index=True)
    extension: Mapped[str | None] = mapped_column(sa.String(10))

    contact: Mapped[Contact] = relationship(back_populates="phones")
    customer: Mapped[Customer] = relationship()


class Asset(db.Model):
    __tablename__ = "assets"
    __table_args__ = (check_in("product_line", PRODUCT_LINES),)

    id: Mapped[int] = mapped_column(primary_key=True)
    serial: Mapped[str] = mapped_column(sa.String(60), unique=True)
    customer_id: Mapped[int] = mapped_column(sa.ForeignKey("customers.id"), index=True)
    product_line: Mapped[str] = mapped_column(sa.String(20))
    model: Mapped[str] = mapped_column(sa.String(120))
    purchase_date: Mapped[date] = mapped_column(sa.Date)
    purchase_price: Mapped[Decimal | None] = mapped_column(sa.Numeric(12, 2))
    province: Mapped[str] = mapped_column(sa.String(40))
    city: Mapped[str] = mapped_column(sa.String(60))

    customer: Mapped[Customer] = relationship(back_populates="assets")
    entitlements: Mapped[list[Entitlement]] = relationship(
        back_populates="asset",
        cascade="all, delete-orphan",
        order_by="(Entitlement.start, Entitlement.offering)",
    )

    @property
    def terms(self) -> list[EntitlementTerm]:
        return [entitlement.term for entitlement in self.entitlements]


class Entitlement(db.Model):
    """One offering on one asset for an inclusive date range."""

    __tablename__ = "entitlements"
    __table_args__ = (
        sa.UniqueConstraint("asset_id", "offering", "start"),
        check_in("offering", OFFERINGS),
        sa.CheckConstraint('"end" >= start', name="end_after_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(sa.ForeignKey("assets.id"), index=True)
    offering: Mapped[str] = mapped_column(sa.String(20))
    start: Mapped[date] = mapped_column(sa.Date)
    end: Mapped[date] = mapped_column(sa.Date)

    asset: Mapped[Asset] = relationship(back_populates="entitlements")

    @property
    def term(self) -> EntitlementTerm:
        return EntitlementTerm(offering=self.offering, start=self.start, end=self.end)
