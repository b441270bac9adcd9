"""Security headers on every answer: a Content-Security-Policy that allows only this site's own
style sheet (no script, no inline style, no framing), nosniff, no Referer (a rider's link
carries its key in the query string), no-store on everything but the static files, and HSTS
in production only. Pages, JSON, static files and errors alike, a 500 included."""

from datetime import datetime

import pytest
from fastapi.testclient import TestClient

from core.clock import FixedClock
from core.settings import Settings
from tests.apps import web_app
from tests.conftest import SHANGHAI
from tests.factories import Factory, log_in, make_staff

STRONG_SECRET = "a-long-random-secret-for-the-production-test-0123456789"


@pytest.fixture
def clock():
    return FixedClock(datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI))


@pytest.fixture
def admin(empty_database, clock) -> str:
    with empty_database.transaction() as session:
        return make_staff(Factory(session, clock), "admin").username


def _app(database, clock, **settings):
    app = web_app(
        settings=Settings(**settings) if settings else None, database=database, clock=clock
    )

    @app.get("/api/v1/boom")
    def boom():
        raise RuntimeError("secret internals")

    return app


def _policy(response) -> dict[str, str]:
    policy = response.headers["content-security-policy"]
    return {
        part.strip().split(" ", 1)[0]: part.strip().partition(" ")[2]
        for part in policy.split(";")
        if part.strip()
    }


def _answers(client) -> dict[str, object]:
    """One answer of each kind a browser or an API client meets."""
    html = {"accept": "text/html"}
    return {
        "login page": client.get("/login"),
        "staff page": client.get("/?date=2026-11-25", headers=html),
        "staff JSON": client.get("/api/v1/me"),
        "JSON refusal": client.get("/api/v1/overview?date=yesterday"),
        "page not found": client.get("/no-such-page", headers=html),
        "JSON not found": client.get("/api/v1/nothing"),
        "failure": client.get("/api/v1/boom"),
        "health": client.get("/healthz"),
    }


def test_every_page_and_answer_carries_the_security_headers(empty_database, clock, admin):
    with TestClient(_app(empty_database, clock), raise_server_exceptions=False) as client:
        assert log_in(client, admin).status_code == 303
        answers = _answers(client)
    statuses = {name: r.status_code for name, r in answers.items()}
    assert statuses == {
        "login page": 200,
        "staff page": 200,
        "staff JSON": 200,
        "JSON refusal": 422,
        "page not found": 404,
        "JSON not found": 404,
        "failure": 500,
        "health": 200,
    }
    for name, response in answers.items():
        headers = response.headers
        assert headers.get("x-content-type-options") == "nosniff", name
        assert headers.get("x-frame-options") == "DENY", name
        assert headers.get("referrer-policy") == "no-referrer", name
        assert headers.get("cache-control") == "no-store", name
        assert "strict-transport-security" not in headers, name  # not in development
        policy = _policy(response)
        assert policy["default-src"] == "'none'", name
        assert policy["frame-ancestors"] == "'none'", name
        assert policy["style-src"] == "'self'", name
        assert policy["form-action"] == "'self'", name
        assert policy["base-uri"] == "'none'", name
        # Our own script files only (no inline script, nothing from elsewhere).
        assert policy["script-src"] == "'self'", name
        assert policy["connect-src"] == "'self'", name
        assert "unsafe-inline" not in headers["content-security-policy"], name


def test_a_redirect_and_a_signed_link_page_are_not_stored_nor_referred(empty_database, clock):
    """The login redirect and the rider's link page: no Referer leaves with the key, and
    neither is kept in a cache."""
    with TestClient(_app(empty_database, clock)) as client:
        away = client.get("/", headers={"accept": "text/html"}, follow_redirects=False)
        bad_key = client.get("/rider/routes/1?key=not-a-key", headers={"accept": "text/html"})
    for response in (away, bad_key):
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["cache-control"] == "no-store"
    assert away.status_code == 303 and bad_key.status_code in (403, 404)


def test_static_files_may_be_cached_but_are_not_sniffed(empty_database, clock):
    with TestClient(_app(empty_database, clock)) as client:
        css = client.get("/static/style.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert css.headers["x-content-type-options"] == "nosniff"
    assert "no-store" not in css.headers.get("cache-control", "")
    assert "etag" in css.headers  # the browser may keep it and ask whether it changed


def test_hsts_only_in_production(empty_database, clock, admin):
    production = _app(empty_database, clock, environment="production", secret_key=STRONG_SECRET)
    with TestClient(production, raise_server_exceptions=False) as client:
        answers = {
            "login page": client.get("/login"),
            "failure": client.get("/api/v1/boom"),
            "static": client.get("/static/style.css"),
        }
    for name, response in answers.items():
        assert response.headers["strict-transport-security"] == "max-age=31536000", name


def test_the_api_documentation_runs_its_own_scripts_only(empty_database, clock):
    """/docs loads Swagger UI from its CDN with one inline script: the policy there allows that
    script by its hash, never 'unsafe-inline', and still forbids framing."""
    import base64
    import hashlib
    import re

    with TestClient(_app(empty_database, clock)) as client:
        docs = client.get("/docs")
    assert docs.status_code == 200
    policy = _policy(docs)
    assert policy["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in policy["script-src"]
    for script in re.findall(r"<script>(.*?)</script>", docs.text, re.S):
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy["script-src"]
