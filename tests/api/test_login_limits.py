"""Logins that cannot stall the app or be guessed around their limit (issue 23, finding 6):
the password is checked with no database lock or transaction held (Argon2 takes a tenth of a
second, and SQLite lets one transaction write at a time); failures are limited per address as
well as per user name; and on both databases a crowd of guesses at once gets no more password
checks than the limit allows."""

import asyncio
import sqlite3
import threading
import time
from datetime import datetime

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url
from sqlmodel import func, select

import core.accounts as accounts
from api.accounts.models import LoginFailure
from core.clock import FixedClock
from core.settings import get_settings
from tests.apps import web_app
from tests.conftest import SHANGHAI
from tests.e2e.browser import serving
from tests.factories import PASSWORD, Factory, csrf_from, make_staff

LIMIT = 5  # MEALAID_LOGIN_MAX_FAILURES


class WatchingHasher:
    """The tests' hasher, noting at each password check whether the database was held: the
    SQLite write lock taken, or (PostgreSQL) a transaction of ours left open meanwhile."""

    def __init__(self, hasher, database) -> None:
        self.hasher, self.database = hasher, database
        self.checks: list[bool] = []
        self.lock = threading.Lock()

    def verify(self, stored: str, password: str) -> bool:
        held = self._database_held()
        with self.lock:
            self.checks.append(held)
        return self.hasher.verify(stored, password)

    def hash(self, password: str, *, salt: bytes | None = None) -> str:
        held = self._database_held()
        with self.lock:
            self.checks.append(held)
        return self.hasher.hash(password, salt=salt)

    def __getattr__(self, name: str):
        return getattr(self.hasher, name)

    def _database_held(self) -> bool:
        url = self.database.engine.url
        if url.get_backend_name() == "sqlite":
            probe = sqlite3.connect(url.database, timeout=0)
            try:
                probe.execute("BEGIN IMMEDIATE")
                probe.execute("ROLLBACK")
                return False
            except sqlite3.OperationalError:
                return True
            finally:
                probe.close()
        probe_engine = sa.create_engine(make_url(url), poolclass=sa.pool.NullPool)
        try:
            with probe_engine.connect() as connection:
                open_elsewhere = connection.execute(
                    sa.text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                        " AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'"
                    )
                ).scalar_one()
            return open_elsewhere > 0
        finally:
            probe_engine.dispose()


@pytest.fixture
def watched(empty_database, monkeypatch):
    clock = FixedClock(datetime(2026, 11, 25, 9, 0, tzinfo=SHANGHAI))
    with empty_database.transaction() as session:
        admin = make_staff(Factory(session, clock), "admin").username
    hasher = WatchingHasher(accounts.HASHER, empty_database)
    monkeypatch.setattr(accounts, "HASHER", hasher)
    app = web_app(database=empty_database, clock=clock)
    return app, empty_database, hasher, admin


def _log_in(client, username: str, password: str):
    token = csrf_from(client.get("/login").text)
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token},
        follow_redirects=False,
    )


def test_the_password_is_checked_with_no_database_lock_or_transaction_held(watched):
    app, _, hasher, admin = watched
    with TestClient(app) as client:
        assert _log_in(client, admin, "not the password").status_code == 401
        assert _log_in(client, "nobody-by-this-name", "whatever it is").status_code == 401
        assert _log_in(client, admin, PASSWORD).status_code == 303
    # Three checks (and, for the unknown name, the made-up hash it is checked against).
    assert len(hasher.checks) >= 3
    assert not any(hasher.checks), "a password was checked holding the database"


def test_a_password_change_checks_and_hashes_with_nothing_held(watched):
    app, _, hasher, admin = watched
    with TestClient(app) as client:
        assert _log_in(client, admin, PASSWORD).status_code == 303
        form = client.get("/account/password")
        changed = client.post(
            "/account/password",
            data={
                "current_password": PASSWORD,
                "new_password": "a new password for today",
                "new_password_again": "a new password for today",
                "csrf_token": csrf_from(form.text),
            },
        )
        assert changed.status_code == 200
    # The login's check, then the current password's check and the new one's hash.
    assert hasher.checks == [False, False, False]


def test_failures_are_limited_per_address_whatever_the_user_names(watched, monkeypatch):
    app, _, hasher, admin = watched
    monkeypatch.setenv("MEALAID_LOGIN_MAX_FAILURES_PER_ADDRESS", "8")
    get_settings.cache_clear()
    try:
        with TestClient(app) as client:
            # Made-up names, two tries each: under each name's limit, over the address's.
            for n in range(8):
                assert _log_in(client, f"guess{n // 2}", "not it at all").status_code == 401
            checked = len(hasher.checks)
            held = _log_in(client, admin, PASSWORD)
            assert held.status_code == 429
            assert len(hasher.checks) == checked, "the password was checked past the limit"
    finally:
        get_settings.cache_clear()


def test_a_crowd_of_guesses_at_once_gets_no_more_checks_than_the_limit(watched):
    app, _, hasher, admin = watched
    with serving(app) as base:

        async def guess(http: httpx.AsyncClient, n: int) -> int:
            page = await http.get("/login")
            answer = await http.post(
                "/login",
                data={
                    "username": admin,
                    "password": f"guess number {n}",
                    "csrf_token": csrf_from(page.text),
                },
            )
            return answer.status_code

        async def crowd() -> list[int]:
            async with httpx.AsyncClient(base_url=base, timeout=60) as http:
                await http.get("/login")  # the CSRF cookie, shared by the crowd
                return await asyncio.gather(*(guess(http, n) for n in range(20)))

        codes = asyncio.run(crowd())
    # Wrong, held by the limit, or (with one check at a time) told to try again in a moment.
    assert set(codes) <= {401, 429, 503} and 401 in codes, codes
    assert len(hasher.checks) <= LIMIT, f"{len(hasher.checks)} passwords checked"


class SlowHasher(WatchingHasher):
    """Argon2 as slow as the real one (a tenth of a second and more) without the memory."""

    def verify(self, stored: str, password: str) -> bool:
        time.sleep(0.3)
        return super().verify(stored, password)


def test_a_crowd_of_logins_is_checked_one_at_a_time_and_the_rest_told_to_try_again(watched):
    """One password check at a time and as many waiting (MEALAID_PASSWORD_CHECKS_AT_ONCE, 1):
    the others get a quick 503 with Retry-After, not a wrong password counted against them,
    so the staff's pages keep a core and their turns."""
    app, database, hasher, admin = watched
    slow = SlowHasher(hasher.hasher, database)
    accounts.HASHER = slow  # the fixture's monkeypatch puts the real one back
    with serving(app) as base:

        async def one(http: httpx.AsyncClient, n: int) -> httpx.Response:
            page = await http.get("/login")
            return await http.post(
                "/login",
                data={
                    "username": f"someone{n}",
                    "password": "x" * 12,
                    "csrf_token": csrf_from(page.text),
                },
            )

        async def crowd() -> list[httpx.Response]:
            async with httpx.AsyncClient(base_url=base, timeout=60) as http:
                await http.get("/login")
                return await asyncio.gather(*(one(http, n) for n in range(10)))

        answers = asyncio.run(crowd())
        told = [r for r in answers if r.status_code == 503]
        assert told and all(r.headers["Retry-After"] for r in told)
        assert {r.status_code for r in answers} <= {401, 503}
        # Turned away for the crowd, not for a wrong password: nothing was counted.
        with database.reading() as session:
            counted = session.exec(select(func.count()).select_from(LoginFailure)).one()
        assert counted == len(answers) - len(told)
        with httpx.Client(base_url=base) as http:
            page = http.get("/login")
            ok = http.post(
                "/login",
                data={"username": admin, "password": PASSWORD, "csrf_token": csrf_from(page.text)},
                follow_redirects=False,
            )
        assert ok.status_code == 303
