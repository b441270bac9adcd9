"""Requests racing each other: the database, not luck, keeps one order per key and per meal."""

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from threading import Barrier

import sqlalchemy as sa

from core import errors
from core.clock import FixedClock
from core.models import Order
from core.orders import place_order
from core.types import Slot
from tests.conftest import SHANGHAI
from tests.factories import ORDER_LIMITS, Factory

RACERS = 8


def race(database, clock, keys, elder_id, site_id, dish_id):
    barrier = Barrier(len(keys))

    def attempt(key):
        barrier.wait()
        try:
            with database.transaction() as session:
                place_order(
                    session=session,
                    clock=clock,
                    elder_id=elder_id,
                    site_id=site_id,
                    service_date=clock.now().date(),
                    slot=Slot.lunch,
                    dish_id=dish_id,
                    variant="regular",
                    idempotency_key=key,
                    **ORDER_LIMITS,
                )
            return "placed"
        except errors.DomainError as refusal:
            return refusal.code

    with ThreadPoolExecutor(len(keys)) as pool:
        return sorted(pool.map(attempt, keys))


def test_racing_requests_make_exactly_one_order(empty_database):
    clock = FixedClock(datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI))
    with empty_database.transaction() as session:
        site, dishes, elder = Factory(session, clock).world()
        other = Factory(session, clock).elder(site)
    same_key = race(empty_database, clock, ["tap"] * RACERS, elder.id, site.id, dishes[0].id)
    assert same_key == ["duplicate_request"] * (RACERS - 1) + ["placed"]
    same_meal = race(
        empty_database, clock, [f"k{n}" for n in range(RACERS)], other.id, site.id, dishes[0].id
    )
    assert same_meal == ["already_ordered"] * (RACERS - 1) + ["placed"]
    with empty_database.reading() as session:
        count = session.execute(sa.select(sa.func.count()).select_from(Order)).scalar_one()
    assert count == 2
