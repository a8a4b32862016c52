"""The revocable-access migration gives tokens issued before it an expiry: 365 days after
they were made."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from servicedesk import create_app
from servicedesk.core.db import db
from tests.test_migrations import _empty_database_url

BEFORE = "0c6517b40b4b"
REVISION = "b7e1c2d9a4f3"


def test_existing_tokens_get_an_expiry_and_the_migration_goes_down(database_url, tmp_path):
    url = _empty_database_url(database_url, tmp_path)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "SECRET_KEY": "x"})
    with app.app_context():
        upgrade(revision=BEFORE)
        with db.engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO users (id, username, display_name, password_hash, role, active,"
                    " created_at) VALUES (1, 'alice', 'Alice', 'x', 'agent', true, :at)"
                ),
                {"at": datetime(2026, 1, 1)},
            )
            connection.execute(
                sa.text(
                    "INSERT INTO api_tokens (user_id, token_hash, created_at) VALUES (1, 'h', :at)"
                ),
                {"at": datetime(2026, 1, 1, 8, 30)},
            )
        upgrade(revision=REVISION)
        with db.engine.connect() as connection:
            expires = connection.execute(sa.text("SELECT expires_at FROM api_tokens")).scalar()
        assert str(expires).startswith("2027-01-01 08:30")
        downgrade(revision=BEFORE)
        with db.engine.connect() as connection:
            tables = set(sa.inspect(connection).get_table_names())
            columns = {c["name"] for c in sa.inspect(connection).get_columns("api_tokens")}
        db.engine.dispose()
    assert "login_sessions" not in tables and "login_failures" not in tables
    assert "expires_at" not in columns
