"""Standing orders ("weekday lunches"), their pauses, and turning them into orders for a day."""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Annotated

import sqlalchemy as sa
from pydantic import Field
from sqlmodel import Session, col, select

from core.clock import Clock
from core.db import upsert_insert
from core.diet import profile_of_elder, suits
from core.elders import get_elder
from core.errors import (
    DomainError,
    ElderInactive,
    ElderPaused,
    InvalidPeriod,
    InvalidWeekdays,
    NoMenu,
    StandingOrderNotFound,
    StandingOrderOverlap,
)
from core.i18n import LOCALES, display, gettext
from core.menus import MenuChoice, menu_choices
from core.models import (
    Elder,
    Order,
    Site,
    StandingOrder,
    StandingOrderPause,
    StandingOrderRefusal,
    saved,
    table_of,
)
from core.notifications import notify_elder_chats
from core.orders import PlacedOrder, check_quantity, place_checked
from core.sites import check_mode, get_site, get_slot, serves
from core.types import OrderSource, OrderStatus, ServiceMode, Slot
from core.validation import service

Weekday = Annotated[int, Field(ge=1, le=7)]


@service
def create_standing_order(
    *,
    session: Session,
    clock: Clock,
    elder_id: int,
    site_id: int,
    slot: Slot,
    weekdays: list[Weekday],
    variant: Annotated[str, Field(min_length=1, max_length=24)] | None = None,
    quantity: int = 1,
    mode: ServiceMode | None = None,
    start_date: date,
    end_date: date | None = None,
    max_order_quantity: int,
) -> StandingOrder:
    """Order the same meal on the given weekdays (ISO, Monday = 1) from start_date on, at most
    `max_order_quantity` portions (the settings' limit on any order)."""
    elder = get_elder(session=session, elder_id=elder_id)
    if not weekdays:
        raise InvalidWeekdays()
    if end_date is not None and end_date < start_date:
        raise InvalidPeriod()
    check_quantity(quantity, max_order_quantity=max_order_quantity)
    site = get_site(session=session, site_id=site_id)
    get_slot(session=session, site=site, slot=slot)
    chosen_mode = ServiceMode(mode or elder.service_mode)
    in_area = serves(session=session, site_id=site_id, community_id=elder.community_id)
    check_mode(site, chosen_mode, in_service_area=in_area, elder_name=elder.name)
    _check_no_overlap(session, elder, slot, set(weekdays), start_date, end_date)
    standing = StandingOrder(
        elder_id=elder_id,
        site_id=site_id,
        slot=slot,
        weekdays=sorted(set(weekdays)),
        variant=variant,
        quantity=quantity,
        mode=chosen_mode,
        start_date=start_date,
        end_date=end_date,
        created_at=clock.now(),
    )
    session.add(standing)
    session.flush()
    return standing


@service
def pause_standing_order(
    *,
    session: Session,
    standing_order_id: int,
    start_date: date,
    end_date: date,
    reason: Annotated[str, Field(max_length=200)] | None = None,
) -> StandingOrderPause:
    """Stop a standing order's meals over a period (inclusive). The same period twice (a
    double tap, a form sent again) is the one pause already there."""
    _get(session, standing_order_id)
    if end_date < start_date:
        raise InvalidPeriod()
    same = session.exec(
        select(StandingOrderPause).where(
            StandingOrderPause.standing_order_id == standing_order_id,
            StandingOrderPause.start_date == start_date,
            StandingOrderPause.end_date == end_date,
        )
    ).first()
    if same is not None:
        return same
    pause = StandingOrderPause(
        standing_order_id=standing_order_id, start_date=start_date, end_date=end_date, reason=reason
    )
    session.add(pause)
    session.flush()
    return pause


@service
def resume_standing_order(*, session: Session, standing_order_id: int, on: date) -> StandingOrder:
    """End every pause from `on` onwards: meals start again that day."""
    standing = _get(session, standing_order_id)
    for pause in session.exec(
        select(StandingOrderPause).where(
            StandingOrderPause.standing_order_id == standing_order_id,
            StandingOrderPause.end_date >= on,
        )
    ):
        if pause.start_date >= on:
            session.delete(pause)
        else:
            pause.end_date = on - timedelta(days=1)
            session.add(pause)
    session.flush()
    return standing


@service
def stop_standing_order(*, session: Session, standing_order_id: int) -> StandingOrder:
    standing = _get(session, standing_order_id)
    standing.active = False
    session.add(standing)
    session.flush()
    return standing


def standing_orders_due(
    *, session: Session, site_id: int, service_date: date, slot: Slot
) -> list[StandingOrder]:
    """Active standing orders that ask for a meal at this site, slot and day, not paused."""
    candidates = session.exec(
        select(StandingOrder)
        .where(
            StandingOrder.site_id == site_id,
            StandingOrder.slot == slot,
            StandingOrder.active,
            StandingOrder.start_date <= service_date,
            (col(StandingOrder.end_date).is_(None)) | (col(StandingOrder.end_date) >= service_date),
        )
        .order_by(col(StandingOrder.id))
    ).all()
    paused = set(
        session.exec(
            select(StandingOrderPause.standing_order_id).where(
                StandingOrderPause.start_date <= service_date,
                StandingOrderPause.end_date >= service_date,
            )
        )
    )
    weekday = service_date.isoweekday()
    return [s for s in candidates if weekday in s.weekdays and s.id not in paused]


@dataclass
class Materialised:
    placed: list[PlacedOrder] = field(default_factory=list)
    skipped: list[tuple[int, DomainError]] = field(default_factory=list)

    @property
    def refused(self) -> list[tuple[int, DomainError]]:
        """The skipped meals someone expects: not those paused or of an elder no longer
        registered. These are kept for staff and told to the elder's chats."""
        return [(standing, refusal) for standing, refusal in self.skipped if _expected(refusal)]


def _expected(refusal: DomainError) -> bool:
    """Whether the meal a standing order was refused is one somebody expects: not one paused,
    nor one of an elder no longer registered."""
    return not isinstance(refusal, ElderPaused | ElderInactive)


def materialise_standing_orders(
    *,
    session: Session,
    clock: Clock,
    site_id: int,
    service_date: date,
    slot: Slot,
    max_order_quantity: int,
    order_horizon_days: int,
) -> Materialised:
    """Turn the day's standing orders into orders. An elder who already ordered that meal keeps
    their own order; a refusal (menu missing, diet, an order's limits as the settings give
    them) is recorded, not raised, and the elder's chats are told at once. Running it twice
    places nothing twice and tells nothing twice (keys name the standing order and day)."""
    result = Materialised()
    due = standing_orders_due(
        session=session, site_id=site_id, service_date=service_date, slot=slot
    )
    if not due:
        return result
    try:
        choices = menu_choices(
            session=session, site_id=site_id, service_date=service_date, slot=slot
        )
    except NoMenu as missing:
        for standing in due:
            _skip(session, clock, result, standing, service_date, slot, missing)
        return result
    existing = set(
        session.exec(
            select(Order.elder_id).where(
                Order.service_date == service_date,
                Order.slot == slot,
                Order.status != OrderStatus.cancelled,
            )
        )
    )
    for standing in due:
        if standing.elder_id in existing:
            continue
        elder = session.get_one(Elder, standing.elder_id)
        choice = choice_for(elder, standing, choices)
        try:
            order = place_checked(
                session=session,
                clock=clock,
                elder_id=standing.elder_id,
                site_id=site_id,
                service_date=service_date,
                slot=slot,
                dish_id=choice.dish_id,
                variant=choice.variant,
                quantity=standing.quantity,
                mode=ServiceMode(standing.mode),
                idempotency_key=f"standing:{standing.id}:{service_date.isoformat()}:{slot}",
                source=OrderSource.standing,
                placed_by_chat_user_id=None,
                standing_order_id=standing.id,
                max_order_quantity=max_order_quantity,
                order_horizon_days=order_horizon_days,
                programme_phone=None,  # placed by the cutoff: no cutoff to check
            )
        except DomainError as refusal:
            _skip(session, clock, result, standing, service_date, slot, refusal)
            continue
        existing.add(standing.elder_id)
        result.placed.append(order)
    return result


def _skip(
    session: Session,
    clock: Clock,
    result: Materialised,
    standing: StandingOrder,
    service_date: date,
    slot: Slot,
    refusal: DomainError,
) -> None:
    """A standing order the rules refuse today: recorded, and the elder's own and family's
    chats hear it now, while there is still time to arrange the meal another way (the elder
    expects it to come), and the refusal is kept for staff (most elders have no chat). Not for
    meals paused or an elder no longer registered: nobody expects those. The reason goes in
    both languages: its values are not all JSON."""
    result.skipped.append((saved(standing.id), refusal))
    if not _expected(refusal):
        return
    _keep_refusal(session, clock, standing, service_date, slot, refusal)
    notify_elder_chats(
        session,
        elder_id=standing.elder_id,
        kind="standing_skipped",
        key=f"standing-skipped:{standing.id}:{service_date.isoformat()}:{slot.value}",
        at=clock.now(),
        service_date=service_date.isoformat(),
        slot=slot.value,
        reason={locale: refusal.render(locale) for locale in LOCALES},
    )


def _keep_refusal(
    session: Session,
    clock: Clock,
    standing: StandingOrder,
    service_date: date,
    slot: Slot,
    refusal: DomainError,
) -> None:
    """One row per standing order and meal: a second run of the cutoff inserts nothing (the
    unique key says so), on both databases, without spoiling the transaction."""
    values = {
        "standing_order_id": saved(standing.id),
        "service_date": service_date,
        "slot": slot.value,
        "site_id": standing.site_id,
        "elder_id": standing.elder_id,
        "code": refusal.code,
        "message": refusal.message,
        "values": {
            locale: {key: display(value, locale) for key, value in refusal.params.items()}
            for locale in LOCALES
        },
        "refused_at": clock.now(),
    }
    session.execute(
        upsert_insert(session)(table_of(StandingOrderRefusal))
        .values(values)
        .on_conflict_do_nothing()
    )


@dataclass(frozen=True)
class RefusedStandingOrder:
    """A standing order the cutoff refused, for staff: whose meal, where, why, and the order
    placed for that elder and meal since, if one was (then it is handled)."""

    standing_order_id: int
    service_date: date
    slot: Slot
    site_id: int
    site: str
    elder_id: int
    elder: str
    community_id: int
    code: str
    message: str
    values: dict[str, dict[str, str]]
    refused_at: datetime
    order_id: int | None

    def reason(self, locale: str) -> str:
        shown = self.values.get(locale) or self.values.get("zh_CN") or {}
        return gettext(self.message, locale).format(**shown)


def refused_standing_orders(
    *,
    session: Session,
    service_date: date,
    site_ids: set[int] | None = None,
    community_ids: set[int] | None = None,
    site_id: int | None = None,
    slot: Slot | None = None,
) -> list[RefusedStandingOrder]:
    """A day's refused standing orders, optionally only at some sites or of elders living in
    some communities (the reader's scope), one site or one meal; by site, meal and elder.
    Handled is asked of the orders each time, not marked: an order placed any way (by phone,
    at the counter, in the chat) handles it, and one cancelled again no longer does."""
    refusal = table_of(StandingOrderRefusal)
    since = (
        sa.select(sa.func.min(col(Order.id)))
        .where(
            col(Order.elder_id) == refusal.c.elder_id,
            col(Order.service_date) == refusal.c.service_date,
            col(Order.slot) == refusal.c.slot,
            col(Order.status) != OrderStatus.cancelled,
        )
        .scalar_subquery()
    )
    query = (
        sa.select(
            refusal,
            col(Site.name).label("site"),
            col(Elder.name).label("elder"),
            col(Elder.community_id).label("community_id"),
            since.label("order_id"),
        )
        .join(Site, col(Site.id) == refusal.c.site_id)
        .join(Elder, col(Elder.id) == refusal.c.elder_id)
        .where(refusal.c.service_date == service_date)
    )
    if site_ids is not None:
        query = query.where(refusal.c.site_id.in_(site_ids or [-1]))
    if community_ids is not None:
        query = query.where(col(Elder.community_id).in_(community_ids or [-1]))
    if site_id is not None:
        query = query.where(refusal.c.site_id == site_id)
    if slot is not None:
        query = query.where(refusal.c.slot == slot.value)
    slot_order = sa.case({s.value: n for n, s in enumerate(Slot)}, value=refusal.c.slot)
    query = query.order_by(col(Site.name), refusal.c.site_id, slot_order, col(Elder.name))
    return [
        RefusedStandingOrder(
            standing_order_id=row.standing_order_id,
            service_date=row.service_date,
            slot=Slot(row.slot),
            site_id=row.site_id,
            site=row.site,
            elder_id=row.elder_id,
            elder=row.elder,
            community_id=row.community_id,
            code=row.code,
            message=row.message,
            values=row.values,
            refused_at=row.refused_at,
            order_id=row.order_id,
        )
        for row in session.execute(query)
    ]


def choice_for(elder: Elder, standing: StandingOrder, choices: list[MenuChoice]) -> MenuChoice:
    """The first set on the menu in the standing order's variant that suits the elder; failing
    that the first that suits; failing that the first (the order service then says why not)."""
    profile = profile_of_elder(elder.name, elder.texture, elder.diet_needs, elder.allergies)
    suitable = [choice for choice in choices if suits(profile, choice.meal)]
    preferred = [choice for choice in suitable if choice.variant == standing.variant]
    return (preferred or suitable or choices)[0]


def _check_no_overlap(
    session: Session,
    elder: Elder,
    slot: Slot,
    weekdays: set[int],
    start_date: date,
    end_date: date | None,
) -> None:
    """One standing order per meal and weekday: two would order the same lunch twice (a double
    tap on Confirm, say)."""
    active = session.exec(
        select(StandingOrder).where(
            StandingOrder.elder_id == elder.id,
            StandingOrder.slot == slot,
            col(StandingOrder.active).is_(True),
        )
    )
    for other in active:
        overlaps_in_time = (other.end_date is None or other.end_date >= start_date) and (
            end_date is None or end_date >= other.start_date
        )
        if overlaps_in_time and weekdays & set(other.weekdays):
            raise StandingOrderOverlap(name=elder.name, slot=slot)


def _get(session: Session, standing_order_id: int) -> StandingOrder:
    standing = session.get(StandingOrder, standing_order_id)
    if standing is None:
        raise StandingOrderNotFound(standing_order_id=standing_order_id)
    return standing
