"""elders: the number of the meal card now in use, so a reissued card replaces the old one

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05 17:40:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0019'
down_revision: str | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Every elder registered before meal cards holds card number 1, the first one printed.
    with op.batch_alter_table('elder') as batch:
        batch.add_column(
            sa.Column('card_number', sa.Integer(), nullable=False, server_default='1')
        )


def downgrade() -> None:
    with op.batch_alter_table('elder') as batch:
        batch.drop_column('card_number')
