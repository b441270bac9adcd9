"""The python-telegram-bot Application: each update becomes one conversation step run in one
database transaction (in a worker thread, so the event loop never blocks), then its replies are
sent. The update id is recorded in the same transaction as what the step changed: a
re-delivered update does nothing again."""

import asyncio
import hashlib
import json
import logging
import ssl
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache, partial
from typing import Any, cast

import httpx
import sqlalchemy as sa
from sqlalchemy import event, exists
from sqlmodel import Session, col, select
from telegram import (
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.error import BadRequest, NetworkError, TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    BaseUpdateProcessor,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ExtBot,
    JobQueue,
    MessageHandler,
    filters,
)
from telegram.request import HTTPXRequest

from bot import conversation, notices, texts
from bot.callbacks import Callback
from bot.flows import onboarding, rider
from bot.models import HANDLED_UPDATES_KEPT, ChatState, HandledUpdate
from bot.turn import Link, Say, Turn, number_to_call
from core import i18n
from core.clock import Clock
from core.db import Database, upsert_insert
from core.errors import DomainError
from core.models import ChatUser, saved, table_of
from core.settings import Settings
from usecases.elders import chat_user_for, linked_elders

log = logging.getLogger(__name__)
Step = Callable[[Turn], list[Say]]


@dataclass(frozen=True)
class Services:
    """What every handler needs, kept in `application.bot_data`."""

    database: Database
    clock: Clock
    settings: Settings
    workers: ThreadPoolExecutor = field(init=False)
    threads: int = field(init=False)

    def __post_init__(self) -> None:
        # SQLite has one writer at a time and every step writes (the update id): one database
        # thread runs them back to back instead of several threads queueing on the lock and
        # fighting over the GIL while they hold it. PostgreSQL steps run side by side.
        threads = 1 if self.database.dialect == "sqlite" else 4
        object.__setattr__(self, "threads", threads)
        if not event.contains(self.database.engine, "after_cursor_execute", _count_writes):
            event.listen(self.database.engine, "after_cursor_execute", _count_writes)
        object.__setattr__(
            self, "workers", ThreadPoolExecutor(threads, thread_name_prefix="bot-db")
        )
        # Open the connections those threads will use now, so the first people of the day do not
        # wait for them (a PostgreSQL connection takes tens of milliseconds to open).
        with ExitStack() as opened:
            for _ in range(threads):
                opened.enter_context(self.database.engine.connect())


Inline = InlineKeyboardMarkup | None
# The Application as built here: PTB's default context, bot data, chat data and user data.
App = Application[
    ExtBot[None],
    ContextTypes.DEFAULT_TYPE,
    dict[Any, Any],
    dict[Any, Any],
    dict[Any, Any],
    JobQueue[ContextTypes.DEFAULT_TYPE],
]


# Updates of different chats run side by side; each chat's steps stay in order because a person
# waits for the answer before pressing the next button.
CONCURRENT_UPDATES = 16


def build_application(
    *,
    services: Services,
    token: str,
    base_url: str,
    webhook: bool = False,
    updates: BaseUpdateProcessor | None = None,
) -> App:
    """The bot, wired to a Bot API at `base_url` (Telegram's, or the local stand-in). With
    `webhook`, updates come from the web app's webhook endpoint instead of long polling.
    `updates` runs each update in place of PTB's own processor (the sandbox's tells the
    stand-in when an update is handled); it allows `CONCURRENT_UPDATES` at once too."""
    builder = ApplicationBuilder()
    if webhook:
        builder = builder.updater(None)
    application = (
        builder.token(token)
        # PTB's own defaults (256 connections for requests, one for fetching updates), on one
        # TLS context for the process.
        .request(HTTPXRequest(connection_pool_size=256, httpx_kwargs={"verify": _tls()}))
        .get_updates_request(HTTPXRequest(httpx_kwargs={"verify": _tls()}))
        .base_url(base_url)
        .base_file_url(base_url.replace("/bot", "/file/bot"))
        .concurrent_updates(updates or CONCURRENT_UPDATES)
        .post_init(_set_commands)
        .build()
    )
    application.bot_data["services"] = services
    application.add_handler(CommandHandler("start", on_start))
    application.add_handler(CommandHandler("cancel", on_cancel))
    application.add_handler(CommandHandler("help", on_help))
    application.add_handler(CommandHandler("route", on_route))
    application.add_handler(MessageHandler(filters.CONTACT, on_contact))
    application.add_handler(MessageHandler(filters.LOCATION, on_location))
    application.add_handler(CallbackQueryHandler(on_button))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, on_text))
    # Stickers, photos, voice, unknown commands: a short help line and the menu again.
    application.add_handler(MessageHandler(filters.ALL, on_anything_else))
    application.add_error_handler(on_error)
    application.job_queue.run_repeating(  # type: ignore[union-attr]  # built with the job-queue extra: never None
        send_notices, interval=services.settings.notice_interval_seconds, first=1
    )
    return application


@cache
def _tls() -> ssl.SSLContext:
    """The TLS context of the bot's connections to Telegram, made once: each HTTP client would
    otherwise load the certificate store again (50 ms of CPU), and a bot has two, made anew
    whenever an Application is built (every test of the bot builds one)."""
    return httpx.create_ssl_context()


async def _set_commands(application: App) -> None:
    """The command list Telegram shows: Chinese by default, English for English clients."""
    for locale, language_code in (("zh_CN", None), ("en", "en")):
        await application.bot.set_my_commands(
            [
                BotCommand(name, i18n.gettext(description, locale))
                for name, description in texts.COMMANDS
            ],
            language_code=language_code,
        )


# -- one step, one transaction ---------------------------------------------------------------


def _count_writes(
    conn: sa.Connection,
    cursor: Any,
    statement: str,
    parameters: object,
    context: Any,
    executemany: bool,
) -> None:
    """Count the statements that changed rows on each connection (see `_run_step`)."""
    changed = context is not None and (context.isinsert or context.isupdate or context.isdelete)
    if changed and cursor.rowcount != 0:
        conn.info["writes"] = conn.info.get("writes", 0) + 1


def _writes(session: Session) -> int:
    writes: int = session.connection().info.get("writes", 0)
    return writes


@dataclass(frozen=True)
class Received:
    """An update as the record of handled updates knows it: the bot that received it, its id
    and a digest of what it says (see `HandledUpdate`)."""

    bot_id: int
    update_id: int
    digest: str

    @classmethod
    def of(cls, bot_id: int, update: Update) -> "Received":
        content = json.dumps(update.to_dict(), sort_keys=True, ensure_ascii=False, default=str)
        digest = hashlib.sha256(content.encode()).hexdigest()[:32]
        return cls(bot_id, update.update_id, digest)

    def handled(self) -> sa.Exists:
        """Whether this very update was handled (an older one under its id does not count)."""
        return exists().where(
            col(HandledUpdate.bot_id) == self.bot_id,
            col(HandledUpdate.update_id) == self.update_id,
            col(HandledUpdate.digest) == self.digest,
        )


def _first_time(session: Session, received: Received, now: datetime) -> bool:
    """Record the update as handled; False if another worker recorded it meanwhile. A record
    of an older update under the same id is replaced."""
    insert = upsert_insert(session)(HandledUpdate).values(
        bot_id=received.bot_id,
        update_id=received.update_id,
        digest=received.digest,
        received_at=now,
    )
    statement = insert.on_conflict_do_update(
        index_elements=[HandledUpdate.bot_id, HandledUpdate.update_id],
        set_={"digest": insert.excluded.digest, "received_at": insert.excluded.received_at},
        where=col(HandledUpdate.digest) != insert.excluded.digest,
    ).returning(HandledUpdate.update_id)
    return session.execute(statement).first() is not None


FORGET_UPDATES_EVERY = timedelta(hours=1)
FORGET_AT_ONCE = 5000


def forget_old_updates(database: Database, now: datetime) -> int:
    """Forget up to `FORGET_AT_ONCE` handled updates too old for Telegram to deliver again
    (one short transaction: a long backlog goes in several). How many were forgotten."""
    table = table_of(HandledUpdate)
    old = (
        sa.select(table.c.bot_id, table.c.update_id)
        .where(table.c.received_at < now - HANDLED_UPDATES_KEPT)
        .limit(FORGET_AT_ONCE)
    )
    with database.transaction() as session:
        result = session.execute(
            sa.delete(table).where(sa.tuple_(table.c.bot_id, table.c.update_id).in_(old))
        )
        return result.rowcount  # type: ignore[attr-defined, no-any-return]  # a DELETE's CursorResult


def _state_of(session: Session, chat_user_id: int, now: datetime) -> ChatState:
    """A new chat state row, for a chat user the step's first read found none for (made once,
    even when two updates race)."""
    session.execute(
        upsert_insert(session)(ChatState)
        .values(chat_user_id=chat_user_id, data={}, updated_at=now)
        .on_conflict_do_nothing()
    )
    return session.get_one(ChatState, chat_user_id)


def _who(
    services: Services, session: Session, update: Update, received: Received, now: datetime
) -> tuple[ChatUser, ChatState] | None:
    """The person's chat user and chat state, made on first contact; None when this update was
    handled already. For someone the bot knows, all three come from one read: every step starts
    here."""
    person = update.effective_user
    if person is None:
        return None  # a channel's post: nobody to answer
    handled = received.handled()
    row = session.execute(
        select(ChatUser, ChatState, handled)
        .outerjoin(ChatState, col(ChatState.chat_user_id) == ChatUser.id)
        .where(col(ChatUser.telegram_user_id) == person.id)
    ).first()
    user, state, seen = row if row is not None else (None, None, session.scalar(select(handled)))
    if seen:
        return None
    if user is None:
        user = chat_user_for(
            session=session,
            telegram_user_id=person.id,
            name=person.full_name[:128],
            language=i18n.negotiate(person.language_code, services.settings.default_locale),
            clock=services.clock,
        )
    return user, state or _state_of(session, saved(user.id), now)


class _SeenAlready(Exception):
    """Another worker handled this update while this one worked on it: undo, say nothing."""


def _run_step(
    services: Services, bot_id: int, update: Update, step: Step
) -> tuple[str, list[Say]] | None:
    received = Received.of(bot_id, update)
    try:
        with services.database.transaction() as session:
            now = services.clock.now()
            before = _writes(session)
            known = _who(services, session, update, received, now)
            if known is None:
                return None
            user, state = known
            turn = Turn(session, services.clock, services.settings, user, state)
            try:
                # A refused step leaves nothing behind but the record that the update was seen.
                with session.begin_nested():
                    says = step(turn)
                    if state in session.dirty:
                        state.updated_at = now
                        session.add(state)
            except DomainError as error:
                says = _refusal(turn, error)
            # A press that changed nothing only redraws a screen: done again, it redraws the
            # same screen, so it need not be recorded (and costs no commit to disk). Anything
            # else is recorded in the same transaction as what it did.
            pressed = update.callback_query is not None
            if (not pressed or _writes(session) > before) and not _first_time(
                session, received, now
            ):
                raise _SeenAlready()
            return turn.locale, says
    except _SeenAlready:
        return None


def _refusal(turn: Turn, error: DomainError) -> list[Say]:
    """A rule said no: say why in a new message (the screen pressed stays as it was)."""
    return [Say(error.render(turn.locale), keyboard="main" if turn.elders() else None)]


async def _step(update: Update, context: ContextTypes.DEFAULT_TYPE, step: Step) -> None:
    services: Services = context.bot_data["services"]
    loop = asyncio.get_running_loop()
    result = await loop.run_in_executor(
        services.workers, _run_step, services, context.bot.id, update, step
    )
    query = update.callback_query
    if result is not None:
        locale, says = result
        for say in says:
            await _say(update, context, say, locale)
    if query is not None:
        try:
            await query.answer()
        except TelegramError as error:
            # Only the button's spinner depends on it; the reply has gone out already.
            log.info("callback query not answered: %s", error)


def _inline_button(label: str, data: Callback | Link) -> InlineKeyboardButton:
    if isinstance(data, Link):
        return InlineKeyboardButton(label, url=data.url)
    return InlineKeyboardButton(label, callback_data=data.encode())


def _markup(
    say: Say, locale: str
) -> InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None:
    if say.buttons:
        return InlineKeyboardMarkup(
            [[_inline_button(label, data) for label, data in row] for row in say.buttons]
        )

    def t(message: str) -> str:
        return i18n.gettext(message, locale)

    if say.keyboard in ("main", "location"):
        # The nearby list keeps the main menu under a button that shares where one is.
        labels = [t(label) for label in texts.MAIN_MENU]
        rows = [
            [KeyboardButton(label) for label in labels[i : i + 2]] for i in range(0, len(labels), 2)
        ]
        if say.keyboard == "location":
            rows.insert(0, [KeyboardButton(t(texts.SHARE_LOCATION), request_location=True)])
        return ReplyKeyboardMarkup(rows, resize_keyboard=True, is_persistent=True)
    if say.keyboard == "contact":
        return ReplyKeyboardMarkup(
            [
                [KeyboardButton(t(texts.SHARE_PHONE), request_contact=True)],
                [KeyboardButton(t(texts.HAVE_CODE))],
            ],
            resize_keyboard=True,
            is_persistent=True,
        )
    if say.keyboard == "remove":
        return ReplyKeyboardRemove()
    return None


async def _say(update: Update, context: ContextTypes.DEFAULT_TYPE, say: Say, locale: str) -> None:
    markup = _markup(say, locale)
    query = update.callback_query
    # Only buttons under the message can be edited in; a keyboard comes with a new message.
    editable = markup is None or isinstance(markup, InlineKeyboardMarkup)
    if say.edit and editable and query is not None and query.message is not None:
        try:
            await query.edit_message_text(say.text, reply_markup=cast(Inline, markup))
            return
        except BadRequest as error:
            if "not modified" in str(error).lower():
                return
            log.warning("could not edit a message, sending a new one: %s", error)
    chat = update.effective_chat
    if chat is not None:  # every update a step answers comes from a chat
        await context.bot.send_message(chat.id, say.text, reply_markup=markup)


# -- handlers --------------------------------------------------------------------------------


async def on_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/start: language first for newcomers, the menu for people we know."""
    await _step(update, context, onboarding.start)


async def on_cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/cancel: leave whatever step the chat is in."""
    await _step(update, context, conversation.cancel_flow)


async def on_help(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _step(update, context, lambda turn: conversation.menu_action(turn, "help"))


async def on_route(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/route: a rider's stops for today in order, with buttons for the next one."""
    await _step(update, context, rider.rider_route)


async def send_notices(context: ContextTypes.DEFAULT_TYPE) -> None:
    """The repeating job: send the outbox, each notice marked sent once Telegram has answered
    (see bot/notices.py); and now and then forget updates too old to be re-delivered."""
    services: Services = context.bot_data["services"]
    loop = asyncio.get_running_loop()

    def run(function: Callable[..., object], *args: object, **kwargs: object) -> Awaitable[object]:
        return loop.run_in_executor(services.workers, partial(function, *args, **kwargs))

    database, clock = services.database, services.clock
    now = clock.now()
    if now - context.bot_data.get("forgot_updates_at", datetime.min.replace(tzinfo=UTC)) >= (
        FORGET_UPDATES_EVERY
    ):
        while await run(forget_old_updates, database, now) == FORGET_AT_ONCE:
            pass  # a long backlog, in pieces: steps queued meanwhile run in between
        context.bot_data["forgot_updates_at"] = now
    outgoing = cast(
        list[notices.Outgoing], await run(notices.claim_due, database, clock, services.settings)
    )
    # Sends start within half the claim: each has its answer, or its timeout, long before the
    # claim runs out and another process could take the notice up.
    deadline = loop.time() + services.settings.notice_lease_seconds / 2
    sent: tuple[int, int] | None = None
    for index, notice in enumerate(outgoing):
        if loop.time() > deadline:
            if sent is not None:
                await run(notices.record_progress, database, clock, sent=sent)
            await run(notices.release, database, [n.notice_id for n in outgoing[index:]])
            return
        await run(notices.record_progress, database, clock, sent=sent, sending=notice.notice_id)
        sent = None
        markup = _markup(Say(notice.text, notice.buttons), notice.locale)
        try:
            message = await context.bot.send_message(
                notice.chat_id, notice.text, reply_markup=markup
            )
        except TelegramError as error:
            log.warning("notice %s not sent: %s", notice.notice_id, error)
            # A refusal (BadRequest, Forbidden, RetryAfter) means it did not go; a network
            # failure or a timeout may have come after Telegram took it.
            unknown = isinstance(error, NetworkError) and not isinstance(error, BadRequest)
            await run(
                notices.put_back, database, notice.notice_id, perhaps_sent=unknown or notice.again
            )
        else:
            sent = (notice.notice_id, message.message_id)
    if sent is not None:
        await run(notices.record_progress, database, clock, sent=sent)


async def on_contact(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A shared contact: Telegram vouches for the number if it is the sender's own."""
    message = update.effective_message
    contact = message.contact if message is not None else None
    if contact is None:  # the handler's filter lets only contacts through
        return
    await _step(
        update,
        context,
        lambda turn: onboarding.contact_shared(turn, contact.phone_number, contact.user_id),
    )


async def on_location(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A shared location: the canteens nearest to it."""
    message = update.effective_message
    where = message.location if message is not None else None
    if where is None:  # the handler's filter lets only locations through
        return
    await _step(
        update,
        context,
        lambda turn: conversation.location_shared(turn, where.latitude, where.longitude),
    )


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    if query is None:  # the handler takes only button presses
        return
    message = query.message
    key = f"tg:{message.chat.id}:{message.message_id}" if message else f"tgq:{query.id}"
    await _step(update, context, lambda turn: conversation.button(turn, query.data or "", key))


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    text = (message.text if message is not None else None) or ""
    await _step(update, context, lambda turn: conversation.typed(turn, text))


async def on_anything_else(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if update.effective_user is None:
        return
    await _step(update, context, onboarding.not_understood)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A bug, not a refusal: log it, apologise, never show the traceback."""
    log.error("update failed", exc_info=context.error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    services: Services = context.bot_data["services"]
    person = update.effective_user
    locale = i18n.negotiate(person.language_code if person else None)
    loop = asyncio.get_running_loop()
    phone = await loop.run_in_executor(
        services.workers, _apology_phone, services, person.id if person else None
    )
    text = i18n.render(texts.SOMETHING_WRONG, locale, {"phone": phone})
    try:
        await context.bot.send_message(update.effective_chat.id, text)
        if update.callback_query is not None:
            await update.callback_query.answer()
    except Exception:  # the apology itself failed (network): logged above already
        log.exception("could not apologise")


def _apology_phone(services: Services, telegram_user_id: int | None) -> str:
    """The number the apology gives, by the chat's one rule (bot.turn.number_to_call): the
    canteen of the elders this chat orders for, or the programme's when that cannot be read
    (what failed the step may fail this too)."""
    programme = services.settings.programme_phone
    if telegram_user_id is None:
        return programme
    try:
        with services.database.reading() as session:
            user = session.exec(
                select(ChatUser).where(ChatUser.telegram_user_id == telegram_user_id)
            ).first()
            if user is None or user.id is None:
                return programme
            elders = linked_elders(session=session, chat_user_id=user.id)
            return number_to_call(session, services.settings, elders)
    except Exception:
        log.exception("could not look up the number to call")
        return programme
