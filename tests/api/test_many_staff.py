"""Many staff at once against the served app, with fewer worker threads than requests: every
look and every phone-in order is answered, none times out waiting for a lock or a
connection. (With each request's transaction opened in a worker thread, SQLite writers waited
for the write lock inside those threads until none was left for the lock's holder to finish
on: "database is locked" after 30 s.) Speed is measured by bench/api.py, not here."""

import asyncio
from datetime import datetime

import anyio.to_thread
import httpx
import pytest
from sqlmodel import func, select

from api.accounts.security import CSRF_HEADER, SESSION_COOKIE, csrf_token_for
from api.accounts.service import start_session
from core.audit import AuditEntry, verify_chain
from core.clock import FixedClock
from core.db import Database
from core.models import Menu, MenuItem, Order
from core.types import Slot
from tests.apps import web_app
from tests.conftest import SHANGHAI
from tests.e2e.browser import serving
from tests.factories import Factory, make_staff

STAFF = 24
THREADS = 3
VIEWS = 4


def _with_threads(app, tokens: int):
    """The app with the server's worker-thread pool cut to `tokens` (40 by default)."""

    async def limited(scope, receive, send):
        anyio.to_thread.current_default_thread_limiter().total_tokens = tokens
        await app(scope, receive, send)

    return limited


@pytest.fixture
def crowd(empty_database):
    clock = FixedClock(datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI))
    with empty_database.transaction() as session:
        make = Factory(session, clock)
        site, dishes, _ = make.world()
        elders = [make.elder(site, name=f"长者{n}").id for n in range(STAFF)]
        admin = make_staff(make, "admin")
        tokens = [start_session(session=session, clock=clock, account=admin) for _ in range(STAFF)]
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
    app = web_app(database=empty_database, clock=clock)
    return app, empty_database, tokens, elders, lunch


def _client(base: str, token: str) -> httpx.AsyncClient:
    headers = {CSRF_HEADER: csrf_token_for(token), "accept": "application/json"}
    return httpx.AsyncClient(
        base_url=base, cookies={SESSION_COOKIE: token}, headers=headers, timeout=60
    )


async def _orders(base: str, token: str, elder_id: int, item_id: int) -> list[int]:
    """Takes a phone-in order and looks at the board."""
    async with _client(base, token) as http:
        placed = await http.post(
            "/api/v1/orders",
            json={
                "elder_id": elder_id,
                "item_id": item_id,
                "idempotency_key": f"crowd-order-{elder_id}",
            },
        )
        board = await http.get("/api/v1/orders/board", params={"date": "2026-11-25"})
    return [placed.status_code, board.status_code]


async def _looks(base: str, token: str, elder_id: int) -> list[int]:
    """Looks at the board and at an elder's record, again and again (each look audited)."""
    answers = []
    async with _client(base, token) as http:
        for _ in range(VIEWS):
            board = await http.get("/api/v1/orders/board", params={"date": "2026-11-25"})
            elder = await http.get(f"/api/v1/elders/{elder_id}")
            answers += [board.status_code, elder.status_code]
    return answers


async def _everyone(base: str, tokens: list[str], elders: list[int], lunch: int) -> list:
    """Half the staff take a phone-in order, the other half keep looking, all at once."""
    half = len(tokens) // 2
    return await asyncio.gather(
        *(
            _orders(base, token, elder, lunch)
            for token, elder in zip(tokens[:half], elders[:half], strict=True)
        ),
        *(
            _looks(base, token, elder)
            for token, elder in zip(tokens[half:], elders[half:], strict=True)
        ),
    )


def test_a_crowd_of_staff_is_served_with_few_worker_threads(crowd):
    """Half the staff take orders while the other half keep looking (reads that record who
    looked), all at once on three worker threads."""
    app, database, tokens, elders, lunch = crowd
    half = STAFF // 2

    with serving(_with_threads(app, THREADS)) as base:
        answers = asyncio.run(_everyone(base, tokens, elders, lunch))

    assert answers == [[201, 200]] * half + [[200, 200] * VIEWS] * half
    with database.reading() as session:
        assert session.exec(select(func.count()).select_from(Order)).one() == half
        # Every order and every look left one audit entry, in one unbroken chain.
        looks = half + half * VIEWS * 2
        assert session.exec(select(func.count()).select_from(AuditEntry)).one() == half + looks
        assert verify_chain(session=session).intact


def _same_database_with_a_small_pool(database: Database) -> Database:
    """Two connections, none beyond, and a 5 s wait for one: where the crowd would fail."""
    url = database.engine.url.render_as_string(hide_password=False)
    return Database.from_url(url, pool_size=2, max_overflow=0, pool_timeout=5)


def test_more_staff_than_connections_wait_their_turn_rather_than_fail(crowd):
    """More requests at once than worker threads, and more threads than connections: a
    request must never hold a connection while it waits for a thread (to commit, say) when
    the threads are all waiting for connections. Without api.deps.Admission some were
    answered 503 after the pool's timeout, their connections "idle in transaction" meanwhile."""
    app, database, tokens, elders, lunch = crowd
    small = _same_database_with_a_small_pool(database)
    app = web_app(database=small, clock=app.state.clock)
    half = STAFF // 2

    try:
        with serving(_with_threads(app, 4)) as base:
            answers = asyncio.run(_everyone(base, tokens, elders, lunch))
    finally:
        small.dispose()
    assert answers == [[201, 200]] * half + [[200, 200] * VIEWS] * half
