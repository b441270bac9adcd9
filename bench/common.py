"""What the benchmarks share: a migrated SQLite database in a temporary folder, a PostgreSQL
schema of their own (dropped afterwards), the payers a meal meets, and writing results as JSON."""

import json
import os
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from urllib.parse import quote

import sqlalchemy as sa
from sqlmodel import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from billing.models import BillingPolicy, Fund, Funder, SubsidyRule
from core.db import Database


@contextmanager
def sqlite_database() -> Iterator[Database]:
    with tempfile.TemporaryDirectory() as folder:
        database = Database.from_url(f"sqlite:///{folder}/bench.db")
        database.migrate()
        try:
            yield database
        finally:
            database.dispose()


@contextmanager
def postgres_database(url: str) -> Iterator[Database]:
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(url)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    database = Database.from_url(url, connect_args={"options": f"-csearch_path={schema}"})
    try:
        database.migrate()
        yield database
    finally:
        database.dispose()
        with admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


def databases(postgres_url: str | None) -> Iterator[tuple[str, Database]]:
    """SQLite, then PostgreSQL when a URL is given: each fresh, migrated and cleaned up."""
    with sqlite_database() as database:
        yield "sqlite", database
    if postgres_url:
        with postgres_database(postgres_url) as database:
            yield "postgresql", database


@contextmanager
def database_url(kind: str, postgres_url: str | None = None) -> Iterator[str]:
    """The URL of a fresh database for a benchmark that runs the app in another process:
    a SQLite file in a temporary folder, or a PostgreSQL schema of its own (dropped after)."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{folder}/bench.db"
        return
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(postgres_url)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        separator = "&" if "?" in postgres_url else "?"
        yield f"{postgres_url}{separator}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


def seed_payers(session: Session) -> None:
    """The four kinds of payer a meal meets: the city's subsidy for every elder, a charity fund
    with a monthly budget and a per-elder monthly cap, a business concession."""
    city = Funder(code="GOV", name_zh="市民政局", name_en="City", share="government", layer="city")
    city.city = "广州市"
    charity = Funder(code="CH", name_zh="慈善会", name_en="Charity", share="charity")
    shop = Funder(code="BIZ", name_zh="餐企", name_en="Kitchen", share="business")
    session.add_all([city, charity, shop])
    session.flush()
    fund = Fund(
        code="FD",
        funder_id=charity.id,
        name_zh="爱心基金",
        name_en="Fund",
        period="month",
        budget_fen=10**9,
    )
    session.add(fund)
    session.flush()
    start = date(2026, 1, 1)
    session.add_all(
        [
            SubsidyRule(code="R-GOV", funder_id=city.id, effective_from=start, amount_fen=300),
            SubsidyRule(
                code="R-CH",
                funder_id=charity.id,
                fund_id=fund.id,
                effective_from=start,
                amount_fen=200,
                cap_per_elder_month_fen=10**6,
            ),
            SubsidyRule(code="R-BIZ", funder_id=shop.id, effective_from=start, amount_fen=100),
            BillingPolicy(effective_from=start, elder_min_payment_fen=100),
        ]
    )
    session.flush()


def bench_postgres_url() -> str | None:
    """PostgreSQL for the benchmarks: MEALAID_BENCH_POSTGRES_URL, else the tests' server."""
    return os.environ.get("MEALAID_BENCH_POSTGRES_URL") or os.environ.get(
        "MEALAID_TEST_DATABASE_URL"
    )


def write_json(rows: list[dict], path: str) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(rows, indent=2, ensure_ascii=False))
    print(f"results written to {path}")
