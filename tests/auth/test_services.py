import sqlalchemy as sa

from servicedesk.auth.services import issue_token, revoke_tokens, user_for_token


def test_a_token_is_looked_up_in_one_statement(db, make_user):
    user = make_user()
    token = issue_token(user)
    db.session.commit()
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
