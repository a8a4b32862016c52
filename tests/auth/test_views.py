"""Signing in and out, the language switch, and CSRF on every form (with CSRF switched on)."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from servicedesk import create_app
from servicedesk.auth.models import User
from servicedesk.errors import init_errors
from servicedesk.tickets.models import Ticket
from tests.conftest import PASSWORD


@pytest.fixture(scope="module")
def csrf_app(app):
    """A second application on the same database, with CSRF protection as in production."""
    config = {key: app.config[key] for key in ("SECRET_KEY", "SQLALCHEMY_DATABASE_URI")}
    protected = create_app({**config, "TESTING": True, "WTF_CSRF_ENABLED": True})
    init_errors(protected)
    yield protected
    with protected.app_context():
        from servicedesk.core.db import db

        db.engine.dispose()


def csrf_token(html: str) -> str:
    return re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', html).group(1)


def page(response) -> str:
    return response.get_data(as_text=True)


def test_login_page_has_labelled_fields(client):
    html = page(client.get("/login"))
    assert 'for="username"' in html and 'for="password"' in html
    assert 'autocomplete="current-password"' in html
    assert "autofocus" in html


def test_wrong_password_gives_401_and_the_form_again(client, make_user, db):
    make_user("agent1")
    db.session.commit()
    response = client.post("/login", data={"username": "agent1", "password": "nope-nope"})
    assert response.status_code == 401
    assert "Unknown user name or wrong password." in page(response)
    assert 'name="username"' in page(response)


def test_unknown_and_inactive_users_cannot_sign_in(client, make_user, db):
    user = make_user("agent1")
    user.active = False
    db.session.commit()
    for name in ("agent1", "ghost"):
        response = client.post("/login", data={"username": name, "password": PASSWORD})
        assert response.status_code == 401


def test_agent_lands_on_the_terminal_and_station_user_on_its_queue(
    client, login, make_user, make_station
):
    make_station("BJ-01")
    response = login(make_user("agent1"))
    assert response.headers["Location"] == "/agent/"
    client.post("/logout")
    response = login(make_user("station1", role="station", station_code="BJ-01"))
    assert response.headers["Location"] == "/tickets/station"


def test_next_is_followed_only_when_local(client, make_user, db):
    make_user("agent1")
    db.session.commit()
    form = {"username": "agent1", "password": PASSWORD}
    response = client.post("/login?next=/agent/customers/C1", data=form)
    assert response.headers["Location"] == "/agent/customers/C1"
    client.post("/logout")
    response = client.post("/login?next=https://evil.example/", data=form)
    assert response.headers["Location"] == "/agent/"


def test_anonymous_redirect_explains_why(client):
    response = client.get("/agent/", follow_redirects=True)
    assert "Please sign in to see this page." in page(response)


def test_sign_out_is_a_post(client, login, make_user):
    login(make_user("agent1"))
    assert client.get("/logout").status_code == 405
    response = client.post("/logout", follow_redirects=True)
    assert "Signed out." in page(response)
    assert client.get("/agent/").status_code == 302


def test_header_shows_user_role_language_switch_and_sign_out(client, login, make_user):
    login(make_user("agent1"))
    html = page(client.get("/agent/"))
    assert "agent1" in html and ">Agent<" in html.replace("\n", "").replace(" ", "")
    assert 'action="/language/zh"' in html and 'action="/language/en"' in html
    assert 'action="/logout"' in html


def test_language_switch_gives_chinese_pages_and_is_remembered(client, login, make_user, db):
    user = make_user("agent1", language="en")
    login(user)
    response = client.post("/language/zh", data={"next": "/agent/"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/agent/"
    html = page(client.get("/agent/"))
    assert '<html lang="zh-Hans">' in html
    assert "查找来电客户" in html
    assert "退出登录" in html
    assert db.session.scalar(sa.select(User.language).where(User.username == "agent1")) == "zh"
    client.post("/language/en", data={"next": "/agent/"})
    assert "Find the caller" in page(client.get("/agent/"))


def test_anonymous_language_choice_and_browser_default(client):
    assert "登录" in page(client.get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9"}))
    assert "Sign in" in page(client.get("/login", headers={"Accept-Language": "en-US"}))
    client.post("/language/zh", data={"next": "/login"})
    assert "用户名" in page(client.get("/login", headers={"Accept-Language": "en-US"}))


def test_unknown_language_is_404_and_foreign_next_is_ignored(client):
    assert client.post("/language/fr").status_code == 404
    response = client.post("/language/en", data={"next": "//evil.example/"})
    assert response.headers["Location"] == "/"


# --- with CSRF protection on ----------------------------------------------------------------


def test_csrf_is_enforced_on_sign_in(csrf_app, make_user, db):
    make_user("agent1")
    db.session.commit()
    client = csrf_app.test_client()
    refused = client.post("/login", data={"username": "agent1", "password": PASSWORD})
    assert refused.status_code == 400
    assert "The request could not be understood" in page(refused)

    token = csrf_token(page(client.get("/login")))
    accepted = client.post(
        "/login", data={"username": "agent1", "password": PASSWORD, "csrf_token": token}
    )
    assert accepted.status_code == 302


def test_csrf_is_enforced_on_the_ticket_form_language_and_sign_out(
    csrf_app, make_user, make_customer, db
):
    make_user("agent1")
    customer = make_customer()
    db.session.commit()
    client = csrf_app.test_client()
    token = csrf_token(page(client.get("/login")))
    client.post("/login", data={"username": "agent1", "password": PASSWORD, "csrf_token": token})

    card = page(client.get(f"/agent/customers/{customer.code}"))
    form = {"kind": "inquiry", "summary": "Where is my invoice?", "answered": "y"}
    url = f"/agent/customers/{customer.code}/tickets"
    assert client.post(url, data=form).status_code == 400
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Ticket)) == 0
    assert client.post("/language/zh").status_code == 400
    assert client.post("/logout").status_code == 400

    response = client.post(url, data={**form, "csrf_token": csrf_token(card)})
    assert response.status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Ticket)) == 1
