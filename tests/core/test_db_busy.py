"""Telling a busy database from a wrong statement, with the errors the databases really raise:
the web app answers the first with "try again" (503) and the second as the bug it is (500)."""

import pytest
import sqlalchemy as sa

from core.db import Database, busy


def _error_of(run) -> BaseException:
    with pytest.raises(Exception) as raised:
        run()
    return raised.value


def test_a_lock_not_granted_in_time_is_busy(empty_database: Database):
    engine = empty_database.engine
    with engine.connect() as holder, engine.connect() as waiter:
        if empty_database.dialect == "sqlite":
            holder.exec_driver_sql("SELECT 1")  # begins: our transactions take the write lock
            waiter.connection.dbapi_connection.execute("PRAGMA busy_timeout = 50")
            error = _error_of(lambda: waiter.exec_driver_sql("SELECT 1"))
        else:
            holder.execute(sa.select(sa.func.pg_advisory_lock(42)))
            waiter.exec_driver_sql("SET lock_timeout = '50ms'")
            error = _error_of(lambda: waiter.execute(sa.select(sa.func.pg_advisory_lock(42))))
            holder.execute(sa.select(sa.func.pg_advisory_unlock(42)))
        holder.rollback()
        waiter.rollback()
    assert busy(error)


def test_no_free_connection_is_busy(empty_database: Database):
    url = empty_database.engine.url.render_as_string(hide_password=False)
    tiny = Database.from_url(url, pool_size=1, max_overflow=0, pool_timeout=0.05)
    with tiny.engine.connect():
        assert busy(_error_of(tiny.engine.connect))
    tiny.dispose()


def test_a_wrong_statement_is_not_busy(empty_database: Database):
    with empty_database.engine.connect() as connection:
        missing = _error_of(lambda: connection.exec_driver_sql("SELECT * FROM no_such_table"))
        connection.rollback()
        typo = _error_of(lambda: connection.exec_driver_sql("SELEC 1"))
    assert not busy(missing) and not busy(typo)
    assert not busy(ValueError("not a database error"))
