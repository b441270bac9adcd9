"""Migration 0016 on a database holding rows (SQLite and PostgreSQL): notices already sent stay
sent and unsent ones become claimable; handled updates keep their ids under bot 0, where they
match no new update; and the bot's key works at once."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from alembic import command
from sqlmodel import col, select

from bot.models import HandledUpdate
from core.db import Database, alembic_config
from core.models import ChatNotification
from tests.conftest import BACKENDS, _on_server, _url_of

AT = datetime(2026, 11, 25, 0, 0, tzinfo=UTC)


@pytest.fixture(params=BACKENDS)
def unmigrated(request, tmp_path):
    if request.param == "sqlite":
        database = Database.from_url(f"sqlite:///{tmp_path / 'old.db'}")
        yield database
        database.dispose()
        return
    name = f"mealaid_migration_{uuid.uuid4().hex[:12]}"
    _on_server(f'CREATE DATABASE "{name}"')
    database = Database.from_url(_url_of(name))
    yield database
    database.dispose()
    _on_server(f'DROP DATABASE "{name}" WITH (FORCE)')


def test_the_bot_tables_migrate_with_their_rows(unmigrated):
    unmigrated.migrate("0015")
    with unmigrated.engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO chat_user (id, telegram_user_id, name, language, created_at) "
                "VALUES (1, 42, 'x', 'zh_CN', :at)"
            ),
            {"at": AT},
        )
        for key, sent in (("a", AT), ("b", None)):
            connection.execute(
                sa.text(
                    "INSERT INTO chat_notification "
                    "(chat_user_id, kind, params, key, created_at, sent_at, attempts) "
                    "VALUES (1, 'eta', '{}', :key, :at, :sent, 1)"
                ),
                {"key": key, "at": AT, "sent": sent},
            )
        for update_id in (1, 2):
            connection.execute(
                sa.text(
                    "INSERT INTO bot_handled_update (update_id, received_at) VALUES (:id, :at)"
                ),
                {"id": update_id, "at": AT},
            )

    unmigrated.migrate()

    with unmigrated.transaction() as session:
        notices = session.exec(select(ChatNotification).order_by(col(ChatNotification.id))).all()
        assert [(n.key, n.sent_at, n.claimed_until, n.message_id) for n in notices] == [
            ("a", AT, None, None),
            ("b", None, None, None),
        ]
        updates = session.exec(select(HandledUpdate).order_by(col(HandledUpdate.update_id))).all()
        assert [(u.bot_id, u.update_id, u.digest) for u in updates] == [(0, 1, ""), (0, 2, "")]
        # The same update id from a bot with an id is another update.
        later = AT + timedelta(hours=1)
        session.add(HandledUpdate(bot_id=7_000_000_001, update_id=1, digest="d", received_at=later))
        session.flush()
        with pytest.raises(sa.exc.IntegrityError), session.begin_nested():
            session.execute(
                sa.insert(HandledUpdate).values(bot_id=0, update_id=2, digest="e", received_at=AT)
            )

    # And back: the updates of the bot seen last stay.
    with unmigrated.engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0015")
    with unmigrated.reading() as session:
        kept = session.execute(sa.text("SELECT update_id FROM bot_handled_update")).all()
        assert [row[0] for row in kept] == [1]
