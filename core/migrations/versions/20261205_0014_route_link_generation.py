"""route links: a generation per route, so its signed links can be revoked

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 16:40:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('delivery_route') as batch:
        batch.add_column(
            sa.Column('link_generation', sa.Integer(), nullable=False, server_default='0')
        )


def downgrade() -> None:
    with op.batch_alter_table('delivery_route') as batch:
        batch.drop_column('link_generation')
