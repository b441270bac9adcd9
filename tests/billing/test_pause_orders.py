"""Pausing an elder's meals cancels the orders in the period that are still open (and gives
back the budget they held); orders already locked for the kitchen are kept and named."""

from datetime import timedelta

from sqlmodel import select

from billing.models import Reservation, ReservationStatus
from core.models import Order
from core.types import OrderStatus, Slot
from tests.factories import SETTINGS, PolicyFactory
from usecases import ordering


def test_a_pause_cancels_open_orders_in_its_period_and_names_the_locked_ones(make, session):
    site, dishes, elder = make.world()
    policy = PolicyFactory(session)
    city = policy.funder()
    policy.rule(city, amount_fen=300, fund_id=policy.fund(city, budget_fen=10_000).id)

    def order(slot, day, key):
        return ordering.place_order(
            session=session,
            clock=make.clock,
            settings=SETTINGS,
            elder_id=elder.id,
            site_id=site.id,
            service_date=day,
            slot=slot,
            dish_id=dishes[0].id,
            variant="regular",
            idempotency_key=key,
        ).order.id

    today = make.today
    lunch = order(Slot.lunch, today, "pause-lunch")
    dinner = order(Slot.dinner, today, "pause-dinner")
    later = order(Slot.lunch, today + timedelta(days=2), "pause-later")
    ordering.run_cutoff(
        session=session,
        clock=make.clock,
        settings=SETTINGS,
        site_id=site.id,
        service_date=today,
        slot=Slot.lunch,
        early=True,
    )
    paused = ordering.pause_meals(
        session=session,
        clock=make.clock,
        settings=SETTINGS,
        elder_id=elder.id,
        pause_in={"start_date": today, "end_date": today + timedelta(days=1)},
    )
    assert (paused.cancelled, paused.kept) == ([dinner], [lunch])
    statuses = {o.id: o.status for o in session.exec(select(Order))}
    assert statuses == {
        lunch: OrderStatus.locked,
        dinner: OrderStatus.cancelled,
        later: OrderStatus.placed,  # after the pause
    }
    held = session.exec(select(Reservation).where(Reservation.order_id == dinner)).all()
    assert held and {r.status for r in held} == {ReservationStatus.released}
