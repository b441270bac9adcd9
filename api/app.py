"""The FastAPI application factory: one app for the JSON API and the staff pages; each area
adds its router here."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import Depends, FastAPI, Request
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import account_pages as accounts
from api import (
    audit_log,
    counter,
    dashboard,
    elders,
    health,
    kitchen,
    meal_cards,
    menus,
    orders,
    overview,
    policy,
    rider,
    route_sheets,
    settlement,
    setup,
    staff_chats,
    welfare,
)
from api.accounts.security import install_session_middleware, verify_csrf
from api.audit_log import install_view_recording
from api.deps import LANG_COOKIE, Admission
from api.errors import BUSY_RESPONSE, install_busy_answer, install_error_handlers
from api.security_headers import SecurityHeaders
from api.templating import make_templates
from core import i18n
from core.clock import Clock, SystemClock
from core.db import Database
from core.settings import Settings, get_settings

if TYPE_CHECKING:  # python-telegram-bot is imported only by an app that runs the bot
    from telegram.ext import Application


class MealAidAPI(FastAPI):
    """FastAPI with the security headers outside everything, Starlette's handler of unexpected
    errors included (middleware added with `add_middleware` runs inside it): a 500 carries
    them as well."""

    def build_middleware_stack(self) -> ASGIApp:
        settings: Settings = self.state.settings
        return SecurityHeaders(
            super().build_middleware_stack(), production=settings.environment == "production"
        )


class ChooseLanguage:
    """The reader's language: ?lang= (remembered in a cookie), the cookie, the browser; the
    answer says which (Content-Language). Plain ASGI (as api.audit_log.ViewRecording)."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        chosen = request.query_params.get("lang")
        if chosen in i18n.LOCALES:
            request.state.locale = chosen
        else:
            remembered = request.cookies.get(LANG_COOKIE)
            request.state.locale = (
                remembered
                if remembered in i18n.LOCALES
                else i18n.negotiate(
                    request.headers.get("accept-language", "").split(",")[0],
                    self.settings.default_locale,
                )
            )
        cookie = None
        if chosen in i18n.LOCALES:
            cookie = Response()
            cookie.set_cookie(
                LANG_COOKIE,
                chosen,
                max_age=365 * 86400,
                samesite="lax",
                httponly=True,
                secure=self.settings.secure_cookies,
            )

        async def send_with_language(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if cookie is not None:
                    for name, value in cookie.raw_headers:
                        if name == b"set-cookie":
                            headers.append("set-cookie", value.decode("latin-1"))
                headers["Content-Language"] = request.state.locale.replace("_", "-")
            await send(message)

        await self.app(scope, receive, send_with_language)


def create_app(
    *,
    settings: Settings | None = None,
    database: Database | None = None,
    clock: Clock | None = None,
    telegram: "Application[Any, Any, Any, Any, Any, Any] | None" = None,
) -> FastAPI:
    """The app; with `telegram` (a bot Application built for webhooks) it also receives the bot's
    updates at /telegram/webhook and runs the bot for as long as it runs."""
    settings = settings or get_settings()
    refusal = settings.secret_refusal()
    if refusal is not None:
        # Started some other way than `mealaid serve` (which says so in the reader's language).
        raise RuntimeError(refusal[0].format(**refusal[1]))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Made afresh on this event loop (api.deps.writers_turn, api.deps.Admission).
        app.state.writers_turn = app.state.admission = None
        if telegram is None:
            yield
            return
        async with telegram:
            if telegram.post_init is not None:
                await telegram.post_init(telegram)
            await telegram.start()
            yield
            await telegram.stop()

    app = MealAidAPI(
        lifespan=lifespan,
        title="MealAid",
        summary="Community meal assistance for older people: orders, kitchens, routes, subsidies.",
        version="0.1.0",
        # Every POST/PUT/PATCH/DELETE must carry this browser's CSRF token.
        dependencies=[Depends(verify_csrf)],
        # Any request may find the database too busy to answer (api.errors.busy_response).
        responses={503: BUSY_RESPONSE},
    )
    app.state.settings = settings
    app.state.database = database or Database.from_url(settings.database_url)
    app.state.clock = clock or SystemClock(settings.tz)
    app.state.templates = make_templates()

    # Middleware added later runs earlier: the language first, so that a busy database met
    # while finding who is logged in or writing the views is answered in the reader's language.
    install_view_recording(app)
    install_session_middleware(app)
    install_busy_answer(app)
    app.add_middleware(ChooseLanguage, settings=settings)

    # Outermost: a request waits for its turn before it takes a thread or a connection.
    app.add_middleware(Admission)
    install_error_handlers(app)
    app.mount("/static", StaticFiles(packages=[("api", "static")]), name="static")
    app.include_router(health.router)
    app.include_router(accounts.router)
    app.include_router(audit_log.router)
    app.include_router(overview.router)
    app.include_router(kitchen.router)
    app.include_router(rider.router)
    app.include_router(route_sheets.router)
    app.include_router(settlement.router)
    app.include_router(menus.router)
    app.include_router(policy.router)
    app.include_router(setup.router)
    app.include_router(orders.router)
    app.include_router(counter.router)
    app.include_router(staff_chats.router)
    app.include_router(dashboard.router)
    app.include_router(elders.router)
    app.include_router(meal_cards.router)
    app.include_router(welfare.router)
    app.state.telegram = telegram
    if telegram is not None:
        from api import telegram as webhook

        app.include_router(webhook.router)
    return app
