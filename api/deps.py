"""Request dependencies: the unit of work, the clock, the app's settings, the reader's language,
who is asking and which roles a route lets in."""

import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import (
    AbstractAsyncContextManager,
    AbstractContextManager,
    asynccontextmanager,
    nullcontext,
)
from html import escape
from typing import Annotated, TypeVar

import anyio
import anyio.to_thread
from fastapi import Depends, Request
from sqlmodel import Session
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.accounts.access import Staff
from api.accounts.errors import AccessDenied, LoginRequired, SessionIdle, TooManyLogins
from api.accounts.models import Role
from api.accounts.service import touch_session
from api.errors import BUSY
from core import audit, i18n
from core.clock import Clock
from core.db import Database
from core.settings import Settings, get_settings

# The cookie that keeps the language a reader chose.
LANG_COOKIE = "mealaid_lang"
R = TypeVar("R")


def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


def writers_turn(request: Request) -> AbstractAsyncContextManager[object]:
    """SQLite lets one transaction write at a time. Requests that write wait their turn here,
    in the event loop and first come first served, rather than in worker threads inside
    SQLite's busy handler: waiting threads could take every worker (the holder of the lock
    then has none to finish on) and the busy handler lets late comers jump the queue until
    the early ones time out. PostgreSQL locks rows, not the database: no turn to wait."""
    if get_database(request).dialect != "sqlite":
        return nullcontext()
    state = request.app.state
    if getattr(state, "writers_turn", None) is None:
        state.writers_turn = anyio.Lock()
    turn: anyio.Lock = state.writers_turn
    return turn


def _password_checks(request: Request) -> anyio.CapacityLimiter:
    state = request.app.state
    if getattr(state, "password_checks", None) is None:
        state.password_checks = anyio.CapacityLimiter(state.settings.password_checks_at_once)
    limiter: anyio.CapacityLimiter = state.password_checks
    return limiter


def password_check_room(request: Request) -> None:
    """TooManyLogins (503) at once when as many password checks wait as may run: asked before
    a login counts its attempt, so a login turned away for the crowd is not a wrong password."""
    limiter = _password_checks(request)
    if limiter.statistics().tasks_waiting >= limiter.total_tokens:
        raise TooManyLogins()


async def password_check(request: Request, check: Callable[..., R], *args: object) -> R:
    """Run a password check (Argon2: a core for a tenth of a second) in a worker thread, at
    most `password_checks_at_once` at a time in this process (the rest wait in the event loop,
    holding no thread): a crowd of logins, or guesses from many addresses, cannot take every
    core and thread from the staff's pages (see password_check_room)."""
    limiter = _password_checks(request)
    return await anyio.to_thread.run_sync(functools.partial(check, *args), limiter=limiter)


def connection_permits(database: Database) -> int:
    """As many requests at once as the pool keeps connections (api.deps.Admission)."""
    size = getattr(database.engine.pool, "size", None)
    return max(size(), 1) if callable(size) else 10


class Admission:
    """Lets in as many requests at once as the database has connections; the rest wait their
    turn here, in the event loop, first come first served. Without it a crowd deadlocks: a
    request holds a connection while it waits for a worker thread (to commit, say), while
    every thread is taken by requests waiting for a connection, until the pool's timeout
    fails them. A turn ends when the answer starts going out (the database work is done by
    then), not when a slow client has read it all. Beyond `max_waiting_requests` waiting, or
    after `max_wait_seconds`, a request is answered at once: busy, try again (503,
    Retry-After), never a hang. Static files need no turn."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/static/"):
            await self.app(scope, receive, send)
            return
        state = scope["app"].state
        if getattr(state, "admission", None) is None:
            state.admission = _Turns(connection_permits(state.database))
        turns: _Turns = state.admission
        settings = state.settings
        if not await turns.admit(settings.max_waiting_requests, settings.max_wait_seconds):
            await _busy(scope, receive, send)
            return
        held = True

        def release() -> None:
            nonlocal held
            if held:
                held = False
                turns.permits.release()

        async def send_then_release(message: Message) -> None:
            if message["type"] == "http.response.start":
                release()
            await send(message)

        try:
            await self.app(scope, receive, send_then_release)
        finally:
            release()


class _Turns:
    def __init__(self, permits: int) -> None:
        self.permits = anyio.Semaphore(permits)
        self.waiting = 0

    async def admit(self, max_waiting: int, max_wait: float) -> bool:
        """A permit now, or after waiting in line (if the line has room) at most `max_wait`."""
        try:
            self.permits.acquire_nowait()
            return True
        except anyio.WouldBlock:
            pass
        if self.waiting >= max_waiting:
            return False
        self.waiting += 1
        try:
            with anyio.move_on_after(max_wait):
                await self.permits.acquire()
                return True
            return False
        finally:
            self.waiting -= 1


async def _busy(scope: Scope, receive: Receive, send: Send) -> None:
    """The answer to a request that found no turn: in the asker's language, JSON or a page."""
    request = Request(scope)
    locale = i18n.negotiate(
        request.query_params.get("lang")
        or request.cookies.get(LANG_COOKIE)
        or request.headers.get("accept-language")
    )
    message = i18n.gettext(BUSY, locale)
    headers = {"Retry-After": "5", "Cache-Control": "no-store"}
    response: Response
    if "text/html" in request.headers.get("accept", "") and not scope["path"].startswith("/api/"):
        response = HTMLResponse(f"<!doctype html><p>{escape(message)}</p>", 503, headers)
    else:
        response = JSONResponse({"error": "busy", "message": message}, 503, headers)
    await response(scope, receive, send)


@asynccontextmanager
async def _unit_of_work(
    work: AbstractContextManager[Session], last: Callable[[Session], None] | None = None
) -> AsyncIterator[Session]:
    """Open a unit of work here in the event loop and end it (commit or roll back, waiting for
    the database) in a worker thread. Opening touches no connection (one is taken at the first
    statement, in the route's thread), so it needs no trip to a thread of its own. As with
    fastapi.concurrency.contextmanager_in_threadpool, the end is shielded (a cancelled request
    still ends its transaction) and waits for no thread limit (it holds a connection).
    `last`: what is written in it after the route succeeded, in the trip that commits."""
    session = work.__enter__()
    try:
        yield session
    except BaseException as error:
        with anyio.CancelScope(shield=True):
            ended = await anyio.to_thread.run_sync(
                work.__exit__, type(error), error, error.__traceback__, limiter=_no_wait()
            )
        if not ended:
            raise
    else:

        def end() -> None:
            try:
                if last is not None:
                    last(session)
            except BaseException as error:
                if not work.__exit__(type(error), error, error.__traceback__):
                    raise
                return
            work.__exit__(None, None, None)

        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(end, limiter=_no_wait())


def _recorded(request: Request) -> Callable[[Session], None]:
    """Writes, in the request's own transaction, what it has left for after its answer
    (api.audit_log.ViewRecording): the views it recorded outside a writing transaction, and
    its staff session's last request (about once a minute). ViewRecording then has nothing
    left to write in a transaction of its own."""

    def write(session: Session) -> None:
        views = getattr(request.state, "views", None) or []
        touch = getattr(request.state, "touch_session", None)
        request.state.views, request.state.touch_session = [], None
        clock = request.app.state.clock
        for entry in views:
            audit.record(session=session, clock=clock, **entry)
        if touch:
            touch_session(session=session, clock=clock, token=touch)

    return write


def _no_wait() -> anyio.CapacityLimiter:
    """A limiter of its own: the call never waits for the shared thread limit."""
    return anyio.CapacityLimiter(1)


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One transaction per request, committed when the handler returns without error. It is
    also `request.state.writing`, so what the request records (api.audit_log.record_view)
    joins it rather than waiting for the write lock it holds; its staff session's last
    request is written in it too (`_recorded`)."""
    async with (
        writers_turn(request),
        _unit_of_work(get_database(request).transaction(), _recorded(request)) as session,
    ):
        request.state.writing = session
        try:
            yield session
        finally:
            request.state.writing = None


async def get_reading_session(request: Request) -> AsyncIterator[Session]:
    """One transaction that reads. On PostgreSQL, what the request recorded by the time the
    route returns (the views of personal data it showed) is written in it as it commits: one
    transaction rather than a second after it. The audit chain is locked only at a commit
    (core.audit.record), so a reading request holds no lock while it reads. After a failure
    nothing is written in it (it rolls back) and api.audit_log.ViewRecording writes the views
    as before. On SQLite a reading transaction must not take the write lock: ViewRecording
    writes them, waiting its turn (`writers_turn`)."""
    database = get_database(request)
    last = None if database.dialect == "sqlite" else _recorded(request)
    async with _unit_of_work(database.reading(), last) as session:
        yield session


# The dependencies below do no I/O: `async def`, so that FastAPI calls them in the event loop
# rather than each in a trip to a worker thread (where it runs a plain `def` dependency).


async def get_clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


async def get_app_settings(request: Request) -> Settings:
    """The web app's settings (`create_app(settings=...)`): what its routes pass on to the use
    cases that need one, so an app made with other settings is obeyed all the way down. (No
    I/O: `async`, so it costs no trip to a worker thread, as get_clock.)"""
    settings: Settings = request.app.state.settings
    return settings


async def get_locale(request: Request) -> str:
    locale: str = request.state.locale
    return locale


# scope="function": the transaction commits before the response leaves, so a client that
# follows a redirect (or retries) always sees what it was told was done.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
ReadSessionDep = Annotated[Session, Depends(get_reading_session, scope="function")]
ClockDep = Annotated[Clock, Depends(get_clock)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
LocaleDep = Annotated[str, Depends(get_locale)]


async def get_optional_staff(request: Request) -> Staff | None:
    """The logged-in member of staff, or None (found by the session middleware)."""
    return _staff_of(request)


async def get_staff(request: Request) -> Staff:
    """The logged-in member of staff; anyone else is sent to log in (401 for the API), told
    why when their session ended by the idle timeout."""
    staff = _staff_of(request)
    if staff is None:
        if getattr(request.state, "session_idle", False):
            raise SessionIdle(minutes=get_settings().session_idle_minutes)
        raise LoginRequired()
    return staff


def _staff_of(request: Request) -> Staff | None:
    staff: Staff | None = getattr(request.state, "staff", None)
    return staff


OptionalStaff = Annotated[Staff | None, Depends(get_optional_staff)]
CurrentStaff = Annotated[Staff, Depends(get_staff)]


def require_role(*roles: Role) -> Callable[[Staff], Awaitable[Staff]]:
    """A dependency letting in only these roles: `Annotated[Staff, Depends(require_role(...))]`."""
    allowed = frozenset(roles)

    async def check(staff: CurrentStaff) -> Staff:
        if staff.role not in allowed:
            raise AccessDenied()
        return staff

    return check


AdminStaff = Annotated[Staff, Depends(require_role(Role.admin))]
KitchenStaff = Annotated[Staff, Depends(require_role(Role.admin, Role.kitchen))]
# The day overview: counts only, no personal data; riders have their own page.
OverviewStaff = Annotated[
    Staff,
    Depends(require_role(Role.admin, Role.kitchen, Role.community_worker, Role.funder_auditor)),
]
RiderStaff = Annotated[Staff, Depends(require_role(Role.admin, Role.rider))]
# Settlement statements: the admin, and funder auditors (each only its own funder's).
StatementStaff = Annotated[Staff, Depends(require_role(Role.admin, Role.funder_auditor))]
# The orders board: the admin, kitchen staff (their kitchen's sites) and community workers
# (their communities' elders); phone-in orders and cancels by the admin and community workers.
BoardStaff = Annotated[
    Staff, Depends(require_role(Role.admin, Role.kitchen, Role.community_worker))
]
PhoneInStaff = Annotated[Staff, Depends(require_role(Role.admin, Role.community_worker))]
# The dashboard: the admin; a funder auditor sees only its own funder's spending.
DashboardStaff = Annotated[Staff, Depends(require_role(Role.admin, Role.funder_auditor))]

# The elders registry and the welfare alerts: the admin, and community workers (each only the
# elders of their own communities: api.accounts.access.may_see_elder).
RegistryStaff = Annotated[Staff, Depends(require_role(Role.admin, Role.community_worker))]

# The canteen counter: the admin, and canteen staff (each only their own sites:
# api.accounts.access.counter_sites).
CounterStaff = Annotated[Staff, Depends(require_role(Role.admin, Role.canteen))]
