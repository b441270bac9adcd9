"""Monthly settlement on meals actually served (月结月清): anomaly checks before a claim,
statements per funder, bills per elder, fund reports and providers' claims, all aggregated in
the database from the ledger."""

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from statistics import median
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlmodel import Session, col, select

from billing.errors import InvalidMonth, ReviewNotFound
from billing.models import (
    AnomalyReason,
    AnomalyReview,
    Funder,
    LedgerEntry,
    ReviewStatus,
    Share,
    SubsidyRule,
)
from billing.periods import fund_name
from billing.service import fund_standings
from core.clock import Clock
from core.db import int_sum
from core.i18n import Bilingual
from core.models import Elder, ElderCategory, ElderPause, Order, Site, saved
from core.orders import SERVED
from core.types import Category, ElderStatus, Slot

# A meal is listed under the elder's first category in this order (the one that most explains
# why the programme pays for it); elders with none are listed as "none".
CATEGORY_ORDER = [
    Category.extreme_poverty,
    Category.minimum_living,
    Category.low_income,
    Category.disabled_care,
    Category.dementia,
    Category.disability,
    Category.family_planning,
    Category.living_alone,
    Category.advanced_age,
]
NO_CATEGORY = "none"
# A site's day is unusual when it serves more than this many times its median day, and at
# least this many meals more.
JUMP_FACTOR, JUMP_MINIMUM = 2.0, 20


def month_range(month: str) -> tuple[date, date]:
    """First and last service day of a month given as YYYY-MM."""
    match = re.fullmatch(r"((?:19|20)\d{2})-(\d{2})", month or "")
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise InvalidMonth(value=month)
    first = date(int(match.group(1)), int(match.group(2)), 1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following - timedelta(days=1)


def _primary_category(
    entry_elder: sa.SQLColumnExpression[int], entry_date: sa.SQLColumnExpression[date]
) -> sa.ScalarSelect[Any]:
    rank = sa.case(
        *[
            (col(ElderCategory.category) == category.value, index)
            for index, category in enumerate(CATEGORY_ORDER)
        ],
        else_=len(CATEGORY_ORDER),
    )
    return (
        sa.select(sa.func.min(rank))
        .where(
            col(ElderCategory.elder_id) == entry_elder,
            col(ElderCategory.valid_from) <= entry_date,
            col(ElderCategory.valid_to).is_(None) | (col(ElderCategory.valid_to) >= entry_date),
        )
        .scalar_subquery()
    )


def _category_name(rank: int | None) -> str:
    if rank is None or rank >= len(CATEGORY_ORDER):
        return NO_CATEGORY
    return CATEGORY_ORDER[rank].value


# -- anomaly checks ---------------------------------------------------------------------------


def flag_anomalies(
    *, session: Session, clock: Clock, first: date, last: date
) -> list[AnomalyReview]:
    """Check the period's served meals and hold the doubtful ones for review. Running it again
    adds only what is new; decisions already taken stay."""
    found: dict[tuple[int, AnomalyReason], str | None] = {}
    served = (
        col(Order.service_date) >= first,
        col(Order.service_date) <= last,
        col(Order.status).in_([s.value for s in SERVED]),
    )
    twice = (
        sa.select(col(Order.elder_id), col(Order.service_date), col(Order.slot))
        .where(*served)
        .group_by(col(Order.elder_id), col(Order.service_date), col(Order.slot))
        .having(sa.func.count() > 1)
        .subquery()
    )
    for (order_id,) in session.execute(
        sa.select(col(Order.id))
        .join(
            twice,
            sa.and_(
                col(Order.elder_id) == twice.c.elder_id,
                col(Order.service_date) == twice.c.service_date,
                col(Order.slot) == twice.c.slot,
            ),
        )
        .where(*served)
    ):
        found[(order_id, AnomalyReason.double_meal)] = None
    for (order_id,) in session.execute(
        sa.select(col(Order.id)).where(*served, col(Order.outcome_at).is_(None))
    ):
        found[(order_id, AnomalyReason.no_service_record)] = None
    for (order_id,) in session.execute(
        sa.select(col(Order.id))
        .join(Elder, col(Elder.id) == col(Order.elder_id))
        .where(*served, col(Elder.status) != ElderStatus.active.value)
    ):
        found[(order_id, AnomalyReason.elder_inactive)] = None
    for (order_id,) in session.execute(
        sa.select(col(Order.id)).where(
            *served,
            sa.exists().where(
                col(ElderPause.elder_id) == col(Order.elder_id),
                col(ElderPause.start_date) <= col(Order.service_date),
                col(ElderPause.end_date) >= col(Order.service_date),
            ),
        )
    ):
        found[(order_id, AnomalyReason.elder_paused)] = None
    # A subsidy paid under a category rule needs the category on the service day.
    for rule in session.exec(select(SubsidyRule)):
        if not rule.categories:
            continue
        for order_id, code in session.execute(
            sa.select(col(LedgerEntry.order_id), sa.literal(rule.code)).where(
                col(LedgerEntry.rule_id) == rule.id,
                col(LedgerEntry.amount_fen) > 0,
                col(LedgerEntry.service_date) >= first,
                col(LedgerEntry.service_date) <= last,
                ~sa.exists().where(
                    col(ElderCategory.elder_id) == col(LedgerEntry.elder_id),
                    col(ElderCategory.category).in_(rule.categories),
                    col(ElderCategory.valid_from) <= col(LedgerEntry.service_date),
                    col(ElderCategory.valid_to).is_(None)
                    | (col(ElderCategory.valid_to) >= col(LedgerEntry.service_date)),
                ),
            )
        ):
            found[(order_id, AnomalyReason.category_lapsed)] = f"rule {code}"
    # Nor is one paid under a rule that leaves out a category she held that day.
    for rule in session.exec(select(SubsidyRule)):
        if not rule.excluded_categories:
            continue
        for order_id, code in session.execute(
            sa.select(col(LedgerEntry.order_id), sa.literal(rule.code)).where(
                col(LedgerEntry.rule_id) == rule.id,
                col(LedgerEntry.amount_fen) > 0,
                col(LedgerEntry.service_date) >= first,
                col(LedgerEntry.service_date) <= last,
                sa.exists().where(
                    col(ElderCategory.elder_id) == col(LedgerEntry.elder_id),
                    col(ElderCategory.category).in_(rule.excluded_categories),
                    col(ElderCategory.valid_from) <= col(LedgerEntry.service_date),
                    col(ElderCategory.valid_to).is_(None)
                    | (col(ElderCategory.valid_to) >= col(LedgerEntry.service_date)),
                ),
            )
        ):
            found[(order_id, AnomalyReason.category_lapsed)] = f"rule {code}"
    for order_id, jump in _count_jumps(session, first, last):
        found[(order_id, AnomalyReason.site_count_jump)] = jump

    existing = {
        (review.order_id, AnomalyReason(review.reason)): review
        for review in session.exec(
            select(AnomalyReview)
            .join(Order, col(Order.id) == col(AnomalyReview.order_id))
            .where(Order.service_date >= first, Order.service_date <= last)
        )
    }
    now = clock.now()
    for (order_id, reason), detail in sorted(found.items()):
        if (order_id, reason) not in existing:
            existing[(order_id, reason)] = AnomalyReview(
                order_id=order_id, reason=reason, detail=detail, flagged_at=now
            )
            session.add(existing[(order_id, reason)])
    session.flush()
    return sorted(existing.values(), key=lambda review: (review.order_id, review.reason))


def _count_jumps(session: Session, first: date, last: date) -> list[tuple[int, str]]:
    """Meals of site-days that served far more than the site's usual day (the month before
    and the month itself)."""
    counts = session.execute(
        sa.select(col(Order.site_id), col(Order.service_date), sa.func.count())
        .where(
            col(Order.service_date) >= first - timedelta(days=28),
            col(Order.service_date) <= last,
            col(Order.status).in_([s.value for s in SERVED]),
        )
        .group_by(col(Order.site_id), col(Order.service_date))
    ).all()
    by_site: dict[int, dict[date, int]] = {}
    for site_id, day, count in counts:
        by_site.setdefault(site_id, {})[day] = count
    flagged = []
    for site_id, days in by_site.items():
        if len(days) < 5:
            continue  # too little history to know what is usual
        usual = median(days.values())
        for day, count in days.items():
            if (
                first <= day <= last
                and count > JUMP_FACTOR * usual
                and count - usual >= JUMP_MINIMUM
            ):
                flagged.append((site_id, day, f"{count} vs usual {usual:g}"))
    meals: list[tuple[int, str]] = []
    for site_id, day, detail in flagged:
        meals.extend(
            (order_id, detail)
            for (order_id,) in session.execute(
                sa.select(col(Order.id)).where(
                    col(Order.site_id) == site_id,
                    col(Order.service_date) == day,
                    col(Order.status).in_([s.value for s in SERVED]),
                )
            )
        )
    return meals


def decide(
    *, session: Session, clock: Clock, order_id: int, reason: AnomalyReason, approve: bool, by: str
) -> AnomalyReview:
    """A reviewer's decision on a flagged meal: approved meals go into the claim."""
    review = session.exec(
        select(AnomalyReview).where(
            AnomalyReview.order_id == order_id, AnomalyReview.reason == reason
        )
    ).first()
    if review is None:
        raise ReviewNotFound(order_id=order_id)
    review.status = ReviewStatus.approved if approve else ReviewStatus.rejected
    review.reviewed_by, review.reviewed_at = by, clock.now()
    session.add(review)
    session.flush()
    return review


def _held_orders() -> sa.Select[int]:
    """Orders with any flag not approved: kept out of claims."""
    return sa.select(col(AnomalyReview.order_id)).where(
        col(AnomalyReview.status) != ReviewStatus.approved.value
    )


# -- statements, bills, fund reports, claims ---------------------------------------------------


@dataclass(frozen=True)
class Line:
    category: str
    site_id: int
    site: str
    meals: int  # orders
    amount_fen: int
    portions: int = 0  # portions of those orders (an order of two portions is two meals eaten)


@dataclass
class FunderStatement:
    funder_id: int
    code: str
    name: Bilingual
    share: Share
    lines: list[Line] = field(default_factory=list)

    @property
    def meals(self) -> int:
        return sum(line.meals for line in self.lines)

    @property
    def total_fen(self) -> int:
        return sum(line.amount_fen for line in self.lines)


def funder_statements(*, session: Session, first: date, last: date) -> list[FunderStatement]:
    """Per funder: meals and amounts by the elder's category and by site, from the ledger."""
    # Each funder's part of each order (a meal counts when its part is not zero) with the
    # order's category, worked out once per funder and order rather than per ledger entry and
    # without a second pass over the month's orders; then added up by funder, site and
    # category.
    per_order = (
        sa.select(
            col(LedgerEntry.funder_id),
            col(LedgerEntry.site_id),
            int_sum(LedgerEntry.amount_fen).label("amount"),
            _primary_category(col(Order.elder_id), col(Order.service_date)).label("rank"),
        )
        .join(Order, col(Order.id) == col(LedgerEntry.order_id))
        .where(
            col(LedgerEntry.service_date) >= first,
            col(LedgerEntry.service_date) <= last,
            col(LedgerEntry.funder_id).is_not(None),
            col(Order.service_date) >= first,
            col(Order.service_date) <= last,
        )
        # By the order's key, so that PostgreSQL lets the category read the order's columns.
        .group_by(col(LedgerEntry.funder_id), col(LedgerEntry.site_id), col(Order.id))
        .subquery()
    )
    rows = session.execute(
        sa.select(
            per_order.c.funder_id,
            per_order.c.site_id,
            per_order.c.rank,
            sa.func.count(sa.case((per_order.c.amount != 0, 1))),
            int_sum(per_order.c.amount),
        ).group_by(per_order.c.funder_id, per_order.c.site_id, per_order.c.rank)
    ).all()
    sites = {site.id: site.name for site in session.exec(select(Site))}
    statements = {
        saved(funder.id): FunderStatement(
            saved(funder.id),
            funder.code,
            Bilingual(funder.name_zh, funder.name_en),
            Share(funder.share),
        )
        for funder in session.exec(select(Funder).order_by(col(Funder.id)))
    }
    for funder_id, site_id, rank, meals, amount in rows:
        statements[funder_id].lines.append(
            Line(_category_name(rank), site_id, sites[site_id], meals, amount)
        )
    for statement in statements.values():
        statement.lines.sort(key=lambda line: (_category_sort(line.category), line.site_id))
    return list(statements.values())


def _category_sort(category: str) -> int:
    codes = [c.value for c in CATEGORY_ORDER]
    return codes.index(category) if category in codes else len(codes)


@dataclass(frozen=True)
class BillLine:
    order_id: int
    service_date: date
    slot: str
    site: str
    dish: Bilingual
    price_fen: int
    shares: dict[Share, int]


@dataclass
class ElderBill:
    elder_id: int
    name: str
    id_tail: str
    lines: list[BillLine] = field(default_factory=list)

    def total(self, share: Share | None = None) -> int:
        if share is None:
            return sum(line.price_fen for line in self.lines)
        return sum(line.shares[share] for line in self.lines)


def _share_sums() -> list[sa.Cast[int]]:
    return [
        int_sum(
            sa.case((col(LedgerEntry.share) == share.value, col(LedgerEntry.amount_fen)), else_=0)
        )
        for share in Share
    ]


class _IsoDate(sa.sql.functions.GenericFunction[str]):
    """A date column as ISO text ("2026-11-25") made by the database: SQLite already stores
    dates so, and PostgreSQL formats them. Parsing a million dates into `date` objects and
    formatting them back costs seconds in Python."""

    type = sa.String()
    name = "iso_date"
    inherit_cache = True


@compiles(_IsoDate)
def _iso_date_default(element: _IsoDate, compiler: SQLCompiler, **kw: Any) -> str:
    (day,) = element.clauses.clauses
    return compiler.process(sa.cast(day, sa.String), **kw)


@compiles(_IsoDate, "sqlite")
def _iso_date_sqlite(element: _IsoDate, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(_IsoDate, "postgresql")
def _iso_date_postgresql(element: _IsoDate, compiler: SQLCompiler, **kw: Any) -> str:
    return f"to_char({compiler.process(element.clauses, **kw)}, 'YYYY-MM-DD')"


def _order_shares(first: date, last: date) -> sa.Subquery:
    """Each order's four shares summed from its ledger entries of the period (the ledger's
    order index serves the grouping)."""
    return (
        sa.select(
            col(LedgerEntry.order_id),
            *[s.label(share.value) for s, share in zip(_share_sums(), Share, strict=True)],
        )
        .where(col(LedgerEntry.service_date) >= first, col(LedgerEntry.service_date) <= last)
        .group_by(col(LedgerEntry.order_id))
        .subquery()
    )


# Rows fetched per round trip when streaming: a month can hold a million meals.
STREAM_ROWS = 10_000


def _id_tail() -> sa.ColumnElement[str]:
    """An elder's ID card tail as bills and statements print it: "" when not on record."""
    return sa.func.coalesce(col(Elder.id_number_tail), "")


def bill_rows(*, session: Session, first: date, last: date) -> Iterator[tuple[Any, ...]]:
    """Every served meal of the month with its four shares, elder by elder, streamed:
    (elder id, name, ID card tail ("" when not on record), order id, ISO date text, slot,
    site, dish zh, dish en, government, business, charity, elder)."""
    shares = _order_shares(first, last)
    # A Core statement on the session's connection with a streaming (server-side on
    # PostgreSQL) cursor: plain row tuples, no ORM loading, never the whole month in memory.
    result = session.connection().execute(
        sa.select(
            col(Elder.id),
            col(Elder.name),
            _id_tail(),
            col(Order.id),
            _IsoDate(col(Order.service_date)),
            col(Order.slot),
            col(Site.name),
            col(Order.dish_name_zh),
            col(Order.dish_name_en),
            *[shares.c[share.value] for share in Share],
        )
        .select_from(shares)
        .join(Order, col(Order.id) == shares.c.order_id)
        .join(Elder, col(Elder.id) == col(Order.elder_id))
        .join(Site, col(Site.id) == col(Order.site_id))
        .order_by(col(Elder.id), col(Order.service_date), col(Order.slot), col(Order.id)),
        execution_options={"stream_results": True, "yield_per": STREAM_ROWS},
    )
    for rows in result.partitions():
        yield from rows


def funder_meal_rows(
    *, session: Session, funder_id: int, first: date, last: date
) -> Iterator[tuple[Any, ...]]:
    """Every meal a funder paid part of in the period, one row each, for an auditor to sample
    from, streamed: (ISO date text, slot, site, elder id, her ID card tail ("" when not on
    record), category code, order id, the funder's part in fen). The rows are the funder's
    statement line by line: as many as its meals, adding up to its total (a meal whose part
    came to nothing, say reversed, is in neither)."""
    part = (
        sa.select(
            col(LedgerEntry.order_id),
            col(LedgerEntry.site_id),
            int_sum(LedgerEntry.amount_fen).label("amount"),
        )
        .where(
            col(LedgerEntry.funder_id) == funder_id,
            col(LedgerEntry.service_date) >= first,
            col(LedgerEntry.service_date) <= last,
        )
        .group_by(col(LedgerEntry.order_id), col(LedgerEntry.site_id))
        .subquery()
    )
    # Breakfast, lunch, dinner: the day's meals as they come, not in the alphabet's order.
    meal_order = sa.case(*[(col(Order.slot) == slot.value, n) for n, slot in enumerate(Slot)])
    result = session.connection().execute(
        sa.select(
            _IsoDate(col(Order.service_date)),
            col(Order.slot),
            col(Site.name),
            col(Order.elder_id),
            _id_tail(),
            _primary_category(col(Order.elder_id), col(Order.service_date)),
            col(Order.id),
            part.c.amount,
        )
        .select_from(part)
        .join(Order, col(Order.id) == part.c.order_id)
        .join(Elder, col(Elder.id) == col(Order.elder_id))
        .join(Site, col(Site.id) == part.c.site_id)
        .where(
            part.c.amount != 0,
            col(Order.service_date) >= first,
            col(Order.service_date) <= last,
        )
        .order_by(col(Order.service_date), meal_order, part.c.site_id, col(Order.id)),
        execution_options={"stream_results": True, "yield_per": STREAM_ROWS},
    )
    for rows in result.partitions():
        for day, slot, site, elder_id, id_tail, rank, order_id, amount in rows:
            yield day, slot, site, elder_id, id_tail, _category_name(rank), order_id, amount


@dataclass
class ElderTotal:
    """One elder's month: meals, what they cost and each share's part."""

    elder_id: int
    name: str
    id_tail: str
    meals: int = 0
    price_fen: int = 0
    shares: list[int] = field(default_factory=lambda: [0] * len(Share))


def tally(rows: Iterator[tuple[Any, ...]], totals: list[ElderTotal]) -> Iterator[tuple[Any, ...]]:
    """Pass `bill_rows` through while adding up each elder's totals into `totals`. The rows
    come elder by elder, so the running total is the last one: no lookup per meal."""
    current: ElderTotal | None = None
    for row in rows:
        elder_id, name, id_tail, *_, government, business, charity, elder = row
        if current is None or current.elder_id != elder_id:
            current = ElderTotal(elder_id, name, id_tail)
            totals.append(current)
        current.meals += 1
        current.price_fen += government + business + charity + elder
        shares = current.shares
        shares[0] += government
        shares[1] += business
        shares[2] += charity
        shares[3] += elder
        yield row


def elder_bills(*, session: Session, first: date, last: date) -> Iterator[ElderBill]:
    """Every elder's meals of the month with the four shares of each, elder by elder."""
    bill: ElderBill | None = None
    for elder_id, name, id_tail, order_id, day, slot, site, zh, en, *shares in bill_rows(
        session=session, first=first, last=last
    ):
        if bill is None or bill.elder_id != elder_id:
            if bill is not None:
                yield bill
            bill = ElderBill(elder_id, name, id_tail)
        split = dict(zip(Share, shares, strict=True))
        bill.lines.append(
            BillLine(
                order_id,
                date.fromisoformat(day),
                slot,
                site,
                Bilingual(zh, en),
                sum(split.values()),
                split,
            )
        )
    if bill is not None:
        yield bill


@dataclass
class FundReport:
    """A fund's month: what it paid for, by category and site, against the budget of the
    period the month falls in (its month's, or its year's)."""

    fund_id: int
    code: str
    name: Bilingual
    period: str
    budget_fen: int
    committed_fen: int
    lines: list[Line] = field(default_factory=list)

    @property
    def spent_fen(self) -> int:
        return sum(line.amount_fen for line in self.lines)

    @property
    def meals(self) -> int:
        return sum(line.meals for line in self.lines)

    @property
    def portions(self) -> int:
        return sum(line.portions for line in self.lines)

    def in_locale(self, locale: str) -> str:
        return fund_name(self.name, self.period, locale)


def fund_reports(*, session: Session, first: date, last: date) -> list[FundReport]:
    """Per fund: orders and portions it paid for, by category and site, and its budget."""
    # Each fund's part of each order first (an order counts when its part is not zero, so a
    # reversed meal is not one), then added up with the order's portions.
    per_order = (
        sa.select(
            col(SubsidyRule.fund_id),
            col(LedgerEntry.order_id),
            col(LedgerEntry.site_id),
            int_sum(LedgerEntry.amount_fen).label("amount"),
        )
        .join(SubsidyRule, col(SubsidyRule.id) == col(LedgerEntry.rule_id))
        .where(
            col(LedgerEntry.service_date) >= first,
            col(LedgerEntry.service_date) <= last,
            col(SubsidyRule.fund_id).is_not(None),
        )
        .group_by(col(SubsidyRule.fund_id), col(LedgerEntry.order_id), col(LedgerEntry.site_id))
        .subquery()
    )
    paid = per_order.c.amount != 0
    per_order_rank = (
        sa.select(
            per_order.c.fund_id,
            per_order.c.site_id,
            per_order.c.amount,
            sa.case((paid, 1), else_=0).label("meal"),
            sa.case((paid, col(Order.quantity)), else_=0).label("portions"),
            _primary_category(col(Order.elder_id), col(Order.service_date)).label("rank"),
        )
        .join(Order, col(Order.id) == per_order.c.order_id)
        .subquery()
    )
    rows = session.execute(
        sa.select(
            per_order_rank.c.fund_id,
            per_order_rank.c.site_id,
            per_order_rank.c.rank,
            int_sum(per_order_rank.c.meal),
            int_sum(per_order_rank.c.amount),
            int_sum(per_order_rank.c.portions),
        ).group_by(per_order_rank.c.fund_id, per_order_rank.c.site_id, per_order_rank.c.rank)
    ).all()
    sites = {site.id: site.name for site in session.exec(select(Site))}
    reports = {
        standing.fund_id: FundReport(
            standing.fund_id,
            standing.code,
            standing.name,
            standing.period,
            standing.budget_fen,
            standing.committed_fen,
        )
        for standing in fund_standings(session=session, on=first)
    }
    for fund_id, site_id, rank, meals, amount, portions in rows:
        if meals or amount:
            reports[fund_id].lines.append(
                Line(_category_name(rank), site_id, sites[site_id], meals, amount, portions)
            )
    for report in reports.values():
        report.lines.sort(key=lambda line: (_category_sort(line.category), line.site_id))
    return list(reports.values())


@dataclass(frozen=True)
class Claim:
    """What a provider (the site that served the meals and advanced the subsidies) claims from
    one funder, with the flagged meals held back."""

    site_id: int
    site: str
    funder_id: int
    funder: Bilingual
    meals: int
    amount_fen: int
    held_meals: int
    held_fen: int


def provider_claims(*, session: Session, first: date, last: date) -> list[Claim]:
    held = col(LedgerEntry.order_id).in_(_held_orders())
    rows = session.execute(
        sa.select(
            col(LedgerEntry.site_id),
            col(Site.name),
            col(LedgerEntry.funder_id),
            col(Funder.name_zh),
            col(Funder.name_en),
            sa.func.count(sa.distinct(sa.case((~held, col(LedgerEntry.order_id))))),
            int_sum(sa.case((~held, col(LedgerEntry.amount_fen)))),
            sa.func.count(sa.distinct(sa.case((held, col(LedgerEntry.order_id))))),
            int_sum(sa.case((held, col(LedgerEntry.amount_fen)))),
        )
        .join(Site, col(Site.id) == col(LedgerEntry.site_id))
        .join(Funder, col(Funder.id) == col(LedgerEntry.funder_id))
        .where(
            col(LedgerEntry.service_date) >= first,
            col(LedgerEntry.service_date) <= last,
            col(Funder.share).in_([Share.government.value, Share.charity.value]),
        )
        .group_by(
            col(LedgerEntry.site_id),
            col(Site.name),
            col(LedgerEntry.funder_id),
            col(Funder.name_zh),
            col(Funder.name_en),
        )
        .order_by(col(LedgerEntry.site_id), col(LedgerEntry.funder_id))
    ).all()
    return [
        Claim(site_id, site, funder_id, Bilingual(zh, en), meals, amount, held_meals, held_fen)
        for site_id, site, funder_id, zh, en, meals, amount, held_meals, held_fen in rows
    ]
