"""`mealaid bot` as a real process against the Bot API stand-in (on both databases): a bot
killed with SIGKILL in the middle of sending a batch of welfare escalations loses none of
them; the next bot process sends what was not sent, and the one whose answer never came goes
out once more, saying that it is sent again."""

import signal
from datetime import datetime, time

import httpx
import pytest
from sqlmodel import col, select

from bot import texts
from bot.app import Services
from bot.sandbox import TOKEN, SandboxThread
from core import i18n
from core.clock import FixedClock
from core.db import Database
from core.elders import chat_user_for
from core.models import ChatNotification, CommunityWorker, Elder, Order
from core.settings import get_settings
from core.welfare import raise_alert
from tests.conftest import SHANGHAI
from tests.factories import WELFARE_LINE, Factory, kitchen_with_route
from tests.mealaid.processes import Command
from tests.mealaid.test_commands import now_in_shanghai
from tests.mealaid.test_demo import database_url  # noqa: F401  (the fixture)
from tests.mealaid.test_worker import wait_until

WORKER = 7_200_001


def alerts_nobody_answered(url: str, elders: int) -> list[str]:
    """`elders` doors nobody opened today, none of the elders with family in the chat: each
    alert goes to the community worker at once, one welfare escalation each in the outbox.
    Returns the elders' names in the order their notices were queued."""
    clock = FixedClock(datetime.combine(now_in_shanghai().date(), time(8, 0), tzinfo=SHANGHAI))
    database = Database.from_url(url)
    with database.transaction() as session:
        make = Factory(session, clock)
        _, order_ids = kitchen_with_route(make, elders=elders)
        orders = [session.get(Order, order_id) for order_id in order_ids]
        worker = chat_user_for(
            session=session,
            telegram_user_id=WORKER,
            name="王社工",
            language="zh_CN",
            clock=clock,
        )
        session.add(
            CommunityWorker(
                community_id=session.get(Elder, orders[0].elder_id).community_id,
                name="王社工",
                phone="020-1111",
                chat_user_id=worker.id,
            )
        )
        session.flush()
        for order in orders:
            raise_alert(session=session, clock=clock, order=order, by="rider:1", **WELFARE_LINE)
        names = [session.get(Elder, order.elder_id).name for order in orders]
    with database.reading() as session:
        queued = session.exec(
            select(ChatNotification.kind).where(ChatNotification.kind == "welfare_escalated")
        ).all()
    database.dispose()
    assert len(queued) == elders
    return names


class BotProcess(Command):
    """`mealaid bot` talking to the stand-in at `api`, its output collected as it runs."""

    def __init__(self, url: str, api: str) -> None:
        environment = {
            "MEALAID_DATABASE_URL": url,
            "MEALAID_BOT_TOKEN": TOKEN,
            "MEALAID_BOT_API_BASE_URL": f"{api}/bot",
            "MEALAID_NOTICE_INTERVAL_SECONDS": "0.2",
            "MEALAID_NOTICE_LEASE_SECONDS": "2",
        }
        super().__init__("bot", environment=environment, stop_signal=signal.SIGINT)


@pytest.fixture
def stand_in(database_url):  # noqa: F811
    """The Bot API stand-in alone, in this process: it outlives the bot processes."""
    database = Database.from_url(database_url)
    clock = FixedClock(datetime.now(SHANGHAI))
    sandbox = SandboxThread(Services(database, clock, get_settings())).start(bot=False)
    control = httpx.Client(base_url=sandbox.url, timeout=30)
    yield sandbox, control
    control.close()
    sandbox.stop()
    database.dispose()


def test_a_bot_killed_mid_batch_loses_no_welfare_escalation(
    database_url,  # noqa: F811
    stand_in,
):
    sandbox, control = stand_in
    names = alerts_nobody_answered(database_url, elders=4)
    # Two escalations go out; the third reaches the worker's chat but Telegram's answer never
    # comes back to the bot, which is killed while it waits.
    control.post("/sandbox/stall", json={"after": 2, "delivered": True}).raise_for_status()
    first = BotProcess(database_url, sandbox.url)
    try:
        wait_until(
            lambda: control.get("/sandbox/stall").json()["stalled"] == 1, 30, "a send in flight"
        )
    finally:
        first.kill()
    control.post("/sandbox/stall", json={"after": None}).raise_for_status()

    def chat() -> list[dict]:
        return control.get(f"/sandbox/users/{WORKER}/messages").json()["messages"]

    def told(name: str) -> list[dict]:
        return [m for m in chat() if name in (m["text"] or "")]

    def all_recorded_sent() -> bool:
        # A notice is recorded as sent once Telegram has answered its send, and one recorded
        # is never claimed again: from then on the worker's chat can gain nothing more.
        with database.reading() as session:
            return None not in session.exec(select(ChatNotification.sent_at)).all()

    second = BotProcess(database_url, sandbox.url)
    database = Database.from_url(database_url)
    try:
        wait_until(all_recorded_sent, 20, "every escalation recorded as sent")
    finally:
        output = second.stop()
        database.dispose()
    assert "Traceback" not in output, output

    again = i18n.gettext(texts.SENT_AGAIN, "zh_CN")
    # Every escalation reached the worker: the first two once, the one in flight when the
    # bot died once more, marked as sent again, the one never tried once, as new.
    assert [len(told(name)) for name in names] == [1, 1, 2, 1]
    assert again not in told(names[2])[0]["text"] and again in told(names[2])[1]["text"]
    assert all(again not in told(name)[0]["text"] for name in (names[0], names[1], names[3]))
    database = Database.from_url(database_url)
    try:
        with database.reading() as session:
            sent = session.exec(
                select(ChatNotification.sent_at, ChatNotification.message_id).order_by(
                    col(ChatNotification.id)
                )
            ).all()
    finally:
        database.dispose()
    # Each is recorded as sent, with the id Telegram gave the message that was answered.
    answered = [told(name)[-1]["message_id"] for name in names]
    assert [message_id for _, message_id in sent] == answered
    assert all(sent_at is not None for sent_at, _ in sent)
