"""Web sign-ins end for good: on sign-out, password change and deactivation, whatever copy of
the session or remember-me cookie is presented afterwards."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from servicedesk.auth.models import LoginSession
from servicedesk.auth.services import change_password, deactivate_user
from servicedesk.core.db import utcnow
from tests.conftest import PASSWORD

NEW_PASSWORD = "a brand new secret"


def sign_in(client, user, *, remember=False):
    form = {"username": user.username, "password": PASSWORD}
    if remember:
        form["remember"] = "y"
    response = client.post("/login", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)


def signed_in(client) -> bool:
    response = client.get("/agent/")
    if response.status_code == 302:
        assert "/login" in response.headers["Location"]
        return False
    assert response.status_code == 200
    return True


def copy_cookie(source, target, name):
    target.set_cookie(name, source.get_cookie(name).value)


def test_a_copied_session_cookie_stops_working_at_sign_out(app, client, make_user, db):
    user = make_user("agent1")
    db.session.commit()
    sign_in(client, user)
    thief = app.test_client()
    copy_cookie(client, thief, "session")
    assert signed_in(thief)

    client.post("/logout")
    assert not signed_in(client)
    assert not signed_in(thief)


def test_the_cookie_carries_a_key_of_the_sign_in_not_the_user_id(app, client, make_user, db):
    user = make_user("agent1")
    db.session.commit()
    sign_in(client, user)
    with client.session_transaction() as session:
        key = session["_user_id"]
    assert key != str(user.id) and len(key) >= 40
    assert db.session.scalar(sa.select(LoginSession.key_hash)) != key  # only its hash is kept


def test_remember_me_cookies_differ_per_sign_in_and_end_at_sign_out(app, make_user, db):
    user = make_user("agent1")
    db.session.commit()
    first, second = app.test_client(), app.test_client()
    sign_in(first, user, remember=True)
    sign_in(second, user, remember=True)
    token = first.get_cookie("remember_token").value
    assert token != second.get_cookie("remember_token").value

    only_the_cookie = app.test_client()
    only_the_cookie.set_cookie("remember_token", token)
    assert signed_in(only_the_cookie)  # the remember-me cookie alone signs in...

    first.post("/logout")
    later = app.test_client()
    later.set_cookie("remember_token", token)
    assert not signed_in(later)  # ...until its sign-in ended
    assert signed_in(second)  # another terminal's sign-in goes on


def test_remember_me_lasts_two_weeks_and_a_plain_sign_in_a_day(app, make_user, db):
    user = make_user("agent1")
    db.session.commit()
    sign_in(app.test_client(), user, remember=True)
    sign_in(app.test_client(), user)
    rows = {s.remember: s for s in db.session.scalars(sa.select(LoginSession))}
    assert rows[True].expires_at - rows[True].created_at == timedelta(days=14)
    assert rows[False].expires_at - rows[False].created_at == timedelta(days=1)
    assert app.config["REMEMBER_COOKIE_DURATION"] == timedelta(days=14)


def test_an_expired_sign_in_loads_nobody(client, make_user, db):
    user = make_user("agent1")
    db.session.commit()
    sign_in(client, user)
    db.session.execute(sa.update(LoginSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert not signed_in(client)


def test_a_password_change_ends_every_other_sign_in(app, make_user, db):
    user = make_user("agent1")
    db.session.commit()
    here, there = app.test_client(), app.test_client()
    sign_in(here, user)
    sign_in(there, user, remember=True)
    with here.session_transaction() as session:
        key_here = session["_user_id"]
    assert change_password(user, NEW_PASSWORD, keep_session=key_here) == 1
    db.session.commit()
    assert signed_in(here)
    assert not signed_in(there)
    assert user.check_password(NEW_PASSWORD)


def test_deactivation_ends_sign_ins_and_tokens_at_once(app, client, make_user, api_token, db):
    user = make_user("agent1")
    token = api_token(user)
    sign_in(client, user, remember=True)
    remembered = client.get_cookie("remember_token").value
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/tickets", headers=headers).status_code == 200

    assert deactivate_user(user) == (1, 1)
    db.session.commit()
    assert not signed_in(client)
    only_the_cookie = app.test_client()
    only_the_cookie.set_cookie("remember_token", remembered)
    assert not signed_in(only_the_cookie)
    assert client.get("/api/v1/tickets", headers=headers).status_code == 401
    # and signing in again is refused like a wrong password
    again = client.post("/login", data={"username": "agent1", "password": PASSWORD})
    assert again.status_code == 401


def test_cookies_of_the_old_kind_sign_nobody_in(app, client, make_user, db):
    """Before sign-ins had keys, the cookies carried the user's id: after the upgrade they
    load nobody (everyone signs in once more)."""
    user = make_user("agent1")
    db.session.commit()
    with client.session_transaction() as session:
        session["_user_id"] = str(user.id)
        session["_fresh"] = True
    assert not signed_in(client)
