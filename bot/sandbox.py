"""The bot and the Bot API stand-in together on one event loop: `mealaid bot --sandbox` runs it in
the foreground; the tests and the benchmark run it in a background thread and chat over HTTP."""

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Awaitable, Coroutine
from datetime import UTC, datetime
from typing import Any, TypeVar

import uvicorn
from sqlmodel import col, select
from telegram import Update
from telegram.ext import CallbackContext, Job, SimpleUpdateProcessor

from bot.app import CONCURRENT_UPDATES, App, Services, build_application, send_notices
from bot.stand_in import StandIn, create_stand_in_app
from core.models import Site

TOKEN = "sandbox"
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _city_centre(services: Services) -> tuple[float, float]:
    """The middle of the city's sites: where a sandbox person is when they share a location."""
    with services.database.reading() as session:
        points = session.exec(select(Site.lat, Site.lon).where(col(Site.active).is_(True))).all()
    if not points:
        return (0.0, 0.0)
    return (sum(p[0] for p in points) / len(points), sum(p[1] for p in points) / len(points))


class ReportsHandled(SimpleUpdateProcessor):
    """PTB's own way of running updates (up to `CONCURRENT_UPDATES` at once), which then tells
    the stand-in that the update is handled: a test's press waits for the bot to be done with it
    rather than for a reply that may never come. The bot may run on another event loop (the
    web app's, by webhook): the report is made on the stand-in's."""

    def __init__(self, stand_in: StandIn, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(CONCURRENT_UPDATES)
        self.stand_in, self.loop = stand_in, loop
        stand_in.reports_handled = True

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        if not isinstance(update, Update):
            await coroutine
            return
        await self._report(self.stand_in.update_taken(update.update_id))
        try:
            await coroutine
        finally:
            await self._report(self.stand_in.update_handled(update.update_id))

    async def _report(self, report: Coroutine[Any, Any, None]) -> None:
        if asyncio.get_running_loop() is self.loop:
            await report
        else:
            await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(report, self.loop))


def _notices_job(application: App) -> Job[Any]:
    """The repeating job that sends the outbox (see `build_application`)."""
    jobs = application.job_queue.jobs()  # type: ignore[union-attr]  # built with the job-queue extra: never None
    [job] = [job for job in jobs if job.callback is send_notices]
    return job


def _report_notices(job: Job[Any], stand_in: StandIn) -> None:
    """Tell the stand-in each time a round of the outbox sender ends (see
    `StandIn.wait_for_reply`)."""

    async def counted(context: CallbackContext[Any, Any, Any, Any]) -> None:
        began = time.monotonic()
        try:
            await send_notices(context)
        finally:
            await stand_in.notices_sent(began)

    job.callback = counted
    stand_in.reports_notices = True


class Sandbox:
    """A stand-in server and the real bot Application polling it."""

    def __init__(self, services: Services, host: str = "127.0.0.1", port: int = 0) -> None:
        self.services = services
        self.host, self.port = host, port or free_port()
        self.stand_in = StandIn(TOKEN)
        self.stand_in.default_location = _city_centre(services)
        self.application: App | None = None
        self._server: uvicorn.Server | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start_server(self) -> None:
        config = uvicorn.Config(
            create_stand_in_app(self.stand_in),
            host=self.host,
            port=self.port,
            log_level="warning",
            lifespan="off",
        )
        self._server = uvicorn.Server(config)
        self._server_task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            await asyncio.sleep(0.01)

    async def start_bot(self) -> None:
        self.application = build_application(
            services=self.services,
            token=TOKEN,
            base_url=f"{self.url}/bot",
            updates=ReportsHandled(self.stand_in, asyncio.get_running_loop()),
        )
        notices = _notices_job(self.application)
        _report_notices(notices, self.stand_in)
        await self.application.initialize()
        await self.application.post_init(self.application)  # type: ignore[misc]  # set by build_application
        await self.application.updater.start_polling(poll_interval=0, timeout=5)  # type: ignore[union-attr]  # built for polling: has an updater
        await self.application.start()
        # The outbox's first round at once rather than a second after the start: what is owed
        # from before (a notice for someone just met, a test's reminder) goes out now.
        notices.job.modify(next_run_time=datetime.now(UTC))

    async def stop_bot(self) -> None:
        """Stop as a crash or a deploy would: whatever the next process needs is in the DB."""
        if self.application is None:
            return
        application, self.application = self.application, None
        stopping = asyncio.create_task(application.updater.stop())  # type: ignore[union-attr]  # built for polling: has an updater
        await asyncio.sleep(0)  # the updater has asked its polling loop to stop
        await self.stand_in.release_pollers()
        await stopping
        await self.stand_in.release_pollers(False)
        await application.stop()
        await application.shutdown()

    async def stop_server(self) -> None:
        if self._server is not None:
            # A long poll left by a bot that is gone (a killed process) would hold the server
            # until its timeout: uvicorn waits for requests in flight.
            await self.stand_in.release_pollers()
            self._server.should_exit = True
            with contextlib.suppress(asyncio.CancelledError):
                await self._server_task

    async def serve_forever(self) -> None:
        await self.start_server()
        await self.start_bot()
        try:
            await asyncio.Event().wait()
        finally:
            await self.stop_bot()
            await self.stop_server()


class SandboxThread:
    """A `Sandbox` on an event loop in a background thread, driven from synchronous code."""

    def __init__(self, services: Services) -> None:
        self.sandbox = Sandbox(services)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def _run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def start(self, bot: bool = True) -> "SandboxThread":
        """Start the stand-in, and the bot polling it unless `bot` is False (a test that runs
        the bot elsewhere, e.g. behind the web app's webhook)."""
        self.thread.start()
        self._run(self.sandbox.start_server())
        if bot:
            self._run(self.sandbox.start_bot())
        return self

    def reports_handled(self) -> ReportsHandled:
        """An update processor for a bot built elsewhere (behind the web app's webhook) that
        tells this stand-in which updates it has handled."""
        return ReportsHandled(self.sandbox.stand_in, self.loop)

    def restart_bot(self) -> None:
        self._run(self.sandbox.stop_bot())
        self._run(self.sandbox.start_bot())

    def stop(self) -> None:
        self._run(self.sandbox.stop_bot())
        self._run(self.sandbox.stop_server())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    @property
    def url(self) -> str:
        return self.sandbox.url
