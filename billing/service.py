"""Billing use cases: the rules in force, quotes, reserving budget when an order is placed,
releasing it on cancellation, posting the ledger when a meal is served, and reversals."""

from dataclasses import dataclass
from datetime import date, datetime
from typing import TypedDict, Unpack

import sqlalchemy as sa
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
from core.elders import categories_on
from core.errors import ElderNotFound, OrderNotFound, SiteNotFound
from core.i18n import Bilingual
from core.models import Community, Elder, Order, Site, saved
from core.types import OrderStatus

# Under concurrency a reservation can lose a race for the last of a budget; it then recomputes
# the split with what is left. After this many tries the meal goes without those subsidies.
RESERVE_ATTEMPTS = 5


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
    latest: dict[str, tuple[SubsidyRule, Funder]] = {}
    for rule, funder in rows:
        latest.setdefault(rule.code, (rule, funder))
    return sorted(
        (
            _terms(rule, funder)
            for rule, funder in latest.values()
            if rule.effective_to is None or rule.effective_to >= on
        ),
        key=lambda terms: (terms.priority, terms.rule_id),
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
) -> Meal:
    """What the rules look at: the elder's age, categories and home, the site's place."""
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
        categories=frozenset(categories_on(session=session, elder_id=elder_id, on=service_date)),
        site_district_id=where.district_id,
        site_street_id=where.street_id,
        elder_district_id=home.district_id,
        elder_street_id=home.street_id,
    )


def limits_for(
    *,
    session: Session,
    rules: list[Terms],
    elder_id: int,
    service_date: date,
    policy: BillingPolicy,
) -> Limits:
    fund_ids = {terms.fund_id for terms in rules if terms.fund_id is not None}
    funds = (
        {
            standing.fund_id: standing.left_fen
            for standing in fund_standings(session=session, on=service_date, fund_ids=fund_ids)
        }
        if fund_ids
        else {}
    )
    caps: dict[int, int] = {}
    capped = session.exec(
        select(SubsidyRule).where(
            col(SubsidyRule.id).in_([terms.rule_id for terms in rules]),
            col(SubsidyRule.cap_per_elder_day_fen).is_not(None)
            | col(SubsidyRule.cap_per_elder_month_fen).is_not(None),
        )
    ).all()
    for rule in capped:
        left: list[int] = []
        for cap, period in (
            (rule.cap_per_elder_day_fen, _day(service_date)),
            (rule.cap_per_elder_month_fen, _month(service_date)),
        ):
            if cap is not None:
                used = session.exec(
                    select(CapUsage.used_fen).where(
                        CapUsage.rule_id == _cap_key(session, rule),
                        CapUsage.elder_id == elder_id,
                        CapUsage.period == period,
                    )
                ).first()
                left.append(cap - (used or 0))
        caps[saved(rule.id)] = max(0, min(left))
    return Limits(
        fund_remaining=funds,
        cap_remaining=caps,
        elder_min_payment_fen=policy.elder_min_payment_fen,
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


def _quote(session: Session, meal: Meal, elder_id: int) -> Quote:
    rules = rules_in_force(session=session, on=meal.service_date)
    policy = policy_on(session=session, on=meal.service_date)
    limits = limits_for(
        session=session,
        rules=rules,
        elder_id=elder_id,
        service_date=meal.service_date,
        policy=policy,
    )
    result = split(meal, rules, limits)
    funder_ids = {a.funder_id for a in result.allocations if a.funder_id}
    names = (
        {
            saved(funder.id): Bilingual(funder.name_zh, funder.name_en)
            for funder in session.exec(select(Funder).where(col(Funder.id).in_(funder_ids)))
        }
        if funder_ids
        else {}
    )
    return Quote(result, names)


def reserve(*, session: Session, clock: Clock, order_id: int) -> Split:
    """Split a newly placed order and hold the budget it needs, atomically: each fund and cap
    is taken by a conditional update, so racing orders can never overspend them."""
    order = _order(session, order_id)
    meal = meal_facts(
        session=session,
        elder_id=order.elder_id,
        site_id=order.site_id,
        service_date=order.service_date,
        slot=order.slot,
        price_fen=order.total_fen,
        portions=order.quantity,
    )
    for _ in range(RESERVE_ATTEMPTS):
        result = _quote(session, meal, order.elder_id).split
        with session.begin_nested() as attempt:
            if _take(session, order, result):
                break
            attempt.rollback()
    else:
        # Budgets kept moving under us: go without fund- and cap-limited subsidies.
        rules = [
            t
            for t in rules_in_force(session=session, on=order.service_date)
            if t.fund_id is None and not _is_capped(session, t.rule_id)
        ]
        policy = policy_on(session=session, on=order.service_date)
        result = split(meal, rules, Limits(elder_min_payment_fen=policy.elder_min_payment_fen))
        _take(session, order, result)
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
    charge = session.get(Charge, order.id) or Charge(
        order_id=saved(order.id),
        price_fen=0,
        government_fen=0,
        business_fen=0,
        charity_fen=0,
        elder_fen=0,
        updated_at=now,
    )
    charge.price_fen = result.price_fen
    charge.government_fen = result.total(Share.government)
    charge.business_fen = result.total(Share.business)
    charge.charity_fen = result.total(Share.charity)
    charge.elder_fen = result.elder_fen
    charge.updated_at = now
    session.add(charge)
    session.flush()
    return result


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


def _take(session: Session, order: Order, result: Split) -> bool:
    """Hold each fund and cap amount with a conditional update; False if any is short."""
    for allocation in result.allocations:
        if allocation.share == Share.elder or allocation.amount_fen == 0:
            continue
        amount = allocation.amount_fen
        if allocation.fund_id is not None:
            period = _ensure_budget_row(session, allocation.fund_id, order.service_date)
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
        rule = session.get_one(SubsidyRule, saved(allocation.rule_id))
        rule_id = _cap_key(session, rule)
        for cap, period in (
            (rule.cap_per_elder_day_fen, _day(order.service_date)),
            (rule.cap_per_elder_month_fen, _month(order.service_date)),
        ):
            if cap is None:
                continue
            _ensure_usage_row(session, rule_id, order.elder_id, period)
            taken = session.exec(
                sa.update(CapUsage)
                .where(
                    col(CapUsage.rule_id) == rule_id,
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


def _ensure_budget_row(session: Session, fund_id: int, service_date: date) -> str:
    """The period of the fund's budget a meal on this day draws on, its row made (with the
    fund's standing budget) by the period's first meal."""
    fund = session.get_one(Fund, fund_id)
    period = budget_period(fund.period, service_date)
    session.execute(
        upsert_insert(session)(FundBudget)
        .values(fund_id=fund_id, period=period, budget_fen=fund.budget_fen, committed_fen=0)
        .on_conflict_do_nothing()
    )
    return period


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


def _is_capped(session: Session, rule_id: int) -> bool:
    rule = session.get(SubsidyRule, rule_id)
    return rule is not None and (
        rule.cap_per_elder_day_fen is not None or rule.cap_per_elder_month_fen is not None
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
