"""The job queue's tables in our PostgreSQL schema. procrastinate (the queue `mealaid worker`
runs) ships its schema as SQL; our migrations create it beside our own tables, so one
`mealaid migrate` sets up everything, and a test's schema or a demo's reset removes it whole.
SQLite has no job queue: `mealaid serve` runs the due work in its own process there."""

import sqlalchemy as sa

# Everything procrastinate creates is named with this prefix (tables, types, functions).
PREFIX = "procrastinate_"


def create(connection: sa.Connection) -> None:
    """Create the queue's schema in the connection's current schema (PostgreSQL only)."""
    from procrastinate.schema import SchemaManager

    # psycopg parses no placeholders in a statement sent without parameters, so the schema's
    # own `%` and `:` reach the server as written; several statements go as one simple query.
    connection.connection.driver_connection.execute(SchemaManager.get_schema())  # type: ignore[union-attr]


def drop(connection: sa.Connection) -> None:
    """Remove the queue's tables, functions and types from the current schema."""
    like = PREFIX.replace("_", r"\_") + "%"
    namespace = "to_regnamespace(current_schema())"
    tables = connection.execute(
        sa.text(
            "SELECT relname FROM pg_class "
            f"WHERE relkind = 'r' AND relname LIKE :like AND relnamespace = {namespace}"
        ),
        {"like": like},
    ).scalars()
    for table in list(tables):
        connection.exec_driver_sql(f'DROP TABLE IF EXISTS "{table}" CASCADE')
    functions = connection.execute(
        sa.text(
            "SELECT p.oid::regprocedure::text FROM pg_proc p "
            f"WHERE p.proname LIKE :like AND p.pronamespace = {namespace}"
        ),
        {"like": like},
    ).scalars()
    for function in list(functions):
        connection.exec_driver_sql(f"DROP FUNCTION IF EXISTS {function} CASCADE")
    types = connection.execute(
        sa.text(
            f"SELECT typname FROM pg_type WHERE typname LIKE :like AND typnamespace = {namespace} "
            "AND typtype IN ('e', 'c')"
        ),
        {"like": like},
    ).scalars()
    for type_name in list(types):
        connection.exec_driver_sql(f'DROP TYPE IF EXISTS "{type_name}" CASCADE')
