"""Closing a meal slot at its cutoff: standing orders become orders, every order locks for the
kitchen. The billed entry point is `usecases.ordering.run_cutoff`; this is its core step."""

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from core.clock import Clock
from core.db import exclusive
from core.errors import CutoffNotYet
from core.models import MealSlot, Order, SlotCutoff
from core.notifications import notify_locked_orders
from core.sites import cutoff_at, get_site, get_slot
from core.standing import materialise_standing_orders
from core.types import OrderStatus, Slot
from core.validation import service


@dataclass(frozen=True)
class CutoffResult:
    site_id: int
    service_date: date
    slot: Slot
    locked_at: datetime
    orders_locked: int
    standing_orders_placed: int
    already_done: bool
    # Refused by the rules at this closing (kept for staff, their elders' chats told); not
    # counted again when the closing runs twice. Paused meals are not among them.
    standing_orders_skipped: int = 0


@service
def run_cutoff(
    *,
    session: Session,
    clock: Clock,
    site_id: int,
    service_date: date,
    slot: Slot,
    early: bool = False,
    max_order_quantity: int,
    order_horizon_days: int,
) -> CutoffResult:
    """Close a slot: materialise its standing orders (checked by the order rules, with the
    settings' `max_order_quantity` and `order_horizon_days`), then lock every placed order.
    Running it again changes nothing. Before the cutoff time it refuses unless `early` is
    given."""

    # Two processes never close the same meal at once: the second waits, then finds it closed.
    exclusive(session, f"cutoff:{site_id}:{service_date.isoformat()}:{slot.value}")
    site = get_site(session=session, site_id=site_id)
    meal_slot = get_slot(session=session, site=site, slot=slot)
    done = session.exec(
        select(SlotCutoff).where(
            SlotCutoff.site_id == site_id,
            SlotCutoff.service_date == service_date,
            SlotCutoff.slot == slot,
        )
    ).first()
    if done is not None:
        return CutoffResult(
            site_id,
            service_date,
            slot,
            done.locked_at,
            done.orders_locked,
            done.standing_orders_placed,
            already_done=True,
        )
    now = clock.now()
    closes = cutoff_at(meal_slot, service_date, clock.tz)
    if now < closes and not early:
        raise CutoffNotYet(slot=slot, date=service_date, cutoff=closes)
    placed = materialise_standing_orders(
        session=session,
        clock=clock,
        site_id=site_id,
        service_date=service_date,
        slot=slot,
        max_order_quantity=max_order_quantity,
        order_horizon_days=order_horizon_days,
    )
    locked_ids = list(
        session.execute(
            sa.update(Order)
            .where(
                col(Order.site_id) == site_id,
                col(Order.service_date) == service_date,
                col(Order.slot) == slot,
                col(Order.status) == OrderStatus.placed,
            )
            .values(status=OrderStatus.locked, locked_at=now, updated_at=now)
            .returning(col(Order.id))
            .execution_options(synchronize_session=False)
        ).scalars()
    )
    locked = len(locked_ids)
    notify_locked_orders(session, order_ids=locked_ids, at=now)
    record = SlotCutoff(
        site_id=site_id,
        service_date=service_date,
        slot=slot,
        locked_at=now,
        orders_locked=locked,
        standing_orders_placed=len(placed.placed),
    )
    session.add(record)
    session.flush()
    session.expire_all()
    return CutoffResult(
        site_id, service_date, slot, now, locked, len(placed.placed), False, len(placed.refused)
    )


def due_cutoffs(*, session: Session, clock: Clock, service_date: date) -> list[tuple[int, Slot]]:
    """The (site, slot) pairs of a service day whose cutoff time has come but are not locked."""
    now = clock.now()
    locked = {
        (row.site_id, row.slot)
        for row in session.exec(select(SlotCutoff).where(SlotCutoff.service_date == service_date))
    }
    due = []
    for meal_slot in session.exec(
        select(MealSlot).order_by(col(MealSlot.site_id), col(MealSlot.id))
    ):
        key = (meal_slot.site_id, Slot(meal_slot.slot))
        if key not in locked and cutoff_at(meal_slot, service_date, clock.tz) <= now:
            due.append(key)
    return due
