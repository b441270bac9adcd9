"""The split's invariants (hypothesis) and each kind of rule on a known case."""

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing.models import Layer, Share
from billing.split import Limits, Meal, Terms, split

MONDAY = date(2026, 11, 23)


def meal(**overrides) -> Meal:
    values = dict(
        price_fen=1500,
        portions=1,
        service_date=MONDAY,
        slot="lunch",
        site_id=1,
        site_city="广州市",
        site_district="越秀区",
        site_street="北京街",
        elder_city="广州市",
        elder_district="越秀区",
        elder_street="北京街",
        elder_age=75,
        categories=frozenset(),
    )
    values.update(overrides)
    return Meal(**values)


def gov(rule_id, **overrides) -> Terms:
    values = dict(
        rule_id=rule_id,
        funder_id=1,
        share=Share.government,
        layer=Layer.city,
        city="广州市",
        amount_fen=300,
    )
    values.update(overrides)
    return Terms(**values)


def test_no_rules_the_elder_pays_everything():
    result = split(meal(), [], Limits())
    assert result.shares == {
        Share.government: 0,
        Share.business: 0,
        Share.charity: 0,
        Share.elder: 1500,
    }


def test_tekun_elders_pay_nothing():
    rules = [gov(1, categories=frozenset({"tekun"}), amount_fen=None, percent_bp=10_000)]
    assert split(meal(categories=frozenset({"tekun"})), rules, Limits()).elder_fen == 0
    assert split(meal(), rules, Limits()).elder_fen == 1500


def test_several_categories_get_the_most_favourable_government_rule_unless_rules_stack():
    rules = [
        gov(1, categories=frozenset({"dibao"}), amount_fen=800),
        gov(2, min_age=80, amount_fen=400),
        gov(3, min_age=60, amount_fen=200, stacks=True),
    ]
    both = meal(categories=frozenset({"dibao"}), elder_age=85)
    result = split(both, rules, Limits())
    assert result.total(Share.government) == 800 + 200
    assert {a.rule_id for a in result.allocations if a.share == Share.government} == {1, 3}


def test_a_district_pays_only_for_its_residents_eating_in_the_district():
    rules = [gov(1, layer=Layer.district, district="越秀区", city=None, amount_fen=300)]
    assert split(meal(), rules, Limits()).total(Share.government) == 300
    assert split(meal(site_district="海珠区"), rules, Limits()).total(Share.government) == 0
    assert split(meal(elder_district="天河区"), rules, Limits()).total(Share.government) == 0


def test_the_city_pays_anywhere_in_the_city_for_its_residents():
    rules = [gov(1)]
    assert split(meal(site_district="海珠区"), rules, Limits()).total(Share.government) == 300
    assert split(meal(elder_city="佛山市"), rules, Limits()).total(Share.government) == 0


def test_conditions_on_site_slot_and_weekday():
    rules = [
        gov(
            1,
            site_ids=frozenset({1}),
            slots=frozenset({"lunch"}),
            weekdays=frozenset({1, 2, 3, 4, 5}),
        )
    ]
    assert split(meal(), rules, Limits()).total(Share.government) == 300
    for other in (meal(site_id=2), meal(slot="dinner"), meal(service_date=date(2026, 11, 29))):
        assert split(other, rules, Limits()).total(Share.government) == 0


def test_a_percentage_is_rounded_by_largest_remainder_and_the_sum_stays_exact():
    rules = [
        gov(1, amount_fen=None, percent_bp=3333),
        Terms(rule_id=2, funder_id=2, share=Share.business, percent_bp=3333, priority=200),
    ]
    result = split(meal(price_fen=1000), rules, Limits())
    # 333.3 + 333.3 + 333.4: the elder's larger remainder gets the fen.
    assert [a.amount_fen for a in result.allocations] == [333, 333, 334]


def test_caps_per_meal_per_elder_and_fund_budget_limit_the_share():
    charity = Terms(
        rule_id=5,
        funder_id=3,
        share=Share.charity,
        percent_bp=5000,
        cap_per_meal_fen=400,
        fund_id=9,
    )
    assert split(meal(), [charity], Limits(fund_remaining={9: 10_000})).total(Share.charity) == 400
    assert split(meal(), [charity], Limits(fund_remaining={9: 150})).total(Share.charity) == 150
    assert split(meal(), [charity], Limits(fund_remaining={9: 0})).total(Share.charity) == 0
    limited = Limits(fund_remaining={9: 10_000}, cap_remaining={5: 100})
    assert split(meal(), [charity], limited).total(Share.charity) == 100


def test_the_elder_minimum_payment_holds_even_when_subsidies_could_cover_all():
    rules = [gov(1, amount_fen=None, percent_bp=10_000)]
    result = split(meal(), rules, Limits(elder_min_payment_fen=300))
    assert (result.total(Share.government), result.elder_fen) == (1200, 300)


def test_portions_multiply_fixed_amounts_and_caps():
    rules = [gov(1, amount_fen=300, cap_per_meal_fen=250)]
    assert split(meal(price_fen=3000, portions=2), rules, Limits()).total(Share.government) == 500


def test_bad_terms_are_refused():
    with pytest.raises(ValueError, match="exactly one"):
        Terms(rule_id=1, funder_id=1, share=Share.government, amount_fen=1, percent_bp=1)
    with pytest.raises(ValueError, match="negative"):
        Terms(rule_id=1, funder_id=1, share=Share.business, amount_fen=-5)
    with pytest.raises(ValueError, match="price_fen"):
        meal(price_fen=-1)


shares = st.sampled_from([Share.government, Share.business, Share.charity])
terms_strategy = st.builds(
    lambda rule_id, share, fixed, amount, bp, cap, priority, stacks, fund, categories, min_age: (
        Terms(
            rule_id=rule_id,
            funder_id=rule_id,
            share=share,
            layer=Layer.city if share == Share.government else None,
            city="广州市" if share == Share.government else None,
            amount_fen=amount if fixed else None,
            percent_bp=None if fixed else bp,
            cap_per_meal_fen=cap,
            priority=priority,
            stacks=stacks,
            fund_id=fund,
            categories=categories,
            min_age=min_age,
        )
    ),
    st.integers(1, 10_000),
    shares,
    st.booleans(),
    st.integers(0, 5_000),
    st.integers(0, 20_000),
    st.none() | st.integers(0, 3_000),
    st.integers(0, 5),
    st.booleans(),
    st.none() | st.integers(1, 3),
    st.sets(st.sampled_from(["tekun", "dibao", "alone"])).map(frozenset),
    st.none() | st.integers(60, 90),
)


@settings(max_examples=400, deadline=None)
@given(
    price=st.integers(0, 20_000),
    portions=st.integers(1, 5),
    age=st.integers(60, 100),
    categories=st.sets(st.sampled_from(["tekun", "dibao", "alone"])).map(frozenset),
    rules=st.lists(terms_strategy, max_size=6, unique_by=lambda t: t.rule_id),
    funds=st.dictionaries(st.integers(1, 3), st.integers(0, 5_000)),
    caps=st.dictionaries(st.integers(1, 10_000), st.integers(0, 3_000)),
    minimum=st.integers(0, 2_000),
)
def test_shares_are_whole_never_negative_and_sum_to_the_price(
    price, portions, age, categories, rules, funds, caps, minimum
):
    the_meal = meal(price_fen=price, portions=portions, elder_age=age, categories=categories)
    limits = Limits(fund_remaining=funds, cap_remaining=caps, elder_min_payment_fen=minimum)
    result = split(the_meal, rules, limits)
    assert all(isinstance(a.amount_fen, int) and a.amount_fen >= 0 for a in result.allocations)
    assert sum(a.amount_fen for a in result.allocations) == price
    assert result.elder_fen >= min(price, minimum * portions)
    for fund, left in funds.items():
        assert sum(a.amount_fen for a in result.allocations if a.fund_id == fund) <= left
    for rule_id, left in caps.items():
        assert sum(a.amount_fen for a in result.allocations if a.rule_id == rule_id) <= left
    assert split(the_meal, list(reversed(rules)), limits) == result  # deterministic
