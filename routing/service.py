"""Reading planned routes for riders: a route's stops in order with what the rider needs at
each door (the signed links that open them are in `routing.links`)."""

from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session, col, func, select

from core.diet import door_warnings, special_texture
from core.errors import Conflict, NotFound
from core.i18n import N_
from core.models import Elder, ElderCategory, EmergencyContact, Order, Rider, Site, saved
from core.types import Category, OrderStatus, Slot
from routing.records import DeliveryRoute, RouteStop

# Elders the rider checks on at the door (the programme's daily welfare visit); the planner
# gives their stops more time.
WELFARE = {Category.living_alone.value, Category.disabled_care.value, Category.dementia.value}


class RouteNotFound(NotFound):
    code = "route_not_found"
    message = N_("We could not find this route.")


class RouteNotToday(Conflict):
    code = "route_not_today"
    message = N_("This route is for {day}, not today: nothing was recorded.")


class StopNotOnRoute(NotFound):
    code = "stop_not_on_route"
    message = N_("This meal is not on this route.")


@dataclass(frozen=True)
class StopView:
    position: int
    order_id: int
    eta: datetime
    elder: str
    address: str
    lat: float
    lon: float
    phone: str | None
    contact_name: str | None
    contact_phone: str | None
    dish_zh: str
    dish_en: str
    variant: str
    portions: int
    allergies: tuple[str, ...]
    texture: str
    status: OrderStatus
    diet_needs: tuple[str, ...] = ()
    welfare_check: bool = False  # the elder lives alone or needs care: look in on them
    outcome_at: datetime | None = None  # when it was marked (delivered, no answer)
    # The elder's location is her community's centre, not her door: go by the address.
    location_approximate: bool = False

    @property
    def warnings(self) -> tuple[str, ...]:
        return door_warnings(self.allergies, self.texture)

    @property
    def special_texture(self) -> str | None:
        return special_texture(self.texture)


@dataclass(frozen=True)
class RouteView:
    id: int
    number: int
    rider_id: int
    rider: str
    kitchen: str
    kitchen_lat: float
    kitchen_lon: float
    departure_at: datetime
    distance_m: int
    stops: tuple[StopView, ...]
    service_date: date | None = None
    slot: str = ""
    kitchen_phone: str = ""

    @property
    def portions(self) -> int:
        return sum(stop.portions for stop in self.stops)


def route_view(*, session: Session, route_id: int) -> RouteView:
    route = session.get(DeliveryRoute, route_id)
    if route is None:
        raise RouteNotFound(route_id=route_id)
    rider = session.get_one(Rider, route.rider_id)
    kitchen = session.get_one(Site, route.kitchen_id)
    rows = session.exec(
        select(RouteStop, Order, Elder)
        .join(Order, col(Order.id) == col(RouteStop.order_id))
        .join(Elder, col(Elder.id) == col(Order.elder_id))
        .where(RouteStop.route_id == route_id)
        .order_by(col(RouteStop.position))
    ).all()
    contacts = {
        contact.elder_id: contact
        for contact in session.exec(
            select(EmergencyContact)
            .where(col(EmergencyContact.elder_id).in_([elder.id for _, _, elder in rows]))
            .order_by(col(EmergencyContact.priority).desc())
        )
    }
    welfare = {
        elder_id
        for (elder_id,) in session.execute(
            select(ElderCategory.elder_id).where(
                col(ElderCategory.elder_id).in_([elder.id for _, _, elder in rows]),
                col(ElderCategory.category).in_(WELFARE),
                ElderCategory.valid_from <= route.service_date,
                col(ElderCategory.valid_to).is_(None)
                | (col(ElderCategory.valid_to) >= route.service_date),
            )
        )
    }
    stops = tuple(
        StopView(
            stop.position,
            saved(order.id),
            stop.eta,
            elder.name,
            elder.address,
            elder.lat,
            elder.lon,
            elder.phone,
            contacts[elder.id].name if elder.id in contacts else None,
            contacts[elder.id].phone if elder.id in contacts else None,
            order.dish_name_zh,
            order.dish_name_en,
            order.variant,
            order.quantity,
            tuple(elder.allergies),
            elder.texture,
            OrderStatus(order.status),
            tuple(elder.diet_needs),
            elder.id in welfare,
            order.outcome_at,
            elder.location_approximate,
        )
        for stop, order, elder in rows
    )
    return RouteView(
        saved(route.id),
        route.number,
        route.rider_id,
        rider.name,
        kitchen.name,
        kitchen.lat,
        kitchen.lon,
        route.departure_at,
        route.distance_m,
        stops,
        route.service_date,
        route.slot,
        kitchen.phone,
    )


def routes_of(*, session: Session, kitchen_id: int, service_date: date, slot: str) -> list[int]:
    """The ids of a kitchen's routes for a day and meal, by route number."""
    return [
        saved(route_id)
        for route_id in session.exec(
            select(DeliveryRoute.id)
            .where(
                DeliveryRoute.kitchen_id == kitchen_id,
                DeliveryRoute.service_date == service_date,
                DeliveryRoute.slot == slot,
            )
            .order_by(col(DeliveryRoute.number))
        ).all()
    ]


def route_of_order(*, session: Session, order_id: int) -> tuple[int, int] | None:
    """(route id, stop position) of an order that is on a route."""
    stop = session.exec(select(RouteStop).where(RouteStop.order_id == order_id)).first()
    return (stop.route_id, stop.position) if stop else None


@dataclass(frozen=True)
class RouteSummary:
    id: int
    number: int
    slot: Slot  # a meal, shown to people by its label: never the bare code
    kitchen: str
    rider_id: int
    rider: str
    departure_at: datetime
    stops: int


def routes_on(
    *, session: Session, service_date: date, rider_id: int | None = None
) -> list[RouteSummary]:
    """A day's planned routes (one rider's, when given), by meal, kitchen and number."""
    query = (
        select(DeliveryRoute, Site.name, Rider.name, func.count(col(RouteStop.id)))
        .join(Site, col(Site.id) == col(DeliveryRoute.kitchen_id))
        .join(Rider, col(Rider.id) == col(DeliveryRoute.rider_id))
        .join(RouteStop, col(RouteStop.route_id) == col(DeliveryRoute.id), isouter=True)
        .where(DeliveryRoute.service_date == service_date)
        .group_by(col(DeliveryRoute.id), col(Site.name), col(Rider.name))
        .order_by(col(DeliveryRoute.departure_at), col(Site.name), col(DeliveryRoute.number))
    )
    if rider_id is not None:
        query = query.where(DeliveryRoute.rider_id == rider_id)
    return [
        RouteSummary(
            saved(route.id),
            route.number,
            Slot(route.slot),
            kitchen,
            route.rider_id,
            rider,
            route.departure_at,
            stops,
        )
        for route, kitchen, rider, stops in session.exec(query)
    ]


def rider_of_route(*, session: Session, route_id: int) -> int | None:
    """Whose route this is (None when there is no such route)."""
    route = session.get(DeliveryRoute, route_id)
    return route.rider_id if route is not None else None
