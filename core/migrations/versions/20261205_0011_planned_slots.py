"""planned slots: a kitchen's meal planned once after its cutoff

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 10:40:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.types

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'planned_slot',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kitchen_id', sa.Integer(), nullable=False),
        sa.Column('service_date', sa.Date(), nullable=False),
        sa.Column('slot', sa.String(length=16), nullable=False),
        sa.Column('planned_at', core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('stops', sa.Integer(), nullable=False),
        sa.Column('riders', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['kitchen_id'], ['site.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('kitchen_id', 'service_date', 'slot'),
    )
    op.create_index('ix_planned_slot_service_date', 'planned_slot', ['service_date'])


def downgrade() -> None:
    op.drop_index('ix_planned_slot_service_date', table_name='planned_slot')
    op.drop_table('planned_slot')
