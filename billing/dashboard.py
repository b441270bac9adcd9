"""The programme at a glance for the admin: meals served per day, by elder category and by site,
subsidy spent per funder against its budget, coverage of registered elders this week, and open
welfare alerts. Counted in the database; the pages draw the charts."""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from billing.models import Funder, LedgerEntry, Share
from billing.service import fund_standings
from billing.settlement import _category_name, _category_sort, _primary_category
from core.db import int_sum
from core.i18n import Bilingual
from core.models import Elder, MealRating, Order, Site, saved
from core.orders import SERVED
from core.ratings import REASONS
from core.types import AlertLevel, AlertStatus, ElderStatus, Slot
from core.welfare import open_alerts

DAYS = 14


@dataclass(frozen=True)
class Count:
    key: str
    label: str
    meals: int


@dataclass(frozen=True)
class FunderSpend:
    funder_id: int
    code: str
    name: Bilingual
    share: Share
    spent_fen: int  # ledger entries, all time
    month_fen: int  # ledger entries for meals of this month
    budget_fen: int | None  # its funds' budgets of today's period; None: it draws on no fund
    committed_fen: int  # reserved or paid from those budgets


@dataclass(frozen=True)
class AlertLine:
    alert_id: int
    elder: str
    slot: Slot
    raised_at: datetime
    status: AlertStatus
    level: AlertLevel
    handled_by: str | None


@dataclass
class Dashboard:
    today: date
    first: date
    week_start: date
    per_day: list[Count] = field(default_factory=list)
    by_category: list[Count] = field(default_factory=list)
    by_site: list[Count] = field(default_factory=list)
    funders: list[FunderSpend] = field(default_factory=list)
    active_elders: int = 0
    elders_served_this_week: int = 0
    open_alerts: list[AlertLine] = field(default_factory=list)
    # Diners' one-tap ratings of meals served in the period (the satisfaction follow-up).
    ratings_good: int = 0
    ratings_total: int = 0
    rating_reasons: list[Count] = field(default_factory=list)

    @property
    def meals(self) -> int:
        return sum(day.meals for day in self.per_day)

    @property
    def coverage_bp(self) -> int:
        """Share of active elders who ate this week, in basis points (exact integers)."""
        if not self.active_elders:
            return 0
        return self.elders_served_this_week * 10_000 // self.active_elders


def _served(first: date, last: date) -> tuple[sa.ColumnElement[bool], ...]:
    return (
        col(Order.status).in_([status.value for status in SERVED]),
        col(Order.service_date) >= first,
        col(Order.service_date) <= last,
    )


def funder_spending(
    *, session: Session, today: date, funder_ids: set[int] | None = None
) -> list[FunderSpend]:
    """Per funder: what the ledger says it paid (all time and this month) and its funds'
    budgets and commitments for the period `today` falls in (a month's, a year's)."""
    month_start = today.replace(day=1)
    spent: dict[int | None, int] = dict(
        session.execute(
            sa.select(col(LedgerEntry.funder_id), int_sum(LedgerEntry.amount_fen)).group_by(
                col(LedgerEntry.funder_id)
            )
        ).all()
    )
    month: dict[int | None, int] = dict(
        session.execute(
            sa.select(col(LedgerEntry.funder_id), int_sum(LedgerEntry.amount_fen))
            .where(
                col(LedgerEntry.service_date) >= month_start,
                col(LedgerEntry.service_date) <= today,
            )
            .group_by(col(LedgerEntry.funder_id))
        ).all()
    )
    budgets: dict[int, tuple[int, int]] = {}
    for standing in fund_standings(session=session, on=today):
        budget, committed = budgets.get(standing.funder_id, (0, 0))
        budgets[standing.funder_id] = (
            budget + standing.budget_fen,
            committed + standing.committed_fen,
        )
    query = select(Funder).order_by(col(Funder.id))
    if funder_ids is not None:
        query = query.where(col(Funder.id).in_(funder_ids or [-1]))
    return [
        FunderSpend(
            saved(funder.id),
            funder.code,
            Bilingual(funder.name_zh, funder.name_en),
            Share(funder.share),
            spent.get(funder.id, 0),
            month.get(funder.id, 0),
            budgets[funder.id][0] if funder.id in budgets else None,
            budgets[funder.id][1] if funder.id in budgets else 0,
        )
        for funder in session.exec(query)
    ]


def dashboard(*, session: Session, today: date) -> Dashboard:
    """The numbers of the last 14 days up to `today` (a meal = a served order)."""
    first = today - timedelta(days=DAYS - 1)
    week_start = today - timedelta(days=today.weekday())
    board = Dashboard(today=today, first=first, week_start=week_start)

    per_day: dict[date, int] = dict(
        session.execute(
            sa.select(col(Order.service_date), sa.func.count())
            .where(*_served(first, today))
            .group_by(col(Order.service_date))
        ).all()
    )
    board.per_day = [
        Count(day.isoformat(), day.isoformat(), per_day.get(day, 0))
        for day in (first + timedelta(days=n) for n in range(DAYS))
    ]

    rank = _primary_category(col(Order.elder_id), col(Order.service_date)).label("rank")
    ranked = sa.select(col(Order.id), rank).where(*_served(first, today)).subquery()
    categories = session.execute(
        sa.select(ranked.c.rank, sa.func.count()).group_by(ranked.c.rank)
    ).all()
    by_category: dict[str, int] = {}
    for category_rank, meals in categories:
        name = _category_name(category_rank)
        by_category[name] = by_category.get(name, 0) + meals
    board.by_category = [
        Count(code, code, meals)
        for code, meals in sorted(by_category.items(), key=lambda item: _category_sort(item[0]))
    ]

    board.by_site = [
        Count(str(site_id), name, meals)
        for site_id, name, meals in session.execute(
            sa.select(col(Site.id), col(Site.name), sa.func.count())
            .join(Order, col(Order.site_id) == col(Site.id))
            .where(*_served(first, today))
            .group_by(col(Site.id), col(Site.name))
            .order_by(col(Site.name))
        ).all()
    ]

    board.funders = funder_spending(session=session, today=today)

    board.active_elders = session.execute(
        sa.select(sa.func.count()).select_from(Elder).where(col(Elder.status) == ElderStatus.active)
    ).scalar_one()
    board.elders_served_this_week = session.execute(
        sa.select(sa.func.count(sa.distinct(col(Order.elder_id))))
        .join(Elder, col(Elder.id) == col(Order.elder_id))
        .where(*_served(week_start, today), col(Elder.status) == ElderStatus.active)
    ).scalar_one()

    board.open_alerts = [
        AlertLine(a.id, a.elder, a.slot, a.raised_at, a.status, a.level, a.acknowledged_by)
        for a in open_alerts(session=session)
    ]

    in_period = (col(MealRating.service_date) >= first, col(MealRating.service_date) <= today)
    for good, count in session.execute(
        sa.select(col(MealRating.good), sa.func.count())
        .where(*in_period)
        .group_by(col(MealRating.good))
    ).all():
        board.ratings_total += count
        board.ratings_good += count if good else 0
    reasons: dict[str | None, int] = dict(
        session.execute(
            sa.select(col(MealRating.reason), sa.func.count())
            .where(*in_period, col(MealRating.good).is_(False))
            .group_by(col(MealRating.reason))
        ).all()
    )
    board.rating_reasons = [
        Count(code, REASONS[code], reasons[code]) for code in REASONS if reasons.get(code)
    ]
    return board
