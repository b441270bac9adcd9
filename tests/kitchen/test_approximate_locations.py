"""An elder placed at her community's centre (no geocoder, or an address it did not know) is
said to be so wherever her location is used: on her page, in the planner's summary, on the
printed route sheet and on the rider's phone page, until someone corrects it."""

import io
import re

import pypdf

from core.models import Elder, Order
from core.types import Slot
from kitchen.route_sheets import route_sheets_pdf, sheet_routes
from routing.service import route_view
from tests.conftest import SHANGHAI
from tests.factories import kitchen_with_route

PROGRAMME_PHONE = "020-8888 0000"  # the programme's number, as the surfaces pass it


def flat(pdf: bytes) -> str:
    pages = pypdf.PdfReader(io.BytesIO(pdf)).pages
    return re.sub(r"\s+", "", "".join(page.extract_text() for page in pages))


def test_the_route_sheet_says_which_doors_are_placed_approximately(make, session):
    route_id, _ = kitchen_with_route(make, elders=2)
    view = route_view(session=session, route_id=route_id)
    second = session.get(Elder, session.get(Order, view.stops[1].order_id).elder_id)
    second.location_approximate = True
    session.add(second)
    session.flush()
    view = route_view(session=session, route_id=route_id)
    assert [stop.location_approximate for stop in view.stops] == [False, True]
    sheet = sheet_routes(
        session=session,
        route_ids=[route_id],
        base_url="https://x.org",
        programme_phone=PROGRAMME_PHONE,
        tz=SHANGHAI,
    )[0]
    chinese = flat(route_sheets_pdf([sheet], "zh_CN"))
    first, second_at = (chinese.index(stop.elder) for stop in view.stops)
    assert "位置为约略" not in chinese[first:second_at]
    assert "位置为约略" in chinese[second_at:]
    assert "Locationapproximate" in flat(route_sheets_pdf([sheet], "en"))


def test_the_planner_counts_the_doors_it_planned_at_a_community_centre(make, session):
    from routing.records import DeliveryRoute
    from routing.solver import SolveParams
    from usecases.routing import plan_kitchen

    route_id, orders = kitchen_with_route(make, elders=3)
    route = session.get(DeliveryRoute, route_id)
    elder = session.get(Elder, session.get(Order, orders[2]).elder_id)
    elder.location_approximate = True
    session.add(elder)
    session.flush()
    summary = plan_kitchen(
        session=session,
        clock=make.clock,
        kitchen_id=route.kitchen_id,
        service_date=route.service_date,
        slot=Slot(route.slot),
        actor="test",
        params=SolveParams(deterministic=True, solution_limit=20),
    )
    assert summary.approximate_locations == 1
