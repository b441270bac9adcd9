"""Simulated people chatting with the real bot through the Bot API stand-in, over HTTP."""

import threading
import time
from datetime import datetime
from datetime import time as dt_time

import httpx

from bot.app import Services
from bot.sandbox import SandboxThread
from core.clock import FixedClock
from core.db import Database
from core.settings import get_settings
from mealaid.duework import DueWorkLoop, DueWorkReport

# How long an action waits for the bot at most, and how long the chat must then be quiet. The
# quiet is short: the sandbox's bot says when it is done with an update, by then every reply
# its handler sends is in (see `StandIn.wait_for_reply`).
WAIT = {"wait": 10, "settle": 0.01}


class Person:
    """One Telegram user as the stand-in's control API sees them."""

    def __init__(self, client: httpx.Client, user_id: int, **profile) -> None:
        self.client, self.id = client, user_id
        response = client.post("/sandbox/users", json={"id": user_id, **profile})
        assert response.status_code == 201, response.text

    def _act(self, path: str, body: dict) -> list[dict]:
        """The bot's messages (new or edited) once it is done with this update: the sandbox's
        bot tells the stand-in when it has handled it (see `StandIn.wait_for_reply`); the
        wait is only the upper bound."""
        response = self.client.post(f"/sandbox/users/{self.id}/{path}", params=WAIT, json=body)
        assert response.status_code == 200, response.text
        self.last_update_id = response.json()["update_id"]
        return response.json()["replies"]

    def send(self, text: str) -> list[dict]:
        return self._act("send", {"text": text})

    def share_contact(self, phone: str | None = None) -> list[dict]:
        return self._act("send", {"contact": True, "phone": phone})

    def share_location(self, latitude: float, longitude: float) -> list[dict]:
        return self._act("send", {"location": {"latitude": latitude, "longitude": longitude}})

    def send_sticker(self) -> list[dict]:
        return self._act("send", {"sticker": True})

    def press(self, label: str, **extra) -> list[dict]:
        """Press a button by its label; a location button sends `latitude`/`longitude`."""
        return self._act("press", {"button": label, **extra})

    def press_data(self, data: str) -> list[dict]:
        """Callback data the bot never offered this person (a forged or stale button)."""
        return self._act("press", {"data": data})

    def can_press(self, label: str) -> bool:
        return label in self.buttons()

    def messages(self) -> list[dict]:
        return self.client.get(f"/sandbox/users/{self.id}/messages").json()["messages"]

    def keyboard(self) -> list[str]:
        return self.client.get(f"/sandbox/users/{self.id}/messages").json()["keyboard"]

    def buttons(self) -> list[str]:
        """Every inline button label on the bot's messages, newest message first."""
        return [label for m in reversed(self.messages()) if m["inline"] for label in m["buttons"]]

    def wait_for_message(self, containing: str, timeout: float = 15) -> dict:
        """A message the bot sends on its own (a notification), once it has arrived."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in reversed(self.messages()):
                if containing in (message["text"] or ""):
                    return message
            time.sleep(0.1)
        raise AssertionError(f"no message containing {containing!r}: {self.messages()}")

    @property
    def last_text(self) -> str:
        return self.messages()[-1]["text"]


class Chat:
    """The sandbox (stand-in + bot) on a database, and people to chat with it."""

    def __init__(
        self, database: Database, clock: FixedClock, due_work: bool = False, **settings_changes
    ) -> None:
        """With `due_work`, the scheduler runs beside the bot (as `mealaid serve` does): it
        escalates welfare alerts and queues the morning reminder, which the bot then sends."""
        self.database, self.clock = database, clock
        # Notices go out within a fraction of a second, so tests need not wait long; the
        # morning reminder only where a test asks for it.
        changes = {"notice_interval_seconds": 0.2, "reminder_time": dt_time(23, 59)}
        settings = get_settings().model_copy(update={**changes, **settings_changes})
        self.services = Services(database, clock, settings)
        self.sandbox = SandboxThread(self.services).start()
        self.due_work = None
        self._reports: list[DueWorkReport] = []
        self._reported = threading.Condition()
        if due_work:
            self.due_work = DueWorkLoop(
                database, clock, settings, interval=0.2, on_report=self._on_report
            )
            self.due_work.start()
        self.client = httpx.Client(base_url=self.sandbox.url, timeout=30)
        self._ids = iter(range(5_000_001, 6_000_000))

    def person(
        self,
        language_code: str = "zh-hans",
        phone: str | None = None,
        user_id: int | None = None,
        **extra,
    ) -> Person:
        return Person(
            self.client,
            user_id or next(self._ids),
            first_name=extra.pop("first_name", "测试"),
            language_code=language_code,
            phone=phone,
            **extra,
        )

    def redeliver(self, update_id: int, person: Person) -> list[dict]:
        """What the bot said or edited in the person's chat once it was done with the update
        handed over again (anything it queued for the chat included): [] if it did not act."""
        since = len(person.messages())
        response = self.client.post(f"/sandbox/updates/{update_id}/redeliver", params=WAIT)
        assert response.status_code == 200, response.text
        replies = response.json()["replies"]
        new = person.messages()[since:]
        return replies + [m for m in new if m not in replies]

    def _on_report(self, report: DueWorkReport) -> None:
        with self._reported:
            self._reports.append(report)
            self._reported.notify_all()

    def due_work_runs(self, runs: int = 2, timeout: float = 15) -> list[DueWorkReport]:
        """The reports of the scheduler's next `runs` runs. It runs one after another, so with
        two or more, at least one began after this call (it saw what the test did before)."""
        with self._reported:
            start = len(self._reports)
            done = self._reported.wait_for(lambda: len(self._reports) >= start + runs, timeout)
            assert done, f"the due work ran {len(self._reports) - start} times in {timeout} s"
            return self._reports[start : start + runs]

    def set_time(self, at: datetime) -> None:
        self.clock.set(at)

    def close(self) -> None:
        if self.due_work is not None:
            self.due_work.stop(timeout=30)
        self.client.close()
        self.sandbox.stop()
