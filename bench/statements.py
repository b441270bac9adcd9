"""Benchmark: how many SQL statements the staff's busiest requests send to the database, counted
with SQLAlchemy's `before_cursor_execute` event: a board view (GET /api/v1/orders/board), a
phone-in order (POST /api/v1/orders, reserved under a government rule, a charity fund with a
monthly budget and a per-elder cap, and a business concession) and, at a cutoff, each standing
order's meal (usecases.ordering.run_cutoff, the billed path the due work takes). Counts do not
depend on the machine's load, unlike wall time. Prints a table and writes JSON.

    .venv/bin/python bench/statements.py [--orders 20] [--standing 50]
        [--databases sqlite,postgresql] [--show board|order|'standing meal'] [--json PATH]

The app runs in this process (FastAPI's TestClient) on a fresh database; PostgreSQL too when
MEALAID_BENCH_POSTGRES_URL (or MEALAID_TEST_DATABASE_URL) is set, in a schema of its own."""

import argparse
import statistics
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlmodel import select

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import bench_postgres_url, databases, seed_payers, write_json
from orders import TZ, seed

from api.accounts.models import Role, StaffAccountCreate
from api.accounts.security import CSRF_HEADER, SESSION_COOKIE, csrf_token_for
from api.accounts.service import create_account, start_session
from api.app import create_app
from core.clock import FixedClock
from core.db import Database
from core.models import Menu, MenuItem
from core.settings import get_settings
from core.standing import create_standing_order
from core.types import ServiceMode, Slot
from usecases.ordering import place_order, run_cutoff

BOARD_ORDERS = 100


class StatementCount:
    """Statements sent on an engine while counting, by their first word."""

    def __init__(self, database: Database) -> None:
        self.kinds: Counter[str] = Counter()
        self.texts: list[str] = []
        self.on = False
        event.listen(database.engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if self.on:
            self.kinds[statement.lstrip().split(None, 1)[0].upper()] += 1
            self.texts.append(" ".join(statement.split()))

    @contextmanager
    def counting(self) -> Iterator[Counter[str]]:
        self.kinds = Counter()
        self.texts = []
        self.on = True
        try:
            yield self.kinds
        finally:
            self.on = False


def measure(
    kind: str, database: Database, orders: int, standing: int, show: str | None = None
) -> list[dict]:
    clock = FixedClock(datetime.now(TZ).replace(hour=8, minute=0, second=0, microsecond=0))
    today = clock.now().date()
    site_id, dish_ids, elder_ids = seed(database, clock, BOARD_ORDERS + orders + standing)
    board_day = today + timedelta(days=2)
    settings = get_settings()  # passed on: the use cases and core read none of their own
    with database.transaction() as session:
        seed_payers(session)
        for n, elder_id in enumerate(elder_ids[:BOARD_ORDERS]):
            place_order(
                session=session,
                clock=clock,
                settings=settings,
                elder_id=elder_id,
                site_id=site_id,
                service_date=board_day,
                slot=Slot.dinner,
                dish_id=dish_ids[n % len(dish_ids)],
                variant="regular",
                mode=ServiceMode.delivery,
                idempotency_key=f"board-{n}",
            )
        for elder_id in elder_ids[BOARD_ORDERS + orders :]:
            create_standing_order(
                session=session,
                clock=clock,
                elder_id=elder_id,
                site_id=site_id,
                slot=Slot.lunch,
                weekdays=[1, 2, 3, 4, 5, 6, 7],
                mode=ServiceMode.delivery,
                start_date=today,
                max_order_quantity=settings.max_order_quantity,
            )
        admin = create_account(
            session=session,
            clock=clock,
            account_in=StaffAccountCreate(
                username="bench.admin", password="bench password 1", role=Role.admin
            ),
        )
        token = start_session(session=session, clock=clock, account=admin)
        items = list(
            session.exec(
                select(MenuItem.id)
                .join(Menu, Menu.id == MenuItem.menu_id)
                .where(
                    Menu.site_id == site_id,
                    Menu.service_date == today + timedelta(days=1),
                    Menu.slot == Slot.lunch.value,
                    MenuItem.variant == "regular",
                )
            )
        )
    count = StatementCount(database)
    per: dict[str, list[Counter[str]]] = {"board": [], "order": [], "standing meal": []}
    texts: dict[str, list[str]] = {}
    app = create_app(database=database, clock=clock)
    headers = {CSRF_HEADER: csrf_token_for(token), "accept": "application/json"}
    with TestClient(app, cookies={SESSION_COOKIE: token}, headers=headers) as client:
        for n, elder_id in enumerate(elder_ids[BOARD_ORDERS : BOARD_ORDERS + orders]):
            with count.counting() as seen:
                answer = client.get(f"/api/v1/orders/board?date={board_day.isoformat()}")
            assert answer.status_code == 200, answer.text
            per["board"].append(seen)
            texts["board"] = count.texts
            body = {
                "elder_id": elder_id,
                "item_id": items[n % len(items)],
                "idempotency_key": f"statements-bench-{n:04d}",
            }
            with count.counting() as seen:
                answer = client.post("/api/v1/orders", json=body)
            assert answer.status_code == 201, answer.text
            per["order"].append(seen)
            texts["order"] = count.texts
    if standing:
        with count.counting() as seen, database.transaction() as session:
            closed = run_cutoff(
                session=session,
                clock=clock,
                settings=settings,
                site_id=site_id,
                service_date=today + timedelta(days=1),
                slot=Slot.lunch,
                early=True,
            )
        assert closed.standing_orders_placed == standing, closed
        # Spread over the meals: the per-meal cost is what grows with a city's standing orders.
        per["standing meal"] = [Counter({k: v / standing for k, v in seen.items()})]
        texts["standing meal"] = count.texts
    if show:
        # The statements of the operation's last sample (at the cutoff: all of them), to read.
        for text in texts.get(show, []):
            print(f"  {text[:240]}")
    rows = []
    for operation, counts in per.items():
        if not counts:
            continue
        totals = [sum(c.values()) for c in counts]
        kinds: Counter[str] = Counter()
        for c in counts:
            kinds.update(c)
        rows.append(
            {
                "database": kind,
                "operation": operation,
                "samples": len(counts) if operation != "standing meal" else standing,
                "statements_mean": round(statistics.fmean(totals), 1),
                "statements_min": round(min(totals), 1),
                "statements_max": round(max(totals), 1),
                "by_kind": {k: round(v / len(counts), 1) for k, v in sorted(kinds.items())},
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=20, help="board views and orders each")
    parser.add_argument("--standing", type=int, default=50, help="standing orders at the cutoff")
    parser.add_argument("--databases", default="sqlite,postgresql", help="comma-separated")
    parser.add_argument("--show", help="print the statements of: board, order, 'standing meal'")
    parser.add_argument("--json", default="bench/results/statements.json")
    args = parser.parse_args()
    wanted = args.databases.split(",")
    rows = []
    for kind, database in databases(bench_postgres_url() if "postgresql" in wanted else None):
        if kind in wanted:
            rows.extend(measure(kind, database, args.orders, args.standing, args.show))
    print(f"{'database':<12}{'operation':<15}{'samples':>8}{'mean':>8}{'min':>7}{'max':>7}  kinds")
    for row in rows:
        kinds = " ".join(f"{k}:{v}" for k, v in row["by_kind"].items())
        print(
            f"{row['database']:<12}{row['operation']:<15}{row['samples']:>8}"
            f"{row['statements_mean']:>8}{row['statements_min']:>7}{row['statements_max']:>7}"
            f"  {kinds}"
        )
    write_json(rows, args.json)


if __name__ == "__main__":
    main()
