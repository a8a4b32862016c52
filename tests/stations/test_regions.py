import pytest

from servicedesk.stations.models import Region
from servicedesk.stations.regions import (
    load_default_regions,
    normalize_place,
    read_default_regions,
    region_for,
)


@pytest.mark.parametrize(
    ("name", "short"),
    [
        ("广东省", "广东"),
        ("黑龙江省", "黑龙江"),
        ("北京市", "北京"),
        ("上海市", "上海"),
        ("重庆市", "重庆"),
        ("内蒙古自治区", "内蒙古"),
        ("广西壮族自治区", "广西"),
        ("西藏自治区", "西藏"),
        ("宁夏回族自治区", "宁夏"),
        ("新疆维吾尔自治区", "新疆"),
        ("香港特别行政区", "香港"),
        ("深圳市", "深圳"),
        ("乌鲁木齐市", "乌鲁木齐"),
        ("广东", "广东"),
        ("深圳", "深圳"),
        ("  广东省 ", "广东"),
        ("\u3000深圳市\u3000", "深圳"),
        ("沙市", "沙市"),
        ("延边朝鲜族自治州", "延边朝鲜族自治州"),
        ("", ""),
    ],
)
def test_normalize_place(name, short):
    assert normalize_place(name) == short


def test_every_shipped_place_is_already_normalised():
    places = [place for row in read_default_regions() for place in row.places]
    assert places
    assert [normalize_place(place) for place in places] == places


def test_the_shipped_regions_load_once(db):
    assert load_default_regions() == 18
    assert load_default_regions() == 0
    assert db.session.query(Region).count() == 18


@pytest.mark.parametrize(
    ("province", "city", "region"),
    [
        ("广东", "深圳", "shengui"),
        ("广东", "广州", "guangdong"),
        ("广东", None, "guangdong"),
        ("广西", "南宁", "shengui"),
        ("北京", "北京", "jingjinji"),
        ("西藏", "拉萨", "chuanyu"),
        ("内蒙古", "呼和浩特", "jinmeng"),
        ("广东省", "深圳市", "shengui"),
        ("广西壮族自治区", "南宁市", "shengui"),
        ("火星", "奥林匹斯", None),
        ("", None, None),
    ],
)
def test_region_for(db, province, city, region):
    load_default_regions()
    assert region_for(province, city) == region
