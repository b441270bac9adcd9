"""The route sheet download: the signed route key opens it, in the reader's language."""

import io
from datetime import datetime

import pypdf
import pytest
from fastapi.testclient import TestClient

from core.clock import FixedClock
from tests.apps import web_app
from tests.conftest import SHANGHAI
from tests.factories import Factory, kitchen_with_route, route_key


@pytest.fixture
def route(empty_database):
    clock = FixedClock(datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI))
    with empty_database.transaction() as session:
        route_id, _ = kitchen_with_route(Factory(session, clock), elders=2)
    with TestClient(web_app(database=empty_database, clock=clock)) as client:
        yield client, route_id, empty_database


def text(response) -> str:
    return "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(response.content)).pages)


def test_the_route_sheet_downloads_with_the_route_key_in_the_readers_language(route):
    client, route_id, database = route
    url = f"/api/v1/routes/{route_id}/sheet.pdf?key={route_key(database, route_id)}"
    chinese = client.get(url, headers={"accept-language": "zh-CN"})
    assert chinese.status_code == 200
    assert chinese.headers["content-type"] == "application/pdf"
    assert "骑手乙" in text(chinese) and "无人应答" in text(chinese)
    english = client.get(url + "&lang=en")
    assert "No answer" in text(english) and "无人应答" not in text(english)


def test_the_route_sheet_needs_the_right_key_or_a_login_and_an_existing_route(route):
    client, route_id, database = route
    assert client.get(f"/api/v1/routes/{route_id}/sheet.pdf?key=guess").status_code == 403
    assert client.get(f"/api/v1/routes/{route_id}/sheet.pdf").status_code == 401
    # A genuine key for this route opens no other, existing or not.
    key = route_key(database, route_id)
    other = client.get(f"/api/v1/routes/{route_id + 1}/sheet.pdf?key={key}&lang=en")
    assert other.status_code == 403


def test_the_riders_page_links_to_its_sheet(route):
    client, route_id, database = route
    key = route_key(database, route_id)
    page = client.get(f"/rider/routes/{route_id}?key={key}", headers={"accept": "text/html"})
    assert f"/api/v1/routes/{route_id}/sheet.pdf?key={key}" in page.text
