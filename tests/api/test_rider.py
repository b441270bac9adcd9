"""The rider's page: signed links, stops in order, Delivered / No answer through the same
services as everywhere else."""

from datetime import date, datetime, time

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from api.app import create_app
from billing.models import LedgerEntry
from core.clock import FixedClock
from core.models import Order, Rider
from core.orders import place_order, run_cutoff
from core.schemas import EmergencyContactCreate, MealSlotCreate
from core.signing import sign
from core.types import OrderStatus, ServiceMode, SiteKind, Slot
from routing.planning import plan_slot
from routing.records import DeliveryRoute
from routing.solver import SolveParams
from tests.conftest import SHANGHAI
from tests.factories import Factory

DAY = date(2026, 11, 25)


@pytest.fixture
def route(empty_database):
    clock = FixedClock(datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI))
    with empty_database.transaction() as session:
        make = Factory(session, clock)
        community = make.community()
        kitchen = make.site(
            serves=[community],
            kind=SiteKind.central_kitchen,
            slots=[
                MealSlotCreate(
                    slot=Slot.lunch,
                    cutoff_time=time(9, 0),
                    delivery_start=time(11, 0),
                    delivery_end=time(12, 30),
                )
            ],
        )
        dish = make.dish(name_zh="白切鸡套餐")
        make.menu(kitchen, [dish], DAY)
        session.add(
            Rider(
                name="骑手乙",
                phone="13900000001",
                kitchen_id=kitchen.id,
                capacity=10,
                shift_start=time(10, 30),
                shift_end=time(13, 0),
            )
        )
        orders = []
        for index in range(3):
            elder = make.elder(
                community,
                name=f"长者{index}",
                lat=23.126 + 0.003 * index,
                emergency_contacts=[
                    EmergencyContactCreate(name="女儿", relation="女儿", phone="13800009999")
                ],
            )
            orders.append(
                place_order(
                    session=session,
                    clock=clock,
                    elder_id=elder.id,
                    site_id=kitchen.id,
                    service_date=DAY,
                    slot=Slot.lunch,
                    dish_id=dish.id,
                    variant="regular",
                    mode=ServiceMode.delivery,
                    idempotency_key=f"o{index}",
                ).id
            )
        run_cutoff(
            session=session,
            clock=clock,
            site_id=kitchen.id,
            service_date=DAY,
            slot=Slot.lunch,
            early=True,
        )
        plan_slot(
            session=session,
            clock=clock,
            kitchen_id=kitchen.id,
            service_date=DAY,
            slot=Slot.lunch,
            params=SolveParams(deterministic=True, solution_limit=20),
        )
        route_id = session.exec(select(DeliveryRoute.id)).one()
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
    done = client.post(
        f"/rider/routes/{route_id}/stops/{first}",
        data={"key": key, "outcome": "delivered"},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"].endswith("#stop-1")
    client.post(
        f"/rider/routes/{route_id}/stops/{second}", data={"key": key, "outcome": "no_answer"}
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
        f"/rider/routes/{route_id}/stops/{first}", data={"key": "wrong", "outcome": "no_answer"}
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
