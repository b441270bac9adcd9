"""A local stand-in for the Telegram Bot API: the real python-telegram-bot Application talks to it
through `base_url` exactly as it would to Telegram, and simulated people chat through a control
API (and a browser page) instead of the Telegram app. Used by the tests, the bot benchmark and
the offline demo; it keeps everything in memory."""

import asyncio
import contextlib
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route

from core import i18n
from core.i18n import N_

# Parameters PTB sends JSON-encoded inside a form (strings are sent as they are).
JSON_PARAMETERS = {
    "reply_markup",
    "commands",
    "allowed_updates",
    "scope",
    "entities",
    "link_preview_options",
    "reply_parameters",
}
INT_PARAMETERS = {"chat_id", "message_id", "offset", "limit", "timeout"}
BOT_USER = {
    "id": 7_000_000_001,
    "is_bot": True,
    "first_name": "MealAid",
    "username": "MealAidSandboxBot",
    "can_join_groups": False,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}


@dataclass
class SimulatedUser:
    id: int
    first_name: str
    language_code: str = "zh-hans"
    phone: str | None = None
    reply_keyboard: dict[str, Any] | None = None

    def as_telegram(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "is_bot": False,
            "first_name": self.first_name,
            "language_code": self.language_code,
        }


@dataclass
class ChatMessage:
    message_id: int
    from_bot: bool
    date: int
    text: str | None = None
    reply_markup: dict[str, Any] | None = None
    kind: str = "text"
    edited: bool = False
    at: float = field(default_factory=time.monotonic)

    def labels(self) -> list[str]:
        rows = (self.reply_markup or {}).get("inline_keyboard") or (self.reply_markup or {}).get(
            "keyboard", []
        )
        return [button["text"] for row in rows for button in row]

    def links(self) -> dict[str, str]:
        """The URL buttons' addresses by label (they open a page; pressing sends nothing)."""
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return {b["text"]: b["url"] for row in rows for b in row if "url" in b}

    def public(self) -> dict[str, Any]:
        inline = "inline_keyboard" in (self.reply_markup or {})
        return {
            "links": self.links(),
            "message_id": self.message_id,
            "from": "bot" if self.from_bot else "user",
            "kind": self.kind,
            "text": self.text,
            "buttons": self.labels(),
            "inline": inline,
            "edited": self.edited,
        }


class ButtonNotFound(LookupError):
    pass


class StandIn:
    """The state of the simulated Telegram: people, their chats with the bot, pending updates."""

    def __init__(self, token: str = "sandbox") -> None:
        self.token = token
        # Where simulated people are when they press "share my location" without saying where.
        self.default_location = (0.0, 0.0)
        self.users: dict[int, SimulatedUser] = {}
        self.chats: dict[int, list[ChatMessage]] = {}
        self.pending: list[dict[str, Any]] = []
        self.delivered: dict[int, dict[str, Any]] = {}
        self.commands: dict[str, list[dict[str, Any]]] = {}  # by language code, "" for all
        self.documents: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1)
        self._callback_ids = itertools.count(1)
        self._changed: asyncio.Condition | None = None
        # When each update was made, and when the bot first answered in that chat after it.
        self.pressed_at: dict[int, float] = {}
        self.first_reply_at: dict[int, float] = {}
        self.awaiting: dict[int, list[int]] = {}
        # What the bot reports when it runs beside the stand-in (see bot.sandbox): for each
        # update, how many times it was handed over (a re-delivery hands it over again), how
        # many times the bot began and finished handling it, and when it last finished; and
        # when the last finished round of its outbox sender began. Without these reports a wait
        # for a reply ends only on a reply or at the timeout.
        self.reports_handled = False
        self.queued_times: dict[int, int] = {}
        self.taken_times: dict[int, int] = {}
        self.handled_times: dict[int, int] = {}
        self.handled_at: dict[int, float] = {}
        self.reports_notices = False
        self.notices_round_began = 0.0
        self.polled = False  # the bot has asked for updates at least once
        # While the bot is being stopped, long polls answer at once (Telegram's would run out
        # their timeout; a test need not wait for that).
        self.releasing = False
        self.webhook: dict[str, Any] | None = None
        # A network or bot process failing with a message in flight (tests of a bot killed
        # mid-batch): after `sends_before_stall` more messages, each sendMessage is held
        # unanswered (having reached the chat first when `stall_delivers`) until released.
        self.sends_before_stall: int | None = None
        self.stall_delivers = False
        self.stalled = 0

    @property
    def changed(self) -> asyncio.Condition:
        if self._changed is None:
            self._changed = asyncio.Condition()
        return self._changed

    async def _notify(self) -> None:
        async with self.changed:
            self.changed.notify_all()

    async def stall_sends(self, after: int | None, delivered: bool = False) -> None:
        """Hold every sendMessage after the next `after` ones; None releases those held (they
        fail: whoever sent them is gone) and lets messages through again."""
        self.sends_before_stall, self.stall_delivers, self.stalled = after, delivered, 0
        await self._notify()

    def _stalls(self) -> bool:
        """Whether this sendMessage is to be held."""
        if self.sends_before_stall is None:
            return False
        if self.sends_before_stall > 0:
            self.sends_before_stall -= 1
            return False
        return True

    async def _held(self) -> None:
        """Until `stall_sends(None)`."""
        self.stalled += 1
        await self._notify()
        async with self.changed:
            await self.changed.wait_for(lambda: self.sends_before_stall is None)

    async def update_taken(self, update_id: int) -> None:
        """The bot has begun handling this update (they begin in the order they came)."""
        self.taken_times[update_id] = self.taken_times.get(update_id, 0) + 1

    async def update_handled(self, update_id: int) -> None:
        """The bot has finished with this update: its handler returned (or failed and its error
        handler returned), so every reply the handler sent is in the chat already."""
        self.handled_times[update_id] = self.handled_times.get(update_id, 0) + 1
        self.handled_at[update_id] = time.monotonic()
        await self._notify()

    async def notices_sent(self, began: float) -> None:
        """The bot's outbox sender finished a round that began at `began` (monotonic): whatever
        was in the outbox by then has been sent (or put back)."""
        self.notices_round_began = max(self.notices_round_began, began)
        await self._notify()

    async def release_pollers(self, releasing: bool = True) -> None:
        """Answer the bot's waiting long polls now, and any new one at once until called
        with False."""
        self.releasing = releasing
        await self._notify()

    # -- what simulated people do --------------------------------------------------------------

    def add_user(self, user: SimulatedUser) -> SimulatedUser:
        self.users[user.id] = user
        self.chats.setdefault(user.id, [])
        return user

    def _chat(self, user: SimulatedUser) -> dict[str, Any]:
        return {"id": user.id, "type": "private", "first_name": user.first_name}

    def _user_message(self, user: SimulatedUser, kind: str, **content: Any) -> dict[str, Any]:
        message = ChatMessage(next(self._message_ids), False, int(time.time()), kind=kind)
        message.text = content.get("text")
        self.chats[user.id].append(message)
        return {
            "message_id": message.message_id,
            "date": message.date,
            "chat": self._chat(user),
            "from": user.as_telegram(),
            **content,
        }

    async def _queue(self, user: SimulatedUser, **update: Any) -> int:
        update_id = next(self._update_ids)
        self.pending.append({"update_id": update_id, **update})
        self.queued_times[update_id] = 1
        self.pressed_at[update_id] = time.monotonic()
        self.awaiting.setdefault(user.id, []).append(update_id)
        await self._notify()
        return update_id

    async def send_text(self, user: SimulatedUser, text: str) -> int:
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            # Telegram marks a leading /command as an entity; PTB's CommandHandler looks for it.
            command = text.split()[0]
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return await self._queue(user, message=self._user_message(user, "text", **content))

    async def send_contact(self, user: SimulatedUser, phone: str | None = None) -> int:
        contact = {
            "phone_number": phone or user.phone or "",
            "first_name": user.first_name,
            "user_id": user.id,
        }
        return await self._queue(user, message=self._user_message(user, "contact", contact=contact))

    async def send_location(self, user: SimulatedUser, latitude: float, longitude: float) -> int:
        location = {"latitude": latitude, "longitude": longitude}
        return await self._queue(
            user, message=self._user_message(user, "location", location=location)
        )

    async def send_sticker(self, user: SimulatedUser) -> int:
        sticker = {
            "file_id": "sticker-1",
            "file_unique_id": "s1",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        }
        return await self._queue(user, message=self._user_message(user, "sticker", sticker=sticker))

    async def press_data(self, user: SimulatedUser, data: str) -> int:
        """Send callback data of one's own making, as a modified client can: the bot must not
        trust that a button it never showed cannot be pressed."""
        message = next((m for m in reversed(self.chats[user.id]) if m.from_bot), None)
        if message is None:
            raise ButtonNotFound(data)
        callback = {
            "id": str(next(self._callback_ids)),
            "from": user.as_telegram(),
            "message": self._as_telegram(user, message),
            "chat_instance": str(user.id),
            "data": data,
        }
        return await self._queue(user, callback_query=callback)

    async def press(self, user: SimulatedUser, label: str, **extra: Any) -> int:
        """Press the button with this label: on the newest message that has it (inline), else on
        the reply keyboard the bot last showed this person."""
        for message in reversed(self.chats[user.id]):
            for row in (message.reply_markup or {}).get("inline_keyboard", []):
                for button in row:
                    if button["text"] == label and "callback_data" in button:
                        callback = {
                            "id": str(next(self._callback_ids)),
                            "from": user.as_telegram(),
                            "message": self._as_telegram(user, message),
                            "chat_instance": str(user.id),
                            "data": button["callback_data"],
                        }
                        return await self._queue(user, callback_query=callback)
        for row in (user.reply_keyboard or {}).get("keyboard", []):
            for button in row:
                if button["text"] != label:
                    continue
                if button.get("request_contact"):
                    return await self.send_contact(user)
                if button.get("request_location"):
                    latitude, longitude = self.default_location
                    return await self.send_location(
                        user, extra.get("latitude", latitude), extra.get("longitude", longitude)
                    )
                return await self.send_text(user, label)
        raise ButtonNotFound(label)

    async def redeliver(self, update_id: int) -> None:
        """Hand an update the bot already took to it once more, as Telegram does when it thinks
        an update was lost (the bot must not act twice)."""
        update = self.delivered[update_id]
        self.pending.append({**update, "_again": True})
        self.queued_times[update_id] = self.queued_times.get(update_id, 0) + 1
        await self._notify()

    def sender_of(self, update_id: int) -> int | None:
        """The person whose message or button press this update is."""
        update = self.delivered.get(update_id) or {}
        event = update.get("message") or update.get("callback_query") or {}
        sender: int | None = (event.get("from") or {}).get("id")
        return sender

    async def wait_for_reply(
        self,
        user_id: int,
        since: float,
        timeout: float = 5.0,
        settle: float = 0.08,
        update_id: int | None = None,
    ) -> list[dict[str, Any]]:
        """The bot's messages to this person sent or edited after `since`, once the bot is done
        with the update (or `timeout` passed, whichever is first).

        When the bot reports what it handled (the sandbox) and `update_id` is given, done is:
        the bot has handled the update as often as it was handed over (a re-delivery counts
        anew), so every reply its handler sent is in; if nothing came to this chat, the outbox
        sender has also finished a round begun after that (what the step queued has gone out);
        and then the chat has been quiet for `settle`. Otherwise (a bot elsewhere), done is
        the bot's first message followed by `settle` of quiet; no message waits the timeout."""
        deadline = time.monotonic() + timeout
        key = -1 if update_id is None else update_id
        times = self.queued_times.get(key, 0)
        told = self.reports_handled and times > 0

        def newest() -> float:
            return max((m.at for m in self.chats[user_id] if m.from_bot), default=0.0)

        def left() -> float | None:
            """How long to wait before looking again (None for a change); 0 when done."""
            now, last = time.monotonic(), newest()
            if not told:
                return max(0.0, settle - (now - last)) if last > since else None
            if self.handled_times.get(key, 0) < times:
                return None
            handled = self.handled_at[key]
            if last <= since and self.reports_notices and self.notices_round_began <= handled:
                return None
            return max(0.0, settle - (now - max(handled, last)))

        async with self.changed:
            while (now := time.monotonic()) < deadline:
                wait = left()
                if wait == 0:
                    break
                wait = deadline - now if wait is None else min(wait, deadline - now)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.changed.wait(), max(0.001, wait))
        return [m.public() for m in self.chats[user_id] if m.from_bot and m.at > since]

    # -- the Bot API, as the bot sees it -------------------------------------------------------

    def _as_telegram(self, user: SimulatedUser, message: ChatMessage) -> dict[str, Any]:
        body: dict[str, Any] = {
            "message_id": message.message_id,
            "date": message.date,
            "chat": self._chat(user),
            "from": BOT_USER if message.from_bot else user.as_telegram(),
        }
        if message.text is not None:
            body["text"] = message.text
        if message.reply_markup and "inline_keyboard" in message.reply_markup:
            body["reply_markup"] = message.reply_markup
        if message.edited:
            body["edit_date"] = int(time.time())
        return body

    def _user(self, chat_id: int) -> SimulatedUser:
        """The person behind a chat id. Someone the bot writes to first (a notice to a family
        member from the demo database) exists on Telegram too: they appear here unannounced,
        and their messages can be read through the control API."""
        user = self.users.get(chat_id)
        if user is None:
            user = self.add_user(SimulatedUser(chat_id, f"User {chat_id}"))
        return user

    def _message(self, chat_id: int, message_id: int) -> ChatMessage:
        for message in self.chats.get(chat_id, []):
            if message.message_id == message_id and message.from_bot:
                return message
        raise ApiError(400, "Bad Request: message to edit not found")

    async def _bot_says(
        self,
        user: SimulatedUser,
        text: str | None,
        markup: dict[str, Any] | None,
        kind: str = "text",
    ) -> ChatMessage:
        message = ChatMessage(next(self._message_ids), True, int(time.time()), text, kind=kind)
        if markup is not None:
            if "keyboard" in markup:
                user.reply_keyboard = markup
            elif markup.get("remove_keyboard"):
                user.reply_keyboard = None
            message.reply_markup = markup
        self.chats[user.id].append(message)
        self._replied(user.id)
        await self._notify()
        return message

    def _replied(self, chat_id: int) -> None:
        now = time.monotonic()
        for update_id in self.awaiting.pop(chat_id, []):
            self.first_reply_at[update_id] = now

    async def call(self, method: str, params: dict[str, Any]) -> Any:
        handler = getattr(self, f"api_{method.lower()}", None)
        if handler is None:
            raise ApiError(404, "Not Found: method not found")
        return await handler(params)

    async def api_getme(self, params: dict[str, Any]) -> dict[str, Any]:
        return BOT_USER

    async def api_deletewebhook(self, params: dict[str, Any]) -> bool:
        self.webhook = None
        return True

    async def api_setwebhook(self, params: dict[str, Any]) -> bool:
        self.webhook = {"url": params.get("url"), "secret_token": params.get("secret_token")}
        return True

    async def api_setmycommands(self, params: dict[str, Any]) -> bool:
        self.commands[params.get("language_code") or ""] = params.get("commands", [])
        return True

    async def api_getmycommands(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        return self.commands.get(params.get("language_code") or "", [])

    async def api_close(self, params: dict[str, Any]) -> bool:
        return True

    async def api_sendchataction(self, params: dict[str, Any]) -> bool:
        return True

    async def api_getupdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        self.polled = True
        offset = params.get("offset") or 0
        limit = params.get("limit") or 100
        deadline = time.monotonic() + float(params.get("timeout") or 0)
        async with self.changed:
            while True:
                # An offset confirms every update before it: Telegram forgets those.
                self.pending = [
                    u for u in self.pending if u["update_id"] >= offset or u.get("_again")
                ]
                if self.pending or self.releasing or time.monotonic() >= deadline:
                    break
                try:
                    await asyncio.wait_for(self.changed.wait(), deadline - time.monotonic())
                except TimeoutError:
                    break
        batch = self.pending[:limit]
        for update in batch:
            if update.pop("_again", False):
                self.pending.remove(update)
            self.delivered[update["update_id"]] = update
        return batch

    async def api_sendmessage(self, params: dict[str, Any]) -> dict[str, Any]:
        user = self._user(params["chat_id"])
        check_limits(params.get("text", ""), params.get("reply_markup"))
        if self._stalls():
            if self.stall_delivers:
                await self._bot_says(user, params.get("text", ""), params.get("reply_markup"))
            await self._held()
            raise ApiError(502, "Bad Gateway")
        message = await self._bot_says(user, params.get("text", ""), params.get("reply_markup"))
        return self._as_telegram(user, message)

    async def api_editmessagetext(self, params: dict[str, Any]) -> dict[str, Any]:
        user = self._user(params["chat_id"])
        message = self._message(user.id, params["message_id"])
        check_limits(params.get("text", ""), params.get("reply_markup"))
        if message.text == params.get("text") and message.reply_markup == params.get(
            "reply_markup"
        ):
            raise ApiError(400, "Bad Request: message is not modified")
        message.text = params.get("text")
        message.reply_markup = params.get("reply_markup")
        await self._edited(user, message)
        return self._as_telegram(user, message)

    async def api_editmessagereplymarkup(self, params: dict[str, Any]) -> dict[str, Any]:
        user = self._user(params["chat_id"])
        message = self._message(user.id, params["message_id"])
        check_limits(None, params.get("reply_markup"))
        message.reply_markup = params.get("reply_markup")
        await self._edited(user, message)
        return self._as_telegram(user, message)

    async def _edited(self, user: SimulatedUser, message: ChatMessage) -> None:
        message.edited = True
        message.at = time.monotonic()
        self._replied(user.id)
        await self._notify()

    async def api_answercallbackquery(self, params: dict[str, Any]) -> bool:
        return True

    async def api_sendlocation(self, params: dict[str, Any]) -> dict[str, Any]:
        user = self._user(params["chat_id"])
        text = f"{params.get('latitude')},{params.get('longitude')}"
        message = await self._bot_says(user, text, params.get("reply_markup"), kind="location")
        return {**self._as_telegram(user, message), "location": {"latitude": 0, "longitude": 0}}

    async def api_senddocument(self, params: dict[str, Any]) -> dict[str, Any]:
        user = self._user(params["chat_id"])
        document = params.get("document")
        name = getattr(document, "filename", None) or "document"
        content = (
            await document.read() if document is not None and hasattr(document, "read") else b""
        )
        self.documents.append({"chat_id": user.id, "filename": name, "content": content})
        message = await self._bot_says(
            user, params.get("caption") or name, params.get("reply_markup"), kind="document"
        )
        body = self._as_telegram(user, message)
        body["document"] = {"file_id": f"doc-{message.message_id}", "file_unique_id": "d"}
        return body


class ApiError(Exception):
    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code, self.description = code, description


# Telegram's documented limits (core.telegram.org/bots/api): a message's text is 1-4096
# characters, a button's callback data 1-64 bytes; an inline keyboard holds at most 100
# buttons (the server's limit, not in the docs), and each button does exactly one thing.
MAX_TEXT, MAX_CALLBACK_BYTES, MAX_INLINE_BUTTONS = 4096, 64, 100
BUTTON_ACTIONS = {"callback_data", "url", "switch_inline_query", "web_app", "login_url", "pay"}


def check_limits(text: str | None, markup: dict[str, Any] | None) -> None:
    """Refuse what Telegram would refuse, with its own error text, so a test fails here
    where the real Bot API would."""
    if text is not None and not 0 < len(text.encode("utf-16-le")) // 2 <= MAX_TEXT:
        raise ApiError(
            400,
            "Bad Request: message is too long" if text else "Bad Request: message text is empty",
        )
    rows = (markup or {}).get("inline_keyboard")
    if rows is None:
        return
    buttons = [button for row in rows for button in row]
    if len(buttons) > MAX_INLINE_BUTTONS:
        raise ApiError(400, "Bad Request: reply markup is too long")
    for button in buttons:
        actions = BUTTON_ACTIONS & set(button)
        if len(actions) != 1:
            raise ApiError(400, "Bad Request: can't parse inline keyboard button")
        data = button.get("callback_data")
        if data is not None and not 0 < len(data.encode()) <= MAX_CALLBACK_BYTES:
            raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
        url = button.get("url")
        if url is not None and not url.startswith(("https://", "http://", "tg://")):
            raise ApiError(400, "Bad Request: BUTTON_URL_INVALID")


async def _parameters(request: Request) -> dict[str, Any]:
    if request.headers.get("content-type", "").startswith("application/json"):
        raw: dict[str, Any] = await request.json()
    else:
        raw = dict((await request.form()).items())
    params: dict[str, Any] = {}
    for name, value in raw.items():
        if isinstance(value, str) and name in JSON_PARAMETERS:
            value = json.loads(value)
        elif isinstance(value, str) and name in INT_PARAMETERS:
            value = int(value)
        params[name] = value
    return params


def create_stand_in_app(stand_in: StandIn) -> Starlette:
    """The HTTP face of the stand-in: `/bot<token>/<method>` for the bot, `/sandbox/...` for
    simulated people (tests, the benchmark, the browser page)."""

    async def bot_api(request: Request) -> JSONResponse:
        if request.path_params["token"] != stand_in.token:
            return JSONResponse(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status_code=401
            )
        try:
            result = await stand_in.call(request.path_params["method"], await _parameters(request))
        except ApiError as error:
            return JSONResponse(
                {"ok": False, "error_code": error.code, "description": error.description},
                status_code=error.code,
            )
        return JSONResponse({"ok": True, "result": result})

    async def add_user(request: Request) -> JSONResponse:
        body = await request.json()
        user = stand_in.add_user(
            SimulatedUser(
                id=int(body["id"]),
                first_name=str(body.get("first_name", "User")),
                language_code=str(body.get("language_code", "zh-hans")),
                phone=body.get("phone"),
            )
        )
        return JSONResponse(user.as_telegram(), status_code=201)

    def _find(request: Request) -> SimulatedUser:
        user = stand_in.users.get(int(request.path_params["user_id"]))
        if user is None:
            raise ApiError(404, "no such simulated user")
        return user

    async def _answer(request: Request, update_id: int, since: float) -> JSONResponse:
        wait = float(request.query_params.get("wait", "0"))
        user_id = int(request.path_params["user_id"])
        body: dict[str, Any] = {"update_id": update_id}
        if wait > 0:
            settle = float(request.query_params.get("settle", "0.08"))
            body["replies"] = await stand_in.wait_for_reply(user_id, since, wait, settle, update_id)
        return JSONResponse(body)

    async def send(request: Request) -> JSONResponse:
        try:
            user = _find(request)
        except ApiError as error:
            return JSONResponse({"error": error.description}, status_code=error.code)
        body = await request.json()
        since = time.monotonic()
        if body.get("contact"):
            update_id = await stand_in.send_contact(user, body.get("phone"))
        elif body.get("location"):
            where = body["location"]
            update_id = await stand_in.send_location(user, where["latitude"], where["longitude"])
        elif body.get("sticker"):
            update_id = await stand_in.send_sticker(user)
        else:
            update_id = await stand_in.send_text(user, str(body.get("text", "")))
        return await _answer(request, update_id, since)

    async def press(request: Request) -> JSONResponse:
        try:
            user = _find(request)
        except ApiError as error:
            return JSONResponse({"error": error.description}, status_code=error.code)
        body = await request.json()
        since = time.monotonic()
        try:
            if "data" in body:
                update_id = await stand_in.press_data(user, str(body["data"]))
            else:
                update_id = await stand_in.press(user, str(body.get("button", "")), **body)
        except ButtonNotFound:
            return JSONResponse({"error": "no such button"}, status_code=404)
        return await _answer(request, update_id, since)

    async def messages(request: Request) -> JSONResponse:
        try:
            user = _find(request)
        except ApiError as error:
            return JSONResponse({"error": error.description}, status_code=error.code)
        everyone = request.query_params.get("all") == "1"
        chat = [m.public() for m in stand_in.chats[user.id] if everyone or m.from_bot]
        rows = (user.reply_keyboard or {}).get("keyboard", [])
        keyboard = [button["text"] for row in rows for button in row]
        return JSONResponse({"messages": chat, "keyboard": keyboard})

    async def redeliver(request: Request) -> JSONResponse:
        """With `wait`, as a press does: the sender's replies once the bot is done with it."""
        update_id = int(request.path_params["update_id"])
        sender = stand_in.sender_of(update_id)
        if sender is None:  # not an update the bot was given, or nobody's
            return JSONResponse({"error": "no such update"}, status_code=404)
        since = time.monotonic()
        await stand_in.redeliver(update_id)
        body: dict[str, Any] = {"update_id": update_id}
        wait = float(request.query_params.get("wait", "0"))
        if wait > 0:
            settle = float(request.query_params.get("settle", "0.08"))
            body["replies"] = await stand_in.wait_for_reply(sender, since, wait, settle, update_id)
        return JSONResponse(body)

    async def update(request: Request) -> JSONResponse:
        """How many times the bot has reported beginning and finishing to handle this update
        (0 when it does not report: see `StandIn.reports_handled`)."""
        update_id = int(request.path_params["update_id"])
        return JSONResponse(
            {
                "update_id": update_id,
                "taken": stand_in.taken_times.get(update_id, 0),
                "handled": stand_in.handled_times.get(update_id, 0),
            }
        )

    async def stall(request: Request) -> JSONResponse:
        """POST {"after": N, "delivered": bool} holds the bot's messages after the next N,
        {"after": null} lets them go; GET says how many are held."""
        if request.method == "POST":
            body = await request.json()
            after = body.get("after")
            await stand_in.stall_sends(
                None if after is None else int(after), bool(body.get("delivered"))
            )
        return JSONResponse({"stalled": stand_in.stalled})

    async def page(request: Request) -> HTMLResponse:
        locale = i18n.negotiate(
            request.query_params.get("lang")
            or request.headers.get("accept-language", "").split(",")[0]
        )
        return HTMLResponse(_page(locale))

    return Starlette(
        routes=[
            Route("/bot{token}/{method}", bot_api, methods=["GET", "POST"]),
            Route("/sandbox/users", add_user, methods=["POST"]),
            Route("/sandbox/users/{user_id:int}/send", send, methods=["POST"]),
            Route("/sandbox/users/{user_id:int}/press", press, methods=["POST"]),
            Route("/sandbox/users/{user_id:int}/messages", messages, methods=["GET"]),
            Route("/sandbox/updates/{update_id:int}", update, methods=["GET"]),
            Route("/sandbox/updates/{update_id:int}/redeliver", redeliver, methods=["POST"]),
            Route("/sandbox/stall", stall, methods=["GET", "POST"]),
            Route("/sandbox/", page, methods=["GET"]),
        ]
    )


PAGE_TEXT = {
    "title": N_("MealAid chat sandbox"),
    "intro": N_(
        "A stand-in for Telegram: chat with the MealAid bot as a made-up person. Nothing leaves "
        "this computer."
    ),
    "phone": N_("Phone number (optional, to be recognised as a registered elder)"),
    "start": N_("Start chatting"),
    "send": N_("Send"),
    "placeholder": N_("Type a message"),
}


def _page(locale: str) -> str:
    text = {key: i18n.gettext(value, locale) for key, value in PAGE_TEXT.items()}
    return (
        _PAGE.replace("{{lang}}", locale.replace("_", "-"))
        .replace("{{text}}", json.dumps(text, ensure_ascii=False))
        .replace("{{title}}", text["title"])
    )


_PAGE = """<!doctype html>
<html lang="{{lang}}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{title}}</title>
<style>
body{font:18px/1.4 system-ui,"Noto Sans CJK SC",sans-serif;margin:0;background:#e9eef3}
main{max-width:32rem;margin:0 auto;padding:1rem}
#chat{background:#fff;border-radius:.5rem;padding:.5rem;min-height:50vh;overflow-y:auto}
.m{margin:.4rem 0;padding:.5rem .7rem;border-radius:.6rem;white-space:pre-wrap;max-width:85%}
.bot{background:#f1f5f9}.user{background:#d9fdd3;margin-left:auto;text-align:right}
button{font-size:1.1rem;padding:.6rem .8rem;margin:.2rem;border-radius:.4rem;
border:1px solid #94a3b8;background:#fff;cursor:pointer}
#keys button{display:inline-block;min-width:45%}
form{display:flex;gap:.4rem;margin-top:.5rem}input{flex:1;font-size:1.1rem;padding:.5rem}
</style></head><body><main>
<h1>{{title}}</h1><p id="intro"></p>
<div id="who"><input id="phone"><button id="go"></button></div>
<div id="chat" hidden></div><div id="keys"></div>
<form id="f" hidden><input id="t"><button id="send"></button></form>
</main><script>
const T={{text}};const $=id=>document.getElementById(id);
$("intro").textContent=T.intro;$("phone").placeholder=T.phone;$("go").textContent=T.start;
$("send").textContent=T.send;$("t").placeholder=T.placeholder;
let uid=null;
async function post(path,body){const r=await fetch(path,{method:"POST",
 headers:{"content-type":"application/json"},body:JSON.stringify(body)});return r.json();}
async function refresh(){if(!uid)return;
 const r=await (await fetch(`/sandbox/users/${uid}/messages?all=1`)).json();
 const chat=$("chat");chat.innerHTML="";const keys=$("keys");keys.innerHTML="";
 for(const m of r.messages){const d=document.createElement("div");
  d.className="m "+m.from;d.textContent=m.text||("["+m.kind+"]");chat.appendChild(d);
  if(m.inline&&m.buttons.length){const b=document.createElement("div");
   for(const label of m.buttons){const k=document.createElement("button");k.textContent=label;
    k.onclick=()=>post(`/sandbox/users/${uid}/press`,{button:label}).then(()=>setTimeout(refresh,300));
    b.appendChild(k);}chat.appendChild(b);}}
 for(const label of r.keyboard){const k=document.createElement("button");k.textContent=label;
  k.onclick=()=>post(`/sandbox/users/${uid}/press`,{button:label}).then(()=>setTimeout(refresh,300));
  keys.appendChild(k);}
 chat.scrollTop=chat.scrollHeight;}
$("go").onclick=async()=>{uid=Math.floor(Math.random()*1e9)+1000;
 const phone=$("phone").value.trim()||null;
 await post("/sandbox/users",{id:uid,first_name:"Sandbox",language_code:navigator.language,phone});
 $("who").hidden=true;$("chat").hidden=false;$("f").hidden=false;
 await post(`/sandbox/users/${uid}/send`,{text:"/start"});setTimeout(refresh,300);
 setInterval(refresh,1500);};
$("f").onsubmit=async e=>{e.preventDefault();const t=$("t").value;if(!t)return;$("t").value="";
 await post(`/sandbox/users/${uid}/send`,{text:t});setTimeout(refresh,300);};
</script></body></html>
"""
