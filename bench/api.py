"""Benchmark: 50 staff clients (default) at once against the web app, as `mealaid serve` runs
it: the orders board (GET /api/v1/orders/board, a day of a few hundred orders) and phone-in
orders (POST /api/v1/orders, each a new order through the same rules and billing as the chat).
Prints requests/second and p50/p95 latency per endpoint, and the CPU each request cost the
server, PostgreSQL and the benchmark's own clients (all on one machine), and writes JSON. The
orders meet the four kinds of payer (common.seed_payers), as a programme's do.

    .venv/bin/python bench/api.py [--clients 50,200] [--requests 20] [--processes 1,2]
        [--think 0,5] [--bad-logins 0,20] [--databases sqlite,postgresql] [--json PATH]

`--think 0` is staff working flat out, each asking again the moment an answer arrives: it
measures what the server can carry. `--think 5` gives each member of staff a pause before each
request, drawn at random around 5 s (exponential, seeded): still a busier desk than any real
one, and how a programme's staff meet the pages.

`--bad-logins 20` adds 20 clients that keep sending wrong passwords under made-up names while
the staff work (each a real Argon2 check in the server): a password guesser, or a crowd whose
passwords do not work. The limit per address is lifted for the run, so that every one of them
costs a password check, which is what is measured.

The app runs as `mealaid serve --no-scheduler` (with `--workers N` for N web processes, on
PostgreSQL only) on a local port; the clients are asyncio tasks here, each with its own
logged-in session. SQLite always; PostgreSQL too when MEALAID_BENCH_POSTGRES_URL (or
MEALAID_TEST_DATABASE_URL) is set, in a schema of its own, dropped afterwards."""

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import sqlalchemy as sa
from sqlmodel import select

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import bench_postgres_url, database_url, seed_payers, write_json
from orders import TZ, seed

from api.accounts.models import Role, StaffAccountCreate
from api.accounts.security import CSRF_HEADER, SESSION_COOKIE, csrf_token_for
from api.accounts.service import create_account, start_session
from bot.sandbox import free_port
from core.clock import FixedClock
from core.db import Database
from core.models import Menu, MenuItem
from core.orders import place_order
from core.settings import get_settings
from core.types import ServiceMode, Slot

ROOT = Path(__file__).resolve().parents[1]
BOARD_ORDERS = 400  # today's orders already on the board


def prepare(url: str, clients: int, requests: int) -> tuple[list[str], list[int], list[int], str]:
    """A kitchen with menus, enough elders for every phone-in order and today's board, an
    admin with one session per client. Returns the sessions, the elders to order for and
    tomorrow's lunch items."""
    database = Database.from_url(url)
    database.migrate()
    clock = FixedClock(datetime.now(TZ))
    site_id, dish_ids, elder_ids = seed(database, clock, BOARD_ORDERS + clients * requests)
    today = clock.now().date()
    # The board is looked at for the day after tomorrow (open for orders whatever the hour
    # the benchmark runs); the phone-in orders are for tomorrow's lunch.
    board_day = today + timedelta(days=2)
    settings = get_settings()  # core takes the settings' values as arguments
    with database.transaction() as session:
        seed_payers(session)
        for n, elder_id in enumerate(elder_ids[:BOARD_ORDERS]):
            place_order(
                session=session,
                clock=clock,
                elder_id=elder_id,
                site_id=site_id,
                service_date=board_day,
                slot=Slot.dinner,
                dish_id=dish_ids[n % len(dish_ids)],
                variant="regular",
                mode=ServiceMode.delivery,
                idempotency_key=f"board-{n}",
                max_order_quantity=settings.max_order_quantity,
                order_horizon_days=settings.order_horizon_days,
                programme_phone=settings.programme_phone,
            )
        admin = create_account(
            session=session,
            clock=clock,
            account_in=StaffAccountCreate(
                username="bench.admin", password="bench password 1", role=Role.admin
            ),
        )
        tokens = [
            start_session(session=session, clock=clock, account=admin) for _ in range(clients)
        ]
        items = session.exec(
            select(MenuItem.id)
            .join(Menu, Menu.id == MenuItem.menu_id)
            .where(
                Menu.site_id == site_id,
                Menu.service_date == today + timedelta(days=1),
                Menu.slot == Slot.lunch.value,
                MenuItem.variant == "regular",
            )
        ).all()
    database.dispose()
    return tokens, elder_ids[BOARD_ORDERS:], list(items), board_day.isoformat()


def _cpu_seconds(pid: int) -> float:
    """User and system CPU a process has used (Linux: /proc), 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _server_cpu(pid: int) -> float:
    """The server's CPU: its process and its own (uvicorn's web processes with --workers)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                children.append(int(stat.parent.name))
        except (OSError, ValueError):
            continue
    return _cpu_seconds(pid) + sum(_cpu_seconds(child) for child in children)


def _postgres_cpu(url: str, application: str) -> float:
    """The CPU of the PostgreSQL backends serving the server's connections (found by their
    application name), when PostgreSQL runs on this machine; 0 for SQLite."""
    if not url.startswith("postgresql"):
        return 0.0
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            pids = connection.execute(
                sa.text("SELECT pid FROM pg_stat_activity WHERE application_name = :name"),
                {"name": application},
            ).scalars()
            return sum(_cpu_seconds(pid) for pid in pids)
    finally:
        engine.dispose()


async def client_run(
    base: str,
    token: str,
    elders: list[int],
    items: list[int],
    board: str,
    requests: int,
    timings: dict,
    failures: dict,
    think: float,
    pauses: random.Random,
) -> None:
    """One member of staff: looks at the board, takes a phone-in order, and again, with a
    pause of about `think` seconds before each."""

    async def pause() -> None:
        if think:
            await asyncio.sleep(pauses.expovariate(1 / think))

    cookies = {SESSION_COOKIE: token}
    headers = {CSRF_HEADER: csrf_token_for(token), "accept": "application/json"}
    async with httpx.AsyncClient(
        base_url=base, cookies=cookies, headers=headers, timeout=120
    ) as http:
        for n in range(requests):
            await pause()
            started = time.perf_counter()
            seen = await _status(http.get(board))
            timings["board"].append(time.perf_counter() - started)
            failures["board"] += seen != 200
            body = {
                "elder_id": elders[n],
                "item_id": items[n % len(items)],
                "idempotency_key": f"bench-{token[:8]}-{n}",
            }
            await pause()
            started = time.perf_counter()
            placed = await _status(http.post("/api/v1/orders", json=body))
            timings["order"].append(time.perf_counter() - started)
            failures["order"] += placed != 201


async def guesser(base: str, n: int, done: asyncio.Event, tries: list[int]) -> None:
    """Wrong passwords under made-up names, one after another, until the staff are done."""
    async with httpx.AsyncClient(base_url=base, timeout=120) as http:
        page = await http.get("/login")
        token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        attempt = 0
        while not done.is_set():
            attempt += 1
            form = {"username": f"guess{n}x{attempt}", "password": "wrong", "csrf_token": token}
            if await _status(http.post("/login", data=form)) is not None:
                tries[0] += 1


async def _status(request: Awaitable[httpx.Response]) -> int | None:
    """The response's status, or None when the connection failed (counted as a failure)."""
    try:
        return (await request).status_code
    except httpx.TransportError:
        return None


async def drive(
    url: str,
    clients: int,
    requests: int,
    processes: int = 1,
    think: float = 0,
    bad_logins: int = 0,
) -> list[dict]:
    tokens, elders, items, board_day = prepare(url, clients, requests)
    board = f"/api/v1/orders/board?date={board_day}"
    port = free_port()
    # The server's connections carry a name of their own, so their backends' CPU can be read.
    application = f"bench-api-{uuid.uuid4().hex[:8]}"
    served = url
    if url.startswith("postgresql"):
        served = f"{url}{'&' if '?' in url else '?'}application_name={application}"
    environment = {**os.environ, "MEALAID_DATABASE_URL": served}
    if bad_logins:
        environment["MEALAID_LOGIN_MAX_FAILURES_PER_ADDRESS"] = str(10**9)
    log = open(os.environ.get("MEALAID_BENCH_API_LOG", os.devnull), "a")  # noqa: SIM115
    server = subprocess.Popen(
        [
            Path(sys.executable).parent / "mealaid",
            "serve",
            "--no-scheduler",
            "--port",
            str(port),
            "--workers",
            str(processes),
        ],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base) as probe:
            for _ in range(200):
                try:
                    if (await probe.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        timings: dict[str, list[float]] = {"board": [], "order": []}
        failures = {"board": 0, "order": 0}
        done, tries = asyncio.Event(), [0]
        guessers = [asyncio.create_task(guesser(base, n, done, tries)) for n in range(bad_logins)]
        cpu_before = (_server_cpu(server.pid), _postgres_cpu(url, application))
        client_before = time.process_time()
        started = time.monotonic()
        await asyncio.gather(
            *(
                client_run(
                    base,
                    token,
                    elders[c::clients],
                    items,
                    board,
                    requests,
                    timings,
                    failures,
                    think,
                    random.Random(c),
                )
                for c, token in enumerate(tokens)
            )
        )
        seconds = time.monotonic() - started
        done.set()
        await asyncio.gather(*guessers)
        cpu_after = (_server_cpu(server.pid), _postgres_cpu(url, application))
        client_cpu = time.process_time() - client_before
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
    answered = sum(len(values) for values in timings.values()) + tries[0]
    # CPU per request, both endpoints (and wrong logins) together: what the machine's cores
    # are spent on, whatever the load of other work on them.
    cpu_ms = {
        "server": round((cpu_after[0] - cpu_before[0]) * 1000 / answered, 2),
        "postgres": round((cpu_after[1] - cpu_before[1]) * 1000 / answered, 2),
        "clients": round(client_cpu * 1000 / answered, 2),
    }
    rows = []
    for endpoint, values in timings.items():
        values.sort()
        rows.append(
            {
                "endpoint": endpoint,
                "processes": processes,
                "clients": clients,
                "think_s": think,
                "bad_logins": bad_logins,
                "bad_login_tries": tries[0],
                "requests": len(values),
                "failed": failures[endpoint],
                "seconds": round(seconds, 2),
                # Both endpoints share the run: each one's rate is its requests over the run.
                "requests_per_second": round(len(values) / seconds, 1),
                "p50_ms": round(statistics.median(values) * 1000, 1),
                "p95_ms": round(values[int(len(values) * 0.95) - 1] * 1000, 1),
                "max_ms": round(values[-1] * 1000, 1),
                "cpu_ms_per_request": cpu_ms,
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", default="50", help="comma-separated, e.g. 50,200")
    parser.add_argument(
        "--processes", default="1", help="web processes, comma-separated (more than 1: PostgreSQL)"
    )
    parser.add_argument(
        "--think", default="0", help="mean pause before each request, seconds, comma-separated"
    )
    parser.add_argument(
        "--bad-logins", default="0", help="clients sending wrong passwords, comma-separated"
    )
    parser.add_argument("--requests", type=int, default=20, help="board views and orders each")
    parser.add_argument("--databases", default="sqlite,postgresql", help="comma-separated")
    parser.add_argument("--json", default="bench/results/api.json")
    args = parser.parse_args()
    rows = []
    postgres = bench_postgres_url()
    wanted = args.databases.split(",")
    for kind in [k for k in ("sqlite", "postgresql") if k in wanted]:
        if kind == "postgresql" and not postgres:
            print("postgresql skipped: set MEALAID_BENCH_POSTGRES_URL", file=sys.stderr)
            continue
        for processes in [int(p) for p in args.processes.split(",")]:
            if processes > 1 and kind == "sqlite":
                continue
            for think in [float(t) for t in args.think.split(",")]:
                for clients in [int(c) for c in args.clients.split(",")]:
                    for bad in [int(b) for b in args.bad_logins.split(",")]:
                        with database_url(kind, postgres) as url:
                            run = drive(url, clients, args.requests, processes, think, bad)
                            for row in asyncio.run(run):
                                rows.append({"database": kind, **row})
                                print(rows[-1], flush=True)
    print(
        f"{'database':<12}{'endpoint':<8}{'procs':>6}{'clients':>8}{'think':>6}{'guess':>6}"
        f"{'tries':>6}{'requests':>9}"
        f"{'failed':>7}"
        f"{'req/s':>8}{'p50 ms':>8}{'p95 ms':>8}{'max ms':>8}"
        f"  CPU ms/request: server, PostgreSQL, clients"
    )
    for row in rows:
        cpu = row["cpu_ms_per_request"]
        print(
            f"{row['database']:<12}{row['endpoint']:<8}{row['processes']:>6}{row['clients']:>8}"
            f"{row['think_s']:>6}{row['bad_logins']:>6}{row['bad_login_tries']:>6}"
            f"{row['requests']:>9}"
            f"{row['failed']:>7}{row['requests_per_second']:>8}{row['p50_ms']:>8}"
            f"{row['p95_ms']:>8}{row['max_ms']:>8}"
            f"  {cpu['server']}, {cpu['postgres']}, {cpu['clients']}"
        )
    write_json(rows, args.json)


if __name__ == "__main__":
    main()
