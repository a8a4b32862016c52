"""The synthetic data set of the identify benchmark, and loading it into PostgreSQL with COPY.

Customers of every class across the provinces of the shipped regions, one primary contact
each with 1-2 unique phone numbers (mobiles; landlines for most enterprises, some with an
extension), assets with unique serial numbers and 1-3 entitlements each, repair stations in
every city, and a ticket history (with events) for a share of the customers: most key
accounts, few consumers. Everything derives from a seed; only "now" moves.
"""

from __future__ import annotations

import array
import json
import random
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import psycopg
from _common import DeferredSchema, copy_lines, libpq_params, reset_sequences, say, stage

# Column lists of the COPY statements, in the order the generators write the fields.
COLUMNS = {
    "customers": "id code name class province city address language timezone do_not_call "
    "account_manager_id created_at",
    "contacts": "id customer_id name title is_primary",
    "contact_phones": "id contact_id customer_id e164 extension",
    "assets": "id serial customer_id product_line model purchase_date purchase_price province city",
    "entitlements": "id asset_id offering start end",
    "stations": "id code name region_code capacity status",
    "station_cities": "station_id city four_hour",
    "station_product_lines": "station_id product_line",
    "tickets": "id number kind status customer_id asset_id call_id station_id summary "
    "description damage part covered billable coverage_basis coverage_reasons service_level "
    "service_level_reasons resolution created_by_id created_at updated_at closed_at quote",
    "ticket_events": "id ticket_id at actor_id action from_status to_status reason data",
    "ticket_counters": "year last_value",
}
LOADED_TABLES = tuple(COLUMNS)
# Emptied by a (re)load as well: calls and users point at loaded rows (users at stations).
EMPTIED_TABLES = (*LOADED_TABLES, "calls", "users", "api_tokens")
TABLES_WITH_ID_SEQUENCE = tuple(
    table for table, columns in COLUMNS.items() if columns.startswith("id ")
)
NULL = "\\N"

# The cities of every place in the shipped regions: (city, telephone area code, digits of a
# local number, weight). Big cities weigh more; 深圳 is a region place of its own in 广东.
CITIES: dict[str, tuple[tuple[str, str, int, int], ...]] = {
    "黑龙江": (("哈尔滨", "451", 8, 2), ("大庆", "459", 7, 1)),
    "吉林": (("长春", "431", 8, 2), ("吉林", "432", 8, 1)),
    "山西": (("太原", "351", 7, 2), ("大同", "352", 7, 1)),
    "内蒙古": (("呼和浩特", "471", 7, 1), ("包头", "472", 7, 1)),
    "北京": (("北京", "10", 8, 8),),
    "天津": (("天津", "22", 8, 3),),
    "河北": (("石家庄", "311", 8, 2), ("唐山", "315", 7, 1), ("保定", "312", 7, 1)),
    "辽宁": (("沈阳", "24", 8, 2), ("大连", "411", 8, 2)),
    "山东": (("济南", "531", 8, 2), ("青岛", "532", 8, 2), ("烟台", "535", 7, 1)),
    "福建": (("福州", "591", 8, 2), ("厦门", "592", 7, 2), ("泉州", "595", 8, 1)),
    "上海": (("上海", "21", 8, 8),),
    "江苏": (("南京", "25", 8, 3), ("苏州", "512", 8, 3), ("无锡", "510", 8, 2)),
    "安徽": (("合肥", "551", 8, 2), ("芜湖", "553", 7, 1)),
    "浙江": (("杭州", "571", 8, 4), ("宁波", "574", 8, 2), ("温州", "577", 8, 1)),
    "四川": (("成都", "28", 8, 4), ("绵阳", "816", 7, 1)),
    "重庆": (("重庆", "23", 8, 3),),
    "西藏": (("拉萨", "891", 7, 1),),
    "陕西": (("西安", "29", 8, 3),),
    "甘肃": (("兰州", "931", 7, 1),),
    "宁夏": (("银川", "951", 7, 1),),
    "青海": (("西宁", "971", 7, 1),),
    "新疆": (("乌鲁木齐", "991", 7, 1),),
    "云南": (("昆明", "871", 8, 2),),
    "贵州": (("贵阳", "851", 8, 1),),
    "广东": (("广州", "20", 8, 6), ("东莞", "769", 8, 2), ("佛山", "757", 8, 2)),
    "深圳": (("深圳", "755", 8, 6),),
    "河南": (("郑州", "371", 8, 2), ("洛阳", "379", 8, 1)),
    "湖北": (("武汉", "27", 8, 3), ("宜昌", "717", 7, 1)),
    "广西": (("南宁", "771", 7, 2), ("桂林", "773", 7, 1)),
    "海南": (("海口", "898", 8, 1),),
    "湖南": (("长沙", "731", 8, 2),),
    "江西": (("南昌", "791", 8, 2),),
}
PROVINCE_OF_CITY_PLACE = {"深圳": "广东"}
FOUR_HOUR_CITIES = frozenset(
    ["北京", "上海", "广州", "深圳", "杭州", "成都", "南京", "武汉", "西安", "天津", "重庆"]
)
MOBILE_PREFIXES = tuple(f"{block}{digit}" for block in ("13", "15", "18") for digit in "012356789")

CLASSES = ("A", "B", "C", "consumer")
CONSUMER = 3
CLASS_WEIGHTS = (2, 8, 20, 70)
# (fewest, most) assets per customer of each class: 3 per customer on average overall.
ASSETS_PER_CLASS = ((5, 45), (3, 13), (1, 5), (1, 3))
# The share of each class with a ticket history, and (fewest, most) tickets then.
TICKETED_SHARE = (0.8, 0.5, 0.2, 0.04)
TICKETS_PER_CLASS = ((2, 20), (1, 8), (1, 6), (1, 4))

PRODUCT_LINES = ("laptop", "desktop", "aio", "workstation", "server", "tablet", "monitor")
SERVER = PRODUCT_LINES.index("server")
LINE_WEIGHTS_ENTERPRISE = (40, 25, 5, 10, 10, 2, 8)
LINE_WEIGHTS_CONSUMER = (50, 15, 15, 0, 0, 15, 5)
LINE_SERIAL_PREFIX = ("PF", "MJ", "AI", "WS", "SV", "TB", "MN")
LINE_MODELS = (
    ("Aero 14 G5", "Aero 16 G5", "Carbon X1 G11", "Vista 15 Pro", "Edu 13"),
    ("Tower M70", "Tower M90", "Mini Q5", "Tower P3"),
    ("Canvas 24", "Canvas 27 Pro"),
    ("Studio P360", "Studio P620"),
    ("Rack SR630", "Rack SR650", "Tower ST250"),
    ("Tab P11", "Tab M10"),
    ("View T24", "View T27q", "View P32u"),
)
LINE_PRICES = ((3500, 15000), (2500, 9000), (4000, 12000), (9000, 40000), (20000, 150000),
               (1200, 4000), (900, 5000))  # fmt: skip
ADP_LINES = frozenset(PRODUCT_LINES.index(line) for line in ("laptop", "aio"))
KYD_LINES = frozenset(PRODUCT_LINES.index(line) for line in ("laptop", "desktop", "workstation"))

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦"  # noqa: E501
GIVEN_CHARS = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建文辉力斌宇浩凯鹏亮晨欣怡婷雪琳晓雯佳颖思嘉子轩梓涵一诺"  # noqa: E501
COMPANY_CHARS = (
    "华信达通宏远泰安恒兴盛鑫源创新腾飞博瑞凯德云天海智汇联合众和丰宝鼎辰光明星辉锦程金桥"
)
INDUSTRIES = [
    "科技",
    "信息技术",
    "电子",
    "软件",
    "数据",
    "医疗",
    "教育",
    "物流",
    "金融服务",
    "制造",
    "能源",
    "建设",
    "贸易",
    "传媒",
]
AUTHORITIES = [
    "人民医院",
    "第一中学",
    "税务局",
    "人民法院",
    "公安局",
    "统计局",
    "中心医院",
    "实验小学",
    "交通运输局",
]
COMPANY_SUFFIXES = ("有限公司", "股份有限公司", "集团有限公司")
TITLES = ("IT经理", "信息中心主任", "采购经理", "行政主管", "网络管理员", "运维工程师")
ROADS = [
    "人民",
    "解放",
    "建设",
    "中山",
    "和平",
    "新华",
    "文化",
    "胜利",
    "长江",
    "黄河",
    "东风",
    "朝阳",
]

TICKET_KINDS = ("repair", "inquiry", "presales", "complaint")
TICKET_KIND_WEIGHTS = (55, 25, 10, 10)
OPEN_REPAIR_STATUSES = ("new", "dispatched", "accepted", "scheduled", "on_site",
                        "waiting_customer", "waiting_parts")  # fmt: skip
OPEN_COMPLAINT_STATUSES = ("new", "accepted")
SUMMARIES = {
    "repair": [
        "不开机",
        "屏幕闪烁",
        "硬盘故障",
        "键盘失灵",
        "风扇噪音大",
        "无法连接网络",
        "蓝屏死机",
        "电池不充电",
        "主板故障",
        "内存报错",
    ],
    "inquiry": ["保修期查询", "驱动下载咨询", "服务站地址查询", "维修进度查询"],
    "presales": ["延保服务咨询", "意外保护购买咨询", "批量采购咨询"],
    "complaint": ["上门超时", "维修后问题复现", "服务态度投诉"],
}
PART_OF_SUMMARY = {"硬盘故障": "drive", "键盘失灵": "keyboard", "风扇噪音大": "fan",
                   "电池不充电": "battery", "主板故障": "motherboard", "内存报错": "memory",
                   "屏幕闪烁": "screen"}  # fmt: skip
# Reasons as the coverage rules word them (servicedesk/warranty/coverage.py).
COVERED_BY = {
    "onsite_4h": "Covered by 4-hour onsite response until %(end)s.",
    "onsite": "Covered by onsite service until %(end)s.",
}
EXPIRED = "Onsite service expired on %(end)s, so this repair is billable."
CONSUMABLE_BATTERY = (
    "Batteries are consumable parts and are not covered by the warranty, "
    "so this repair is billable."
)

SERIAL_ALPHABET = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I or O: they read as 1 and 0
SERIAL_MODULUS = len(SERIAL_ALPHABET) ** 8
SERIAL_MULTIPLIER = 2_654_435_761  # coprime with 34**8: a bijection, so serials are unique


@dataclass(frozen=True)
class Site:
    """A city where customers sit and assets are serviced."""

    province: str
    city: str
    area_code: str
    local_digits: int
    region: str
    weight: int


@dataclass
class DataPlan:
    """Per-customer decisions taken up front, and per-asset facts remembered by the asset pass
    for the passes after it (entitlements, tickets). Position ``n`` is id ``n + 1``."""

    customers: int
    assets: int
    now: datetime
    sites: list[Site]
    classes: array.array  # index into CLASSES
    customer_sites: array.array  # index into sites
    asset_counts: array.array
    asset_lines: array.array = field(default_factory=lambda: array.array("b"))
    asset_sites: array.array = field(default_factory=lambda: array.array("h"))
    asset_purchased: array.array = field(default_factory=lambda: array.array("i"))  # ordinal
    stations_by_site: dict[int, list[int]] = field(default_factory=dict)

    @property
    def site_weights(self) -> list[int]:
        return [site.weight for site in self.sites]


def shipped_sites() -> list[Site]:
    """Every city of :data:`CITIES`, for every place of the regions shipped with servicedesk."""
    from servicedesk.stations.regions import read_default_regions

    sites = []
    for region in read_default_regions():
        for place in region.places:
            if place not in CITIES:
                raise SystemExit(f"{__file__} lists no city for the region place {place}")
            province = PROVINCE_OF_CITY_PLACE.get(place, place)
            for city, area_code, digits, weight in CITIES[place]:
                sites.append(Site(province, city, area_code, digits, region.code, weight))
    return sites


def plan_data(customers: int, assets: int, seed: int) -> DataPlan:
    rng = random.Random(seed)
    sites = shipped_sites()
    weights = [site.weight for site in sites]
    classes = array.array("b", rng.choices(range(len(CLASSES)), CLASS_WEIGHTS, k=customers))
    customer_sites = array.array("h", rng.choices(range(len(sites)), weights, k=customers))
    counts = array.array("i", (rng.randint(*ASSETS_PER_CLASS[klass]) for klass in classes))
    _adjust_total(counts, assets, rng)
    plan = DataPlan(
        customers=customers,
        assets=assets,
        now=datetime.now(UTC).replace(microsecond=0),
        sites=sites,
        classes=classes,
        customer_sites=customer_sites,
        asset_counts=counts,
    )
    check_phone_numbers(plan.sites)
    return plan


def _adjust_total(counts: array.array, total: int, rng: random.Random) -> None:
    """Add or remove single assets at random customers until the counts sum to ``total``;
    nobody drops below one asset unless there are fewer assets than customers."""
    floor = 1 if total >= len(counts) else 0
    size = len(counts)
    difference = total - sum(counts)
    while difference > 0:
        counts[rng.randrange(size)] += 1
        difference -= 1
    while difference < 0:
        position = rng.randrange(size)
        if counts[position] > floor:
            counts[position] -= 1
            difference += 1


def serial_number(asset_id: int, line: int) -> str:
    """``PF3KX9ZQ2A``: a product-line prefix and eight scrambled base-34 characters."""
    value = asset_id * SERIAL_MULTIPLIER % SERIAL_MODULUS
    chars = []
    for _ in range(8):
        value, digit = divmod(value, len(SERIAL_ALPHABET))
        chars.append(SERIAL_ALPHABET[digit])
    return LINE_SERIAL_PREFIX[line] + "".join(chars)


def mobile_number(sequence: int) -> str:
    """A unique valid mobile number in E.164 for each ``sequence`` below 2.7 billion."""
    prefix = MOBILE_PREFIXES[sequence % len(MOBILE_PREFIXES)]
    return f"+86{prefix}{sequence // len(MOBILE_PREFIXES):08d}"


def landline_number(site: Site, sequence: int) -> str | None:
    """The ``sequence``-th landline of a city in E.164 (``+861060000000`` on), or None when
    the city has run out of numbers."""
    if sequence >= 10 ** (site.local_digits - 1):
        return None
    return f"+86{site.area_code}{6 * 10 ** (site.local_digits - 1) + sequence}"


def check_phone_numbers(sites: list[Site]) -> None:
    """The first and last numbers of every series must be valid, or phone lookups would miss."""
    from servicedesk.customers.phones import normalize_phone

    numbers = [mobile_number(n) for n in (0, 1, 26, 2_699_999_999)]
    for site in sites:
        numbers += [landline_number(site, n) for n in (0, 10 ** (site.local_digits - 1) - 1)]
    invalid = [number for number in numbers if normalize_phone(number or "") != number]
    if invalid:
        raise SystemExit(f"the data generator makes invalid phone numbers: {invalid}")


class DateText:
    """ISO text of dates, cached (a few thousand dates recur millions of times)."""

    def __init__(self) -> None:
        self._dates: dict[int, str] = {}

    def __call__(self, ordinal: int) -> str:
        text = self._dates.get(ordinal)
        if text is None:
            text = self._dates[ordinal] = date.fromordinal(ordinal).isoformat()
        return text


def timestamp(moment: datetime) -> str:
    """Naive UTC text, as the ``UTCDateTime`` columns store it."""
    return moment.isoformat(sep=" ", timespec="seconds")[:19]


# --- the rows, as COPY text lines ---------------------------------------------------------


def person_name(rng: random.Random) -> str:
    given = rng.choice(GIVEN_CHARS) + (rng.choice(GIVEN_CHARS) if rng.random() < 0.7 else "")
    return rng.choice(SURNAMES) + given


def organisation_name(rng: random.Random, city: str) -> str:
    if rng.random() < 0.15:
        return city + rng.choice(AUTHORITIES)
    brand = rng.choice(COMPANY_CHARS) + rng.choice(COMPANY_CHARS)
    return f"{city}{brand}{rng.choice(INDUSTRIES)}{rng.choice(COMPANY_SUFFIXES)}"


def customer_lines(plan: DataPlan, rng: random.Random) -> Iterator[str]:
    for position in range(plan.customers):
        customer_id = position + 1
        klass = plan.classes[position]
        site = plan.sites[plan.customer_sites[position]]
        name = person_name(rng) if klass == CONSUMER else organisation_name(rng, site.city)
        address = f"{site.city}{rng.choice(ROADS)}路{rng.randint(1, 999)}号"
        language = "en" if rng.random() < 0.04 else "zh"
        created = plan.now - timedelta(seconds=rng.randint(0, 8 * 365 * 86400))
        yield (
            f"{customer_id}\tC{customer_id:08d}\t{name}\t{CLASSES[klass]}\t{site.province}\t"
            f"{site.city}\t{address}\t{language}\tAsia/Shanghai\tf\t{NULL}\t{timestamp(created)}\n"
        )


def contact_lines(plan: DataPlan, rng: random.Random) -> Iterator[str]:
    """One primary contact per customer, with the customer's id."""
    for position in range(plan.customers):
        title = "" if plan.classes[position] == CONSUMER else rng.choice(TITLES)
        yield f"{position + 1}\t{position + 1}\t{person_name(rng)}\t{title}\tt\n"


def phone_lines(plan: DataPlan, rng: random.Random) -> Iterator[str]:
    """A unique mobile for every contact; a landline too for 80% of enterprises (30% of them
    with an extension) and a second mobile for a third of consumers."""
    phone_id = 0
    mobiles = 0
    landlines = [0] * len(plan.sites)
    for position in range(plan.customers):
        customer_id = position + 1
        numbers = [(mobile_number(mobiles), NULL)]
        mobiles += 1
        if plan.classes[position] != CONSUMER:
            site_index = plan.customer_sites[position]
            if rng.random() < 0.8:
                landline = landline_number(plan.sites[site_index], landlines[site_index])
                landlines[site_index] += 1
                if landline:
                    extension = str(rng.randint(100, 899)) if rng.random() < 0.3 else NULL
                    numbers.append((landline, extension))
        elif rng.random() < 0.33:
            numbers.append((mobile_number(mobiles), NULL))
            mobiles += 1
        for e164, extension in numbers:
            phone_id += 1
            yield f"{phone_id}\t{customer_id}\t{customer_id}\t{e164}\t{extension}\n"


def asset_lines(plan: DataPlan, rng: random.Random) -> Iterator[str]:
    """Assets in customer order, so each customer's ids are consecutive. A fifth of an
    enterprise's machines sit at a branch in another city."""
    date_text = DateText()
    today = plan.now.date().toordinal()
    line_choices = range(len(PRODUCT_LINES))
    site_choices = range(len(plan.sites))
    site_weights = plan.site_weights
    asset_id = 0
    for position in range(plan.customers):
        customer_id = position + 1
        klass = plan.classes[position]
        home = plan.customer_sites[position]
        weights = LINE_WEIGHTS_CONSUMER if klass == CONSUMER else LINE_WEIGHTS_ENTERPRISE
        for line in rng.choices(line_choices, weights, k=plan.asset_counts[position]):
            asset_id += 1
            site_index = home
            if klass != CONSUMER and rng.random() < 0.2:
                site_index = rng.choices(site_choices, site_weights)[0]
            site = plan.sites[site_index]
            purchased = today - rng.randint(0, 6 * 365)
            low, high = LINE_PRICES[line]
            plan.asset_lines.append(line)
            plan.asset_sites.append(site_index)
            plan.asset_purchased.append(purchased)
            yield (
                f"{asset_id}\t{serial_number(asset_id, line)}\t{customer_id}\t"
                f"{PRODUCT_LINES[line]}\t{rng.choice(LINE_MODELS[line])}\t"
                f"{date_text(purchased)}\t{rng.randrange(low, high, 100)}.00\t"
                f"{site.province}\t{site.city}\n"
            )


def _years_later(start: int, years: int) -> int:
    """The last day (ordinal) of a term of ``years`` starting on ``start``."""
    return start + 365 * years + years // 4 - 1


def asset_terms(
    rng: random.Random, *, enterprise: bool, line: int, purchased: int
) -> list[tuple[str, int, int]]:
    """1-3 entitlements ``(offering, first day, last day)`` for one asset: a base warranty
    (onsite for most enterprise machines and all servers, 4-hour for many servers, carry-in
    for most consumers), then maybe accidental damage protection, keep-your-drive, or a
    renewal of the base warranty after it ran out."""
    terms: list[tuple[str, int, int]] = []
    if line == SERVER:
        terms.append(("onsite", purchased, _years_later(purchased, 3)))
        if rng.random() < 0.6:
            terms.append(("onsite_4h", purchased, _years_later(purchased, 3)))
    elif enterprise and rng.random() < 0.8:
        terms.append(("onsite", purchased, _years_later(purchased, 3)))
    elif rng.random() < 0.25:
        terms.append(("onsite", purchased, _years_later(purchased, rng.choice((1, 2, 3)))))
    else:
        terms.append(("depot", purchased, _years_later(purchased, 1)))
    if line in ADP_LINES and rng.random() < (0.15 if enterprise else 0.35):
        terms.append(("adp", purchased, _years_later(purchased, rng.choice((1, 2, 3)))))
    if enterprise and line in KYD_LINES and rng.random() < 0.25:
        terms.append(("kyd", purchased, _years_later(purchased, 3)))
    if len(terms) < 3 and rng.random() < 0.12:
        offering, _start, end = terms[0]
        terms.append((offering, end + 1, _years_later(end + 1, rng.choice((1, 2)))))
    return terms


def entitlement_lines(plan: DataPlan, rng: random.Random) -> Iterator[str]:
    date_text = DateText()
    entitlement_id = 0
    asset_id = 0
    for position in range(plan.customers):
        enterprise = plan.classes[position] != CONSUMER
        for _ in range(plan.asset_counts[position]):
            terms = asset_terms(
                rng,
                enterprise=enterprise,
                line=plan.asset_lines[asset_id],
                purchased=plan.asset_purchased[asset_id],
            )
            asset_id += 1
            for offering, start, end in terms:
                entitlement_id += 1
                yield (
                    f"{entitlement_id}\t{asset_id}\t{offering}\t"
                    f"{date_text(start)}\t{date_text(end)}\n"
                )


def station_lines(plan: DataPlan, rng: random.Random) -> dict[str, list[str]]:
    """One to three stations per city (by its weight). The first one of a city repairs every
    product line and, in the big cities, has 4-hour capability; the others skip servers and
    workstations. A few stations are on probation."""
    rows: dict[str, list[str]] = {"stations": [], "station_cities": [], "station_product_lines": []}
    station_id = 0
    for site_index, site in enumerate(plan.sites):
        count = 3 if site.weight >= 4 else (2 if site.weight >= 2 else 1)
        for number in range(1, count + 1):
            station_id += 1
            status = "probation" if rng.random() < 0.05 else "active"
            capacity = rng.choice((40, 60, 80, 120, 200))
            rows["stations"].append(
                f"{station_id}\tST{station_id:04d}\t{site.city}第{number}服务站\t{site.region}\t"
                f"{capacity}\t{status}\n"
            )
            four_hour = "t" if number == 1 and site.city in FOUR_HOUR_CITIES else "f"
            rows["station_cities"].append(f"{station_id}\t{site.city}\t{four_hour}\n")
            lines = PRODUCT_LINES if number == 1 else ("laptop", "desktop", "aio", "tablet")
            rows["station_product_lines"] += [f"{station_id}\t{line}\n" for line in lines]
            plan.stations_by_site.setdefault(site_index, []).append(station_id)
    return rows


@dataclass
class TicketNumbers:
    """``SD-<year>-<sequence>`` per year of creation; ``last`` feeds ``ticket_counters``."""

    last: Counter = field(default_factory=Counter)

    def next(self, year: int) -> str:
        self.last[year] += 1
        return f"SD-{year}-{self.last[year]:06d}"


def ticket_lines(
    plan: DataPlan, rng: random.Random, numbers: TicketNumbers, events: list[str]
) -> Iterator[str]:
    """Tickets of the last three years for a share of the customers; those of the last two
    weeks (and a few stragglers) still open, inquiries and consultations closed on the call.
    Each ticket's events (created, then its status change) are appended to ``events``."""
    ticket_id = 0
    event_id = 0
    first_asset = 1
    for position in range(plan.customers):
        customer_id = position + 1
        klass = plan.classes[position]
        assets = range(first_asset, first_asset + plan.asset_counts[position])
        first_asset += plan.asset_counts[position]
        if rng.random() >= TICKETED_SHARE[klass]:
            continue
        for _ in range(rng.randint(*TICKETS_PER_CLASS[klass])):
            ticket_id += 1
            kind = rng.choices(TICKET_KINDS, TICKET_KIND_WEIGHTS)[0]
            age_days = rng.randint(0, 3 * 365) if rng.random() < 0.9 else rng.randint(0, 20)
            created = plan.now - timedelta(days=age_days, seconds=rng.randint(0, 86399))
            wants_asset = kind == "repair" or rng.random() < 0.3
            asset_id = rng.choice(assets) if assets and wants_asset else None
            summary = rng.choice(SUMMARIES[kind])
            status, closed = _status(rng, kind, age_days, created)
            if kind == "repair":
                repair = _repair(plan, rng, asset_id, created, summary)
            else:
                repair = ("none", NULL, NULL, NULL, "[]", "[]", NULL, NULL)
            damage, part, covered, billable, basis, reasons, level, station = repair
            created_text = timestamp(created)
            closed_text = timestamp(closed) if closed else NULL
            updated_text = closed_text if closed else created_text
            resolution = "已处理" if status in ("resolved", "closed") else ""
            yield (
                f"{ticket_id}\t{numbers.next(created.year)}\t{kind}\t{status}\t{customer_id}\t"
                f"{asset_id or NULL}\t{NULL}\t{station}\t{summary}\t\t{damage}\t{part}\t"
                f"{covered}\t{billable}\t{basis}\t{reasons}\t{level}\t[]\t{resolution}\t{NULL}\t"
                f"{created_text}\t{updated_text}\t{closed_text}\t\n"
            )
            event_id += 1
            events.append(
                f"{event_id}\t{ticket_id}\t{created_text}\t{NULL}\tcreated\t{NULL}\tnew\t\t{{}}\n"
            )
            if status != "new":
                event_id += 1
                events.append(
                    f"{event_id}\t{ticket_id}\t{updated_text}\t{NULL}\tstatus\tnew\t{status}\t\t{{}}\n"
                )


def _status(
    rng: random.Random, kind: str, age_days: int, created: datetime
) -> tuple[str, datetime | None]:
    """The ticket's status and, when it is over, when it was closed."""
    if kind in ("inquiry", "presales"):
        return "closed", created + timedelta(minutes=rng.randint(2, 15))
    if age_days <= 14 or rng.random() < 0.01:
        statuses = OPEN_REPAIR_STATUSES if kind == "repair" else OPEN_COMPLAINT_STATUSES
        return rng.choice(statuses), None
    status = rng.choices(("closed", "resolved", "cancelled"), (85, 5, 10))[0]
    return status, created + timedelta(days=rng.randint(1, 10), hours=rng.randint(0, 23))


def _repair(
    plan: DataPlan, rng: random.Random, asset_id: int | None, created: datetime, summary: str
) -> tuple[str, ...]:
    """damage, part, covered, billable, basis, reasons, service level, station (COPY text):
    a battery is billable; otherwise covered within three years of purchase."""
    part = PART_OF_SUMMARY.get(summary, NULL)
    if asset_id is None:
        return "none", part, "f", "t", "[]", "[]", "billable", NULL
    position = asset_id - 1
    warranty_end = date.fromordinal(_years_later(plan.asset_purchased[position], 3))
    station = str(rng.choice(plan.stations_by_site[plan.asset_sites[position]]))
    if part == "battery":
        reasons = [{"message": CONSUMABLE_BATTERY, "params": {}}]
        return "none", part, "f", "t", "[]", json.dumps(reasons), "billable", station
    if created.date() > warranty_end:
        reasons = [{"message": EXPIRED, "params": {"end": warranty_end.isoformat()}}]
        return "none", part, "f", "t", "[]", json.dumps(reasons), "billable", station
    level = "onsite_4h" if plan.asset_lines[position] == SERVER and rng.random() < 0.5 else "onsite"
    reasons = [{"message": COVERED_BY[level], "params": {"end": warranty_end.isoformat()}}]
    return "none", part, "t", "f", json.dumps([level]), json.dumps(reasons), level, station


# --- loading ------------------------------------------------------------------------------


def check_required_columns(conn: psycopg.Connection) -> None:
    """Refuse to load when the schema has grown a column that must be filled (NOT NULL, no
    default) and that the generators do not write: COPY would fail half-way otherwise."""
    rows = conn.execute(
        """
        SELECT table_name, column_name FROM information_schema.columns
        WHERE table_schema = current_schema() AND table_name = ANY(%s)
          AND is_nullable = 'NO' AND column_default IS NULL
        """,
        (list(COLUMNS),),
    ).fetchall()
    missing = [
        f"{table}.{column}" for table, column in rows if column not in COLUMNS[table].split()
    ]
    if missing:
        raise SystemExit(
            f"the schema requires columns the benchmark data set does not fill: {missing}; "
            "add them to COLUMNS and the row generators in benchmarks/identify_dataset.py"
        )


def loaded_size(database_url: str) -> tuple[int, int]:
    """How many customers and assets the database holds."""
    with psycopg.connect(**libpq_params(database_url)) as conn:
        customers = conn.execute("SELECT count(*) FROM customers").fetchone()[0]
        assets = conn.execute("SELECT count(*) FROM assets").fetchone()[0]
    return customers, assets


def load(database_url: str, plan: DataPlan, *, seed: int, defer_indexes: bool = True) -> float:
    """Replace the data set in one transaction, so that an interrupted load leaves the old
    one; returns the seconds it took.

    With ``defer_indexes`` the secondary indexes, unique constraints and foreign keys are
    dropped before COPY and rebuilt after (twice as fast as keeping them; the rebuilt foreign
    keys check every row). Tables are emptied in the same transaction, so COPY can FREEZE.
    """
    started = time.perf_counter()
    rng = random.Random(seed + 1)
    mode = "indexes deferred" if defer_indexes else "indexes kept"
    say(f"loading {plan.customers:,} customers and {plan.assets:,} assets ({mode})")
    with psycopg.connect(**libpq_params(database_url)) as conn:
        check_required_columns(conn)
        conn.execute("SET maintenance_work_mem = '1GB'")
        conn.execute("SET synchronous_commit = off")
        with stage("empty tables"):
            conn.execute(f"TRUNCATE {', '.join(EMPTIED_TABLES)} RESTART IDENTITY CASCADE")
        deferred = DeferredSchema()
        if defer_indexes:
            with stage("drop indexes and keys"):
                deferred = DeferredSchema.drop(conn, LOADED_TABLES)

        def copy(table: str, lines: Iterable[str]) -> None:
            with stage(table) as counter:
                counter["rows"] = copy_lines(
                    conn, table, COLUMNS[table].split(), lines, freeze=True
                )

        copy("customers", customer_lines(plan, rng))
        copy("contacts", contact_lines(plan, rng))
        copy("contact_phones", phone_lines(plan, rng))
        copy("assets", asset_lines(plan, rng))
        copy("entitlements", entitlement_lines(plan, rng))
        for table, lines in station_lines(plan, rng).items():
            copy(table, lines)
        numbers = TicketNumbers()
        events: list[str] = []
        copy("tickets", ticket_lines(plan, rng, numbers, events))
        copy("ticket_events", events)
        copy("ticket_counters", [f"{year}\t{last}\n" for year, last in numbers.last.items()])
        with stage("id sequences"):
            reset_sequences(conn, TABLES_WITH_ID_SEQUENCE)
        if deferred.statements:
            with stage("rebuild indexes and keys"):
                deferred.restore(conn, _report_slow_statement)
        with stage("commit"):
            conn.commit()
        conn.autocommit = True
        with stage("analyze"):
            conn.execute("ANALYZE")
    seconds = time.perf_counter() - started
    say(f"loaded in {seconds:,.0f} s")
    return seconds


def _report_slow_statement(statement: str, seconds: float) -> None:
    if seconds >= 1.0:
        say(f"    {seconds:6.1f} s  {statement[:100]}")
