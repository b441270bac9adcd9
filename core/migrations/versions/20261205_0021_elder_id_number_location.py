"""elders: the ID card number as a keyed hash and its last four digits, a location marked
approximate (placed at the community's centre), and the geocoder's answers kept

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-05 19:05:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.types

revision: str = '0021'
down_revision: str | None = '0020'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('elder') as batch:
        batch.add_column(sa.Column('id_number_hash', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('id_number_tail', sa.String(length=4), nullable=True))
        batch.add_column(
            sa.Column(
                'location_approximate', sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
        batch.create_unique_constraint('uq_elder_id_number_hash', ['id_number_hash'])
    op.create_table(
        'geocode_cache',
        sa.Column('query_hash', sa.String(length=64), nullable=False),
        sa.Column('provider', sa.String(length=32), nullable=False),
        sa.Column('found', sa.Boolean(), nullable=False),
        sa.Column('lat', sa.Float(), nullable=True),
        sa.Column('lon', sa.Float(), nullable=True),
        sa.Column('looked_up_at', core.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('query_hash', name=op.f('pk_geocode_cache')),
    )


def downgrade() -> None:
    op.drop_table('geocode_cache')
    with op.batch_alter_table('elder') as batch:
        batch.drop_constraint('uq_elder_id_number_hash', type_='unique')
        batch.drop_column('location_approximate')
        batch.drop_column('id_number_tail')
        batch.drop_column('id_number_hash')
