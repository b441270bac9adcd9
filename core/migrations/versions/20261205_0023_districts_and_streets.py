"""districts and streets as records with ids; each community names its street and district by id

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-05 19:10:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0023'
down_revision: str | None = '0022'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'district',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('city', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_district')),
        sa.UniqueConstraint('city', 'name', name=op.f('uq_district_city_name')),
    )
    op.create_table(
        'street',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('district_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ['district_id'], ['district.id'], name=op.f('fk_street_district_id_district')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_street')),
        sa.UniqueConstraint('district_id', 'name', name=op.f('uq_street_district_id_name')),
    )
    op.create_index(op.f('ix_street_district_id'), 'street', ['district_id'], unique=False)
    with op.batch_alter_table('community') as batch:
        batch.add_column(sa.Column('street_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('district_id', sa.Integer(), nullable=True))
    # The communities there are: their districts and streets as they were written (a district
    # by its city and name, a street by its district and name).
    op.execute(
        'INSERT INTO district (city, name) SELECT DISTINCT city, district FROM community'
    )
    op.execute(
        'INSERT INTO street (district_id, name) SELECT DISTINCT d.id, c.street '
        'FROM community c JOIN district d ON d.city = c.city AND d.name = c.district'
    )
    op.execute(
        'UPDATE community SET district_id = (SELECT d.id FROM district d '
        'WHERE d.city = community.city AND d.name = community.district)'
    )
    op.execute(
        'UPDATE community SET street_id = (SELECT s.id FROM street s '
        'WHERE s.district_id = community.district_id AND s.name = community.street)'
    )
    with op.batch_alter_table('community') as batch:
        batch.alter_column('street_id', existing_type=sa.Integer(), nullable=False)
        batch.alter_column('district_id', existing_type=sa.Integer(), nullable=False)
        batch.create_index(batch.f('ix_community_street_id'), ['street_id'], unique=False)
        batch.create_index(batch.f('ix_community_district_id'), ['district_id'], unique=False)
        batch.create_foreign_key(
            batch.f('fk_community_street_id_street'), 'street', ['street_id'], ['id']
        )
        batch.create_foreign_key(
            batch.f('fk_community_district_id_district'), 'district', ['district_id'], ['id']
        )


def downgrade() -> None:
    with op.batch_alter_table('community') as batch:
        batch.drop_constraint('fk_community_district_id_district', type_='foreignkey')
        batch.drop_constraint('fk_community_street_id_street', type_='foreignkey')
        batch.drop_index('ix_community_district_id')
        batch.drop_index('ix_community_street_id')
        batch.drop_column('district_id')
        batch.drop_column('street_id')
    op.drop_index(op.f('ix_street_district_id'), table_name='street')
    op.drop_table('street')
    op.drop_table('district')
