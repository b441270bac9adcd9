"""Webhook mode: the bot runs inside the web app, Telegram posts updates to /telegram/webhook
with a secret token, checked before the body is read; replies go out to the Bot API (here the
stand-in), and a re-posted update is handled once."""

import time
from datetime import datetime

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from bot.app import Services, build_application
from bot.sandbox import TOKEN, SandboxThread
from core.clock import FixedClock
from core.settings import get_settings
from tests.conftest import SHANGHAI
from tests.factories import Factory

SECRET = "webhook-secret-for-tests"
USER = 6_100_001


@pytest.fixture
def webhook(empty_database):
    clock = FixedClock(datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI))
    with empty_database.transaction() as session:
        Factory(session, clock).world()
    settings = get_settings().model_copy(update={"bot_webhook_secret": SECRET})
    services = Services(empty_database, clock, settings)
    stand_in = SandboxThread(services).start(bot=False)
    telegram = build_application(
        services=services,
        token=TOKEN,
        base_url=f"{stand_in.url}/bot",
        webhook=True,
        updates=stand_in.reports_handled(),  # the stand-in hears which updates the bot took
    )
    app = create_app(settings=settings, database=empty_database, clock=clock, telegram=telegram)
    control = httpx.Client(base_url=stand_in.url)
    control.post("/sandbox/users", json={"id": USER, "first_name": "陈", "language_code": "zh"})
    with TestClient(app) as client:
        yield client, control
    control.close()
    stand_in.stop()


def _update(update_id: int, text: str) -> dict:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": {"id": USER, "type": "private"},
            "from": {"id": USER, "is_bot": False, "first_name": "陈", "language_code": "zh"},
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(text)}],
        },
    }


def _bot_messages(control: httpx.Client) -> list[dict]:
    return control.get(f"/sandbox/users/{USER}/messages").json()["messages"]


def _handled(control: httpx.Client, update_id: int, times: int) -> dict:
    """How many times the bot began and finished this update, once it has finished it
    `times` times."""
    deadline = time.monotonic() + 10
    while True:
        counts = control.get(f"/sandbox/updates/{update_id}").json()
        if counts["handled"] >= times or time.monotonic() > deadline:
            return counts
        time.sleep(0.02)


def test_a_wrong_or_missing_secret_is_refused_before_anything_happens(webhook):
    client, control = webhook
    assert client.post("/telegram/webhook", json=_update(1, "/start")).status_code == 403
    wrong = {"X-Telegram-Bot-Api-Secret-Token": "guess"}
    assert (
        client.post("/telegram/webhook", json=_update(2, "/start"), headers=wrong).status_code
        == 403
    )
    # An update with the secret, posted after them: the bot begins updates in the order they
    # come, so once it has handled this one it would have begun the refused ones had they
    # reached it. It never did, and its only message is the answer to this one.
    right = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    assert client.post("/telegram/webhook", json=_update(4, "/start"), headers=right).is_success
    assert _handled(control, 4, times=1)["handled"] == 1
    assert [_handled(control, refused, times=0)["taken"] for refused in (1, 2)] == [0, 0]
    messages = _bot_messages(control)
    assert len(messages) == 1 and messages[0]["buttons"] == ["中文", "English"]


def test_an_update_with_the_secret_is_answered_once_even_if_posted_twice(webhook):
    client, control = webhook
    right = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    update = _update(3, "/start")  # Telegram posts an update again as it was, to the byte
    for _ in range(2):
        assert client.post("/telegram/webhook", json=update, headers=right).status_code == 200
    # The bot has handled both posts: whatever it said for either is in the chat.
    assert _handled(control, 3, times=2) == {"update_id": 3, "taken": 2, "handled": 2}
    messages = _bot_messages(control)
    assert len(messages) == 1 and messages[0]["buttons"] == ["中文", "English"]
    bad = client.post(
        "/telegram/webhook",
        content=b"not json",
        headers={**right, "content-type": "application/json"},
    )
    assert bad.status_code == 400


def test_the_bot_opens_its_database_connections_before_the_first_person_arrives(empty_database):
    clock = FixedClock(datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI))
    empty_database.dispose()  # no connection left open by the migrations
    services = Services(empty_database, clock, get_settings())
    assert empty_database.engine.pool.checkedin() == services.threads
    services.workers.shutdown()
