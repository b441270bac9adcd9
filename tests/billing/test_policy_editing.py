"""The admin's policy changes: rule versions from a day not yet past that never reach back into
meals already posted, funds' period budgets, funders' jurisdictions by id, each change in the
audit log; and the preview of a draft beside the rules in force today."""

from datetime import date, timedelta

import pytest
from sqlmodel import select

from billing.errors import (
    BudgetBelowCommitted,
    CategoryBothWays,
    FundOfAnotherFunder,
    JurisdictionNeeded,
    RuleAmountNeeded,
    RuleFunderFixed,
    RuleStartsInThePast,
)
from billing.models import LedgerEntry, Share, SubsidyRule
from billing.settlement import funder_statements, month_range
from core.types import Category, Slot
from tests.factories import SETTINGS, PolicyFactory, lunch_delivered
from usecases import ordering, policy

ADMIN = "staff:admin"


@pytest.fixture
def rules(session):
    return PolicyFactory(session)


def draft(funder, **values):
    values.setdefault("code", "CITY")
    values.setdefault("effective_from", date(2026, 11, 25))
    if "percent_bp" not in values:
        values.setdefault("amount_fen", 300)
    return policy.RuleDraft(funder_id=funder.id, **values)


def publish(make, **values):
    return policy.publish_rule(
        session=make.session, clock=make.clock, actor=ADMIN, draft=draft(**values)
    )


def actions(session):
    """The audit entries recorded so far (they join the chain when the session commits)."""
    return [entry.action for _, entry in session.info.get("audit_pending", [])]


def test_a_new_version_never_alters_meals_already_posted(make, rules, session):
    site, dishes, elder = make.world()
    city = rules.funder()
    publish(make, funder=city, amount_fen=300)
    served = lunch_delivered(make, site, dishes[0], [elder])
    november = month_range("2026-11")
    before_entries = [
        (e.id, e.share, e.amount_fen, e.rule_id) for e in session.exec(select(LedgerEntry))
    ]
    (before,) = [
        s.total_fen for s in funder_statements(session=session, first=november[0], last=november[1])
    ]
    tomorrow = make.today + timedelta(days=1)
    second = publish(make, funder=city, amount_fen=800, effective_from=tomorrow)
    assert second.version == 2
    after_entries = [
        (e.id, e.share, e.amount_fen, e.rule_id) for e in session.exec(select(LedgerEntry))
    ]
    assert after_entries == before_entries
    assert (
        [
            s.total_fen
            for s in funder_statements(session=session, first=november[0], last=november[1])
        ]
        == [before]
        == [300]
    )
    # The first version is as it was; meals from tomorrow get the second.
    first = session.exec(select(SubsidyRule).where(SubsidyRule.version == 1)).one()
    assert (first.amount_fen, first.effective_to) == (300, None)
    placed = ordering.place_order(
        session=session,
        clock=make.clock,
        settings=SETTINGS,
        elder_id=elder.id,
        site_id=site.id,
        service_date=tomorrow,
        slot=Slot.lunch,
        dish_id=dishes[0].id,
        variant="regular",
        idempotency_key="tomorrow",
    )
    assert placed.split.total(Share.government) == 800
    assert served and actions(session).count("publish_rule") == 2


def test_a_version_cannot_start_in_the_past_and_nothing_is_written(make, rules, session):
    city = rules.funder()
    with pytest.raises(RuleStartsInThePast) as refused:
        publish(make, funder=city, effective_from=make.today - timedelta(days=1))
    assert refused.value.params["field_code"] == "effective_from"
    assert session.exec(select(SubsidyRule)).all() == []
    assert "publish_rule" not in actions(session)


@pytest.mark.parametrize(
    ("values", "refusal"),
    [
        ({"amount_fen": 300, "percent_bp": 5000}, RuleAmountNeeded),
        ({"amount_fen": None, "percent_bp": None}, RuleAmountNeeded),
        ({"categories": ["tekun"], "excluded_categories": ["tekun"]}, CategoryBothWays),
    ],
)
def test_a_draft_that_does_not_hold_together_is_refused(make, rules, values, refusal):
    with pytest.raises(refusal):
        publish(make, funder=rules.funder(), **values)


def test_a_rule_keeps_its_funder_and_draws_only_on_its_funders_funds(make, rules):
    city, charity = rules.funder(), rules.funder("charity")
    publish(make, funder=city)
    with pytest.raises(RuleFunderFixed):
        publish(make, funder=charity)
    fund = rules.fund(charity, budget_fen=1000)
    with pytest.raises(FundOfAnotherFunder):
        publish(make, funder=city, code="OTHER", fund_id=fund.id)


def test_a_periods_budget_is_set_ahead_and_never_below_what_is_committed(make, rules, session):
    site, dishes, elder = make.world()
    charity = rules.funder("charity")
    fund = policy.create_fund(
        session=session,
        clock=make.clock,
        actor=ADMIN,
        fund_in=policy.FundCreate(
            code="LOVE",
            funder_id=charity.id,
            name_zh="长者助餐爱心基金",
            name_en="Elder meals love fund",
            period="month",
            budget_fen=1000,
        ),
    )
    publish(make, funder=charity, code="LOVE-ALL", fund_id=fund.id, amount_fen=300)
    ordering.place_order(
        session=session,
        clock=make.clock,
        settings=SETTINGS,
        elder_id=elder.id,
        site_id=site.id,
        service_date=make.today,
        slot=Slot.lunch,
        dish_id=dishes[0].id,
        variant="regular",
        idempotency_key="k",
    )
    december = policy.set_period_budget(
        session=session,
        clock=make.clock,
        actor=ADMIN,
        fund_id=fund.id,
        budget_in=policy.PeriodBudget(period="2026-12", budget_fen=5000),
    )
    assert (december.budget_fen, december.committed_fen) == (5000, 0)
    with pytest.raises(BudgetBelowCommitted):
        policy.set_period_budget(
            session=session,
            clock=make.clock,
            actor=ADMIN,
            fund_id=fund.id,
            budget_in=policy.PeriodBudget(period="2026-11", budget_fen=200),
        )
    standings = policy.fund_standings(session=session, on=date(2026, 12, 3))
    assert [(s.period, s.budget_fen) for s in standings] == [("2026-12", 5000)]
    assert {"create_fund", "set_fund_budget"} <= set(actions(session))


def test_a_district_funder_is_chosen_by_id_and_carries_its_names(make, session):
    community = make.community(district="越秀区")
    funder = policy.create_funder(
        session=session,
        clock=make.clock,
        actor=ADMIN,
        funder_in=policy.FunderCreate(
            code="YX",
            share="government",
            name_zh="越秀区民政局",
            name_en="Yuexiu Civil Affairs",
            layer="district",
            district_id=community.district_id,
        ),
    )
    assert (funder.district_id, funder.district, funder.city) == (
        community.district_id,
        "越秀区",
        "广州市",
    )
    with pytest.raises(JurisdictionNeeded):
        policy.update_funder(
            session=session,
            clock=make.clock,
            actor=ADMIN,
            funder_id=funder.id,
            funder_in=policy.FunderUpdate(name_zh="越秀区民政局", name_en="Yuexiu", layer="street"),
        )


def test_the_preview_shows_every_category_at_every_site_under_the_draft_and_today(
    make, rules, session
):
    make.world()
    city = rules.funder()
    publish(make, funder=city, amount_fen=300)
    preview = policy.preview_rule(
        session=session,
        clock=make.clock,
        actor=ADMIN,
        draft=draft(city, amount_fen=500, excluded_categories=[Category.extreme_poverty]),
        elder_ids=[],
        site_ids=[],
        every_category=True,
        price_fen=1500,
        age=80,
        slot=Slot.lunch,
    )
    by_category = {row.categories: row for row in preview.rows}
    assert len(preview.rows) == len(Category) + 1
    tekun = by_category[("tekun",)]
    assert (tekun.elder_pays("today"), tekun.elder_pays("draft")) == (1200, 1500)
    none = by_category[("none",)]
    assert (none.elder_pays("today"), none.elder_pays("draft")) == (1200, 1000)
    assert preview.changed == len(preview.rows)
    # A preview writes nothing (and names no elder: nothing to log).
    assert session.exec(select(SubsidyRule)).all()[-1].version == 1
    assert "preview_rule" not in actions(session)


def test_previewing_for_sample_elders_uses_their_own_categories_and_is_logged(make, rules, session):
    site, _, _ = make.world()
    dibao = make.elder(site, categories=[Category.minimum_living])
    city = rules.funder()
    publish(make, funder=city, code="DIBAO", categories=["dibao"], amount_fen=800)
    preview = policy.preview_rule(
        session=session,
        clock=make.clock,
        actor=ADMIN,
        draft=draft(city, code="DIBAO", categories=[Category.minimum_living], amount_fen=1000),
        elder_ids=[dibao.id],
        site_ids=[site.id],
        every_category=False,
        price_fen=1500,
        age=80,
        slot=Slot.lunch,
    )
    (row,) = preview.rows
    assert (row.elder_id, row.categories) == (dibao.id, ("dibao",))
    assert (row.elder_pays("today"), row.elder_pays("draft")) == (700, 500)
    assert "preview_rule" in actions(session)


def test_an_elders_monthly_cap_carries_on_across_a_rules_versions(make, rules, session):
    site, dishes, elder = make.world()
    later = make.today + timedelta(days=2)
    make.menu(site, dishes, later)
    city = rules.funder()
    publish(make, funder=city, amount_fen=400, cap_per_elder_month_fen=1000)
    publish(make, funder=city, amount_fen=400, cap_per_elder_month_fen=1000, effective_from=later)

    def order(day, key):
        return ordering.place_order(
            session=session,
            clock=make.clock,
            settings=SETTINGS,
            elder_id=elder.id,
            site_id=site.id,
            service_date=day,
            slot=Slot.lunch,
            dish_id=dishes[0].id,
            variant="regular",
            idempotency_key=key,
        ).split.total(Share.government)

    got = [order(make.today, "a"), order(make.today + timedelta(days=1), "b"), order(later, "c")]
    assert got == [400, 400, 200]
