"""An agent drives the real UI in headless Chromium (Debian's package, through Playwright):
signs in, finds a caller by phone, opens a repair in the call and reads its coverage; takes an
incoming call that appears on the terminal and sees the caller's card pop."""

from __future__ import annotations

import os
import shutil
import threading
import time
from datetime import date

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

from servicedesk import create_app
from servicedesk.callcenter.inbound import record_incoming
from servicedesk.callcenter.models import Call, SimulatedCall
from servicedesk.core.db import utcnow

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def chromium():
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing in CI: scripts/ensure-chromium installs it")
        pytest.skip("chromium is not installed (scripts/ensure-chromium installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def live_server(app, database_url):
    """The app with CSRF on, served over HTTP on a free loopback port."""
    live = create_app(
        {
            "SECRET_KEY": "browser-test",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SERVICEDESK_TELEPHONY": "simulated",
        }
    )
    server = make_server("127.0.0.1", 0, live, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)
    with live.app_context():
        from servicedesk.core.db import db

        db.engine.dispose()


def test_agent_finds_caller_by_phone_and_opens_a_covered_repair(
    chromium, live_server, make_customer, make_asset, make_user, db
):
    customer = make_customer(name="北京星河科技有限公司", phones=("138 0013 8000",))
    make_asset(
        customer,
        "PF-E2E-0001",
        entitlements=[
            ("onsite", date(2025, 1, 1), date(2028, 12, 31)),
            ("adp", date(2025, 1, 1), date(2028, 12, 31)),
        ],
    )
    make_user("agent1")
    db.session.commit()

    page = chromium.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{live_server}/login")
    page.get_by_label("User name").fill("agent1")
    page.get_by_label("Password").fill("correct horse battery")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server}/agent/**")

    assert page.evaluate("document.activeElement.name") == "q"
    page.keyboard.type("+86-138-0013-8000")
    page.keyboard.press("Enter")
    page.wait_for_selector("#customer-heading")
    assert page.inner_text("#customer-heading") == "北京星河科技有限公司"
    assert "PF-E2E-0001" in page.inner_text("body")

    page.keyboard.press("Alt+3")
    assert page.is_checked('input[name="kind"][value="repair"]')
    page.keyboard.type("Coffee spilled on the keyboard")
    page.select_option('select[name="serial"]', "PF-E2E-0001")
    page.select_option('select[name="damage"]', "liquid")
    page.click("#ticket-form button[type=submit]")

    opened = page.locator("#this-call .call-tickets li").first
    opened.wait_for()
    text = opened.inner_text()
    assert "SD-" in text
    assert "Covered under warranty" in text
    assert "accidental damage protection" in text.lower()
    assert len(opened.locator(".reasons li").all()) >= 1
    page.close()


def ring(db, sid: str, caller: str) -> None:
    """The phone rings: the provider's call and the webhook's record of it (in this process;
    the browser's server is another application on the same database)."""
    db.session.add(
        SimulatedCall(
            sid=sid,
            direction="inbound",
            to_number="+864008001234",
            from_number=caller,
            status="in-progress",
        )
    )
    record_incoming(sid, caller, now=utcnow())
    db.session.commit()


def test_an_incoming_call_appears_and_pops_the_card_by_alt_a_or_when_ready(
    chromium, live_server, make_customer, make_user, db
):
    customer = make_customer(name="国家电网信息中心", customer_class="A", phones=("138 0013 8000",))
    agent = make_user("agent1")
    agent.phone = "+861062750001"
    db.session.commit()

    page = chromium.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{live_server}/login")
    page.get_by_label("User name").fill("agent1")
    page.get_by_label("Password").fill("correct horse battery")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server}/agent/**")
    assert "No calls waiting." in page.inner_text("[data-incoming]")

    ring(db, "CA-E2E", "+8613800138000")
    rang = time.monotonic()
    page.wait_for_selector("[data-waiting-call]", timeout=2_000)
    assert time.monotonic() - rang < 2
    waiting = page.inner_text("[data-incoming]")
    assert "国家电网信息中心" in waiting and "VIP" in waiting
    assert page.title().startswith("(1) ")

    page.keyboard.press("Alt+A")
    page.wait_for_selector("#customer-heading")
    assert page.inner_text("#customer-heading") == "国家电网信息中心"
    assert "On the line since" in page.inner_text(".callbar")
    db.session.expire_all()
    call = db.session.scalar(sa.select(Call))
    assert (call.status, call.agent_id, call.customer_id) == ("connected", agent.id, customer.id)
    page.wait_for_selector("text=No calls waiting.")

    # Ready on the terminal: the next call is handed over without a key press.
    page.click(".callbar button[type=submit]")  # End call
    page.wait_for_url(f"{live_server}/agent/")
    page.check("[data-auto-take]")
    other = make_customer("C0002", name="上海星河贸易有限公司", phones=("021 6888 1234",))
    ring(db, "CA-E2E-2", "+862168881234")
    rang = time.monotonic()
    page.wait_for_selector("#customer-heading", timeout=3_000)
    assert time.monotonic() - rang < 2  # the card pops within two seconds of the ring
    assert page.inner_text("#customer-heading") == other.name
    page.close()
