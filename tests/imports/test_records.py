from datetime import date
from decimal import Decimal

import pytest

from servicedesk.customers.phones import Phone
from servicedesk.imports.records import (
    AssetRecord,
    CustomerRecord,
    EntitlementRecord,
    RegionRecord,
    StationRecord,
    describe_key,
    parse_asset,
    parse_customer,
    parse_entitlement,
    parse_region,
    parse_station,
)

REGION = {
    "code": "huanan",
    "name_zh": "华南",
    "name_en": "South China",
    "provinces": "广东省; 广西壮族自治区;海南省;广东",
}
STATION = {
    "code": "SZ-01",
    "name": "深圳华强北服务站",
    "region": "shengui",
    "cities": "深圳市;东莞;深圳",
    "four_hour_cities": "深圳",
    "product_lines": "laptop;Desktop; aio ;laptop",
    "capacity": "25",
    "status": "",
}
CUSTOMER = {
    "code": "C0001",
    "name": "北京星河科技有限公司",
    "class": "b",
    "province": "北京市",
    "city": "北京市",
    "address": "海淀区中关村大街1号",
    "phones": "138 0013 8000; (010) 6275 1234;010-62751234 ext 8;+86-138-0013-8000",
    "language": "EN",
}
ASSET = {
    "serial": "PF3ABC12",
    "customer": "C0001",
    "product_line": "Laptop",
    "model": "ThinkPad X1 Carbon Gen 12",
    "purchase_date": "2025-03-01",
    "province": "广东省",
    "city": "深圳市",
    "purchase_price": "12999.00",
}
ENTITLEMENT = {
    "serial": "PF3ABC12",
    "offering": "onsite_4h",
    "start": "2025-03-01",
    "end": "2028-02-29",
}


def _with(values, **changes):
    return {**values, **changes}


def test_a_good_region_row():
    assert parse_region(REGION) == RegionRecord(
        code="huanan", name_zh="华南", name_en="South China", places=("广东", "广西", "海南")
    )


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"code": ""}, "code is empty"),
        ({"code": "hua nan"}, "code 'hua nan' contains spaces"),
        ({"code": "x" * 21}, "code is longer than 20 characters"),
        ({"name_zh": ""}, "name_zh is empty"),
        ({"name_en": ""}, "name_en is empty"),
        ({"provinces": " ; "}, "provinces is empty"),
        ({"provinces": "广东;" + "长" * 41}, "is longer than 40 characters"),
    ],
)
def test_a_bad_region_row(changes, reason):
    reasons = parse_region(_with(REGION, **changes))
    assert isinstance(reasons, list)
    assert any(reason in text for text in reasons), reasons


def test_a_good_station_row():
    assert parse_station(STATION) == StationRecord(
        code="SZ-01",
        name="深圳华强北服务站",
        region="shengui",
        cities=("深圳", "东莞"),
        four_hour_cities=frozenset({"深圳"}),
        product_lines=("laptop", "desktop", "aio"),
        capacity=25,
        status=None,
    )


def test_station_status_is_matched_case_insensitively():
    assert parse_station(_with(STATION, status="Probation")).status == "probation"


def test_station_four_hour_cities_are_normalised_like_cities():
    record = parse_station(_with(STATION, four_hour_cities="深圳市;东莞市"))
    assert record.four_hour_cities == {"深圳", "东莞"}


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"code": ""}, "code is empty"),
        ({"code": "SZ 01"}, "contains spaces"),
        ({"name": ""}, "name is empty"),
        ({"name": "站" * 201}, "name is longer than 200 characters"),
        ({"region": ""}, "region is empty"),
        ({"four_hour_cities": "广州"}, "four-hour city '广州' is not among the station's cities"),
        ({"cities": "", "four_hour_cities": "深圳"}, "four-hour city '深圳' is not among"),
        ({"cities": "深圳;" + "城" * 61}, "is longer than 60 characters"),
        ({"product_lines": "laptop;phone"}, "unknown product line 'phone'"),
        ({"product_lines": ""}, "product_lines is empty"),
        ({"capacity": "-3"}, "capacity is '-3': it must be a non-negative whole number"),
        ({"capacity": "2.5"}, "capacity is '2.5'"),
        ({"capacity": "ten"}, "capacity is 'ten'"),
        ({"capacity": "١٢"}, "capacity is '١٢'"),
        ({"capacity": ""}, "capacity is empty"),
        ({"capacity": "99999999999"}, "capacity 99999999999 is too large"),
        ({"status": "closed"}, "unknown status 'closed' (expected active, probation or suspended)"),
    ],
)
def test_a_bad_station_row(changes, reason):
    reasons = parse_station(_with(STATION, **changes))
    assert isinstance(reasons, list)
    assert any(reason in text for text in reasons), reasons


def test_a_good_customer_row():
    assert parse_customer(CUSTOMER) == CustomerRecord(
        code="C0001",
        name="北京星河科技有限公司",
        customer_class="B",
        province="北京",
        city="北京",
        address="海淀区中关村大街1号",
        phones=(
            Phone("+8613800138000"),
            Phone("+861062751234"),
            Phone("+861062751234", "8"),
        ),
        language="en",
    )


def test_customer_optional_values():
    record = parse_customer(
        _with(CUSTOMER, **{"class": "Consumer", "address": "", "phones": "", "language": ""})
    )
    assert record.customer_class == "consumer"
    assert record.address == ""
    assert record.phones == ()
    assert record.language is None


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"code": ""}, "code is empty"),
        ({"name": ""}, "name is empty"),
        ({"class": "D"}, "unknown class 'D' (expected A, B, C or consumer)"),
        ({"class": ""}, "class is empty"),
        ({"province": ""}, "province is empty"),
        ({"province": "长" * 41}, "province is longer than 40 characters"),
        ({"city": " "}, "city is empty"),
        ({"address": "路" * 401}, "address is longer than 400 characters"),
        ({"phones": "12345"}, "bad phone '12345': not a valid phone number"),
        ({"phones": "138 0013 8000;call me"}, "bad phone 'call me'"),
        ({"phones": "010-62751234 ext 12345678901"}, "the extension is longer than 10 digits"),
        ({"language": "fr"}, "unknown language 'fr' (expected zh or en)"),
    ],
)
def test_a_bad_customer_row(changes, reason):
    reasons = parse_customer(_with(CUSTOMER, **changes))
    assert isinstance(reasons, list)
    assert any(reason in text for text in reasons), reasons


def test_every_problem_of_a_row_is_reported():
    reasons = parse_customer(_with(CUSTOMER, **{"class": "D", "phones": "1;2", "language": "fr"}))
    assert len(reasons) == 4


def test_a_good_asset_row():
    assert parse_asset(ASSET) == AssetRecord(
        serial="PF3ABC12",
        customer="C0001",
        product_line="laptop",
        model="ThinkPad X1 Carbon Gen 12",
        purchase_date=date(2025, 3, 1),
        province="广东",
        city="深圳",
        purchase_price=Decimal("12999.00"),
        has_purchase_price=True,
    )


def test_an_asset_without_the_price_column_keeps_its_price():
    values = {key: value for key, value in ASSET.items() if key != "purchase_price"}
    record = parse_asset(values)
    assert record.has_purchase_price is False
    assert record.purchase_price is None


def test_an_empty_price_means_unknown():
    record = parse_asset(_with(ASSET, purchase_price=""))
    assert record.has_purchase_price is True
    assert record.purchase_price is None


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"serial": ""}, "serial is empty"),
        ({"serial": "PF3 ABC"}, "contains spaces"),
        ({"customer": ""}, "customer is empty"),
        ({"product_line": "phone"}, "unknown product line 'phone' (expected laptop, desktop"),
        ({"model": ""}, "model is empty"),
        ({"purchase_date": ""}, "purchase_date is empty"),
        (
            {"purchase_date": "2025-13-01"},
            "bad purchase_date date '2025-13-01' (expected YYYY-MM-DD",
        ),
        ({"purchase_date": "01/03/2025"}, "bad purchase_date date '01/03/2025'"),
        ({"province": ""}, "province is empty"),
        ({"city": ""}, "city is empty"),
        ({"purchase_price": "-1"}, "bad purchase_price '-1'"),
        ({"purchase_price": "12,999.00"}, "bad purchase_price '12,999.00'"),
        ({"purchase_price": "¥12999"}, "bad purchase_price '¥12999'"),
        ({"purchase_price": "12.345"}, "bad purchase_price '12.345'"),
        ({"purchase_price": "NaN"}, "bad purchase_price 'NaN'"),
        ({"purchase_price": "1e10"}, "purchase_price 1e10 is too large"),
    ],
)
def test_a_bad_asset_row(changes, reason):
    reasons = parse_asset(_with(ASSET, **changes))
    assert isinstance(reasons, list)
    assert any(reason in text for text in reasons), reasons


def test_a_good_entitlement_row():
    assert parse_entitlement(ENTITLEMENT) == EntitlementRecord(
        serial="PF3ABC12", offering="onsite_4h", start=date(2025, 3, 1), end=date(2028, 2, 29)
    )


def test_an_entitlement_of_a_single_day():
    record = parse_entitlement(_with(ENTITLEMENT, end="2025-03-01"))
    assert record.start == record.end


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"serial": ""}, "serial is empty"),
        (
            {"offering": "gold"},
            "unknown offering 'gold' (expected depot, onsite, onsite_4h, adp or kyd)",
        ),
        ({"offering": ""}, "offering is empty"),
        ({"start": "2025-02-30"}, "bad start date '2025-02-30'"),
        ({"end": "someday"}, "bad end date 'someday'"),
        ({"end": ""}, "end is empty"),
        ({"end": "2025-02-28"}, "end 2025-02-28 is before start 2025-03-01"),
    ],
)
def test_a_bad_entitlement_row(changes, reason):
    reasons = parse_entitlement(_with(ENTITLEMENT, **changes))
    assert isinstance(reasons, list)
    assert any(reason in text for text in reasons), reasons


def test_describe_key():
    assert describe_key("C0001") == "'C0001'"
    assert describe_key(("PF1", "adp", date(2025, 3, 1))) == "PF1, adp, 2025-03-01"
