"""staff sessions: when each was last seen, for the idle timeout

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05 17:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.types

revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('staff_session') as batch:
        batch.add_column(
            sa.Column('last_seen_at', core.types.UTCDateTime(timezone=True), nullable=True)
        )
    # A session open before the idle timeout existed counts as last seen when it began.
    op.execute('UPDATE staff_session SET last_seen_at = created_at')
    with op.batch_alter_table('staff_session') as batch:
        batch.alter_column(
            'last_seen_at', existing_type=core.types.UTCDateTime(timezone=True), nullable=False
        )


def downgrade() -> None:
    with op.batch_alter_table('staff_session') as batch:
        batch.drop_column('last_seen_at')
