"""The rider's phone pages: today's routes, and a route's stops in order with ETA, address,
warnings, a call button, a navigation link and Delivered / No answer buttons, and a map drawn as
SVG. A logged-in rider opens only their own routes (the admin any); a signed link
(`routing.links`) opens without a login what it was made for: the route sheet's link that one
route, a box label's code that one delivery, for their service day, until withdrawn."""

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel
from sqlmodel import Session
from starlette.exceptions import HTTPException

from api.accounts.access import Staff, may_see_route
from api.accounts.errors import AccessDenied, LoginRequired
from api.accounts.models import Role
from api.audit_log import record_view
from api.deps import (
    AdminStaff,
    ClockDep,
    OptionalStaff,
    ReadSessionDep,
    RiderStaff,
    SessionDep,
    SettingsDep,
)
from api.errors import STAFF_RESPONSES, ErrorPublic
from api.marks import MarkKey
from api.templating import page
from core.clock import Clock, today
from core.settings import Settings
from core.types import OrderStatus, RowId
from routing import links
from routing.service import (
    RouteNotFound,
    RouteView,
    StopView,
    rider_of_route,
    route_of_order,
    route_view,
    routes_on,
)
from usecases import routing as routing_runs
from usecases.ordering import undo_deadline

router = APIRouter(tags=["rider"], responses=STAFF_RESPONSES)


def route_actor(
    session: Session,
    clock: Clock,
    settings: Settings,
    staff: Staff | None,
    route_id: RowId,
    key: str | None,
) -> str:
    """Who is opening this route, for the audit log, or a refusal: the route's own rider or
    the admin, logged in (whatever link they followed); else anyone with a route link that
    still works."""
    rider_id = rider_of_route(session=session, route_id=route_id)
    if staff is not None and rider_id is not None and may_see_route(staff, rider_id):
        return staff.actor
    grant = links.route_grant(
        session=session,
        clock=clock,
        route_id=route_id,
        key=key,
        link_margin_hours=settings.link_margin_hours,
    )
    if grant is not None:
        return staff.actor if staff is not None else grant.actor
    if staff is None:
        raise AccessDenied() if key else LoginRequired()
    if rider_id is None and staff.role in (Role.admin, Role.rider):
        raise RouteNotFound(route_id=route_id)
    raise AccessDenied()


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
    clock: ClockDep,
    settings: SettingsDep,
    key: str | None = None,
) -> RoutePublic:
    """A rider's route: stops in order with ETA and addresses (the rider's own route, or any
    route with the key from its link)."""
    actor = route_actor(session, clock, settings, staff, route_id, key)
    route = route_view(session=session, route_id=route_id)
    record_view(request, actor=actor, action="view_route", subject=f"route:{route_id}")
    return RoutePublic(
        id=route.id,
        number=route.number,
        rider=route.rider,
        kitchen=route.kitchen,
        distance_m=route.distance_m,
        stops=[_stop_public(stop) for stop in route.stops],
    )


def _stop_public(stop: StopView) -> StopPublic:
    return StopPublic(
        position=stop.position,
        order_id=stop.order_id,
        eta=stop.eta.isoformat(),
        elder=stop.elder,
        address=stop.address,
        lat=stop.lat,
        lon=stop.lon,
        dish_zh=stop.dish_zh,
        variant=stop.variant,
        portions=stop.portions,
        allergies=list(stop.allergies),
        texture=stop.texture,
        status=OrderStatus(stop.status),
    )


def _undo_until(route: RouteView, clock: Clock, settings: Settings) -> dict[int, str]:
    """The stops whose mark can still be taken back (the settings' undo window), and until
    when (HH:MM)."""
    now = clock.now()
    until = {
        stop.order_id: undo_deadline(stop.outcome_at, undo_minutes=settings.undo_minutes)
        for stop in route.stops
        if stop.outcome_at is not None
        and stop.status != OrderStatus.locked
        and route.service_date == today(clock)
    }
    return {
        order_id: deadline.astimezone(clock.tz).strftime("%H:%M")
        for order_id, deadline in until.items()
        if deadline >= now
    }


def _map_svg(route: RouteView, width: int = 340, height: int = 240) -> dict[str, Any]:
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
    clock: ClockDep,
    settings: SettingsDep,
    key: str | None = None,
) -> HTMLResponse:
    actor = route_actor(session, clock, settings, staff, route_id, key)
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
            "undo_until": _undo_until(route, clock, settings),
            "mark_key": lambda: uuid.uuid4().hex,
        },
    )


@router.post("/rider/routes/{route_id}/stops/{order_id}", include_in_schema=False)
def record_stop(
    route_id: RowId,
    order_id: RowId,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    staff: OptionalStaff,
    outcome: Annotated[OrderStatus, Form()],
    key: Annotated[str | None, Form()] = None,
    mark_key: Annotated[MarkKey | None, Form()] = None,
) -> RedirectResponse:
    """Delivered or no answer, from the rider's phone; back to the route page. Sent again
    under its `mark_key` (the page's script, after the connection dropped), it counts once."""
    actor = route_actor(session, clock, settings, staff, route_id, key)
    if outcome not in (OrderStatus.delivered, OrderStatus.no_answer):
        raise HTTPException(status_code=400)
    position = routing_runs.record_stop(
        session=session,
        clock=clock,
        settings=settings,
        route_id=route_id,
        order_id=order_id,
        outcome=outcome,
        key=mark_key,
        sender=actor,
    )
    query = f"?key={quote(key)}" if key else ""
    return RedirectResponse(f"/rider/routes/{route_id}{query}#stop-{position}", status_code=303)


@router.post("/rider/routes/{route_id}/stops/{order_id}/undo", include_in_schema=False)
def undo_stop(
    route_id: RowId,
    order_id: RowId,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    staff: OptionalStaff,
    key: Annotated[str | None, Form()] = None,
    mark_key: Annotated[MarkKey | None, Form()] = None,
) -> RedirectResponse:
    """Take back Delivered / No answer within minutes; back to the route page. Too late is
    said on an error page in the rider's language, and nothing changes."""
    actor = route_actor(session, clock, settings, staff, route_id, key)
    position = routing_runs.undo_stop(
        session=session,
        clock=clock,
        settings=settings,
        route_id=route_id,
        order_id=order_id,
        actor=actor,
        key=mark_key,
    )
    query = f"?key={quote(key)}" if key else ""
    return RedirectResponse(f"/rider/routes/{route_id}{query}#stop-{position}", status_code=303)


class StopUndonePublic(BaseModel):
    order_id: RowId
    position: int
    status: OrderStatus


@router.post(
    "/api/v1/routes/{route_id}/stops/{order_id}/undo",
    response_model=StopUndonePublic,
    responses={409: {"model": ErrorPublic, "description": "Too late, or nothing to undo"}},
)
def undo_stop_json(
    route_id: RowId,
    order_id: RowId,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    staff: OptionalStaff,
    key: str | None = None,
) -> StopUndonePublic:
    """Take back a door's mark (delivered, no answer) within `MEALAID_UNDO_MINUTES`, on a
    route of today: the route's rider, the admin, or the route's link. A welfare alert the
    no-answer raised is withdrawn and the family told."""
    actor = route_actor(session, clock, settings, staff, route_id, key)
    position = routing_runs.undo_stop(
        session=session,
        clock=clock,
        settings=settings,
        route_id=route_id,
        order_id=order_id,
        actor=actor,
    )
    return StopUndonePublic(order_id=order_id, position=position, status=OrderStatus.locked)


@dataclass(frozen=True)
class StopAccess:
    route_id: int
    position: int
    actor: str
    whole_route: bool  # the route's own rider or the admin, not a box's link


def stop_access(
    session: Session,
    clock: Clock,
    settings: Settings,
    staff: Staff | None,
    order_id: RowId,
    key: str | None,
) -> StopAccess:
    """Who may open this order's delivery, or a refusal: the rider of its route and the admin
    see the whole route; a box label's link opens that one delivery, for anyone holding it."""
    stop = route_of_order(session=session, order_id=order_id)
    if staff is not None and stop is not None:
        rider_id = rider_of_route(session=session, route_id=stop[0])
        if rider_id is not None and may_see_route(staff, rider_id):
            return StopAccess(stop[0], stop[1], staff.actor, whole_route=True)
    grant = links.stop_grant(
        session=session,
        clock=clock,
        order_id=order_id,
        key=key,
        link_margin_hours=settings.link_margin_hours,
    )
    if grant is not None and stop is not None:
        actor = staff.actor if staff is not None else grant.actor
        return StopAccess(grant.route_id, stop[1], actor, whole_route=False)
    if staff is None:
        raise AccessDenied() if key else LoginRequired()
    if stop is None and staff.role in (Role.admin, Role.rider):
        raise RouteNotFound()
    raise AccessDenied()


def _one_stop(session: Session, access: StopAccess) -> tuple[RouteView, StopView]:
    route = route_view(session=session, route_id=access.route_id)
    return route, next(stop for stop in route.stops if stop.position == access.position)


@router.get("/rider/orders/{order_id}", include_in_schema=False)
def order_stop(
    request: Request,
    order_id: RowId,
    session: ReadSessionDep,
    staff: OptionalStaff,
    clock: ClockDep,
    settings: SettingsDep,
    key: str | None = Query(None),
) -> Response:
    """Where the code on a box leads: the rider (or admin) who may see its route goes to the
    stop on the route page; anyone else with the box's link sees that one delivery only."""
    access = stop_access(session, clock, settings, staff, order_id, key)
    if access.whole_route:
        return RedirectResponse(
            f"/rider/routes/{access.route_id}#stop-{access.position}", status_code=303
        )
    route, stop = _one_stop(session, access)
    record_view(request, actor=access.actor, action="view_stop", subject=f"order:{order_id}")
    return page(
        request,
        "rider_stop.html",
        {
            "route": route,
            "stop": stop,
            "key": key,
            "quote": quote,
            "tz": clock.tz,
            "undo_until": _undo_until(route, clock, settings),
            "mark_key": lambda: uuid.uuid4().hex,
        },
    )


@router.get("/api/v1/stops/{order_id}", response_model=StopPublic)
def stop_json(
    request: Request,
    order_id: RowId,
    session: ReadSessionDep,
    staff: OptionalStaff,
    clock: ClockDep,
    settings: SettingsDep,
    key: str | None = None,
) -> StopPublic:
    """One delivery, as a box label's link opens it (or its rider, or the admin)."""
    access = stop_access(session, clock, settings, staff, order_id, key)
    _, stop = _one_stop(session, access)
    record_view(request, actor=access.actor, action="view_stop", subject=f"order:{order_id}")
    return _stop_public(stop)


@router.post("/rider/orders/{order_id}", include_in_schema=False)
def record_stop_by_link(
    order_id: RowId,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    staff: OptionalStaff,
    outcome: Annotated[OrderStatus, Form()],
    key: Annotated[str | None, Form()] = None,
    mark_key: Annotated[MarkKey | None, Form()] = None,
) -> RedirectResponse:
    """Delivered or no answer for one delivery (a box label's link); back to its page."""
    access = stop_access(session, clock, settings, staff, order_id, key)
    if outcome not in (OrderStatus.delivered, OrderStatus.no_answer):
        raise HTTPException(status_code=400)
    routing_runs.record_stop(
        session=session,
        clock=clock,
        settings=settings,
        route_id=access.route_id,
        order_id=order_id,
        outcome=outcome,
        key=mark_key,
        sender=access.actor,
    )
    query = f"?key={quote(key)}" if key else ""
    return RedirectResponse(f"/rider/orders/{order_id}{query}", status_code=303)


@router.post("/rider/orders/{order_id}/undo", include_in_schema=False)
def undo_stop_by_link(
    order_id: RowId,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    staff: OptionalStaff,
    key: Annotated[str | None, Form()] = None,
    mark_key: Annotated[MarkKey | None, Form()] = None,
) -> RedirectResponse:
    """Take back a mark on one delivery (a box label's link); back to its page."""
    access = stop_access(session, clock, settings, staff, order_id, key)
    routing_runs.undo_stop(
        session=session,
        clock=clock,
        settings=settings,
        route_id=access.route_id,
        order_id=order_id,
        actor=access.actor,
        key=mark_key,
    )
    query = f"?key={quote(key)}" if key else ""
    return RedirectResponse(f"/rider/orders/{order_id}{query}", status_code=303)


class LinksWithdrawn(BaseModel):
    route_id: int
    generation: int


@router.post("/api/v1/routes/{route_id}/links/withdraw", response_model=LinksWithdrawn)
def withdraw_links_json(
    route_id: RowId, session: SessionDep, clock: ClockDep, staff: AdminStaff
) -> LinksWithdrawn:
    """Withdraw every link to a route and its stops (sheet, labels, chat): for a rider who
    dropped out or a sheet that was lost. Print the sheet again for new links."""
    generation = routing_runs.withdraw_links(
        session=session, clock=clock, route_id=route_id, actor=staff.actor
    )
    return LinksWithdrawn(route_id=route_id, generation=generation)


@router.post("/rider/routes/{route_id}/links/withdraw", include_in_schema=False)
def withdraw_links_page(
    route_id: RowId, session: SessionDep, clock: ClockDep, staff: AdminStaff
) -> RedirectResponse:
    routing_runs.withdraw_links(session=session, clock=clock, route_id=route_id, actor=staff.actor)
    return RedirectResponse(f"/rider/routes/{route_id}?withdrawn=1", status_code=303)


@router.get("/rider", response_class=HTMLResponse, include_in_schema=False)
def my_routes(
    request: Request,
    staff: RiderStaff,
    session: ReadSessionDep,
    clock: ClockDep,
    service_date: date | None = Query(None, alias="date"),
) -> HTMLResponse:
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
