"""The set-up from the command line: `mealaid user add` audited like the page, `user disable`,
`enable` and `reset-password`, and `mealaid setup export` / `import` carrying a set-up from one
programme's database to another's."""

from datetime import datetime

from sqlmodel import select
from typer.testing import CliRunner

from core.accounts import StaffAccount
from core.audit import AuditEntry
from core.clock import FixedClock
from core.db import Database
from core.models import Community, Site
from core.settings import get_settings
from mealaid.cli import app
from tests.conftest import SHANGHAI, TEMPLATES
from tests.factories import Factory
from tests.mealaid.test_demo import database_url  # noqa: F401  (the fixture)


def cli(*args: str):
    return CliRunner().invoke(app, [*args, "--lang", "en"])


def test_user_add_disable_enable_and_reset_are_audited(database_url):  # noqa: F811
    made = cli(
        "user", "add", "--username", "he.min", "--role", "admin",
        "--password", "a long enough secret",
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    off = cli("user", "disable", "--username", "he.min")
    assert off.exit_code == 0 and "disabled" in off.output
    on = cli("user", "enable", "--username", "he.min")
    assert on.exit_code == 0 and "enabled" in on.output
    reset = cli("user", "reset-password", "--username", "he.min")
    assert reset.exit_code == 0 and "shown this once" in reset.output
    nobody = cli("user", "disable", "--username", "nobody")
    assert nobody.exit_code == 2 and "There is no account “nobody”." in nobody.output
    database = Database.from_url(database_url)
    with database.reading() as session:
        account = session.exec(select(StaffAccount)).one()
        actions = session.exec(select(AuditEntry.action).order_by(AuditEntry.seq)).all()
    assert account.active is True
    assert actions == ["create_account", "disable_account", "enable_account", "reset_password"]
    database.dispose()


def test_setup_export_and_import_carry_a_set_up_to_another_database(
    database_url,  # noqa: F811
    tmp_path,
    monkeypatch,
):
    database = Database.from_url(database_url)
    clock = FixedClock(datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI))
    with database.transaction() as session:
        make = Factory(session, clock)
        make.site(serves=[make.community(code="YX1")], code="C1")
    database.dispose()
    exported = cli("setup", "export", "--out", str(tmp_path / "setup.json"))
    assert exported.exit_code == 0, exported.output
    backend = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    other_url, drop = TEMPLATES.copy(backend, tmp_path)
    try:
        monkeypatch.setenv("MEALAID_DATABASE_URL", other_url)
        get_settings.cache_clear()
        imported = cli("setup", "import", str(tmp_path / "setup.json"))
        assert imported.exit_code == 0, imported.output
        assert "2 entries added" in " ".join(imported.output.split())
        again = cli("setup", "import", str(tmp_path / "setup.json"))
        assert "0 entries added, 2 already here" in " ".join(again.output.split())
        (tmp_path / "bad.json").write_text("[1, 2]")
        bad = cli("setup", "import", str(tmp_path / "bad.json"))
        assert bad.exit_code == 2 and "not a MealAid set-up file" in " ".join(bad.output.split())
        other = Database.from_url(other_url)
        with other.reading() as session:
            assert [c.code for c in session.exec(select(Community))] == ["YX1"]
            assert [s.code for s in session.exec(select(Site))] == ["C1"]
        other.dispose()
    finally:
        get_settings.cache_clear()
        drop()
