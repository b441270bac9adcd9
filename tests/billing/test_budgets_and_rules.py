"""Funds renew their budget each period, rules leave categories out, and fund reports count
portions as well as orders."""

from datetime import date, timedelta

import pytest
from sqlmodel import select

from billing.models import FundBudget, LedgerEntry, Share
from billing.periods import budget_period, fund_name
from billing.settlement import fund_reports, month_range
from core.i18n import Bilingual
from core.types import Category, OrderStatus, Slot
from tests.factories import SETTINGS, PolicyFactory
from usecases import ordering

DECEMBER_FIRST = date(2026, 12, 1)


@pytest.fixture
def policy(session):
    return PolicyFactory(session)


def place(make, elder, site, dish, *, key, day=None, quantity=1):
    return ordering.place_order(
        session=make.session,
        clock=make.clock,
        settings=SETTINGS,
        elder_id=elder.id,
        site_id=site.id,
        service_date=day or make.today,
        slot=Slot.lunch,
        dish_id=dish.id,
        variant="regular",
        idempotency_key=key,
        quantity=quantity,
    )


def budgets(session, fund_id):
    return {
        b.period: (b.budget_fen, b.committed_fen)
        for b in session.exec(select(FundBudget).where(FundBudget.fund_id == fund_id))
    }


def test_a_monthly_fund_spent_in_november_pays_again_in_december(make, policy, session):
    site, dishes, elder = make.world()
    make.menu(site, dishes, DECEMBER_FIRST)
    charity = policy.funder("charity")
    fund = policy.fund(charity, budget_fen=300, period="month")
    policy.rule(charity, fund_id=fund.id, amount_fen=300)
    november = place(make, elder, site, dishes[0], key="nov")
    other = make.elder(site)
    november_again = place(make, other, site, dishes[0], key="nov-2")
    december = place(make, elder, site, dishes[0], key="dec", day=DECEMBER_FIRST)
    assert november.split.total(Share.charity) == 300
    assert november_again.split.total(Share.charity) == 0  # November's budget is spent
    assert december.split.total(Share.charity) == 300  # December has a budget of its own
    assert budgets(session, fund.id) == {"2026-11": (300, 300), "2026-12": (300, 300)}


def test_cancelling_gives_back_to_the_budget_of_the_meals_month(make, policy, session):
    site, dishes, elder = make.world()
    make.menu(site, dishes, DECEMBER_FIRST)
    charity = policy.funder("charity")
    fund = policy.fund(charity, budget_fen=1000, period="month")
    policy.rule(charity, fund_id=fund.id, amount_fen=300)
    place(make, elder, site, dishes[0], key="nov")
    december = place(make, elder, site, dishes[0], key="dec", day=DECEMBER_FIRST)
    ordering.cancel_order(
        session=session, clock=make.clock, settings=SETTINGS, order_id=december.order.id
    )
    assert budgets(session, fund.id) == {"2026-11": (1000, 300), "2026-12": (1000, 0)}


def test_a_yearly_fund_draws_on_the_years_budget_and_a_whole_fund_on_its_one_budget():
    day = date(2026, 11, 25)
    assert budget_period("month", day) == "2026-11"
    assert budget_period("year", day) == "2026"
    assert budget_period("whole", day) == "all"


def test_a_funds_name_carries_its_period_not_a_month_written_into_it():
    name = Bilingual("长者助餐爱心基金", "Elder meals love fund")
    assert fund_name(name, "2026-12", "zh_CN") == "长者助餐爱心基金（2026年12月）"
    assert fund_name(name, "2026-12", "en") == "Elder meals love fund (December 2026)"
    assert fund_name(name, "all", "en") == "Elder meals love fund"


def test_decembers_fund_report_names_december_and_its_budget(make, policy, session):
    site, dishes, elder = make.world()
    make.menu(site, dishes, DECEMBER_FIRST)
    charity = policy.funder("charity")
    fund = policy.fund(charity, budget_fen=5000, period="month")
    policy.rule(charity, fund_id=fund.id, amount_fen=300)
    place(make, elder, site, dishes[0], key="nov")
    first, last = month_range("2026-12")
    (report,) = fund_reports(session=session, first=first, last=last)
    assert (report.period, report.budget_fen, report.committed_fen) == ("2026-12", 5000, 0)
    assert report.in_locale("zh_CN").endswith("（2026年12月）")


def test_a_rule_for_every_elder_except_tekun_leaves_tekun_out(make, policy, session):
    site, dishes, _ = make.world()
    city = policy.funder()
    policy.rule(city, amount_fen=400, excluded_categories=["tekun"])
    tekun = make.elder(site, categories=[Category.extreme_poverty])
    dibao = make.elder(site, categories=[Category.minimum_living])
    plain = make.elder(site)
    shares = [
        place(make, elder, site, dishes[0], key=f"k{n}").split.total(Share.government)
        for n, elder in enumerate((tekun, dibao, plain))
    ]
    assert shares == [0, 400, 400]


def test_a_fund_report_counts_portions_as_well_as_orders(make, policy, session):
    site, dishes, elder = make.world()
    charity = policy.funder("charity")
    fund = policy.fund(charity, budget_fen=100_000)
    policy.rule(charity, fund_id=fund.id, amount_fen=300)
    two = place(make, elder, site, dishes[0], key="two", quantity=2)
    one = place(make, make.elder(site), site, dishes[0], key="one")
    ordering.run_cutoff(
        session=session,
        clock=make.clock,
        settings=SETTINGS,
        site_id=site.id,
        service_date=make.today,
        slot=Slot.lunch,
        early=True,
    )
    for placed in (two, one):
        ordering.record_outcome(
            session=session,
            clock=make.clock,
            settings=SETTINGS,
            order_id=placed.order.id,
            outcome=OrderStatus.delivered,
            by="rider",
        )
    first, last = month_range("2026-11")
    (report,) = fund_reports(session=session, first=first, last=last)
    assert (report.meals, report.portions, report.spent_fen) == (2, 3, 900)
    paid = session.exec(select(LedgerEntry.amount_fen).where(LedgerEntry.share == Share.charity))
    assert sum(paid) == 900


def test_a_meal_on_the_day_a_budget_period_ends_draws_on_that_period(make, policy, session):
    site, dishes, elder = make.world()
    last_of_november = date(2026, 11, 30)
    make.menu(site, dishes, last_of_november)
    charity = policy.funder("charity")
    fund = policy.fund(charity, budget_fen=1000, period="month")
    policy.rule(charity, fund_id=fund.id, amount_fen=300)
    place(make, elder, site, dishes[0], key="k", day=last_of_november)
    assert budgets(session, fund.id) == {"2026-11": (1000, 300)}
    assert make.today + timedelta(days=5) == last_of_november


def test_a_street_layer_pays_for_its_own_street_not_a_street_of_that_name_elsewhere(
    make, policy, session
):
    yuexiu = make.community(street="北京街", district="越秀区")
    haizhu = make.community(street="北京街", district="海珠区")
    assert yuexiu.street_id != haizhu.street_id
    street = policy.funder(
        layer="street",
        city="广州市",
        district="越秀区",
        street="北京街",
        district_id=yuexiu.district_id,
        street_id=yuexiu.street_id,
    )
    policy.rule(street, amount_fen=200)
    shares = []
    for n, community in enumerate((yuexiu, haizhu)):
        site = make.site(serves=[community])
        dish = make.dish()
        make.menu(site, [dish], make.today)
        elder = make.elder(community)
        placed = place(make, elder, site, dish, key=f"street-{n}")
        shares.append(placed.split.total(Share.government))
    assert shares == [200, 0]


def test_a_district_layer_matches_the_district_by_id(make, policy, session):
    yuexiu = make.community(district="越秀区")
    other_city = make.community(district="越秀区", city="别的市")
    assert yuexiu.district_id != other_city.district_id
    district = policy.funder(
        layer="district", city="广州市", district="越秀区", district_id=yuexiu.district_id
    )
    policy.rule(district, amount_fen=300)
    shares = []
    for n, community in enumerate((yuexiu, other_city)):
        site = make.site(serves=[community])
        dish = make.dish()
        make.menu(site, [dish], make.today)
        placed = place(make, make.elder(community), site, dish, key=f"district-{n}")
        shares.append(placed.split.total(Share.government))
    assert shares == [300, 0]


def test_a_subsidy_paid_to_an_elder_of_a_category_the_rule_leaves_out_is_held_for_review(
    make, policy, session
):
    from billing.models import AnomalyReason
    from billing.settlement import flag_anomalies
    from core.models import ElderCategory
    from tests.factories import lunch_delivered

    site, dishes, _ = make.world()
    policy.rule(policy.funder(), code="NOT-TEKUN", amount_fen=400, excluded_categories=["tekun"])
    elder = make.elder(site)
    (order_id,) = lunch_delivered(make, site, dishes[0], [elder])
    # The worker records late that she has been 特困 since the month began.
    session.add(ElderCategory(elder_id=elder.id, category="tekun", valid_from=date(2026, 11, 1)))
    session.flush()
    first, last = month_range("2026-11")
    reviews = flag_anomalies(session=session, clock=make.clock, first=first, last=last)
    assert [(r.order_id, r.reason, r.detail) for r in reviews] == [
        (order_id, AnomalyReason.category_lapsed, "rule NOT-TEKUN")
    ]
