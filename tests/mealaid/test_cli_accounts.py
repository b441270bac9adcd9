"""`mealaid user add` creates staff accounts with a clear refusal for bad input, and
`mealaid audit check` verifies the audit log's chain, naming the first tampered entry."""

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import select
from typer.testing import CliRunner

from api.accounts.models import StaffAccount, StaffCommunity
from core.audit import AuditEntry, record
from core.clock import FixedClock
from core.db import Database
from mealaid.cli import app
from tests.conftest import SHANGHAI
from tests.factories import Factory
from tests.mealaid.test_demo import database_url  # noqa: F401  (the fixture)


def cli(*args: str):
    return CliRunner().invoke(app, [*args, "--lang", "en"])


def test_user_add_creates_an_account_linked_as_its_role_needs(database_url):  # noqa: F811
    database = Database.from_url(database_url)
    database.migrate()
    clock = FixedClock(datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI))
    with database.transaction() as session:
        community_id = Factory(session, clock).community().id
    made = cli(
        "user", "add", "--username", "Wang.Li", "--role", "community_worker",
        "--password", "a long enough secret", "--community-id", str(community_id),
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    assert "Account wang.li created: community worker." in made.output
    with database.reading() as session:
        account = session.exec(select(StaffAccount)).one()
        linked = session.exec(select(StaffCommunity.community_id)).all()
    assert account.username == "wang.li" and account.password_hash.startswith("$argon2id$")
    assert linked == [community_id]
    database.dispose()


def test_link_code_gives_a_family_code_and_writes_who_issued_it(database_url):  # noqa: F811
    database = Database.from_url(database_url)
    clock = FixedClock(datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI))
    with database.transaction() as session:
        make = Factory(session, clock)
        elder = make.elder(make.site())
    made = cli("link-code", "--elder", str(elder.id), "--issued-by", "wang.li")
    assert made.exit_code == 0, made.output
    assert "Family code:" in made.output
    with database.reading() as session:
        entries = session.exec(select(AuditEntry)).all()
    assert [(e.actor, e.action, e.subject) for e in entries] == [
        ("cli:wang.li", "issue_link_code", f"elder:{elder.id}")
    ]
    unknown = cli("link-code", "--elder", "987654")
    assert unknown.exit_code == 1 and "Traceback" not in unknown.output
    database.dispose()


def test_user_add_refuses_bad_input_clearly_and_writes_nothing(database_url):  # noqa: F811
    missing = cli("user", "add", "--username", "rider9", "--role", "rider", "--password", "x" * 12)
    assert missing.exit_code == 2 and "A rider account needs its rider." in missing.output
    short = cli("user", "add", "--username", "boss", "--role", "admin", "--password", "short")
    assert short.exit_code == 2 and "Please check “password”: this is too short." in short.output
    role = cli("user", "add", "--username", "boss", "--role", "chef", "--password", "x" * 12)
    assert role.exit_code == 2 and "“role”: this is not one of the choices." in role.output
    database = Database.from_url(database_url)
    with database.reading() as session:
        assert session.exec(select(StaffAccount)).all() == []
    database.dispose()


def test_user_add_asks_for_the_password_when_not_given(database_url):  # noqa: F811
    result = CliRunner().invoke(
        app,
        ["user", "add", "--username", "boss", "--role", "admin", "--lang", "en"],
        input="a long enough secret\na long enough secret\n",
    )
    assert result.exit_code == 0, result.output
    assert "a long enough secret" not in result.output


def test_audit_check_passes_an_intact_log_and_names_a_tampered_entry(database_url):  # noqa: F811
    database = Database.from_url(database_url)
    database.migrate()
    clock = FixedClock(datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI))
    with database.transaction() as session:
        for n in range(4):
            record(session=session, clock=clock, actor=f"staff:a{n}", action="login", subject="x")
    intact = cli("audit", "check")
    assert intact.exit_code == 0 and "The audit log is intact: 4 entries." in intact.output
    with database.engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql("DROP TRIGGER audit_entry_no_update")
        else:
            connection.exec_driver_sql("ALTER TABLE audit_entry DISABLE TRIGGER USER")
        connection.execute(sa.text("UPDATE audit_entry SET subject = 'y' WHERE seq = 3"))
    tampered = cli("audit", "check")
    assert tampered.exit_code == 1
    assert "tampered with at entry 3: its contents do not match its hash" in tampered.output
    database.dispose()
