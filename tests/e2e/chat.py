"""Simulated people chatting with the real bot through the Bot API stand-in, over HTTP."""

from datetime import datetime

import httpx

from bot.app import Services
from bot.sandbox import SandboxThread
from core.clock import FixedClock
from core.db import Database
from core.settings import get_settings


class Person:
    """One Telegram user as the stand-in's control API sees them."""

    def __init__(self, client: httpx.Client, user_id: int, **profile) -> None:
        self.client, self.id = client, user_id
        response = client.post("/sandbox/users", json={"id": user_id, **profile})
        assert response.status_code == 201, response.text

    def _act(self, path: str, body: dict) -> list[dict]:
        response = self.client.post(
            f"/sandbox/users/{self.id}/{path}", params={"wait": 10, "settle": 0.05}, json=body
        )
        assert response.status_code == 200, response.text
        self.last_update_id = response.json()["update_id"]
        return response.json()["replies"]

    def send(self, text: str) -> list[dict]:
        return self._act("send", {"text": text})

    def share_contact(self, phone: str | None = None) -> list[dict]:
        return self._act("send", {"contact": True, "phone": phone})

    def send_sticker(self) -> list[dict]:
        return self._act("send", {"sticker": True})

    def press(self, label: str) -> list[dict]:
        return self._act("press", {"button": label})

    def can_press(self, label: str) -> bool:
        return label in self.buttons()

    def messages(self) -> list[dict]:
        return self.client.get(f"/sandbox/users/{self.id}/messages").json()["messages"]

    def keyboard(self) -> list[str]:
        return self.client.get(f"/sandbox/users/{self.id}/messages").json()["keyboard"]

    def buttons(self) -> list[str]:
        """Every inline button label on the bot's messages, newest message first."""
        return [label for m in reversed(self.messages()) if m["inline"] for label in m["buttons"]]

    @property
    def last_text(self) -> str:
        return self.messages()[-1]["text"]


class Chat:
    """The sandbox (stand-in + bot) on a database, and people to chat with it."""

    def __init__(self, database: Database, clock: FixedClock) -> None:
        self.database, self.clock = database, clock
        self.services = Services(database, clock, get_settings())
        self.sandbox = SandboxThread(self.services).start()
        self.client = httpx.Client(base_url=self.sandbox.url, timeout=30)
        self._ids = iter(range(5_000_001, 6_000_000))

    def person(self, language_code: str = "zh-hans", phone: str | None = None, **extra) -> Person:
        return Person(
            self.client,
            next(self._ids),
            first_name=extra.pop("first_name", "测试"),
            language_code=language_code,
            phone=phone,
            **extra,
        )

    def redeliver(self, update_id: int, person: Person) -> list[dict]:
        since = len(person.messages())
        assert self.client.post(f"/sandbox/updates/{update_id}/redeliver").status_code == 200
        # Wait for the bot to have taken it: a reply would come within this time if it acted.
        import time

        time.sleep(0.6)
        return person.messages()[since:]

    def set_time(self, at: datetime) -> None:
        self.clock.set(at)

    def close(self) -> None:
        self.client.close()
        self.sandbox.stop()
