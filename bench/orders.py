"""Benchmark: place N orders through the order service, each in its own transaction, on SQLite
and on PostgreSQL; print orders/second and p50/p95 latency, and write the results as JSON.

    .venv/bin/python bench/orders.py [--orders 20000] [--workers 1 4] [--json PATH]

PostgreSQL is measured when MEALAID_BENCH_POSTGRES_URL (or MEALAID_TEST_DATABASE_URL) is set; the
benchmark works in a schema of its own and drops it afterwards."""

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
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
from core.sites import create_community, create_site
from core.types import SiteKind, Slot

TZ = ZoneInfo("Asia/Shanghai")
DAYS = 14
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


def run(database: Database, orders: int, workers: int) -> dict:
    clock = FixedClock(datetime.combine(date(2026, 11, 25), clock_time(0, 1), tzinfo=TZ))
    elders = -(-orders // (DAYS * 2))
    site_id, dish_ids, elder_ids = seed(database, clock, elders)
    today = clock.now().date()
    requests = [
        (
            elder_ids[n % elders],
            today + timedelta(days=(n // elders) // 2),
            Slot.lunch if (n // elders) % 2 == 0 else Slot.dinner,
            dish_ids[n % 3],
        )
        for n in range(orders)
    ]
    latencies: list[float] = []
    lock = threading.Lock()

    def worker(share: list) -> None:
        mine = []
        for elder_id, day, slot, dish_id in share:
            started = time.perf_counter()
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
                )
            mine.append(time.perf_counter() - started)
        with lock:
            latencies.extend(mine)

    threads = [
        threading.Thread(target=worker, args=(requests[i::workers],)) for i in range(workers)
    ]
    started = time.perf_counter()
    if workers == 1:
        worker(requests)  # in this thread, so that a profiler sees it
    else:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    elapsed = time.perf_counter() - started
    with database.reading() as session:
        stored = session.execute(sa.text("SELECT count(*) FROM meal_order")).scalar_one()
    assert stored == orders, f"{stored} orders stored, {orders} placed"
    latencies.sort()
    return {
        "orders": orders,
        "workers": workers,
        "seconds": round(elapsed, 3),
        "orders_per_second": round(orders / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 3),
        "p95_ms": round(latencies[int(len(latencies) * 0.95) - 1] * 1000, 3),
    }


def sqlite_database(folder: str) -> Database:
    database = Database.from_url(f"sqlite:///{folder}/bench.db")
    database.migrate()
    return database


def postgres_database(url: str, schema: str) -> Database:
    admin = sa.create_engine(url)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    admin.dispose()
    database = Database.from_url(url, connect_args={"options": f"-csearch_path={schema}"})
    database.migrate()
    return database


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--json", default="bench/results/orders.json")
    args = parser.parse_args()
    postgres_url = os.environ.get("MEALAID_BENCH_POSTGRES_URL") or os.environ.get(
        "MEALAID_TEST_DATABASE_URL"
    )
    rows = []
    for workers in args.workers:
        with tempfile.TemporaryDirectory() as folder:
            database = sqlite_database(folder)
            rows.append({"database": "sqlite", **run(database, args.orders, workers)})
            database.dispose()
        if postgres_url:
            schema = f"bench_{uuid.uuid4().hex[:10]}"
            database = postgres_database(postgres_url, schema)
            try:
                rows.append({"database": "postgresql", **run(database, args.orders, workers)})
            finally:
                database.dispose()
                admin = sa.create_engine(postgres_url)
                with admin.begin() as connection:
                    connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
                admin.dispose()
    header = (
        f"{'database':<12}{'workers':>8}{'orders':>9}{'seconds':>9}{'orders/s':>10}"
        f"{'p50 ms':>9}{'p95 ms':>9}"
    )
    print(header)
    for row in rows:
        print(
            f"{row['database']:<12}{row['workers']:>8}{row['orders']:>9}{row['seconds']:>9}"
            f"{row['orders_per_second']:>10}{row['p50_ms']:>9}{row['p95_ms']:>9}"
        )
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(rows, indent=2))
    print(f"results written to {args.json}")


if __name__ == "__main__":
    main()
