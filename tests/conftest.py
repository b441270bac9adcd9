"""Test databases: every test that uses `session` runs on SQLite and, when
MEALAID_TEST_DATABASE_URL is set, on PostgreSQL too. The schema is built by the migrations."""

import os
import uuid
from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlmodel import Session

import api.accounts.models  # noqa: F401  (staff tables)
import billing.models  # noqa: F401  (every table counts in row_counts)
import bot.models  # noqa: F401
import core.audit  # noqa: F401
import kitchen.models  # noqa: F401
import routing.records  # noqa: F401
from core.clock import FixedClock
from core.db import Database
from tests.factories import Factory

POSTGRES_URL = os.environ.get("MEALAID_TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])
SHANGHAI = ZoneInfo("Asia/Shanghai")


def fresh_database(backend: str, folder) -> tuple[Database, callable]:
    """A new, empty, migrated database of this backend, and how to throw it away."""
    if backend == "sqlite":
        database = Database.from_url(f"sqlite:///{folder}/{uuid.uuid4().hex}.db")
        database.migrate()
        return database, database.dispose
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    database = Database.from_url(
        POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"}, pool_size=5
    )
    database.migrate()

    def drop() -> None:
        database.dispose()
        with admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()

    return database, drop


@pytest.fixture(autouse=True, scope="session")
def cheap_password_hashing():
    """Argon2id at its cheapest parameters: the tests log in hundreds of times. (Each hash
    records its parameters; tests/api/test_accounts.py checks the real ones.)"""
    from argon2 import PasswordHasher, profiles

    import api.accounts.service as accounts

    real = accounts.HASHER
    accounts.HASHER = PasswordHasher.from_parameters(profiles.CHEAPEST)
    yield
    accounts.HASHER = real


@pytest.fixture(scope="session", params=BACKENDS)
def database(request, tmp_path_factory) -> Iterator[Database]:
    database, drop = fresh_database(request.param, tmp_path_factory.mktemp("db"))
    yield database
    drop()


@pytest.fixture
def session(database: Database) -> Iterator[Session]:
    """A session inside an outer transaction that is rolled back after the test."""
    connection = database.engine.connect()
    outer = connection.begin()
    session = Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    yield session
    session.close()
    outer.rollback()
    connection.close()


@pytest.fixture
def clock() -> FixedClock:
    # Wednesday 25 November 2026, 08:00 in Shanghai: before the 09:30 lunch cutoff.
    return FixedClock(datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI))


@pytest.fixture
def make(session: Session, clock: FixedClock) -> Factory:
    return Factory(session, clock)


def row_counts(session: Session) -> dict[str, int]:
    """Rows per table, to show that a refused request wrote nothing."""
    from sqlmodel import SQLModel

    session.flush()
    return {
        table.name: session.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
        for table in SQLModel.metadata.sorted_tables
    }


@pytest.fixture(params=BACKENDS)
def empty_database(request, tmp_path) -> Iterator[Database]:
    """A database of its own for tests whose work is committed (API calls, the CLI)."""
    database, drop = fresh_database(request.param, tmp_path)
    yield database
    drop()
