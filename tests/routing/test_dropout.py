"""A rider drops out: the doors not yet reached go with fresh boxes to riders still at the
kitchen; riders on the road keep their routes; served doors stay as they were."""

from datetime import datetime, time

import pytest
from sqlmodel import select

from core.models import Rider
from core.orders import record_outcome
from core.types import OrderStatus, Slot
from routing.planning import plan_slot, replan_after_dropout
from routing.records import DeliveryRoute, RouteStop, UnplannedOrder
from routing.service import RouteNotFound
from routing.solver import SolveParams
from tests.conftest import SHANGHAI, row_counts
from tests.factories import WELFARE_LINE, kitchen_with_route

EXACT = SolveParams(deterministic=True, solution_limit=20)


def add_rider(session, kitchen_id, name, capacity=10):
    rider = Rider(
        name=name,
        phone="13900000003",
        kitchen_id=kitchen_id,
        capacity=capacity,
        shift_start=time(10, 30),
        shift_end=time(13, 0),
    )
    session.add(rider)
    session.flush()
    return rider


def stops_by_route(session) -> dict[int, list[int]]:
    found: dict[int, list[int]] = {}
    for stop in session.exec(select(RouteStop).order_by(RouteStop.route_id, RouteStop.position)):
        found.setdefault(stop.route_id, []).append(stop.order_id)
    return found


def test_before_anyone_leaves_the_whole_route_goes_to_the_rider_still_at_the_kitchen(make, session):
    route_id, orders = kitchen_with_route(make, elders=4)
    dropped = session.get(DeliveryRoute, route_id)
    spare = add_rider(session, dropped.kitchen_id, "骑手丙")
    make.clock.set(datetime(2026, 11, 25, 10, 0, tzinfo=SHANGHAI))
    summary = replan_after_dropout(
        session=session, clock=make.clock, route_id=route_id, params=EXACT
    )
    assert (summary.stops, summary.riders, summary.unassigned) == (4, 1, {})
    [route] = session.exec(select(DeliveryRoute)).all()
    assert route.rider_id == spare.id
    assert sorted(stops_by_route(session)[route.id]) == sorted(orders)


def test_mid_round_the_served_door_stays_and_the_rest_leave_again_from_the_kitchen(make, session):
    route_id, orders = kitchen_with_route(make, elders=4)
    dropped = session.get(DeliveryRoute, route_id)
    spare = add_rider(session, dropped.kitchen_id, "骑手丙")
    first = stops_by_route(session)[route_id][0]
    now = datetime(2026, 11, 25, 11, 15, tzinfo=SHANGHAI)
    assert dropped.departure_at < now  # the rider is out on the road
    make.clock.set(now)
    record_outcome(
        session=session,
        clock=make.clock,
        order_id=first,
        outcome=OrderStatus.delivered,
        by="rider",
        **WELFARE_LINE,
    )
    summary = replan_after_dropout(
        session=session, clock=make.clock, route_id=route_id, params=EXACT
    )
    assert (summary.stops, summary.riders) == (3, 1)
    routes = {r.rider_id: r for r in session.exec(select(DeliveryRoute))}
    stops = stops_by_route(session)
    assert stops[routes[dropped.rider_id].id] == [first]  # the served door keeps its record
    moved = routes[spare.id]
    assert sorted(stops[moved.id]) == sorted(set(orders) - {first})
    assert moved.departure_at >= now and moved.number == 2
    etas = [s.eta for s in session.exec(select(RouteStop).where(RouteStop.route_id == moved.id))]
    assert min(etas) > now


def test_riders_on_the_road_keep_their_routes_and_what_nobody_can_take_is_left_out(make, session):
    route_id, _ = kitchen_with_route(make, elders=4)
    kitchen_id = session.get(DeliveryRoute, route_id).kitchen_id
    session.get(Rider, session.get(DeliveryRoute, route_id).rider_id).capacity = 2
    add_rider(session, kitchen_id, "骑手丙", capacity=2)
    plan_slot(
        session=session,
        clock=make.clock,
        kitchen_id=kitchen_id,
        service_date=make.today,
        slot=Slot.lunch,
        params=EXACT,
    )
    routes = session.exec(select(DeliveryRoute).order_by(DeliveryRoute.number)).all()
    assert len(routes) == 2
    before = stops_by_route(session)
    make.clock.set(datetime(2026, 11, 25, 11, 15, tzinfo=SHANGHAI))
    dropped, going_on = routes
    summary = replan_after_dropout(
        session=session, clock=make.clock, route_id=dropped.id, params=EXACT
    )
    assert summary.riders == 0 and summary.unassigned == {"no_rider": 2}
    assert stops_by_route(session) == {going_on.id: before[going_on.id]}
    left_out = {u.order_id: u.reason for u in session.exec(select(UnplannedOrder))}
    assert left_out == dict.fromkeys(before[dropped.id], "no_rider")


def test_an_unknown_route_is_refused_and_nothing_changes(make, session):
    kitchen_with_route(make, elders=2)
    before = row_counts(session)
    with pytest.raises(RouteNotFound):
        replan_after_dropout(session=session, clock=make.clock, route_id=999_999)
    assert row_counts(session) == before


def test_kitchen_staff_report_a_dropout_for_their_own_kitchen_only(empty_database):
    from fastapi.testclient import TestClient

    from core.clock import FixedClock
    from tests.apps import web_app
    from tests.factories import Factory, csrf_from, log_in, make_staff

    clock = FixedClock(datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI))
    with empty_database.transaction() as session:
        make = Factory(session, clock)
        route_id, orders = kitchen_with_route(make, elders=3)
        kitchen_id = session.get(DeliveryRoute, route_id).kitchen_id
        spare = add_rider(session, kitchen_id, "骑手丙").id
        own = make_staff(make, "kitchen", kitchen_id=kitchen_id).username
        other = make_staff(make, "kitchen").username
    clock.set(datetime(2026, 11, 25, 10, 0, tzinfo=SHANGHAI))
    app = web_app(database=empty_database, clock=clock)
    url = f"/api/v1/routes/{route_id}/dropout"
    with TestClient(app) as client:
        log_in(client, other)
        token = csrf_from(client.get("/account/password").text)
        refused = client.post(url, headers={"x-csrf-token": token})
        assert refused.status_code == 403
        with empty_database.reading() as session:
            assert session.get(DeliveryRoute, route_id) is not None
    with TestClient(app) as client:
        log_in(client, own)
        token = csrf_from(client.get("/account/password").text)
        done = client.post(url, headers={"x-csrf-token": token})
        assert done.status_code == 200, done.text
        assert (done.json()["stops"], done.json()["riders"]) == (3, 1)
    with empty_database.reading() as session:
        [route] = session.exec(select(DeliveryRoute)).all()
        assert route.rider_id == spare
        assert sorted(stops_by_route(session)[route.id]) == sorted(orders)
