"""community workers: a worker covers several communities (community_worker_community)

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-05 20:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "community_worker_community",
        sa.Column("worker_id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["worker_id"],
            ["community_worker.id"],
            name=op.f("fk_community_worker_community_worker_id_community_worker"),
        ),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["community.id"],
            name=op.f("fk_community_worker_community_community_id_community"),
        ),
        sa.PrimaryKeyConstraint(
            "worker_id", "community_id", name=op.f("pk_community_worker_community")
        ),
    )
    op.create_index(
        op.f("ix_community_worker_community_community_id"),
        "community_worker_community",
        ["community_id"],
    )
    # The workers there are keep the one community they had.
    op.execute(
        "INSERT INTO community_worker_community (worker_id, community_id) "
        "SELECT id, community_id FROM community_worker"
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_community_worker_community_community_id"),
        table_name="community_worker_community",
    )
    op.drop_table("community_worker_community")
