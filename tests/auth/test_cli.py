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
        (["x", "--role", "agent", "--password", "short"], "at least 8"),
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
