"""standing orders the cutoff refused, kept for staff (standing_order_refusal)

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-06 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from core.types import UTCDateTime

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "standing_order_refusal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("standing_order_id", sa.Integer(), nullable=False),
        sa.Column("service_date", sa.Date(), nullable=False),
        sa.Column("slot", sa.String(length=16), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("elder_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=48), nullable=False),
        sa.Column("message", sa.String(length=300), nullable=False),
        sa.Column("values", sa.JSON(), nullable=False),
        sa.Column("refused_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["standing_order_id"],
            ["standing_order.id"],
            name=op.f("fk_standing_order_refusal_standing_order_id_standing_order"),
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["site.id"], name=op.f("fk_standing_order_refusal_site_id_site")
        ),
        sa.ForeignKeyConstraint(
            ["elder_id"], ["elder.id"], name=op.f("fk_standing_order_refusal_elder_id_elder")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_standing_order_refusal")),
        sa.UniqueConstraint(
            "standing_order_id",
            "service_date",
            "slot",
            name=op.f("uq_standing_order_refusal_standing_order_id_service_date_slot"),
        ),
    )
    op.create_index(
        "ix_standing_order_refusal_day_site",
        "standing_order_refusal",
        ["service_date", "site_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_standing_order_refusal_day_site", table_name="standing_order_refusal")
    op.drop_table("standing_order_refusal")
