"""Routes planned from the day's locked delivery orders, packing lists in reverse stop order,
and labels that carry route and stop."""

from datetime import date, time

import pypdf
import pytest
from sqlmodel import select

from core.cutoff import run_cutoff
from core.models import Rider
from core.orders import place_order
from core.schemas import MealSlotCreate
from core.types import ServiceMode, SiteKind, Slot
from kitchen.exports import kitchen_files
from kitchen.service import packing_lists
from routing.planning import plan_slot
from routing.records import DeliveryRoute, RouteStop, UnplannedOrder
from routing.solver import SolveParams
from tests.conftest import SHANGHAI
from tests.factories import CUTOFF_LIMITS, ORDER_LIMITS

PROGRAMME_PHONE = "020-8888 0000"  # the programme's number, as the surfaces pass it

DAY = date(2026, 11, 25)
DETERMINISTIC = SolveParams(deterministic=True, solution_limit=50)


@pytest.fixture
def day(make, session):
    community = make.community()
    kitchen = make.site(
        serves=[community],
        kind=SiteKind.central_kitchen,
        lat=23.125,
        lon=113.27,
        offers_pickup=False,
        offers_dine_in=False,
        slots=[
            MealSlotCreate(
                slot=Slot.lunch,
                cutoff_time=time(9, 0),
                delivery_start=time(11, 0),
                delivery_end=time(12, 30),
            )
        ],
    )
    dish = make.dish()
    make.menu(kitchen, [dish], DAY)
    session.add(
        Rider(
            name="骑手甲",
            phone="13900000000",
            kitchen_id=kitchen.id,
            capacity=4,
            shift_start=time(10, 30),
            shift_end=time(13, 0),
        )
    )
    orders = []
    for index in range(6):
        elder = make.elder(
            community, name=f"长者{index}", lat=23.125 + 0.002 * (index + 1), lon=113.27
        )
        orders.append(
            place_order(
                session=session,
                clock=make.clock,
                elder_id=elder.id,
                site_id=kitchen.id,
                service_date=DAY,
                slot=Slot.lunch,
                dish_id=dish.id,
                variant="regular",
                mode=ServiceMode.delivery,
                idempotency_key=f"r{index}",
                **ORDER_LIMITS,
            ).id
        )
    run_cutoff(
        session=session,
        clock=make.clock,
        site_id=kitchen.id,
        service_date=DAY,
        slot=Slot.lunch,
        early=True,
        **CUTOFF_LIMITS,
    )
    return kitchen, orders


def test_every_locked_delivery_is_routed_or_left_out_with_a_reason(make, session, day):
    kitchen, orders = day
    summary = plan_slot(
        session=session,
        clock=make.clock,
        kitchen_id=kitchen.id,
        service_date=DAY,
        slot=Slot.lunch,
        params=DETERMINISTIC,
    )
    stops = session.exec(select(RouteStop)).all()
    left_out = session.exec(select(UnplannedOrder)).all()
    # One rider with room for four boxes: four go on the route, two are left out for capacity.
    assert (summary.stops, summary.riders, len(stops), len(left_out)) == (6, 1, 4, 2)
    assert {u.reason for u in left_out} <= {"capacity", "fleet"}
    assert {s.order_id for s in stops} | {u.order_id for u in left_out} == set(orders)
    for stop in stops:  # ETAs inside the delivery window
        local = stop.eta.astimezone(make.clock.tz).time()
        assert time(11, 0) <= local <= time(12, 30)
    # Planning again replaces the plan instead of adding to it.
    plan_slot(
        session=session,
        clock=make.clock,
        kitchen_id=kitchen.id,
        service_date=DAY,
        slot=Slot.lunch,
        params=DETERMINISTIC,
    )
    assert len(session.exec(select(DeliveryRoute)).all()) == 1
    assert len(session.exec(select(RouteStop)).all()) == 4


def test_packing_is_in_reverse_stop_order_and_labels_carry_route_and_stop(
    make, session, day, tmp_path
):
    kitchen, _ = day
    plan_slot(
        session=session,
        clock=make.clock,
        kitchen_id=kitchen.id,
        service_date=DAY,
        slot=Slot.lunch,
        params=DETERMINISTIC,
    )
    [packing] = packing_lists(
        session=session, kitchen_id=kitchen.id, service_date=DAY, slot=Slot.lunch
    )
    assert (packing.route, packing.rider) == (1, "骑手甲")
    assert [box.stop for box in packing.boxes] == [4, 3, 2, 1]
    files = kitchen_files(
        session=session,
        kitchen_id=kitchen.id,
        service_date=DAY,
        slot=Slot.lunch,
        folder=tmp_path,
        locale="en",
        base_url="http://127.0.0.1:8000",
        programme_phone=PROGRAMME_PHONE,
        tz=SHANGHAI,
    )
    labels = next(p for p in files if p.name.startswith("labels-thermal"))
    first_label = pypdf.PdfReader(labels).pages[0].extract_text()
    assert "Route 1, stop 4" in first_label  # the first label printed is the last stop's box
    packing_csv = next(p for p in files if p.name.startswith("packing") and p.suffix == ".csv")
    rows = packing_csv.read_text(encoding="utf-8-sig").splitlines()
    assert [row.split(",")[1] for row in rows[1:]] == ["4", "3", "2", "1"]


def test_once_routes_exist_home_deliveries_are_counted_per_route(make, session, day):
    from kitchen.service import production_list

    kitchen, _ = day
    plan_slot(
        session=session,
        clock=make.clock,
        kitchen_id=kitchen.id,
        service_date=DAY,
        slot=Slot.lunch,
        params=DETERMINISTIC,
    )
    production = production_list(
        session=session, kitchen_id=kitchen.id, service_date=DAY, slot=Slot.lunch
    )
    by_route = {line.destination.route: line.portions for line in production.lines}
    # Four boxes on route 1; the two the plan left out are still cooked, on no route.
    assert by_route == {1: 4, None: 2}
