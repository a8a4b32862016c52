"""The migrations build the schema the models describe, from an empty database."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade

from servicedesk import create_app
from servicedesk.core.db import db

SCHEMA = "migration_check"


def _empty_database_url(database_url: str, tmp_path) -> str:
    if database_url.startswith("postgresql"):
        engine = sa.create_engine(database_url)
        with engine.begin() as connection:
            connection.execute(sa.text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
            connection.execute(sa.text(f"CREATE SCHEMA {SCHEMA}"))
        engine.dispose()
        separator = "&" if "?" in database_url else "?"
        return f"{database_url}{separator}options=-csearch_path%3D{SCHEMA}"
    return f"sqlite:///{tmp_path / 'migrated.db'}"


def test_upgrade_from_empty_matches_models(database_url, tmp_path):
    url = _empty_database_url(database_url, tmp_path)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "SECRET_KEY": "x"})
    with app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            diff = compare_metadata(context, db.metadata)
            tables = set(sa.inspect(connection).get_table_names())
        db.engine.dispose()
    assert diff == []
    assert {"customers", "assets", "entitlements", "tickets", "ticket_events", "calls"} <= tables
