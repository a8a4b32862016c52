"""seed the 18 default service regions

Revision ID: 78784967d594
Revises: 5ce7f50da598
Create Date: 2026-11-22 12:00:00.000000

Self-contained on purpose: it reads servicedesk/data/regions.csv with the csv module and does
not import the application, so that later changes to the models cannot break it. Regions and
places that already exist (loaded with `servicedesk import regions` before this migration ran)
are left as they are.
"""
import csv
from pathlib import Path

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '78784967d594'
down_revision = '5ce7f50da598'
branch_labels = None
depends_on = None

REGIONS_CSV = Path(__file__).resolve().parents[2] / "servicedesk" / "data" / "regions.csv"

regions = sa.table(
    "regions",
    sa.column("code", sa.String),
    sa.column("name_zh", sa.String),
    sa.column("name_en", sa.String),
)
region_places = sa.table(
    "region_places",
    sa.column("name", sa.String),
    sa.column("region_code", sa.String),
    sa.column("position", sa.Integer),
)


def _read_regions():
    with REGIONS_CSV.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [
        {
            "code": row["code"].strip(),
            "name_zh": row["name_zh"].strip(),
            "name_en": row["name_en"].strip(),
            "places": [place.strip() for place in row["provinces"].split(";") if place.strip()],
        }
        for row in rows
    ]


def upgrade():
    connection = op.get_bind()
    existing_regions = set(connection.execute(sa.select(regions.c.code)).scalars())
    existing_places = set(connection.execute(sa.select(region_places.c.name)).scalars())
    seeded = _read_regions()
    op.bulk_insert(
        regions,
        [
            {"code": row["code"], "name_zh": row["name_zh"], "name_en": row["name_en"]}
            for row in seeded
            if row["code"] not in existing_regions
        ],
    )
    op.bulk_insert(
        region_places,
        [
            {"name": place, "region_code": row["code"], "position": position}
            for row in seeded
            for position, place in enumerate(row["places"])
            if place not in existing_places
        ],
    )


def downgrade():
    codes = [row["code"] for row in _read_regions()]
    op.execute(region_places.delete().where(region_places.c.region_code.in_(codes)))
    op.execute(regions.delete().where(regions.c.code.in_(codes)))
