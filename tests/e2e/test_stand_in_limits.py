"""The Bot API stand-in refuses what Telegram refuses (message length, callback data size,
buttons that do two things or none), so a test fails here where the real Telegram would."""

import asyncio

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest

from bot.sandbox import TOKEN
from core.clock import FixedClock
from tests.conftest import SHANGHAI
from tests.e2e.chat import Chat


@pytest.fixture
def stand_in(empty_database):
    from datetime import datetime

    chat = Chat(empty_database, FixedClock(datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI)))
    person = chat.person()
    person.send("/start")  # the stand-in knows this chat from now on
    yield chat, person
    chat.close()


def send(chat: Chat, user_id: int, text: str, markup=None) -> None:
    async def go() -> None:
        async with Bot(TOKEN, base_url=f"{chat.sandbox.url}/bot") as bot:
            await bot.send_message(user_id, text, reply_markup=markup)

    asyncio.run(go())


def keyboard(*buttons: InlineKeyboardButton) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([list(buttons)])


def test_what_telegram_refuses_is_refused_and_what_it_takes_goes_through(stand_in):
    chat, person = stand_in
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        send(chat, person.id, "hi", keyboard(InlineKeyboardButton("x", callback_data="d" * 65)))
    with pytest.raises(BadRequest, match=r"(?i)too long"):
        send(chat, person.id, "长" * 4097)
    with pytest.raises(BadRequest, match=r"(?i)button_url_invalid"):
        send(chat, person.id, "hi", keyboard(InlineKeyboardButton("x", url="amap.com/x")))

    send(chat, person.id, "长" * 4096)
    send(
        chat,
        person.id,
        "ok",
        keyboard(
            InlineKeyboardButton("a", callback_data="d" * 64),
            InlineKeyboardButton("map", url="https://uri.amap.com/marker?position=1,2"),
        ),
    )
    last = person.messages()[-1]
    assert last["text"] == "ok" and last["links"] == {
        "map": "https://uri.amap.com/marker?position=1,2"
    }
