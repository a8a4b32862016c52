"""Failed sign-ins are counted in the database per account and per client address; the sixth
attempt within 15 minutes is answered 429 with Retry-After, and unknown users cost the same
password hashing as known ones."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from servicedesk.auth import models, services
from servicedesk.auth.models import LoginFailure
from servicedesk.auth.services import sign_in
from servicedesk.core.db import utcnow
from tests.conftest import PASSWORD


def attempt(client, username, password, address="192.0.2.1"):
    return client.post(
        "/login",
        data={"username": username, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def test_the_sixth_wrong_password_is_answered_429_with_retry_after(client, make_user, db):
    make_user("agent1")
    db.session.commit()
    for _ in range(5):
        assert attempt(client, "agent1", "wrong password").status_code == 401
    refused = attempt(client, "agent1", "wrong password")
    assert refused.status_code == 429
    assert 14 * 60 < int(refused.headers["Retry-After"]) <= 15 * 60
    assert "Too many failed sign-ins. Try again in 15 minutes." in refused.get_data(as_text=True)
    # the right password does not get through either, from anywhere, in any letter case
    assert attempt(client, "agent1", PASSWORD, "198.51.100.7").status_code == 429
    assert attempt(client, " AGENT1", PASSWORD, "198.51.100.8").status_code == 429
    chinese = client.post(
        "/login",
        data={"username": "agent1", "password": PASSWORD},
        headers={"Accept-Language": "zh-CN"},
    )
    assert chinese.status_code == 429 and "请 15 分钟后再试" in chinese.get_data(as_text=True)


def test_one_address_trying_many_names_is_throttled(client, make_user, db):
    make_user("agent1")
    db.session.commit()
    for n in range(5):
        assert attempt(client, f"guess{n}", "wrong password").status_code == 401
    assert attempt(client, "agent1", PASSWORD).status_code == 429
    assert attempt(client, "agent1", PASSWORD, "198.51.100.7").status_code == 302


def test_the_address_limit_can_be_raised(app, client, make_user, db, monkeypatch):
    monkeypatch.setitem(app.config, "SERVICEDESK_LOGIN_ADDRESS_FAILURES", 20)
    make_user("agent1")
    db.session.commit()
    for n in range(8):
        assert attempt(client, f"guess{n}", "wrong password").status_code == 401
    assert attempt(client, "agent1", PASSWORD).status_code == 302


def test_failures_age_out_of_the_window(client, make_user, db):
    make_user("agent1")
    db.session.commit()
    for _ in range(5):
        attempt(client, "agent1", "wrong password")
    assert attempt(client, "agent1", PASSWORD).status_code == 429
    db.session.execute(
        sa.update(LoginFailure).values(at=utcnow() - timedelta(minutes=15, seconds=1))
    )
    db.session.commit()
    assert attempt(client, "agent1", PASSWORD).status_code == 302


def test_a_success_clears_the_accounts_failures_and_old_rows_are_deleted(client, make_user, db):
    make_user("agent1")
    db.session.commit()
    for n in range(4):
        attempt(client, "agent1", "wrong password", f"192.0.2.{n}")
    assert attempt(client, "agent1", PASSWORD, "198.51.100.1").status_code == 302
    client.post("/logout")
    for n in range(4):
        assert attempt(client, "agent1", "wrong password", f"203.0.113.{n}").status_code == 401
    scopes = db.session.scalars(sa.select(LoginFailure.scope)).all()
    assert scopes.count("account") == 4  # the four before the success are gone

    db.session.execute(sa.update(LoginFailure).values(at=utcnow() - timedelta(hours=1)))
    db.session.commit()
    attempt(client, "ghost", "wrong password", "203.0.113.99")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LoginFailure)) == 2


@pytest.fixture
def hashings(monkeypatch):
    """Every password hash check, wherever it is made."""
    calls: list[str] = []

    def counting(original):
        def check(pwhash, password):
            calls.append(pwhash.split("$", 1)[0])
            return original(pwhash, password)

        return check

    for module in (models, services):
        monkeypatch.setattr(module, "check_password_hash", counting(module.check_password_hash))
    return calls


def test_unknown_and_inactive_users_cost_the_same_hashing_as_known_ones(make_user, db, hashings):
    known = make_user("agent1")
    make_user("retired").active = False
    db.session.flush()
    for name, password in (
        ("agent1", "wrong password"),
        ("ghost", "wrong password"),
        ("retired", PASSWORD),
    ):
        assert sign_in(name, password, address=f"192.0.2.{len(hashings)}").user is None
    method = known.password_hash.split("$", 1)[0]
    assert hashings == [method, method, method]


def test_the_throttle_is_decided_before_any_hashing(make_user, db, hashings):
    make_user("agent1")
    for _ in range(5):
        sign_in("agent1", "wrong password", address="192.0.2.1")
    hashings.clear()
    attempt_ = sign_in("agent1", PASSWORD, address="192.0.2.1")
    assert attempt_.user is None and not attempt_.throttle.allowed
    assert hashings == []
