"""Planning the day: one routing problem per kitchen and meal from the locked delivery orders,
solved by the pure planner and stored as routes with stop order and ETAs."""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlmodel import Session, col, delete, select

from core.clock import Clock
from core.errors import SiteNotFound
from core.models import Elder, ElderCategory, MealSlot, Order, Rider, Site
from core.notifications import notify_elder_chats
from core.types import Category, OrderStatus, ServiceMode, SiteKind, Slot
from routing.model import Depot, GeoPoint, Mode, Problem, Stop, TimeWindow
from routing.model import Rider as Vehicle
from routing.records import DeliveryRoute, RouteStop, UnplannedOrder
from routing.service import WELFARE
from routing.solver import SolveParams, solve

# A door takes a couple of minutes; an elder living alone or needing care gets a longer stop:
# the rider checks on them (the programme's daily welfare visit).
SERVICE_SECONDS, WELFARE_CHECK_SECONDS = 120, 300
# Kept first when not every stop fits.
PRIORITY = {
    Category.extreme_poverty.value,
    Category.living_alone.value,
    Category.disabled_care.value,
}


@dataclass
class PlanSummary:
    kitchen_id: int
    kitchen: str
    service_date: date
    slot: Slot
    stops: int = 0
    riders: int = 0
    distance_m: int = 0
    latest_arrival: datetime | None = None
    unassigned: dict[str, int] = field(default_factory=dict)


def _seconds(moment: time) -> int:
    return moment.hour * 3600 + moment.minute * 60 + moment.second


def plan_slot(
    *,
    session: Session,
    clock: Clock,
    kitchen_id: int,
    service_date: date,
    slot: Slot,
    params: SolveParams | None = None,
) -> PlanSummary:
    """Plan (or re-plan from scratch) a kitchen's deliveries for one meal and store them."""
    kitchen = session.get(Site, kitchen_id)
    if kitchen is None or kitchen.kind != SiteKind.central_kitchen:
        raise SiteNotFound(site_id=kitchen_id)
    sites = session.exec(
        select(Site.id).where((Site.kitchen_id == kitchen_id) | (Site.id == kitchen_id))
    ).all()
    meal_slot = session.exec(
        select(MealSlot).where(MealSlot.site_id == kitchen_id, MealSlot.slot == slot.value)
    ).first()
    orders = session.exec(
        select(Order, Elder)
        .join(Elder, Elder.id == Order.elder_id)
        .where(
            col(Order.site_id).in_(sites),
            Order.service_date == service_date,
            Order.slot == slot.value,
            Order.mode == ServiceMode.delivery.value,
            Order.status == OrderStatus.locked.value,
        )
        .order_by(Order.id)
    ).all()
    categories: dict[int, set[str]] = {}
    for grant in session.exec(
        select(ElderCategory).where(
            col(ElderCategory.elder_id).in_([elder.id for _, elder in orders]),
            ElderCategory.valid_from <= service_date,
            col(ElderCategory.valid_to).is_(None) | (ElderCategory.valid_to >= service_date),
        )
    ):
        categories.setdefault(grant.elder_id, set()).add(grant.category)
    window = (
        TimeWindow(_seconds(meal_slot.delivery_start), _seconds(meal_slot.delivery_end))
        if meal_slot is not None
        else None
    )
    stops = [
        Stop(
            id=str(order.id),
            location=GeoPoint(elder.lat, elder.lon),
            demand=order.quantity,
            window=window,
            service=WELFARE_CHECK_SECONDS
            if categories.get(elder.id, set()) & WELFARE
            else SERVICE_SECONDS,
            priority=1 if categories.get(elder.id, set()) & PRIORITY else 0,
        )
        for order, elder in orders
    ]
    riders = session.exec(
        select(Rider).where(Rider.kitchen_id == kitchen_id, Rider.active).order_by(Rider.id)
    ).all()
    vehicles = [
        Vehicle(
            id=str(r.id),
            capacity=r.capacity,
            shift_start=_seconds(r.shift_start),
            shift_end=_seconds(r.shift_end),
            start="kitchen",
            mode=Mode(r.mode),
        )
        for r in riders
    ]
    problem = Problem(
        depots=(Depot("kitchen", GeoPoint(kitchen.lat, kitchen.lon)),),
        stops=tuple(stops),
        riders=tuple(vehicles),
        name=f"{kitchen.code}-{service_date}-{slot.value}",
    )
    plan = solve(problem, params or SolveParams(time_limit=5)) if stops else None

    # Re-planning replaces the slot's earlier plan.
    old = session.exec(
        select(DeliveryRoute.id).where(
            DeliveryRoute.kitchen_id == kitchen_id,
            DeliveryRoute.service_date == service_date,
            DeliveryRoute.slot == slot.value,
        )
    ).all()
    if old:
        session.exec(delete(RouteStop).where(col(RouteStop.route_id).in_(old)))  # type: ignore[call-overload]
        session.exec(delete(DeliveryRoute).where(col(DeliveryRoute.id).in_(old)))  # type: ignore[call-overload]
    order_ids = [order.id for order, _ in orders]
    if order_ids:
        session.exec(delete(UnplannedOrder).where(col(UnplannedOrder.order_id).in_(order_ids)))  # type: ignore[call-overload]
    session.flush()

    summary = PlanSummary(kitchen_id, kitchen.name, service_date, slot, stops=len(stops))
    if plan is None:
        return summary
    now = clock.now()
    elder_of = {order.id: elder.id for order, elder in orders}
    midnight = datetime.combine(service_date, time(0), tzinfo=clock.tz)
    at = lambda seconds: midnight + timedelta(seconds=seconds)  # noqa: E731
    number = 0
    for route in plan.routes:
        if not route.visits:
            continue
        number += 1
        stored = DeliveryRoute(
            kitchen_id=kitchen_id,
            service_date=service_date,
            slot=slot.value,
            rider_id=int(route.rider_id),
            number=number,
            departure_at=at(route.departure),
            return_at=at(route.end_arrival),
            distance_m=route.distance,
            planned_at=now,
        )
        session.add(stored)
        session.flush()
        for position, visit in enumerate(route.visits, start=1):
            session.add(
                RouteStop(
                    route_id=stored.id,
                    order_id=int(visit.stop_id),
                    position=position,
                    eta=at(visit.start),
                )
            )
            # "Your lunch will arrive about 11:40" to the elder's chats (once per order: a
            # re-plan does not send it again).
            notify_elder_chats(
                session,
                elder_id=elder_of[int(visit.stop_id)],
                kind="eta",
                key=f"eta:{visit.stop_id}",
                at=now,
                order_id=int(visit.stop_id),
                eta=at(visit.start).isoformat(),
            )
            arrival = at(visit.start)
            if summary.latest_arrival is None or arrival > summary.latest_arrival:
                summary.latest_arrival = arrival
        summary.riders += 1
        summary.distance_m += route.distance
    for left_out in plan.unassigned:
        session.add(
            UnplannedOrder(
                order_id=int(left_out.stop_id), reason=left_out.reason.value, planned_at=now
            )
        )
        summary.unassigned[left_out.reason.value] = (
            summary.unassigned.get(left_out.reason.value, 0) + 1
        )
    session.flush()
    return summary
