"""The secret that signs staff sessions and riders' links: the built-in development one never
serves beyond this machine, and production refuses it and weak ones, in the reader's language
and before anything starts (real processes)."""

import os
import subprocess
from pathlib import Path

import pytest

from api.app import create_app
from core.settings import DEFAULT_SECRET, Settings
from tests.mealaid.test_commands import MEALAID

STRONG = "Vq3x9LmT2pZr8KwN4yBd7HsJ1cFg6QaE5uXo0"


def run(*args: str, folder: Path, **environment: str) -> subprocess.CompletedProcess:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("MEALAID_SECRET_KEY", "MEALAID_ENVIRONMENT")
    }
    result = subprocess.run(
        [MEALAID, *args],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        env={**env, "MEALAID_DATABASE_URL": f"sqlite:///{folder / 'unused.db'}", **environment},
    )
    assert "Traceback" not in result.stdout + result.stderr, result.stdout + result.stderr
    return result


def test_serving_beyond_this_machine_with_the_built_in_secret_is_refused(tmp_path):
    refused = run(
        "serve", "--host", "0.0.0.0", "--port", "1", folder=tmp_path, MEALAID_DEFAULT_LOCALE="zh_CN"
    )
    assert refused.returncode == 2
    assert "MealAid 不会" in refused.stdout and "MEALAID_SECRET_KEY" in refused.stdout
    assert "token_urlsafe" in refused.stdout  # how to make one
    english = run(
        "serve",
        "--host",
        "192.168.1.20",
        "--port",
        "1",
        folder=tmp_path,
        MEALAID_DEFAULT_LOCALE="en",
    )
    assert english.returncode == 2
    assert "will not serve on 192.168.1.20" in english.stdout


@pytest.mark.parametrize(
    ("secret", "refused"),
    [
        (None, "must be set in production"),
        ("x", "too weak"),
        ("s3cret-from-the-vault", "too weak"),  # 21 characters
        ("a" * 40, "too weak"),  # long, but one letter
        (STRONG, None),
    ],
)
def test_production_refuses_a_missing_or_weak_secret_before_any_command(secret, refused, tmp_path):
    environment = {"MEALAID_ENVIRONMENT": "production", "MEALAID_DEFAULT_LOCALE": "en"}
    if secret is not None:
        environment["MEALAID_SECRET_KEY"] = secret
    result = run("cutoff", "--site", "NOPE", folder=tmp_path, **environment)
    if refused is None:
        assert "MEALAID_SECRET_KEY" not in result.stdout
    else:
        assert result.returncode == 2 and refused in result.stdout


def test_the_app_itself_will_not_start_in_production_with_the_built_in_secret():
    with pytest.raises(RuntimeError, match="MEALAID_SECRET_KEY"):
        create_app(settings=Settings(environment="production", secret_key=DEFAULT_SECRET))
    with pytest.raises(RuntimeError, match="too weak"):
        create_app(settings=Settings(environment="production", secret_key="x"))
    assert Settings(environment="production", secret_key=STRONG).secret_refusal() is None
    loopback = Settings(secret_key=DEFAULT_SECRET)
    assert loopback.secret_refusal("127.0.0.1") is None and loopback.secret_refusal() is None
    assert loopback.secret_refusal("0.0.0.0") is not None
