"""The fixed part of the demo data: logins, and customers that docs and tests can rely on.

Whatever the seed and scale, a demo load contains these customers with exactly these codes,
phone numbers and serial numbers. Their dates are relative to the day of the load:

- ``DEMO-A001`` (class A, 北京), caller ``+8613800138000``:
  ``PF-DEMO-0001`` a laptop with active ``onsite`` + ``adp`` + ``kyd``;
  ``J3-DEMO-0002`` a server with active ``onsite_4h`` in 北京 (4-hour response applies);
  ``MJ-DEMO-0003`` a desktop whose ``onsite`` ends in 20 days (an extension to offer);
  ``J3-DEMO-0004`` a server in 拉萨 with ``onsite_4h``, where no station offers 4-hour
  response (falls back to next-business-day onsite);
  and tickets: an open repair of the desktop, a closed server repair (its satisfaction callback
  answered, fully satisfied), a closed inquiry, and a laptop repair closed within the last day
  whose satisfaction callback is scheduled (due the next day, inside calling hours).
- ``DEMO-C001`` (consumer, 上海), caller ``+8613900139000``: ``PF-DEMO-1001`` a laptop whose
  warranty and accidental damage protection ended years ago (repairs are billable), and a
  closed repair of it (its callback answered, fully satisfied).
- ``DEMO-B001`` (class B, 上海, English), caller ``+862161234567`` ext ``801``:
  ``PF-DEMO-2001`` a laptop with active ``onsite`` and no ``adp`` (accidental damage is
  billable).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from servicedesk.customers.phones import parse_phone
from servicedesk.demo.specs import (
    AssetSpec,
    ContactSpec,
    CustomerSpec,
    EntitlementSpec,
    PhoneSpec,
    add_years,
    term,
)

DEMO_PASSWORD = "demo-pass-2026"
AGENT_USERNAME = "agent"
SUPERVISOR_USERNAME = "supervisor"
ADMIN_USERNAME = "admin"
#: The station in 北京 with 4-hour capability that repairs every product line.
SHOWCASE_STATION_CODE = "BJ-01"


def station_username(station_code: str) -> str:
    """The demo login of a station's staff: ``station-bj-01`` for ``BJ-01``."""
    return f"station-{station_code.lower()}"


SHOWCASE_STATION_USERNAME = station_username(SHOWCASE_STATION_CODE)

SHOWCASE_ENTERPRISE_CODE = "DEMO-A001"
SHOWCASE_ENTERPRISE_NAME = "北京华信科技集团股份有限公司"
SHOWCASE_ENTERPRISE_PHONE = "+8613800138000"
SHOWCASE_LAPTOP_SERIAL = "PF-DEMO-0001"
SHOWCASE_FOUR_HOUR_SERIAL = "J3-DEMO-0002"
SHOWCASE_EXPIRING_SERIAL = "MJ-DEMO-0003"
SHOWCASE_EXPIRING_IN_DAYS = 20
SHOWCASE_NO_FOUR_HOUR_SERIAL = "J3-DEMO-0004"

SHOWCASE_CONSUMER_CODE = "DEMO-C001"
SHOWCASE_CONSUMER_NAME = "王芳"
SHOWCASE_CONSUMER_PHONE = "+8613900139000"
SHOWCASE_EXPIRED_SERIAL = "PF-DEMO-1001"

SHOWCASE_ENGLISH_CODE = "DEMO-B001"
SHOWCASE_ENGLISH_NAME = "Contoso Medical Devices (Shanghai) Co., Ltd."
SHOWCASE_ENGLISH_PHONE = "+862161234567"
SHOWCASE_ENGLISH_EXTENSION = "801"
SHOWCASE_ENGLISH_SERIAL = "PF-DEMO-2001"

SHOWCASE_CUSTOMER_CODES = (SHOWCASE_ENTERPRISE_CODE, SHOWCASE_CONSUMER_CODE, SHOWCASE_ENGLISH_CODE)


def _phone(spelling: str) -> PhoneSpec:
    parsed = parse_phone(spelling)
    return PhoneSpec(spelling, parsed.e164, parsed.extension)


def showcase_customers(today: date) -> list[CustomerSpec]:
    """The fixed customers, with entitlements placed relative to ``today``."""
    return [_enterprise(today), _consumer(today), _english(today)]


def _enterprise(today: date) -> CustomerSpec:
    laptop_bought = today - timedelta(days=400)
    server_bought = today - timedelta(days=200)
    desktop_ends = today + timedelta(days=SHOWCASE_EXPIRING_IN_DAYS)
    desktop_bought = add_years(desktop_ends + timedelta(days=1), -3)
    remote_bought = today - timedelta(days=300)
    return CustomerSpec(
        code=SHOWCASE_ENTERPRISE_CODE,
        name=SHOWCASE_ENTERPRISE_NAME,
        customer_class="A",
        province="北京",
        city="北京",
        address="海淀区中关村大街1号华信大厦12层",
        language="zh",
        contacts=[
            ContactSpec(
                "张伟",
                "IT经理",
                True,
                [_phone("138 0013 8000"), _phone("(010) 6275 1234 ext 8")],
            ),
            ContactSpec("李静", "采购经理", False, [_phone("139 1088 6621")]),
        ],
        assets=[
            AssetSpec(
                SHOWCASE_LAPTOP_SERIAL,
                "laptop",
                "ThinkPad X1 Carbon Gen 12",
                laptop_bought,
                Decimal("14999.00"),
                "北京",
                "北京",
                [term("onsite", laptop_bought, 3), term("adp", laptop_bought, 3),
                 term("kyd", laptop_bought, 3)],
            ),
            AssetSpec(
                SHOWCASE_FOUR_HOUR_SERIAL,
                "server",
                "ThinkSystem SR650 V3",
                server_bought,
                Decimal("89999.00"),
                "北京",
                "北京",
                [term("onsite_4h", server_bought, 3), term("kyd", server_bought, 3)],
            ),
            AssetSpec(
                SHOWCASE_EXPIRING_SERIAL,
                "desktop",
                "ThinkCentre M90q Gen 5",
                desktop_bought,
                Decimal("6999.00"),
                "北京",
                "北京",
                [EntitlementSpec("onsite", desktop_bought, desktop_ends)],
            ),
            AssetSpec(
                SHOWCASE_NO_FOUR_HOUR_SERIAL,
                "server",
                "ThinkSystem ST250 V3",
                remote_bought,
                Decimal("29999.00"),
                "西藏",
                "拉萨",
                [term("onsite_4h", remote_bought, 3)],
            ),
        ],
    )  # fmt: skip


def _consumer(today: date) -> CustomerSpec:
    bought = add_years(today, -3) - timedelta(days=120)
    return CustomerSpec(
        code=SHOWCASE_CONSUMER_CODE,
        name=SHOWCASE_CONSUMER_NAME,
        customer_class="consumer",
        province="上海",
        city="上海",
        address="浦东新区世纪大道100号3栋1202室",
        language="zh",
        contacts=[ContactSpec(SHOWCASE_CONSUMER_NAME, "", True, [_phone("+86 139 0013 9000")])],
        assets=[
            AssetSpec(
                SHOWCASE_EXPIRED_SERIAL,
                "laptop",
                "Yoga Slim 7 Pro",
                bought,
                Decimal("6999.00"),
                "上海",
                "上海",
                [term("depot", bought, 1), term("adp", bought, 1)],
            )
        ],
    )


def _english(today: date) -> CustomerSpec:
    bought = today - timedelta(days=500)
    return CustomerSpec(
        code=SHOWCASE_ENGLISH_CODE,
        name=SHOWCASE_ENGLISH_NAME,
        customer_class="B",
        province="上海",
        city="上海",
        address="闵行区虹桥商务区申长路988号",
        language="en",
        contacts=[
            ContactSpec(
                "Anna Schmidt",
                "Facilities Manager",
                True,
                [_phone("(021) 6123 4567 ext 801"), _phone("+86 186 2123 4567")],
            )
        ],
        assets=[
            AssetSpec(
                SHOWCASE_ENGLISH_SERIAL,
                "laptop",
                "ThinkPad T14 Gen 5",
                bought,
                Decimal("9499.00"),
                "上海",
                "上海",
                [term("onsite", bought, 3), term("kyd", bought, 3)],
            )
        ],
    )
