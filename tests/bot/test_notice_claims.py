"""The chat outbox as bot processes share it (both databases): a notice is claimed for a while,
marked sent only once Telegram has answered, and taken up again when its claim runs out; one
whose send may have reached the chat goes out again saying so; processes claiming at once
never take the same notice."""

import threading
from datetime import datetime, timedelta

from sqlmodel import col, select

from bot import notices, texts
from core import i18n
from core.clock import FixedClock
from core.elders import chat_user_for
from core.models import ChatNotification
from core.notifications import notify
from core.settings import get_settings
from tests.conftest import SHANGHAI
from tests.factories import Factory

SETTINGS = get_settings().model_copy(update={"notice_lease_seconds": 60})
LEASE = timedelta(seconds=60)


def queue(database, clock: FixedClock, count: int) -> list[int]:
    """`count` notices for one English-speaking chat, in the order they were queued."""
    with database.transaction() as session:
        elder = Factory(session, clock).elder(name="Wang")
        user = chat_user_for(
            session=session, telegram_user_id=8_100_001, name="Li", language="en", clock=clock
        )
        for index in range(count):
            notify(
                session,
                chat_user_id=user.id,
                kind="welfare_handled",
                key=f"handled:{index}",
                at=clock.now(),
                elder_id=elder.id,
                by=f"helper {index}",
                how="reached",
            )
    with database.reading() as session:
        return list(session.exec(select(ChatNotification.id).order_by(col(ChatNotification.id))))


def stored(database, notice_id: int) -> ChatNotification:
    with database.reading() as session:
        return session.get_one(ChatNotification, notice_id)


def test_a_claim_holds_until_it_runs_out_and_a_send_in_flight_goes_again_marked(
    empty_database,
):
    clock = FixedClock(datetime(2026, 11, 25, 11, 40, tzinfo=SHANGHAI))
    first, second = queue(empty_database, clock, 2)
    claimed = notices.claim_due(empty_database, clock, SETTINGS)
    assert [n.notice_id for n in claimed] == [first, second]
    # While the claim holds, no other process takes them.
    assert notices.claim_due(empty_database, clock, SETTINGS) == []
    # The first was being sent when its process died; the second was never tried.
    notices.record_progress(empty_database, clock, sending=first)
    clock.advance(LEASE - timedelta(seconds=1))
    assert notices.claim_due(empty_database, clock, SETTINGS) == []
    clock.advance(timedelta(seconds=1))
    again = notices.claim_due(empty_database, clock, SETTINGS)
    assert [(n.notice_id, n.again) for n in again] == [(first, True), (second, False)]
    marker = i18n.gettext(texts.SENT_AGAIN, "en")
    assert again[0].text.startswith(marker) and "helper 0" in again[0].text
    assert marker not in again[1].text
    assert stored(empty_database, first).sent_at is None


def test_a_notice_is_sent_when_telegram_answered_with_its_message_id_and_never_again(
    empty_database,
):
    clock = FixedClock(datetime(2026, 11, 25, 11, 40, tzinfo=SHANGHAI))
    [notice] = queue(empty_database, clock, 1)
    notices.claim_due(empty_database, clock, SETTINGS)
    notices.record_progress(empty_database, clock, sending=notice)
    assert stored(empty_database, notice).sent_at is None
    notices.record_progress(empty_database, clock, sent=(notice, 4711))
    sent = stored(empty_database, notice)
    assert (sent.sent_at, sent.message_id, sent.claimed_until) == (clock.now(), 4711, None)
    clock.advance(LEASE * 2)
    assert notices.claim_due(empty_database, clock, SETTINGS) == []


def test_a_refused_send_goes_again_as_new_and_one_that_timed_out_as_sent_again(
    empty_database,
):
    clock = FixedClock(datetime(2026, 11, 25, 11, 40, tzinfo=SHANGHAI))
    refused, timed_out = queue(empty_database, clock, 2)
    notices.claim_due(empty_database, clock, SETTINGS)
    for notice_id, perhaps_sent in ((refused, False), (timed_out, True)):
        notices.record_progress(empty_database, clock, sending=notice_id)
        notices.put_back(empty_database, notice_id, perhaps_sent=perhaps_sent)
    # Free at once, without waiting for the claim to run out.
    again = notices.claim_due(empty_database, clock, SETTINGS)
    assert [(n.notice_id, n.again) for n in again] == [(refused, False), (timed_out, True)]
    assert stored(empty_database, refused).attempts == 2


def test_a_batch_out_of_time_gives_back_what_it_never_tried_uncounted(empty_database):
    clock = FixedClock(datetime(2026, 11, 25, 11, 40, tzinfo=SHANGHAI))
    ids = queue(empty_database, clock, 3)
    notices.claim_due(empty_database, clock, SETTINGS)
    notices.release(empty_database, ids[1:])
    assert [n.notice_id for n in notices.claim_due(empty_database, clock, SETTINGS)] == ids[1:]
    assert [stored(empty_database, i).attempts for i in ids] == [1, 1, 1]


def test_processes_claiming_at_once_never_take_the_same_notice(empty_database):
    clock = FixedClock(datetime(2026, 11, 25, 11, 40, tzinfo=SHANGHAI))
    ids = queue(empty_database, clock, notices.BATCH * 3)
    start = threading.Barrier(4)
    taken: list[list[int]] = []

    def claim() -> None:
        start.wait()
        batch = notices.claim_due(empty_database, clock, SETTINGS)
        taken.append([n.notice_id for n in batch])

    threads = [threading.Thread(target=claim) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    everything = [notice_id for batch in taken for notice_id in batch]
    assert len(taken) == 4 and sorted(everything) == ids
    assert sorted(len(batch) for batch in taken) == [0, 50, 50, 50]
