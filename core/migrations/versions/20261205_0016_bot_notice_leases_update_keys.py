"""bot: notices claimed with a lease and marked sent after Telegram answered; handled updates
keyed by the bot's id and a digest of the update

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 18:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (sqlmodel.sql.sqltypes.AutoString)
from alembic import op

import core.types

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Notices written so far keep what they had: those sent stay sent, the rest are unclaimed.
    with op.batch_alter_table('chat_notification') as batch:
        batch.add_column(
            sa.Column('claimed_until', core.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch.add_column(
            sa.Column('send_started_at', core.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch.add_column(sa.Column('message_id', sa.BigInteger(), nullable=True))
    # Updates handled so far get bot 0 and no digest: they match no update again and are
    # forgotten with the rest after two days. The table is copied on both databases (its
    # primary key changes; it holds at most a few days of updates worth keeping).
    with op.batch_alter_table('bot_handled_update', recreate='always') as batch:
        batch.add_column(
            sa.Column(
                'bot_id', sa.BigInteger(), autoincrement=False, nullable=False, server_default='0'
            ),
            insert_before='update_id',
        )
        batch.add_column(
            sa.Column(
                'digest',
                sqlmodel.sql.sqltypes.AutoString(length=64),
                nullable=False,
                server_default='',
            ),
            insert_after='update_id',
        )
        batch.drop_constraint('pk_bot_handled_update', type_='primary')
        batch.create_primary_key('pk_bot_handled_update', ['bot_id', 'update_id'])


def downgrade() -> None:
    # Only one bot's updates can stay under the old key: those of the bot seen last.
    op.execute(
        'DELETE FROM bot_handled_update WHERE bot_id <> '
        '(SELECT bot_id FROM bot_handled_update ORDER BY received_at DESC LIMIT 1)'
    )
    with op.batch_alter_table('bot_handled_update', recreate='always') as batch:
        batch.drop_constraint('pk_bot_handled_update', type_='primary')
        batch.create_primary_key('pk_bot_handled_update', ['update_id'])
        batch.drop_column('digest')
        batch.drop_column('bot_id')
    with op.batch_alter_table('chat_notification') as batch:
        batch.drop_column('message_id')
        batch.drop_column('send_started_at')
        batch.drop_column('claimed_until')
