"""`mealaid serve` under faults, as a real server process: a burst of requests is answered
within seconds (served, or told at once to try again), never frozen; storage that fails
(PostgreSQL out of reach, a full disk, a file that cannot be written) answers 503 with Retry-After,
not 500; `/healthz` says so; and the app recovers by itself when the storage is back."""

import asyncio
import contextlib
import os
import socket
import sqlite3
import subprocess
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url
from sqlalchemy.pool import QueuePool
from sqlmodel import select

from api.accounts.security import CSRF_HEADER, SESSION_COOKIE, csrf_token_for
from api.accounts.service import start_session
from core.clock import FixedClock, SystemClock
from core.db import Database, create_engine
from core.models import Menu, MenuItem
from core.types import Slot
from tests.apps import web_app
from tests.conftest import BACKENDS, POSTGRES_URL, SHANGHAI, TEMPLATES
from tests.e2e.browser import free_port
from tests.factories import Factory, make_staff
from tests.mealaid.processes import wait_until_serving
from tests.mealaid.test_commands import MEALAID

BURST = 100


def set_up(url: str, elders: int) -> dict:
    """A site with tomorrow's lunch on the menu, `elders` elders and an admin's session."""
    database = Database.from_url(url)
    clock = FixedClock(datetime.now(SHANGHAI))
    with database.transaction() as session:
        make = Factory(session, clock)
        site, dishes, _ = make.world()
        community = make.community()
        make.site(serves=[community])
        ids = [make.elder(site, name=f"长者{n}").id for n in range(elders)]
        admin = make_staff(make, "admin")
        token = start_session(session=session, clock=clock, account=admin)
        item = session.exec(
            select(MenuItem.id)
            .join(Menu)
            .where(
                MenuItem.dish_id == dishes[0].id,
                MenuItem.variant == "regular",
                Menu.slot == Slot.lunch.value,
                Menu.service_date == make.today + timedelta(days=1),
            )
        ).one()
    database.dispose()
    return {"token": token, "elders": ids, "item": item}


@contextlib.contextmanager
def server(url: str, **environment: str):
    port = free_port()
    process = subprocess.Popen(
        [MEALAID, "serve", "--port", str(port), "--no-scheduler"],
        env={**os.environ, "MEALAID_DATABASE_URL": url, **environment},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base) as http:
            wait_until_serving(http, process)
        yield base, process
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)
        assert "Traceback" not in output, output


def staff(base: str, token: str, timeout: float = 30) -> httpx.Client:
    headers = {CSRF_HEADER: csrf_token_for(token), "accept": "application/json"}
    return httpx.Client(
        base_url=base, cookies={SESSION_COOKIE: token}, headers=headers, timeout=timeout
    )


def answered_soon(response: httpx.Response) -> bool:
    """Served, refused by a rule, or told to try again: never a failure."""
    if response.status_code == 503:
        return "Retry-After" in response.headers
    return response.status_code < 500


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_burst_of_a_hundred_requests_is_answered_within_seconds(backend, tmp_path):
    url, drop = TEMPLATES.copy(backend, tmp_path)
    try:
        facts = set_up(url, elders=BURST // 2)
        with server(url) as (base, _):

            async def one(http: httpx.AsyncClient, n: int) -> tuple[float, httpx.Response]:
                started = time.monotonic()
                if n % 2:
                    response = await http.get("/api/v1/orders/board", params={"limit": 100})
                else:
                    response = await http.post(
                        "/api/v1/orders",
                        json={
                            "elder_id": facts["elders"][n // 2],
                            "item_id": facts["item"],
                            "idempotency_key": f"burst-order-{n:04d}",
                        },
                    )
                return time.monotonic() - started, response

            async def burst() -> list[tuple[float, httpx.Response]]:
                token = facts["token"]
                headers = {CSRF_HEADER: csrf_token_for(token), "accept": "application/json"}
                limits = httpx.Limits(max_connections=BURST)
                async with httpx.AsyncClient(
                    base_url=base,
                    cookies={SESSION_COOKIE: token},
                    headers=headers,
                    timeout=30,
                    limits=limits,
                ) as http:
                    return await asyncio.gather(*(one(http, n) for n in range(BURST)))

            results = asyncio.run(burst())
        slowest = max(seconds for seconds, _ in results)
        failed = [r for _, r in results if not answered_soon(r)]
        assert failed == [], [(r.status_code, r.text[:200]) for r in failed]
        assert slowest < 10, f"the slowest answer took {slowest:.1f} s"
        codes = sorted({r.status_code for _, r in results})
        assert set(codes) <= {200, 201, 503}, [
            r.text[:300] for _, r in results if r.status_code == 422
        ][:3]
        assert {200, 201} <= set(codes), codes  # the crowd was served, not merely turned away
    finally:
        drop()


def test_a_crowd_beyond_what_may_wait_is_told_to_try_again_at_once(tmp_path):
    """With room for no one to wait, the requests beyond the ones served get a quick 503."""
    url, drop = TEMPLATES.copy("sqlite", tmp_path)
    try:
        facts = set_up(url, elders=1)
        with server(url, MEALAID_MAX_WAITING_REQUESTS="0") as (base, _):

            async def crowd() -> list[httpx.Response]:
                token = facts["token"]
                headers = {CSRF_HEADER: csrf_token_for(token), "accept": "application/json"}
                async with httpx.AsyncClient(
                    base_url=base,
                    cookies={SESSION_COOKIE: token},
                    headers=headers,
                    timeout=30,
                    limits=httpx.Limits(max_connections=60),
                ) as http:
                    return await asyncio.gather(
                        *(http.get("/api/v1/orders/board") for _ in range(60))
                    )

            answers = asyncio.run(crowd())
        told = [r for r in answers if r.status_code == 503]
        assert told and all(r.headers["Retry-After"] == "5" for r in told)
        assert {r.json()["error"] for r in told} == {"busy"}
        assert all(r.status_code in (200, 503) for r in answers), [r.status_code for r in answers]
    finally:
        drop()


def _can_mount() -> bool:
    if os.geteuid() != 0:
        return False
    probe = Path("/tmp") / f"mealaid-mount-probe-{os.getpid()}"
    probe.mkdir(exist_ok=True)
    try:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(probe)], capture_output=True
        )
        if done.returncode != 0:
            return False
        subprocess.run(["umount", str(probe)], check=True)
        return True
    finally:
        probe.rmdir()


@pytest.fixture
def small_disk(tmp_path):
    """A file system of its own (a 16 MB tmpfs) to fill up."""
    if not _can_mount():
        pytest.skip("needs root and mount(8) to make a real full or read-only file system")
    folder = tmp_path / "disk"
    folder.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(folder)], check=True)
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def _wait_for(check, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "the app did not recover by itself"
        time.sleep(0.3)


def _order(http, facts: dict, n: int) -> httpx.Response:
    body = {
        "elder_id": facts["elders"][n],
        "item_id": facts["item"],
        "idempotency_key": f"fault-order-{n:04d}",
    }
    return http.post("/api/v1/orders", json=body)


def test_a_full_disk_answers_503_and_the_app_recovers_by_itself(small_disk):
    url, _ = TEMPLATES.copy("sqlite", small_disk)
    facts = set_up(url, elders=6)
    with server(url) as (base, _), staff(base, facts["token"]) as http:
        assert _order(http, facts, 0).status_code == 201
        # Fill the disk to the last byte. A write that still fits in the space SQLite's log
        # already holds goes through (and is kept); the others are refused with 503, not 500.
        for block, name in (("64k", "filler"), ("512", "crumbs")):
            subprocess.run(
                ["dd", "if=/dev/zero", f"of={small_disk / name}", f"bs={block}"],
                capture_output=True,
                check=False,
            )
        full = [_order(http, facts, n) for n in range(1, 5)]
        assert {r.status_code for r in full} <= {201, 503}, [r.text for r in full]
        refused = [r for r in full if r.status_code == 503]
        assert refused, [r.text for r in full]
        assert all(r.json()["error"] == "busy" and r.headers["Retry-After"] for r in refused)
        assert http.get("/healthz").status_code in (200, 503)
        assert http.get("/api/v1/orders/board").status_code in (200, 503)
        (small_disk / "crumbs").unlink()
        (small_disk / "filler").unlink()
        _wait_for(lambda: http.get("/healthz").status_code == 200)
        assert _order(http, facts, 5).status_code == 201


def test_connections_opened_read_only_leave_the_pool_once_the_file_is_writable_again(tmp_path):
    """A connection opened while the file could not be written stays read-only for good: the
    app answers 503 while it is so, then drops such connections and recovers by itself."""
    url, _ = TEMPLATES.copy("sqlite", tmp_path)
    facts = set_up(url, elders=3)
    path = make_url(url).database
    read_only = threading.Event()

    def connect() -> sqlite3.Connection:
        mode = "ro" if read_only.is_set() else "rw"
        return sqlite3.connect(f"file:{path}?mode={mode}", uri=True, check_same_thread=False)

    database = Database(create_engine("sqlite://", creator=connect, poolclass=QueuePool))
    app = web_app(database=database, clock=SystemClock(SHANGHAI))
    with TestClient(app) as client:
        client.cookies.set(SESSION_COOKIE, facts["token"])
        client.headers.update(
            {CSRF_HEADER: csrf_token_for(facts["token"]), "accept": "application/json"}
        )
        assert _order(client, facts, 0).status_code == 201
        read_only.set()
        database.engine.dispose()  # the pool's connections are opened again, read-only
        refused = _order(client, facts, 1)
        assert refused.status_code == 503 and refused.json()["error"] == "busy"
        assert client.get("/healthz").status_code == 503
        read_only.clear()
        assert client.get("/healthz").status_code == 200
        assert _order(client, facts, 1).status_code == 201
    database.dispose()


class _Proxy:
    """A TCP relay to PostgreSQL that can be cut (every connection dropped, new ones refused)
    and restored, on the same port: the database going away and coming back."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self.listener: socket.socket | None = None
        self.pipes: list[socket.socket] = []
        self.lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            with self.lock:
                self.pipes += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        assert self.listener is not None
        # shutdown first: a bare close leaves the socket listening while accept() waits on it.
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        with self.lock:
            pipes, self.pipes = self.pipes, []
        for pipe in pipes:
            with contextlib.suppress(OSError):
                pipe.shutdown(socket.SHUT_RDWR)
                pipe.close()


@pytest.mark.skipif(POSTGRES_URL is None, reason="needs PostgreSQL")
def test_postgresql_out_of_reach_answers_503_fast_and_the_app_recovers(tmp_path):
    url, drop = TEMPLATES.copy("postgresql", tmp_path)
    try:
        facts = set_up(url, elders=4)
        parsed = make_url(url)
        proxy = _Proxy((parsed.host or "127.0.0.1", parsed.port or 5432))
        proxy.start()
        relayed = parsed.set(host="127.0.0.1", port=proxy.port).render_as_string(
            hide_password=False
        )
        with server(relayed) as (base, _), staff(base, facts["token"]) as http:
            assert _order(http, facts, 0).status_code == 201
            proxy.cut()  # connections in the pool are cut, new ones refused
            for n in (1, 2):
                started = time.monotonic()
                refused = _order(http, facts, n)
                assert refused.status_code == 503, refused.text
                assert refused.headers["Retry-After"] and time.monotonic() - started < 10
            health = http.get("/healthz")
            assert health.status_code == 503
            assert http.get("/api/v1/orders/board").status_code == 503
            proxy.start()
            _wait_for(lambda: http.get("/healthz").status_code == 200)
            assert _order(http, facts, 3).status_code == 201
    finally:
        drop()
