from datetime import timedelta

import pytest
import sqlalchemy as sa

from servicedesk.auth.models import ApiToken
from servicedesk.auth.services import (
    UserError,
    check_password_policy,
    common_passwords,
    issue_token,
    revoke_tokens,
    user_for_token,
)
from servicedesk.core.db import utcnow


def test_a_token_in_use_is_looked_up_in_one_statement(db, make_user):
    """Its first use is written down (see below); after that, one select per request."""
    user = make_user()
    token = issue_token(user)
    db.session.commit()
    assert user_for_token(token) is not None
    user_id = user.id
    db.session.expunge_all()
    statements: list[str] = []

    def record(connection, cursor, statement, *args):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        found = user_for_token(token)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    assert found is not None and found.id == user_id and found.username == "agent1"
    assert len(statements) == 1, statements


def test_revoked_unknown_and_inactive_tokens_find_nobody(db, make_user):
    user = make_user()
    other = make_user("agent2")
    token, other_token = issue_token(user), issue_token(other)
    assert user_for_token(token) is user
    assert user_for_token(token + "x") is None
    revoke_tokens(user)
    assert user_for_token(token) is None
    other.active = False
    assert user_for_token(other_token) is None


def test_a_tokens_last_use_is_written_at_most_every_five_minutes(db, make_user, count_statements):
    user = make_user()
    token = issue_token(user)
    db.session.commit()

    def last_used():
        db.session.expire_all()
        return db.session.scalar(sa.select(ApiToken.last_used_at))

    assert last_used() is None
    first = utcnow()
    with count_statements() as statements:
        user_for_token(token, now=first)
    writes = [s for s in statements if s.lstrip().upper().startswith("UPDATE")]
    assert len(writes) == 1 and "api_tokens" in writes[0]
    assert last_used() == first
    with count_statements() as statements:
        user_for_token(token, now=first + timedelta(minutes=4))
    assert len(statements) == 1
    assert last_used() == first
    user_for_token(token, now=first + timedelta(minutes=5))
    assert last_used() == first + timedelta(minutes=5)


def test_the_last_use_is_kept_when_the_request_rolls_back(db, make_user):
    user = make_user()
    token = issue_token(user)
    db.session.commit()
    user_for_token(token)
    db.session.rollback()
    assert db.session.scalar(sa.select(ApiToken.last_used_at)) is not None


def test_tokens_expire_after_the_configured_days(app, db, make_user, monkeypatch):
    user = make_user()
    now = utcnow()
    assert app.config["SERVICEDESK_TOKEN_DAYS"] == 365
    monkeypatch.setitem(app.config, "SERVICEDESK_TOKEN_DAYS", 30)
    token = issue_token(user, now=now)
    assert db.session.scalar(sa.select(ApiToken.expires_at)) == now + timedelta(days=30)
    assert user_for_token(token, now=now + timedelta(days=30) - timedelta(seconds=1)) is user
    assert user_for_token(token, now=now + timedelta(days=30)) is None


def test_an_expired_token_gets_401_from_the_api(client, db, make_user):
    user = make_user()
    token = issue_token(user, now=utcnow() - timedelta(days=366))
    db.session.commit()
    response = client.get("/api/v1/tickets", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"


@pytest.mark.parametrize(
    "password", ["1234567890", "qwertyuiop", "Password123", "P@ssw0rd123", "welcome123"]
)
def test_common_passwords_are_refused(app, password):
    with pytest.raises(UserError, match="common passwords"):
        check_password_policy(password, "agent1")


def test_the_shipped_list_is_read_and_the_demo_logins_pass_the_policy(app):
    from servicedesk.demo.showcase import DEMO_PASSWORD, SUPERVISOR_USERNAME

    assert len(common_passwords()) > 150
    assert all(p == p.casefold() and not p.startswith("#") for p in common_passwords())
    for name in ("agent", "admin", SUPERVISOR_USERNAME, "station-bj-01"):
        check_password_policy(DEMO_PASSWORD, name)
