"""`mealaid bot --sandbox` in production: refused, in the reader's language, before it opens
the database or a port. The sandbox's chat page lets anyone say they are any phone number and
be welcomed as that elder."""

import pytest

from tests.mealaid.test_commands import free_port, mealaid, one_line

REFUSALS = {
    "en": "The sandbox is for trying the bot offline: it does not run when "
    "MEALAID_ENVIRONMENT=production.",
    "zh_CN": "沙盒只用于离线试用机器人：MEALAID_ENVIRONMENT=production 时不能运行。",
}


@pytest.mark.parametrize("lang", list(REFUSALS))
def test_the_sandbox_refuses_to_run_in_production(tmp_path, monkeypatch, lang):
    database = tmp_path / "mealaid.db"
    monkeypatch.setenv("MEALAID_DATABASE_URL", f"sqlite:///{database}")
    monkeypatch.setenv("MEALAID_ENVIRONMENT", "production")
    monkeypatch.setenv("MEALAID_SECRET_KEY", "a-long-random-production-secret-0123456789abcdef")
    monkeypatch.setenv("MEALAID_DEFAULT_LOCALE", lang)
    refused = mealaid("bot", "--sandbox", "--port", str(free_port()), check_code=2)
    assert REFUSALS[lang] in one_line(refused)
    assert not database.exists()  # nothing was opened, let alone served
