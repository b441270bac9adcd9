"""The `mealaid` commands refuse text with hidden characters (issue 23, finding 14): a staff
account's shown name or a family code's issuer with a right-to-left override or a control
character is refused in the reader's language, and nothing is written."""

from datetime import datetime

from core.clock import FixedClock
from core.db import Database
from tests.conftest import SHANGHAI, row_counts
from tests.factories import Factory
from tests.mealaid.test_cli_accounts import cli
from tests.mealaid.test_demo import database_url  # noqa: F401  (the fixture)


def test_user_add_and_link_code_refuse_hidden_characters(database_url):  # noqa: F811
    database = Database.from_url(database_url)
    database.migrate()
    clock = FixedClock(datetime(2026, 12, 5, 8, 0, tzinfo=SHANGHAI))
    with database.transaction() as session:
        elder = Factory(session, clock).elder()
    with database.reading() as session:
        before = row_counts(session)
    for name in ("\u202enimda", "Wang\x1b[2J"):
        refused = cli(
            "user", "add", "--username", "wang.li", "--role", "admin",
            "--password", "a long enough secret", "--name", name,
        )  # fmt: skip
        assert refused.exit_code == 2, refused.output
        assert "name shown" in refused.output and "characters" in refused.output
    refused = cli("link-code", "--elder", str(elder.id), "--issued-by", "\u202ewang.li")
    assert refused.exit_code == 1, refused.output
    assert "invisible characters" in refused.output
    with database.reading() as session:
        assert row_counts(session) == before
    database.dispose()
