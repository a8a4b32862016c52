from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from servicedesk.customers.models import Asset, Contact, ContactPhone, Customer, Entitlement
from servicedesk.imports import records
from servicedesk.imports.report import Outcome
from servicedesk.imports.services import (
    import_default_regions,
    import_table,
    read_import_file,
)
from servicedesk.stations.models import Region, RegionPlace, Station

STATIONS = "code,name,region,cities,four_hour_cities,product_lines,capacity,status\n"
CUSTOMERS = "code,name,class,province,city,address,phones,language\n"
ASSETS = "serial,customer,product_line,model,purchase_date,province,city,purchase_price\n"
ENTITLEMENTS = "serial,offering,start,end\n"
REGIONS = "code,name_zh,name_en,provinces\n"

GOOD_STATIONS = (
    STATIONS
    + "SZ-01,深圳华强北服务站,shengui,深圳;东莞,深圳,laptop;desktop;aio,25,\n"
    + "BJ-01,北京中关村服务站,jingjinji,北京市,北京,laptop;server,40,probation\n"
)
GOOD_CUSTOMERS = (
    CUSTOMERS
    + "C0001,北京星河科技有限公司,B,北京市,北京市,海淀区中关村大街1号,"
    + "138 0013 8000;010-62751234 ext 8,zh\n"
    + "C0002,Li Na,consumer,广东省,深圳市,,+86 139 0000 0001,en\n"
)
GOOD_ASSETS = (
    ASSETS
    + "PF3ABC12,C0001,laptop,ThinkPad X1 Carbon Gen 12,2025-03-01,北京,北京,12999.00\n"
    + "SRV00001,C0001,server,ThinkSystem SR650,2024-06-30,北京,北京,\n"
    + "TAB00001,C0002,tablet,Tab P12,2025-10-01,广东,深圳,2499\n"
)
GOOD_ENTITLEMENTS = (
    ENTITLEMENTS
    + "PF3ABC12,depot,2025-03-01,2027-02-28\n"
    + "PF3ABC12,adp,2025-03-01,2026-02-28\n"
    + "SRV00001,onsite_4h,2024-06-30,2027-06-29\n"
)


def run(kind, text, **options):
    return import_table(kind, read_import_file(kind, text.encode()), **options)


def counts(report):
    return (report.added, report.updated, report.unchanged, len(report.rejected))


def reasons_by_line(report):
    return {row.line: "; ".join(row.reasons) for row in report.rejected}


@pytest.fixture
def regions(db):
    report = import_default_regions()
    assert report.added == 18
    return report


@pytest.fixture
def customers(regions):
    report = run("customers", GOOD_CUSTOMERS)
    assert report.ok, report.rejected
    return report


@pytest.fixture
def assets(customers):
    report = run("assets", GOOD_ASSETS)
    assert report.ok, report.rejected
    return report


# --- regions ---------------------------------------------------------------------------------


def test_the_default_regions(db, regions):
    assert counts(regions) == (18, 0, 0, 0)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Region)) == 18
    assert db.session.get(RegionPlace, "深圳").region_code == "shengui"
    assert db.session.get(RegionPlace, "广东").region_code == "guangdong"
    assert db.session.get(Region, "shengui").provinces == ["深圳", "广西", "海南"]


def test_the_default_regions_load_idempotently(regions):
    assert counts(import_default_regions()) == (0, 0, 18, 0)


def test_a_region_file_updates_renames_and_moves_provinces(db, regions):
    report = run(
        "regions",
        REGIONS
        + "shengui,深桂,Shenzhen-Guangxi,深圳市;广西壮族自治区\n"
        + "hainan,海南,Hainan,海南省\n"
        + "fujian,福建,Fujian,福建\n",
    )
    assert counts(report) == (1, 1, 1, 0)
    assert db.session.get(RegionPlace, "海南").region_code == "hainan"
    assert db.session.get(Region, "shengui").provinces == ["深圳", "广西"]


def test_a_province_listed_under_two_regions_of_one_file_is_rejected(db, regions):
    report = run(
        "regions",
        REGIONS
        + "south,南,South,广东;海南\n"
        + "island,岛,Island,海南省;台湾\n"
        + "taiwan,台,Taiwan,台湾\n",
    )
    assert counts(report) == (2, 0, 0, 1)
    assert reasons_by_line(report) == {3: "province '海南' is already in region 'south' on line 2"}
    assert db.session.get(RegionPlace, "海南").region_code == "south"
    assert db.session.get(RegionPlace, "台湾").region_code == "taiwan"


# --- stations --------------------------------------------------------------------------------


def test_good_stations(db, regions):
    report = run("stations", GOOD_STATIONS)
    assert counts(report) == (2, 0, 0, 0)
    shenzhen = db.session.scalar(sa.select(Station).where(Station.code == "SZ-01"))
    assert shenzhen.region_code == "shengui"
    assert sorted(shenzhen.city_names) == ["东莞", "深圳"]
    assert shenzhen.four_hour_city_names == ["深圳"]
    assert sorted(shenzhen.product_line_names) == ["aio", "desktop", "laptop"]
    assert shenzhen.capacity == 25
    assert shenzhen.status == "active"
    beijing = db.session.scalar(sa.select(Station).where(Station.code == "BJ-01"))
    assert beijing.city_names == ["北京"]
    assert beijing.status == "probation"


def test_stations_import_idempotently_and_update_in_place(db, regions):
    run("stations", GOOD_STATIONS)
    assert counts(run("stations", GOOD_STATIONS)) == (0, 0, 2, 0)
    changed = (
        STATIONS
        + "SZ-01,深圳福田服务站,shengui,深圳;惠州,惠州,laptop;monitor,30,\n"
        + "BJ-01,北京中关村服务站,jingjinji,北京市,北京,laptop;server,40,\n"
    )
    assert counts(run("stations", changed)) == (0, 1, 1, 0)
    db.session.expire_all()
    shenzhen = db.session.scalar(sa.select(Station).where(Station.code == "SZ-01"))
    assert shenzhen.name == "深圳福田服务站"
    assert sorted(shenzhen.city_names) == ["惠州", "深圳"]
    assert shenzhen.four_hour_city_names == ["惠州"]
    assert sorted(shenzhen.product_line_names) == ["laptop", "monitor"]
    assert shenzhen.capacity == 30
    beijing = db.session.scalar(sa.select(Station).where(Station.code == "BJ-01"))
    assert beijing.status == "probation", "an empty status leaves the station's status alone"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Station)) == 2


def test_a_station_in_an_unknown_region_is_rejected(db, regions):
    report = run("stations", STATIONS + "X-01,Somewhere,huabei,北京,,laptop,5,active\n")
    assert counts(report) == (0, 0, 0, 1)
    assert reasons_by_line(report)[2].startswith("unknown region 'huabei' (known regions: chuanyu,")


def test_stations_without_any_region_say_to_import_regions(db):
    report = run("stations", STATIONS + "X-01,Somewhere,huabei,北京,,laptop,5,active\n")
    assert "import regions first" in reasons_by_line(report)[2]


# --- customers -------------------------------------------------------------------------------


def _customer(db, code):
    db.session.expire_all()
    return db.session.scalar(sa.select(Customer).where(Customer.code == code))


def test_good_customers(db, customers):
    assert counts(customers) == (2, 0, 0, 0)
    star = _customer(db, "C0001")
    assert (star.name, star.customer_class, star.province, star.city) == (
        "北京星河科技有限公司",
        "B",
        "北京",
        "北京",
    )
    assert star.language == "zh"
    [contact] = star.contacts
    assert (contact.name, contact.is_primary) == ("北京星河科技有限公司", True)
    assert [(p.e164, p.extension, p.customer_id) for p in contact.phones] == [
        ("+8613800138000", None, star.id),
        ("+861062751234", "8", star.id),
    ]
    li = _customer(db, "C0002")
    assert (li.customer_class, li.province, li.city, li.language) == (
        "consumer",
        "广东",
        "深圳",
        "en",
    )
    assert li.address == ""


def test_customers_import_idempotently(db, customers):
    assert counts(run("customers", GOOD_CUSTOMERS)) == (0, 0, 2, 0)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Customer)) == 2
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Contact)) == 2
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ContactPhone)) == 3


def test_reimport_replaces_the_primary_contacts_phones(db, customers):
    changed = (
        CUSTOMERS
        + "C0001,北京星河科技有限公司,A,北京,北京,海淀区中关村大街1号,"
        + "+86 138 0013 8000;021-5012 3456,\n"
        + "C0002,Li Na,consumer,广东,深圳,,13900000001,en\n"
    )
    assert counts(run("customers", changed)) == (0, 1, 1, 0)
    star = _customer(db, "C0001")
    assert star.customer_class == "A"
    assert star.language == "zh", "an empty language leaves the customer's language alone"
    [contact] = star.contacts
    assert sorted((p.e164, p.extension) for p in contact.phones) == [
        ("+8613800138000", None),
        ("+862150123456", None),
    ]


def test_the_phones_go_on_the_existing_primary_contact(db, regions):
    customer = Customer(code="C0009", name="星河", customer_class="B", province="北京", city="北京")
    other = Contact(name="王芳", is_primary=False)
    primary = Contact(name="张伟", is_primary=True)
    customer.contacts = [other, primary]
    db.session.add(customer)
    db.session.flush()
    report = run("customers", CUSTOMERS + "C0009,星河,B,北京,北京,,138 0013 8000,zh\n")
    assert counts(report) == (0, 1, 0, 0)
    customer = _customer(db, "C0009")
    assert [(c.name, [p.e164 for p in c.phones]) for c in customer.contacts] == [
        ("王芳", []),
        ("张伟", ["+8613800138000"]),
    ]


def test_a_customer_without_a_primary_contact_gets_one(db, regions):
    customer = Customer(code="C0009", name="星河", customer_class="B", province="北京", city="北京")
    customer.contacts = [Contact(name="王芳", is_primary=False)]
    db.session.add(customer)
    db.session.flush()
    run("customers", CUSTOMERS + "C0009,星河,B,北京,北京,,138 0013 8000,zh\n")
    customer = _customer(db, "C0009")
    assert [(c.name, c.is_primary, len(c.phones)) for c in customer.contacts] == [
        ("王芳", False, 0),
        ("星河", True, 1),
    ]


def test_a_customer_without_phones_gets_no_contact(db, regions):
    report = run("customers", CUSTOMERS + "C0003,无电话客户,C,上海,上海,,,\n")
    assert counts(report) == (1, 0, 0, 0)
    assert _customer(db, "C0003").contacts == []


@pytest.mark.parametrize(
    ("province", "reason"),
    [
        ("火星", "unknown province '火星' (not part of any service region)"),
        ("广州", "unknown province '广州' (not part of any service region)"),
    ],
)
def test_a_customer_in_an_unknown_province_is_rejected(db, regions, province, reason):
    report = run("customers", CUSTOMERS + f"C0003,某公司,C,{province},广州,,,zh\n")
    assert counts(report) == (0, 0, 0, 1)
    assert reasons_by_line(report) == {2: reason}


def test_customers_before_regions_say_to_import_regions(db):
    report = run("customers", CUSTOMERS + "C0003,某公司,C,广东,广州,,,zh\n")
    assert reasons_by_line(report) == {2: "unknown province '广东' (import regions first)"}


# --- assets ----------------------------------------------------------------------------------


def _asset(db, serial):
    db.session.expire_all()
    return db.session.scalar(sa.select(Asset).where(Asset.serial == serial))


def test_good_assets(db, assets):
    assert counts(assets) == (3, 0, 0, 0)
    laptop = _asset(db, "PF3ABC12")
    assert laptop.customer.code == "C0001"
    assert (laptop.product_line, laptop.model, laptop.purchase_date) == (
        "laptop",
        "ThinkPad X1 Carbon Gen 12",
        date(2025, 3, 1),
    )
    assert laptop.purchase_price == Decimal("12999.00")
    assert _asset(db, "SRV00001").purchase_price is None
    tablet = _asset(db, "TAB00001")
    assert (tablet.province, tablet.city, tablet.customer.code) == ("广东", "深圳", "C0002")


def test_assets_import_idempotently_and_move_between_customers(db, assets):
    assert counts(run("assets", GOOD_ASSETS)) == (0, 0, 3, 0)
    moved = ASSETS + "TAB00001,C0001,tablet,Tab P12,2025-10-01,北京市,北京市,2499.00\n"
    assert counts(run("assets", moved)) == (0, 1, 0, 0)
    tablet = _asset(db, "TAB00001")
    assert (tablet.customer.code, tablet.province) == ("C0001", "北京")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Asset)) == 3


def test_an_asset_file_without_prices_keeps_the_stored_price(db, assets):
    without_price = (
        "serial,customer,product_line,model,purchase_date,province,city\n"
        "PF3ABC12,C0001,laptop,ThinkPad X1 Carbon Gen 12,2025-03-01,北京,北京\n"
    )
    assert counts(run("assets", without_price)) == (0, 0, 1, 0)
    assert _asset(db, "PF3ABC12").purchase_price == Decimal("12999.00")


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (
            "PF9,C9999,laptop,X1,2025-03-01,北京,北京,",
            "unknown customer 'C9999' (import customers first)",
        ),
        (
            "PF9,C0001,laptop,X1,2025-03-01,火星,北京,",
            "unknown province '火星' (not part of any service region)",
        ),
    ],
)
def test_an_asset_with_an_unknown_reference_is_rejected(db, customers, row, reason):
    report = run("assets", ASSETS + row + "\n")
    assert counts(report) == (0, 0, 0, 1)
    assert reasons_by_line(report) == {2: reason}


def test_an_asset_with_adp_cannot_become_a_desktop(db, assets):
    run("entitlements", GOOD_ENTITLEMENTS)
    report = run(
        "assets",
        ASSETS
        + "PF3ABC12,C0001,desktop,ThinkCentre M90,2025-03-01,北京,北京,\n"
        + "SRV00001,C0001,workstation,ThinkStation P5,2024-06-30,北京,北京,\n",
    )
    assert counts(report) == (0, 1, 0, 1)
    assert reasons_by_line(report) == {
        2: "product line 'desktop' cannot carry the asset's adp entitlement "
        "(adp is for laptops and all-in-ones only)"
    }
    assert _asset(db, "PF3ABC12").product_line == "laptop"


# --- entitlements ----------------------------------------------------------------------------


def test_good_entitlements(db, assets):
    report = run("entitlements", GOOD_ENTITLEMENTS)
    assert counts(report) == (3, 0, 0, 0)
    laptop = _asset(db, "PF3ABC12")
    assert [(e.offering, e.start, e.end) for e in laptop.entitlements] == [
        ("adp", date(2025, 3, 1), date(2026, 2, 28)),
        ("depot", date(2025, 3, 1), date(2027, 2, 28)),
    ]


def test_entitlements_upsert_by_serial_offering_and_start(db, assets):
    run("entitlements", GOOD_ENTITLEMENTS)
    assert counts(run("entitlements", GOOD_ENTITLEMENTS)) == (0, 0, 3, 0)
    report = run(
        "entitlements",
        ENTITLEMENTS
        + "PF3ABC12,depot,2025-03-01,2028-02-29\n"
        + "PF3ABC12,depot,2028-03-01,2029-02-28\n",
    )
    assert counts(report) == (1, 1, 0, 0)
    laptop = _asset(db, "PF3ABC12")
    assert [(e.offering, e.start, e.end) for e in laptop.entitlements if e.offering == "depot"] == [
        ("depot", date(2025, 3, 1), date(2028, 2, 29)),
        ("depot", date(2028, 3, 1), date(2029, 2, 28)),
    ]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Entitlement)) == 4


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("NOPE123,depot,2025-01-01,2026-01-01", "unknown serial 'NOPE123' (import assets first)"),
        (
            "SRV00001,adp,2025-01-01,2026-01-01",
            "adp is for laptops and all-in-ones only; SRV00001 is a server",
        ),
        (
            "TAB00001,adp,2025-01-01,2026-01-01",
            "adp is for laptops and all-in-ones only; TAB00001 is a tablet",
        ),
    ],
)
def test_an_entitlement_the_asset_cannot_have_is_rejected(db, assets, row, reason):
    report = run("entitlements", ENTITLEMENTS + row + "\n")
    assert counts(report) == (0, 0, 0, 1)
    assert reasons_by_line(report) == {2: reason}


# --- every kind ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "text", "reason"),
    [
        (
            "regions",
            REGIONS + "a,甲,A,广东\nb,乙,B,广西\na,甲,A,广东\n",
            "duplicate code 'a': already on line 2",
        ),
        (
            "stations",
            STATIONS + "S1,一,shengui,深圳,,laptop,1,\nS2,二,shengui,深圳,,laptop,1,\n"
            "S1,一,shengui,深圳,,laptop,2,\n",
            "duplicate code 'S1': already on line 2",
        ),
        (
            "customers",
            CUSTOMERS + "C1,甲,A,广东,广州,,,\nC2,乙,A,广东,广州,,,\nC1,丙,B,广东,广州,,,\n",
            "duplicate code 'C1': already on line 2",
        ),
        (
            "assets",
            ASSETS
            + "A1,C0001,laptop,X,2025-01-01,北京,北京,\nA2,C0001,laptop,X,2025-01-01,北京,北京,\n"
            "A1,C0002,laptop,X,2025-01-01,北京,北京,\n",
            "duplicate serial 'A1': already on line 2",
        ),
        (
            "entitlements",
            ENTITLEMENTS
            + "PF3ABC12,kyd,2025-01-01,2026-01-01\nPF3ABC12,kyd,2026-01-02,2027-01-01\n"
            "PF3ABC12,kyd,2025-01-01,2027-01-01\n",
            "duplicate serial, offering and start PF3ABC12, kyd, 2025-01-01: already on line 2",
        ),
    ],
)
def test_a_key_repeated_in_one_file_is_rejected(db, assets, kind, text, reason):
    report = run(kind, text)
    assert counts(report)[0] + counts(report)[1] + counts(report)[2] == 2
    assert reasons_by_line(report) == {4: reason}


def test_good_rows_are_kept_when_others_are_rejected(db, regions):
    report = run(
        "customers",
        CUSTOMERS
        + "C1,甲,A,广东,广州,,13800138000,zh\n"
        + "C2,乙,X,广东,广州,,12345,zh\n"
        + "C3,丙,B,火星,广州,,,zh\n"
        + "C4,丁,C,广东,广州,,,en\n"
        + "C5,戊,C,广东\n",
    )
    assert counts(report) == (2, 0, 0, 3)
    assert reasons_by_line(report) == {
        3: "unknown class 'X' (expected A, B, C or consumer); bad phone '12345': not a valid "
        "phone number (write e.g. 138 0013 8000, +86 10 6275 1234 or 010-62751234 ext 8)",
        4: "unknown province '火星' (not part of any service region)",
        6: "the row has 4 fields but the header has 8 (a value that contains a comma must be "
        "quoted)",
    }
    assert db.session.scalars(sa.select(Customer.code).order_by(Customer.code)).all() == [
        "C1",
        "C4",
    ]


def test_rows_are_imported_in_batches(db, regions):
    rows = "".join(f"C{n},客户{n},C,广东,广州,,,\n" for n in range(7))
    batches = []
    report = run(
        "customers",
        CUSTOMERS + rows + "C2,重复,C,广东,广州,,,\n",
        batch_size=3,
        after_batch=lambda report: batches.append(report.rows),
    )
    assert batches == [3, 6, 8]
    assert counts(report) == (7, 0, 0, 1)
    assert reasons_by_line(report) == {9: "duplicate code 'C2': already on line 4"}


def test_a_row_the_database_refuses_is_rejected_and_the_rest_of_its_batch_kept(
    db, regions, monkeypatch
):
    """A row that passes every check but breaks a constraint costs only itself."""

    def parse_with_negative_capacity(values):
        record = records.parse_station(values)
        if record.code == "S2":
            return records.StationRecord(**{**record.__dict__, "capacity": -1})
        return record

    monkeypatch.setitem(records.PARSERS, "stations", parse_with_negative_capacity)
    report = run(
        "stations",
        STATIONS
        + "S1,一,shengui,深圳,,laptop,1,\n"
        + "S2,二,shengui,深圳,,laptop,1,\n"
        + "S3,三,shengui,深圳,,laptop,1,\n",
    )
    assert counts(report) == (2, 0, 0, 1)
    assert reasons_by_line(report)[3].startswith("the database refused the row: ")
    assert db.session.scalars(sa.select(Station.code).order_by(Station.code)).all() == ["S1", "S3"]


def test_the_import_flushes_and_leaves_the_commit_to_the_caller(db, regions):
    db.session.commit()
    run("customers", GOOD_CUSTOMERS)
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Customer)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Region)) == 18


def test_report_counts():
    from servicedesk.imports.report import ImportReport

    report = ImportReport(kind="assets")
    for outcome in (Outcome.ADDED, Outcome.ADDED, Outcome.UPDATED, Outcome.UNCHANGED):
        report.count(outcome)
    report.reject(9, ["b"])
    report.reject(3, ["a", "c"])
    assert report.rows == 6
    assert not report.ok
    assert report.summary() == "assets: 6 rows: 2 added, 1 updated, 1 unchanged, 2 rejected"
    assert [row.describe() for row in report.sorted_rejections()] == ["line 3: a; c", "line 9: b"]
