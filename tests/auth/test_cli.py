from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from servicedesk.auth.models import ApiToken, User, hash_token
from servicedesk.auth.services import user_for_token


def test_create_users_of_every_role(app, make_station, db):
    make_station("BJ-01")
    db.session.commit()
    runner = app.test_cli_runner()
    for args in (
        ["alice", "--role", "agent"],
        ["bob", "--role", "supervisor"],
        ["carol", "--role", "admin"],
        ["dave", "--role", "station", "--station", "BJ-01"],
    ):
        result = runner.invoke(args=["users", "create", *args, "--password", "long enough"])
        assert result.exit_code == 0, result.output
    users = {u.username: u for u in db.session.scalars(sa.select(User))}
    assert users["dave"].station.code == "BJ-01"
    assert users["alice"].check_password("long enough")
    assert users["alice"].password_hash != "long enough"


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("138 0013 8000", "+8613800138000"),
        ("(010) 6275 1234", "+861062751234"),
        ("sip:agent-17@pbx.example.com", "sip:agent-17@pbx.example.com"),
    ],
)
def test_an_agents_desk_phone_is_stored_as_it_is_dialled(app, db, given, stored):
    result = app.test_cli_runner().invoke(
        args=[
            "users",
            "create",
            "alice",
            "--role",
            "agent",
            "--phone",
            given,
            "--password",
            "long enough",
        ]
    )
    assert result.exit_code == 0, result.output
    assert db.session.scalar(sa.select(User.phone).where(User.username == "alice")) == stored


def test_password_is_prompted_when_not_given(app, db):
    result = app.test_cli_runner().invoke(
        args=["users", "create", "alice", "--role", "agent"], input="s3cret-pass\ns3cret-pass\n"
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalar(sa.select(User).where(User.username == "alice"))
    assert user.check_password("s3cret-pass")


def test_bad_requests_are_refused_clearly(app, make_station, db):
    make_station("BJ-01")
    db.session.commit()
    runner = app.test_cli_runner()
    cases = [
        (["x", "--role", "station"], "needs --station"),
        (["x", "--role", "station", "--station", "NOPE"], "unknown station"),
        (["x", "--role", "agent", "--station", "BJ-01"], "only station users"),
        (["x", "--role", "agent", "--password", "nine char"], "at least 10"),
        (["x", "--role", "agent", "--password", "Password123"], "common passwords"),
        (["lihua-2026", "--role", "agent", "--password", "LiHua-2026"], "not be the user name"),
        (["x", "--role", "king"], "Invalid value"),
        (["x", "--role", "agent", "--phone", "not a number"], "neither a phone number"),
        (["x", "--role", "agent", "--phone", "010-62751234 ext 8"], "without an extension"),
    ]
    for args, message in cases:
        if "--password" not in args:
            args = [*args, "--password", "long enough"]
        result = runner.invoke(args=["users", "create", *args])
        assert result.exit_code != 0
        assert message in result.output
    runner.invoke(args=["users", "create", "x", "--role", "agent", "--password", "long enough"])
    again = runner.invoke(
        args=["users", "create", "x", "--role", "agent", "--password", "abcdefgh"]
    )
    assert "exists already" in again.output


def test_token_is_printed_last_and_stored_hashed(app, make_user, db):
    user = make_user("alice")
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["users", "token", "alice"])
    assert result.exit_code == 0
    token = result.output.strip().splitlines()[-1]
    stored = db.session.scalar(sa.select(ApiToken.token_hash))
    assert stored == hash_token(token) and stored != token
    assert user_for_token(token) == user
    assert user_for_token(token + "x") is None


def test_token_for_unknown_user(app):
    result = app.test_cli_runner().invoke(args=["users", "token", "nobody"])
    assert result.exit_code != 0 and "unknown user" in result.output


# --- users update | deactivate | password | tokens | revoke -----------------------------------


def users(app, *args, input=None):
    return app.test_cli_runner().invoke(args=["users", *args], input=input)


def test_update_changes_role_station_and_phone(app, make_station, make_user, db):
    make_station("BJ-01")
    make_station("SH-01")
    make_user("alice")
    db.session.commit()

    result = users(app, "update", "alice", "--phone", "138 0013 8000")
    assert result.exit_code == 0, result.output
    assert "alice: agent, phone +8613800138000" in result.output
    result = users(app, "update", "alice", "--role", "station", "--station", "BJ-01")
    assert result.exit_code == 0, result.output
    result = users(app, "update", "alice", "--station", "SH-01")  # stays a station user
    assert "alice: station at SH-01" in result.output
    result = users(app, "update", "alice", "--role", "supervisor", "--phone", "")
    assert result.output.strip() == "alice: supervisor, no phone"
    db.session.expire_all()
    alice = db.session.scalar(sa.select(User).where(User.username == "alice"))
    assert (alice.role, alice.station, alice.phone) == ("supervisor", None, None)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nobody", "--role", "admin"], "unknown user 'nobody'"),
        (["alice"], "give at least one of"),
        (["alice", "--role", "station"], "needs --station"),
        (["alice", "--station", "BJ-01"], "only station users"),
        (["alice", "--role", "station", "--station", "NOPE"], "unknown station"),
        (["alice", "--phone", "not a number"], "neither a phone number"),
        (["alice", "--role", "king"], "Invalid value"),
    ],
)
def test_update_refuses_clearly_and_changes_nothing(
    app, make_station, make_user, db, args, message
):
    make_station("BJ-01")
    make_user("alice")
    db.session.commit()
    result = users(app, "update", *args)
    assert result.exit_code != 0 and message in result.output
    db.session.expire_all()
    alice = db.session.scalar(sa.select(User).where(User.username == "alice"))
    assert (alice.role, alice.station_id, alice.phone) == ("agent", None, None)


def test_deactivate_ends_sign_ins_and_tokens(app, client, login, make_user, api_token, db):
    user = make_user("alice")
    token = api_token(user)
    login(user)
    result = users(app, "deactivate", "alice")
    assert result.exit_code == 0, result.output
    assert "1 sign-ins ended, 1 API tokens revoked" in result.output
    assert client.get("/agent/").status_code == 302
    response = client.get("/api/v1/tickets", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert users(app, "deactivate", "nobody").exit_code != 0


def test_password_is_prompted_checked_and_ends_sign_ins(app, client, login, make_user, db):
    user = make_user("alice")
    login(user)
    refused = users(app, "password", "alice", input="alice\nalice\n")
    assert refused.exit_code != 0 and "at least 10" in refused.output
    result = users(app, "password", "alice", input="a new long secret\na new long secret\n")
    assert result.exit_code == 0, result.output
    assert "1 sign-ins ended" in result.output
    assert client.get("/agent/").status_code == 302
    db.session.expire_all()
    assert db.session.get(User, user.id).check_password("a new long secret")
    assert (
        client.post(
            "/login", data={"username": "alice", "password": "a new long secret"}
        ).status_code
        == 302
    )


def test_tokens_lists_id_created_last_used_expires(app, client, make_user, db):
    make_user("alice")
    db.session.commit()
    assert "alice has no API tokens" in users(app, "tokens", "alice").output
    issued = users(app, "token", "alice")
    assert issued.exit_code == 0
    assert "new API token 1 for alice, expires " in issued.output
    token = issued.output.strip().splitlines()[-1]
    users(app, "token", "alice")
    client.get("/api/v1/tickets", headers={"Authorization": f"Bearer {token}"})

    lines = users(app, "tokens", "alice").output.strip().splitlines()
    assert lines[0].split() == ["id", "created", "(UTC)", "last", "used", "expires", "state"]
    newest, oldest = lines[1].split(), lines[2].split()
    assert newest[0] == "2" and newest[3] == "-" and newest[-1] == "active"
    assert oldest[0] == "1" and oldest[3] != "-" and oldest[-1] == "active"
    created = datetime.strptime(" ".join(oldest[1:3]), "%Y-%m-%d %H:%M")
    expires = datetime.strptime(" ".join(oldest[5:7]), "%Y-%m-%d %H:%M")
    assert expires - created == timedelta(days=365)
    assert users(app, "tokens", "nobody").exit_code != 0


def test_revoke_one_token_or_all(app, client, make_user, api_token, db):
    alice, bob = make_user("alice"), make_user("bob")
    first, second, third = api_token(alice), api_token(alice), api_token(alice)
    bobs = api_token(bob)

    def status(token):
        headers = {"Authorization": f"Bearer {token}"}
        return client.get("/api/v1/tickets", headers=headers).status_code

    result = users(app, "revoke", "alice", "1")
    assert result.exit_code == 0 and "revoked API token 1 of alice" in result.output
    assert [status(t) for t in (first, second, third, bobs)] == [401, 200, 200, 200]
    assert "revoked" in users(app, "tokens", "alice").output

    assert "has no token 4" in users(app, "revoke", "alice", "4").output  # bob's
    assert "either a TOKEN_ID or --all" in users(app, "revoke", "alice").output
    assert "either a TOKEN_ID or --all" in users(app, "revoke", "alice", "2", "--all").output
    assert users(app, "revoke", "alice", "99999999999999999999").exit_code != 0

    result = users(app, "revoke", "alice", "--all")
    assert result.exit_code == 0 and "revoked 2 API tokens of alice" in result.output
    assert [status(t) for t in (first, second, third, bobs)] == [401, 401, 401, 200]
