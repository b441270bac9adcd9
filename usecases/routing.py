"""Routing runs: planning a kitchen's deliveries for a meal once the meal has closed, and
re-planning when a rider drops out. What `mealaid plan`, the kitchen's pages and the scheduler
call; `routing.planning` (the unchecked planning step) is not for the surfaces."""

from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session, col, select

from core import audit
from core.clock import Clock
from core.errors import NotAKitchen, SiteNotFound, SlotStillOpen
from core.models import MealSlot, Site, SlotCutoff, saved
from core.settings import Settings
from core.sites import cutoff_at
from core.types import OrderStatus, SiteKind, Slot
from routing import links, planning
from routing.planning import PlanSummary
from routing.records import DeliveryRoute, PlannedSlot
from routing.search import SolveParams
from routing.service import RouteNotFound, RouteNotToday, StopNotOnRoute, route_of_order
from usecases import marks, ordering

__all__ = [
    "OpenSite",
    "PlanSummary",
    "SolveParams",
    "kitchens_due",
    "open_sites",
    "plan_kitchen",
    "record_stop",
    "replan_after_dropout",
    "undo_stop",
    "withdraw_links",
]


@dataclass(frozen=True)
class OpenSite:
    site_id: int
    name: str
    closes_at: datetime


def open_sites(
    *, session: Session, clock: Clock, kitchen_id: int, service_date: date, slot: Slot
) -> list[OpenSite]:
    """The sites this kitchen cooks for whose meal has not closed yet: while any is open, more
    delivery orders can come in and a plan would leave them out."""
    rows = session.exec(
        select(Site, MealSlot)
        .join(MealSlot, col(MealSlot.site_id) == col(Site.id))
        .where(
            (Site.kitchen_id == kitchen_id) | (Site.id == kitchen_id),
            MealSlot.slot == slot.value,
        )
        .order_by(col(Site.id))
    ).all()
    closed = set(
        session.exec(
            select(SlotCutoff.site_id).where(
                SlotCutoff.service_date == service_date, SlotCutoff.slot == slot.value
            )
        )
    )
    return [
        OpenSite(saved(site.id), site.name, cutoff_at(meal_slot, service_date, clock.tz))
        for site, meal_slot in rows
        if site.id not in closed
    ]


def plan_kitchen(
    *,
    session: Session,
    clock: Clock,
    kitchen_id: int,
    service_date: date,
    slot: Slot,
    actor: str,
    params: SolveParams | None = None,
) -> PlanSummary:
    """Plan a kitchen's deliveries for one meal from its locked orders, store the routes, tell
    the elders their expected arrival, and record that the meal is planned. Refused while any
    site the kitchen cooks for still takes orders for that meal. Planning again replaces the
    earlier plan (an admin asking for it by hand); the scheduler plans only what is due."""
    kitchen = session.get(Site, kitchen_id)
    if kitchen is None:
        raise SiteNotFound(site_id=kitchen_id)
    if kitchen.kind != SiteKind.central_kitchen:
        raise NotAKitchen(site=kitchen.name)
    still_open = open_sites(
        session=session, clock=clock, kitchen_id=kitchen_id, service_date=service_date, slot=slot
    )
    if still_open:
        raise SlotStillOpen(
            slot=slot,
            date=service_date,
            sites=", ".join(site.name for site in still_open),
            cutoff=max(site.closes_at for site in still_open),
        )
    summary = planning.plan_slot(
        session=session,
        clock=clock,
        kitchen_id=kitchen_id,
        service_date=service_date,
        slot=slot,
        params=params,
    )
    record = session.exec(
        select(PlannedSlot).where(
            PlannedSlot.kitchen_id == kitchen_id,
            PlannedSlot.service_date == service_date,
            PlannedSlot.slot == slot.value,
        )
    ).first() or PlannedSlot(
        kitchen_id=kitchen_id, service_date=service_date, slot=slot.value, planned_at=clock.now()
    )
    record.planned_at, record.stops, record.riders = clock.now(), summary.stops, summary.riders
    session.add(record)
    session.flush()
    audit.record(
        session=session,
        clock=clock,
        actor=actor,
        action="routes_planned",
        subject=f"kitchen:{kitchen_id}",
        detail=f"{service_date.isoformat()} {slot.value}: {summary.stops} stops, "
        f"{summary.riders} riders",
    )
    return summary


def kitchens_due(*, session: Session, service_date: date) -> list[tuple[int, Slot]]:
    """The kitchens' meals of a day that have closed everywhere they cook for but are not
    planned yet: what the scheduler plans next. Three queries however many kitchens: the
    scheduler asks this at every look."""
    kitchens = {
        saved(site_id)
        for site_id in session.exec(
            select(Site.id).where(Site.kind == SiteKind.central_kitchen, col(Site.active))
        )
    }
    closed = {
        (site_id, Slot(slot))
        for site_id, slot in session.exec(
            select(SlotCutoff.site_id, SlotCutoff.slot).where(
                SlotCutoff.service_date == service_date
            )
        )
    }
    planned = {
        (kitchen_id, Slot(slot))
        for kitchen_id, slot in session.exec(
            select(PlannedSlot.kitchen_id, PlannedSlot.slot).where(
                PlannedSlot.service_date == service_date
            )
        )
    }
    meals: set[tuple[int, Slot]] = set()
    still_open: set[tuple[int, Slot]] = set()
    # A site's meal counts for its kitchen, and for itself when it is a kitchen.
    for site_id, kitchen_id, slot in session.exec(
        select(Site.id, Site.kitchen_id, MealSlot.slot).join(
            MealSlot, col(MealSlot.site_id) == col(Site.id)
        )
    ):
        for kitchen in kitchens.intersection((site_id, kitchen_id)):
            meal = (kitchen, Slot(slot))
            meals.add(meal)
            if (site_id, Slot(slot)) not in closed:
                still_open.add(meal)
    order = list(Slot)
    return sorted(meals - still_open - planned, key=lambda meal: (meal[0], order.index(meal[1])))


def replan_after_dropout(
    *,
    session: Session,
    clock: Clock,
    route_id: int,
    actor: str,
    params: SolveParams | None = None,
) -> PlanSummary:
    """A rider dropped out: their doors not yet reached go to the riders still at the kitchen."""
    summary = planning.replan_after_dropout(
        session=session, clock=clock, route_id=route_id, params=params
    )
    audit.record(
        session=session,
        clock=clock,
        actor=actor,
        action="rider_dropped_out",
        subject=f"route:{route_id}",
    )
    return summary


def record_stop(
    *,
    session: Session,
    clock: Clock,
    settings: Settings,
    route_id: int,
    order_id: int,
    outcome: OrderStatus,
    key: str | None = None,
    sender: str = "",
) -> int:
    """A rider's mark at a door (delivered, or nobody answered), recorded as the route's
    rider's: only on a route of today and only for a meal on that route, then the outcome use
    case (ledger entries, a welfare alert when nobody answered). Sent again under its `key`
    (by the same `sender`, the page's actor), it counts once. The stop's position on the
    route (where the rider's page goes back to)."""
    route, position = _stop_on_todays_route(session, clock, route_id, order_id)
    if marks.sent_before(
        session, clock, key=key, actor=sender, mark=outcome.value[:16], order_id=order_id
    ):
        return position
    ordering.record_outcome(
        session=session,
        clock=clock,
        settings=settings,
        order_id=order_id,
        outcome=outcome,
        by=f"rider:{route.rider_id}",
    )
    marks.answered(session, key, outcome.value)
    return position


def _stop_on_todays_route(
    session: Session, clock: Clock, route_id: int, order_id: int
) -> tuple[DeliveryRoute, int]:
    """The route and the stop's position, or a refusal: no such route, not today's (a sheet
    kept from yesterday marks nothing), or the meal is not on it."""
    route = session.get(DeliveryRoute, route_id)
    if route is None:
        raise RouteNotFound()
    if route.service_date != clock.now().date():
        raise RouteNotToday(day=route.service_date)
    stop = route_of_order(session=session, order_id=order_id)
    if stop is None or stop[0] != route_id:
        raise StopNotOnRoute()
    return route, stop[1]


def undo_stop(
    *,
    session: Session,
    clock: Clock,
    settings: Settings,
    route_id: int,
    order_id: int,
    actor: str,
    key: str | None = None,
) -> int:
    """Take back a mark at a door within `undo_minutes` (it was tapped by mistake, or the door
    opened a moment after "No answer"): whoever may mark the route's stops may take back the
    mark made for its rider, on a route of today. The meal waits again, the ledger is
    reversed, a welfare alert it raised is withdrawn (usecases.ordering.undo_outcome). The
    stop's position on the route. Sent again under its `key`, it counts once."""
    route, position = _stop_on_todays_route(session, clock, route_id, order_id)
    if marks.sent_before(session, clock, key=key, actor=actor, mark="undo", order_id=order_id):
        return position
    undone = ordering.undo_outcome(
        session=session,
        clock=clock,
        settings=settings,
        actor=actor,
        order_id=order_id,
        by=f"rider:{route.rider_id}",
    )
    marks.answered(session, key, undone.was.value)
    return position


def withdraw_links(*, session: Session, clock: Clock, route_id: int, actor: str) -> int:
    """Withdraw every signed link to a route and its stops (a rider dropped out, a sheet or a
    box went astray): the sheet, the labels and any link sent to a chat stop working at once,
    and a sheet printed from now on carries new ones. The route's new link generation."""
    generation = links.withdraw(session=session, route_id=route_id)
    audit.record(
        session=session,
        clock=clock,
        actor=actor,
        action="route_links_withdrawn",
        subject=f"route:{route_id}",
        detail=f"generation {generation}",
    )
    return generation
