"""Meals are named in the reader's language on every staff page: the rider's route list said
"lunch" in the Chinese pages, from a meal code passed along as plain text."""

import re
from datetime import datetime
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

from core.clock import FixedClock
from core.types import OrderStatus
from routing.records import DeliveryRoute
from tests.apps import web_app
from tests.conftest import SHANGHAI
from tests.factories import SETTINGS, Factory, kitchen_with_route, log_in, make_staff
from usecases import routing as routing_runs

MEAL_CODES = re.compile(r"\b(breakfast|lunch|dinner)\b", re.IGNORECASE)


class _VisibleText(HTMLParser):
    """The text a person sees: no tags, attributes, scripts or styles."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs) -> None:
        if tag in ("script", "style", "title"):
            self._hidden += 1

    def handle_endtag(self, tag) -> None:
        if tag in ("script", "style", "title"):
            self._hidden -= 1

    def handle_data(self, data) -> None:
        if not self._hidden:
            self.parts.append(data)


def visible(html: str) -> str:
    parser = _VisibleText()
    parser.feed(html)
    return " ".join(parser.parts)


@pytest.fixture
def day_with_a_route(empty_database):
    """A kitchen's lunch route, its first door not answered (a welfare alert), an admin and
    the route's rider."""
    clock = FixedClock(datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI))
    with empty_database.transaction() as session:
        make = Factory(session, clock)
        route_id, orders = kitchen_with_route(make, elders=2, rider="骑手甲")
        admin = make_staff(make, "admin").username
        route = session.get_one(DeliveryRoute, route_id)
        rider = make_staff(make, "rider", rider_id=route.rider_id).username
        kitchen_id = route.kitchen_id
    clock.set(datetime(2026, 11, 25, 11, 20, tzinfo=SHANGHAI))
    with empty_database.transaction() as session:
        routing_runs.record_stop(
            session=session,
            clock=clock,
            settings=SETTINGS,
            route_id=route_id,
            order_id=orders[0],
            outcome=OrderStatus.no_answer,
        )
    with TestClient(web_app(database=empty_database, clock=clock)) as client:
        yield client, route_id, admin, rider, kitchen_id


def test_the_riders_route_list_names_the_meal_in_chinese(day_with_a_route):
    client, route_id, _, rider, _ = day_with_a_route
    log_in(client, rider)
    page = client.get("/rider?lang=zh_CN", headers={"accept": "text/html"})
    assert page.status_code == 200
    text = visible(page.text)
    assert "午餐" in text and f"/rider/routes/{route_id}" in page.text
    assert not MEAL_CODES.search(text), text
    english = visible(client.get("/rider?lang=en", headers={"accept": "text/html"}).text)
    assert "lunch" in english


def test_no_staff_page_shows_a_meal_code_in_chinese(day_with_a_route):
    client, route_id, admin, _, kitchen_id = day_with_a_route
    log_in(client, admin)
    pages = [
        "/",
        "/rider",
        f"/rider/routes/{route_id}",
        "/orders",
        "/welfare",
        "/dashboard",
        "/counter",
        "/admin/menus",
        f"/kitchens/{kitchen_id}/production",
    ]
    shown = {}
    for path in pages:
        answer = client.get(
            path + ("&" if "?" in path else "?") + "lang=zh_CN", headers={"accept": "text/html"}
        )
        assert answer.status_code == 200, (path, answer.status_code)
        found = MEAL_CODES.findall(visible(answer.text))
        if found:
            shown[path] = found
    assert shown == {}
