"""Who pays for a meal: funders, their budgets, subsidy rules versioned by date, reservations
made when an order is placed, and the append-only ledger of what each party paid."""

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from core.i18n import N_
from core.types import LABELS, Labelled, UTCDateTime


class Share(Labelled):
    """The four contributions: 政府补一点、企业让一点、慈善捐一点、个人掏一点."""

    government = "government"
    business = "business"
    charity = "charity"
    elder = "elder"


class Layer(Labelled):
    """Which level of government pays: a district or street pays only for its own residents
    eating inside it; the city pays anywhere in the city."""

    city = "city"
    district = "district"
    street = "street"


class BudgetPeriod(Labelled):
    """How often a fund's budget renews: each month, each year, or once for as long as the
    fund lasts (a one-off donation)."""

    month = "month"
    year = "year"
    whole = "whole"


class UnservedRule(Labelled):
    """What happens to a meal that was cooked but not eaten (nobody answered the door)."""

    subsidised = "subsidised"  # funders and elder pay as if it had been served
    elder_pays = "elder_pays"  # subsidies are released; the elder pays the full price
    waived = "waived"  # nobody pays; the provider bears the cost


class ReservationStatus(Labelled):
    reserved = "reserved"
    released = "released"
    posted = "posted"


class EntryKind(Labelled):
    meal = "meal"
    unserved = "unserved"
    reversal = "reversal"


class AnomalyReason(Labelled):
    """Why a served meal is held out of a claim until someone has looked at it."""

    double_meal = "double_meal"
    no_service_record = "no_service_record"
    elder_inactive = "elder_inactive"
    elder_paused = "elder_paused"
    category_lapsed = "category_lapsed"
    site_count_jump = "site_count_jump"


class ReviewStatus(Labelled):
    held = "held"
    approved = "approved"
    rejected = "rejected"


LABELS.add(
    AnomalyReason,
    {
        AnomalyReason.double_meal: N_("served twice in one meal"),
        AnomalyReason.no_service_record: N_("no delivery, pick-up or dine-in record"),
        AnomalyReason.elder_inactive: N_("elder not active"),
        AnomalyReason.elder_paused: N_("elder's meals paused that day"),
        AnomalyReason.category_lapsed: N_("category not valid that day"),
        AnomalyReason.site_count_jump: N_("site's count far above its usual"),
    },
)
LABELS.add(
    ReviewStatus,
    {
        ReviewStatus.held: N_("held for review"),
        ReviewStatus.approved: N_("approved"),
        ReviewStatus.rejected: N_("rejected"),
    },
)
LABELS.add(
    Share,
    {
        Share.government: N_("government subsidy"),
        Share.business: N_("provider concession"),
        Share.charity: N_("charity fund"),
        Share.elder: N_("elder pays"),
    },
)
LABELS.add(
    Layer,
    {
        Layer.city: N_("city"),
        Layer.district: N_("district"),
        Layer.street: N_("street"),
    },
)
LABELS.add(
    BudgetPeriod,
    {
        BudgetPeriod.month: N_("each month"),
        BudgetPeriod.year: N_("each year"),
        BudgetPeriod.whole: N_("once, until spent"),
    },
)
LABELS.add(
    UnservedRule,
    {
        UnservedRule.subsidised: N_("paid as if served"),
        UnservedRule.elder_pays: N_("the elder pays in full"),
        UnservedRule.waived: N_("waived"),
    },
)
LABELS.add(
    ReservationStatus,
    {
        ReservationStatus.reserved: N_("reserved"),
        ReservationStatus.released: N_("released"),
        ReservationStatus.posted: N_("posted"),
    },
)
LABELS.add(
    EntryKind,
    {
        EntryKind.meal: N_("meal"),
        EntryKind.unserved: N_("meal not served"),
        EntryKind.reversal: N_("reversal"),
    },
)


class Funder(SQLModel, table=True):
    """A government programme, a provider conceding part of the price, or a charity."""

    __tablename__ = "funder"
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True)
    name_zh: str = Field(max_length=64)
    name_en: str = Field(max_length=96)
    share: Share = Field(sa_type=sa.String(16))
    # Government only: the layer and the jurisdiction it pays for. A district or street is
    # matched by id (two districts may each have a 北京街); the names are copies to read.
    layer: Layer | None = Field(default=None, sa_type=sa.String(16))
    city: str | None = Field(default=None, max_length=64)
    district: str | None = Field(default=None, max_length=64)
    street: str | None = Field(default=None, max_length=64)
    district_id: int | None = Field(default=None, foreign_key="district.id")
    street_id: int | None = Field(default=None, foreign_key="street.id")


class Fund(SQLModel, table=True):
    """A budget that rules draw on, renewed each period (`period`) with `budget_fen` unless a
    period's own budget says otherwise (FundBudget). Its name is the fund's, not a period's:
    reports name the period beside it."""

    __tablename__ = "fund"
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True)
    funder_id: int = Field(foreign_key="funder.id", index=True)
    name_zh: str = Field(max_length=64)
    name_en: str = Field(max_length=96)
    period: BudgetPeriod = Field(default=BudgetPeriod.month, sa_type=sa.String(8))
    budget_fen: int  # each new period's budget


class FundBudget(SQLModel, table=True):
    """One period's budget of a fund ("2026-11", "2026", or "all" for a fund that does not
    renew) and what is reserved or paid from it. Made when the period's first meal draws on it,
    or ahead of time when the admin sets that period's budget."""

    __tablename__ = "fund_budget"
    __table_args__ = (
        sa.UniqueConstraint("fund_id", "period"),
        sa.CheckConstraint("committed_fen >= 0", name="committed_not_negative"),
        sa.CheckConstraint("committed_fen <= budget_fen", name="within_budget"),
    )
    id: int | None = Field(default=None, primary_key=True)
    fund_id: int = Field(foreign_key="fund.id", index=True)
    period: str = Field(max_length=7)
    budget_fen: int
    committed_fen: int = 0


class SubsidyRule(SQLModel, table=True):
    """One version of a subsidy rule: who pays how much for which meals, from when."""

    __tablename__ = "subsidy_rule"
    __table_args__ = (sa.UniqueConstraint("code", "version"),)
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, index=True)
    version: int = 1
    funder_id: int = Field(foreign_key="funder.id", index=True)
    fund_id: int | None = Field(default=None, foreign_key="fund.id")
    effective_from: date
    effective_to: date | None = None
    # Conditions; an empty list means "any".
    categories: list[str] = Field(default_factory=list, sa_type=sa.JSON())
    # Elders in any of these categories are left out ("every elder except 特困").
    excluded_categories: list[str] = Field(default_factory=list, sa_type=sa.JSON())
    min_age: int | None = None
    site_ids: list[int] = Field(default_factory=list, sa_type=sa.JSON())
    slots: list[str] = Field(default_factory=list, sa_type=sa.JSON())
    weekdays: list[int] = Field(default_factory=list, sa_type=sa.JSON())
    # Amount: fixed fen per portion, or basis points (1/100 of a percent) of the price.
    amount_fen: int | None = None
    percent_bp: int | None = None
    cap_per_meal_fen: int | None = None
    cap_per_elder_day_fen: int | None = None
    cap_per_elder_month_fen: int | None = None
    priority: int = 100
    # Government rules that do not stack: an elder gets the most favourable one of them.
    stacks: bool = False


class BillingPolicy(SQLModel, table=True):
    """Programme-wide settings in force from a date: the elder's minimum payment per portion
    and what happens to meals that were not served."""

    __tablename__ = "billing_policy"
    id: int | None = Field(default=None, primary_key=True)
    effective_from: date = Field(unique=True)
    elder_min_payment_fen: int = 0
    unserved: UnservedRule = Field(default=UnservedRule.elder_pays, sa_type=sa.String(16))


class Reservation(SQLModel, table=True):
    """Budget held for one order by one rule, from placing until served or released."""

    __tablename__ = "budget_reservation"
    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="meal_order.id", index=True)
    rule_id: int = Field(foreign_key="subsidy_rule.id")
    funder_id: int = Field(foreign_key="funder.id")
    fund_id: int | None = Field(default=None, foreign_key="fund.id")
    share: Share = Field(sa_type=sa.String(16))
    amount_fen: int
    day_period: str = Field(max_length=10)
    month_period: str = Field(max_length=7)
    status: ReservationStatus = Field(default=ReservationStatus.reserved, sa_type=sa.String(16))
    created_at: datetime = Field(sa_type=UTCDateTime)


class Charge(SQLModel, table=True):
    """How an order's price is split, as reserved when it was placed (or changed)."""

    __tablename__ = "order_charge"
    __table_args__ = (
        sa.CheckConstraint(
            "government_fen + business_fen + charity_fen + elder_fen = price_fen",
            name="shares_sum_to_price",
        ),
    )
    order_id: int = Field(foreign_key="meal_order.id", primary_key=True)
    price_fen: int
    government_fen: int
    business_fen: int
    charity_fen: int
    elder_fen: int
    updated_at: datetime = Field(sa_type=UTCDateTime)


class CapUsage(SQLModel, table=True):
    """How much of a rule's per-elder cap is used in a period ("2026-11-25" or "2026-11")."""

    __tablename__ = "cap_usage"
    __table_args__ = (sa.CheckConstraint("used_fen >= 0", name="used_not_negative"),)
    rule_id: int = Field(foreign_key="subsidy_rule.id", primary_key=True)
    elder_id: int = Field(foreign_key="elder.id", primary_key=True)
    period: str = Field(max_length=10, primary_key=True)
    used_fen: int = 0


class LedgerEntry(SQLModel, table=True):
    """What one party paid for one order. Never updated or deleted (the database refuses):
    corrections are new entries that reverse old ones."""

    __tablename__ = "ledger_entry"
    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="meal_order.id", index=True)
    elder_id: int = Field(foreign_key="elder.id", index=True)
    site_id: int = Field(foreign_key="site.id")
    service_date: date = Field(index=True)
    slot: str = Field(max_length=16)
    share: Share = Field(sa_type=sa.String(16))
    funder_id: int | None = Field(default=None, foreign_key="funder.id", index=True)
    rule_id: int | None = Field(default=None, foreign_key="subsidy_rule.id")
    amount_fen: int
    kind: EntryKind = Field(default=EntryKind.meal, sa_type=sa.String(16))
    reverses_id: int | None = Field(default=None, foreign_key="ledger_entry.id")
    note: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(sa_type=UTCDateTime)


class AnomalyReview(SQLModel, table=True):
    """A meal flagged before a claim, and what a reviewer decided about it."""

    __tablename__ = "anomaly_review"
    __table_args__ = (sa.UniqueConstraint("order_id", "reason"),)
    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="meal_order.id", index=True)
    reason: AnomalyReason = Field(sa_type=sa.String(24))
    detail: str | None = Field(default=None, max_length=200)
    status: ReviewStatus = Field(default=ReviewStatus.held, sa_type=sa.String(16))
    flagged_at: datetime = Field(sa_type=UTCDateTime)
    reviewed_by: str | None = Field(default=None, max_length=64)
    reviewed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
