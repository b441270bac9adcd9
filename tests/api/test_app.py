"""The web app: health, the day overview as JSON and as a page, languages, and refusals that
are translated and never a 500."""

from datetime import date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from core.clock import FixedClock
from core.db import Database
from core.orders import place_order
from core.types import Slot
from tests.apps import web_app
from tests.conftest import SHANGHAI
from tests.factories import ORDER_LIMITS, Factory, log_in, make_staff


@pytest.fixture
def clock():
    return FixedClock(datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI))


@pytest.fixture
def client(empty_database, clock):
    """A browser logged in as the programme admin."""
    with empty_database.transaction() as session:
        admin = make_staff(Factory(session, clock), "admin")
    with TestClient(web_app(database=empty_database, clock=clock)) as client:
        assert log_in(client, admin.username).status_code == 303
        yield client


@pytest.fixture
def one_order(empty_database, clock):
    with empty_database.transaction() as session:
        make = Factory(session, clock)
        site, dishes, elder = make.world()
        place_order(
            session=session,
            clock=clock,
            elder_id=elder.id,
            site_id=site.id,
            service_date=make.today,
            slot=Slot.lunch,
            dish_id=dishes[0].id,
            variant="regular",
            quantity=2,
            idempotency_key="api-test",
            **ORDER_LIMITS,
        )
        return site


def test_healthz_reports_the_database(client, empty_database):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": empty_database.dialect}


def test_overview_counts_todays_orders(client, one_order):
    body = client.get("/api/v1/overview").json()
    assert (body["service_date"], body["orders"], body["portions"]) == ("2026-11-25", 1, 2)
    assert body["slots"][0]["site_name"] == one_order.name
    assert body["slots"][0]["by_mode"] == {"delivery": 1}
    tomorrow = (date(2026, 11, 25) + timedelta(days=1)).isoformat()
    assert client.get(f"/api/v1/overview?date={tomorrow}").json()["orders"] == 0


def test_the_page_speaks_chinese_by_default_and_english_when_asked(client, one_order):
    chinese = client.get("/", headers={"accept": "text/html"})
    assert chinese.status_code == 200 and "长者助餐" in chinese.text and "午餐" in chinese.text
    english = client.get("/?lang=en", headers={"accept": "text/html"})
    assert "lunch" in english.text and "Today" in english.text and 'lang="en"' in english.text
    # The choice is remembered.
    assert "Today" in client.get("/", headers={"accept": "text/html"}).text


def test_the_browser_language_is_used_when_nothing_was_chosen(client):
    page = client.get(
        "/?date=2026-11-25", headers={"accept": "text/html", "accept-language": "en-GB,en;q=0.8"}
    )
    assert "No orders for this day yet." in page.text


@pytest.mark.parametrize("lang, expected", [("en", "a date like 2026-11-25"), ("zh_CN", "日期")])
def test_bad_input_gets_a_translated_422_not_a_500(client, lang, expected):
    response = client.get(f"/api/v1/overview?date=yesterday&lang={lang}")
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_input"
    assert expected in response.json()["message"]


def test_an_unknown_page_is_a_translated_404(client):
    response = client.get("/no-such-page?lang=zh_CN", headers={"accept": "text/html"})
    assert response.status_code == 404 and "这个页面不存在" in response.text
    assert client.get("/api/v1/nothing?lang=en").json()["message"] == "This page does not exist."


def test_a_failure_inside_is_a_translated_500_without_a_traceback(empty_database, clock):
    app = web_app(database=empty_database, clock=clock)

    @app.get("/api/v1/boom")
    def boom():
        raise RuntimeError("secret internals")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/api/v1/boom?lang=en")
    assert response.status_code == 500
    assert "secret internals" not in response.text and "Traceback" not in response.text
    assert response.json()["error"] == "internal_error"


def test_the_openapi_schema_describes_the_api(client):
    schema = client.get("/openapi.json").json()
    paths = schema["paths"]
    assert {"/healthz", "/api/v1/overview", "/api/v1/me", "/api/v1/audit"} <= set(paths)
    assert {"/api/v1/elders", "/api/v1/elders/{elder_id}", "/api/v1/welfare/alerts"} <= set(paths)
    assert "ElderCreate" in str(paths["/api/v1/elders"]["post"]["requestBody"])
    # Refusals are documented as what they are: a code, a translated message and, for bad
    # input, the field it is about.
    refusals = paths["/api/v1/overview"]["get"]["responses"]
    assert {"401", "403", "422"} <= set(refusals)
    assert set(schema["components"]["schemas"]["ErrorPublic"]["properties"]) == {
        "error",
        "message",
        "field",
    }


def _one_connection(database: Database) -> Database:
    """The same database behind a pool of one connection that gives up waiting at once."""
    url = database.engine.url.render_as_string(hide_password=False)
    return Database.from_url(url, pool_size=1, max_overflow=0, pool_timeout=0.2)


def test_a_database_too_busy_to_answer_is_a_translated_503_not_a_500(empty_database, clock):
    with empty_database.transaction() as session:
        admin = make_staff(Factory(session, clock), "admin")
    busy = _one_connection(empty_database)
    app = web_app(database=busy, clock=clock)
    with TestClient(app) as browser:  # and nothing escapes to the server's own error handling
        assert log_in(browser, admin.username).status_code == 303
        with busy.engine.connect():  # someone else holds the only connection
            # Waiting in a route, and in finding who is logged in (before any route runs).
            health = TestClient(app).get("/healthz")  # nobody logged in
            overview = browser.get("/api/v1/overview", headers={"accept-language": "en"})
            page = browser.get("/", headers={"accept": "text/html"})
        assert (health.status_code, health.json()["error"]) == (503, "busy")
        assert (overview.status_code, overview.json()["error"]) == (503, "busy")
        assert overview.json()["message"].startswith("The system is busy")
        assert overview.headers["retry-after"] == "5"
        assert page.status_code == 503 and "系统繁忙" in page.text
        assert browser.get("/api/v1/overview").status_code == 200  # and fine once it is free
    busy.dispose()


def test_a_wrong_statement_is_a_500_and_logged_not_a_busy_database(client, empty_database, caplog):
    """Only a database too busy to answer says "try again": a bug (here, a table that is not
    there) is the usual apology, with its traceback in the log."""
    with empty_database.engine.begin() as connection:
        connection.exec_driver_sql("ALTER TABLE meal_order RENAME TO meal_order_gone")
    answer = client.get("/api/v1/overview")
    assert (answer.status_code, answer.json()["error"]) == (500, "internal_error")
    assert "unhandled error on GET /api/v1/overview" in caplog.text
