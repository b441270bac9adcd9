"""The ground everything stands on: migrations match the models, SQLite is durable, clocks,
settings and translations behave."""

import sqlite3
import subprocess
import sys
import threading
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from babel.messages.pofile import read_po
from sqlmodel import SQLModel

import api.accounts.models  # noqa: F401  (staff tables)
import billing.models  # noqa: F401  (its tables are part of the schema)
import core.audit  # noqa: F401
import kitchen.models  # noqa: F401
import routing.records  # noqa: F401
from core import i18n, queue_schema
from core.clock import FixedClock, SystemClock
from core.db import Database, alembic_config, newest_revision
from core.settings import Settings
from tests.conftest import POSTGRES_URL, SHANGHAI

ROOT = Path(__file__).resolve().parents[2]


def test_the_migrations_build_exactly_the_schema_the_models_describe(database):
    with database.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_name": queue_schema.ours}
        )
        assert compare_metadata(context, SQLModel.metadata) == []


def test_the_newest_revision_read_from_the_migration_files_is_alembics_head():
    assert newest_revision() == ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_a_schema_at_the_newest_revision_is_checked_without_loading_alembic(database):
    """Every command checks the schema as it starts: one query when it is up to date."""
    url = database.engine.url.render_as_string(hide_password=False)
    check = "import sys; from core.db import Database; Database.from_url(sys.argv[1]).migrate()"
    loaded = subprocess.run(
        [sys.executable, "-c", f"{check}; print('alembic' in sys.modules)", url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert loaded.stdout.split() == ["False"], loaded.stderr


@pytest.mark.skipif(not POSTGRES_URL, reason="PostgreSQL: several processes start at once")
def test_processes_starting_at_once_on_a_new_schema_take_turns_to_migrate():
    schema = f"migrate_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    failures = []

    def start() -> None:
        database = Database.from_url(f"{POSTGRES_URL}?options=-csearch_path%3D{schema}")
        try:
            database.migrate()
        except Exception as error:  # what a process starting beside the others would meet
            failures.append(repr(error))
        finally:
            database.dispose()

    try:
        starting = [threading.Thread(target=start, daemon=True) for _ in range(3)]
        for thread in starting:
            thread.start()
        for thread in starting:
            thread.join(60)
        # Without turns, one fails on a table another made, or they wait on each other.
        assert not any(thread.is_alive() for thread in starting)
        assert failures == []
    finally:
        with admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


def test_sqlite_is_durable_enforces_foreign_keys_and_takes_the_write_lock_first(tmp_path):
    database = Database.from_url(f"sqlite:///{tmp_path}/durable.db")
    with database.engine.connect() as connection:
        pragma = connection.exec_driver_sql
        assert pragma("PRAGMA journal_mode").scalar() == "wal"
        assert pragma("PRAGMA synchronous").scalar() == 2  # FULL
        assert pragma("PRAGMA foreign_keys").scalar() == 1
    with database.transaction() as session:
        session.connection().exec_driver_sql("CREATE TABLE probe (x INTEGER)")
    # While one writer holds the transaction, a second writer cannot even begin.
    with database.transaction() as session:
        session.connection().exec_driver_sql("INSERT INTO probe VALUES (1)")
        other = sqlite3.connect(tmp_path / "durable.db", timeout=0, isolation_level=None)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
        other.close()
    # A reading session does not block a writer.
    with database.reading() as session:
        session.connection().exec_driver_sql("SELECT * FROM probe").all()
        writer = sqlite3.connect(tmp_path / "durable.db", timeout=0, isolation_level=None)
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("ROLLBACK")
        writer.close()
    database.dispose()


def test_a_rolled_back_transaction_leaves_nothing(tmp_path):
    database = Database.from_url(f"sqlite:///{tmp_path}/rollback.db")
    with database.transaction() as session:
        session.connection().exec_driver_sql("CREATE TABLE probe (x INTEGER)")
    with pytest.raises(RuntimeError), database.transaction() as session:
        session.connection().exec_driver_sql("INSERT INTO probe VALUES (1)")
        raise RuntimeError("the request failed half way")
    with database.reading() as session:
        assert session.connection().exec_driver_sql("SELECT count(*) FROM probe").scalar() == 0
    database.dispose()


def test_a_failed_statement_never_shows_its_values(database):
    """Errors end up in logs; the values bound to a statement (phone numbers, names,
    addresses) must not go with them."""
    with pytest.raises(sa.exc.DBAPIError) as failed, database.reading() as session:
        session.execute(
            sa.text("SELECT * FROM no_such_table WHERE phone = :phone"), {"phone": "13812345678"}
        )
    assert "no_such_table" in str(failed.value)
    assert "13812345678" not in str(failed.value)


def test_clocks_are_aware_and_fixed_clocks_move_only_when_told():
    fixed = FixedClock(datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI))
    fixed.advance(timedelta(minutes=90))
    assert fixed.now() == datetime(2026, 11, 25, 1, 30, tzinfo=UTC)
    assert SystemClock(SHANGHAI).now().utcoffset() == timedelta(hours=8)
    with pytest.raises(ValueError):
        FixedClock(datetime(2026, 11, 25, 8, 0))


def test_settings_come_from_mealaid_variables_and_refuse_the_default_secret_in_production(
    monkeypatch,
):
    monkeypatch.setenv("MEALAID_TIMEZONE", "Asia/Urumqi")
    monkeypatch.setenv("MEALAID_DEFAULT_LOCALE", "en")
    settings = Settings()
    assert (settings.timezone, settings.default_locale) == ("Asia/Urumqi", "en")
    monkeypatch.setenv("MEALAID_ENVIRONMENT", "production")
    refusal = Settings().secret_refusal()
    assert refusal is not None and "MEALAID_SECRET_KEY" in refusal[0]
    monkeypatch.setenv("MEALAID_SECRET_KEY", "kV7pQ2xZ9mL4tR8wN3bH6jC1fD5gS0aY")
    assert Settings().environment == "production" and Settings().secret_refusal() is None


def test_every_message_has_a_chinese_translation():
    catalog = read_po((ROOT / "locales/zh_CN/LC_MESSAGES/messages.po").open("rb"))
    # A plural's msgstr is a tuple: ("",) is truthy but untranslated.
    missing = [
        m.id
        for m in catalog
        if m.id and (not m.string or m.fuzzy or (isinstance(m.string, tuple) and not all(m.string)))
    ]
    assert missing == []
    assert i18n.gettext("lunch", "zh_CN") == "午餐"
    assert i18n.gettext("lunch", "en") == "lunch"


def test_the_catalog_template_holds_every_string_in_the_code():
    from babel.messages.extract import extract_from_dir

    found = set()
    for package in ("core", "api", "mealaid", "bot", "billing", "kitchen", "routing"):
        method_map = [("**.py", "python"), ("**/templates/**.html", "jinja2")]
        options = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
        for _, _, message, _, _ in extract_from_dir(
            ROOT / package, method_map, options, keywords={"_": None, "N_": None}
        ):
            found.add(message)
    template = {m.id for m in read_po((ROOT / "locales/messages.pot").open("rb")) if m.id}
    assert found - template == set(), "run `make messages` and translate the new strings"


@pytest.mark.parametrize(
    ("tag", "locale"),
    [
        ("zh-hans", "zh_CN"),
        ("zh_TW", "zh_CN"),
        ("en-US", "en"),
        ("en", "en"),
        ("fr", "zh_CN"),
        (None, "zh_CN"),
        ("", "zh_CN"),
    ],
)
def test_language_tags_map_to_our_locales(tag, locale):
    assert i18n.negotiate(tag, default="zh_CN") == locale


def test_money_is_integer_fen_formatted_per_locale():
    assert i18n.money(1550, "zh_CN") == "¥15.50"
    # The yuan sign in English too (Babel's English writes "CN¥"), the locale's digits.
    assert i18n.money(1550, "en") == "¥15.50"
    assert i18n.money(-123456, "en") == "-¥1,234.56"
    with pytest.raises(TypeError):
        i18n.money(15.5, "en")  # type: ignore[arg-type]  # a float on purpose: refused


def test_diet_allergen_and_texture_codes_read_in_the_readers_language():
    from core.types import code_name

    assert (code_name("egg", "zh_CN"), code_name("minced", "zh_CN")) == ("鸡蛋", "碎食")
    assert code_name("low_salt", "en") == "low salt"
    assert code_name("unknown-code", "zh_CN") == "unknown-code"
