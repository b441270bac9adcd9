"""The web app as `mealaid serve` runs it: the staff pages and JSON API, and the bot by webhook
when its secret is set. `app` is the factory each of uvicorn's processes calls when the app
is served from several (`mealaid serve --workers N`)."""

from typing import TYPE_CHECKING

from fastapi import FastAPI

from api.app import create_app
from core.clock import Clock, SystemClock
from core.db import Database
from core.settings import Settings, get_settings
from mealaid import collector

if TYPE_CHECKING:
    from bot.app import App


def webhook_bot(database: Database, clock: Clock, settings: Settings) -> "App | None":
    """The bot, receiving Telegram's updates at /telegram/webhook, when a token and a webhook
    secret are set. It keeps nothing in memory between updates, so any process may take any
    update."""
    if not (settings.bot_token and settings.bot_webhook_secret):
        return None
    from bot.app import Services, build_application

    telegram = build_application(
        services=Services(database, clock, settings),
        token=settings.bot_token,
        base_url=settings.bot_api_base_url,
        webhook=True,
    )
    set_commands = telegram.post_init

    async def post_init(application: "App") -> None:
        if set_commands is not None:
            await set_commands(application)
        await application.bot.set_webhook(
            url=f"{settings.public_base_url.rstrip('/')}/telegram/webhook",
            secret_token=settings.bot_webhook_secret,
            allowed_updates=["message", "callback_query"],
        )

    telegram.post_init = post_init
    return telegram


def served_app(database: Database, clock: Clock, settings: Settings) -> FastAPI:
    served = create_app(
        settings=settings,
        database=database,
        clock=clock,
        telegram=webhook_bot(database, clock, settings),
    )
    collector.settle()  # the app and its routes last as long as the process
    return served


def app() -> FastAPI:
    """One web process's app, from the settings (the environment)."""
    settings = get_settings()
    return served_app(Database.from_url(settings.database_url), SystemClock(settings.tz), settings)
