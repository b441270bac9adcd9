"""The tests' PostgreSQL databases are emptied and given to the next test instead of dropped
(tests/conftest.py, Templates): what the next test gets must be what a fresh copy of the
template is, and a database whose schema a test changed must never be given again."""

from datetime import datetime

import pytest
import sqlalchemy as sa

from core.clock import FixedClock
from core.db import Database
from tests.conftest import POSTGRES_URL, SHANGHAI, row_counts
from tests.factories import Factory

pytestmark = pytest.mark.skipif(POSTGRES_URL is None, reason="needs PostgreSQL")


def test_a_used_database_comes_back_as_a_fresh_copy_and_a_changed_one_never(tmp_path):
    from tests.conftest import Templates

    templates = Templates()
    try:
        url, give_back = templates.copy("postgresql", tmp_path)
        database = Database.from_url(url)
        fresh = _state(database)
        with database.transaction() as session:
            make = Factory(session, FixedClock(datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI)))
            make.world()
            make.elder(make.community())
        assert _state(database) != fresh  # rows, and sequences moved on
        left_open = Database.from_url(url)  # a connection the test forgot: no obstacle
        left_open.engine.connect()
        database.dispose()
        give_back()

        again, give_back = templates.copy("postgresql", tmp_path)
        assert again == url  # the same database, emptied
        database = Database.from_url(again)
        assert _state(database) == fresh
        with database.engine.begin() as connection:
            connection.exec_driver_sql("ALTER TABLE audit_entry DISABLE TRIGGER USER")
        database.dispose()
        give_back()

        other, give_back = templates.copy("postgresql", tmp_path)
        assert other != url  # the changed one was dropped, not given again
        give_back()
        left_open.dispose()
    finally:
        templates.drop()


def _state(database: Database) -> tuple[dict[str, int], list[tuple[str, int, bool]]]:
    with database.reading() as session:
        rows = row_counts(session)
        sequences = session.execute(
            sa.text(
                "SELECT sequencename, last_value, last_value IS NOT NULL FROM pg_sequences"
                " WHERE schemaname = 'public' ORDER BY sequencename"
            )
        ).all()
    return rows, [tuple(s) for s in sequences]
