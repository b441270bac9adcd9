"""The rider's page: signed links, stops in order, Delivered / No answer through the same
services as everywhere else."""

from datetime import date, datetime

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from billing.models import LedgerEntry
from core.audit import AuditEntry
from core.clock import FixedClock
from core.models import Elder, Order
from core.settings import Settings
from core.types import OrderStatus
from routing.records import DeliveryRoute
from tests.apps import web_app
from tests.conftest import SHANGHAI
from tests.factories import (
    Factory,
    csrf_from,
    kitchen_with_route,
    log_in,
    make_staff,
    route_key,
    stop_key,
)

DAY = date(2026, 11, 25)


@pytest.fixture
def route(empty_database):
    clock = FixedClock(datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI))
    with empty_database.transaction() as session:
        route_id, orders = kitchen_with_route(Factory(session, clock), elders=3)
    clock.set(datetime(2026, 11, 25, 11, 20, tzinfo=SHANGHAI))
    with TestClient(web_app(database=empty_database, clock=clock)) as client:
        yield client, route_id, orders, empty_database


def test_a_wrong_key_is_refused_and_the_right_one_shows_the_stops_in_order(route):
    client, route_id, orders, database = route
    key = route_key(database, route_id)
    assert client.get(f"/rider/routes/{route_id}?key=guess").status_code == 403
    assert client.get(f"/rider/routes/{route_id + 1}?key={key}").status_code == 403
    body = client.get(f"/api/v1/routes/{route_id}?key={key}").json()
    assert [stop["position"] for stop in body["stops"]] == [1, 2, 3]
    assert {stop["order_id"] for stop in body["stops"]} == set(orders)
    page = client.get(
        f"/rider/routes/{route_id}?key={key}&lang=zh_CN",
        headers={"accept": "text/html"},
    )
    assert page.status_code == 200 and "骑手乙" in page.text and "<svg" in page.text
    assert page.text.count('value="delivered"') == 3


def test_delivered_and_no_answer_go_through_the_order_and_billing_services(route):
    client, route_id, _, database = route
    key = route_key(database, route_id)
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


def test_the_code_on_a_box_opens_its_own_delivery_and_nothing_else(route):
    client, route_id, orders, database = route
    first, *others = orders
    key = stop_key(database, first)
    with database.reading() as session:
        names = {o.id: session.get(Elder, o.elder_id).name for o in session.exec(select(Order))}
    response = client.get(f"/rider/orders/{first}?key={key}&lang=en", follow_redirects=False)
    assert response.status_code == 200
    assert names[first] in response.text
    assert not any(names[other] in response.text for other in others)
    assert "sheet.pdf" not in response.text and f"/rider/routes/{route_id}" not in response.text
    # The box's key is not the route's key, nor another box's.
    assert client.get(f"/rider/routes/{route_id}?key={key}").status_code == 403
    assert client.get(f"/api/v1/routes/{route_id}?key={key}").status_code == 403
    assert client.get(f"/api/v1/routes/{route_id}/sheet.pdf?key={key}").status_code == 403
    assert client.get(f"/rider/orders/{others[0]}?key={key}").status_code == 403
    assert client.get(f"/rider/orders/{first}?key=nope").status_code == 403
    stop = client.get(f"/api/v1/stops/{first}?key={key}").json()
    assert stop["order_id"] == first and stop["elder"] == names[first]
    assert client.get(f"/api/v1/stops/{others[0]}?key={key}").status_code == 403


def test_a_box_key_records_its_own_delivery_only_and_the_log_names_the_link(route):
    client, route_id, orders, database = route
    first, second, _ = orders
    key = stop_key(database, first)
    csrf = csrf_from(client.get(f"/rider/orders/{first}?key={key}").text)
    # With no login at all, the box's key reaches no other stop of the route.
    for url, data in (
        (f"/rider/routes/{route_id}/stops/{second}", {"key": key}),
        (f"/rider/routes/{route_id}/stops/{first}", {"key": key}),
        (f"/rider/orders/{second}", {"key": key}),
    ):
        refused = client.post(url, data={**data, "outcome": "delivered", "csrf_token": csrf})
        assert refused.status_code == 403, url
    done = client.post(
        f"/rider/orders/{first}",
        data={"key": key, "outcome": "delivered", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert done.status_code == 303
    with database.reading() as session:
        statuses = {o.id: o.status for o in session.exec(select(Order))}
        views = session.exec(select(AuditEntry).where(AuditEntry.action == "view_stop")).all()
    assert statuses[first] == OrderStatus.delivered
    assert statuses[second] == OrderStatus.locked
    assert [entry.actor for entry in views] == [f"link:stop:{first}:20261125:g0:label"]
    assert key.split(".")[-1] not in views[0].actor  # never the signature itself


def test_links_work_through_their_day_and_the_margin_then_say_they_have_expired(empty_database):
    clock = FixedClock(datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI))
    with empty_database.transaction() as session:
        route_id, orders = kitchen_with_route(Factory(session, clock), elders=2)
    route, box = route_key(empty_database, route_id), stop_key(empty_database, orders[0])
    with TestClient(web_app(database=empty_database, clock=clock)) as client:
        clock.set(datetime(2026, 11, 26, 5, 59, tzinfo=SHANGHAI))  # the default margin: 6 h
        assert client.get(f"/rider/routes/{route_id}?key={route}").status_code == 200
        assert client.get(f"/rider/orders/{orders[0]}?key={box}").status_code == 200
        clock.set(datetime(2026, 11, 26, 6, 0, tzinfo=SHANGHAI))
        for url in (
            f"/rider/routes/{route_id}?key={route}",
            f"/rider/orders/{orders[0]}?key={box}",
        ):
            late = client.get(url + "&lang=zh_CN")
            assert late.status_code == 403
            assert "不再有效" in late.text and "Traceback" not in late.text
        english = client.get(f"/api/v1/routes/{route_id}?key={route}&lang=en").json()
        assert english["error"] == "link_expired"
        assert "no longer works" in english["message"]


def test_links_work_for_the_margin_of_the_apps_settings(empty_database):
    clock = FixedClock(datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI))
    with empty_database.transaction() as session:
        route_id, orders = kitchen_with_route(Factory(session, clock), elders=1)
    route, box = route_key(empty_database, route_id), stop_key(empty_database, orders[0])
    app = web_app(database=empty_database, clock=clock, settings=Settings(link_margin_hours=2))
    with TestClient(app) as client:
        clock.set(datetime(2026, 11, 26, 1, 59, tzinfo=SHANGHAI))
        assert client.get(f"/api/v1/routes/{route_id}?key={route}").status_code == 200
        clock.set(datetime(2026, 11, 26, 2, 0, tzinfo=SHANGHAI))  # the default's 6 h are not up
        for url in (
            f"/api/v1/routes/{route_id}?key={route}",
            f"/api/v1/stops/{orders[0]}?key={box}",
        ):
            late = client.get(url)
            assert late.status_code == 403 and late.json()["error"] == "link_expired", url


def test_the_admin_withdraws_a_routes_links_and_a_new_sheet_carries_new_ones(route):
    client, route_id, orders, database = route
    old_route, old_box = route_key(database, route_id), stop_key(database, orders[0])
    with database.transaction() as session:
        make = Factory(session, FixedClock(datetime(2026, 11, 25, 8, tzinfo=SHANGHAI)))
        rider, admin = make_staff(make, "rider"), make_staff(make, "admin")
    log_in(client, rider.username)
    refused = client.post(
        f"/api/v1/routes/{route_id}/links/withdraw",
        headers={"X-CSRF-Token": csrf_from(client.get("/rider").text)},
    )
    assert refused.status_code == 403
    client.cookies.clear()
    log_in(client, admin.username)
    page = client.get(f"/rider/routes/{route_id}?lang=en", headers={"accept": "text/html"})
    assert "Withdraw this route" in page.text
    withdrawn = client.post(
        f"/rider/routes/{route_id}/links/withdraw",
        data={"csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )
    assert withdrawn.status_code == 303
    client.cookies.clear()
    for url in (
        f"/rider/routes/{route_id}?key={old_route}",
        f"/rider/orders/{orders[0]}?key={old_box}",
    ):
        gone = client.get(url + "&lang=en")
        assert gone.status_code == 403 and "withdrawn" in gone.text
    new_route = route_key(database, route_id)
    assert new_route != old_route
    assert client.get(f"/rider/routes/{route_id}?key={new_route}").status_code == 200
    with database.reading() as session:
        entry = session.exec(
            select(AuditEntry).where(AuditEntry.action == "route_links_withdrawn")
        ).one()
    assert (entry.actor, entry.subject) == (f"staff:{admin.username}", f"route:{route_id}")


def test_a_route_that_is_not_todays_takes_no_marks_and_says_why(empty_database):
    """A sheet kept from yesterday, or a link opened tomorrow, records nothing."""
    clock = FixedClock(datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI))
    with empty_database.transaction() as session:
        route_id, orders = kitchen_with_route(Factory(session, clock), elders=2)
    key = route_key(empty_database, route_id)
    # Past midnight, in the link's margin: the page still opens, a mark is refused.
    clock.set(datetime(2026, 11, 26, 1, 20, tzinfo=SHANGHAI))
    with TestClient(web_app(database=empty_database, clock=clock)) as client:
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
    key = route_key(empty_database, route_id)
    with TestClient(web_app(database=empty_database, clock=clock)) as client:
        page = client.get(f"/rider/routes/{route_id}?key={key}&lang=en").text
    # Before any outcome: the family's number where the elder has none of her own.
    assert page.count("Call family") == 1 and "tel:13800009999" in page


def test_the_routes_own_rider_logged_in_opens_it_whatever_link_they_followed(empty_database):
    """An old sheet's link, expired for a stranger, still opens the route for its rider."""
    clock = FixedClock(datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI))
    with empty_database.transaction() as session:
        make = Factory(session, clock)
        route_id, _ = kitchen_with_route(make, elders=2)
        rider = make_staff(make, "rider", rider_id=session.get(DeliveryRoute, route_id).rider_id)
    key = route_key(empty_database, route_id)
    clock.set(datetime(2026, 11, 27, 9, 0, tzinfo=SHANGHAI))
    with TestClient(web_app(database=empty_database, clock=clock)) as client:
        assert client.get(f"/rider/routes/{route_id}?key={key}").status_code == 403
        log_in(client, rider.username)
        assert client.get(f"/rider/routes/{route_id}?key={key}").status_code == 200


def test_a_door_mark_is_taken_back_within_minutes_and_its_alert_withdrawn(route):
    """No answer, then the door opens: the rider takes the mark back (the meal waits again,
    the welfare alert is closed as withdrawn, the audit log says who), then marks it
    delivered. After the minutes are over, Undo is gone and a late one is refused."""
    from core.models import WelfareAlert
    from core.types import AlertStatus
    from core.welfare import WITHDRAWN

    client, route_id, _, database = route
    key = route_key(database, route_id)
    stops = client.get(f"/api/v1/routes/{route_id}?key={key}").json()["stops"]
    first, second = stops[0]["order_id"], stops[1]["order_id"]
    csrf = csrf_from(client.get(f"/rider/routes/{route_id}?key={key}").text)
    client.post(
        f"/rider/routes/{route_id}/stops/{first}",
        data={"key": key, "outcome": "no_answer", "csrf_token": csrf},
    )
    page = client.get(f"/rider/routes/{route_id}?key={key}&lang=zh_CN").text
    assert page.count("撤销") == 1 and "11:25 前" in page
    back = client.post(
        f"/rider/routes/{route_id}/stops/{first}/undo",
        data={"key": key, "csrf_token": csrf},
        follow_redirects=False,
    )
    assert back.status_code == 303 and back.headers["location"].endswith("#stop-1")
    with database.reading() as session:
        order = session.get(Order, first)
        alert = session.exec(select(WelfareAlert).where(WelfareAlert.order_id == first)).one()
        undone = session.exec(
            select(AuditEntry.detail).where(AuditEntry.action == "outcome_undone")
        ).all()
    assert order.status == OrderStatus.locked
    assert alert.status == AlertStatus.closed and alert.outcome == WITHDRAWN
    assert undone == [f"order:{first} no_answer"]
    # The welfare board lists it among the closed ones, withdrawn, in the reader's language.
    with database.transaction() as session:
        admin = make_staff(Factory(session, client.app.state.clock), "admin").username
    office = TestClient(client.app)
    log_in(office, admin)
    board = office.get("/welfare?lang=zh_CN").text
    assert "已撤回：配送员撤销了“无人应门”" in board
    assert "配送员撤销了“无人应门”：预警已撤回" in board
    client.post(
        f"/rider/routes/{route_id}/stops/{first}",
        data={"key": key, "outcome": "delivered", "csrf_token": csrf},
    )
    # The JSON twin, for the second stop; then too late for the first.
    client.post(
        f"/rider/routes/{route_id}/stops/{second}",
        data={"key": key, "outcome": "delivered", "csrf_token": csrf},
    )
    twin = client.post(
        f"/api/v1/routes/{route_id}/stops/{second}/undo?key={key}",
        headers={"x-csrf-token": csrf},
    )
    assert twin.status_code == 200 and twin.json()["status"] == "locked"
    client.app.state.clock.set(datetime(2026, 11, 25, 11, 26, tzinfo=SHANGHAI))
    assert "撤销" not in client.get(f"/rider/routes/{route_id}?key={key}&lang=zh_CN").text
    late = client.post(
        f"/rider/routes/{route_id}/stops/{first}/undo?lang=zh_CN",
        data={"key": key, "csrf_token": csrf},
        headers={"accept": "text/html"},
    )
    assert late.status_code == 409 and "5 分钟" in late.text
    with database.reading() as session:
        assert session.get(Order, first).status == OrderStatus.delivered


def test_a_door_mark_sent_again_under_its_key_counts_once_even_after_an_undo(route):
    """The rider's phone lost its signal after sending Delivered and sends it again under
    the same key: after the rider took it back in between, the meal stays waiting."""
    client, route_id, _, database = route
    key = route_key(database, route_id)
    first = client.get(f"/api/v1/routes/{route_id}?key={key}").json()["stops"][0]["order_id"]
    csrf = csrf_from(client.get(f"/rider/routes/{route_id}?key={key}").text)
    mark = {"key": key, "outcome": "delivered", "csrf_token": csrf, "mark_key": "k-door-0001"}
    client.post(f"/rider/routes/{route_id}/stops/{first}", data=mark)
    client.post(
        f"/rider/routes/{route_id}/stops/{first}/undo",
        data={"key": key, "csrf_token": csrf, "mark_key": "k-door-undo-1"},
    )
    again = client.post(
        f"/rider/routes/{route_id}/stops/{first}", data=mark, follow_redirects=False
    )
    assert again.status_code == 303 and again.headers["location"].endswith("#stop-1")
    with database.reading() as session:
        assert session.get(Order, first).status == OrderStatus.locked
        posted = session.exec(select(LedgerEntry.amount_fen).where(LedgerEntry.order_id == first))
        assert sum(posted) == 0
