"""Benchmark: a city's day after the cutoff, on PostgreSQL with `mealaid worker` processes.

A generated city: K central kitchens, each delivering lunch to S elders (standing orders, so
the cutoff makes the orders and reserves their subsidy) with a canteen beside it serving C more,
every meal closing at 10:00. Workers are started with their clock at the cutoff; measured is
the time from the cutoff until every meal is closed and until the last kitchen's routes are
stored (each elder with a chat is told their arrival in the same transaction), for each number
of workers asked for. Prints a table and writes JSON.

    .venv/bin/python bench/city_day.py [--kitchens 40] [--stops 300] [--canteen 50]
        [--workers 1,2,4] [--time-limit 10] [--json bench/results/city_day.json]

PostgreSQL from MEALAID_BENCH_POSTGRES_URL (else MEALAID_TEST_DATABASE_URL); each run gets a
schema of its own, dropped afterwards."""

import argparse
import math
import os
import random
import signal
import subprocess
import sys
import time as timer
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import col

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import bench_postgres_url, database_url, write_json

from core.clock import FixedClock
from core.db import Database
from core.models import Rider, SlotCutoff
from core.schemas import MealSlotCreate
from core.settings import get_settings
from core.standing import create_standing_order
from core.types import ServiceMode, SiteKind, Slot
from routing.records import PlannedSlot
from tests.factories import Factory, PolicyFactory

MEALAID = str(Path(sys.executable).parent / "mealaid")
SHANGHAI = ZoneInfo("Asia/Shanghai")
CUTOFF = time(10, 0)
# Kitchens sit on a grid 6 km apart; each one's elders within 3 km of it.
GRID_KM = 6.0
RADIUS_KM = 3.0
RIDER_CAPACITY = 15


def build_city(url: str, day: date, kitchens: int, stops: int, canteen: int, seed: int) -> None:
    rng = random.Random(seed)
    database = Database.from_url(url)
    database.migrate()
    made = datetime.combine(day, time(7, 0), tzinfo=SHANGHAI)
    clock = FixedClock(made)
    lunch = MealSlotCreate(
        slot=Slot.lunch, cutoff_time=CUTOFF, delivery_start=time(11, 0), delivery_end=time(12, 30)
    )
    with database.transaction() as session:
        rules = PolicyFactory(session)
        rules.policy()
        rules.rule(rules.funder(), amount_fen=300)
    side = math.ceil(math.sqrt(kitchens))
    number = 0
    for index in range(kitchens):
        lat = 23.0 + (index // side) * GRID_KM / 111.0
        lon = 113.2 + (index % side) * GRID_KM / 102.0
        with database.transaction() as session:
            make = Factory(session, clock)
            community = make.community()
            kitchen = make.site(
                serves=[community], kind=SiteKind.central_kitchen, lat=lat, lon=lon, slots=[lunch]
            )
            beside = make.site(serves=[community], lat=lat, lon=lon, slots=[lunch])
            dish = make.dish()
            make.menu(kitchen, [dish], day)
            make.menu(beside, [dish], day)
            for rider in range(math.ceil(stops * 1.5 / RIDER_CAPACITY)):
                session.add(
                    Rider(
                        name=f"骑手{index}-{rider}",
                        phone=f"137{index:04d}{rider:04d}",
                        kitchen_id=kitchen.id,
                        capacity=RIDER_CAPACITY,
                        shift_start=time(10, 30),
                        shift_end=time(13, 30),
                    )
                )
            for site, mode, count in (
                (kitchen, ServiceMode.delivery, stops),
                (beside, ServiceMode.dine_in, canteen),
            ):
                for _ in range(count):
                    number += 1
                    distance = RADIUS_KM * math.sqrt(rng.random())
                    angle = rng.uniform(0, 2 * math.pi)
                    elder = make.elder(
                        community,
                        phone=f"139{number:08d}",
                        lat=lat + distance * math.sin(angle) / 111.0,
                        lon=lon + distance * math.cos(angle) / 102.0,
                        service_mode=mode,
                    )
                    create_standing_order(
                        session=session,
                        clock=clock,
                        elder_id=elder.id,
                        site_id=site.id,
                        slot=Slot.lunch,
                        weekdays=[1, 2, 3, 4, 5, 6, 7],
                        mode=mode,
                        start_date=day,
                        max_order_quantity=get_settings().max_order_quantity,
                    )
    database.dispose()


def count(database: Database, table: type[SlotCutoff | PlannedSlot], day: date) -> int:
    with database.engine.connect() as connection:
        return connection.execute(
            sa.select(sa.func.count()).select_from(table).where(col(table.service_date) == day)
        ).scalar_one()


def run(url: str, day: date, kitchens: int, workers: int, time_limit: float) -> dict:
    cutoff = datetime.combine(day, CUTOFF, tzinfo=SHANGHAI)
    environment = {
        **os.environ,
        "MEALAID_DATABASE_URL": url,
        "MEALAID_PLAN_TIME_LIMIT_SECONDS": str(time_limit),
    }
    started = timer.monotonic()
    processes = [
        subprocess.Popen(
            [MEALAID, "worker", "--clock", cutoff.strftime("%Y-%m-%dT%H:%M")],
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
        )
        for _ in range(workers)
    ]
    database = Database.from_url(url)
    closed_after = planned_after = None
    try:
        while planned_after is None:
            timer.sleep(0.5)
            elapsed = timer.monotonic() - started
            if closed_after is None and count(database, SlotCutoff, day) >= 2 * kitchens:
                closed_after = elapsed
            if count(database, PlannedSlot, day) >= kitchens:
                planned_after = elapsed
            if any(process.poll() is not None for process in processes):
                raise RuntimeError("a worker stopped")
        with database.engine.connect() as connection:
            stops, riders = connection.execute(
                sa.select(sa.func.sum(PlannedSlot.stops), sa.func.sum(PlannedSlot.riders)).where(
                    PlannedSlot.service_date == day
                )
            ).one()
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(timeout=120)
        database.dispose()
    return {
        "workers": workers,
        "closed_s": round(closed_after or planned_after, 1),
        "planned_s": round(planned_after, 1),
        "stops": stops,
        "riders": riders,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kitchens", type=int, default=40)
    parser.add_argument("--stops", type=int, default=300)
    parser.add_argument("--canteen", type=int, default=50)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--time-limit", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", default="bench/results/city_day.json")
    args = parser.parse_args()
    postgres = bench_postgres_url()
    if not postgres:
        sys.exit("set MEALAID_BENCH_POSTGRES_URL (workers run on PostgreSQL)")
    day = datetime.now(SHANGHAI).date() + timedelta(days=1)
    rows = []
    print(
        f"{args.kitchens} kitchens x {args.stops} delivery stops (+{args.canteen} canteen meals "
        f"each), cutoff {CUTOFF:%H:%M}, {args.time_limit:g} s search per kitchen"
    )
    print(
        f"{'workers':>7} {'build s':>8} {'closed s':>9} {'planned s':>10} "
        f"{'stops':>6} {'riders':>6}"
    )
    for workers in [int(value) for value in args.workers.split(",")]:
        with database_url("postgresql", postgres) as url:
            built = timer.monotonic()
            build_city(url, day, args.kitchens, args.stops, args.canteen, args.seed)
            build_s = timer.monotonic() - built
            row = run(url, day, args.kitchens, workers, args.time_limit)
        row.update(
            kitchens=args.kitchens,
            stops_per_kitchen=args.stops,
            canteen_per_site=args.canteen,
            time_limit_s=args.time_limit,
            build_s=round(build_s, 1),
        )
        rows.append(row)
        print(
            f"{workers:>7} {row['build_s']:>8} {row['closed_s']:>9} {row['planned_s']:>10} "
            f"{row['stops']:>6} {row['riders']:>6}"
        )
    write_json(rows, args.json)


if __name__ == "__main__":
    main()
