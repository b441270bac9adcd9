"""The subsidy policy as the admin changes it (funders, funds and their budgets, versions of
subsidy rules) and previews it: each change and its audit entry together, from the pages, the
JSON API or the demo's set-up. The surfaces may not import the billing services: the reads
they need are re-exported here."""

from sqlmodel import Session

from billing import policy
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
from billing.periods import budget_period, fund_name, period_name
from billing.policy import (
    BillingPolicyIn,
    FundCreate,
    FunderCreate,
    FunderUpdate,
    FundUpdate,
    PeriodBudget,
    RuleDraft,
    RuleLine,
    billing_policies,
    draft_of,
    fund_budgets,
    get_fund,
    get_funder,
    list_funders,
    list_funds,
    rule_lines,
    rule_versions,
)
from billing.preview import Payment, Preview, PreviewRow, preview_draft
from billing.service import FundStanding, fund_standings, policy_on
from core import audit
from core.clock import Clock, today
from core.types import Slot

__all__ = [
    "BillingPolicy",
    "BillingPolicyIn",
    "BudgetPeriod",
    "FundCreate",
    "FundStanding",
    "FundUpdate",
    "FunderCreate",
    "FunderUpdate",
    "Layer",
    "Payment",
    "PeriodBudget",
    "Preview",
    "PreviewRow",
    "RuleDraft",
    "RuleLine",
    "Share",
    "UnservedRule",
    "billing_policies",
    "budget_period",
    "create_fund",
    "create_funder",
    "draft_of",
    "fund_budgets",
    "fund_name",
    "fund_standings",
    "get_fund",
    "get_funder",
    "list_funders",
    "list_funds",
    "period_name",
    "policy_on",
    "preview_rule",
    "publish_rule",
    "rule_lines",
    "rule_versions",
    "set_billing_policy",
    "set_period_budget",
    "update_fund",
    "update_funder",
]


def create_funder(*, session: Session, clock: Clock, actor: str, funder_in: FunderCreate) -> Funder:
    funder = policy.create_funder(session=session, funder_in=funder_in)
    _record(session, clock, actor, "create_funder", f"funder:{funder.id}", funder.code)
    return funder


def update_funder(
    *, session: Session, clock: Clock, actor: str, funder_id: int, funder_in: FunderUpdate
) -> Funder:
    funder = policy.update_funder(session=session, funder_id=funder_id, funder_in=funder_in)
    where = funder.street_id or funder.district_id or funder.city or ""
    _record(
        session, clock, actor, "update_funder", f"funder:{funder_id}", f"{funder.layer} {where}"
    )
    return funder


def create_fund(*, session: Session, clock: Clock, actor: str, fund_in: FundCreate) -> Fund:
    fund = policy.create_fund(session=session, fund_in=fund_in)
    _record(
        session,
        clock,
        actor,
        "create_fund",
        f"fund:{fund.id}",
        f"{fund.code} {fund.period} {fund.budget_fen}",
    )
    return fund


def update_fund(
    *, session: Session, clock: Clock, actor: str, fund_id: int, fund_in: FundUpdate
) -> Fund:
    before = get_fund(session=session, fund_id=fund_id).budget_fen
    fund = policy.update_fund(session=session, fund_id=fund_id, fund_in=fund_in)
    _record(session, clock, actor, "update_fund", f"fund:{fund_id}", f"{before}->{fund.budget_fen}")
    return fund


def set_period_budget(
    *, session: Session, clock: Clock, actor: str, fund_id: int, budget_in: PeriodBudget
) -> FundBudget:
    row = policy.set_period_budget(session=session, fund_id=fund_id, budget_in=budget_in)
    _record(
        session,
        clock,
        actor,
        "set_fund_budget",
        f"fund:{fund_id}",
        f"{row.period} {row.budget_fen}",
    )
    return row


def set_billing_policy(
    *, session: Session, clock: Clock, actor: str, policy_in: BillingPolicyIn
) -> BillingPolicy:
    """The programme's billing settings from a day not yet past."""
    row = policy.set_billing_policy(session=session, today=today(clock), policy_in=policy_in)
    _record(
        session,
        clock,
        actor,
        "set_billing_policy",
        f"billing_policy:{row.effective_from.isoformat()}",
        f"min {row.elder_min_payment_fen} unserved {row.unserved}",
    )
    return row


def publish_rule(*, session: Session, clock: Clock, actor: str, draft: RuleDraft) -> SubsidyRule:
    """The rule's next version, from its first day (today or later)."""
    rule = policy.publish_rule(session=session, today=today(clock), draft=draft)
    _record(
        session,
        clock,
        actor,
        "publish_rule",
        f"rule:{rule.code}",
        f"v{rule.version} from {rule.effective_from.isoformat()}",
    )
    return rule


def preview_rule(
    *,
    session: Session,
    clock: Clock,
    actor: str,
    draft: RuleDraft,
    elder_ids: list[int],
    site_ids: list[int],
    every_category: bool,
    price_fen: int,
    age: int,
    slot: Slot,
) -> Preview:
    """Who would pay what per meal under the draft, beside the rules in force today. Sample
    elders are people's records: who looked at whose is in the log."""
    result = preview_draft(
        session=session,
        today=today(clock),
        draft=draft,
        elder_ids=elder_ids,
        site_ids=site_ids,
        every_category=every_category,
        price_fen=price_fen,
        age=age,
        slot=slot,
    )
    if elder_ids:
        _record(
            session,
            clock,
            actor,
            "preview_rule",
            f"rule:{draft.code}",
            "elders:" + ",".join(str(i) for i in elder_ids[:20]),
        )
    return result


def _record(
    session: Session, clock: Clock, actor: str, action: str, subject: str, detail: str = ""
) -> None:
    audit.record(
        session=session, clock=clock, actor=actor, action=action, subject=subject, detail=detail
    )
