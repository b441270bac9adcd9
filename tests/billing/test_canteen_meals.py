"""Meals served at the canteen counter (eaten there or picked up) are claimed, billed and
counted like meals delivered to the door: the month's statements, the elders' bills, the
providers' claims and the dashboard all see them; a meal not collected follows the programme's
rule for unserved meals, like a door nobody answered."""

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import select

from billing.dashboard import dashboard
from billing.models import LedgerEntry, Share
from billing.settlement import bill_rows, funder_statements, month_range, provider_claims
from core.clock import FixedClock
from core.models import Order
from core.types import OrderStatus, ServiceMode, Slot
from tests.conftest import SHANGHAI
from tests.factories import SETTINGS, Factory, PolicyFactory, closed_lunch
from usecases import counter, ordering

NOVEMBER = month_range("2026-11")


def test_canteen_meals_are_claimed_billed_and_counted_like_deliveries(session):
    make = Factory(session, FixedClock(datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI)))
    site, dishes, _ = make.world()
    city = PolicyFactory(session).funder(name_zh="广州市民政局", name_en="Guangzhou")
    PolicyFactory(session).rule(city, code="BASE", amount_fen=300)
    dined, picked, missed, delivered = closed_lunch(
        make,
        site,
        dishes[0],
        [
            ("陈桂英", "13800001234", ServiceMode.dine_in),
            ("黄志强", "13900005678", ServiceMode.pickup),
            ("周国平", None, ServiceMode.dine_in),
            ("林美华", None, ServiceMode.delivery),
        ],
    )
    make.clock.set(datetime(2026, 11, 25, 11, 40, tzinfo=SHANGHAI))
    for order_id in (dined, picked):
        counter.serve(
            session=session,
            clock=make.clock,
            settings=SETTINGS,
            actor="staff:canteen",
            order_id=order_id,
        )
    ordering.record_outcome(
        session=session,
        clock=make.clock,
        settings=SETTINGS,
        order_id=delivered,
        outcome=OrderStatus.delivered,
        by="rider:1",
    )
    make.clock.set(datetime(2026, 11, 25, 14, 0, tzinfo=SHANGHAI))
    left = counter.not_collected(
        session=session,
        clock=make.clock,
        settings=SETTINGS,
        actor="staff:canteen",
        site_id=site.id,
        service_date=make.today,
        slot=Slot.lunch,
    )
    assert left == 1

    statuses = {o.id: o.status for o in session.exec(select(Order))}
    assert statuses[dined] == OrderStatus.dined_in and statuses[picked] == OrderStatus.picked_up
    assert statuses[missed] == OrderStatus.no_answer  # not collected

    # The city's statement: three meals served (two at the counter, one at the door).
    [statement] = [
        s
        for s in funder_statements(session=session, first=NOVEMBER[0], last=NOVEMBER[1])
        if s.funder_id == city.id
    ]
    assert statement.total_fen == 3 * 300
    assert sum(line.meals for line in statement.lines) == 3
    claimed = set(
        session.execute(
            sa.select(LedgerEntry.order_id).where(LedgerEntry.funder_id == city.id)
        ).scalars()
    )
    assert claimed == {dined, picked, delivered}

    # The elders' bills: a row for each meal served, and the one not collected as the
    # programme's rule for unserved meals says (here: the elder pays, no subsidy claimed).
    billed = {row[3] for row in bill_rows(session=session, first=NOVEMBER[0], last=NOVEMBER[1])}
    assert billed == {dined, picked, missed, delivered}
    [unserved] = session.exec(select(LedgerEntry).where(LedgerEntry.order_id == missed)).all()
    assert (unserved.share, unserved.note) == (Share.elder, "no_answer:elder_pays")
    assert unserved.amount_fen == session.get(Order, missed).total_fen

    # The provider's claim for the site counts the counter's meals with the door's.
    claims = provider_claims(session=session, first=NOVEMBER[0], last=NOVEMBER[1])
    assert sum(c.meals for c in claims if c.site_id == site.id and c.funder_id == city.id) == 3

    # The dashboard: three meals served that day, by three elders this week.
    board = dashboard(session=session, today=make.today)
    assert board.meals == 3 and board.elders_served_this_week == 3
