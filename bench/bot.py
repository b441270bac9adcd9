"""Benchmark: N simulated people (default 50) chat with the real bot at the same time through
the Bot API stand-in, each ordering a meal (menu, day, meal, set, variant, confirm: six presses);
print p50/p95 latency from a press to the bot's reply and orders/second, and write JSON.

    .venv/bin/python bench/bot.py [--users 50] [--json PATH]

The bot runs as its own process (`mealaid bot --sandbox`), as in production; the people are
asyncio tasks in this process. SQLite always; PostgreSQL too when MEALAID_BENCH_POSTGRES_URL
(or MEALAID_TEST_DATABASE_URL) is set, in a schema of its own, dropped afterwards."""

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable
from datetime import datetime
from pathlib import Path

import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import bench_postgres_url, database_url, write_json
from orders import TZ, seed

from bot.sandbox import free_port
from bot.stand_in import SimulatedUser, StandIn, create_stand_in_app
from core.clock import FixedClock
from core.db import Database
from core.elders import chat_user_for, link_elder
from core.types import LinkRelation

ROOT = Path(__file__).resolve().parents[1]
FIRST_TELEGRAM_ID = 9_000_000
PRESSES = ("menu", "day", "meal", "set", "variant", "confirm")


def prepare(database: Database, users: int) -> None:
    """A kitchen with two weeks of menus and one elder per simulated person, already linked to
    that person's chat (linking is not what is measured)."""
    clock = FixedClock(datetime.now(TZ))
    _, _, elder_ids = seed(database, clock, users)
    with database.transaction() as session:
        for n, elder_id in enumerate(elder_ids):
            person = chat_user_for(
                session=session,
                telegram_user_id=FIRST_TELEGRAM_ID + n,
                name=f"bench {n}",
                language="zh_CN",
                clock=clock,
            )
            link_elder(
                session=session,
                chat_user_id=person.id,
                elder_id=elder_id,
                relation=LinkRelation.self_,
                verified_by="bench",
                clock=clock,
            )


async def one_person(
    stand_in: StandIn,
    n: int,
    think: float,
    latencies: dict[str, list[float]],
    rng: random.Random,
) -> bool:
    """Order a meal in six presses; True if the bot said it was ordered."""
    user = stand_in.add_user(SimulatedUser(FIRST_TELEGRAM_ID + n, f"P{n}", "zh"))
    # People arrive over the first few seconds, not all in the same millisecond.
    await asyncio.sleep(rng.uniform(0, think * 2))

    async def act(update: Awaitable[int], press: str) -> list[dict]:
        started = time.monotonic()
        update_id = await update
        replies = await stand_in.wait_for_reply(user.id, started, timeout=30, settle=0)
        replied = stand_in.first_reply_at.get(update_id, time.monotonic())
        latencies.setdefault(press, []).append(replied - started)
        if think:
            await asyncio.sleep(rng.uniform(think / 2, think * 1.5))
        return replies

    # The main menu is the reply keyboard the bot shows after linking; here the person types it.
    replies = await act(stand_in.send_text(user, "🍱 订餐"), "menu")
    for press in PRESSES[1:-1]:  # the first button each time
        if not replies or not replies[-1]["buttons"]:
            return False
        replies = await act(stand_in.press(user, replies[-1]["buttons"][0]), press)
    if not replies or "✅ 确认下单" not in replies[-1]["buttons"]:
        return False
    replies = await act(stand_in.press(user, "✅ 确认下单"), "confirm")
    return bool(replies) and replies[-1]["text"].startswith("✅")


async def drive(url: str, users: int, think: float) -> dict:
    """The stand-in (Telegram's part) and the people run here; the bot is its own process, as
    in production, polling this stand-in."""
    stand_in = StandIn("bench-token")
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_stand_in_app(stand_in), port=port, log_level="warning", lifespan="off"
        )
    )
    serving = asyncio.create_task(server.serve())
    environment = {
        **os.environ,
        "MEALAID_DATABASE_URL": url,
        "MEALAID_BOT_TOKEN": "bench-token",
        "MEALAID_BOT_API_BASE_URL": f"http://127.0.0.1:{port}/bot",
        # What is measured is ordering: no morning reminders arriving in the middle of it.
        "MEALAID_REMINDER_TIME": "23:59",
    }
    # The bot's own log (warnings, errors) goes to MEALAID_BENCH_BOT_LOG when it is set.
    log = open(os.environ.get("MEALAID_BENCH_BOT_LOG", os.devnull), "a")  # noqa: SIM115
    bot = subprocess.Popen(
        [Path(sys.executable).parent / "mealaid", "bot"],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    try:
        while not stand_in.polled:
            await asyncio.sleep(0.05)
        cpu_before = _cpu_seconds(bot.pid)
        latencies: dict[str, list[float]] = {}
        rng = random.Random(7)
        started = time.monotonic()
        results = await asyncio.gather(
            *(one_person(stand_in, n, think, latencies, rng) for n in range(users))
        )
        seconds = time.monotonic() - started
        bot_cpu = _cpu_seconds(bot.pid) - cpu_before
    finally:
        bot.terminate()
        try:
            # Not bot.wait() on this loop: the stand-in must keep answering the bot as it stops.
            await asyncio.to_thread(bot.wait, 15)
        except subprocess.TimeoutExpired:
            bot.kill()
        server.should_exit = True
        await serving
        log.close()
    ordered = sum(results)
    every = sorted(value for values in latencies.values() for value in values)
    return {
        "users": users,
        "think_s": think,
        "ordered": ordered,
        "presses": len(every),
        "seconds": round(seconds, 2),
        "orders_per_second": round(ordered / seconds, 1),
        **_percentiles(every),
        # The bot process's own CPU per press (user + system), whatever else the machine runs.
        "bot_cpu_ms_per_press": round(bot_cpu / len(every) * 1000, 1),
        # Which press is slow: ordering (confirm) writes and reserves budgets, the rest read.
        "by_press": {press: _percentiles(sorted(latencies.get(press, []))) for press in PRESSES},
    }


def _percentiles(values: list[float]) -> dict:
    if not values:
        return {}
    return {
        "p50_ms": round(statistics.median(values) * 1000, 1),
        "p95_ms": round(values[max(0, int(len(values) * 0.95) - 1)] * 1000, 1),
        "max_ms": round(values[-1] * 1000, 1),
    }


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(name: str, url: str, users: int, think: float) -> dict:
    database = Database.from_url(url)
    database.migrate()
    prepare(database, users)
    database.dispose()
    return {"database": name, **asyncio.run(drive(url, users, think))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument(
        "--think",
        type=float,
        nargs="+",
        default=[1.0, 0.0],
        help="seconds a person takes between presses (about; 0 = press as fast as replies come)",
    )
    parser.add_argument("--json", default="bench/results/bot.json")
    args = parser.parse_args()
    rows = []
    postgres = bench_postgres_url()
    for kind in ["sqlite"] + (["postgresql"] if postgres else []):
        for think in args.think:
            with database_url(kind, postgres) as url:
                rows.append(run(kind, url, args.users, think))
            print(rows[-1], flush=True)
    print(
        f"{'database':<12}{'users':>6}{'think s':>8}{'ordered':>8}{'presses':>8}{'seconds':>9}"
        f"{'orders/s':>9}{'p50 ms':>8}{'p95 ms':>8}{'max ms':>8}{'bot cpu ms/press':>18}"
    )
    for row in rows:
        print(
            f"{row['database']:<12}{row['users']:>6}{row['think_s']:>8}{row['ordered']:>8}{row['presses']:>8}"
            f"{row['seconds']:>9}{row['orders_per_second']:>9}{row['p50_ms']:>8}"
            f"{row['p95_ms']:>8}{row['max_ms']:>8}{row['bot_cpu_ms_per_press']:>18}"
        )
    print("p95 ms by press:")
    for row in rows:
        print(
            f"{row['database']:<12} think {row['think_s']:<4} "
            + "  ".join(f"{press} {row['by_press'][press].get('p95_ms')}" for press in PRESSES)
        )
    write_json(rows, args.json)


if __name__ == "__main__":
    main()
