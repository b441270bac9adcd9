"""Benchmark: aggregate N locked orders (default 100,000) for one kitchen and slot into the
production list, special-diet list and purchase list; print the time and write JSON.

    .venv/bin/python bench/kitchen.py [--orders 100000] [--repeat 5] [--json PATH]

Runs on SQLite in a temporary folder; on PostgreSQL too when MEALAID_BENCH_POSTGRES_URL is set."""

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import databases, write_json

from core.db import Database
from core.models import Community, Dish, Elder, MealSlot, Order, Site, SlotCutoff
from core.types import Slot
from kitchen.models import Ingredient, RecipeLine
from kitchen.service import production_list, purchase_list, special_diets

DAY = date(2026, 11, 25)
CANTEENS = 20
VARIANTS = [
    ("regular", "regular"),
    ("low_salt", "regular"),
    ("soft", "soft"),
    ("minced", "minced"),
    ("pureed", "pureed"),
]
CHUNK = 50_000


def make_day(database: Database, orders: int) -> None:
    now = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)
    with database.engine.begin() as connection:
        connection.execute(
            sa.insert(Community.__table__),
            [
                dict(
                    id=1,
                    code="B",
                    name="社区",
                    street="街",
                    district="区",
                    city="市",
                    lat=23.1,
                    lon=113.2,
                )
            ],
        )
        connection.execute(
            sa.insert(Site.__table__),
            [
                dict(
                    id=s,
                    code=f"S{s}",
                    name=f"站点{s}",
                    kind="central_kitchen" if s == 1 else "canteen",
                    address="路",
                    lat=23.1,
                    lon=113.2,
                    community_id=1,
                    phone="020",
                    kitchen_id=1,
                    offers_delivery=True,
                    offers_pickup=True,
                    offers_dine_in=True,
                    active=True,
                )
                for s in range(1, CANTEENS + 2)
            ],
        )
        connection.execute(
            sa.insert(MealSlot.__table__),
            [
                dict(
                    site_id=s,
                    slot="lunch",
                    cutoff_time=datetime.min.time(),
                    cutoff_days_before=0,
                    delivery_start=datetime.min.time(),
                    delivery_end=datetime.max.time(),
                )
                for s in range(1, CANTEENS + 2)
            ],
        )
        connection.execute(
            sa.insert(SlotCutoff.__table__),
            [
                dict(
                    site_id=s,
                    service_date=DAY,
                    slot="lunch",
                    locked_at=now,
                    orders_locked=0,
                    standing_orders_placed=0,
                )
                for s in range(1, CANTEENS + 2)
            ],
        )
        connection.execute(
            sa.insert(Dish.__table__),
            [
                dict(
                    id=d,
                    code=f"D{d}",
                    name_zh=f"套餐{d}",
                    name_en=f"Set {d}",
                    allergens=[],
                    diet_tags=[],
                )
                for d in range(1, 4)
            ],
        )
        connection.execute(
            sa.insert(Ingredient.__table__),
            [dict(id=1, code="rice", name_zh="大米", name_en="rice", kind="mass")],
        )
        connection.execute(
            sa.insert(RecipeLine.__table__),
            [dict(dish_id=d, ingredient_id=1, milli_per_portion=150_000) for d in range(1, 4)],
        )
    for start in range(0, orders, CHUNK):
        ids = range(start + 1, min(orders, start + CHUNK) + 1)
        with database.engine.begin() as connection:
            connection.execute(
                sa.insert(Elder.__table__),
                [
                    dict(
                        id=n,
                        name=f"长者{n}",
                        address="路",
                        lat=23.1,
                        lon=113.2,
                        community_id=1,
                        birth_date=date(1945, 1, 1),
                        texture="regular",
                        diet_needs=[],
                        allergies=["egg"] if n % 50 == 0 else [],
                        service_mode="delivery",
                        language="zh_CN",
                        status="active",
                        created_at=now,
                    )
                    for n in ids
                ],
            )
            rows = []
            for n in ids:
                variant, texture = VARIANTS[n % len(VARIANTS)]
                site = 1 + n % (CANTEENS + 1)
                rows.append(
                    dict(
                        id=n,
                        elder_id=n,
                        site_id=site,
                        service_date=DAY,
                        slot="lunch",
                        dish_id=1 + n % 3,
                        dish_name_zh=f"套餐{1 + n % 3}",
                        dish_name_en=f"Set {1 + n % 3}",
                        variant=variant,
                        texture=texture,
                        diet_tags=[],
                        allergens=[],
                        unit_price_fen=1500,
                        quantity=1,
                        total_fen=1500,
                        mode="delivery" if site == 1 else "dine_in",
                        status="locked",
                        source="standing",
                        idempotency_key=f"k{n}",
                        ordered_at=now,
                        updated_at=now,
                        locked_at=now,
                    )
                )
            connection.execute(sa.insert(Order.__table__), rows)


def measure(database: Database, orders: int, repeat: int) -> dict:
    timings = {"production": [], "special_diets": [], "purchase": []}
    for _ in range(repeat):
        with database.reading() as session:
            started = time.perf_counter()
            production = production_list(
                session=session, kitchen_id=1, service_date=DAY, slot=Slot.lunch
            )
            timings["production"].append(time.perf_counter() - started)
            started = time.perf_counter()
            special = special_diets(
                session=session, kitchen_id=1, service_date=DAY, slot=Slot.lunch
            )
            timings["special_diets"].append(time.perf_counter() - started)
            started = time.perf_counter()
            purchase = purchase_list(production, session=session)
            timings["purchase"].append(time.perf_counter() - started)
    assert production.final and production.portions == orders, production.portions
    assert purchase[0].milli == orders * 150_000
    return {
        "orders": orders,
        "lines": len(production.lines),
        "special": len(special),
        **{f"{name}_s": round(statistics.median(values), 3) for name, values in timings.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", default="bench/results/kitchen.json")
    args = parser.parse_args()
    rows = []
    for name, database in databases(os.environ.get("MEALAID_BENCH_POSTGRES_URL")):
        make_day(database, args.orders)
        rows.append({"database": name, **measure(database, args.orders, args.repeat)})
    print(
        f"{'database':<12}{'orders':>9}{'production s':>14}{'special diets s':>17}"
        f"{'purchase s':>12}"
    )
    for row in rows:
        print(
            f"{row['database']:<12}{row['orders']:>9,}{row['production_s']:>14}"
            f"{row['special_diets_s']:>17}{row['purchase_s']:>12}"
        )
    write_json(rows, args.json)


if __name__ == "__main__":
    main()
