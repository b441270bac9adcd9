"""Reservations, the ledger and reversals, through the ordering use cases on both databases."""

from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlmodel import select

from billing import quote, reverse
from billing.errors import AlreadyReversed
from billing.models import Charge, EntryKind, FundBudget, LedgerEntry, Reservation, Share
from core.clock import FixedClock
from core.errors import DomainError
from core.types import OrderStatus, Slot
from tests.conftest import SHANGHAI
from tests.factories import SETTINGS, Factory, PolicyFactory
from usecases import ordering


def committed(session, fund_id: int) -> int:
    """What is reserved or paid from the fund's budgets, every period together."""
    return sum(
        b.committed_fen
        for b in session.exec(select(FundBudget).where(FundBudget.fund_id == fund_id))
    )


def place(make, elder, site, dish, *, key, day=None, slot=Slot.lunch):
    return ordering.place_order(
        session=make.session,
        clock=make.clock,
        settings=SETTINGS,
        elder_id=elder.id,
        site_id=site.id,
        service_date=day or make.today,
        slot=slot,
        dish_id=dish.id,
        variant="regular",
        idempotency_key=key,
    )


def serve(make, order_id, outcome=OrderStatus.delivered):
    return ordering.record_outcome(
        session=make.session,
        clock=make.clock,
        settings=SETTINGS,
        order_id=order_id,
        outcome=outcome,
        by="rider-1",
    )


def lock(make, site, day=None):
    ordering.run_cutoff(
        session=make.session,
        clock=make.clock,
        settings=SETTINGS,
        site_id=site.id,
        service_date=day or make.today,
        slot=Slot.lunch,
        early=True,
    )


@pytest.fixture
def policy(session):
    return PolicyFactory(session)


def test_the_quote_shows_the_elders_share_and_who_pays_the_rest(make, policy):
    """One line per funder: two of a funder's rules (say an age and a low-income subsidy) are
    one amount on the elder's screen."""
    site, _, elder = make.world()
    city = policy.funder(name_zh="广州市民政局", name_en="Guangzhou Civil Affairs")
    business = policy.funder("business", name_zh="饭堂运营方", name_en="Canteen operator")
    policy.rule(city, amount_fen=300)
    policy.rule(business, amount_fen=100, priority=200)
    policy.rule(city, amount_fen=200, priority=300, stacks=True)
    offer = quote(
        session=make.session,
        elder_id=elder.id,
        site_id=site.id,
        service_date=make.today,
        slot="lunch",
        price_fen=1500,
    )
    assert offer.elder_fen == 900
    assert [(share, name.in_locale("en"), fen) for share, name, fen in offer.payers()] == [
        (Share.government, "Guangzhou Civil Affairs", 500),
        (Share.business, "Canteen operator", 100),
    ]


def test_placing_reserves_cancelling_releases(make, policy, session):
    site, dishes, elder = make.world()
    charity = policy.funder("charity")
    fund = policy.fund(charity, budget_fen=1000)
    policy.rule(charity, fund_id=fund.id, amount_fen=300)
    billed = place(make, elder, site, dishes[0], key="a")
    assert billed.split.total(Share.charity) == 300
    session.expire_all()
    assert committed(session, fund.id) == 300
    assert session.get(Charge, billed.order.id).elder_fen == 1200
    ordering.cancel_order(
        session=session, clock=make.clock, settings=SETTINGS, order_id=billed.order.id
    )
    session.expire_all()
    assert committed(session, fund.id) == 0
    statuses = session.exec(select(Reservation.status)).all()
    assert statuses == ["released"]


def test_a_served_meal_posts_entries_that_sum_to_the_price_once(make, policy, session):
    site, dishes, elder = make.world()
    city = policy.funder()
    policy.rule(city, amount_fen=400)
    billed = place(make, elder, site, dishes[0], key="a")
    lock(make, site)
    serve(make, billed.order.id)
    serve(make, billed.order.id)  # said twice: posted once
    entries = session.exec(select(LedgerEntry).order_by(LedgerEntry.id)).all()
    assert [(e.share, e.amount_fen) for e in entries] == [("government", 400), ("elder", 1100)]
    assert sum(e.amount_fen for e in entries) == billed.order.total_fen


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("subsidised", [("government", 400), ("elder", 1100)]),
        ("elder_pays", [("elder", 1500)]),
        ("waived", []),
    ],
)
def test_a_meal_nobody_answered_for_follows_the_unserved_rule(
    make, policy, session, rule, expected
):
    site, dishes, elder = make.world()
    policy.policy(unserved=rule)
    policy.rule(policy.funder(), amount_fen=400)
    billed = place(make, elder, site, dishes[0], key="a")
    lock(make, site)
    serve(make, billed.order.id, OrderStatus.no_answer)
    entries = session.exec(select(LedgerEntry).order_by(LedgerEntry.id)).all()
    assert [(e.share, e.amount_fen) for e in entries] == expected
    assert all(e.kind == EntryKind.unserved and rule in e.note for e in entries)


def test_reversal_adds_opposite_entries_and_gives_the_budget_back(make, policy, session):
    site, dishes, elder = make.world()
    charity = policy.funder("charity")
    fund = policy.fund(charity, budget_fen=1000)
    policy.rule(charity, fund_id=fund.id, amount_fen=300)
    billed = place(make, elder, site, dishes[0], key="a")
    lock(make, site)
    serve(make, billed.order.id)
    reverse(session=session, clock=make.clock, order_id=billed.order.id, reason="退款：菜品问题")
    entries = session.exec(select(LedgerEntry)).all()
    assert sum(e.amount_fen for e in entries) == 0 and len(entries) == 4
    session.expire_all()
    assert committed(session, fund.id) == 0
    with pytest.raises(AlreadyReversed):
        reverse(session=session, clock=make.clock, order_id=billed.order.id, reason="again")


def test_the_database_refuses_to_edit_or_delete_a_ledger_entry(make, policy, session):
    site, dishes, elder = make.world()
    billed = place(make, elder, site, dishes[0], key="a")
    lock(make, site)
    serve(make, billed.order.id)
    for statement in (sa.update(LedgerEntry).values(amount_fen=0), sa.delete(LedgerEntry)):
        with pytest.raises(DBAPIError, match="append-only"), session.begin_nested():
            session.execute(statement)


def test_a_new_rule_version_applies_from_its_date(make, policy, session):
    site, dishes, elder = make.world()
    city = policy.funder()
    policy.rule(city, code="CITY", version=1, amount_fen=300, effective_to=make.today)
    policy.rule(
        city, code="CITY", version=2, amount_fen=500, effective_from=make.today + timedelta(days=1)
    )
    today = place(make, elder, site, dishes[0], key="a")
    tomorrow = place(make, elder, site, dishes[0], key="b", day=make.today + timedelta(days=1))
    assert today.split.total(Share.government) == 300
    assert tomorrow.split.total(Share.government) == 500


def test_an_elders_monthly_cap_is_never_exceeded(make, policy, session):
    site, dishes, elder = make.world()
    for offset in range(1, 3):
        make.menu(site, dishes, make.today + timedelta(days=offset + 2))
    policy.rule(policy.funder(), amount_fen=400, cap_per_elder_month_fen=1000)
    got = [
        place(
            make, elder, site, dishes[0], key=f"k{offset}", day=make.today + timedelta(days=offset)
        ).split.total(Share.government)
        for offset in (0, 1, 2, 3)
    ]
    assert got == [400, 400, 200, 0]


RACERS = 100


def test_a_fund_with_room_for_ten_meals_pays_for_exactly_ten_of_a_hundred_racing_orders(
    empty_database,
):
    clock = FixedClock(datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI))
    with empty_database.transaction() as session:
        make, policy = Factory(session, clock), PolicyFactory(session)
        site, dishes, _ = make.world()
        elders = [make.elder(site).id for _ in range(RACERS)]
        charity = policy.funder("charity")
        fund = policy.fund(charity, budget_fen=3000)
        policy.rule(charity, fund_id=fund.id, amount_fen=300)
        site_id, dish_id, fund_id = site.id, dishes[0].id, fund.id

    def order(elder_id):
        with empty_database.transaction() as session:
            billed = ordering.place_order(
                session=session,
                clock=clock,
                settings=SETTINGS,
                elder_id=elder_id,
                site_id=site_id,
                service_date=date(2026, 11, 25),
                slot=Slot.lunch,
                dish_id=dish_id,
                variant="regular",
                idempotency_key=f"race-{elder_id}",
            )
            return billed.split.total(Share.charity)

    with ThreadPoolExecutor(16) as pool:
        charity_shares = list(pool.map(order, elders))
    assert sorted(charity_shares, reverse=True)[:11] == [300] * 10 + [0]
    with empty_database.reading() as session:
        assert committed(session, fund_id) == 3000
        held = session.exec(select(sa.func.sum(Reservation.amount_fen))).one()
        assert held == 3000


def test_an_elders_monthly_cap_holds_under_racing_orders(empty_database):
    clock = FixedClock(datetime(2026, 11, 2, 8, 0, tzinfo=SHANGHAI))
    days = [date(2026, 11, 2) + timedelta(days=n) for n in range(12)]
    with empty_database.transaction() as session:
        make, policy = Factory(session, clock), PolicyFactory(session)
        community = make.community()
        site = make.site(serves=[community])
        dish = make.dish()
        for day in days:
            make.menu(site, [dish], day)
        elder_id = make.elder(community).id
        policy.rule(policy.funder(), amount_fen=400, cap_per_elder_month_fen=2000)
        site_id, dish_id = site.id, dish.id

    def order(day):
        try:
            with empty_database.transaction() as session:
                return ordering.place_order(
                    session=session,
                    clock=clock,
                    settings=SETTINGS,
                    elder_id=elder_id,
                    site_id=site_id,
                    service_date=day,
                    slot=Slot.lunch,
                    dish_id=dish_id,
                    variant="regular",
                    idempotency_key=f"cap-{day}",
                ).split.total(Share.government)
        except DomainError as refusal:
            return refusal.code

    with ThreadPoolExecutor(12) as pool:
        subsidies = list(pool.map(order, days))
    assert sum(subsidies) == 2000 and sorted(subsidies, reverse=True)[:6] == [400] * 5 + [0]
