"""Benchmark: settle a month of N served meals (default 1,000,000, synthetic): anomaly checks,
statements, fund reports, claims and bills as CSV and XLSX (bill PDFs off: one page per elder).
Prints the time and peak memory of the settlement (not of making the data, which a child
process does) and writes JSON.

    .venv/bin/python bench/settlement.py [--meals 1000000] [--databases sqlite,postgresql]

Runs on SQLite in a temporary folder; on PostgreSQL too when MEALAID_BENCH_POSTGRES_URL is set.
Each database is measured in a process of its own, so that each peak RSS is that run's."""

import argparse
import multiprocessing
import os
import random
import resource
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import postgres_database, sqlite_database, write_json

from billing.exports import settle_files
from billing.models import Fund, Funder, LedgerEntry, SubsidyRule
from billing.settlement import flag_anomalies, month_range
from core.clock import FixedClock
from core.db import Database
from core.models import Community, Dish, District, Elder, ElderCategory, Order, Site, Street

MONTH = "2026-11"
SITES, MEALS_PER_ELDER = 50, 25
CHUNK = 50_000


def make_month(database: Database, meals: int, seed: int = 7) -> None:
    """A city of elders, sites and funders, and a month of served meals with ledger entries
    as the billing service writes them (shares summing to the price)."""
    rng = random.Random(seed)
    first, last = month_range(MONTH)
    days = [(first + timedelta(days=n)) for n in range((last - first).days + 1)]
    elders = max(1, meals // MEALS_PER_ELDER)
    now = datetime(2026, 12, 1, tzinfo=UTC)
    with database.engine.begin() as connection:
        connection.execute(
            sa.insert(District.__table__), [dict(id=1, city="广州市", name="越秀区")]
        )
        connection.execute(sa.insert(Street.__table__), [dict(id=1, district_id=1, name="北京街")])
        connection.execute(
            sa.insert(Community.__table__),
            [
                dict(
                    id=1,
                    code="B",
                    name="社区",
                    street="北京街",
                    district="越秀区",
                    city="广州市",
                    lat=23.1,
                    lon=113.2,
                    street_id=1,
                    district_id=1,
                )
            ],
        )
        connection.execute(
            sa.insert(Site.__table__),
            [
                dict(
                    id=s,
                    code=f"S{s}",
                    name=f"长者饭堂{s}",
                    kind="canteen",
                    address="路",
                    lat=23.1,
                    lon=113.2,
                    community_id=1,
                    phone="020",
                    offers_delivery=True,
                    offers_pickup=True,
                    offers_dine_in=True,
                    active=True,
                )
                for s in range(1, SITES + 1)
            ],
        )
        connection.execute(
            sa.insert(Dish.__table__),
            [dict(id=1, code="D", name_zh="套餐", name_en="Set", allergens=[], diet_tags=[])],
        )
        connection.execute(
            sa.insert(Funder.__table__),
            [
                dict(
                    id=1,
                    code="CITY",
                    name_zh="市民政局",
                    name_en="City",
                    share="government",
                    layer="city",
                    city="广州市",
                ),
                dict(
                    id=2,
                    code="OPS",
                    name_zh="运营方",
                    name_en="Operator",
                    share="business",
                    layer=None,
                    city=None,
                ),
                dict(
                    id=3,
                    code="CHARITY",
                    name_zh="慈善会",
                    name_en="Charity",
                    share="charity",
                    layer=None,
                    city=None,
                ),
            ],
        )
        connection.execute(
            sa.insert(Fund.__table__),
            [
                dict(
                    id=1,
                    code="F",
                    funder_id=3,
                    name_zh="基金",
                    name_en="Fund",
                    period="whole",
                    budget_fen=2_000_000_000,  # fits an INTEGER column
                )
            ],
        )
        connection.execute(
            sa.insert(SubsidyRule.__table__),
            [
                dict(
                    id=1,
                    code="DIBAO",
                    version=1,
                    funder_id=1,
                    effective_from=first,
                    categories=["dibao"],
                    site_ids=[],
                    slots=[],
                    weekdays=[],
                    amount_fen=800,
                    priority=10,
                    stacks=False,
                ),
                dict(
                    id=2,
                    code="BASE",
                    version=1,
                    funder_id=1,
                    effective_from=first,
                    categories=[],
                    site_ids=[],
                    slots=[],
                    weekdays=[],
                    amount_fen=200,
                    priority=20,
                    stacks=True,
                ),
                dict(
                    id=3,
                    code="OPS",
                    version=1,
                    funder_id=2,
                    effective_from=first,
                    categories=[],
                    site_ids=[],
                    slots=[],
                    weekdays=[],
                    amount_fen=100,
                    priority=50,
                    stacks=True,
                ),
                dict(
                    id=4,
                    code="ALONE",
                    version=1,
                    funder_id=3,
                    fund_id=1,
                    effective_from=first,
                    categories=["living_alone"],
                    site_ids=[],
                    slots=[],
                    weekdays=[],
                    amount_fen=300,
                    priority=60,
                    stacks=True,
                ),
            ],
        )
        dibao = set(rng.sample(range(1, elders + 1), k=elders // 10))
        alone = set(rng.sample(range(1, elders + 1), k=elders // 5))
        for start in range(1, elders + 1, CHUNK):
            ids = range(start, min(elders + 1, start + CHUNK))
            connection.execute(
                sa.insert(Elder.__table__),
                [
                    dict(
                        id=e,
                        name=f"长者{e}",
                        address="路",
                        lat=23.1,
                        lon=113.2,
                        community_id=1,
                        birth_date=date(1945, 1, 1),
                        texture="regular",
                        diet_needs=[],
                        allergies=[],
                        service_mode="dine_in",
                        language="zh_CN",
                        status="active",
                        created_at=now,
                    )
                    for e in ids
                ],
            )
            grants = [
                dict(elder_id=e, category="dibao", valid_from=date(2020, 1, 1))
                for e in ids
                if e in dibao
            ]
            grants += [
                dict(elder_id=e, category="living_alone", valid_from=date(2020, 1, 1))
                for e in ids
                if e in alone
            ]
            if grants:
                connection.execute(sa.insert(ElderCategory.__table__), grants)

    order_id = entry_id = 0
    for start in range(0, meals, CHUNK):
        orders, entries = [], []
        for n in range(start, min(meals, start + CHUNK)):
            order_id += 1
            elder = n % elders + 1
            day = days[(n // elders) % len(days)]
            slot = "lunch" if (n // (elders * len(days))) % 2 == 0 else "dinner"
            site = elder % SITES + 1
            orders.append(
                dict(
                    id=order_id,
                    elder_id=elder,
                    site_id=site,
                    service_date=day,
                    slot=slot,
                    dish_id=1,
                    dish_name_zh="套餐",
                    dish_name_en="Set",
                    variant="regular",
                    texture="regular",
                    diet_tags=[],
                    allergens=[],
                    unit_price_fen=1500,
                    quantity=1,
                    total_fen=1500,
                    mode="dine_in",
                    status="dined_in",
                    source="standing",
                    idempotency_key=f"b{order_id}",
                    ordered_at=now,
                    updated_at=now,
                    locked_at=now,
                    outcome_at=now,
                    outcome_by="bench",
                )
            )
            shares = [
                (1, 1, 800 if elder in dibao else 0),
                (1, 2, 200),
                (2, 3, 100),
                (3, 4, 300 if elder in alone else 0),
            ]
            paid = 0
            for funder, rule, amount in shares:
                if amount:
                    entry_id += 1
                    paid += amount
                    entries.append(
                        dict(
                            id=entry_id,
                            order_id=order_id,
                            elder_id=elder,
                            site_id=site,
                            service_date=day,
                            slot=slot,
                            share={1: "government", 2: "business", 3: "charity"}[funder],
                            funder_id=funder,
                            rule_id=rule,
                            amount_fen=amount,
                            kind="meal",
                            created_at=now,
                        )
                    )
            entry_id += 1
            entries.append(
                dict(
                    id=entry_id,
                    order_id=order_id,
                    elder_id=elder,
                    site_id=site,
                    service_date=day,
                    slot=slot,
                    share="elder",
                    funder_id=None,
                    rule_id=None,
                    amount_fen=1500 - paid,
                    kind="meal",
                    created_at=now,
                )
            )
        with database.engine.begin() as connection:
            connection.execute(sa.insert(Order.__table__), orders)
            connection.execute(sa.insert(LedgerEntry.__table__), entries)
        print(f"  made {min(meals, start + CHUNK):,} meals", file=sys.stderr, flush=True)
    if database.dialect == "postgresql":
        # As autovacuum would after a month of meals: without statistics PostgreSQL plans the
        # month's queries for a few hundred rows and takes minutes instead of seconds.
        with database.engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")


def _make_in_child(url: str, connect_args: dict, meals: int) -> None:
    database = Database.from_url(url, connect_args=connect_args)
    try:
        make_month(database, meals)
    finally:
        database.dispose()


def settle(database: Database, folder: Path) -> dict:
    first, last = month_range(MONTH)
    clock = FixedClock(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    started = time.perf_counter()
    with database.transaction() as session:
        reviews = flag_anomalies(session=session, clock=clock, first=first, last=last)
    checked = time.perf_counter()
    with database.reading() as session:
        result = settle_files(
            session=session,
            month=MONTH,
            first=first,
            last=last,
            folder=folder,
            locale="zh_CN",
            reviews=reviews,
            bill_pdfs=False,
        )
    finished = time.perf_counter()
    return {
        "anomaly_seconds": round(checked - started, 2),
        "files_seconds": round(finished - checked, 2),
        "seconds": round(finished - started, 2),
        "files": len(result.files),
        "flagged": len(reviews),
        "totals_fen": {name: fen for name, fen in result.totals},
    }


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def measure(name: str, meals: int, queue) -> None:
    """One database: make the month in a child process, then settle it here and report."""
    postgres_url = os.environ.get("MEALAID_BENCH_POSTGRES_URL", "")
    opened = sqlite_database() if name == "sqlite" else postgres_database(postgres_url)
    with opened as database:
        url = database.engine.url.render_as_string(hide_password=False)
        schema = None
        if name == "postgresql":
            with database.engine.connect() as connection:
                schema = connection.exec_driver_sql("SELECT current_schema()").scalar()
        child = multiprocessing.get_context("spawn").Process(
            target=_make_in_child,
            args=(url, {"options": f"-csearch_path={schema}"} if schema else {}, meals),
        )
        child.start()
        child.join()
        if child.exitcode != 0:
            raise SystemExit(f"making the month failed on {name}")
        with tempfile.TemporaryDirectory() as folder:
            queue.put(
                {
                    "database": name,
                    "meals": meals,
                    **settle(database, Path(folder)),
                    "peak_rss_mb": peak_rss_mb(),
                }
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meals", type=int, default=1_000_000)
    parser.add_argument(
        "--databases",
        default="sqlite,postgresql",
        help="which to measure, comma-separated (postgresql needs MEALAID_BENCH_POSTGRES_URL)",
    )
    parser.add_argument("--json", default="bench/results/settlement.json")
    args = parser.parse_args()
    names = [n for n in args.databases.split(",") if n]
    if "postgresql" in names and not os.environ.get("MEALAID_BENCH_POSTGRES_URL"):
        names.remove("postgresql")
    rows = []
    spawn = multiprocessing.get_context("spawn")
    for name in names:
        queue = spawn.Queue()
        worker = spawn.Process(target=measure, args=(name, args.meals, queue))
        worker.start()
        worker.join()
        if worker.exitcode != 0 or queue.empty():
            raise SystemExit(f"the {name} run failed")
        rows.append(queue.get())
    print(
        f"{'database':<12}{'meals':>10}{'anomalies s':>13}{'files s':>9}{'total s':>9}"
        f"{'peak RSS MB':>13}"
    )
    for row in rows:
        print(
            f"{row['database']:<12}{row['meals']:>10,}{row['anomaly_seconds']:>13}"
            f"{row['files_seconds']:>9}{row['seconds']:>9}{row['peak_rss_mb']:>13}"
        )
    write_json(rows, args.json)


if __name__ == "__main__":
    main()
