"""Alembic environment: runs MealAid's migrations on the connection handed in, or on the URL
from settings. The schema is the whole application's, so this is the one module under `core`
that imports another package's tables."""

from alembic import context
from sqlalchemy import Connection
from sqlmodel import SQLModel

import billing.models  # noqa: F401  (registers the tables on SQLModel.metadata)
import bot.models  # noqa: F401
import core.accounts
import core.audit
import core.models  # noqa: F401
import kitchen.models  # noqa: F401
import routing.records  # noqa: F401
from core import queue_schema
from core.db import create_engine
from core.settings import get_settings

config = context.config
target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine(get_settings().database_url)
    with engine.begin() as connection:
        _run(connection)


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode copies the table instead.
        render_as_batch=True,
        compare_type=True,
        include_name=queue_schema.ours,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; give a database URL")
run_migrations_online()
