"""Which Telegram updates the bot has handled, through the real bot and the Bot API stand-in:
update ids start again (a new token, Telegram after a week without updates, the sandbox after
a restart), so an old id never swallows a new update; a re-delivered update is still done
once; and the record is kept only as long as Telegram may re-deliver."""

import time
from datetime import datetime, timedelta

from sqlmodel import select

from bot.models import HandledUpdate
from bot.stand_in import BOT_USER
from core.clock import FixedClock
from tests.conftest import SHANGHAI
from tests.e2e.chat import Chat

MORNING = datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI)
# Two people: the same person typing the same first words within the same second to both
# stand-ins would make the very same update (content and id), which is a re-delivery by any
# measure; Telegram never numbers a chat's messages from 1 again.
SOMEONE, NEWCOMER = 5_300_001, 5_300_002


def handled(chat: Chat) -> list[tuple[int, int, datetime]]:
    with chat.database.reading() as session:
        rows = session.exec(select(HandledUpdate)).all()
        return sorted((row.bot_id, row.update_id, row.received_at) for row in rows)


def test_after_a_restart_numbering_updates_from_one_again_the_first_message_is_answered(
    empty_database,
):
    clock = FixedClock(MORNING)
    before = Chat(empty_database, clock)
    someone = before.person(user_id=SOMEONE)
    for text in ("/start", "hello", "/help", "/cancel"):
        assert someone.send(text)
    before.close()

    # The same database, a new stand-in: its update ids start from 1 again.
    after = Chat(empty_database, clock)
    newcomer = after.person(user_id=NEWCOMER)
    assert newcomer.send("/start"), "the first message after the restart got no reply"
    returning = after.person(user_id=SOMEONE)
    assert returning.send("/help")
    assert newcomer.send("hello")
    # Telegram handing the newest update over once more: it is still done once.
    assert after.redeliver(newcomer.last_update_id, newcomer) == []
    after.close()
    # Each record names the bot that received the update (its id from getMe).
    assert {bot_id for bot_id, _, _ in handled(after)} == {BOT_USER["id"]}


def test_handled_updates_are_forgotten_once_telegram_can_no_longer_re_deliver_them(
    empty_database,
):
    clock = FixedClock(MORNING)
    chat = Chat(empty_database, clock)
    try:
        person = chat.person()
        assert person.send("/start") and person.send("/help")
        assert len(handled(chat)) == 2
        # Three days on, as the bot runs: the old records go, today's stays, and today's
        # update, handed over again, is still done once.
        clock.advance(timedelta(days=3))
        assert person.send("hello")
        deadline = time.monotonic() + 10
        while len(handled(chat)) != 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [(update_id, at) for _, update_id, at in handled(chat)] == [
            (person.last_update_id, clock.now())
        ]
        assert chat.redeliver(person.last_update_id, person) == []
    finally:
        chat.close()
