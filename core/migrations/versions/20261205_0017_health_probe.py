"""health probe: one row /healthz writes, so a database that cannot be written is seen

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05 16:40:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.types

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'health_probe',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('written_at', core.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_health_probe')),
    )


def downgrade() -> None:
    op.drop_table('health_probe')
