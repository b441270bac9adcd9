"""The route sheet download: the signed route key opens it, in the reader's language."""

import io
from datetime import datetime

import pypdf
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from core.clock import FixedClock
from core.signing import sign
from tests.conftest import SHANGHAI
from tests.factories import Factory, kitchen_with_route


@pytest.fixture
def route(empty_database):
    clock = FixedClock(datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI))
    with empty_database.transaction() as session:
        route_id, _ = kitchen_with_route(Factory(session, clock), elders=2)
    with TestClient(create_app(database=empty_database, clock=clock)) as client:
        yield client, route_id


def text(response) -> str:
    return "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(response.content)).pages)


def test_the_route_sheet_downloads_with_the_route_key_in_the_readers_language(route):
    client, route_id = route
    url = f"/api/v1/routes/{route_id}/sheet.pdf?key={sign('route', route_id)}"
    chinese = client.get(url, headers={"accept-language": "zh-CN"})
    assert chinese.status_code == 200
    assert chinese.headers["content-type"] == "application/pdf"
    assert "骑手乙" in text(chinese) and "无人应答" in text(chinese)
    english = client.get(url + "&lang=en")
    assert "No answer" in text(english) and "无人应答" not in text(english)


def test_the_route_sheet_needs_the_right_key_or_a_login_and_an_existing_route(route):
    client, route_id = route
    assert client.get(f"/api/v1/routes/{route_id}/sheet.pdf?key=guess").status_code == 403
    assert client.get(f"/api/v1/routes/{route_id}/sheet.pdf").status_code == 401
    other = route_id + 1
    missing = client.get(f"/api/v1/routes/{other}/sheet.pdf?key={sign('route', other)}&lang=en")
    assert missing.status_code == 404
    assert missing.json()["message"] == "We could not find this route."


def test_the_riders_page_links_to_its_sheet(route):
    client, route_id = route
    key = sign("route", route_id)
    page = client.get(f"/rider/routes/{route_id}?key={key}", headers={"accept": "text/html"})
    assert f"/api/v1/routes/{route_id}/sheet.pdf?key={key}" in page.text
