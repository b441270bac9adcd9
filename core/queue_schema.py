"""The job queue's tables in our PostgreSQL schema. procrastinate (the queue `mealaid worker`
runs) ships its schema as SQL; our migrations create it beside our own tables, so one
`mealaid migrate` sets up everything, and a test's schema or a demo's reset removes it whole.
SQLite has no job queue: `mealaid serve` runs the due work in its own process there."""

from dataclasses import dataclass

import sqlalchemy as sa

# Everything procrastinate creates is named with this prefix (tables, types, functions).
PREFIX = "procrastinate_"
_LIKE = PREFIX.replace("_", r"\_") + "%"  # for LIKE: "_" matches any one character


def ours(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic's `include_name`: the models describe our tables, not the queue's, so
    autogenerate and the schema check leave the queue's alone."""
    return not (type_ == "table" and (name or "").startswith(PREFIX))


def create(connection: sa.Connection) -> None:
    """Create the queue's schema in the connection's current schema (PostgreSQL only)."""
    from procrastinate.schema import SchemaManager

    # psycopg parses no placeholders in a statement sent without parameters, so the schema's
    # own `%` and `:` reach the server as written; several statements go as one simple query.
    connection.connection.driver_connection.execute(SchemaManager.get_schema())  # type: ignore[union-attr]  # open: has a driver connection


def drop(connection: sa.Connection) -> None:
    """Remove the queue's tables, functions and types from the current schema."""
    namespace = "to_regnamespace(current_schema())"
    for find, drop_one in (
        (
            f"SELECT quote_ident(relname) FROM pg_class WHERE relkind = 'r' "
            f"AND relname LIKE :like AND relnamespace = {namespace}",
            "DROP TABLE IF EXISTS {} CASCADE",
        ),
        (
            "SELECT oid::regprocedure::text FROM pg_proc "
            f"WHERE proname LIKE :like AND pronamespace = {namespace}",
            "DROP FUNCTION IF EXISTS {} CASCADE",
        ),
        (
            "SELECT quote_ident(typname) FROM pg_type WHERE typname LIKE :like "
            f"AND typnamespace = {namespace} AND typtype IN ('e', 'c')",
            "DROP TYPE IF EXISTS {} CASCADE",
        ),
    ):
        names = connection.execute(sa.text(find), {"like": _LIKE}).scalars().all()
        for name in names:
            connection.exec_driver_sql(drop_one.format(name))


@dataclass(frozen=True)
class QueueHealth:
    """The job queue as an operator checks it: workers that said they were alive within
    `alive_seconds`, jobs waiting to start (and how long the oldest has waited), running,
    and failed (kept for a look; successful jobs are removed)."""

    workers_alive: int
    waiting: int
    oldest_waiting_seconds: float | None
    running: int
    failed: int


def health(connection: sa.Connection, alive_seconds: float) -> QueueHealth:
    row = connection.execute(
        sa.text(
            """
            SELECT
              (SELECT count(*) FROM procrastinate_workers
                WHERE last_heartbeat > now() - make_interval(secs => :alive)) AS workers_alive,
              count(*) FILTER (WHERE j.status = 'todo'
                AND (j.scheduled_at IS NULL OR j.scheduled_at <= now())) AS waiting,
              extract(epoch FROM now() - min(e.at) FILTER (WHERE j.status = 'todo'
                AND (j.scheduled_at IS NULL OR j.scheduled_at <= now()))) AS oldest,
              count(*) FILTER (WHERE j.status = 'doing') AS running,
              count(*) FILTER (WHERE j.status = 'failed') AS failed
            FROM procrastinate_jobs j
            LEFT JOIN procrastinate_events e ON e.job_id = j.id AND e.type = 'deferred'
            """
        ),
        {"alive": alive_seconds},
    ).one()
    return QueueHealth(
        workers_alive=row.workers_alive,
        waiting=row.waiting,
        oldest_waiting_seconds=None if row.oldest is None else float(row.oldest),
        running=row.running,
        failed=row.failed,
    )
