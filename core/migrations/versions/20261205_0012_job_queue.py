"""job queue: procrastinate's schema for `mealaid worker` (PostgreSQL only)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 11:00:00
"""
from collections.abc import Sequence

from alembic import op

from core import queue_schema

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name == "postgresql":
        queue_schema.create(connection)


def downgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name == "postgresql":
        queue_schema.drop(connection)
