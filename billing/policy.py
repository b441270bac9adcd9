"""Funders, funds and subsidy rules as the admin sets them: checked, and rules versioned by the
day they take effect. A rule is never changed in place: a change is a new version from a day
not yet past, so meals already served (and posted) keep the version they were served under."""

from dataclasses import dataclass
from datetime import date
from typing import Annotated

import sqlalchemy as sa
from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError
from sqlmodel import Session, col, select

from billing.errors import (
    BudgetBelowCommitted,
    CategoryBothWays,
    FunderNotFound,
    FundNotFound,
    FundOfAnotherFunder,
    JurisdictionNeeded,
    LayerNeeded,
    LayerOnlyForGovernment,
    PeriodNotOfFund,
    RuleAmountNeeded,
    RuleEndsBeforeItStarts,
    RuleFunderFixed,
    RuleNotFound,
    RuleStartsInThePast,
)
from billing.models import (
    BillingPolicy,
    BudgetPeriod,
    Fund,
    FundBudget,
    Funder,
    Layer,
    Share,
    SubsidyRule,
    UnservedRule,
)
from billing.periods import budget_period
from core.errors import AlreadyExists, SiteNotFound
from core.i18n import N_, Bilingual, money
from core.models import District, Site, Street
from core.schemas import Fen, Schema
from core.types import Category, RowId, Slot
from core.validation import FIELD_LABELS, LINE

FIELD_LABELS.update(
    {
        "share": N_("contribution"),
        "layer": N_("layer"),
        "city": N_("city"),
        "district_id": N_("district"),
        "street_id": N_("street"),
        "period": N_("budget period"),
        "budget_fen": N_("budget"),
        "fund_id": N_("fund"),
        "effective_from": N_("first day"),
        "effective_to": N_("last day"),
        "excluded_categories": N_("categories left out"),
        "min_age": N_("minimum age"),
        "site_ids": N_("meal sites"),
        "slots": N_("meals"),
        "amount_fen": N_("amount per portion"),
        "percent_bp": N_("percentage of the price"),
        "cap_per_meal_fen": N_("most per portion"),
        "cap_per_elder_day_fen": N_("most per elder a day"),
        "cap_per_elder_month_fen": N_("most per elder a month"),
        "stacks": N_("adds to other government subsidies"),
        "elder_ids": N_("sample elders"),
        "age": N_("age"),
        "elder_min_payment_fen": N_("the least an elder pays per portion"),
        "unserved": N_("a meal cooked but not eaten"),
    }
)

Code = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$")]
NameZh = Annotated[str, Field(min_length=1, max_length=64), LINE]
NameEn = Annotated[str, Field(min_length=1, max_length=96), LINE]
PlaceName = Annotated[str, Field(min_length=1, max_length=64), LINE]
# Basis points: 1/100 of a percent, so 10,000 is the whole price.
BasisPoints = Annotated[int, Field(ge=0, le=10_000)]
Weekday = Annotated[int, Field(ge=1, le=7)]  # ISO: Monday 1 .. Sunday 7


class FunderUpdate(Schema):
    """A funder's names and, for government, the layer and place it pays for (a district or a
    street by id)."""

    name_zh: NameZh
    name_en: NameEn
    layer: Layer | None = None
    city: PlaceName | None = None
    district_id: RowId | None = None
    street_id: RowId | None = None


def _not_the_elder(share: Share) -> Share:
    # The elder's share is what the funders leave: no funder pays it.
    if share == Share.elder:
        raise PydanticCustomError("enum", "enum")
    return share


class FunderCreate(FunderUpdate):
    code: Code
    share: Annotated[Share, AfterValidator(_not_the_elder)]


class FundUpdate(Schema):
    """A fund's names and the budget each new period starts with (a period already begun keeps
    its own; set it with PeriodBudget)."""

    name_zh: NameZh
    name_en: NameEn
    budget_fen: Fen


class FundCreate(FundUpdate):
    code: Code
    funder_id: RowId
    period: BudgetPeriod = BudgetPeriod.month


class PeriodBudget(Schema):
    """One period's budget of a fund: "2026-12" for a monthly fund, "2026" for a yearly one,
    "all" for one that does not renew."""

    period: Annotated[str, Field(min_length=3, max_length=7)]
    budget_fen: Fen


class RuleDraft(Schema):
    """A subsidy rule's version as the admin writes it: from which day, for which meals, how
    much. Publishing it makes the rule's next version (or its first)."""

    code: Code
    funder_id: RowId
    fund_id: RowId | None = None
    effective_from: date
    effective_to: date | None = None
    categories: list[Category] = Field(default_factory=list)
    excluded_categories: list[Category] = Field(default_factory=list)
    min_age: Annotated[int, Field(ge=0, le=120)] | None = None
    site_ids: list[RowId] = Field(default_factory=list)
    slots: list[Slot] = Field(default_factory=list)
    weekdays: list[Weekday] = Field(default_factory=list)
    amount_fen: Fen | None = None
    percent_bp: BasisPoints | None = None
    cap_per_meal_fen: Fen | None = None
    cap_per_elder_day_fen: Fen | None = None
    cap_per_elder_month_fen: Fen | None = None
    priority: Annotated[int, Field(ge=0, le=1000)] = 100
    stacks: bool = False


# -- funders ----------------------------------------------------------------------------------


def list_funders(*, session: Session) -> list[Funder]:
    return list(session.exec(select(Funder).order_by(col(Funder.id))))


def get_funder(*, session: Session, funder_id: int) -> Funder:
    funder = session.get(Funder, funder_id)
    if funder is None:
        raise FunderNotFound(funder_id=funder_id)
    return funder


def create_funder(*, session: Session, funder_in: FunderCreate) -> Funder:
    if session.exec(select(Funder.id).where(Funder.code == funder_in.code)).first():
        raise AlreadyExists(value=funder_in.code, field_code="code")
    funder = Funder(code=funder_in.code, share=funder_in.share, name_zh="", name_en="")
    _apply_funder(session, funder, funder_in)
    session.add(funder)
    session.flush()
    return funder


def update_funder(*, session: Session, funder_id: int, funder_in: FunderUpdate) -> Funder:
    funder = get_funder(session=session, funder_id=funder_id)
    _apply_funder(session, funder, funder_in)
    session.add(funder)
    session.flush()
    return funder


def _apply_funder(session: Session, funder: Funder, funder_in: FunderUpdate) -> None:
    """The names, and the jurisdiction as ids with their names copied beside them."""
    funder.name_zh, funder.name_en = funder_in.name_zh, funder_in.name_en
    layer = funder_in.layer
    if funder.share != Share.government:
        if layer is not None:
            raise LayerOnlyForGovernment(field_code="layer")
        funder.layer = funder.city = funder.district = funder.street = None
        funder.district_id = funder.street_id = None
        return
    if layer is None:
        raise LayerNeeded(field_code="layer")
    funder.layer = layer
    funder.district = funder.street = None
    funder.district_id = funder.street_id = None
    if layer == Layer.city:
        if not funder_in.city:
            raise JurisdictionNeeded(layer=Layer.city, field_code="city")
        funder.city = funder_in.city
        return
    if layer == Layer.street:
        street = session.get(Street, funder_in.street_id) if funder_in.street_id else None
        if street is None:
            raise JurisdictionNeeded(layer=Layer.street, field_code="street_id")
        funder.street_id, funder.street = street.id, street.name
        district = session.get_one(District, street.district_id)
    else:
        found = session.get(District, funder_in.district_id) if funder_in.district_id else None
        if found is None:
            raise JurisdictionNeeded(layer=Layer.district, field_code="district_id")
        district = found
    funder.district_id, funder.district, funder.city = district.id, district.name, district.city


# -- funds ------------------------------------------------------------------------------------


def list_funds(*, session: Session) -> list[Fund]:
    return list(session.exec(select(Fund).order_by(col(Fund.id))))


def get_fund(*, session: Session, fund_id: int) -> Fund:
    fund = session.get(Fund, fund_id)
    if fund is None:
        raise FundNotFound(fund_id=fund_id)
    return fund


def create_fund(*, session: Session, fund_in: FundCreate) -> Fund:
    get_funder(session=session, funder_id=fund_in.funder_id)
    if session.exec(select(Fund.id).where(Fund.code == fund_in.code)).first():
        raise AlreadyExists(value=fund_in.code, field_code="code")
    fund = Fund(**fund_in.model_dump())
    session.add(fund)
    session.flush()
    return fund


def update_fund(*, session: Session, fund_id: int, fund_in: FundUpdate) -> Fund:
    fund = get_fund(session=session, fund_id=fund_id)
    fund.name_zh, fund.name_en, fund.budget_fen = (
        fund_in.name_zh,
        fund_in.name_en,
        fund_in.budget_fen,
    )
    session.add(fund)
    session.flush()
    return fund


def fund_budgets(*, session: Session, fund_id: int) -> list[FundBudget]:
    """A fund's periods that have a budget of their own, latest first."""
    return list(
        session.exec(
            select(FundBudget)
            .where(FundBudget.fund_id == fund_id)
            .order_by(col(FundBudget.period).desc())
        )
    )


def set_period_budget(*, session: Session, fund_id: int, budget_in: PeriodBudget) -> FundBudget:
    """Set one period's budget (made if no meal has drawn on it yet); never below what is
    already reserved or paid from it."""
    fund = get_fund(session=session, fund_id=fund_id)
    example = budget_period(fund.period, date(2026, 12, 1))
    if not _period_of_kind(budget_in.period, BudgetPeriod(fund.period)):
        raise PeriodNotOfFund(period=budget_in.period, example=example, field_code="period")
    row = session.exec(
        select(FundBudget).where(
            FundBudget.fund_id == fund_id, FundBudget.period == budget_in.period
        )
    ).first()
    if row is None:
        row = FundBudget(fund_id=fund_id, period=budget_in.period, budget_fen=0)
    if budget_in.budget_fen < row.committed_fen:
        raise BudgetBelowCommitted(committed=_Money(row.committed_fen), field_code="budget_fen")
    row.budget_fen = budget_in.budget_fen
    session.add(row)
    session.flush()
    return row


def _period_of_kind(period: str, kind: BudgetPeriod) -> bool:
    if kind == BudgetPeriod.whole:
        return period == "all"
    try:
        if kind == BudgetPeriod.year:
            return len(period) == 4 and 2000 <= int(period) <= 2100
        return len(period) == 7 and date.fromisoformat(f"{period}-01").year >= 2000
    except ValueError:
        return False


@dataclass(frozen=True)
class _Money:
    """An amount in fen that a refusal shows as yuan in the reader's language."""

    fen: int

    def in_locale(self, locale: str) -> str:
        return money(self.fen, locale)


# -- rules ------------------------------------------------------------------------------------


def rule_versions(*, session: Session, code: str) -> list[SubsidyRule]:
    """Every version of a rule, newest first."""
    versions = list(
        session.exec(
            select(SubsidyRule)
            .where(SubsidyRule.code == code)
            .order_by(col(SubsidyRule.version).desc())
        )
    )
    if not versions:
        raise RuleNotFound(code=code)
    return versions


@dataclass(frozen=True)
class RuleLine:
    """A rule as the policy page lists it: the version in force on the day asked about, and
    the one that comes next, if one is waiting for its day."""

    code: str
    funder: Bilingual
    share: Share
    in_force: SubsidyRule | None
    coming: SubsidyRule | None
    versions: int


def rule_lines(*, session: Session, on: date) -> list[RuleLine]:
    rows = session.exec(
        select(SubsidyRule, Funder)
        .join(Funder, col(Funder.id) == col(SubsidyRule.funder_id))
        .order_by(col(SubsidyRule.code), col(SubsidyRule.effective_from), col(SubsidyRule.version))
    ).all()
    by_code: dict[str, list[tuple[SubsidyRule, Funder]]] = {}
    for rule, funder in rows:
        by_code.setdefault(rule.code, []).append((rule, funder))
    lines = []
    for code, versions in by_code.items():
        begun = [rule for rule, _ in versions if rule.effective_from <= on]
        current = begun[-1] if begun else None
        if current is not None and current.effective_to is not None and current.effective_to < on:
            current = None
        later = [rule for rule, _ in versions if rule.effective_from > on]
        funder = versions[-1][1]
        lines.append(
            RuleLine(
                code,
                Bilingual(funder.name_zh, funder.name_en),
                Share(funder.share),
                current,
                later[0] if later else None,
                len(versions),
            )
        )
    return sorted(
        lines,
        key=lambda line: ((line.in_force or line.coming).priority, line.code),  # type: ignore[union-attr]  # a rule has at least one version
    )


def check_draft(*, session: Session, today: date, draft: RuleDraft) -> Funder:
    """Everything a draft must satisfy to be published (and to be previewed); its funder."""
    if draft.effective_from < today:
        raise RuleStartsInThePast(today=today, field_code="effective_from")
    if draft.effective_to is not None and draft.effective_to < draft.effective_from:
        raise RuleEndsBeforeItStarts(field_code="effective_to")
    if (draft.amount_fen is None) == (draft.percent_bp is None):
        raise RuleAmountNeeded(field_code="amount_fen")
    if set(draft.categories) & set(draft.excluded_categories):
        raise CategoryBothWays(field_code="excluded_categories")
    funder = get_funder(session=session, funder_id=draft.funder_id)
    earlier = session.exec(
        select(SubsidyRule.funder_id).where(SubsidyRule.code == draft.code)
    ).first()
    if earlier is not None and earlier != draft.funder_id:
        owner = session.get_one(Funder, earlier)
        raise RuleFunderFixed(
            code=draft.code,
            funder=Bilingual(owner.name_zh, owner.name_en),
            field_code="funder_id",
        )
    if draft.fund_id is not None:
        fund = session.get(Fund, draft.fund_id)
        if fund is None:
            raise FundNotFound(fund_id=draft.fund_id, field_code="fund_id")
        if fund.funder_id != draft.funder_id:
            raise FundOfAnotherFunder(field_code="fund_id")
    if draft.site_ids:
        known = set(session.exec(select(Site.id).where(col(Site.id).in_(draft.site_ids))))
        if set(draft.site_ids) - known:
            raise SiteNotFound(site_id=min(set(draft.site_ids) - known), field_code="site_ids")
    return funder


def publish_rule(*, session: Session, today: date, draft: RuleDraft) -> SubsidyRule:
    """The rule's next version (its first, for a new code), in force from its first day."""
    check_draft(session=session, today=today, draft=draft)
    latest = session.execute(
        sa.select(sa.func.max(SubsidyRule.version)).where(col(SubsidyRule.code) == draft.code)
    ).scalar_one()
    rule = SubsidyRule(
        **draft.model_dump(exclude={"categories", "excluded_categories", "slots"}),
        categories=[c.value for c in draft.categories],
        excluded_categories=[c.value for c in draft.excluded_categories],
        slots=[s.value for s in draft.slots],
        version=(latest or 0) + 1,
    )
    session.add(rule)
    session.flush()
    return rule


def draft_of(rule: SubsidyRule) -> RuleDraft:
    """A version as a draft, to start the next one from."""
    return RuleDraft.model_validate(
        rule.model_dump(exclude={"id", "version"}), from_attributes=False
    )


# -- the programme's billing settings -------------------------------------------------------


class BillingPolicyIn(Schema):
    """The programme's settings from a day: the least an elder pays per portion, and what
    happens to a meal that was cooked but not eaten."""

    effective_from: date
    elder_min_payment_fen: Fen = 0
    unserved: UnservedRule = UnservedRule.elder_pays


def billing_policies(*, session: Session) -> list[BillingPolicy]:
    """Every setting, latest first."""
    return list(
        session.exec(select(BillingPolicy).order_by(col(BillingPolicy.effective_from).desc()))
    )


def set_billing_policy(
    *, session: Session, today: date, policy_in: BillingPolicyIn
) -> BillingPolicy:
    """Settings from a day not yet past (meals already served keep theirs); a setting already
    waiting for that day is replaced."""
    if policy_in.effective_from < today:
        raise RuleStartsInThePast(today=today, field_code="effective_from")
    row = session.exec(
        select(BillingPolicy).where(BillingPolicy.effective_from == policy_in.effective_from)
    ).first() or BillingPolicy(effective_from=policy_in.effective_from)
    if row.effective_from <= today and row.id is not None:
        raise RuleStartsInThePast(today=today, field_code="effective_from")
    row.elder_min_payment_fen = policy_in.elder_min_payment_fen
    row.unserved = policy_in.unserved
    session.add(row)
    session.flush()
    return row
