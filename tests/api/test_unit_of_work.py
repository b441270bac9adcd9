"""A request's unit of work (api.deps._unit_of_work, get_session, get_reading_session) through
the real app: what a board view records, where and how often; a failed request leaves neither
its data nor its audit entries; views and writes at once all join one unbroken chain; the
fallback (api.audit_log.ViewRecording: SQLite, or a route that failed) records too; no
record, no answer; a refusal answered with the board records the view. Issue 19."""

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa
from fastapi import Request
from sqlalchemy import event
from sqlmodel import Session, col, func, select

import api.orders
from api.accounts.security import CSRF_HEADER, SESSION_COOKIE, csrf_token_for
from api.accounts.service import start_session
from api.audit_log import record_view
from api.deps import ClockDep, CurrentStaff, SessionDep
from core import audit
from core.accounts import StaffSession
from core.audit import AuditEntry, verify_chain
from core.clock import FixedClock
from core.db import Database, exclusive
from core.errors import Conflict, NotFound
from core.models import Menu, MenuItem, Order
from core.orders import place_order
from core.types import Slot
from tests.apps import web_app
from tests.conftest import SHANGHAI
from tests.factories import ORDER_LIMITS, Factory, make_staff

DAY = "2026-11-25"
BOARD = "/api/v1/orders/board"


@pytest.fixture
def world(empty_database: Database):
    clock = FixedClock(datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI))
    with empty_database.transaction() as session:
        make = Factory(session, clock)
        site, dishes, elder = make.world()
        elders = [elder.id] + [make.elder(site, name=f"长者{n}").id for n in range(4)]
        worker = make_staff(make, "community_worker", community_ids=[elder.community_id])
        admin = make_staff(make, "admin")
        tokens = {
            "worker": [start_session(session=session, clock=clock, account=worker) for _ in "abc"],
            "admin": [start_session(session=session, clock=clock, account=admin) for _ in "ab"],
        }
        lunch = session.exec(
            select(MenuItem.id)
            .join(Menu)
            .where(
                MenuItem.dish_id == dishes[0].id,
                MenuItem.variant == "regular",
                Menu.slot == Slot.lunch.value,
                Menu.service_date == make.today,
            )
        ).one()
        place_order(
            session=session,
            clock=clock,
            elder_id=elder.id,
            site_id=site.id,
            service_date=make.today,
            slot=Slot.lunch,
            dish_id=dishes[0].id,
            variant="regular",
            idempotency_key="on-the-board",
            **ORDER_LIMITS,
        )
        names = {"worker": f"staff:{worker.username}", "admin": f"staff:{admin.username}"}
        elder_name = elder.name
    app = web_app(database=empty_database, clock=clock)
    return app, empty_database, clock, tokens, names, elders, lunch, elder_name


Call = Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]


def _ask(app, *calls: tuple[str, Call], during=None) -> list[httpx.Response]:
    """Each (token, call) made at once through the app in this process (httpx's ASGI
    transport), each with its own staff session. `during`: a coroutine run alongside."""

    async def one(token: str, call: Call) -> httpx.Response:
        headers = {CSRF_HEADER: csrf_token_for(token), "accept": "application/json"}
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(
            transport=transport,
            base_url="http://mealaid.test",
            cookies={SESSION_COOKIE: token},
            headers=headers,
            timeout=60,
        ) as http:
            return await call(http)

    async def everything() -> list[httpx.Response]:
        # Made afresh on this event loop, as the app's lifespan does.
        app.state.writers_turn = app.state.admission = None
        asked = asyncio.gather(*(one(token, call) for token, call in calls))
        if during is None:
            return await asked
        answers, _ = await asyncio.gather(asked, during())
        return answers

    return asyncio.run(everything())


async def _board(http: httpx.AsyncClient) -> httpx.Response:
    return await http.get(BOARD, params={"date": DAY})


def _phone_in(elder_id: int, item_id: int) -> Call:
    async def call(http: httpx.AsyncClient) -> httpx.Response:
        body = {
            "elder_id": elder_id,
            "item_id": item_id,
            "idempotency_key": f"unit-of-work-{elder_id}",
        }
        return await http.post("/api/v1/orders", json=body)

    return call


def _entries(database: Database, action: str | None = None) -> list[AuditEntry]:
    with database.reading() as session:
        query = select(AuditEntry).order_by(col(AuditEntry.seq))
        if action is not None:
            query = query.where(AuditEntry.action == action)
        return list(session.exec(query))


def _chain_intact(database: Database) -> bool:
    with database.reading() as session:
        return verify_chain(session=session).intact


class Transactions:
    """What each transaction on the database's engine ran, as it ended (committed or rolled
    back): shows which transaction wrote an audit entry."""

    def __init__(self) -> None:
        self.ended: list[tuple[str, list[str]]] = []
        self._open: dict[object, list[str]] = {}
        self._lock = threading.Lock()

    def begin(self, connection: sa.Connection) -> None:
        with self._lock:
            self._open[connection] = []

    def statement(self, connection: sa.Connection, _cursor, statement: str, *_args) -> None:
        with self._lock:
            if connection in self._open:
                self._open[connection].append(" ".join(statement.split()))

    def end(self, how: str) -> Callable[[sa.Connection], None]:
        def ended(connection: sa.Connection) -> None:
            with self._lock:
                if connection in self._open:
                    self.ended.append((how, self._open.pop(connection)))

        return ended

    def writing(self, table: str) -> list[tuple[str, list[str]]]:
        """The transactions that inserted into `table`."""
        return [t for t in self.ended if any(s.startswith(f"INSERT INTO {table}") for s in t[1])]

    def reading(self, table: str) -> list[tuple[str, list[str]]]:
        return [t for t in self.ended if any(f"FROM {table}" in s for s in t[1])]


@contextmanager
def transactions(database: Database) -> Iterator[Transactions]:
    seen = Transactions()
    listeners = [
        ("begin", seen.begin),
        ("before_cursor_execute", seen.statement),
        ("commit", seen.end("commit")),
        ("rollback", seen.end("rollback")),
    ]
    for name, listener in listeners:
        event.listen(database.engine, name, listener)
    try:
        yield seen
    finally:
        for name, listener in listeners:
            event.remove(database.engine, name, listener)


def test_a_board_view_is_recorded_once_who_what_and_which_day_in_an_intact_chain(world):
    """On PostgreSQL in the board's own reading transaction, as it commits (one transaction,
    not two); on SQLite in a transaction of its own after it (a reading transaction there
    must not take the write lock), by api.audit_log.ViewRecording."""
    app, database, _clock, tokens, names, *_ = world
    before = len(_entries(database))

    with transactions(database) as seen:
        [answer] = _ask(app, (tokens["worker"][0], _board))
    assert answer.status_code == 200, answer.text

    after = _entries(database)
    assert len(after) == before + 1
    view = after[-1]
    assert (view.actor, view.action, view.subject, view.detail) == (
        names["worker"],
        "view_orders_board",
        "orders",
        DAY,
    )
    assert _chain_intact(database)

    [(how, wrote)] = seen.writing("audit_entry")
    assert how == "commit"
    board = seen.reading("meal_order")
    assert len(board) == 1  # the board was read in one transaction
    if database.dialect == "postgresql":
        assert board[0][1] is wrote  # the entry joined the reading transaction
    else:
        assert board[0][1] is not wrote
        assert not [s for s in board[0][1] if s.startswith(("INSERT", "UPDATE", "DELETE"))]


def test_the_board_page_is_recorded_once_too(world):
    app, database, _clock, tokens, names, *_ = world

    async def page(http: httpx.AsyncClient) -> httpx.Response:
        return await http.get("/orders", params={"date": DAY}, headers={"accept": "text/html"})

    [answer] = _ask(app, (tokens["admin"][0], page))
    assert answer.status_code == 200, answer.text
    views = _entries(database, "view_orders_board")
    assert [(v.actor, v.detail) for v in views] == [(names["admin"], DAY)]
    assert _chain_intact(database)


def test_the_staff_sessions_last_request_is_written_with_the_view(world):
    """Once a minute or so a request also writes down when its staff session was last seen
    (the idle timeout counts from there): with the view, whichever path writes that."""
    app, database, clock, tokens, *_ = world
    clock.advance(timedelta(minutes=5))  # the session's last request is due to be written

    [answer] = _ask(app, (tokens["worker"][0], _board))
    assert answer.status_code == 200
    with database.reading() as session:
        seen = session.exec(select(StaffSession.last_seen_at)).all()
    assert sorted(seen)[-1] == clock.now()  # this one's session; the others were not asked
    assert sum(1 for at in seen if at == clock.now()) == 1
    assert len(_entries(database, "view_orders_board")) == 1


def _failing_write_route(app) -> str:
    """A route that writes a row, records an audit entry and a view in its transaction, then
    fails as a use case refusing would (or with an error nobody expected)."""

    @app.post("/test/writes-then-fails")
    def writes_then_fails(
        request: Request, staff: CurrentStaff, session: SessionDep, clock: ClockDep, how: str
    ) -> None:
        session.exec(
            sa.update(StaffSession)
            .where(col(StaffSession.account_id) == staff.id)
            .values(last_seen_at=clock.now() + timedelta(days=1))
        )
        audit.record(
            session=session, clock=clock, actor=staff.actor, action="cancel_order", subject="x"
        )
        record_view(request, actor=staff.actor, action="view_elder", subject="elder:1")
        session.flush()
        if how == "refused":
            raise Conflict()
        raise RuntimeError("nobody expected this")

    return "/test/writes-then-fails"


@pytest.mark.parametrize("how", ["refused", "crashed"])
def test_a_request_that_fails_leaves_neither_its_data_nor_its_audit_entries(world, how):
    app, database, _clock, tokens, *_ = world
    path = _failing_write_route(app)
    with database.reading() as session:
        seen_before = sorted(session.exec(select(StaffSession.last_seen_at)).all())
    before = _entries(database)

    async def call(http: httpx.AsyncClient) -> httpx.Response:
        return await http.post(path, params={"how": how})

    [answer] = _ask(app, (tokens["worker"][0], call))
    assert answer.status_code == (409 if how == "refused" else 500)
    with database.reading() as session:
        assert sorted(session.exec(select(StaffSession.last_seen_at)).all()) == seen_before
    assert [e.seq for e in _entries(database)] == [e.seq for e in before]
    assert _chain_intact(database)


def test_a_board_view_whose_route_failed_is_still_recorded_once(world, monkeypatch):
    """The fallback: the request's transaction rolled back (on PostgreSQL the view is then
    not written in it), so ViewRecording writes the view that was recorded before the
    failure, once, in the chain."""
    app, database, _clock, tokens, names, *_ = world

    def fails(*_args, **_kwargs):
        raise NotFound()

    monkeypatch.setattr(api.orders, "_board", fails)
    with transactions(database) as seen:
        [answer] = _ask(app, (tokens["worker"][0], _board))
    assert answer.status_code == 404
    views = _entries(database, "view_orders_board")
    assert [(v.actor, v.detail) for v in views] == [(names["worker"], DAY)]
    assert _chain_intact(database)
    [(how, wrote)] = seen.writing("audit_entry")
    assert how == "commit" and not any("meal_order" in s for s in wrote)


def test_no_record_no_answer(world, monkeypatch):
    """When the view cannot be written the board is not sent: the failure is the answer."""
    app, database, _clock, tokens, _names, _elders, _lunch, elder_name = world
    [shown] = _ask(app, (tokens["worker"][1], _board))
    assert elder_name in shown.text  # the board shows the elder's name
    before = _entries(database)

    def cannot(**_kwargs):
        raise sa.exc.OperationalError("INSERT", {}, Exception("disk full"))

    monkeypatch.setattr(audit, "record", cannot)
    [answer] = _ask(app, (tokens["worker"][0], _board))
    assert answer.status_code >= 500
    assert elder_name not in answer.text
    assert [e.seq for e in _entries(database)] == [e.seq for e in before]


def test_board_views_and_writes_at_once_all_join_one_intact_chain(world):
    """Three board views and two phone-in orders at once (as many as the test database's pool
    lets in). On PostgreSQL the chain's lock is held elsewhere until all five wait for it at
    their commits, so they really meet there: each then takes its turn."""
    app, database, _clock, tokens, names, elders, lunch, _ = world
    calls = [
        (tokens["worker"][0], _board),
        (tokens["admin"][0], _phone_in(elders[1], lunch)),
        (tokens["worker"][1], _board),
        (tokens["admin"][1], _phone_in(elders[2], lunch)),
        (tokens["worker"][2], _board),
    ]
    during = _holding_the_chain(database, waiters=len(calls))

    answers = _ask(app, *calls, during=during)

    assert [a.status_code for a in answers] == [200, 201, 200, 201, 200], [a.text for a in answers]
    views = _entries(database, "view_orders_board")
    assert [v.actor for v in views] == [names["worker"]] * 3
    placed = _entries(database, "phone_in_order")
    assert sorted(p.subject for p in placed) == [f"elder:{elders[1]}", f"elder:{elders[2]}"]
    with database.reading() as session:
        assert session.exec(select(func.count()).select_from(Order)).one() == 3
        report = verify_chain(session=session)
    assert report.intact and report.entries == len(_entries(database))


def test_many_board_views_at_once_are_each_recorded(world):
    app, database, _clock, tokens, _names, *_ = world
    calls = [(token, _board) for token in tokens["worker"] * 3]

    answers = _ask(app, *calls)

    assert [a.status_code for a in answers] == [200] * len(calls)
    assert len(_entries(database, "view_orders_board")) == len(calls)
    assert _chain_intact(database)


def _holding_the_chain(database: Database, waiters: int):
    """On PostgreSQL: hold the audit chain's lock until `waiters` transactions wait for it,
    then let them go. (SQLite: every writer holds the database's write lock; nothing to hold.)"""
    if database.dialect != "postgresql":
        return None

    async def hold() -> None:
        holder = Session(database.engine)
        holder.begin()
        try:
            exclusive(holder, audit._APPEND_LOCK)
            deadline = time.monotonic() + 30
            while (waiting := await asyncio.to_thread(_waiting_for_locks, database)) < waiters:
                assert time.monotonic() < deadline, f"{waiting} of {waiters} met at the lock"
                await asyncio.sleep(0.05)
        finally:
            holder.rollback()
            holder.close()

    return hold


def _waiting_for_locks(database: Database) -> int:
    with database.engine.connect() as connection:
        return connection.execute(
            sa.text(
                "SELECT count(*) FROM pg_locks JOIN pg_database d ON d.oid = pg_locks.database"
                " WHERE locktype = 'advisory' AND NOT granted AND d.datname = current_database()"
            )
        ).scalar_one()


@pytest.mark.parametrize("refused", ["phone_in", "cancel"])
def test_a_refusal_shown_on_the_board_page_records_the_board_view(world, refused):
    """A refused phone-in order or cancel is answered with the board page (the day's orders,
    elders' names), in a writing request: that view is recorded in its transaction, once."""
    app, database, _clock, tokens, names, elders, lunch, elder_name = world
    with database.reading() as session:
        order = session.exec(select(Order.id).where(Order.elder_id == elders[0])).one()

    async def call(http: httpx.AsyncClient) -> httpx.Response:
        html = {"accept": "text/html"}
        if refused == "cancel":  # no such order
            return await http.post(f"/orders/{order + 1000}/cancel", headers=html)
        form = {"elder_id": str(elders[0]), "item_id": str(lunch), "quantity": "0"}
        return await http.post("/orders/phone-in", data=form | {"date": DAY}, headers=html)

    [answer] = _ask(app, (tokens["worker"][0], call))
    assert answer.status_code in (404, 422) and elder_name in answer.text, answer.text[:300]
    views = _entries(database, "view_orders_board")
    assert [(v.actor, v.detail) for v in views] == [(names["worker"], DAY)]
    assert _chain_intact(database)
