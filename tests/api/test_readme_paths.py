"""Every web address the README and the guide (docs/guide.md) name is one the app serves."""

import re
from pathlib import Path

from fastapi.testclient import TestClient

from tests.apps import web_app

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = (ROOT / "README.md", ROOT / "docs" / "guide.md")
# Named in the README but not the web app's: the bot's stand-in, a chat command, and the
# webhook, served only with a bot token.
ELSEWHERE = ("/sandbox", "/bot<token>", "/telegram/webhook")
CHAT_COMMANDS = {"/route"}


def named_paths() -> set[tuple[str, str]]:
    """(method, path) of every address in backticks; the method is "" when not named."""
    found = set()
    text = "\n".join(document.read_text() for document in DOCUMENTS)
    for method, path in re.findall(r"`(?:(GET|POST|PUT|PATCH|DELETE) )?(/[^`\s]*)`", text):
        path = path.split("?")[0]
        if path not in CHAT_COMMANDS and not path.startswith(ELSEWHERE):
            found.add((method, path))
    return found


def test_every_page_and_endpoint_the_readme_names_exists(empty_database):
    named = named_paths()
    assert ("", "/elders") in named and ("POST", "/api/v1/orders") in named
    with TestClient(web_app(database=empty_database)) as client:
        # Asked without a login: a page or endpoint that exists refuses (or sends to the login
        # form); one that does not is a 404 (405: it exists for another method, which is
        # enough where the README names no method).
        answers = {
            (method, path): client.request(
                method or "GET", re.sub(r"\bID\b|\bN\b|\{id\}", "1", path), follow_redirects=False
            ).status_code
            for method, path in sorted(named)
        }
    wrong = {
        (method, path): status
        for (method, path), status in answers.items()
        if status == 404 or (status == 405 and method)
    }
    assert wrong == {}
