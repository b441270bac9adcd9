"""Billing use cases: the rules in force, quotes, reserving budget when an order is placed,
releasing it on cancellation, posting the ledger when a meal is served, and reversals."""

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypedDict, TypeVar, Unpack

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from billing.errors import AlreadyReversed, NothingToReverse
from billing.ledger import live_entries
from billing.models import (
    BillingPolicy,
    BudgetPeriod,
    CapUsage,
    Charge,
    EntryKind,
    Fund,
    FundBudget,
    Funder,
    LedgerEntry,
    Reservation,
    ReservationStatus,
    Share,
    SubsidyRule,
    UnservedRule,
)
from billing.periods import budget_period, fund_name
from billing.split import Limits, Meal, Split, Terms, split
from core.clock import Clock
from core.db import int_sum, upsert_insert
from core.elders import categories_of, categories_on
from core.errors import ElderNotFound, OrderNotFound, SiteNotFound
from core.i18n import Bilingual
from core.models import Community, Elder, Order, Site, saved
from core.types import Category, OrderStatus

# Under concurrency a reservation can lose a race for the last of a budget; it then recomputes
# the split with what is left. After this many tries the meal goes without those subsidies.
RESERVE_ATTEMPTS = 5

_Row = TypeVar("_Row", bound=tuple[Any, ...])


def rules_in_force(*, session: Session, on: date) -> list[Terms]:
    """Each rule's version in force on a service day, as the split reads it: of its versions
    that have begun by then, the latest (the highest version of a day); none if that one has
    ended (`effective_to`) by then, since an ended rule does not bring back what it replaced."""
    rows = session.exec(
        select(SubsidyRule, Funder)
        .join(Funder, col(Funder.id) == col(SubsidyRule.funder_id))
        .where(SubsidyRule.effective_from <= on)
        .order_by(
            SubsidyRule.code,
            col(SubsidyRule.effective_from).desc(),
            col(SubsidyRule.version).desc(),
        )
    ).all()
    return [_terms(rule, funder) for rule, funder, *_ in _in_force(rows, on)]


def _in_force(rows: Sequence[_Row], on: date) -> list[_Row]:
    """Of rows (rule, funder, ...) ordered by code then latest version first, each code's
    latest version if it has not ended by `on`, in the order the split applies them."""
    latest: dict[str, _Row] = {}
    for row in rows:
        latest.setdefault(row[0].code, row)
    return sorted(
        (
            row
            for row in latest.values()
            if row[0].effective_to is None or row[0].effective_to >= on
        ),
        key=lambda row: (row[0].priority, row[0].id),
    )


@dataclass(frozen=True)
class _Capped:
    """A rule's per-elder caps and the rule id they are counted under (`_cap_key`)."""

    key: int
    day_fen: int | None
    month_fen: int | None


@dataclass(frozen=True)
class PolicyView:
    """What splits every meal of one service day: the rules in force, their funders' names,
    their per-elder caps and funds, the least an elder pays. Read in one statement for one
    order, or once for all the meals a cutoff reserves; never kept beyond that call, so an
    edit to a rule, fund or policy is seen by the next order. What budgets and caps have
    left is not here: it is read afresh for each meal."""

    on: date
    rules: list[Terms]
    funders: dict[int, Bilingual]
    caps: dict[int, _Capped]
    funds: dict[int, tuple[BudgetPeriod, int]]  # fund id: its period kind, standing budget
    elder_min_payment_fen: int


@functools.cache
def _policy_statement() -> sa.Select[Any]:
    """The statement of `policy_view`, built once per process (its day a bound parameter): a
    statement this size takes longer to build, and to key for SQLAlchemy's compiled cache,
    than the database takes to answer it."""
    on: sa.BindParameter[date] = sa.bindparam("on")
    first = aliased(SubsidyRule)
    cap_key = (
        sa.select(sa.func.min(first.id))
        .where(col(first.code) == col(SubsidyRule.code))
        .scalar_subquery()
    )
    # The least an elder pays rides on each row: one statement less per order.
    least = (
        sa.select(col(BillingPolicy.elder_min_payment_fen))
        .where(col(BillingPolicy.effective_from) <= on)
        .order_by(col(BillingPolicy.effective_from).desc())
        .limit(1)
        .scalar_subquery()
    )
    return (
        sa.select(SubsidyRule, Funder, Fund, cap_key, least)
        .join(Funder, col(Funder.id) == col(SubsidyRule.funder_id))
        .outerjoin(Fund, col(Fund.id) == col(SubsidyRule.fund_id))
        .where(col(SubsidyRule.effective_from) <= on)
        .order_by(
            col(SubsidyRule.code),
            col(SubsidyRule.effective_from).desc(),
            col(SubsidyRule.version).desc(),
        )
    )


def policy_view(*, session: Session, on: date) -> PolicyView:
    rows = session.execute(_policy_statement(), {"on": on}).all()
    in_force = _in_force([tuple(row) for row in rows], on)
    if rows:
        paid = rows[0][4]
        elder_min_payment_fen = (
            BillingPolicy(effective_from=on).elder_min_payment_fen if paid is None else paid
        )
    else:
        elder_min_payment_fen = policy_on(session=session, on=on).elder_min_payment_fen
    return PolicyView(
        on=on,
        rules=[_terms(rule, funder) for rule, funder, *_ in in_force],
        funders={
            saved(funder.id): Bilingual(funder.name_zh, funder.name_en)
            for _, funder, *_ in in_force
        },
        caps={
            saved(rule.id): _Capped(key, rule.cap_per_elder_day_fen, rule.cap_per_elder_month_fen)
            for rule, _, _, key, _ in in_force
            if rule.cap_per_elder_day_fen is not None or rule.cap_per_elder_month_fen is not None
        },
        funds={
            saved(fund.id): (BudgetPeriod(fund.period), fund.budget_fen)
            for _, _, fund, *_ in in_force
            if fund is not None
        },
        elder_min_payment_fen=elder_min_payment_fen,
    )


@dataclass(frozen=True)
class FundStanding:
    """A fund's budget for one period: what it holds and what is committed (reserved or paid)
    from it. A period no meal has drawn on yet holds the fund's standing budget."""

    fund_id: int
    code: str
    name: Bilingual
    funder_id: int
    period_kind: BudgetPeriod
    period: str
    budget_fen: int
    committed_fen: int

    @property
    def left_fen(self) -> int:
        return self.budget_fen - self.committed_fen

    def in_locale(self, locale: str) -> str:
        """The fund's name with its period: 长者助餐爱心基金（2026年12月）."""
        return fund_name(self.name, self.period, locale)


def fund_standings(
    *, session: Session, on: date, fund_ids: set[int] | None = None
) -> list[FundStanding]:
    """Every fund's (or these funds') budget for the period `on` falls in."""
    query = select(Fund).order_by(col(Fund.id))
    if fund_ids is not None:
        query = query.where(col(Fund.id).in_(fund_ids or [-1]))
    funds = list(session.exec(query))
    periods = {saved(f.id): budget_period(f.period, on) for f in funds}
    held = {
        (b.fund_id, b.period): b
        for b in session.exec(
            select(FundBudget).where(
                col(FundBudget.fund_id).in_(list(periods) or [-1]),
                col(FundBudget.period).in_(set(periods.values()) or {""}),
            )
        )
    }
    standings = []
    for fund in funds:
        period = periods[saved(fund.id)]
        row = held.get((saved(fund.id), period))
        standings.append(
            FundStanding(
                saved(fund.id),
                fund.code,
                Bilingual(fund.name_zh, fund.name_en),
                fund.funder_id,
                BudgetPeriod(fund.period),
                period,
                row.budget_fen if row else fund.budget_fen,
                row.committed_fen if row else 0,
            )
        )
    return standings


def policy_on(*, session: Session, on: date) -> BillingPolicy:
    policy = session.exec(
        select(BillingPolicy)
        .where(BillingPolicy.effective_from <= on)
        .order_by(col(BillingPolicy.effective_from).desc())
    ).first()
    return policy or BillingPolicy(effective_from=on)


def meal_facts(
    *,
    session: Session,
    elder_id: int,
    site_id: int,
    service_date: date,
    slot: str,
    price_fen: int,
    portions: int,
    categories: set[Category] | None = None,
) -> Meal:
    """What the rules look at: the elder's age, categories and home, the site's place.
    `categories`: the elder's on the day, when the caller has read them for many elders."""
    elder = session.get(Elder, elder_id)
    if elder is None:
        raise ElderNotFound(elder_id=elder_id)
    site = session.get(Site, site_id)
    if site is None:
        raise SiteNotFound(site_id=site_id)
    home = session.get_one(Community, elder.community_id)
    where = session.get_one(Community, site.community_id)
    born = elder.birth_date
    age = (
        service_date.year
        - born.year
        - ((service_date.month, service_date.day) < (born.month, born.day))
    )
    return Meal(
        price_fen=price_fen,
        portions=portions,
        service_date=service_date,
        slot=slot,
        site_id=site_id,
        site_city=where.city,
        site_district=where.district,
        site_street=where.street,
        elder_city=home.city,
        elder_district=home.district,
        elder_street=home.street,
        elder_age=age,
        categories=frozenset(
            categories_on(session=session, elder_id=elder_id, on=service_date)
            if categories is None
            else categories
        ),
        site_district_id=where.district_id,
        site_street_id=where.street_id,
        elder_district_id=home.district_id,
        elder_street_id=home.street_id,
    )


@dataclass(frozen=True)
class _Standing:
    """What a meal may draw on, and which budget and cap rows exist already (a meal taking
    from one that does not makes it first)."""

    limits: Limits
    budget_rows: set[tuple[int, str]]
    usage_rows: set[tuple[int, str]]


def _limits(session: Session, view: PolicyView, elder_id: int, service_date: date) -> _Standing:
    periods = {
        fund_id: budget_period(kind, service_date) for fund_id, (kind, _) in view.funds.items()
    }
    budgets = (
        {
            (row.fund_id, row.period): row.budget_fen - row.committed_fen
            for row in session.exec(
                select(FundBudget).where(
                    col(FundBudget.fund_id).in_(list(periods)),
                    col(FundBudget.period).in_(set(periods.values())),
                )
            )
        }
        if periods
        else {}
    )
    funds = {
        # A period no meal has drawn on yet holds the fund's standing budget.
        fund_id: budgets.get((fund_id, period), view.funds[fund_id][1])
        for fund_id, period in periods.items()
    }
    day, month = _day(service_date), _month(service_date)
    used = (
        {
            (row.rule_id, row.period): row.used_fen
            for row in session.exec(
                select(CapUsage).where(
                    col(CapUsage.rule_id).in_({c.key for c in view.caps.values()}),
                    CapUsage.elder_id == elder_id,
                    col(CapUsage.period).in_([day, month]),
                )
            )
        }
        if view.caps
        else {}
    )
    caps = {
        rule_id: max(
            0,
            min(
                cap - used.get((capped.key, period), 0)
                for cap, period in ((capped.day_fen, day), (capped.month_fen, month))
                if cap is not None
            ),
        )
        for rule_id, capped in view.caps.items()
    }
    return _Standing(
        Limits(
            fund_remaining=funds,
            cap_remaining=caps,
            elder_min_payment_fen=view.elder_min_payment_fen,
        ),
        set(budgets),
        set(used),
    )


@dataclass(frozen=True)
class Quote:
    """What the elder pays and who pays the rest, for the confirmation screen."""

    split: Split
    funders: dict[int, Bilingual]

    @property
    def elder_fen(self) -> int:
        return self.split.elder_fen

    def payers(self) -> list[tuple[Share, Bilingual | None, int]]:
        """(share, funder name, fen) for everyone but the elder, one line per funder (two of
        a funder's rules are one amount to the elder), largest first."""
        owed: dict[tuple[Share, int | None], int] = {}
        for a in self.split.allocations:
            if a.share != Share.elder:
                owed[(a.share, a.funder_id)] = owed.get((a.share, a.funder_id), 0) + a.amount_fen
        return sorted(
            (
                (share, self.funders.get(funder_id) if funder_id else None, fen)
                for (share, funder_id), fen in owed.items()
            ),
            key=lambda payer: -payer[2],
        )


def quote(
    *,
    session: Session,
    elder_id: int,
    site_id: int,
    service_date: date,
    slot: str,
    price_fen: int,
    portions: int = 1,
) -> Quote:
    """The split an order would get now, with budgets as they stand (nothing is reserved)."""
    meal = meal_facts(
        session=session,
        elder_id=elder_id,
        site_id=site_id,
        service_date=service_date,
        slot=slot,
        price_fen=price_fen,
        portions=portions,
    )
    return _quote(session, meal, elder_id)


def _quote(session: Session, meal: Meal, elder_id: int, view: PolicyView | None = None) -> Quote:
    view = view or policy_view(session=session, on=meal.service_date)
    result = split(meal, view.rules, _limits(session, view, elder_id, meal.service_date).limits)
    return Quote(result, _names(view, result))


def _names(view: PolicyView, result: Split) -> dict[int, Bilingual]:
    return {a.funder_id: view.funders[a.funder_id] for a in result.allocations if a.funder_id}


def reserve(*, session: Session, clock: Clock, order_id: int) -> Split:
    """Split a newly placed order and hold the budget it needs, atomically: each fund and cap
    is taken by a conditional update, so racing orders can never overspend them."""
    order = _order(session, order_id)
    places = _places(session, [order])  # noqa: F841 (held while the meal is read)
    return _reserve(session, clock, order, policy_view(session=session, on=order.service_date))


def _reserve(
    session: Session,
    clock: Clock,
    order: Order,
    view: PolicyView,
    categories: set[Category] | None = None,
) -> Split:
    meal = meal_facts(
        session=session,
        elder_id=order.elder_id,
        site_id=order.site_id,
        service_date=order.service_date,
        slot=order.slot,
        price_fen=order.total_fen,
        portions=order.quantity,
        categories=categories,
    )
    for _ in range(RESERVE_ATTEMPTS):
        standing = _limits(session, view, order.elder_id, order.service_date)
        result = split(meal, view.rules, standing.limits)
        with session.begin_nested() as attempt:
            if _take(session, order, result, view, standing):
                break
            attempt.rollback()
    else:
        # Budgets kept moving under us: go without fund- and cap-limited subsidies.
        rules = [t for t in view.rules if t.fund_id is None and t.rule_id not in view.caps]
        result = split(meal, rules, Limits(elder_min_payment_fen=view.elder_min_payment_fen))
        _take(session, order, result, view, _Standing(Limits(), set(), set()))
    now = clock.now()
    for allocation in result.allocations:
        if allocation.share == Share.elder:
            continue
        session.add(
            Reservation(
                order_id=saved(order.id),
                rule_id=saved(allocation.rule_id),
                funder_id=saved(allocation.funder_id),
                fund_id=allocation.fund_id,
                share=allocation.share,
                amount_fen=allocation.amount_fen,
                day_period=_day(order.service_date),
                month_period=_month(order.service_date),
                created_at=now,
            )
        )
    shares = dict(
        price_fen=result.price_fen,
        government_fen=result.total(Share.government),
        business_fen=result.total(Share.business),
        charity_fen=result.total(Share.charity),
        elder_fen=result.elder_fen,
        updated_at=now,
    )
    # One statement whether the order had a charge (changed, an outcome undone) or not.
    session.execute(
        upsert_insert(session)(Charge)
        .values(order_id=saved(order.id), **shares)
        .on_conflict_do_update(index_elements=[col(Charge.order_id)], set_=shares)
    )
    held = session.identity_map.get(session.identity_key(Charge, saved(order.id)))
    if held is not None:
        session.expire(held)  # the row just written is read again when it is next used
    session.flush()
    return result


def reserve_many(*, session: Session, clock: Clock, order_ids: list[int]) -> list[Split]:
    """Reserve for many new orders (a cutoff's standing orders) one after another, as
    `reserve` would, with each service day's rules read once and the orders, elders, sites
    and communities in one statement each; budgets and caps are still read for each meal, so
    each draws on what the ones before it left."""
    orders = list(session.exec(select(Order).where(col(Order.id).in_(order_ids))))
    held = _places(session, orders)  # noqa: F841 (kept in the session while reserving)
    views: dict[date, PolicyView] = {}
    categories: dict[date, dict[int, set[Category]]] = {}
    splits = []
    for order in sorted(orders, key=lambda o: order_ids.index(saved(o.id))):
        day = order.service_date
        if day not in views:
            views[day] = policy_view(session=session, on=day)
            categories[day] = categories_of(
                session=session,
                elder_ids={o.elder_id for o in orders if o.service_date == day},
                on=day,
            )
        splits.append(
            _reserve(session, clock, order, views[day], categories[day].get(order.elder_id, set()))
        )
    return splits


def _places(session: Session, orders: list[Order]) -> list[object]:
    """Load the orders' elders, sites and their communities into the session in one statement
    (each elder beside each site: a cutoff's orders are one site's), so `meal_facts` finds
    them there; the caller holds the list, as the session keeps only what is referred to."""
    if not orders:
        return []
    places = {"site_ids": {o.site_id for o in orders}, "elder_ids": {o.elder_id for o in orders}}
    rows = session.execute(_places_statement(), {k: list(v) for k, v in places.items()})
    return [place for row in rows for place in row]


@functools.cache
def _places_statement() -> sa.Select[Elder, Community, Site, Community]:
    """The statement of `_places`, built once per process (as `_policy_statement`)."""
    home = aliased(Community)
    where = aliased(Community)
    return (
        sa.select(Elder, home, Site, where)
        .join(home, col(home.id) == col(Elder.community_id))
        .join(Site, col(Site.id).in_(sa.bindparam("site_ids", expanding=True)))
        .join(where, col(where.id) == col(Site.community_id))
        .where(col(Elder.id).in_(sa.bindparam("elder_ids", expanding=True)))
    )


def release(*, session: Session, order_id: int) -> int:
    """Give back what an order held (it was cancelled or changed before cutoff)."""
    held = session.exec(
        select(Reservation).where(
            Reservation.order_id == order_id, Reservation.status == ReservationStatus.reserved
        )
    ).all()
    for reservation in held:
        _give_back(
            session,
            reservation.fund_id,
            reservation.rule_id,
            _elder_of(session, order_id),
            reservation.day_period,
            reservation.month_period,
            reservation.amount_fen,
        )
        reservation.status = ReservationStatus.released
        session.add(reservation)
    session.flush()
    return len(held)


def post(*, session: Session, clock: Clock, order_id: int) -> list[LedgerEntry]:
    """Write a finished order into the ledger: for a served meal, each reserved share and the
    elder's; for a meal not served, what the programme's unserved rule says."""
    order = _order(session, order_id)
    if live_entries(session, order_id):
        return []  # posted already: posting is idempotent (after an undo it posts again)
    held = session.exec(
        select(Reservation)
        .where(Reservation.order_id == order_id, Reservation.status == ReservationStatus.reserved)
        .order_by(col(Reservation.id))
    ).all()
    kind, note = EntryKind.meal, None
    if order.status == OrderStatus.no_answer:
        rule = UnservedRule(policy_on(session=session, on=order.service_date).unserved)
        kind, note = EntryKind.unserved, f"no_answer:{rule.value}"
        if rule != UnservedRule.subsidised:
            release(session=session, order_id=order_id)
            held = []
            if rule == UnservedRule.waived:
                return []
    elif order.status not in (OrderStatus.delivered, OrderStatus.picked_up, OrderStatus.dined_in):
        return []
    now = clock.now()
    entries = [
        _entry(
            order,
            r.share,
            r.amount_fen,
            kind,
            now,
            funder_id=r.funder_id,
            rule_id=r.rule_id,
            note=note,
        )
        for r in held
    ]
    entries.append(
        _entry(
            order,
            Share.elder,
            order.total_fen - sum(r.amount_fen for r in held),
            kind,
            now,
            note=note,
        )
    )
    for reservation in held:
        reservation.status = ReservationStatus.posted
        session.add(reservation)
    session.add_all(entries)
    session.flush()
    return entries


def reverse(*, session: Session, clock: Clock, order_id: int, reason: str) -> list[LedgerEntry]:
    """Cancel an order's ledger entries with new, opposite entries (a refund or correction);
    the budgets they used are given back."""
    entries = live_entries(session, order_id)
    if not entries:
        # Entries all reversed already (a refund, or an undo not followed by a new mark).
        if session.exec(select(LedgerEntry.id).where(LedgerEntry.order_id == order_id)).first():
            raise AlreadyReversed(order_id=order_id)
        raise NothingToReverse(order_id=order_id)
    order = _order(session, order_id)
    now = clock.now()
    reversals = []
    for entry in entries:
        reversals.append(
            _entry(
                order,
                entry.share,
                -entry.amount_fen,
                EntryKind.reversal,
                now,
                funder_id=entry.funder_id,
                rule_id=entry.rule_id,
                reverses_id=entry.id,
                note=reason[:200],
            )
        )
        if entry.rule_id is not None:
            fund_id = session.exec(
                select(SubsidyRule.fund_id).where(SubsidyRule.id == entry.rule_id)
            ).first()
            _give_back(
                session,
                fund_id,
                entry.rule_id,
                order.elder_id,
                _day(order.service_date),
                _month(order.service_date),
                entry.amount_fen,
            )
    session.add_all(reversals)
    session.flush()
    return reversals


# -- budget bookkeeping -----------------------------------------------------------------------


def _take(
    session: Session, order: Order, result: Split, view: PolicyView, standing: _Standing
) -> bool:
    """Hold each fund and cap amount with a conditional update; False if any is short."""
    for allocation in result.allocations:
        if allocation.share == Share.elder or allocation.amount_fen == 0:
            continue
        amount = allocation.amount_fen
        if allocation.fund_id is not None:
            kind, budget = view.funds[allocation.fund_id]
            period = budget_period(kind, order.service_date)
            if (allocation.fund_id, period) not in standing.budget_rows:
                _ensure_budget_row(session, allocation.fund_id, period, budget)
            taken = session.exec(
                sa.update(FundBudget)
                .where(
                    col(FundBudget.fund_id) == allocation.fund_id,
                    col(FundBudget.period) == period,
                    col(FundBudget.committed_fen) + amount <= col(FundBudget.budget_fen),
                )
                .values(committed_fen=col(FundBudget.committed_fen) + amount)
                .execution_options(synchronize_session=False)
            ).rowcount
            if taken != 1:
                return False
        capped = view.caps.get(saved(allocation.rule_id))
        if capped is None:
            continue
        for cap, period in (
            (capped.day_fen, _day(order.service_date)),
            (capped.month_fen, _month(order.service_date)),
        ):
            if cap is None:
                continue
            if (capped.key, period) not in standing.usage_rows:
                _ensure_usage_row(session, capped.key, order.elder_id, period)
            taken = session.exec(
                sa.update(CapUsage)
                .where(
                    col(CapUsage.rule_id) == capped.key,
                    col(CapUsage.elder_id) == order.elder_id,
                    col(CapUsage.period) == period,
                    col(CapUsage.used_fen) + amount <= cap,
                )
                .values(used_fen=col(CapUsage.used_fen) + amount)
                .execution_options(synchronize_session=False)
            ).rowcount
            if taken != 1:
                return False
    return True


def _give_back(
    session: Session,
    fund_id: int | None,
    rule_id: int,
    elder_id: int,
    day: str,
    month: str,
    amount: int,
) -> None:
    if fund_id is not None:
        kind = session.exec(select(Fund.period).where(Fund.id == fund_id)).one()
        # The budget of the meal's period, which its reservation was taken from.
        session.exec(
            sa.update(FundBudget)
            .where(
                col(FundBudget.fund_id) == fund_id,
                col(FundBudget.period) == budget_period(kind, date.fromisoformat(day)),
            )
            .values(committed_fen=col(FundBudget.committed_fen) - amount)
            .execution_options(synchronize_session=False)
        )
    session.exec(
        sa.update(CapUsage)
        .where(
            col(CapUsage.rule_id) == _cap_key(session, session.get_one(SubsidyRule, rule_id)),
            col(CapUsage.elder_id) == elder_id,
            col(CapUsage.period).in_([day, month]),
        )
        .values(used_fen=col(CapUsage.used_fen) - amount)
        .execution_options(synchronize_session=False)
    )


def _ensure_budget_row(session: Session, fund_id: int, period: str, budget_fen: int) -> None:
    """Make the row of a fund's period (with the fund's standing budget) at the period's
    first meal."""
    session.execute(
        upsert_insert(session)(FundBudget)
        .values(fund_id=fund_id, period=period, budget_fen=budget_fen, committed_fen=0)
        .on_conflict_do_nothing()
    )


def _cap_key(session: Session, rule: SubsidyRule) -> int:
    """Whose per-elder caps a rule version counts under: its code's first version, so that an
    elder's month does not start afresh when a new version takes effect in the middle of it."""
    first: int = session.execute(
        sa.select(sa.func.min(SubsidyRule.id)).where(col(SubsidyRule.code) == rule.code)
    ).scalar_one()
    return first


def _ensure_usage_row(session: Session, rule_id: int, elder_id: int, period: str) -> None:
    session.execute(
        upsert_insert(session)(CapUsage)
        .values(rule_id=rule_id, elder_id=elder_id, period=period, used_fen=0)
        .on_conflict_do_nothing()
    )


class _EntryExtra(TypedDict, total=False):
    """What only some ledger entries carry: the funder and rule paying, the entry reversed."""

    funder_id: int | None
    rule_id: int | None
    reverses_id: int | None
    note: str | None


def _entry(
    order: Order,
    share: Share,
    amount: int,
    kind: EntryKind,
    now: datetime,
    **extra: Unpack[_EntryExtra],
) -> LedgerEntry:
    return LedgerEntry(
        order_id=saved(order.id),
        elder_id=order.elder_id,
        site_id=order.site_id,
        service_date=order.service_date,
        slot=order.slot,
        share=share,
        amount_fen=amount,
        kind=kind,
        created_at=now,
        **extra,
    )


def _order(session: Session, order_id: int) -> Order:
    order = session.get(Order, order_id)
    if order is None:
        raise OrderNotFound(order_id=order_id)
    return order


def _elder_of(session: Session, order_id: int) -> int:
    return _order(session, order_id).elder_id


def _terms(rule: SubsidyRule, funder: Funder) -> Terms:
    return Terms(
        rule_id=saved(rule.id),
        funder_id=saved(funder.id),
        share=Share(funder.share),
        layer=funder.layer,
        city=funder.city,
        district=funder.district,
        street=funder.street,
        district_id=funder.district_id,
        street_id=funder.street_id,
        categories=frozenset(rule.categories),
        excluded_categories=frozenset(rule.excluded_categories),
        min_age=rule.min_age,
        site_ids=frozenset(rule.site_ids),
        slots=frozenset(rule.slots),
        weekdays=frozenset(rule.weekdays),
        amount_fen=rule.amount_fen,
        percent_bp=rule.percent_bp,
        cap_per_meal_fen=rule.cap_per_meal_fen,
        priority=rule.priority,
        stacks=rule.stacks,
        fund_id=rule.fund_id,
    )


def _day(service_date: date) -> str:
    return service_date.isoformat()


def _month(service_date: date) -> str:
    return service_date.strftime("%Y-%m")


@dataclass(frozen=True)
class LedgerTotal:
    share: Share
    funder_id: int | None
    funder: Bilingual | None
    meals: int
    amount_fen: int


def ledger_totals(*, session: Session, first: date, last: date) -> list[LedgerTotal]:
    """What each party paid for meals with service dates in [first, last], from the ledger."""
    rows = session.execute(
        sa.select(
            col(LedgerEntry.share),
            col(LedgerEntry.funder_id),
            col(Funder.name_zh),
            col(Funder.name_en),
            sa.func.count(sa.distinct(col(LedgerEntry.order_id))),
            int_sum(LedgerEntry.amount_fen),
        )
        .outerjoin(Funder, col(Funder.id) == col(LedgerEntry.funder_id))
        .where(col(LedgerEntry.service_date) >= first, col(LedgerEntry.service_date) <= last)
        .group_by(
            col(LedgerEntry.share),
            col(LedgerEntry.funder_id),
            col(Funder.name_zh),
            col(Funder.name_en),
        )
    ).all()
    order = list(Share)
    return sorted(
        (
            LedgerTotal(Share(share), funder_id, Bilingual(zh, en) if zh else None, meals, amount)
            for share, funder_id, zh, en, meals, amount in rows
        ),
        key=lambda total: (order.index(total.share), total.funder_id or 0),
    )


@dataclass(frozen=True)
class ElderMonth:
    """An elder's month as the bot's "My bill" shows it: meals served and who paid for them
    (from the ledger), and the meals still to come with the elder's expected share."""

    meals: int
    price_fen: int
    paid_fen: dict[Share, int]
    upcoming_meals: int
    upcoming_elder_fen: int


def elder_month(*, session: Session, elder_id: int, first: date, last: date) -> ElderMonth:
    in_month = (
        col(LedgerEntry.elder_id) == elder_id,
        col(LedgerEntry.service_date) >= first,
        col(LedgerEntry.service_date) <= last,
    )
    paid = {
        Share(share): amount
        for share, amount in session.execute(
            sa.select(col(LedgerEntry.share), int_sum(LedgerEntry.amount_fen))
            .where(*in_month)
            .group_by(col(LedgerEntry.share))
        )
    }
    # A meal counts once its entries (net of any reversal) still add up to something.
    per_order = (
        sa.select(col(LedgerEntry.order_id))
        .where(*in_month)
        .group_by(col(LedgerEntry.order_id))
        .having(sa.func.sum(LedgerEntry.amount_fen) > 0)
        .subquery()
    )
    meals = session.execute(sa.select(sa.func.count()).select_from(per_order)).scalar_one()
    upcoming, upcoming_fen = session.execute(
        sa.select(sa.func.count(), int_sum(sa.func.coalesce(Charge.elder_fen, Order.total_fen)))
        .select_from(Order)
        .outerjoin(Charge, col(Charge.order_id) == col(Order.id))
        .where(
            col(Order.elder_id) == elder_id,
            col(Order.service_date) >= first,
            col(Order.service_date) <= last,
            col(Order.status).in_([OrderStatus.placed, OrderStatus.locked]),
        )
    ).one()
    return ElderMonth(
        meals=meals,
        price_fen=sum(paid.values()),
        paid_fen={share: paid.get(share, 0) for share in Share},
        upcoming_meals=upcoming,
        upcoming_elder_fen=upcoming_fen or 0,
    )
