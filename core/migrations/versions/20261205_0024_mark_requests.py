"""mark requests: the counter's marks by the key their page gave them, so that a mark sent
again after the connection dropped counts once

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-05 19:40:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.types

revision: str = '0024'
down_revision: str | None = '0023'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'mark_request',
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('actor', sa.String(length=80), nullable=False),
        sa.Column('action', sa.String(length=16), nullable=False),
        sa.Column('order_id', sa.Integer(), nullable=True),
        sa.Column('result', sa.String(length=32), nullable=False),
        sa.Column('at', core.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['order_id'], ['meal_order.id'], name=op.f('fk_mark_request_order_id_meal_order')
        ),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_mark_request')),
    )


def downgrade() -> None:
    op.drop_table('mark_request')
