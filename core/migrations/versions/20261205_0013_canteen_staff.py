"""canteen staff: the sites whose counter each keeps

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 15:15:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'staff_site',
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('site_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ['account_id'], ['staff_account.id'], name=op.f('fk_staff_site_account_id_staff_account')
        ),
        sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_staff_site_site_id_site')),
        sa.PrimaryKeyConstraint('account_id', 'site_id', name=op.f('pk_staff_site')),
    )


def downgrade() -> None:
    op.drop_table('staff_site')
