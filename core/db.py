"""Engines, sessions and migrations for SQLite (the embedded default) and PostgreSQL."""

import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from core import queue_schema

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def _configure_sqlite(engine: sa.Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # FULL: an acknowledged order survives a power cut, not only a crash of the process.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "handle_error")
    def _storage_failed(context: sa.engine.ExceptionContext) -> None:
        # A connection that met a read-only or failing file stays read-only, so after the
        # storage is fixed every pooled connection would go on failing: count it as lost,
        # and the pool opens fresh ones.
        cause = context.original_exception
        if isinstance(cause, sqlite3.Error) and _sqlite_code(cause) in _SQLITE_STORAGE:
            context.is_disconnect = True

    @event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        # Take the write lock up front: a deferred transaction that later writes can fail with
        # SQLITE_BUSY instead of waiting, and SQLite ignores SELECT ... FOR UPDATE.
        mode = connection.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        connection.exec_driver_sql(f"BEGIN {mode}")


def create_engine(url: str, **kwargs: Any) -> sa.Engine:
    parsed = make_url(url)
    # Errors end up in logs: the values bound to a statement (phone numbers, names, addresses)
    # are left out of their messages.
    kwargs.setdefault("hide_parameters", True)
    if parsed.get_backend_name() == "sqlite":
        kwargs.setdefault("connect_args", {}).update(check_same_thread=False, timeout=30)
        engine = sa.create_engine(url, **kwargs)
        _configure_sqlite(engine)
        return engine
    # No pre-ping: it costs a round trip per transaction; stale connections are recycled instead.
    kwargs.setdefault("pool_recycle", 1800)
    kwargs.setdefault("pool_size", 10)
    return sa.create_engine(url, **kwargs)


class Database:
    """One engine and the ways to open a unit of work on it. Services flush; this commits."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self._writer = sessionmaker(engine, class_=Session, expire_on_commit=False)
        reader_engine = engine.execution_options(sqlite_begin="DEFERRED")
        self._reader = sessionmaker(reader_engine, class_=Session, expire_on_commit=False)

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> "Database":
        return cls(create_engine(url, **kwargs))

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session whose work is committed once at the end, or rolled back on any error."""
        with self._writer() as session, session.begin():
            yield session

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A session for reads only; on SQLite it does not take the write lock."""
        with self._reader() as session, session.begin():
            yield session

    def migrate(self, revision: str = "head") -> None:
        upgrade(self.engine, revision)

    def dispose(self) -> None:
        self.engine.dispose()


def alembic_config(connection: sa.Connection | None = None) -> "Config":
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    """Bring the schema up to `revision` by running the Alembic migrations. Every process
    does this as it starts (web processes, workers): on PostgreSQL they take turns, so two
    never run the same migration at once; the later ones find the schema up to date.

    A schema already at the newest revision is told by one query, without Alembic: every
    command checks as it starts, and loading Alembic and its environment is a tenth of a
    second of CPU each time."""
    if revision == "head" and _at_newest(engine):
        return
    from alembic import command

    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            _take_turns(connection, "migrate")
        command.upgrade(alembic_config(connection), revision)


# The `revision = ...` and `down_revision = ...` lines of a migration file.
_REVISION_LINE = re.compile(r"^(down_)?revision\b[^=\n]*=\s*['\"]?(\w+)", re.MULTILINE)


@cache
def newest_revision() -> str | None:
    """The newest migration the code has (the one no other follows), read from the files'
    text; None when they have several heads (Alembic then says what to do)."""
    revisions: set[str] = set()
    followed: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        for down, value in _REVISION_LINE.findall(path.read_text(encoding="utf-8")):
            (followed if down else revisions).add(value)
    heads = revisions - followed
    return heads.pop() if len(heads) == 1 else None


def _at_newest(engine: sa.Engine) -> bool:
    newest = newest_revision()
    if newest is None:
        return False
    try:  # a read: on SQLite it need not wait for the write lock
        with engine.execution_options(sqlite_begin="DEFERRED").connect() as connection:
            current = connection.exec_driver_sql("SELECT version_num FROM alembic_version").all()
    except sa.exc.DBAPIError:  # no schema yet
        return False
    return current == [(newest,)]


def schema_revisions(engine: sa.Engine) -> tuple[str | None, str | None]:
    """The schema's revision in the database and the newest the code knows."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    return current, ScriptDirectory.from_config(alembic_config()).get_current_head()


def drop_everything(engine: sa.Engine) -> None:
    """Remove every table (ours and Alembic's) so the schema can be built afresh."""
    with engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        else:
            queue_schema.drop(connection)  # its types and functions are not tables
        metadata = sa.MetaData()
        metadata.reflect(connection)
        metadata.drop_all(connection)


# SQLSTATEs of a PostgreSQL that is busy rather than wrong: serialization failure, deadlock,
# lock not available (lock_timeout), statement timeout, too many connections.
_PG_BUSY = {"40001", "40P01", "55P03", "57014", "53300"}
# Class 08 (connection exception), 53 (insufficient resources: disk full, out of memory, too
# many connections), 57P0x (the server shutting down or starting up), 25006 (a read-only
# transaction: a standby promoted away from under us).
_PG_UNAVAILABLE = ("08", "53", "57P01", "57P02", "57P03", "25006")
_SQLITE_BUSY = {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED}
# The file cannot be written or read for now: a full disk, a read-only file or file system,
# an I/O error, a file that cannot be opened. Someone fixes the storage; the app recovers.
_SQLITE_STORAGE = {
    sqlite3.SQLITE_FULL,
    sqlite3.SQLITE_READONLY,
    sqlite3.SQLITE_IOERR,
    sqlite3.SQLITE_CANTOPEN,
}


def busy(error: BaseException) -> bool:
    """The database could not answer now (no free connection, a lock not granted, a server
    that cannot be reached or went away, storage full or read-only), as opposed to a statement
    that is wrong: nothing was changed, and asking again later may work."""
    if isinstance(error, sa.exc.TimeoutError):  # no free connection in the pool
        return True
    if not isinstance(error, sa.exc.DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    cause = error.orig
    if isinstance(cause, sqlite3.Error):
        code = _sqlite_code(cause)
        return code in _SQLITE_BUSY or code in _SQLITE_STORAGE
    state = getattr(cause, "sqlstate", None)
    if state is None:
        # psycopg gives a refused or cut connection no SQL state: an OperationalError then is
        # the server out of reach, not a wrong statement (those always carry one).
        return isinstance(error, sa.exc.OperationalError)
    return state in _PG_BUSY or state.startswith(_PG_UNAVAILABLE)


def _sqlite_code(error: sqlite3.Error) -> int | None:
    code = getattr(error, "sqlite_errorcode", None)
    return None if code is None else code & 0xFF  # extended codes keep the base code


def int_sum(expression: Any) -> sa.Cast[int]:
    """SUM of integers as an integer on both databases (PostgreSQL's SUM of a bigint is
    numeric, which would turn fen into Decimals); an empty sum is 0."""
    return sa.cast(sa.func.coalesce(sa.func.sum(expression), 0), sa.BigInteger)


def upsert_insert(bind: sa.orm.Session | sa.Connection) -> Any:
    """`insert` of the database in use, with its ON CONFLICT clauses (PostgreSQL's and SQLite's
    share one API: `on_conflict_do_nothing`, `on_conflict_do_update`)."""
    connection = bind if isinstance(bind, sa.Connection) else bind.connection()
    return postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert


def exclusive(session: sa.orm.Session, key: str) -> None:
    """Hold `key` until the transaction ends, so that two processes never do the same piece of
    work at once (the second waits, then sees it done). PostgreSQL: an advisory lock; SQLite:
    nothing to do, a writing transaction holds the database's write lock from its start."""
    if session.get_bind().dialect.name == "postgresql":
        _take_turns(session, key)


def _take_turns(bind: sa.orm.Session | sa.Connection, key: str) -> None:
    """A PostgreSQL advisory lock on `key` until the transaction ends. Advisory locks are the
    whole database's: the schema is part of the key, so that two programmes (or two test
    runs) in schemas of one database never wait for each other."""
    named = sa.func.concat(sa.func.current_schema(), ":", key)
    bind.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext(named))))
