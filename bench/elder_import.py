"""Benchmark: import a district's elder list of N rows (default 10,000) as the admin does it:
the dry run, the import (each elder through usecases.elders with its audit entry, one
transaction, committed), then the same file again (every elder found by her ID number and
left unchanged). XLSX and CSV. Prints a table and writes JSON.

    .venv/bin/python bench/elder_import.py [--rows 10000] [--formats xlsx,csv]
        [--databases sqlite,postgresql] [--json PATH]

SQLite in a temporary folder; PostgreSQL too when MEALAID_BENCH_POSTGRES_URL (or
MEALAID_TEST_DATABASE_URL) is set, in a schema of its own. No geocoder: every elder is placed
at her community's centre (a geocoder's time is its own)."""

import argparse
import sys
import time
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import bench_postgres_url, postgres_database, sqlite_database, write_json

from core.clock import FixedClock
from core.geocoding import Locator
from core.schemas import CommunityCreate
from core.sites import create_community
from tests.elder_files import HEADERS_ZH, csv_file, elder_row, xlsx_file
from usecases.elder_import import check_elder_file, import_elders

CLOCK = FixedClock(datetime(2026, 12, 1, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
COMMUNITIES = 40


def the_file(rows: int, kind: str) -> bytes:
    names = [f"社区{n}" for n in range(COMMUNITIES)]
    born = [date(1930 + n % 20, 1 + n % 12, 1 + n % 28) for n in range(rows)]
    table = [
        elder_row(
            n,
            names[n % COMMUNITIES],
            born=born[n],
            出生日期=born[n] if kind == "xlsx" else f"{born[n]:%Y/%m/%d}",
        )
        for n in range(rows)
    ]
    return xlsx_file(HEADERS_ZH, table) if kind == "xlsx" else csv_file(HEADERS_ZH, table)


def run(database, kind: str, content: bytes) -> dict:
    with database.transaction() as session:
        for n in range(COMMUNITIES):
            create_community(
                session=session,
                community_in=CommunityCreate(
                    code=f"B{n}",
                    name=f"社区{n}",
                    street="北京街",
                    district="越秀区",
                    city="广州市",
                    lat=23.12,
                    lon=113.27,
                ),
            )
    timings = {}
    with database.reading() as session:
        started = time.perf_counter()
        checked = check_elder_file(session=session, clock=CLOCK, content=content)
        timings["dry run"] = time.perf_counter() - started
    assert not checked.problems, checked.problems[:3]
    for step in ("import", "again"):
        started = time.perf_counter()
        with database.transaction() as session:
            result = import_elders(
                session=session,
                clock=CLOCK,
                actor="bench",
                content=content,
                locator=Locator(None),
            )
        timings[step] = time.perf_counter() - started
        expected = (checked.rows, 0) if step == "import" else (0, checked.rows)
        assert (result.created, result.unchanged) == expected, result
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--formats", default="xlsx,csv")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--json", default="bench/results/elder_import.json")
    args = parser.parse_args()
    postgres = bench_postgres_url()
    results = []
    print(
        f"{'database':<11} {'file':<5} {'rows':>7} {'MB':>6} {'dry run s':>10} "
        f"{'import s':>9} {'again s':>8} {'rows/s':>8}"
    )
    for kind in args.formats.split(","):
        content = the_file(args.rows, kind)
        for name in args.databases.split(","):
            if name == "postgresql" and not postgres:
                continue
            maker = sqlite_database() if name == "sqlite" else postgres_database(postgres)
            with maker as database:
                timings = run(database, kind, content)
            row = {
                "database": name,
                "format": kind,
                "rows": args.rows,
                "bytes": len(content),
                "dry_run_s": round(timings["dry run"], 2),
                "import_s": round(timings["import"], 2),
                "again_s": round(timings["again"], 2),
            }
            results.append(row)
            print(
                f"{name:<11} {kind:<5} {args.rows:>7} {len(content) / 1e6:>6.1f} "
                f"{row['dry_run_s']:>10.2f} {row['import_s']:>9.2f} {row['again_s']:>8.2f} "
                f"{args.rows / timings['import']:>8.0f}"
            )
    write_json(results, args.json)


if __name__ == "__main__":
    main()
