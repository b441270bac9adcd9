"""When a simulated person's press is over: the Bot API stand-in waits for the bot to be done
with the update (its handler returned, as the sandbox's bot reports), not for a reply that may
never come, yet keeps every message the handler sends however late in its run, waits for a
re-delivered update to be handled again, and takes in the outbox when the press drew no reply.
The stand-in alone, the bot played by the test on the same event loop; then the real bot."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from bot.stand_in import SimulatedUser, StandIn
from core.clock import FixedClock
from tests.conftest import SHANGHAI
from tests.e2e.chat import WAIT, Chat

LONG = 60.0  # a wait's upper bound that no test here may reach
SETTLE = 0.01


def run(scenario: Callable[[StandIn, SimulatedUser], Awaitable[Any]]) -> Any:
    async def go() -> Any:
        stand_in = StandIn()
        stand_in.reports_handled = True
        person = stand_in.add_user(SimulatedUser(5_400_001, "测试"))
        return await scenario(stand_in, person)

    return asyncio.run(go())


async def press(stand_in: StandIn, person: SimulatedUser, text: str = "🍱 订餐"):
    """Send a message and start waiting for the bot, as the control API does; the update as
    the bot takes it."""
    since = time.monotonic()
    update_id = await stand_in.send_text(person, text)
    waiting = asyncio.create_task(
        stand_in.wait_for_reply(person.id, since, LONG, SETTLE, update_id)
    )
    [update] = await stand_in.api_getupdates({"offset": 0, "timeout": 0})
    return update["update_id"], waiting


async def still_waiting(waiting: asyncio.Task) -> bool:
    """Whether the wait is still on after the chat has been quiet for many times `settle`."""
    await asyncio.sleep(SETTLE * 10)
    return not waiting.done()


async def bot_says(stand_in: StandIn, person: SimulatedUser, text: str) -> None:
    await stand_in.api_sendmessage({"chat_id": person.id, "text": text})


def texts(replies: list[dict]) -> list[str]:
    return [reply["text"] for reply in replies]


def test_a_press_the_bot_answers_with_nothing_is_over_once_the_bot_has_handled_it():
    async def scenario(stand_in: StandIn, person: SimulatedUser):
        update_id, waiting = await press(stand_in, person)
        assert await still_waiting(waiting)
        await stand_in.update_handled(update_id)
        # Long before the upper bound (60 s): as soon as the chat has been quiet for `settle`.
        return await asyncio.wait_for(waiting, LONG / 4)

    assert run(scenario) == []


def test_a_message_sent_late_in_the_handler_is_kept_however_quiet_the_chat_was_before():
    async def scenario(stand_in: StandIn, person: SimulatedUser):
        update_id, waiting = await press(stand_in, person)
        await bot_says(stand_in, person, "first")
        # A reply and then quiet is not the end while the handler still runs (a double tap
        # acted on twice answers twice, the second time after a database step).
        assert await still_waiting(waiting)
        await bot_says(stand_in, person, "second")
        await stand_in.update_handled(update_id)
        return await asyncio.wait_for(waiting, LONG / 4)

    assert texts(run(scenario)) == ["first", "second"]


def test_a_re_delivered_update_is_over_when_it_is_handled_again_not_at_its_first_handling():
    async def scenario(stand_in: StandIn, person: SimulatedUser):
        update_id, waiting = await press(stand_in, person)
        await bot_says(stand_in, person, "menu")
        await stand_in.update_handled(update_id)
        assert texts(await asyncio.wait_for(waiting, LONG / 4)) == ["menu"]

        since = time.monotonic()
        await stand_in.redeliver(update_id)
        again = asyncio.create_task(
            stand_in.wait_for_reply(person.id, since, LONG, SETTLE, update_id)
        )
        assert await still_waiting(again)  # the first handling does not count for this one
        handed = await stand_in.api_getupdates({"offset": update_id + 1})  # past the first
        assert [u["update_id"] for u in handed] == [update_id]
        await bot_says(stand_in, person, "menu, again")  # a bot that acts twice is seen
        await stand_in.update_handled(update_id)
        return await asyncio.wait_for(again, LONG / 4)

    assert texts(run(scenario)) == ["menu, again"]


def test_a_press_with_no_reply_takes_in_a_round_of_the_outbox_begun_after_it_was_handled():
    async def scenario(stand_in: StandIn, person: SimulatedUser):
        stand_in.reports_notices = True
        update_id, waiting = await press(stand_in, person)
        began_before = time.monotonic()
        await stand_in.update_handled(update_id)
        # A round that began before the step was done may have missed what the step queued.
        await stand_in.notices_sent(began_before)
        assert await still_waiting(waiting)
        began = time.monotonic()
        await bot_says(stand_in, person, "a notice the step queued")
        await stand_in.notices_sent(began)
        return await asyncio.wait_for(waiting, LONG / 4)

    assert texts(run(scenario)) == ["a notice the step queued"]


def test_the_timeout_still_bounds_a_wait_for_an_update_never_handled():
    async def scenario(stand_in: StandIn, person: SimulatedUser):
        since = time.monotonic()
        update_id = await stand_in.send_text(person, "hello")
        return await stand_in.wait_for_reply(person.id, since, 0.2, SETTLE, update_id)

    assert run(scenario) == []


def test_without_reports_from_the_bot_the_first_reply_then_quiet_is_the_end():
    async def scenario(stand_in: StandIn, person: SimulatedUser):
        stand_in.reports_handled = False  # a bot elsewhere (another process)
        _, waiting = await press(stand_in, person)
        assert await still_waiting(waiting)
        await bot_says(stand_in, person, "hello")
        return await asyncio.wait_for(waiting, LONG / 4)

    assert texts(run(scenario)) == ["hello"]


def test_the_sandboxs_bot_reports_an_update_it_ignores_as_handled_and_the_outbox_round_after_it(
    empty_database,
):
    chat = Chat(empty_database, FixedClock(datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI)))
    try:
        person = chat.person()
        person.send("/start")
        update_id = person.last_update_id
        stand_in = chat.sandbox.sandbox.stand_in
        began = time.monotonic()
        # Handed over again, the update is done once: the bot says nothing. The wait is over
        # when the bot has handled it a second time and an outbox round begun after that has
        # ended, long before the upper bound.
        assert chat.redeliver(update_id, person) == []
        assert time.monotonic() - began < WAIT["wait"] / 2
        counts = chat.client.get(f"/sandbox/updates/{update_id}").json()
        assert (counts["taken"], counts["handled"]) == (2, 2)
        assert stand_in.notices_round_began > stand_in.handled_at[update_id]
    finally:
        chat.close()
