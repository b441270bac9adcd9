"""staff chat codes: one-time codes that link a rider's or a community worker's own chat

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-05 17:45:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.types

revision: str = '0020'
down_revision: str | None = '0019'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'staff_chat_code',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('rider_id', sa.Integer(), nullable=True),
        sa.Column('worker_id', sa.Integer(), nullable=True),
        sa.Column('code_hash', sa.String(length=64), nullable=False),
        sa.Column('issued_by', sa.String(length=64), nullable=False),
        sa.Column('issued_at', core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('expires_at', core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('used_at', core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('used_by_chat_user_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ['rider_id'], ['rider.id'], name=op.f('fk_staff_chat_code_rider_id_rider')
        ),
        sa.ForeignKeyConstraint(
            ['worker_id'],
            ['community_worker.id'],
            name=op.f('fk_staff_chat_code_worker_id_community_worker'),
        ),
        sa.ForeignKeyConstraint(
            ['used_by_chat_user_id'],
            ['chat_user.id'],
            name=op.f('fk_staff_chat_code_used_by_chat_user_id_chat_user'),
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_chat_code')),
        sa.UniqueConstraint('code_hash', name=op.f('uq_staff_chat_code_code_hash')),
    )


def downgrade() -> None:
    op.drop_table('staff_chat_code')
