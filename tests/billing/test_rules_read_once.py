"""Reading the rules, funds and policy once per order or cutoff never serves what an edit
replaced: a rule's new version, a fund's lowered budget or a new billing policy is seen by the
next order, and the meals of one cutoff each draw on what the ones before them left."""

from datetime import date

import pytest
from sqlmodel import col, select

from billing.models import Charge, Share
from billing.policy import BillingPolicyIn, PeriodBudget, RuleDraft
from core.models import Order
from core.types import Slot
from tests.factories import SETTINGS, PolicyFactory, kitchen_with_standing_orders
from usecases import ordering, policy

ADMIN = "staff:admin"
TODAY = date(2026, 11, 25)


@pytest.fixture
def rules(session):
    return PolicyFactory(session)


def place(make, elder, site, dish, key):
    return ordering.place_order(
        session=make.session,
        clock=make.clock,
        settings=SETTINGS,
        elder_id=elder.id,
        site_id=site.id,
        service_date=make.today,
        slot=Slot.lunch,
        dish_id=dish.id,
        variant="regular",
        idempotency_key=key,
    )


def test_a_rule_edited_between_two_orders_is_seen_by_the_second(make, rules):
    site, dishes, first = make.world()
    second = make.elder(site)
    city = rules.funder()

    def publish(amount_fen):
        return policy.publish_rule(
            session=make.session,
            clock=make.clock,
            actor=ADMIN,
            draft=RuleDraft(
                code="CITY", funder_id=city.id, effective_from=TODAY, amount_fen=amount_fen
            ),
        )

    publish(300)
    before = place(make, first, site, dishes[0], "edited-rule-1")
    publish(500)  # the next version, from the same day: it replaces the first at once
    after = place(make, second, site, dishes[0], "edited-rule-2")
    assert before.split.total(Share.government) == 300
    assert after.split.total(Share.government) == 500


def test_a_fund_budget_lowered_between_two_orders_is_seen_by_the_second(make, rules):
    site, dishes, first = make.world()
    second = make.elder(site)
    charity = rules.funder("charity")
    fund = rules.fund(charity, budget_fen=10_000, period="month")
    rules.rule(charity, fund_id=fund.id, amount_fen=400)
    before = place(make, first, site, dishes[0], "lowered-fund-1")
    policy.set_period_budget(
        session=make.session,
        clock=make.clock,
        actor=ADMIN,
        fund_id=fund.id,
        budget_in=PeriodBudget(period="2026-11", budget_fen=500),
    )
    after = place(make, second, site, dishes[0], "lowered-fund-2")
    assert before.split.total(Share.charity) == 400
    assert after.split.total(Share.charity) == 100  # what the lowered budget has left


def test_a_billing_policy_set_between_two_orders_is_seen_by_the_second(make, rules):
    site, dishes, first = make.world()
    rules.rule(rules.funder(), amount_fen=1_200)
    before = place(make, first, site, dishes[0], "new-policy-1")
    policy.set_billing_policy(
        session=make.session,
        clock=make.clock,
        actor=ADMIN,
        policy_in=BillingPolicyIn(effective_from=TODAY, elder_min_payment_fen=800),
    )
    after = place(make, make.elder(site), site, dishes[0], "new-policy-2")
    assert (before.split.elder_fen, before.split.total(Share.government)) == (300, 1_200)
    assert (after.split.elder_fen, after.split.total(Share.government)) == (800, 700)


def test_the_meals_of_one_cutoff_each_draw_on_what_the_ones_before_left(make, rules, session):
    kitchen = kitchen_with_standing_orders(make, elders=3)
    charity = rules.funder("charity")
    fund = rules.fund(charity, budget_fen=400, period="month")
    rules.rule(charity, fund_id=fund.id, amount_fen=200, cap_per_elder_month_fen=150)
    ordering.run_cutoff(
        session=session,
        clock=make.clock,
        settings=SETTINGS,
        site_id=kitchen["kitchen"],
        service_date=make.today,
        slot=Slot.lunch,
        early=True,
    )
    charges = session.exec(
        select(Charge)
        .join(Order, col(Order.id) == col(Charge.order_id))
        .where(Order.site_id == kitchen["kitchen"])
        .order_by(col(Order.id))
    ).all()
    # Each meal is capped at 150 for its elder; the fund's 400 leaves 100 for the third.
    assert [c.charity_fen for c in charges] == [150, 150, 100]
    assert [c.government_fen for c in charges] == [300, 300, 300]
