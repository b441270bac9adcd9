"""The web app for tests: one per test process and settings, pointed at each test's database
and clock.

FastAPI builds an app's included routes on the app's first request (0.3-0.6 s of CPU), and
hundreds of tests each made an app of their own. What differs between those apps is the
database, the clock and what requests leave on `app.state` (the writers' turn, the admission
line, the password checks: made afresh on each event loop), which `web_app` sets again for
each test. A test that changes the app itself (adds a route or a handler) gets it thrown away
after it (`return_web_apps`); one that asks for a second database at once gets an app of its
own; tests of the factory itself call `api.app.create_app`."""

from fastapi import FastAPI

from api.app import create_app
from core.clock import Clock, SystemClock
from core.db import Database
from core.settings import Settings, get_settings

_BUILT: dict[str, tuple[FastAPI, int, int]] = {}
# The current test's: settings → the database it was lent with.
_LENT: dict[str, Database] = {}


def web_app(
    *, database: Database, clock: Clock | None = None, settings: Settings | None = None
) -> FastAPI:
    settings = settings or get_settings()
    key = settings.model_dump_json()
    lent = _LENT.get(key)
    if lent is not None and lent is not database:
        return create_app(settings=settings, database=database, clock=clock)
    built = _BUILT.get(key)
    if built is None:
        app = create_app(settings=settings, database=database, clock=clock)
        _BUILT[key] = (app, len(app.router.routes), len(app.exception_handlers))
    else:
        app = built[0]
    _LENT[key] = database
    state = app.state
    state.settings = settings
    state.database = database
    state.clock = clock or SystemClock(settings.tz)
    state.writers_turn = state.admission = state.password_checks = None
    return app


def return_web_apps() -> None:
    """After each test: the apps are free again; one the test changed is not lent again."""
    for key in _LENT:
        app, routes, handlers = _BUILT[key]
        if len(app.router.routes) != routes or len(app.exception_handlers) != handlers:
            del _BUILT[key]
    _LENT.clear()
