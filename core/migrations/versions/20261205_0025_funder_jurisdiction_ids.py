"""funders: a district or street layer names its jurisdiction by id (district_id, street_id)

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-05 19:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("funder") as batch:
        batch.add_column(sa.Column("district_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("street_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            batch.f("fk_funder_district_id_district"), "district", ["district_id"], ["id"]
        )
        batch.create_foreign_key(
            batch.f("fk_funder_street_id_street"), "street", ["street_id"], ["id"]
        )
    # The funders there are: their district by city and name; a street by its name inside the
    # funder's district, else inside its city when only one street of the city has that name.
    # A street that stays unknown keeps matching by name until someone chooses it by id.
    op.execute(
        "UPDATE funder SET district_id = (SELECT d.id FROM district d "
        "WHERE d.city = funder.city AND d.name = funder.district) "
        "WHERE funder.district IS NOT NULL"
    )
    op.execute(
        "UPDATE funder SET street_id = (SELECT s.id FROM street s "
        "WHERE s.district_id = funder.district_id AND s.name = funder.street) "
        "WHERE funder.street IS NOT NULL AND funder.district_id IS NOT NULL"
    )
    op.execute(
        "UPDATE funder SET street_id = (SELECT MIN(s.id) FROM street s "
        "JOIN district d ON d.id = s.district_id "
        "WHERE d.city = funder.city AND s.name = funder.street "
        "HAVING COUNT(*) = 1) "
        "WHERE funder.street IS NOT NULL AND funder.street_id IS NULL"
    )
    op.execute(
        "UPDATE funder SET district_id = (SELECT s.district_id FROM street s "
        "WHERE s.id = funder.street_id) "
        "WHERE funder.street_id IS NOT NULL AND funder.district_id IS NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("funder") as batch:
        batch.drop_constraint("fk_funder_street_id_street", type_="foreignkey")
        batch.drop_constraint("fk_funder_district_id_district", type_="foreignkey")
        batch.drop_column("street_id")
        batch.drop_column("district_id")
