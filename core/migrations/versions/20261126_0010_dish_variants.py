"""dish variants

Revision ID: 0010
Revises: 0008
Create Date: 2026-11-26 00:40:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The variants a dish is cooked in (texture and diet), offered when it is put on a menu.
    with op.batch_alter_table('dish', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('variants', sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )


def downgrade() -> None:
    with op.batch_alter_table('dish', schema=None) as batch_op:
        batch_op.drop_column('variants')
