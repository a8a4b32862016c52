"""Service regions (with the provinces and cities they hold) and repair stations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from servicedesk.core.choices import check_in
from servicedesk.core.db import JSONType, UTCDateTime, db, utcnow
from servicedesk.warranty.coverage import PRODUCT_LINES

STATION_STATUSES = ("active", "probation", "suspended")


class Region(db.Model):
    __tablename__ = "regions"

    code: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    name_zh: Mapped[str] = mapped_column(sa.String(60))
    name_en: Mapped[str] = mapped_column(sa.String(100))

    places: Mapped[list[RegionPlace]] = relationship(
        back_populates="region", cascade="all, delete-orphan", order_by="RegionPlace.position"
    )

    @property
    def provinces(self) -> list[str]:
        return [place.name for place in self.places]

    def display_name(self, language: str) -> str:
        return self.name_zh if language == "zh" else self.name_en


class RegionPlace(db.Model):
    """A province, or a city that is a region of its own (深圳), and the region it belongs to."""

    __tablename__ = "region_places"

    name: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    region_code: Mapped[str] = mapped_column(sa.ForeignKey("regions.code"), index=True)
    position: Mapped[int] = mapped_column(default=0)

    region: Mapped[Region] = relationship(back_populates="places")


class Station(db.Model):
    __tablename__ = "stations"
    __table_args__ = (
        check_in("status", STATION_STATUSES),
        sa.CheckConstraint("capacity >= 0", name="capacity_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    region_code: Mapped[str] = mapped_column(sa.ForeignKey("regions.code"), index=True)
    capacity: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(sa.String(20), default="active")
    satisfaction: Mapped[float | None] = mapped_column()
    """Rolling 90-day satisfaction rate, 0..1; None until enough answers (scorecards)."""
    scorecard: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    """The last rolling 90-day scorecard worked out for the station (see its ``scored_at``)."""
    scored_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    region: Mapped[Region] = relationship()
    cities: Mapped[list[StationCity]] = relationship(
        back_populates="station", cascade="all, delete-orphan", order_by="StationCity.city"
    )
    product_lines: Mapped[list[StationProductLine]] = relationship(
        back_populates="station",
        cascade="all, delete-orphan",
        order_by="StationProductLine.product_line",
    )

    @property
    def city_names(self) -> list[str]:
        return [city.city for city in self.cities]

    @property
    def four_hour_city_names(self) -> list[str]:
        return [city.city for city in self.cities if city.four_hour]

    @property
    def product_line_names(self) -> list[str]:
        return [line.product_line for line in self.product_lines]


class StationCity(db.Model):
    __tablename__ = "station_cities"

    station_id: Mapped[int] = mapped_column(sa.ForeignKey("stations.id"), primary_key=True)
    city: Mapped[str] = mapped_column(sa.String(60), primary_key=True, index=True)
    four_hour: Mapped[bool] = mapped_column(default=False)

    station: Mapped[Station] = relationship(back_populates="cities")


class StationProductLine(db.Model):
    __tablename__ = "station_product_lines"
    __table_args__ = (check_in("product_line", PRODUCT_LINES),)

    station_id: Mapped[int] = mapped_column(sa.ForeignKey("stations.id"), primary_key=True)
    product_line: Mapped[str] = mapped_column(sa.String(20), primary_key=True)

    station: Mapped[Station] = relationship(back_populates="product_lines")


class StationChange(db.Model):
    """One supervisor edit of a station: what changed (before and after) and who did it."""

    __tablename__ = "station_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(sa.ForeignKey("stations.id"), index=True)
    changed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    changes: Mapped[dict[str, Any]] = mapped_column(JSONType)
    """``{field: {"before": ..., "after": ...}}``."""
    reason: Mapped[str] = mapped_column(sa.Text, default="")

    changed_by = relationship("User")
