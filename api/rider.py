"""The rider's phone pages: today's routes, and a route's stops in order with ETA, address,
warnings, a call button, a navigation link and Delivered / No answer buttons, and a map drawn as
SVG. A logged-in rider opens only their own routes (the admin any); a signed key (on the route
sheet and the QR code on each box) opens that one route or order without a login."""

from datetime import date
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel
from sqlmodel import Session
from starlette.exceptions import HTTPException

from api.accounts.access import Staff, may_see_route
from api.accounts.errors import AccessDenied, LoginRequired
from api.accounts.models import Role
from api.audit_log import record_view
from api.deps import ClockDep, OptionalStaff, ReadSessionDep, RiderStaff, SessionDep
from api.errors import STAFF_RESPONSES
from api.templating import page
from core.clock import today
from core.signing import sign, verify
from core.types import OrderStatus, RowId
from routing.service import (
    RouteNotFound,
    RouteView,
    rider_of_route,
    route_of_order,
    route_view,
    routes_on,
)
from usecases import routing as routing_runs

router = APIRouter(tags=["rider"], responses=STAFF_RESPONSES)


def route_actor(session: Session, staff: Staff | None, route_id: RowId, key: str | None) -> str:
    """Who is opening this route, for the audit log, or a refusal. The signed key is a
    capability for this one route; otherwise the route must be the logged-in rider's own."""
    if verify("route", route_id, key):
        return staff.actor if staff is not None else f"link:route:{route_id}"
    if staff is None:
        if key:
            raise AccessDenied()
        raise LoginRequired()
    rider_id = rider_of_route(session=session, route_id=route_id)
    if rider_id is None:
        if staff.role in (Role.admin, Role.rider):
            raise RouteNotFound(route_id=route_id)
        raise AccessDenied()
    if not may_see_route(staff, rider_id):
        raise AccessDenied()
    return staff.actor


class StopPublic(BaseModel):
    position: int
    order_id: RowId
    eta: str
    elder: str
    address: str
    lat: float
    lon: float
    dish_zh: str
    variant: str
    portions: int
    allergies: list[str]
    texture: str
    status: OrderStatus


class RoutePublic(BaseModel):
    id: int
    number: int
    rider: str
    kitchen: str
    distance_m: int
    stops: list[StopPublic]


@router.get("/api/v1/routes/{route_id}", response_model=RoutePublic)
def route_json(
    request: Request,
    route_id: RowId,
    session: ReadSessionDep,
    staff: OptionalStaff,
    key: str | None = None,
) -> RoutePublic:
    """A rider's route: stops in order with ETA and addresses (the rider's own route, or any
    route with the key from its link)."""
    actor = route_actor(session, staff, route_id, key)
    route = route_view(session=session, route_id=route_id)
    record_view(request, actor=actor, action="view_route", subject=f"route:{route_id}")
    return RoutePublic(
        id=route.id,
        number=route.number,
        rider=route.rider,
        kitchen=route.kitchen,
        distance_m=route.distance_m,
        stops=[
            StopPublic(
                position=s.position,
                order_id=s.order_id,
                eta=s.eta.isoformat(),
                elder=s.elder,
                address=s.address,
                lat=s.lat,
                lon=s.lon,
                dish_zh=s.dish_zh,
                variant=s.variant,
                portions=s.portions,
                allergies=list(s.allergies),
                texture=s.texture,
                status=OrderStatus(s.status),
            )
            for s in route.stops
        ],
    )


def _map_svg(route: RouteView, width: int = 340, height: int = 240) -> dict:
    """Points of the kitchen and stops scaled into an SVG box (no tile server needed)."""
    points = [(route.kitchen_lat, route.kitchen_lon)] + [(s.lat, s.lon) for s in route.stops]
    lats, lons = [p[0] for p in points], [p[1] for p in points]
    span_lat = max(max(lats) - min(lats), 1e-4)
    span_lon = max(max(lons) - min(lons), 1e-4)
    pad = 18

    def xy(lat: float, lon: float) -> tuple[float, float]:
        return (
            round(pad + (lon - min(lons)) / span_lon * (width - 2 * pad), 1),
            round(pad + (max(lats) - lat) / span_lat * (height - 2 * pad), 1),
        )

    scaled = [xy(lat, lon) for lat, lon in points]
    return {
        "width": width,
        "height": height,
        "kitchen": scaled[0],
        "stops": scaled[1:],
        "line": " ".join(f"{x},{y}" for x, y in scaled),
    }


@router.get("/rider/routes/{route_id}", response_class=HTMLResponse, include_in_schema=False)
def route_page(
    request: Request,
    route_id: RowId,
    session: ReadSessionDep,
    staff: OptionalStaff,
    key: str | None = None,
):
    actor = route_actor(session, staff, route_id, key)
    route = route_view(session=session, route_id=route_id)
    # The page shows elders' addresses and phone numbers.
    record_view(request, actor=actor, action="view_route", subject=f"route:{route_id}")
    return page(
        request,
        "rider_route.html",
        {
            "route": route,
            "key": key,
            "map": _map_svg(route),
            "quote": quote,
            "tz": request.app.state.settings.tz,
        },
    )


@router.post("/rider/routes/{route_id}/stops/{order_id}", include_in_schema=False)
def record_stop(
    route_id: RowId,
    order_id: RowId,
    session: SessionDep,
    clock: ClockDep,
    staff: OptionalStaff,
    outcome: Annotated[OrderStatus, Form()],
    key: Annotated[str | None, Form()] = None,
):
    """Delivered or no answer, from the rider's phone; back to the route page."""
    route_actor(session, staff, route_id, key)
    if outcome not in (OrderStatus.delivered, OrderStatus.no_answer):
        raise HTTPException(status_code=400)
    position = routing_runs.record_stop(
        session=session, clock=clock, route_id=route_id, order_id=order_id, outcome=outcome
    )
    query = f"?key={quote(key)}" if key else ""
    return RedirectResponse(f"/rider/routes/{route_id}{query}#stop-{position}", status_code=303)


@router.get("/rider/orders/{order_id}", include_in_schema=False)
def order_stop(
    order_id: RowId, session: ReadSessionDep, staff: OptionalStaff, key: str | None = Query(None)
):
    """Where the QR code on a box leads: that stop on its route's page."""
    if verify("order", order_id, key):
        stop = route_of_order(session=session, order_id=order_id)
        if stop is None:
            raise HTTPException(status_code=404)
        route_id, position = stop
        return RedirectResponse(
            f"/rider/routes/{route_id}?key={sign('route', route_id)}#stop-{position}",
            status_code=303,
        )
    if staff is None:
        if key:
            raise AccessDenied()
        raise LoginRequired()
    if staff.role not in (Role.admin, Role.rider):
        raise AccessDenied()
    stop = route_of_order(session=session, order_id=order_id)
    if stop is None:
        raise HTTPException(status_code=404)
    route_id, position = stop
    route_actor(session, staff, route_id, None)
    return RedirectResponse(f"/rider/routes/{route_id}#stop-{position}", status_code=303)


@router.get("/rider", response_class=HTMLResponse, include_in_schema=False)
def my_routes(
    request: Request,
    staff: RiderStaff,
    session: ReadSessionDep,
    clock: ClockDep,
    service_date: date | None = Query(None, alias="date"),
):
    """A rider's routes for the day (the admin sees every rider's)."""
    day = service_date or today(clock)
    routes = routes_on(
        session=session,
        service_date=day,
        rider_id=staff.rider_id if staff.role == Role.rider else None,
    )
    return page(
        request,
        "rider_today.html",
        {"routes": routes, "service_date": day, "tz": request.app.state.settings.tz},
    )
