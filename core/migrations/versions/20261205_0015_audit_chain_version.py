"""audit log: how each entry's hash was made (1: SHA-256, the entries written until now; 2: keyed)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 18:10:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Added in place (both databases can): the rows are not rewritten, so the append-only
    # triggers stay as they are and every entry written so far keeps its hash, checked the
    # old way; entries from now on are keyed (core.audit).
    op.add_column(
        'audit_entry',
        sa.Column('chain_version', sa.Integer(), nullable=False, server_default='1'),
    )


def downgrade() -> None:
    # Not through a batch copy of the table on SQLite: that would drop its triggers.
    op.execute('ALTER TABLE audit_entry DROP COLUMN chain_version')
