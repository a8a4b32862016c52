"""Shared fixtures: one application and database per test session, emptied after each test.

The database is SQLite in a temporary folder unless ``SERVICEDESK_TEST_DATABASE_URL`` names
another one (CI runs the suite a second time on PostgreSQL that way).
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa

from servicedesk import create_app
from servicedesk.auth.services import create_user, issue_token
from servicedesk.core.db import db as _db
from servicedesk.customers.models import Asset, Contact, ContactPhone, Customer, Entitlement
from servicedesk.customers.phones import parse_phone
from servicedesk.stations.models import (
    Region,
    RegionPlace,
    Station,
    StationCity,
    StationProductLine,
)

TEST_DATABASE_URL = os.environ.get("SERVICEDESK_TEST_DATABASE_URL")
PASSWORD = "correct horse battery"
NOW = datetime(2026, 11, 20, 2, 30, tzinfo=UTC)  # Friday 10:30 in Shanghai


def pytest_collection_modifyitems(config, items):
    """Tests marked ``postgres`` need PostgreSQL: skipped on SQLite, but never silently in CI."""
    if TEST_DATABASE_URL and TEST_DATABASE_URL.startswith("postgresql"):
        return
    reason = "needs PostgreSQL: set SERVICEDESK_TEST_DATABASE_URL"
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(pytest.mark.skip(reason=reason))


def pytest_sessionfinish(session, exitstatus):
    """In CI on PostgreSQL, a skipped postgres test is a failure."""
    if not (os.environ.get("CI") and TEST_DATABASE_URL):
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = [r for r in reporter.stats.get("skipped", []) if "postgres" in r.keywords]
    if skipped:
        reporter.write_line(f"{len(skipped)} PostgreSQL tests were skipped in CI", red=True)
        session.exitstatus = 1


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    if TEST_DATABASE_URL:
        return TEST_DATABASE_URL
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


@pytest.fixture(scope="session")
def app(database_url, tmp_path_factory):
    os.environ.setdefault("SERVICEDESK_INSTANCE_PATH", str(tmp_path_factory.mktemp("instance")))
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "WTF_CSRF_ENABLED": False,
            "SERVICEDESK_TELEPHONY": "simulated",
            "SERVICEDESK_PUBLIC_URL": "http://testserver.example",
        }
    )
    with app.app_context():
        if _db.engine.dialect.name == "postgresql":
            with _db.engine.begin() as connection:
                connection.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
                connection.execute(sa.text("CREATE SCHEMA public"))
        else:
            _db.drop_all()
        _db.create_all()
    yield app


@pytest.fixture(autouse=True)
def _app_context(request):
    """Every test that uses the app runs in its context and leaves the database empty."""
    if "app" not in request.fixturenames:
        yield
        return
    app = request.getfixturevalue("app")
    with app.app_context():
        yield
        _db.session.rollback()
        _db.session.remove()
        _empty_database()


def _empty_database() -> None:
    tables = _db.metadata.sorted_tables
    with _db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            names = ", ".join(f'"{table.name}"' for table in tables)
            connection.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(tables):
                connection.execute(table.delete())


@pytest.fixture
def db(app):
    return _db


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def now() -> datetime:
    return NOW


@pytest.fixture
def region(db) -> Region:
    """The Beijing-Tianjin-Hebei region."""
    region = Region(code="jingjinji", name_zh="京津冀", name_en="Beijing-Tianjin-Hebei")
    region.places = [
        RegionPlace(name=name, position=i) for i, name in enumerate(["北京", "天津", "河北"])
    ]
    db.session.add(region)
    db.session.flush()
    return region


@pytest.fixture
def make_station(db, region):
    def make(
        code="BJ-01",
        *,
        cities=("北京",),
        four_hour=(),
        product_lines=("laptop", "desktop", "aio", "server"),
        capacity=10,
        status="active",
        region_code=None,
    ) -> Station:
        station = Station(
            code=code,
            name=f"Station {code}",
            region_code=region_code or region.code,
            capacity=capacity,
            status=status,
        )
        station.cities = [StationCity(city=c, four_hour=c in four_hour) for c in cities]
        station.product_lines = [StationProductLine(product_line=p) for p in product_lines]
        db.session.add(station)
        db.session.flush()
        return station

    return make


@pytest.fixture
def make_customer(db):
    def make(
        code="C0001",
        *,
        name="北京星河科技有限公司",
        customer_class="B",
        phones=("138 0013 8000",),
        contact="张伟",
        language="zh",
        province="北京",
        city="北京",
    ) -> Customer:
        customer = Customer(
            code=code,
            name=name,
            customer_class=customer_class,
            province=province,
            city=city,
            address="海淀区中关村大街1号",
            language=language,
        )
        person = Contact(name=contact, is_primary=True, customer=customer)
        for text in phones:
            parsed = parse_phone(text)
            person.phones.append(
                ContactPhone(e164=parsed.e164, extension=parsed.extension, customer=customer)
            )
        db.session.add(customer)
        db.session.flush()
        return customer

    return make


@pytest.fixture
def make_asset(db):
    def make(
        customer: Customer,
        serial="PF3ABC12",
        *,
        product_line="laptop",
        model="ThinkPad X1 Carbon Gen 12",
        purchase_date=date(2025, 3, 1),
        purchase_price=Decimal("12999.00"),
        city=None,
        entitlements=(("depot", date(2025, 3, 1), date(2027, 2, 28)),),
    ) -> Asset:
        asset = Asset(
            serial=serial,
            customer=customer,
            product_line=product_line,
            model=model,
            purchase_date=purchase_date,
            purchase_price=purchase_price,
            province=customer.province,
            city=city or customer.city,
        )
        asset.entitlements = [
            Entitlement(offering=offering, start=start, end=end)
            for offering, start, end in entitlements
        ]
        db.session.add(asset)
        db.session.flush()
        return asset

    return make


@pytest.fixture
def make_user(db):
    def make(username="agent1", role="agent", station_code=None, language="en"):
        user = create_user(
            username, role=role, password=PASSWORD, station_code=station_code, language=language
        )
        db.session.flush()
        return user

    return make


@pytest.fixture
def api_token(db):
    """A committed bearer token for ``user``."""

    def make(user) -> str:
        token = issue_token(user)
        db.session.commit()
        return token

    return make


@pytest.fixture
def login(client, db):
    """Sign ``user`` in on the test client (commits the data set up so far)."""

    def do(user, password=PASSWORD):
        db.session.commit()
        response = client.post("/login", data={"username": user.username, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)
        return response

    return do


@pytest.fixture
def count_statements(db):
    """A context manager collecting the SQL statements run inside it."""

    @contextmanager
    def counting():
        statements: list[str] = []

        def record(connection, cursor, statement, *args):
            statements.append(statement)

        sa.event.listen(db.engine, "before_cursor_execute", record)
        try:
            yield statements
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", record)

    return counting
