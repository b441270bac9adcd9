"""Test databases: every test that uses `session` runs on SQLite and, when
MEALAID_TEST_DATABASE_URL is set, on PostgreSQL too. The schema is built by the migrations."""

import os
import queue
import shutil
import tempfile
import threading
import uuid
import warnings
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool
from sqlmodel import Session

import api.accounts.models  # noqa: F401  (staff tables)
import billing.models  # noqa: F401  (every table counts in row_counts)
import bot.models  # noqa: F401
import core.audit  # noqa: F401
import kitchen.models  # noqa: F401
import routing.records  # noqa: F401
from core.clock import FixedClock
from core.db import Database
from core.settings import get_settings
from mealaid import collector
from tests.apps import return_web_apps
from tests.factories import Factory

POSTGRES_URL = os.environ.get("MEALAID_TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])
SHANGHAI = ZoneInfo("Asia/Shanghai")


class Templates:
    """One migrated database per backend, made the first time a test asks (once per test
    process), copied for every test that needs a database of its own: migrating costs about
    0.1 s on SQLite and 0.8 s on PostgreSQL, a copy a few milliseconds on SQLite (a file).

    On PostgreSQL a copy is CREATE DATABASE ... TEMPLATE with the WAL_LOG strategy, which
    copies the template's few pages through the WAL; FILE_COPY forces two checkpoints, each
    flushing every dirty page of the whole server, so with the other test processes writing it
    took 2 s a copy where WAL_LOG took 0.35 s. DROP DATABASE forces a checkpoint too (0.5 s a
    drop on a quiet server, more while tests write), so a used database is emptied instead
    (its rows deleted, its sequences restarted: tens of milliseconds) and given to the next
    test; one whose schema the test changed (a migration down, a renamed table, a trigger
    turned off) is dropped, on a thread of its own while the next test runs."""

    def __init__(self) -> None:
        self._folder = Path(tempfile.mkdtemp(prefix="mealaid-templates-"))
        self._made: dict[str, str] = {}
        self._drops: queue.Queue[str | None] = queue.Queue()
        self._dropper: threading.Thread | None = None
        self._not_dropped: list[str] = []
        # Emptied PostgreSQL databases, ready for the next test; the template's schema.
        self._free: list[str] = []
        self._schema = ""

    def _template(self, backend: str) -> str:
        if backend not in self._made:
            if backend == "sqlite":
                path = self._folder / "template.db"
                database = Database.from_url(f"sqlite:///{path}")
                self._made[backend] = str(path)
            else:
                name = f"mealaid_template_{uuid.uuid4().hex[:12]}"
                _on_server(f'CREATE DATABASE "{name}"')
                database = Database.from_url(_url_of(name))
                self._made[backend] = name
            database.migrate()
            if backend == "postgresql":
                with database.engine.connect() as connection:
                    self._schema = connection.exec_driver_sql(SCHEMA).scalar_one()
            database.dispose()  # a template with a connection open cannot be copied
        return self._made[backend]

    def copy(self, backend: str, folder: Path) -> tuple[str, Callable[[], None]]:
        """The URL of a new migrated database of this backend, and how to throw it away."""
        template = self._template(backend)
        if backend == "sqlite":
            path = Path(folder) / f"{uuid.uuid4().hex}.db"
            shutil.copyfile(template, path)
            return f"sqlite:///{path}", lambda: None
        if self._free:
            name = self._free.pop()
        else:
            name = f"mealaid_test_{uuid.uuid4().hex[:12]}"
            _on_server(f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY WAL_LOG')
        return _url_of(name), lambda: self._give_back(name)

    def _give_back(self, name: str) -> None:
        try:
            emptied = _emptied(name, self._schema)
        except sa.exc.SQLAlchemyError:
            emptied = False
        if emptied:
            self._free.append(name)
        else:
            self._drop_later(name)

    def _drop_later(self, name: str) -> None:
        if self._dropper is None:
            self._dropper = threading.Thread(target=self._drop_queued, daemon=True)
            self._dropper.start()
        self._drops.put(name)

    def _drop_queued(self) -> None:
        while (name := self._drops.get()) is not None:
            try:
                _on_server(f'DROP DATABASE "{name}" WITH (FORCE)')
            except sa.exc.SQLAlchemyError as error:
                # One that cannot be dropped (the server busy past its timeout, say) must not
                # leave every later one on the server: it is named at the end instead.
                self._not_dropped.append(f"{name}: {error}")

    def drop(self) -> None:
        for name in self._free:
            self._drop_later(name)
        if self._dropper is not None:
            self._drops.put(None)
            self._dropper.join()
        if "postgresql" in self._made:
            _on_server(f'DROP DATABASE "{self._made["postgresql"]}" WITH (FORCE)')
        shutil.rmtree(self._folder, ignore_errors=True)
        if self._not_dropped:
            warnings.warn(
                "test databases left on the server: " + "; ".join(self._not_dropped),
                stacklevel=1,
            )


def _url_of(name: str) -> str:
    return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)


# What a test could change of a database's schema (tables and columns, indexes, constraints,
# triggers on or off, functions, the migration it is at), as one value to compare.
SCHEMA = """
SELECT md5(concat_ws('|',
    (SELECT string_agg(table_name || '.' || column_name || ' ' || data_type || ' '
                       || is_nullable || ' ' || coalesce(column_default, ''),
                       ',' ORDER BY table_name, column_name)
     FROM information_schema.columns WHERE table_schema = 'public'),
    (SELECT string_agg(indexrelid::regclass::text, ',' ORDER BY indexrelid::regclass::text)
     FROM pg_index JOIN pg_class ON pg_class.oid = indrelid
     WHERE relnamespace = 'public'::regnamespace),
    (SELECT string_agg(conname || ' ' || contype::text, ',' ORDER BY conname)
     FROM pg_constraint WHERE connamespace = 'public'::regnamespace),
    (SELECT string_agg(tgname || ' ' || tgenabled::text, ',' ORDER BY tgname)
     FROM pg_trigger WHERE NOT tgisinternal),
    (SELECT string_agg(proname, ',' ORDER BY proname)
     FROM pg_proc WHERE pronamespace = 'public'::regnamespace),
    (SELECT string_agg(version_num, ',') FROM alembic_version)
))
"""


def _emptied(name: str, schema: str) -> bool:
    """Empty a used test database as the template left it (no rows but the migration's, every
    sequence at its start), unless its schema is no longer the template's (False)."""
    engine = sa.create_engine(_url_of(name), poolclass=NullPool)
    try:
        with engine.begin() as connection:
            # Whatever the test left connected (a pool, a process it started) goes first.
            connection.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            if connection.exec_driver_sql(SCHEMA).scalar_one() != schema:
                return False
            # No foreign key or trigger (the audit log refuses deletes) stands in the way.
            connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
            tables = connection.exec_driver_sql(
                "SELECT quote_ident(tablename) FROM pg_tables"
                " WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
            ).scalars()
            used = connection.exec_driver_sql(
                " UNION ALL ".join(
                    f"SELECT '{table}' WHERE EXISTS (SELECT FROM {table})" for table in tables
                )
            ).scalars()
            for table in used.all():
                connection.exec_driver_sql(f"DELETE FROM {table}")
            connection.exec_driver_sql(
                "SELECT setval(seqrelid, seqstart, false) FROM pg_sequence"
                " JOIN pg_class ON pg_class.oid = seqrelid"
                " WHERE relnamespace = 'public'::regnamespace"
            )
        return True
    finally:
        engine.dispose()


def _on_server(statement: str) -> None:
    """CREATE and DROP DATABASE, which run outside a transaction."""
    server = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with server.connect() as connection:
        connection.exec_driver_sql(statement)
    server.dispose()


TEMPLATES = Templates()


def pytest_collection_finish(session: pytest.Session) -> None:
    """Every test module is imported: the collector set as MealAid's processes set it (the
    tests run in a long-lived process too), what is there now left out of its walks."""
    collector.settle_for_serving()


@pytest.fixture(autouse=True, scope="session")
def _drop_templates() -> Iterator[None]:
    yield
    TEMPLATES.drop()


def fresh_database(backend: str, folder) -> tuple[Database, Callable[[], None]]:
    """A new, empty, migrated database of this backend, and how to throw it away."""
    url, drop = TEMPLATES.copy(backend, folder)
    database = Database.from_url(url, pool_size=5)

    def dispose_and_drop() -> None:
        database.dispose()
        drop()

    return database, dispose_and_drop


@pytest.fixture(autouse=True, scope="session")
def _files_kept_out_of_the_tree() -> Iterator[None]:
    """The due work writes a checkpoint of the audit log and a backup of the database every
    day, to folders relative to where it runs (the servers, workers and bots the tests start):
    not into the project."""
    folder = Path(tempfile.mkdtemp(prefix="mealaid-test-files-"))
    folders = {
        "MEALAID_AUDIT_CHECKPOINT_DIR": folder / "audit-checkpoints",
        "MEALAID_BACKUP_DIR": folder / "backups",
    }
    previous = {name: os.environ.get(name) for name in folders}
    os.environ.update({name: str(path) for name, path in folders.items()})
    get_settings.cache_clear()
    yield
    for name, value in previous.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    get_settings.cache_clear()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(autouse=True, scope="session")
def cheap_password_hashing():
    """Argon2id at its cheapest parameters: the tests log in hundreds of times. (Each hash
    records its parameters; tests/api/test_accounts.py checks the real ones.)"""
    from argon2 import PasswordHasher, profiles

    import core.accounts as accounts

    real = accounts.HASHER
    accounts.HASHER = PasswordHasher.from_parameters(profiles.CHEAPEST)
    yield
    accounts.HASHER = real


@pytest.fixture(autouse=True)
def _web_apps_returned() -> Iterator[None]:
    """The test's web apps (tests.apps.web_app) are free again for the next test."""
    yield
    return_web_apps()


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
