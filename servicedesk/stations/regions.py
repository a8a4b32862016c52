"""The 18 service regions that ship with servicedesk, and finding the region of a place."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from servicedesk.core.db import db
from servicedesk.stations.models import Region, RegionPlace

DEFAULT_REGIONS_CSV = Path(__file__).resolve().parent.parent / "data" / "regions.csv"


@dataclass(frozen=True)
class RegionRow:
    code: str
    name_zh: str
    name_en: str
    places: tuple[str, ...]
    """Provinces, or cities that are regions of their own (深圳), in file order."""


def read_default_regions() -> list[RegionRow]:
    with DEFAULT_REGIONS_CSV.open(encoding="utf-8", newline="") as handle:
        return [
            RegionRow(
                code=row["code"],
                name_zh=row["name_zh"],
                name_en=row["name_en"],
                places=tuple(p.strip() for p in row["provinces"].split(";") if p.strip()),
            )
            for row in csv.DictReader(handle)
        ]


def upsert_region(row: RegionRow) -> bool:
    """Create or update one region and its places; True when it was created."""
    region = db.session.get(Region, row.code)
    created = region is None
    if created:
        region = Region(code=row.code)
        db.session.add(region)
    region.name_zh = row.name_zh
    region.name_en = row.name_en
    wanted = {name: position for position, name in enumerate(row.places)}
    for place in list(region.places):
        if place.name not in wanted:
            region.places.remove(place)
    existing = {place.name: place for place in region.places}
    for name, position in wanted.items():
        place = existing.get(name) or db.session.get(RegionPlace, name)
        if place is None:
            place = RegionPlace(name=name)
            region.places.append(place)
        elif place.region_code != row.code:
            place.region = region
        place.position = position
    db.session.flush()
    return created


def load_default_regions() -> int:
    """Upsert the shipped regions; returns how many were new."""
    return sum(upsert_region(row) for row in read_default_regions())


#: Official names whose short form is not just the name minus a suffix.
_OFFICIAL_PLACE_NAMES = {
    "内蒙古自治区": "内蒙古",
    "广西壮族自治区": "广西",
    "西藏自治区": "西藏",
    "宁夏回族自治区": "宁夏",
    "新疆维吾尔自治区": "新疆",
    "香港特别行政区": "香港",
    "澳门特别行政区": "澳门",
}
_PLACE_SUFFIXES = ("省", "市")


def normalize_place(name: str) -> str:
    """The short name regions use for a province or city: ``广东省`` → ``广东``, ``北京市`` →
    ``北京``, ``广西壮族自治区`` → ``广西``, ``深圳市`` → ``深圳``.

    Surrounding whitespace (full-width too) is dropped. A suffix is kept when removing it would
    leave a single character, and names without a known suffix are returned as they are.
    """
    name = name.strip()
    if name in _OFFICIAL_PLACE_NAMES:
        return _OFFICIAL_PLACE_NAMES[name]
    for suffix in _PLACE_SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return name


def region_for(province: str, city: str | None = None) -> str | None:
    """The region code serving a site: a city listed on its own (深圳) wins over its province."""
    names = [normalize_place(name) for name in (city, province) if name]
    rows = dict(
        db.session.execute(
            sa.select(RegionPlace.name, RegionPlace.region_code).where(RegionPlace.name.in_(names))
        ).all()
    )
    for name in names:
        if name in rows:
            return rows[name]
    return None


def known_places(names: Iterable[str]) -> set[str]:
    return set(
        db.session.scalars(sa.select(RegionPlace.name).where(RegionPlace.name.in_(list(names))))
    )
