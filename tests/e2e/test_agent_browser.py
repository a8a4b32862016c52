"""An agent drives the real UI in headless Chromium (Debian's package, through Playwright):
signs in, finds a caller by phone, opens a repair in the call and reads its coverage."""

from __future__ import annotations

import os
import shutil
import threading
from datetime import date

import pytest
from werkzeug.serving import make_server

from servicedesk import create_app

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
