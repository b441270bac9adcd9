"""Benchmark: place N orders through the order service, each in its own transaction, on SQLite
and on PostgreSQL; print orders/second and p50/p95 latency, and write the results as JSON.

    .venv/bin/python bench/orders.py [--orders 20000] [--clients 1 2 4] [--json PATH]

PostgreSQL is measured when MEALAID_BENCH_POSTGRES_URL (or MEALAID_TEST_DATABASE_URL) is set; the
benchmark works in a schema of its own and drops it afterwards."""

import argparse
import json
import multiprocessing
import os
import queue
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.clock import FixedClock
from core.db import Database
from core.elders import create_elder
from core.menus import create_dish, publish_menu
from core.orders import place_order
from core.schemas import (
    CommunityCreate,
    DishCreate,
    ElderCreate,
    MealSlotCreate,
    MenuItemCreate,
    SiteCreate,
)
from core.settings import get_settings
from core.sites import create_community, create_site
from core.types import SiteKind, Slot

TZ = ZoneInfo("Asia/Shanghai")
DAYS = 14
DAY = date(2026, 11, 25)
VARIANTS = {
    "regular": ("regular", []),
    "low_salt": ("regular", ["low_salt"]),
    "soft": ("soft", ["low_salt", "low_sugar"]),
    "minced": ("minced", ["low_salt"]),
}


def seed(database: Database, clock: FixedClock, elders: int) -> tuple[int, list[int], list[int]]:
    """One site, `elders` elders, and 14 days of lunch and dinner menus."""
    today = clock.now().date()
    with database.transaction() as session:
        community = create_community(
            session=session,
            community_in=CommunityCreate(
                code="B1",
                name="基准社区",
                street="北京街",
                district="越秀区",
                city="广州市",
                lat=23.12,
                lon=113.27,
            ),
        )
        slot_times = dict(
            cutoff_time=clock_time(23, 0),
            delivery_start=clock_time(11, 0),
            delivery_end=clock_time(12, 30),
        )
        site = create_site(
            session=session,
            site_in=SiteCreate(
                code="BK",
                name="基准厨房",
                kind=SiteKind.central_kitchen,
                address="北京路1号",
                lat=23.12,
                lon=113.27,
                community_id=community.id,
                phone="020-1",
                offers_delivery=True,
                serves_community_ids=[community.id],
                slots=[
                    MealSlotCreate(slot=Slot.lunch, **slot_times),
                    MealSlotCreate(slot=Slot.dinner, **slot_times),
                ],
            ),
        )
        dishes = [
            create_dish(
                session=session,
                dish_in=DishCreate(code=f"BD{n}", name_zh=f"套餐{n}", name_en=f"Set {n}"),
            )
            for n in range(3)
        ]
        for offset in range(DAYS):
            for slot in (Slot.lunch, Slot.dinner):
                publish_menu(
                    session=session,
                    site_id=site.id,
                    service_date=today + timedelta(days=offset),
                    slot=slot,
                    items=[
                        MenuItemCreate(
                            dish_id=d.id,
                            variant=v,
                            texture=t,
                            diet_tags=tags,
                            price_fen=1500,
                            position=p,
                        )
                        for p, d in enumerate(dishes)
                        for v, (t, tags) in VARIANTS.items()
                    ],
                )
        elder_ids = [
            create_elder(
                session=session,
                clock=clock,
                elder_in=ElderCreate(
                    name=f"长者{n}",
                    address=f"北京路{n}号",
                    lat=23.12,
                    lon=113.27,
                    community_id=community.id,
                    birth_date=date(1942, 1, 1),
                ),
            ).id
            for n in range(elders)
        ]
        return site.id, [d.id for d in dishes], elder_ids


@dataclass(frozen=True)
class Target:
    """A database to measure, described so that each client process can open its own engine."""

    name: str
    url: str
    connect_args: tuple = ()

    def open(self) -> Database:
        return Database.from_url(self.url, connect_args=dict(self.connect_args))


def place_share(target: Target, site_id: int, share: list, barrier, results) -> None:
    """One client: wait until every client is ready, then place its orders one by one, each in
    its own transaction, as an API worker or the bot would."""
    database = target.open()
    clock = FixedClock(datetime.combine(DAY, clock_time(0, 1), tzinfo=TZ))
    settings = get_settings()  # core takes the settings' values as arguments
    latencies = []
    if barrier is not None:
        barrier.wait()
    started = time.time()
    for elder_id, day, slot, dish_id in share:
        began = time.perf_counter()
        with database.transaction() as session:
            place_order(
                session=session,
                clock=clock,
                elder_id=elder_id,
                site_id=site_id,
                service_date=day,
                slot=slot,
                dish_id=dish_id,
                variant="regular",
                idempotency_key=f"bench:{elder_id}:{day}:{slot}",
                max_order_quantity=settings.max_order_quantity,
                order_horizon_days=settings.order_horizon_days,
                programme_phone=settings.programme_phone,
            )
        latencies.append(time.perf_counter() - began)
    finished = time.time()
    database.dispose()
    results.put((started, finished, latencies))


def run(target: Target, orders: int, clients: int) -> dict:
    database = target.open()
    clock = FixedClock(datetime.combine(DAY, clock_time(0, 1), tzinfo=TZ))
    elders = -(-orders // (DAYS * 2))
    site_id, dish_ids, elder_ids = seed(database, clock, elders)
    database.dispose()
    requests = [
        (
            elder_ids[n % elders],
            DAY + timedelta(days=(n // elders) // 2),
            Slot.lunch if (n // elders) % 2 == 0 else Slot.dinner,
            dish_ids[n % 3],
        )
        for n in range(orders)
    ]
    if clients == 1:  # in this process, so that a profiler sees it
        results: queue.SimpleQueue = queue.SimpleQueue()
        place_share(target, site_id, requests, None, results)
        outcomes = [results.get()]
    else:
        context = multiprocessing.get_context("spawn")
        barrier, results = context.Barrier(clients), context.Queue()
        processes = [
            context.Process(
                target=place_share, args=(target, site_id, requests[i::clients], barrier, results)
            )
            for i in range(clients)
        ]
        for process in processes:
            process.start()
        outcomes = [results.get() for _ in processes]
        for process in processes:
            process.join()
    elapsed = max(end for _, end, _ in outcomes) - min(start for start, _, _ in outcomes)
    latencies = sorted(latency for _, _, mine in outcomes for latency in mine)
    database = target.open()
    with database.reading() as session:
        stored = session.execute(sa.text("SELECT count(*) FROM meal_order")).scalar_one()
    database.dispose()
    assert stored == orders, f"{stored} orders stored, {orders} placed"
    return {
        "orders": orders,
        "clients": clients,
        "seconds": round(elapsed, 3),
        "orders_per_second": round(orders / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 3),
        "p95_ms": round(latencies[int(len(latencies) * 0.95) - 1] * 1000, 3),
    }


@contextmanager
def sqlite_target() -> Iterator[Target]:
    with tempfile.TemporaryDirectory() as folder:
        target = Target("sqlite", f"sqlite:///{folder}/bench.db")
        database = target.open()
        database.migrate()
        database.dispose()
        yield target


@contextmanager
def postgres_target(url: str) -> Iterator[Target]:
    """A schema of its own on the server, dropped afterwards."""
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(url)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    target = Target("postgresql", url, (("options", f"-csearch_path={schema}"),))
    try:
        database = target.open()
        database.migrate()
        database.dispose()
        yield target
    finally:
        with admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument(
        "--clients",
        type=int,
        nargs="+",
        default=[1, 2, 4],
        help="concurrent client processes (API workers); one run per number",
    )
    parser.add_argument("--json", default="bench/results/orders.json")
    args = parser.parse_args()
    postgres_url = os.environ.get("MEALAID_BENCH_POSTGRES_URL") or os.environ.get(
        "MEALAID_TEST_DATABASE_URL"
    )
    targets = [sqlite_target] + ([lambda: postgres_target(postgres_url)] if postgres_url else [])
    rows = []
    for clients in args.clients:
        for make_target in targets:
            with make_target() as target:
                rows.append({"database": target.name, **run(target, args.orders, clients)})
                print(rows[-1], flush=True)
    header = (
        f"{'database':<12}{'clients':>8}{'orders':>9}{'seconds':>9}{'orders/s':>10}"
        f"{'p50 ms':>9}{'p95 ms':>9}"
    )
    print(header)
    for row in rows:
        print(
            f"{row['database']:<12}{row['clients']:>8}{row['orders']:>9}{row['seconds']:>9}"
            f"{row['orders_per_second']:>10}{row['p50_ms']:>9}{row['p95_ms']:>9}"
        )
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(rows, indent=2))
    print(f"results written to {args.json}")


if __name__ == "__main__":
    main()
