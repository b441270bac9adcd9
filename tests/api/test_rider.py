"""The rider's page: signed links, stops in order, Delivered / No answer through the same
services as everywhere else."""

from datetime import date, datetime

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from api.app import create_app
from billing.models import LedgerEntry
from core.clock import FixedClock
from core.models import Order
from core.signing import sign
from core.types import OrderStatus
from tests.conftest import SHANGHAI
from tests.factories import Factory, csrf_from, kitchen_with_route

DAY = date(2026, 11, 25)


@pytest.fixture
def route(empty_database):
    clock = FixedClock(datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI))
    with empty_database.transaction() as session:
        route_id, orders = kitchen_with_route(Factory(session, clock), elders=3)
    clock.set(datetime(2026, 11, 25, 11, 20, tzinfo=SHANGHAI))
    with TestClient(create_app(database=empty_database, clock=clock)) as client:
        yield client, route_id, orders, empty_database


def test_a_wrong_key_is_refused_and_the_right_one_shows_the_stops_in_order(route):
    client, route_id, orders, _ = route
    assert client.get(f"/rider/routes/{route_id}?key=guess").status_code == 403
    assert (
        client.get(f"/rider/routes/{route_id + 1}?key={sign('route', route_id)}").status_code == 403
    )
    body = client.get(f"/api/v1/routes/{route_id}?key={sign('route', route_id)}").json()
    assert [stop["position"] for stop in body["stops"]] == [1, 2, 3]
    assert {stop["order_id"] for stop in body["stops"]} == set(orders)
    page = client.get(
        f"/rider/routes/{route_id}?key={sign('route', route_id)}&lang=zh_CN",
        headers={"accept": "text/html"},
    )
    assert page.status_code == 200 and "骑手乙" in page.text and "<svg" in page.text
    assert page.text.count('value="delivered"') == 3


def test_delivered_and_no_answer_go_through_the_order_and_billing_services(route):
    client, route_id, _, database = route
    key = sign("route", route_id)
    body = client.get(f"/api/v1/routes/{route_id}?key={key}").json()
    first, second = body["stops"][0]["order_id"], body["stops"][1]["order_id"]
    csrf = csrf_from(client.get(f"/rider/routes/{route_id}?key={key}").text)
    done = client.post(
        f"/rider/routes/{route_id}/stops/{first}",
        data={"key": key, "outcome": "delivered", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"].endswith("#stop-1")
    client.post(
        f"/rider/routes/{route_id}/stops/{second}",
        data={"key": key, "outcome": "no_answer", "csrf_token": csrf},
    )
    with database.reading() as session:
        statuses = {o.id: o.status for o in session.exec(select(Order))}
        posted = {e.order_id for e in session.exec(select(LedgerEntry))}
    assert statuses[first] == OrderStatus.delivered and statuses[second] == OrderStatus.no_answer
    assert first in posted
    page = client.get(
        f"/rider/routes/{route_id}?key={key}&lang=en", headers={"accept": "text/html"}
    )
    assert "Call family" in page.text and "tel:13800009999" in page.text
    refused = client.post(
        f"/rider/routes/{route_id}/stops/{first}",
        data={"key": "wrong", "outcome": "no_answer", "csrf_token": csrf},
    )
    assert refused.status_code == 403


def test_the_qr_code_on_a_box_opens_its_stop(route):
    client, route_id, orders, _ = route
    order_id = orders[0]
    response = client.get(
        f"/rider/orders/{order_id}?key={sign('order', order_id)}", follow_redirects=False
    )
    assert response.status_code == 303
    assert response.headers["location"].startswith(
        f"/rider/routes/{route_id}?key={sign('route', route_id)}#stop-"
    )
    assert client.get(f"/rider/orders/{order_id}?key=nope").status_code == 403


def test_a_route_that_is_not_todays_takes_no_marks_and_says_why(empty_database):
    """A sheet kept from yesterday, or a link opened tomorrow, records nothing."""
    clock = FixedClock(datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI))
    with empty_database.transaction() as session:
        route_id, orders = kitchen_with_route(Factory(session, clock), elders=2)
    clock.set(datetime(2026, 11, 26, 11, 20, tzinfo=SHANGHAI))  # the next day
    key = sign("route", route_id)
    with TestClient(create_app(database=empty_database, clock=clock)) as client:
        csrf = csrf_from(client.get(f"/rider/routes/{route_id}?key={key}").text)
        refused = client.post(
            f"/rider/routes/{route_id}/stops/{orders[0]}?lang=zh_CN",
            data={"key": key, "outcome": "delivered", "csrf_token": csrf},
        )
    assert refused.status_code == 409
    assert "不是今天的" in refused.text and "Traceback" not in refused.text
    with empty_database.reading() as session:
        assert {o.status for o in session.exec(select(Order))} == {OrderStatus.locked}
        assert session.exec(select(LedgerEntry)).first() is None


def test_a_stop_without_the_elders_own_phone_offers_the_familys(empty_database):
    clock = FixedClock(datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI))
    with empty_database.transaction() as session:
        route_id, orders = kitchen_with_route(Factory(session, clock), elders=2)
        elder = session.get(Order, orders[0]).elder_id
        from core.models import Elder

        session.get(Elder, elder).phone = None
    clock.set(datetime(2026, 11, 25, 11, 20, tzinfo=SHANGHAI))
    key = sign("route", route_id)
    with TestClient(create_app(database=empty_database, clock=clock)) as client:
        page = client.get(f"/rider/routes/{route_id}?key={key}&lang=en").text
    # Before any outcome: the family's number where the elder has none of her own.
    assert page.count("Call family") == 1 and "tel:13800009999" in page
