"""The migration that seeds the 18 shipped regions agrees with ``servicedesk import regions``."""

from __future__ import annotations

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from servicedesk import create_app
from servicedesk.core.db import db
from servicedesk.imports.services import import_default_regions
from servicedesk.stations.models import Region, RegionPlace

SCHEMA = "region_seed_check"
INITIAL_REVISION = "5ce7f50da598"


def _empty_database_url(database_url: str, tmp_path) -> str:
    if database_url.startswith("postgresql"):
        engine = sa.create_engine(database_url)
        with engine.begin() as connection:
            connection.execute(sa.text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
            connection.execute(sa.text(f"CREATE SCHEMA {SCHEMA}"))
        engine.dispose()
        separator = "&" if "?" in database_url else "?"
        return f"{database_url}{separator}options=-csearch_path%3D{SCHEMA}"
    return f"sqlite:///{tmp_path / 'seeded.db'}"


def _region_counts() -> tuple[int, int]:
    return (
        db.session.scalar(sa.select(sa.func.count()).select_from(Region)),
        db.session.scalar(sa.select(sa.func.count()).select_from(RegionPlace)),
    )


def test_the_seed_migration_loads_the_shipped_regions_and_its_downgrade_removes_them(
    database_url, tmp_path
):
    url = _empty_database_url(database_url, tmp_path)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "SECRET_KEY": "x"})
    with app.app_context():
        try:
            upgrade()
            assert _region_counts() == (18, 32)
            assert db.session.get(RegionPlace, "深圳").region_code == "shengui"
            assert db.session.get(Region, "jingjinji").provinces == ["北京", "天津", "河北"]
            report = import_default_regions()
            assert (report.added, report.updated, report.unchanged) == (0, 0, 18)
            db.session.rollback()

            downgrade(revision=INITIAL_REVISION)
            assert _region_counts() == (0, 0)
            db.session.remove()
        finally:
            db.session.remove()
            db.engine.dispose()
        if url.startswith("postgresql"):
            engine = sa.create_engine(database_url)
            with engine.begin() as connection:
                connection.execute(sa.text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
            engine.dispose()
