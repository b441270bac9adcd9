"""A draft rule's effect before it is published: who would pay what per meal under it, beside
what the rules in force today ask, for sample elders at chosen sites or for every category at
every site. Nothing is written; budgets and caps are taken as not yet spent."""

from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, col, select

from billing.models import Fund, FundBudget, Funder, Share, SubsidyRule
from billing.periods import budget_period
from billing.policy import RuleDraft, check_draft
from billing.service import meal_facts, policy_on, rules_in_force
from billing.split import Limits, Meal, Split, Terms, split
from core.elders import categories_on
from core.errors import ElderNotFound
from core.i18n import Bilingual
from core.models import Community, Elder, Site, saved
from core.types import Category, Slot

# The draft's rule id inside a preview: no stored rule has it.
DRAFT_RULE_ID = 0
NO_CATEGORY = "none"


@dataclass(frozen=True)
class Payment:
    """One payer's part of a meal: a funder, or the elder (funder None)."""

    share: Share
    funder: Bilingual | None
    fen: int


@dataclass(frozen=True)
class PreviewRow:
    """One sample meal: the elder (by number and name) or a category, the site, the price, and
    who pays what under the rules in force today and under the draft."""

    elder_id: int | None
    elder_name: str | None
    categories: tuple[str, ...]
    age: int
    site_id: int
    site: str
    price_fen: int
    today: tuple[Payment, ...]
    draft: tuple[Payment, ...]

    @property
    def changed(self) -> bool:
        return self.today != self.draft

    def elder_pays(self, which: str) -> int:
        payments = self.today if which == "today" else self.draft
        return sum(p.fen for p in payments if p.share == Share.elder)


@dataclass(frozen=True)
class Preview:
    today: date
    effective_from: date
    rows: list[PreviewRow]

    @property
    def changed(self) -> int:
        return sum(1 for row in self.rows if row.changed)


def preview_draft(
    *,
    session: Session,
    today: date,
    draft: RuleDraft,
    elder_ids: list[int],
    site_ids: list[int],
    every_category: bool,
    price_fen: int,
    age: int,
    slot: Slot,
) -> Preview:
    """The draft beside today's rules for each sample meal: each sample elder at each chosen
    site (none chosen: every active site), and with `every_category` an elder of each category
    (and of none) of the given age living beside each site."""
    funder = check_draft(session=session, today=today, draft=draft)
    sites = list(
        session.exec(
            select(Site)
            .where(col(Site.id).in_(site_ids) if site_ids else col(Site.active))
            .order_by(col(Site.id))
        )
    )
    on = draft.effective_from
    now_rules = rules_in_force(session=session, on=today)
    replaced = set(session.exec(select(SubsidyRule.id).where(SubsidyRule.code == draft.code)))
    draft_rules = [t for t in rules_in_force(session=session, on=on) if t.rule_id not in replaced]
    if draft.effective_to is None or draft.effective_to >= on:
        draft_rules.append(_draft_terms(draft, funder))
    draft_cap = _smallest(draft.cap_per_elder_day_fen, draft.cap_per_elder_month_fen)
    names = {saved(f.id): Bilingual(f.name_zh, f.name_en) for f in session.exec(select(Funder))}
    # Budgets and caps taken as unspent: the same for every sample meal of a day.
    limits_today = _fresh_limits(session, now_rules, today, None)
    limits_draft = _fresh_limits(session, draft_rules, on, draft_cap)
    rows: list[PreviewRow] = []
    samples: list[tuple[Elder | None, frozenset[str], int, Site]] = []
    for elder_id in elder_ids:
        elder = session.get(Elder, elder_id)
        if elder is None:
            raise ElderNotFound(elder_id=elder_id, field_code="elder_ids")
        for site in sites:
            samples.append((elder, frozenset(), 0, site))
    if every_category:
        for site in sites:
            for category in [*Category, None]:
                held = frozenset({category.value}) if category else frozenset()
                samples.append((None, held, age, site))
    for elder, held, years, site in samples:
        if elder is not None:
            facts = {
                when: meal_facts(
                    session=session,
                    elder_id=saved(elder.id),
                    site_id=saved(site.id),
                    service_date=when,
                    slot=slot,
                    price_fen=price_fen,
                    portions=1,
                )
                for when in (today, on)
            }
            held = frozenset(categories_on(session=session, elder_id=saved(elder.id), on=on))
            years = facts[on].elder_age
        else:
            facts = {
                when: _neighbour(session, site, when, slot, price_fen, years, held)
                for when in (today, on)
            }
        rows.append(
            PreviewRow(
                elder_id=elder.id if elder else None,
                elder_name=elder.name if elder else None,
                categories=tuple(sorted(held)) or (NO_CATEGORY,),
                age=years,
                site_id=saved(site.id),
                site=site.name,
                price_fen=price_fen,
                today=_payments(facts[today], now_rules, limits_today, names),
                draft=_payments(facts[on], draft_rules, limits_draft, names),
            )
        )
    return Preview(today, on, rows)


def _neighbour(
    session: Session,
    site: Site,
    when: date,
    slot: Slot,
    price_fen: int,
    age: int,
    categories: frozenset[str],
) -> Meal:
    """A made-up elder of this age and these categories living in the site's own community."""
    place = session.get_one(Community, site.community_id)
    return Meal(
        price_fen=price_fen,
        portions=1,
        service_date=when,
        slot=slot,
        site_id=saved(site.id),
        site_city=place.city,
        site_district=place.district,
        site_street=place.street,
        elder_city=place.city,
        elder_district=place.district,
        elder_street=place.street,
        elder_age=age,
        categories=categories,
        site_district_id=place.district_id,
        site_street_id=place.street_id,
        elder_district_id=place.district_id,
        elder_street_id=place.street_id,
    )


def _payments(
    meal: Meal, rules: list[Terms], limits: Limits, names: dict[int, Bilingual]
) -> tuple[Payment, ...]:
    return _grouped(split(meal, rules, limits), names)


def _grouped(result: Split, names: dict[int, Bilingual]) -> tuple[Payment, ...]:
    """One payment per funder (two of a funder's rules are one amount), then the elder's."""
    owed: dict[tuple[Share, int | None], int] = {}
    for a in result.allocations:
        owed[(a.share, a.funder_id)] = owed.get((a.share, a.funder_id), 0) + a.amount_fen
    order = list(Share)
    return tuple(
        Payment(share, names.get(funder_id) if funder_id else None, fen)
        for (share, funder_id), fen in sorted(
            owed.items(), key=lambda item: (order.index(item[0][0]), item[0][1] or 0)
        )
    )


def _fresh_limits(session: Session, rules: list[Terms], on: date, draft_cap: int | None) -> Limits:
    """Each fund's whole budget for the period and each cap unused: the policy as it stands
    for a meal early in the period, not what happens to be left today."""
    funds: dict[int, int] = {}
    for terms in rules:
        if terms.fund_id is None or terms.fund_id in funds:
            continue
        fund = session.get(Fund, terms.fund_id)
        if fund is None:
            continue
        row = session.exec(
            select(FundBudget).where(
                FundBudget.fund_id == fund.id,
                FundBudget.period == budget_period(fund.period, on),
            )
        ).first()
        funds[terms.fund_id] = row.budget_fen if row else fund.budget_fen
    caps: dict[int, int] = {}
    for terms in rules:
        if terms.rule_id == DRAFT_RULE_ID:
            continue
        rule = session.get(SubsidyRule, terms.rule_id)
        if rule is not None:
            cap = _smallest(rule.cap_per_elder_day_fen, rule.cap_per_elder_month_fen)
            if cap is not None:
                caps[terms.rule_id] = cap
    if draft_cap is not None:
        caps[DRAFT_RULE_ID] = draft_cap
    policy = policy_on(session=session, on=on)
    return Limits(
        fund_remaining=funds,
        cap_remaining=caps,
        elder_min_payment_fen=policy.elder_min_payment_fen,
    )


def _smallest(*caps: int | None) -> int | None:
    given = [cap for cap in caps if cap is not None]
    return min(given) if given else None


def _draft_terms(draft: RuleDraft, funder: Funder) -> Terms:
    return Terms(
        rule_id=DRAFT_RULE_ID,
        funder_id=saved(funder.id),
        share=Share(funder.share),
        layer=funder.layer,
        city=funder.city,
        district=funder.district,
        street=funder.street,
        district_id=funder.district_id,
        street_id=funder.street_id,
        categories=frozenset(c.value for c in draft.categories),
        excluded_categories=frozenset(c.value for c in draft.excluded_categories),
        min_age=draft.min_age,
        site_ids=frozenset(draft.site_ids),
        slots=frozenset(s.value for s in draft.slots),
        weekdays=frozenset(draft.weekdays),
        amount_fen=draft.amount_fen,
        percent_bp=draft.percent_bp,
        cap_per_meal_fen=draft.cap_per_meal_fen,
        priority=draft.priority,
        stacks=draft.stacks,
        fund_id=draft.fund_id,
    )
