"""``servicedesk demo load``."""

from __future__ import annotations

import re

import sqlalchemy as sa

from servicedesk.customers.models import Customer
from servicedesk.demo.showcase import (
    ADMIN_USERNAME,
    AGENT_USERNAME,
    DEMO_PASSWORD,
    SHOWCASE_CONSUMER_PHONE,
    SHOWCASE_ENTERPRISE_CODE,
    SHOWCASE_ENTERPRISE_PHONE,
    SHOWCASE_STATION_USERNAME,
    SUPERVISOR_USERNAME,
)


def customer_codes(db) -> list[str]:
    db.session.rollback()
    return db.session.scalars(sa.select(Customer.code).order_by(Customer.code)).all()


def test_load_reports_each_stage_and_commits(app, db):
    args = ["demo", "load", "--scale", "0.01", "--seed", "3", "--if-empty"]
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 0, result.output
    for stage in ("regions: 18", "stations: 18", "customers: 50", "assets: 150", "tickets: "):
        assert stage in result.output
    assert re.search(r"satisfaction callbacks: \d+ \(\d+ completed", result.output)
    assert "scorecards: 18 stations scored, " in result.output
    assert "servicedesk demo logins" in result.output
    codes = customer_codes(db)
    assert len(codes) == 50
    assert SHOWCASE_ENTERPRISE_CODE in codes


def test_a_second_load_is_refused_and_changes_nothing(app, db):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["demo", "load", "--scale", "0.01"]).exit_code == 0
    before = customer_codes(db)

    again = runner.invoke(args=["demo", "load", "--scale", "0.01", "--seed", "4"])
    assert again.exit_code == 1
    assert "demo data is already loaded; use a fresh database" in again.output
    assert customer_codes(db) == before

    first_start = runner.invoke(args=["demo", "load", "--if-empty"])
    assert first_start.exit_code == 0
    assert first_start.output == "not loading demo data: demo data is already loaded\n"
    assert customer_codes(db) == before


def test_logins_lists_the_demo_users_and_callers(app, db):
    runner = app.test_cli_runner()
    before = runner.invoke(args=["demo", "logins"])
    assert before.exit_code == 0
    assert "no demo data" in before.output

    runner.invoke(args=["demo", "load", "--scale", "0.01"])
    result = runner.invoke(args=["demo", "logins"])
    assert result.exit_code == 0
    for text in (
        DEMO_PASSWORD,
        AGENT_USERNAME,
        SUPERVISOR_USERNAME,
        ADMIN_USERNAME,
        SHOWCASE_STATION_USERNAME,
        "each of the 18 stations",
        SHOWCASE_ENTERPRISE_PHONE,
        SHOWCASE_CONSUMER_PHONE,
    ):
        assert text in result.output


def test_scale_must_be_sensible(app, db):
    result = app.test_cli_runner().invoke(args=["demo", "load", "--scale", "0"])
    assert result.exit_code == 2
    assert customer_codes(db) == []
