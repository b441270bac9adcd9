"""The rider's phone page: today's stops in order with ETA, address, warnings, a call button,
a navigation link and Delivered / No answer buttons, and a map drawn as SVG. Links carry a
signed key (on the route sheet and the QR code on each box) instead of a login for now."""

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from api.deps import ClockDep, ReadSessionDep, SessionDep
from api.templating import page
from billing.ordering import record_outcome
from core.signing import sign, verify
from core.types import OrderStatus
from routing.service import RouteView, route_of_order, route_view

router = APIRouter(tags=["rider"])


def _checked(kind: str, identifier: int, key: str | None) -> None:
    if not verify(kind, identifier, key):
        raise HTTPException(status_code=403)


class StopPublic(BaseModel):
    position: int
    order_id: int
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
def route_json(route_id: int, session: ReadSessionDep, key: str | None = None) -> RoutePublic:
    """A rider's route: stops in order with ETA (key from the route link)."""
    _checked("route", route_id, key)
    route = route_view(session=session, route_id=route_id)
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
def route_page(request: Request, route_id: int, session: ReadSessionDep, key: str | None = None):
    _checked("route", route_id, key)
    route = route_view(session=session, route_id=route_id)
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
    route_id: int,
    order_id: int,
    session: SessionDep,
    clock: ClockDep,
    key: Annotated[str, Form()],
    outcome: Annotated[OrderStatus, Form()],
):
    """Delivered or no answer, from the rider's phone; back to the route page."""
    _checked("route", route_id, key)
    if outcome not in (OrderStatus.delivered, OrderStatus.no_answer):
        raise HTTPException(status_code=400)
    stop = route_of_order(session=session, order_id=order_id)
    if stop is None or stop[0] != route_id:
        raise HTTPException(status_code=404)
    route = route_view(session=session, route_id=route_id)
    record_outcome(
        session=session,
        clock=clock,
        order_id=order_id,
        outcome=outcome,
        by=f"rider:{route.rider_id}",
    )
    return RedirectResponse(f"/rider/routes/{route_id}?key={key}#stop-{stop[1]}", status_code=303)


@router.get("/rider/orders/{order_id}", include_in_schema=False)
def order_stop(order_id: int, session: ReadSessionDep, key: str | None = Query(None)):
    """Where the QR code on a box leads: that stop on its route's page."""
    _checked("order", order_id, key)
    stop = route_of_order(session=session, order_id=order_id)
    if stop is None:
        raise HTTPException(status_code=404)
    route_id, position = stop
    return RedirectResponse(
        f"/rider/routes/{route_id}?key={sign('route', route_id)}#stop-{position}", status_code=303
    )
