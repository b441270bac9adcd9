"""The order use cases with their money: what the bot, the pages, the CLI and the scheduler call.
Each runs the core order service and the billing step in the caller's one transaction, so an
order never exists without its reservation, nor a reservation without its order. The surfaces
may not import `core.orders`, `core.standing`, `core.cutoff` or `billing.service` themselves
(an import contract in `.importlinter` says so): the reads they need are re-exported here.

Each use case whose rules need a setting takes the caller's `settings` (the web app's, the
chat turn's, the command line's or the due work's) and passes core the values it needs: an
order's limits and the programme's phone, the undo window, the welfare escalation window and
duty line."""

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from billing import service, undo
from billing.models import Charge
from billing.service import elder_month, ledger_totals, quote
from billing.split import Split
from core import audit, cutoff, elders, orders, standing
from core.clock import Clock
from core.cutoff import CutoffResult, due_cutoffs
from core.errors import CutoffPassed, OrderNotChangeable
from core.models import ElderPause, Order, StandingOrder, saved
from core.orders import (
    BoardMeal,
    BoardOrder,
    BoardPage,
    OpenMeal,
    OrderableElder,
    RepeatPlan,
    SlotTally,
    day_menu_items,
    day_tallies,
    kitchen_site_ids,
    meals_to_repeat,
    next_meal_to_repeat,
    orderable_elders,
    orderable_meals,
    orders_board,
    plan_repeat,
    undo_deadline,
)
from core.settings import Settings
from core.standing import (
    RefusedStandingOrder,
    pause_standing_order,
    refused_standing_orders,
    resume_standing_order,
    stop_standing_order,
)
from core.types import OrderStatus, Slot

__all__ = [
    "BilledOrder",
    "BoardMeal",
    "BoardOrder",
    "BoardPage",
    "CutoffResult",
    "OpenMeal",
    "OrderableElder",
    "PausedMeals",
    "RefusedStandingOrder",
    "RepeatPlan",
    "SlotTally",
    "cancel_order",
    "change_order",
    "create_standing_order",
    "day_menu_items",
    "day_tallies",
    "due_cutoffs",
    "elder_month",
    "kitchen_site_ids",
    "ledger_totals",
    "meals_to_repeat",
    "next_meal_to_repeat",
    "orderable_elders",
    "orderable_meals",
    "orders_board",
    "pause_meals",
    "pause_standing_order",
    "place_order",
    "plan_repeat",
    "quote",
    "record_outcome",
    "refused_standing_orders",
    "repeat_last_order",
    "resume_standing_order",
    "run_cutoff",
    "stop_standing_order",
    "undo_deadline",
    "undo_outcome",
]


@dataclass(frozen=True)
class BilledOrder:
    order: Any  # core.orders.PlacedOrder or core.models.Order
    split: Split


def _new_order_rules(settings: Settings) -> dict[str, Any]:
    """What core checks a new order against (a placed or a repeated one) from the settings."""
    return {
        "max_order_quantity": settings.max_order_quantity,
        "order_horizon_days": settings.order_horizon_days,
        "programme_phone": settings.programme_phone,
    }


def place_order(
    *, session: Session, clock: Clock, settings: Settings, **request: Any
) -> BilledOrder:
    """core.orders.place_order, then reserve the budget the split needs."""
    placed = orders.place_order(
        session=session,
        clock=clock,
        **request,
        **_new_order_rules(settings),
    )
    return BilledOrder(placed, service.reserve(session=session, clock=clock, order_id=placed.id))


def repeat_last_order(
    *, session: Session, clock: Clock, settings: Settings, **request: Any
) -> BilledOrder:
    placed = orders.repeat_last_order(
        session=session,
        clock=clock,
        **request,
        **_new_order_rules(settings),
    )
    return BilledOrder(placed, service.reserve(session=session, clock=clock, order_id=placed.id))


def change_order(
    *, session: Session, clock: Clock, settings: Settings, **request: Any
) -> BilledOrder:
    """A change may change the price and the subsidies: release, change, reserve again."""
    order_id = request["order_id"]
    changed = orders.change_order(
        session=session,
        clock=clock,
        **request,
        max_order_quantity=settings.max_order_quantity,
        programme_phone=settings.programme_phone,
    )
    service.release(session=session, order_id=order_id)
    return BilledOrder(changed, service.reserve(session=session, clock=clock, order_id=order_id))


def cancel_order(*, session: Session, clock: Clock, settings: Settings, order_id: int) -> Order:
    cancelled = orders.cancel_order(
        session=session, clock=clock, order_id=order_id, programme_phone=settings.programme_phone
    )
    service.release(session=session, order_id=order_id)
    return cancelled


def create_standing_order(
    *, session: Session, clock: Clock, settings: Settings, **request: Any
) -> StandingOrder:
    """core.standing.create_standing_order, its portions within the settings' limit."""
    return standing.create_standing_order(
        session=session, clock=clock, **request, max_order_quantity=settings.max_order_quantity
    )


@dataclass(frozen=True)
class PausedMeals:
    pause: ElderPause
    cancelled: list[int]  # orders in the period cancelled, their budget released
    kept: list[int]  # orders already locked for the kitchen: someone must tell it


def pause_meals(
    *, session: Session, clock: Clock, settings: Settings, elder_id: int, pause_in: Any
) -> PausedMeals:
    """core.elders.pause_meals, then cancel the elder's orders in the period that can still be
    cancelled (a hospital stay should not leave meals cooked for nobody); those past their
    cutoff are kept and named."""
    pause = elders.pause_meals(session=session, clock=clock, elder_id=elder_id, pause_in=pause_in)
    in_period = session.exec(
        select(Order)
        .where(
            Order.elder_id == elder_id,
            Order.service_date >= pause.start_date,
            Order.service_date <= pause.end_date,
            col(Order.status).in_([OrderStatus.placed, OrderStatus.locked]),
        )
        .order_by(col(Order.service_date), col(Order.id))
    ).all()
    cancelled, kept = [], []
    for order in in_period:
        try:
            cancel_order(session=session, clock=clock, settings=settings, order_id=saved(order.id))
            cancelled.append(saved(order.id))
        except (CutoffPassed, OrderNotChangeable):
            kept.append(saved(order.id))
    return PausedMeals(pause, cancelled, kept)


def run_cutoff(
    *,
    session: Session,
    clock: Clock,
    settings: Settings,
    site_id: int,
    service_date: date,
    slot: Slot,
    early: bool = False,
) -> CutoffResult:
    """Close the slot, then reserve for the orders the standing orders just made (placed by
    the order rules with the settings' limits)."""
    result = cutoff.run_cutoff(
        session=session,
        clock=clock,
        site_id=site_id,
        service_date=service_date,
        slot=slot,
        early=early,
        max_order_quantity=settings.max_order_quantity,
        order_horizon_days=settings.order_horizon_days,
    )
    unbilled = session.exec(
        select(Order.id)
        .outerjoin(Charge, col(Charge.order_id) == Order.id)
        .where(
            Order.site_id == site_id,
            Order.service_date == service_date,
            Order.slot == slot,
            Order.status == OrderStatus.locked,
            col(Charge.order_id).is_(None),
        )
        .order_by(col(Order.id))
    ).all()
    service.reserve_many(session=session, clock=clock, order_ids=[saved(i) for i in unbilled])
    return result


def record_outcome(
    *,
    session: Session,
    clock: Clock,
    settings: Settings,
    order_id: int,
    outcome: OrderStatus,
    by: str,
) -> Order:
    """What happened at the door or counter, and the ledger entries it means; nobody at the
    door raises a welfare alert, escalated by the settings' window to their duty line."""
    order = orders.record_outcome(
        session=session,
        clock=clock,
        order_id=order_id,
        outcome=outcome,
        by=by,
        welfare_ack_minutes=settings.welfare_ack_minutes,
        duty_phone=settings.duty_phone,
        duty_chat_id=settings.duty_chat_id,
    )
    service.post(session=session, clock=clock, order_id=order_id)
    return order


def undo_outcome(
    *,
    session: Session,
    clock: Clock,
    settings: Settings,
    actor: str,
    order_id: int,
    by: str,
    admin: bool = False,
) -> orders.Undone:
    """Take back a mark at the door or the counter within the settings' `undo_minutes` (the
    one who made it, recorded as `by`, or the admin): the order waits again (a walk-in is
    withdrawn and what it held given back), the ledger gets reversal entries, the budget is
    held again, a welfare alert it raised is withdrawn, and the audit log says who (`actor`)
    took back what."""
    undone = orders.undo_outcome(
        session=session,
        clock=clock,
        order_id=order_id,
        by=by,
        admin=admin,
        undo_minutes=settings.undo_minutes,
    )
    undo.unpost(session=session, clock=clock, order_id=order_id, reason=f"undo:{undone.was.value}")
    withdrawn = undone.order.status == OrderStatus.cancelled
    if withdrawn:  # a walk-in (core.orders.undo_outcome): what it held is given back
        service.release(session=session, order_id=order_id)
    audit.record(
        session=session,
        clock=clock,
        actor=actor,
        action="outcome_undone",
        subject=f"elder:{undone.order.elder_id}",
        detail=f"order:{order_id} {undone.was.value}" + (" walk-in withdrawn" if withdrawn else ""),
    )
    return undone
