"""Importing parsed rows: idempotent upserts, batch by batch, good rows kept when others fail.

Each batch (``BATCH_SIZE`` rows) is parsed row by row (:mod:`servicedesk.imports.records`),
checked against the database with one query per lookup rather than one per row, and written
inside a savepoint. When the database refuses the batch, it is written again row by row, each in
its own savepoint, so that only the offending rows are rejected.

These functions flush and never commit: the caller commits (the CLI does so after each batch).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import selectinload

from servicedesk.core.db import db
from servicedesk.customers.models import Asset, Contact, ContactPhone, Customer, Entitlement
from servicedesk.imports.csvfile import CsvTable, decode, read_table
from servicedesk.imports.records import (
    LAYOUTS,
    PARSERS,
    AssetRecord,
    CustomerRecord,
    EntitlementRecord,
    RegionRecord,
    StationRecord,
    adp_allowed,
    describe_key,
)
from servicedesk.imports.report import ImportReport, Outcome
from servicedesk.stations.models import (
    Region,
    RegionPlace,
    Station,
    StationCity,
    StationProductLine,
)
from servicedesk.stations.regions import DEFAULT_REGIONS_CSV, RegionRow, upsert_region

BATCH_SIZE = 1000
DEFAULT_CUSTOMER_LANGUAGE = "zh"
DEFAULT_STATION_STATUS = "active"

R = TypeVar("R")
Candidate = tuple[int, Any]
"""A parsed row: its line in the file and its record."""


def read_import_file(kind: str, data: bytes) -> CsvTable:
    """The rows of an import file of ``kind``; raises ``CsvFileError`` when it is unusable."""
    layout = LAYOUTS[kind]
    return read_table(decode(data), layout.required, layout.optional)


def import_table(
    kind: str,
    table: CsvTable,
    *,
    batch_size: int = BATCH_SIZE,
    after_batch: Callable[[ImportReport], None] | None = None,
) -> ImportReport:
    """Upsert every good row of ``table`` and report on every row.

    ``after_batch`` is called with the report so far after each batch has been flushed (the CLI
    commits there and prints progress).
    """
    importer = IMPORTERS[kind]()
    parse = PARSERS[kind]
    layout = LAYOUTS[kind]
    report = ImportReport(kind=kind, ignored_columns=table.ignored_columns)
    first_line: dict[Hashable, int] = {}
    for start in range(0, len(table.rows), batch_size):
        candidates: list[Candidate] = []
        for row in table.rows[start : start + batch_size]:
            if row.problem:
                report.reject(row.line, [row.problem])
                continue
            parsed = parse(row.values)
            if isinstance(parsed, list):
                report.reject(row.line, parsed)
                continue
            line_seen = first_line.setdefault(parsed.key, row.line)
            if line_seen != row.line:
                report.reject(
                    row.line,
                    [
                        f"duplicate {layout.key_label} {describe_key(parsed.key)}: "
                        f"already on line {line_seen}"
                    ],
                )
                continue
            candidates.append((row.line, parsed))
        _import_batch(importer, candidates, report)
        if after_batch is not None:
            after_batch(report)
    return report


def import_default_regions() -> ImportReport:
    """Upsert the 18 service regions shipped in ``servicedesk/data/regions.csv``."""
    return import_table("regions", read_import_file("regions", DEFAULT_REGIONS_CSV.read_bytes()))


def _import_batch(importer: _Importer, candidates: list[Candidate], report: ImportReport) -> None:
    accepted: list[Candidate] = []
    for (line, record), reasons in zip(candidates, importer.check(candidates), strict=True):
        if reasons:
            report.reject(line, reasons)
        else:
            accepted.append((line, record))
    if not accepted:
        return
    try:
        outcomes = _in_savepoint(importer, [record for _, record in accepted])
    except (IntegrityError, DataError):
        for line, record in accepted:
            try:
                [outcome] = _in_savepoint(importer, [record])
            except (IntegrityError, DataError) as exc:
                report.reject(line, [f"the database refused the row: {_database_message(exc)}"])
            else:
                report.count(outcome)
        return
    for outcome in outcomes:
        report.count(outcome)


def _in_savepoint(importer: _Importer, records: list[Any]) -> list[Outcome]:
    _open_outer_transaction()
    with db.session.begin_nested():
        return importer.apply(records)


def _open_outer_transaction() -> None:
    """pysqlite opens a transaction only at the first write, so a SAVEPOINT issued before one
    would open the transaction itself and its RELEASE would commit it; open it explicitly."""
    connection = db.session.connection()
    if connection.dialect.name != "sqlite":
        return
    dbapi_connection = connection.connection.dbapi_connection
    if dbapi_connection is not None and not dbapi_connection.in_transaction:
        connection.exec_driver_sql("BEGIN")


def _database_message(exc: Exception) -> str:
    message = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
    return message[:200]


def _assign(target: Any, **values: Any) -> bool:
    """Set the attributes that differ; True when any did."""
    changed = False
    for name, value in values.items():
        if getattr(target, name) != value:
            setattr(target, name, value)
            changed = True
    return changed


def _outcome(created: bool, changed: bool) -> Outcome:
    if created:
        return Outcome.ADDED
    return Outcome.UPDATED if changed else Outcome.UNCHANGED


class _Importer(Generic[R]):
    """Checks records against the database (``check``) and upserts them (``apply``)."""

    def check(self, candidates: list[Candidate]) -> list[list[str]]:
        return [[] for _ in candidates]

    def apply(self, records: list[R]) -> list[Outcome]:
        raise NotImplementedError


def _known_places() -> set[str]:
    return set(db.session.scalars(sa.select(RegionPlace.name)))


def _place_reason(province: str, known_places: set[str]) -> str:
    hint = "import regions first" if not known_places else "not part of any service region"
    return f"unknown province {province!r} ({hint})"


class _RegionImporter(_Importer[RegionRecord]):
    def __init__(self) -> None:
        self.claimed: dict[str, tuple[str, int]] = {}
        """Each place listed so far in the file: the region that lists it, and on which line."""

    def check(self, candidates: list[Candidate]) -> list[list[str]]:
        results = []
        for line, record in candidates:
            reasons = []
            for place in record.places:
                code, first_line = self.claimed.get(place, (record.code, line))
                if code != record.code:
                    reasons.append(
                        f"province {place!r} is already in region {code!r} on line {first_line}"
                    )
            if not reasons:
                for place in record.places:
                    self.claimed.setdefault(place, (record.code, line))
            results.append(reasons)
        return results

    def apply(self, records: list[RegionRecord]) -> list[Outcome]:
        outcomes = []
        for record in records:
            region = db.session.get(Region, record.code)
            if region is not None and (
                region.name_zh == record.name_zh
                and region.name_en == record.name_en
                and tuple(region.provinces) == record.places
            ):
                outcomes.append(Outcome.UNCHANGED)
                continue
            created = upsert_region(
                RegionRow(
                    code=record.code,
                    name_zh=record.name_zh,
                    name_en=record.name_en,
                    places=record.places,
                )
            )
            outcomes.append(_outcome(created, changed=True))
        return outcomes


class _StationImporter(_Importer[StationRecord]):
    def __init__(self) -> None:
        self.region_codes = set(db.session.scalars(sa.select(Region.code)))

    def check(self, candidates: list[Candidate]) -> list[list[str]]:
        known = ", ".join(sorted(self.region_codes)) or "none: import regions first"
        return [
            []
            if record.region in self.region_codes
            else [f"unknown region {record.region!r} (known regions: {known})"]
            for _, record in candidates
        ]

    def apply(self, records: list[StationRecord]) -> list[Outcome]:
        stations = {
            station.code: station
            for station in db.session.scalars(
                sa.select(Station)
                .where(Station.code.in_([record.code for record in records]))
                .options(selectinload(Station.cities), selectinload(Station.product_lines))
            )
        }
        outcomes = []
        for record in records:
            station = stations.get(record.code)
            if station is None:
                db.session.add(
                    Station(
                        code=record.code,
                        name=record.name,
                        region_code=record.region,
                        capacity=record.capacity,
                        status=record.status or DEFAULT_STATION_STATUS,
                        cities=[
                            StationCity(city=city, four_hour=city in record.four_hour_cities)
                            for city in record.cities
                        ],
                        product_lines=[
                            StationProductLine(product_line=line) for line in record.product_lines
                        ],
                    )
                )
                outcomes.append(Outcome.ADDED)
                continue
            changed = _assign(
                station,
                name=record.name,
                region_code=record.region,
                capacity=record.capacity,
                status=record.status or station.status,
            )
            changed = _sync_station_cities(station, record) or changed
            changed = _sync_product_lines(station, record) or changed
            outcomes.append(_outcome(False, changed))
        db.session.flush()
        return outcomes


def _sync_station_cities(station: Station, record: StationRecord) -> bool:
    wanted = {city: city in record.four_hour_cities for city in record.cities}
    changed = False
    for city in list(station.cities):
        if city.city not in wanted:
            station.cities.remove(city)
            changed = True
        elif city.four_hour != wanted[city.city]:
            city.four_hour = wanted[city.city]
            changed = True
    present = {city.city for city in station.cities}
    for name, four_hour in wanted.items():
        if name not in present:
            station.cities.append(StationCity(city=name, four_hour=four_hour))
            changed = True
    return changed


def _sync_product_lines(station: Station, record: StationRecord) -> bool:
    wanted = set(record.product_lines)
    changed = False
    for line in list(station.product_lines):
        if line.product_line not in wanted:
            station.product_lines.remove(line)
            changed = True
    present = {line.product_line for line in station.product_lines}
    for name in record.product_lines:
        if name not in present:
            station.product_lines.append(StationProductLine(product_line=name))
            changed = True
    return changed


class _CustomerImporter(_Importer[CustomerRecord]):
    """Customers and their primary contact's phones, written with one statement per table."""

    def __init__(self) -> None:
        self.places = _known_places()

    def check(self, candidates: list[Candidate]) -> list[list[str]]:
        return [
            [] if record.province in self.places else [_place_reason(record.province, self.places)]
            for _, record in candidates
        ]

    def apply(self, records: list[CustomerRecord]) -> list[Outcome]:
        stored = {
            row.code: row
            for row in db.session.execute(
                sa.select(
                    Customer.id,
                    Customer.code,
                    Customer.name,
                    Customer.customer_class,
                    Customer.province,
                    Customer.city,
                    Customer.address,
                    Customer.language,
                ).where(Customer.code.in_([record.code for record in records]))
            )
        }
        new_rows = []
        updates = []
        for record in records:
            values = {
                "name": record.name,
                "customer_class": record.customer_class,
                "province": record.province,
                "city": record.city,
                "address": record.address,
            }
            row = stored.get(record.code)
            if row is None:
                language = record.language or DEFAULT_CUSTOMER_LANGUAGE
                new_rows.append({"code": record.code, **values, "language": language})
                continue
            values["language"] = record.language or row.language
            if any(getattr(row, name) != value for name, value in values.items()):
                updates.append({"id": row.id, **values})
        ids = {code: row.id for code, row in stored.items()}
        if new_rows:
            ids.update(
                db.session.execute(
                    sa.insert(Customer).returning(Customer.code, Customer.id), new_rows
                ).all()
            )
        if updates:
            db.session.execute(sa.update(Customer), updates)
        updated_ids = {update["id"] for update in updates}
        updated_ids |= _sync_primary_phones(records, ids)
        db.session.expire_all()
        return [
            _outcome(record.code not in stored, ids[record.code] in updated_ids)
            for record in records
        ]


def _sync_primary_phones(records: list[CustomerRecord], ids: dict[str, int]) -> set[int]:
    """Make each customer's primary contact's numbers exactly those of its record.

    A customer without a primary contact gets one, named after the customer, when its record
    lists phones. Returns the ids of the customers whose numbers changed.
    """
    customer_ids = [ids[record.code] for record in records]
    primaries: dict[int, int] = {}
    for contact_id, customer_id in db.session.execute(
        sa.select(Contact.id, Contact.customer_id)
        .where(Contact.customer_id.in_(customer_ids), Contact.is_primary)
        .order_by(Contact.id)
    ):
        primaries.setdefault(customer_id, contact_id)
    stored: dict[int, dict[tuple[str, str | None], int]] = defaultdict(dict)
    for phone_id, contact_id, e164, extension in db.session.execute(
        sa.select(
            ContactPhone.id, ContactPhone.contact_id, ContactPhone.e164, ContactPhone.extension
        ).where(ContactPhone.contact_id.in_(list(primaries.values())))
    ):
        stored[contact_id][(e164, extension)] = phone_id
    new_contacts = [
        {"customer_id": ids[record.code], "name": record.name, "is_primary": True}
        for record in records
        if record.phones and ids[record.code] not in primaries
    ]
    if new_contacts:
        primaries.update(
            (customer_id, contact_id)
            for contact_id, customer_id in db.session.execute(
                sa.insert(Contact).returning(Contact.id, Contact.customer_id), new_contacts
            ).all()
        )
    stale_phone_ids = []
    new_phones = []
    changed = set()
    for record in records:
        customer_id = ids[record.code]
        contact_id = primaries.get(customer_id)
        if contact_id is None:
            continue
        present = stored.get(contact_id, {})
        wanted = {(phone.e164, phone.extension) for phone in record.phones}
        stale = [phone_id for key, phone_id in present.items() if key not in wanted]
        fresh = [phone for phone in record.phones if (phone.e164, phone.extension) not in present]
        if stale or fresh:
            changed.add(customer_id)
        stale_phone_ids += stale
        new_phones += [
            {
                "contact_id": contact_id,
                "customer_id": customer_id,
                "e164": phone.e164,
                "extension": phone.extension,
            }
            for phone in fresh
        ]
    if stale_phone_ids:
        db.session.execute(
            sa.delete(ContactPhone).where(ContactPhone.id.in_(stale_phone_ids)),
            execution_options={"synchronize_session": False},
        )
    if new_phones:
        db.session.execute(sa.insert(ContactPhone), new_phones)
    return changed


def _customer_ids(codes: Iterable[str]) -> dict[str, int]:
    return dict(
        db.session.execute(
            sa.select(Customer.code, Customer.id).where(Customer.code.in_(set(codes)))
        ).all()
    )


class _AssetImporter(_Importer[AssetRecord]):
    def __init__(self) -> None:
        self.places = _known_places()

    def check(self, candidates: list[Candidate]) -> list[list[str]]:
        records = [record for _, record in candidates]
        customer_ids = _customer_ids(record.customer for record in records)
        without_adp_line = [r.serial for r in records if not adp_allowed(r.product_line)]
        serials_with_adp = set(
            db.session.scalars(
                sa.select(Asset.serial)
                .join(Entitlement, Entitlement.asset_id == Asset.id)
                .where(Asset.serial.in_(without_adp_line), Entitlement.offering == "adp")
            )
            if without_adp_line
            else []
        )
        results = []
        for record in records:
            reasons = []
            if record.customer not in customer_ids:
                reasons.append(f"unknown customer {record.customer!r} (import customers first)")
            if record.province not in self.places:
                reasons.append(_place_reason(record.province, self.places))
            if record.serial in serials_with_adp:
                reasons.append(
                    f"product line {record.product_line!r} cannot carry the asset's adp "
                    "entitlement (adp is for laptops and all-in-ones only)"
                )
            results.append(reasons)
        return results

    def apply(self, records: list[AssetRecord]) -> list[Outcome]:
        customer_ids = _customer_ids(record.customer for record in records)
        stored = {
            row.serial: row
            for row in db.session.execute(
                sa.select(
                    Asset.id,
                    Asset.serial,
                    Asset.customer_id,
                    Asset.product_line,
                    Asset.model,
                    Asset.purchase_date,
                    Asset.purchase_price,
                    Asset.province,
                    Asset.city,
                ).where(Asset.serial.in_([record.serial for record in records]))
            )
        }
        new_rows = []
        updates = []
        outcomes = []
        for record in records:
            values: dict[str, Any] = {
                "customer_id": customer_ids[record.customer],
                "product_line": record.product_line,
                "model": record.model,
                "purchase_date": record.purchase_date,
                "province": record.province,
                "city": record.city,
                "purchase_price": record.purchase_price,
            }
            row = stored.get(record.serial)
            if row is None:
                new_rows.append({"serial": record.serial, **values})
                outcomes.append(Outcome.ADDED)
                continue
            if not record.has_purchase_price:
                values["purchase_price"] = row.purchase_price
            changed = any(getattr(row, name) != value for name, value in values.items())
            if changed:
                updates.append({"id": row.id, **values})
            outcomes.append(_outcome(False, changed))
        if new_rows:
            db.session.execute(sa.insert(Asset), new_rows)
        if updates:
            db.session.execute(sa.update(Asset), updates)
        db.session.expire_all()
        return outcomes


def _assets_by_serial(serials: Iterable[str]) -> dict[str, tuple[int, str]]:
    """``serial → (asset id, product line)``."""
    rows = db.session.execute(
        sa.select(Asset.serial, Asset.id, Asset.product_line).where(Asset.serial.in_(set(serials)))
    )
    return {serial: (asset_id, product_line) for serial, asset_id, product_line in rows}


class _EntitlementImporter(_Importer[EntitlementRecord]):
    def check(self, candidates: list[Candidate]) -> list[list[str]]:
        assets = _assets_by_serial(record.serial for _, record in candidates)
        results = []
        for _, record in candidates:
            reasons = []
            if record.serial not in assets:
                reasons.append(f"unknown serial {record.serial!r} (import assets first)")
            elif record.offering == "adp" and not adp_allowed(assets[record.serial][1]):
                reasons.append(
                    f"adp is for laptops and all-in-ones only; {record.serial} is a "
                    f"{assets[record.serial][1]}"
                )
            results.append(reasons)
        return results

    def apply(self, records: list[EntitlementRecord]) -> list[Outcome]:
        assets = _assets_by_serial(record.serial for record in records)
        stored = {
            (asset_id, offering, start): (entitlement_id, end)
            for entitlement_id, asset_id, offering, start, end in db.session.execute(
                sa.select(
                    Entitlement.id,
                    Entitlement.asset_id,
                    Entitlement.offering,
                    Entitlement.start,
                    Entitlement.end,
                ).where(Entitlement.asset_id.in_([asset_id for asset_id, _ in assets.values()]))
            )
        }
        new_rows = []
        updates = []
        outcomes = []
        for record in records:
            asset_id = assets[record.serial][0]
            existing = stored.get((asset_id, record.offering, record.start))
            if existing is None:
                new_rows.append(
                    {
                        "asset_id": asset_id,
                        "offering": record.offering,
                        "start": record.start,
                        "end": record.end,
                    }
                )
                outcomes.append(Outcome.ADDED)
            elif existing[1] != record.end:
                updates.append({"id": existing[0], "end": record.end})
                outcomes.append(Outcome.UPDATED)
            else:
                outcomes.append(Outcome.UNCHANGED)
        if new_rows:
            db.session.execute(sa.insert(Entitlement), new_rows)
        if updates:
            db.session.execute(sa.update(Entitlement), updates)
        db.session.expire_all()
        return outcomes


IMPORTERS: dict[str, type[_Importer[Any]]] = {
    "regions": _RegionImporter,
    "stations": _StationImporter,
    "customers": _CustomerImporter,
    "assets": _AssetImporter,
    "entitlements": _EntitlementImporter,
}
KINDS = tuple(IMPORTERS)
