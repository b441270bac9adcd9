"""Planning the day: one routing problem per kitchen and meal from the locked delivery orders,
solved by the pure planner and stored as routes with stop order and ETAs."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlmodel import Session, col, delete, select

from core.clock import Clock
from core.errors import SiteNotFound
from core.models import Elder, ElderCategory, MealSlot, Order, Rider, Site, saved
from core.notifications import notify_elder_chats
from core.types import Category, OrderStatus, ServiceMode, SiteKind, Slot
from routing.model import (
    Depot,
    GeoPoint,
    Mode,
    Plan,
    Problem,
    Reason,
    Stop,
    TimeWindow,
    Unassigned,
)
from routing.model import Rider as Vehicle
from routing.records import DeliveryRoute, RouteStop, UnplannedOrder
from routing.search import SolveParams
from routing.service import WELFARE, RouteNotFound
from routing.solver import solve

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
    # Doors planned at the community's centre for want of the elder's own location: the rider
    # finds them by address, and someone should correct their location.
    approximate_locations: int = 0


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
    kitchen = _kitchen(session, kitchen_id)
    sites = session.exec(
        select(Site.id).where((Site.kitchen_id == kitchen_id) | (Site.id == kitchen_id))
    ).all()
    orders = session.exec(
        select(Order, Elder)
        .join(Elder, col(Elder.id) == col(Order.elder_id))
        .where(
            col(Order.site_id).in_(sites),
            Order.service_date == service_date,
            Order.slot == slot.value,
            Order.mode == ServiceMode.delivery.value,
            Order.status == OrderStatus.locked.value,
        )
        .order_by(col(Order.id))
    ).all()
    riders = session.exec(
        select(Rider).where(Rider.kitchen_id == kitchen_id, Rider.active).order_by(col(Rider.id))
    ).all()
    problem = _problem(session, kitchen, service_date, slot, orders, riders, not_before=None)
    plan = _solve(problem, params)

    # Re-planning replaces the slot's earlier plan.
    old = session.exec(
        select(DeliveryRoute.id).where(
            DeliveryRoute.kitchen_id == kitchen_id,
            DeliveryRoute.service_date == service_date,
            DeliveryRoute.slot == slot.value,
        )
    ).all()
    if old:
        session.exec(delete(RouteStop).where(col(RouteStop.route_id).in_(old)))
        session.exec(delete(DeliveryRoute).where(col(DeliveryRoute.id).in_(old)))
    summary = PlanSummary(kitchen_id, kitchen.name, service_date, slot, stops=len(orders))
    summary.approximate_locations = sum(elder.location_approximate for _, elder in orders)
    _store(session, clock, summary, orders, plan, first_number=1, eta_key="eta:{order}")
    return summary


def replan_after_dropout(
    *,
    session: Session,
    clock: Clock,
    route_id: int,
    params: SolveParams | None = None,
) -> PlanSummary:
    """A rider drops out (a fall, a flat tyre, sent home ill). The doors their route has not
    reached yet go, with fresh boxes from the kitchen, to the riders still at the kitchen,
    together with those riders' own stops; riders already on the road keep their routes, and
    doors already served stay as they were. Elders whose meal moves get the new arrival time."""
    dropped = session.get(DeliveryRoute, route_id)
    if dropped is None:
        raise RouteNotFound(route_id=route_id)
    kitchen = _kitchen(session, dropped.kitchen_id)
    service_date, slot, now = dropped.service_date, Slot(dropped.slot), clock.now()
    routes = session.exec(
        select(DeliveryRoute).where(
            DeliveryRoute.kitchen_id == kitchen.id,
            DeliveryRoute.service_date == service_date,
            DeliveryRoute.slot == slot.value,
        )
    ).all()
    on_the_road = {r.rider_id for r in routes if r.id != dropped.id and r.departure_at <= now}
    movable = [r for r in routes if r.id == dropped.id or r.rider_id not in on_the_road]
    moved_stops = session.exec(
        select(RouteStop)
        .join(Order, col(Order.id) == col(RouteStop.order_id))
        .where(
            col(RouteStop.route_id).in_([r.id for r in movable]),
            Order.status == OrderStatus.locked.value,
        )
    ).all()
    left_out = session.exec(
        select(UnplannedOrder.order_id)
        .join(Order, col(Order.id) == col(UnplannedOrder.order_id))
        .where(
            Order.service_date == service_date,
            Order.slot == slot.value,
            Order.status == OrderStatus.locked.value,
            col(Order.site_id).in_(
                select(Site.id).where((Site.kitchen_id == kitchen.id) | (Site.id == kitchen.id))
            ),
        )
    ).all()
    order_ids = sorted({stop.order_id for stop in moved_stops} | set(left_out))
    orders = session.exec(
        select(Order, Elder)
        .join(Elder, col(Elder.id) == col(Order.elder_id))
        .where(col(Order.id).in_(order_ids))
        .order_by(col(Order.id))
    ).all()
    riders = session.exec(
        select(Rider)
        .where(
            Rider.kitchen_id == kitchen.id,
            Rider.active,
            Rider.id != dropped.rider_id,
            col(Rider.id).not_in(on_the_road),
        )
        .order_by(col(Rider.id))
    ).all()
    problem = _problem(session, kitchen, service_date, slot, orders, riders, not_before=now)
    plan = _solve(problem, params)

    for stop in moved_stops:
        session.delete(stop)
    session.flush()
    kept_numbers = [0]
    for route in movable:
        served_here = session.exec(select(RouteStop.id).where(RouteStop.route_id == route.id))
        if served_here.first() is None:
            session.delete(route)
        else:
            kept_numbers.append(route.number)
    kept_numbers += [r.number for r in routes if r.rider_id in on_the_road]
    session.flush()
    summary = PlanSummary(saved(kitchen.id), kitchen.name, service_date, slot, stops=len(orders))
    summary.approximate_locations = sum(elder.location_approximate for _, elder in orders)
    _store(
        session,
        clock,
        summary,
        orders,
        plan,
        first_number=max(kept_numbers) + 1,
        eta_key="eta:{order}:after-dropout:{route}",
    )
    return summary


def _solve(problem: Problem, params: SolveParams | None) -> Plan | None:
    if not problem.stops:
        return None
    if not problem.riders:  # nobody to carry them (every rider dropped out or on the road)
        return Plan(
            routes=(), unassigned=tuple(Unassigned(s.id, Reason.NO_RIDER) for s in problem.stops)
        )
    return solve(problem, params or SolveParams(time_limit=5))


def _kitchen(session: Session, kitchen_id: int) -> Site:
    kitchen = session.get(Site, kitchen_id)
    if kitchen is None or kitchen.kind != SiteKind.central_kitchen:
        raise SiteNotFound(site_id=kitchen_id)
    return kitchen


def _problem(
    session: Session,
    kitchen: Site,
    service_date: date,
    slot: Slot,
    orders: Sequence[tuple[Order, Elder]],
    riders: Sequence[Rider],
    not_before: datetime | None,
) -> Problem:
    """The routing problem of these orders and riders; riders leave no earlier than
    `not_before` (a re-plan in the middle of the round)."""
    meal_slot = session.exec(
        select(MealSlot).where(MealSlot.site_id == kitchen.id, MealSlot.slot == slot.value)
    ).first()
    categories: dict[int, set[str]] = {}
    for grant in session.exec(
        select(ElderCategory).where(
            col(ElderCategory.elder_id).in_([elder.id for _, elder in orders]),
            ElderCategory.valid_from <= service_date,
            col(ElderCategory.valid_to).is_(None) | (col(ElderCategory.valid_to) >= service_date),
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
            if categories.get(saved(elder.id), set()) & WELFARE
            else SERVICE_SECONDS,
            priority=1 if categories.get(saved(elder.id), set()) & PRIORITY else 0,
        )
        for order, elder in orders
    ]
    earliest = 0
    if not_before is not None:
        midnight = datetime.combine(service_date, time(0), tzinfo=not_before.tzinfo)
        earliest = max(0, int((not_before - midnight).total_seconds()))
    vehicles = []
    for r in riders:
        start, end = _seconds(r.shift_start), _seconds(r.shift_end)
        vehicles.append(
            Vehicle(
                id=str(r.id),
                capacity=r.capacity,
                shift_start=min(max(start, earliest), end),
                shift_end=end,
                start="kitchen",
                mode=Mode(r.mode),
            )
        )
    return Problem(
        depots=(Depot("kitchen", GeoPoint(kitchen.lat, kitchen.lon)),),
        stops=tuple(stops),
        riders=tuple(vehicles),
        name=f"{kitchen.code}-{service_date}-{slot.value}",
    )


def _store(
    session: Session,
    clock: Clock,
    summary: PlanSummary,
    orders: Sequence[tuple[Order, Elder]],
    plan: Plan | None,
    *,
    first_number: int,
    eta_key: str,
) -> None:
    """Store a plan's routes (numbered from `first_number`) and what it left out, tell the
    elders when their meal comes (once per `eta_key`), and fill in the summary."""
    order_ids = [order.id for order, _ in orders]
    if order_ids:
        session.exec(delete(UnplannedOrder).where(col(UnplannedOrder.order_id).in_(order_ids)))
    session.flush()
    if plan is None:
        return
    now = clock.now()
    elder_of = {order.id: saved(elder.id) for order, elder in orders}
    midnight = datetime.combine(summary.service_date, time(0), tzinfo=clock.tz)

    def at(seconds: int) -> datetime:
        return midnight + timedelta(seconds=seconds)

    number = first_number - 1
    for route in plan.routes:
        if not route.visits:
            continue
        number += 1
        stored = DeliveryRoute(
            kitchen_id=summary.kitchen_id,
            service_date=summary.service_date,
            slot=summary.slot.value,
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
                    route_id=saved(stored.id),
                    order_id=int(visit.stop_id),
                    position=position,
                    eta=at(visit.start),
                )
            )
            # "Your lunch will arrive about 11:40" to the elder's chats (once per key: a
            # re-plan from scratch does not send it again).
            notify_elder_chats(
                session,
                elder_id=elder_of[int(visit.stop_id)],
                kind="eta",
                key=eta_key.format(order=visit.stop_id, route=stored.id),
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
