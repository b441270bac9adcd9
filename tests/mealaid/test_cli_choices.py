"""A `mealaid` option with fixed choices that is given something else names the choices."""

from typer.testing import CliRunner

from core.db import Database
from mealaid.cli import app
from tests.mealaid.test_demo import database_url  # noqa: F401  (the fixture)


def test_user_add_with_an_unknown_role_lists_the_roles(database_url):  # noqa: F811
    Database.from_url(database_url).migrate()
    command = ["user", "add", "--username", "chef.li", "--role", "chef", "--password", "x" * 14]
    en = CliRunner().invoke(app, [*command, "--lang", "en"])
    assert en.exit_code == 2
    assert "“role”: this is not one of the choices." in en.output
    assert "admin (programme admin)" in en.output and "canteen (canteen staff)" in en.output
    assert "kitchen (kitchen staff)" in en.output
    zh = CliRunner().invoke(app, [*command, "--lang", "zh_CN"])
    assert zh.exit_code == 2
    assert "kitchen（厨房人员）" in zh.output and "admin（项目管理员）" in zh.output
    assert "Traceback" not in en.output + zh.output
    # The help lists every role too.
    assert "canteen" in CliRunner().invoke(app, ["user", "add", "--help"]).output
