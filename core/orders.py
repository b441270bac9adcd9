"""Placing, changing, cancelling and repeating orders, and locking a slot at its cutoff.
Every ordering rule is checked here, once, for the bot, the pages, the API and the CLI."""

import functools
import re
from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Annotated, Any, TypeVar, cast

import sqlalchemy as sa
from pydantic import Field
from sqlmodel import Session, col, select

from core.clock import Clock
from core.db import int_sum, upsert_insert
from core.diet import diet_problem, profile_of_elder
from core.elders import age_on, get_elder, id_tail_of
from core.errors import (
    AllMealsOrdered,
    AlreadyOrdered,
    CutoffPassed,
    DateInPast,
    DateTooFar,
    DuplicateRequest,
    ElderInactive,
    ElderNotFound,
    ElderPaused,
    InvalidQuantity,
    MarkNotYours,
    MealOver,
    NothingToRepeat,
    NothingToUndo,
    NotOnMenu,
    OrderNotChangeable,
    OrderNotFound,
    OutcomeNotAllowed,
    RepeatNotOnMenu,
    SiteNotFound,
    SlotNotOffered,
    StillOrderable,
    UndoTooLate,
)
from core.i18n import Bilingual
from core.menus import (
    CHOICE_COLUMNS,
    MenuChoice,
    choice_from_row,
    menu_choices,
    own_style_first,
)
from core.models import (
    Community,
    Dish,
    Elder,
    ElderPause,
    MealSlot,
    Menu,
    MenuItem,
    Order,
    Site,
    SiteServiceArea,
    SlotCutoff,
    saved,
    table_of,
)
from core.notifications import notify_elder_chats, withdraw_unsent
from core.sites import SlotTimes, check_mode, cutoff_at, phone_to_call
from core.types import MAX_ID, ElderStatus, OrderSource, OrderStatus, ServiceMode, Slot
from core.validation import LINE, service
from core.welfare import raise_alert, withdraw_alert

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

IdempotencyKey = Annotated[str, Field(min_length=1, max_length=128), LINE]
Variant = Annotated[str, Field(min_length=1, max_length=24)]

LIVE = (OrderStatus.placed, OrderStatus.locked)


# A placed order as stored: the columns of `Order`, read-only, with enums as the values
# `place_checked` stores. Building an ORM object would cost more than the insert itself, and a
# caller confirming an order needs only these values. tests/core/test_orders.py checks that its
# fields are Order's columns.
@dataclass(frozen=True, slots=True)
class PlacedOrder:
    id: int
    elder_id: int
    site_id: int
    service_date: date
    slot: str
    menu_item_id: int | None
    dish_id: int
    dish_name_zh: str
    dish_name_en: str
    variant: str
    texture: str
    diet_tags: list[str]
    allergens: list[str]
    unit_price_fen: int
    quantity: int
    total_fen: int
    mode: str
    status: str
    source: str
    idempotency_key: str
    standing_order_id: int | None
    placed_by_chat_user_id: int | None
    ordered_at: datetime
    updated_at: datetime
    cancelled_at: datetime | None
    locked_at: datetime | None
    outcome_at: datetime | None
    outcome_by: str | None


@service
def place_order(
    *,
    session: Session,
    clock: Clock,
    elder_id: int,
    site_id: int,
    service_date: date,
    slot: Slot,
    dish_id: int,
    variant: Variant,
    quantity: int = 1,
    mode: ServiceMode | None = None,
    idempotency_key: IdempotencyKey,
    source: OrderSource = OrderSource.chat,
    placed_by_chat_user_id: int | None = None,
    walk_in: bool = False,
    max_order_quantity: int,
    order_horizon_days: int,
    programme_phone: str,
) -> PlacedOrder:
    """Place one order after checking every rule; refuse with a typed error and write nothing.
    A walk-in (an elder served at the counter from what the kitchen made) is past the cutoff by
    nature: for it the cutoff is not checked, the meal must still be being served (until the
    end of its service window), and the order is locked at once, ready to be marked served.
    The programme's settings come as values: at most `max_order_quantity` portions, at most
    `order_horizon_days` ahead, and `programme_phone` for a refusal past the cutoff to name
    when the site has no number of its own."""
    return place_checked(
        session=session,
        clock=clock,
        elder_id=elder_id,
        site_id=site_id,
        service_date=service_date,
        slot=slot,
        dish_id=dish_id,
        variant=variant,
        quantity=quantity,
        mode=mode,
        idempotency_key=idempotency_key,
        source=source,
        placed_by_chat_user_id=placed_by_chat_user_id,
        standing_order_id=None,
        walk_in=walk_in,
        max_order_quantity=max_order_quantity,
        order_horizon_days=order_horizon_days,
        programme_phone=programme_phone,
    )


def place_checked(
    *,
    session: Session,
    clock: Clock,
    elder_id: int,
    site_id: int,
    service_date: date,
    slot: Slot,
    dish_id: int,
    variant: str,
    quantity: int,
    mode: ServiceMode | None,
    idempotency_key: str,
    source: OrderSource,
    placed_by_chat_user_id: int | None,
    standing_order_id: int | None,
    walk_in: bool = False,
    max_order_quantity: int,
    order_horizon_days: int,
    programme_phone: str | None,
) -> PlacedOrder:
    """`place_order`'s rules, also for the orders the cutoff places from standing orders: for
    those `programme_phone` is None, and no cutoff is checked (it is the cutoff placing them)."""
    context = _context(
        session,
        key=idempotency_key,
        elder_id=elder_id,
        site_id=site_id,
        service_date=service_date,
        slot=slot,
        dish_id=dish_id,
        variant=variant,
    )
    if context.duplicate_id is not None:
        raise DuplicateRequest(order_id=context.duplicate_id)
    check_quantity(quantity, max_order_quantity=max_order_quantity)
    elder = _check_elder(context.elder, elder_id, service_date)
    now = clock.now()
    _check_date(service_date, now.date(), order_horizon_days=order_horizon_days)
    site = _check_site(context.site, site_id, slot)
    chosen_mode = ServiceMode(mode or elder.service_mode)
    check_mode(site, chosen_mode, in_service_area=elder.served_by_site, elder_name=elder.name)
    if walk_in:
        _check_still_served(site, service_date, slot, clock)
    elif programme_phone is not None:
        _check_open(site, service_date, slot, clock, programme_phone=programme_phone)
    choice = _check_on_menu(context.choice, service_date, slot)
    _check_diet(elder, choice)
    if elder.live_order_id is not None:
        raise AlreadyOrdered(name=elder.name, slot=slot, date=service_date)
    values: dict[str, Any] = dict(
        elder_id=elder_id,
        site_id=site_id,
        service_date=service_date,
        slot=slot.value,
        mode=chosen_mode.value,
        # A walk-in's meal is already cooked: locked, as the cutoff leaves an order.
        status=(OrderStatus.locked if walk_in else OrderStatus.placed).value,
        source=source.value,
        idempotency_key=idempotency_key,
        standing_order_id=standing_order_id,
        placed_by_chat_user_id=placed_by_chat_user_id,
        ordered_at=now,
        updated_at=now,
        cancelled_at=None,
        locked_at=now if walk_in else None,
        outcome_at=None,
        outcome_by=None,
        **_snapshot(choice, quantity),
    )
    order_id = _insert(session, values)
    if order_id is None:
        # Lost a race to an identical request or another order for the same meal.
        duplicate = _context(
            session,
            key=idempotency_key,
            elder_id=elder_id,
            site_id=site_id,
            service_date=service_date,
            slot=slot,
            dish_id=dish_id,
            variant=variant,
        ).duplicate_id
        if duplicate is not None:
            raise DuplicateRequest(order_id=duplicate)
        raise AlreadyOrdered(name=elder.name, slot=slot, date=service_date)
    return PlacedOrder(id=order_id, **values)


@service
def change_order(
    *,
    session: Session,
    clock: Clock,
    order_id: int,
    dish_id: int | None = None,
    variant: Variant | None = None,
    quantity: int | None = None,
    mode: ServiceMode | None = None,
    max_order_quantity: int,
    programme_phone: str,
) -> Order:
    """Change the dish, variant, portions or delivery mode of an order before its cutoff (at
    most `max_order_quantity` portions; `programme_phone` as in `place_order`)."""
    order = _changeable_order(session, clock, order_id, programme_phone=programme_phone)
    slot = Slot(order.slot)
    context = _context(
        session,
        elder_id=order.elder_id,
        site_id=order.site_id,
        service_date=order.service_date,
        slot=slot,
        dish_id=order.dish_id if dish_id is None else dish_id,
        variant=order.variant if variant is None else variant,
    )
    elder = _check_elder(context.elder, order.elder_id, order.service_date)
    new_quantity = order.quantity if quantity is None else quantity
    check_quantity(new_quantity, max_order_quantity=max_order_quantity)
    if mode is not None:
        site = _check_site(context.site, order.site_id, slot)
        check_mode(site, mode, in_service_area=elder.served_by_site, elder_name=elder.name)
    choice = _check_on_menu(context.choice, order.service_date, slot)
    _check_diet(elder, choice)
    for name, value in _snapshot(choice, new_quantity).items():
        setattr(order, name, value)
    if mode is not None:
        order.mode = mode
    order.updated_at = clock.now()
    session.add(order)
    session.flush()
    return order


@service
def cancel_order(*, session: Session, clock: Clock, order_id: int, programme_phone: str) -> Order:
    """Cancel an order before its cutoff (`programme_phone` as in `place_order`)."""
    order = _changeable_order(session, clock, order_id, programme_phone=programme_phone)
    now = clock.now()
    order.status = OrderStatus.cancelled
    order.cancelled_at = now
    order.updated_at = now
    session.add(order)
    session.flush()
    return order


@dataclass(frozen=True)
class RepeatPlan:
    """What "same as last time" would order: shown on the confirmation screen, then placed."""

    site_id: int
    slot: Slot
    choice: MenuChoice
    quantity: int
    mode: ServiceMode


def _last_order(session: Session, elder_id: int, slot: Slot | None = None) -> Order | None:
    """The elder's latest order not cancelled: of `slot` if there is one, else of any slot."""
    query = select(Order).where(Order.elder_id == elder_id, Order.status != OrderStatus.cancelled)
    latest = (col(Order.service_date).desc(), col(Order.ordered_at).desc(), col(Order.id).desc())
    if slot is not None:
        found = session.exec(query.where(Order.slot == slot).order_by(*latest)).first()
        if found is not None:
            return found
    return session.exec(query.order_by(*latest)).first()


@service
def plan_repeat(
    *, session: Session, elder_id: int, service_date: date, slot: Slot | None = None
) -> RepeatPlan:
    """The elder's last order carried to another meal: the same dish in the same variant, at
    the same site, the same portions and the same way. If that variant is not on the menu or
    no longer suits her, the same dish in the variant nearest her own style; if the dish is not
    on the menu (or in nothing she can eat), RepeatNotOnMenu: with a rotating menu another dish
    in the same place on the menu is another meal, not "the same as last time"."""
    elder = get_elder(session=session, elder_id=elder_id)
    last = _last_order(session, elder_id, slot)
    if last is None:
        raise NothingToRepeat(name=elder.name)
    target_slot = Slot(slot or last.slot)
    choices = menu_choices(
        session=session, site_id=last.site_id, service_date=service_date, slot=target_slot
    )
    profile = profile_of_elder(elder.name, elder.texture, elder.diet_needs, elder.allergies)
    same_dish = [choice for choice in choices if choice.dish_id == last.dish_id]
    offered = own_style_first(same_dish, profile)
    same_variant = [choice for choice in offered if choice.variant == last.variant]
    if not offered:
        raise RepeatNotOnMenu(
            dish=Bilingual(last.dish_name_zh, last.dish_name_en),
            slot=target_slot,
            date=service_date,
            site_id=last.site_id,
        )
    return RepeatPlan(
        site_id=last.site_id,
        slot=target_slot,
        choice=(same_variant or offered)[0],
        quantity=last.quantity,
        mode=ServiceMode(last.mode),
    )


@service
def repeat_last_order(
    *,
    session: Session,
    clock: Clock,
    elder_id: int,
    service_date: date,
    slot: Slot | None = None,
    idempotency_key: IdempotencyKey,
    source: OrderSource = OrderSource.chat,
    placed_by_chat_user_id: int | None = None,
    max_order_quantity: int,
    order_horizon_days: int,
    programme_phone: str,
) -> PlacedOrder:
    """Order again what the elder last had (see `plan_repeat`; the settings' values as in
    `place_order`)."""
    plan = plan_repeat(session=session, elder_id=elder_id, service_date=service_date, slot=slot)
    return place_order(
        session=session,
        clock=clock,
        elder_id=elder_id,
        site_id=plan.site_id,
        service_date=service_date,
        slot=plan.slot,
        dish_id=plan.choice.dish_id,
        variant=plan.choice.variant,
        quantity=plan.quantity,
        mode=plan.mode,
        idempotency_key=idempotency_key,
        source=source,
        placed_by_chat_user_id=placed_by_chat_user_id,
        max_order_quantity=max_order_quantity,
        order_horizon_days=order_horizon_days,
        programme_phone=programme_phone,
    )


@dataclass(frozen=True)
class OpenMeal:
    """A slot on a day that has a menu and still takes orders, and when it closes."""

    service_date: date
    slot: Slot
    closes_at: datetime


def orderable_meals(
    *, session: Session, clock: Clock, site_id: int, days: int = 7
) -> list[OpenMeal]:
    """The meals of the next `days` days (today first) that can still be ordered at a site."""
    today = clock.now().date()
    last = today + timedelta(days=days - 1)
    slots = {
        Slot(row.slot): row
        for row in session.exec(select(MealSlot).where(MealSlot.site_id == site_id))
    }
    locked = set(
        session.execute(
            sa.select(col(SlotCutoff.service_date), col(SlotCutoff.slot)).where(
                col(SlotCutoff.site_id) == site_id,
                col(SlotCutoff.service_date) >= today,
                col(SlotCutoff.service_date) <= last,
            )
        ).all()
    )
    menus = session.execute(
        sa.select(col(Menu.service_date), col(Menu.slot))
        .where(
            col(Menu.site_id) == site_id,
            col(Menu.service_date) >= today,
            col(Menu.service_date) <= last,
        )
        .distinct()
    ).all()
    now, meals = clock.now(), []
    for service_date, slot_code in menus:
        meal_slot = slots.get(Slot(slot_code))
        if meal_slot is None or (service_date, slot_code) in locked:
            continue
        closes = cutoff_at(meal_slot, service_date, clock.tz)
        if now < closes:
            meals.append(OpenMeal(service_date, Slot(slot_code), closes))
    order = list(Slot)
    return sorted(meals, key=lambda meal: (meal.service_date, order.index(meal.slot)))


def meals_to_repeat(*, session: Session, clock: Clock, elder_id: int) -> list[OpenMeal]:
    """The meals "same as last time" can go to: those still open at the site of the elder's
    last order that she has not ordered yet (at any site) and is not paused for, soonest first."""
    elder = get_elder(session=session, elder_id=elder_id)
    last = _last_order(session, elder_id)
    if last is None:
        raise NothingToRepeat(name=elder.name)
    meals = orderable_meals(session=session, clock=clock, site_id=last.site_id)
    if not meals:
        return []
    first, final = meals[0].service_date, meals[-1].service_date
    ordered = set(
        session.execute(
            sa.select(col(Order.service_date), col(Order.slot)).where(
                col(Order.elder_id) == elder_id,
                col(Order.status).in_(LIVE),
                col(Order.service_date) >= first,
                col(Order.service_date) <= final,
            )
        ).all()
    )
    pauses = session.exec(
        select(ElderPause).where(
            ElderPause.elder_id == elder_id,
            ElderPause.start_date <= final,
            ElderPause.end_date >= first,
        )
    ).all()
    return [
        meal
        for meal in meals
        if (meal.service_date, meal.slot.value) not in ordered
        and not any(p.start_date <= meal.service_date <= p.end_date for p in pauses)
    ]


def next_meal_to_repeat(*, session: Session, clock: Clock, elder_id: int) -> OpenMeal:
    """Where "same as last time" goes when nobody says: the soonest meal she can still order
    and has not, of the same slot as her last order if there is one (a lunch is repeated at
    lunch), else of any slot. A meal she has ordered already would only be refused."""
    meals = meals_to_repeat(session=session, clock=clock, elder_id=elder_id)
    last = _last_order(session, elder_id)
    same_slot = [meal for meal in meals if last is not None and meal.slot == last.slot]
    if not meals:
        raise AllMealsOrdered(name=get_elder(session=session, elder_id=elder_id).name)
    return (same_slot or meals)[0]


# Which outcomes fit which way of serving: a rider delivers or finds nobody home, the canteen
# hands over a box or serves at the table.
OUTCOMES = {
    ServiceMode.delivery: (OrderStatus.delivered, OrderStatus.no_answer),
    ServiceMode.pickup: (OrderStatus.picked_up, OrderStatus.no_answer),
    ServiceMode.dine_in: (OrderStatus.dined_in, OrderStatus.no_answer),
}
SERVED = (OrderStatus.delivered, OrderStatus.picked_up, OrderStatus.dined_in)


@service
def record_outcome(
    *,
    session: Session,
    clock: Clock,
    order_id: int,
    outcome: OrderStatus,
    by: Annotated[str, Field(min_length=1, max_length=64)],
    welfare_ack_minutes: int,
    duty_phone: str,
    duty_chat_id: int | None,
) -> Order:
    """Record how a locked order ended: served (delivered, picked up, dined in) or no answer.
    Saying the same thing twice changes nothing; changing a recorded outcome is refused. No
    answer at the door raises a welfare alert (core.welfare.raise_alert, with the settings'
    escalation window and duty line)."""
    order = session.get(Order, order_id)
    if order is None:
        raise OrderNotFound(order_id=order_id)
    if order.status == outcome:
        return order
    if order.status != OrderStatus.locked or outcome not in OUTCOMES[ServiceMode(order.mode)]:
        raise OutcomeNotAllowed(status=OrderStatus(order.status), outcome=outcome)
    now = clock.now()
    order.status, order.outcome_at, order.outcome_by, order.updated_at = outcome, now, by, now
    session.add(order)
    session.flush()
    if outcome == OrderStatus.no_answer and order.mode == ServiceMode.delivery:
        # Nobody came to the door: the meal was also the day's check on the elder.
        raise_alert(
            session=session,
            clock=clock,
            order=order,
            by=by,
            welfare_ack_minutes=welfare_ack_minutes,
            duty_phone=duty_phone,
            duty_chat_id=duty_chat_id,
        )
    elif outcome in SERVED:
        # "Delivered" to the elder's chats, with a one-tap rating of the meal.
        notify_elder_chats(
            session,
            elder_id=order.elder_id,
            kind="served",
            key=f"served:{order.id}",
            at=now,
            order_id=order.id,
        )
    return order


def undo_deadline(outcome_at: datetime, *, undo_minutes: int) -> datetime:
    """Until when a mark made at `outcome_at` can be taken back (the settings' `undo_minutes`
    after it)."""
    return outcome_at + timedelta(minutes=undo_minutes)


@dataclass(frozen=True)
class Undone:
    order: Order
    was: OrderStatus  # the mark taken back


def undo_outcome(
    *,
    session: Session,
    clock: Clock,
    order_id: int,
    by: Annotated[str, Field(min_length=1, max_length=64)],
    admin: bool = False,
    undo_minutes: int,
) -> Undone:
    """Take back a mark at the door or the counter: the order is locked again, waiting, as
    before it (a walk-in is withdrawn instead). Only the one who made the mark (`by` as the
    mark recorded it) or the admin, and only for `undo_minutes` after it; later the records
    stand and the office corrects them. A welfare alert the mark raised is withdrawn and its
    family told. The caller reverses the ledger (usecases.ordering.undo_outcome)."""
    order = session.get(Order, order_id)
    if order is None:
        raise OrderNotFound(order_id=order_id)
    was = OrderStatus(order.status)
    if was not in (*SERVED, OrderStatus.no_answer) or order.outcome_at is None:
        raise NothingToUndo(status=was)
    if not admin and order.outcome_by != by:
        raise MarkNotYours()
    now = clock.now()
    if now > undo_deadline(order.outcome_at, undo_minutes=undo_minutes):
        raise UndoTooLate(at=order.outcome_at.astimezone(clock.tz).time(), minutes=undo_minutes)
    order.status, order.outcome_at, order.outcome_by, order.updated_at = (
        OrderStatus.locked,
        None,
        None,
        now,
    )
    if order.source == OrderSource.counter:
        # A walk-in was placed only to be served there and then: taken back, it is withdrawn
        # (nobody ordered a meal to wait for), and its key is freed so that she can be served
        # again, with another dish say.
        order.status, order.cancelled_at = OrderStatus.cancelled, now
        order.idempotency_key = f"{order.idempotency_key}:withdrawn:{order.id}"
    session.add(order)
    session.flush()
    if was == OrderStatus.no_answer:
        withdraw_alert(session=session, clock=clock, order_id=order_id, by=by)
    else:  # "served, rate your meal" not sent yet to her chats: not sent at all
        withdraw_unsent(session, key=f"served:{order.id}", now=now)
    return Undone(order, was)


# -- what the rules look at: one prebuilt query per request ---------------------------------
# An order is checked against the elder, the site and slot, the menu item and earlier orders.
# All of it comes back in one round trip (outer joins from a one-row base, so that whatever is
# missing comes back as NULL and the rules below can say which), which is most of the cost of
# an order on PostgreSQL.

_order, _elder = table_of(Order), table_of(Elder)
_site, _slot = table_of(Site), table_of(MealSlot)
_pause, _area = table_of(ElderPause), table_of(SiteServiceArea)
_cutoff, _menu = table_of(SlotCutoff), table_of(Menu)
_item, _dish = table_of(MenuItem), table_of(Dish)
_day: sa.BindParameter[date] = sa.bindparam("day")
_meal: sa.BindParameter[str] = sa.bindparam("slot")
_site_id: sa.BindParameter[int] = sa.bindparam("site_id")

# Each labelled with its ElderContext / SiteContext field, prefixed ("elder_", "site_"): the
# row is read back by those names (_by_name), never by position.
ELDER_COLUMNS = (
    _elder.c.name.label("elder_name"),
    _elder.c.status.label("elder_status"),
    _elder.c.texture.label("elder_texture"),
    _elder.c.diet_needs.label("elder_diet_needs"),
    _elder.c.allergies.label("elder_allergies"),
    _elder.c.service_mode.label("elder_service_mode"),
    sa.exists()
    .where(_pause.c.elder_id == _elder.c.id, _pause.c.start_date <= _day, _pause.c.end_date >= _day)
    .label("elder_paused"),
    sa.select(_order.c.id)
    .where(
        _order.c.elder_id == _elder.c.id,
        _order.c.service_date == _day,
        _order.c.slot == _meal,
        # A literal, not a parameter: only then can the partial unique index serve this.
        _order.c.status != sa.literal_column("'cancelled'"),
    )
    .limit(1)
    .scalar_subquery()
    .label("elder_live_order_id"),
    sa.exists()
    .where(_area.c.site_id == _site_id, _area.c.community_id == _elder.c.community_id)
    .label("elder_served_by_site"),
)
SITE_COLUMNS = (
    _site.c.name.label("site_name"),
    _site.c.phone.label("site_phone"),
    _site.c.active.label("site_active"),
    _site.c.offers_delivery.label("site_offers_delivery"),
    _site.c.offers_pickup.label("site_offers_pickup"),
    _site.c.offers_dine_in.label("site_offers_dine_in"),
    _slot.c.id.label("site_slot_id"),
    _slot.c.cutoff_time.label("site_cutoff_time"),
    _slot.c.cutoff_days_before.label("site_cutoff_days_before"),
    _slot.c.delivery_end.label("site_delivery_end"),
    sa.exists()
    .where(_cutoff.c.site_id == _site_id, _cutoff.c.service_date == _day, _cutoff.c.slot == _meal)
    .label("site_locked"),
)
ORDER_CONTEXT = sa.select(
    sa.select(_order.c.id)
    .where(_order.c.idempotency_key == sa.bindparam("key"))
    .scalar_subquery()
    .label("duplicate_id"),
    _elder.c.id.label("elder_found"),
    *ELDER_COLUMNS,
    _site.c.id.label("site_found"),
    *SITE_COLUMNS,
    *CHOICE_COLUMNS,
).select_from(
    sa.select(sa.literal(1).label("one"))
    .subquery("request")
    .outerjoin(_elder, _elder.c.id == sa.bindparam("elder_id"))
    .outerjoin(_site, _site.c.id == _site_id)
    .outerjoin(_slot, sa.and_(_slot.c.site_id == _site_id, _slot.c.slot == _meal))
    .outerjoin(
        _menu,
        sa.and_(_menu.c.site_id == _site_id, _menu.c.service_date == _day, _menu.c.slot == _meal),
    )
    .outerjoin(
        _item,
        sa.and_(
            _item.c.menu_id == _menu.c.id,
            _item.c.dish_id == sa.bindparam("dish_id"),
            _item.c.variant == sa.bindparam("variant"),
        ),
    )
    .outerjoin(_dish, _dish.c.id == _item.c.dish_id)
)


@dataclass(frozen=True)
class ElderContext:
    name: str
    status: str
    texture: str
    diet_needs: list[str]
    allergies: list[str]
    service_mode: str
    paused: bool
    live_order_id: int | None
    served_by_site: bool


@dataclass(frozen=True)
class SiteContext:
    name: str
    phone: str
    active: bool
    offers_delivery: bool
    offers_pickup: bool
    offers_dine_in: bool
    slot_id: int | None
    cutoff_time: time | None
    cutoff_days_before: int | None
    delivery_end: time | None
    locked: bool


@dataclass(frozen=True)
class OrderContext:
    duplicate_id: int | None
    elder: ElderContext | None
    site: SiteContext | None
    choice: MenuChoice | None


def _context(
    session: Session,
    *,
    elder_id: int,
    site_id: int,
    service_date: date,
    slot: Slot,
    dish_id: int,
    variant: str,
    key: str = "",
) -> OrderContext:
    row = (
        session.connection()
        .execute(
            ORDER_CONTEXT,
            {
                "key": key,
                "elder_id": elder_id,
                "site_id": site_id,
                "day": service_date,
                "slot": slot.value,
                "dish_id": dish_id,
                "variant": variant,
            },
        )
        .one()
    )
    return OrderContext(
        duplicate_id=row.duplicate_id,
        elder=None if row.elder_found is None else _by_name(row, "elder_", ElderContext),
        site=None if row.site_found is None else _by_name(row, "site_", SiteContext),
        choice=None if row.item_id is None else choice_from_row(row),
    )


Context = TypeVar("Context", bound="DataclassInstance")


def _by_name(row: sa.Row[*tuple[Any, ...]], prefix: str, kind: type[Context]) -> Context:
    """A context dataclass from the row's columns labelled with its fields' names."""
    return kind(**{field.name: row._mapping[prefix + field.name] for field in fields(kind)})


# -- the rules, each in one place ------------------------------------------------------------


def _check_elder(elder: ElderContext | None, elder_id: int, service_date: date) -> ElderContext:
    if elder is None:
        raise ElderNotFound(elder_id=elder_id)
    if elder.status != ElderStatus.active:
        raise ElderInactive(name=elder.name)
    if elder.paused:
        raise ElderPaused(name=elder.name, date=service_date)
    return elder


def _check_site(site: SiteContext | None, site_id: int, slot: Slot) -> SiteContext:
    if site is None or not site.active:
        raise SiteNotFound(site_id=site_id)
    if site.slot_id is None:
        raise SlotNotOffered(site=site.name, slot=slot)
    return site


def _check_on_menu(choice: MenuChoice | None, service_date: date, slot: Slot) -> MenuChoice:
    if choice is None:
        raise NotOnMenu(slot=slot, date=service_date)
    return choice


def check_quantity(quantity: int, *, max_order_quantity: int) -> None:
    if not 1 <= quantity <= max_order_quantity:
        raise InvalidQuantity(low=1, high=max_order_quantity)


def _check_date(service_date: date, today: date, *, order_horizon_days: int) -> None:
    if service_date < today:
        raise DateInPast(date=service_date)
    if service_date > today + timedelta(days=order_horizon_days):
        raise DateTooFar(days=order_horizon_days)


def _check_open(
    site: SiteContext, service_date: date, slot: Slot, clock: Clock, *, programme_phone: str
) -> None:
    """Orders close at the slot's cutoff time, or earlier if staff locked the slot."""
    # _check_site passed: the site has the slot, so its cutoff time is known.
    closes = cutoff_at(cast(SlotTimes, site), service_date, clock.tz)
    if site.locked or clock.now() >= closes:
        phone = phone_to_call(programme_phone=programme_phone, site_phone=site.phone)
        raise CutoffPassed(slot=slot, date=service_date, cutoff=closes, phone=phone)


def _check_still_served(site: SiteContext, service_date: date, slot: Slot, clock: Clock) -> None:
    """A walk-in is served from what the kitchen made: after the meal's cutoff (or its early
    lock), on its day, until the end of its service window. Before the cutoff she orders as
    anyone does."""
    now = clock.now()
    closes = cutoff_at(cast(SlotTimes, site), service_date, clock.tz)
    ends = datetime.combine(service_date, cast(time, site.delivery_end), tzinfo=clock.tz)
    if now.date() != service_date or now >= ends:
        raise MealOver(slot=slot, date=service_date, end=ends)
    if not site.locked and now < closes:
        raise StillOrderable(slot=slot, date=service_date, cutoff=closes)


def _check_diet(elder: ElderContext | Elder, choice: MenuChoice) -> None:
    problem = diet_problem(
        profile_of_elder(elder.name, elder.texture, elder.diet_needs, elder.allergies), choice.meal
    )
    if problem is not None:
        raise problem


def _snapshot(choice: MenuChoice, quantity: int) -> dict[str, Any]:
    return {
        "menu_item_id": choice.item_id,
        "dish_id": choice.dish_id,
        "dish_name_zh": choice.name.zh,
        "dish_name_en": choice.name.en,
        "variant": choice.variant,
        "texture": choice.texture.value,
        "diet_tags": sorted(choice.diet_tags),
        "allergens": sorted(choice.allergens),
        "unit_price_fen": choice.price_fen,
        "quantity": quantity,
        "total_fen": choice.price_fen * quantity,
    }


_INSERTS: dict[str, Any] = {}


def _insert(session: Session, values: dict[str, Any]) -> int | None:
    """Insert an order, or nothing if a unique index says it exists: the database has the last
    word on duplicates, and a conflict leaves the transaction usable on both databases."""
    connection = session.connection()
    statement = _INSERTS.get(connection.dialect.name)
    if statement is None:
        statement = (
            upsert_insert(connection)(_order).on_conflict_do_nothing().returning(_order.c.id)
        )
        _INSERTS[connection.dialect.name] = statement
    return connection.execute(statement, values).scalar()


def _changeable_order(
    session: Session, clock: Clock, order_id: int, *, programme_phone: str
) -> Order:
    order = session.get(Order, order_id)
    if order is None:
        raise OrderNotFound(order_id=order_id)
    slot = Slot(order.slot)
    if order.status in LIVE:
        context = _context(
            session,
            elder_id=order.elder_id,
            site_id=order.site_id,
            service_date=order.service_date,
            slot=slot,
            dish_id=order.dish_id,
            variant=order.variant,
        )
        _check_open(
            _check_site(context.site, order.site_id, slot),
            order.service_date,
            slot,
            clock,
            programme_phone=programme_phone,
        )
    if order.status != OrderStatus.placed:
        raise OrderNotChangeable(status=OrderStatus(order.status))
    return order


@dataclass(frozen=True)
class SlotTally:
    """Orders and portions of one site's slot on one day, counted in the database."""

    site_id: int
    site_name: str
    kitchen_id: int | None
    slot: Slot
    orders: int
    portions: int
    by_status: dict[str, int]
    by_mode: dict[str, int]
    locked: bool


def day_tallies(*, session: Session, service_date: date) -> list[SlotTally]:
    """Live (not cancelled) orders per site and slot for a service day, with cutoff state."""
    rows = session.execute(
        sa.select(
            col(Order.site_id),
            col(Order.slot),
            col(Order.status),
            col(Order.mode),
            sa.func.count(),
            int_sum(Order.quantity),
        )
        .where(col(Order.service_date) == service_date, col(Order.status) != OrderStatus.cancelled)
        .group_by(col(Order.site_id), col(Order.slot), col(Order.status), col(Order.mode))
    ).all()
    locked = {
        (row.site_id, row.slot)
        for row in session.exec(select(SlotCutoff).where(SlotCutoff.service_date == service_date))
    }
    sites = {site.id: site for site in session.exec(select(Site))}
    tallies: dict[tuple[int, str], dict[str, Any]] = {}
    for site_id, slot, status, mode, count, portions in rows:
        tally = tallies.setdefault(
            (site_id, slot), {"orders": 0, "portions": 0, "by_status": {}, "by_mode": {}}
        )
        tally["orders"] += count
        tally["portions"] += portions
        tally["by_status"][status] = tally["by_status"].get(status, 0) + count
        tally["by_mode"][mode] = tally["by_mode"].get(mode, 0) + count
    return [
        SlotTally(
            site_id,
            sites[site_id].name,
            sites[site_id].kitchen_id,
            Slot(slot),
            locked=(site_id, slot) in locked,
            **values,
        )
        for (site_id, slot), values in sorted(
            tallies.items(), key=lambda item: (item[0][0], list(Slot).index(Slot(item[0][1])))
        )
    ]


@dataclass(frozen=True)
class BoardOrder:
    """One order on the staff orders board: who, what, where and how far it has got. No
    phone numbers or addresses: the board is shown to kitchen staff too."""

    order_id: int
    elder_id: int
    elder: str
    community_id: int
    site_id: int
    site: str
    slot: Slot
    dish_zh: str
    dish_en: str
    variant: str
    quantity: int
    mode: ServiceMode
    status: OrderStatus
    source: OrderSource
    total_fen: int
    diet_tags: list[str]
    allergens: list[str]


@dataclass(frozen=True)
class BoardMeal:
    """One site's meal on the board, with its orders counted by status (the whole day's, or
    the filter's, whatever page is shown)."""

    site_id: int
    site: str
    slot: Slot
    by_status: dict[str, int]

    @property
    def count(self) -> int:
        return sum(self.by_status.values())


@dataclass(frozen=True)
class BoardPage:
    """One page of a day's orders, and the counts of every meal the filter takes in."""

    meals: list[BoardMeal]
    orders: list[BoardOrder]
    total: int


# A page of the board is a hundred rows: their codes become members by a look-up, not by
# calling the enumeration (Slot("lunch")) four times a row.
_SLOTS = {slot.value: slot for slot in Slot}
_MODES = {mode.value: mode for mode in ServiceMode}
_STATUSES = {status.value: status for status in OrderStatus}
_SOURCES = {source.value: source for source in OrderSource}


@functools.cache
def _board_statements(
    site_ids: bool, community_ids: bool, site_id: bool, slot: bool, status: bool, paged: bool
) -> tuple[sa.Select[Any], sa.Select[Any]]:
    """The board's two statements (a day's counts, a page of its orders) for the filters in
    use, built once per process with their values bound at each call: building and keying
    them for SQLAlchemy's compiled cache cost more than the database's answer."""
    conditions: list[sa.ColumnElement[bool]] = [
        col(Order.service_date) == sa.bindparam("service_date")
    ]
    if site_ids:
        conditions.append(col(Order.site_id).in_(sa.bindparam("site_ids", expanding=True)))
    if community_ids:
        conditions.append(
            col(Elder.community_id).in_(sa.bindparam("community_ids", expanding=True))
        )
    if site_id:
        conditions.append(col(Order.site_id) == sa.bindparam("site_id"))
    if slot:
        conditions.append(col(Order.slot) == sa.bindparam("slot"))
    if status:
        conditions.append(col(Order.status) == sa.bindparam("status"))
    slot_order = sa.case({s.value: n for n, s in enumerate(Slot)}, value=Order.slot)

    def scoped(*columns: Any) -> sa.Select[*tuple[Any, ...]]:
        return (
            sa.select(*columns)
            .join(Elder, col(Elder.id) == Order.elder_id)
            .join(Site, col(Site.id) == Order.site_id)
            .where(*conditions)
        )

    counted = (
        scoped(
            col(Order.site_id).label("site_id"),
            col(Site.name).label("site"),
            col(Order.slot).label("slot"),
            col(Order.status).label("status"),
            sa.func.count().label("orders"),
        )
        .group_by(col(Order.site_id), col(Site.name), col(Order.slot), col(Order.status))
        .order_by(col(Site.name), col(Order.site_id), slot_order)
    )
    page = scoped(
        col(Order.id).label("order_id"),
        col(Order.elder_id).label("elder_id"),
        col(Elder.name).label("elder"),
        col(Elder.community_id).label("community_id"),
        col(Order.site_id).label("site_id"),
        col(Site.name).label("site"),
        col(Order.slot).label("slot"),
        col(Order.dish_name_zh).label("dish_zh"),
        col(Order.dish_name_en).label("dish_en"),
        col(Order.variant).label("variant"),
        col(Order.quantity).label("quantity"),
        col(Order.mode).label("mode"),
        col(Order.status).label("status"),
        col(Order.source).label("source"),
        col(Order.total_fen).label("total_fen"),
        col(Order.diet_tags).label("diet_tags"),
        col(Order.allergens).label("allergens"),
    ).order_by(col(Site.name), col(Order.site_id), slot_order, col(Elder.name), col(Order.id))
    if paged:
        page = page.limit(sa.bindparam("limit")).offset(sa.bindparam("offset"))
    else:
        page = page.offset(sa.bindparam("offset"))
    return counted, page


def orders_board(
    *,
    session: Session,
    service_date: date,
    site_ids: set[int] | None = None,
    community_ids: set[int] | None = None,
    site_id: int | None = None,
    slot: Slot | None = None,
    status: OrderStatus | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> BoardPage:
    """A day's orders (cancelled ones too) by site and slot, optionally only at some sites or
    only of elders living in some communities (the caller's scope), one meal or one status.
    A city's day is thousands of orders: the database counts them and hands over one page,
    in a stable order (site, meal, elder, order)."""
    counted_statement, rows_statement = _board_statements(
        site_ids is not None,
        community_ids is not None,
        site_id is not None,
        slot is not None,
        status is not None,
        limit is not None,
    )
    values: dict[str, Any] = {
        "service_date": service_date,
        "site_ids": list(site_ids or [-1]),
        "community_ids": list(community_ids or [-1]),
        "site_id": site_id,
        "slot": slot.value if slot is not None else None,
        "status": status.value if status is not None else None,
        "limit": limit,
        "offset": offset,
    }
    counted = session.execute(counted_statement, values).all()
    meals: dict[tuple[int, str], BoardMeal] = {}
    for row in counted:
        meal = meals.setdefault(
            (row.site_id, row.slot), BoardMeal(row.site_id, row.site, Slot(row.slot), {})
        )
        meal.by_status[row.status] = row.orders
    orders = [
        BoardOrder(
            order_id=row.order_id,
            elder_id=row.elder_id,
            elder=row.elder,
            community_id=row.community_id,
            site_id=row.site_id,
            site=row.site,
            slot=_SLOTS[row.slot],
            dish_zh=row.dish_zh,
            dish_en=row.dish_en,
            variant=row.variant,
            quantity=row.quantity,
            mode=_MODES[row.mode],
            status=_STATUSES[row.status],
            source=_SOURCES[row.source],
            total_fen=row.total_fen,
            diet_tags=list(row.diet_tags or []),
            allergens=list(row.allergens or []),
        )
        for row in session.execute(rows_statement, values)
    ]
    return BoardPage(list(meals.values()), orders, sum(m.count for m in meals.values()))


def kitchen_site_ids(*, session: Session, kitchen_id: int) -> set[int]:
    """The sites a central kitchen cooks for (itself included)."""
    return {
        saved(site_id)
        for site_id in session.exec(
            select(col(Site.id)).where(
                sa.or_(col(Site.kitchen_id) == kitchen_id, col(Site.id) == kitchen_id)
            )
        )
    }


# Digits that make a search a search by phone (as usecases.phone_search.MIN_DIGITS): fewer
# are an elder number.
PHONE_DIGITS = 4


@dataclass(frozen=True)
class OrderableElder:
    id: int
    name: str
    community_id: int
    # Told apart from another of her name on the phone-in form.
    community: str = ""
    age: int = 0
    id_tail: str | None = None


def orderable_elders(
    *,
    session: Session,
    community_ids: set[int] | None = None,
    on: date,
    query: str | None = None,
    elder_id: int | None = None,
    limit: int | None = None,
) -> list[OrderableElder]:
    """Active elders staff may order for by phone, by name (only some communities' if given),
    with their community, age (on `on`) and ID card number's last four; `query` narrows them
    to a name (part), digits of their phone (at least `PHONE_DIGITS`: the surface checks such
    a search first, usecases.phone_search), the last four characters of an ID number or an
    elder number; `elder_id` to the one chosen. At most `limit` of them."""
    query_of = (
        sa.select(
            col(Elder.id),
            col(Elder.name),
            col(Elder.community_id),
            col(Community.name),
            col(Elder.birth_date),
            col(Elder.id_number_tail),
        )
        .join(Community, col(Community.id) == Elder.community_id)
        .where(col(Elder.status) == ElderStatus.active)
    )
    if community_ids is not None:
        query_of = query_of.where(col(Elder.community_id).in_(community_ids or [-1]))
    if elder_id is not None:
        query_of = query_of.where(col(Elder.id) == elder_id)
    text = re.sub(r"[\x00-\x1f]", "", query or "").strip()[:64]
    if text:
        found_by = col(Elder.name).icontains(text, autoescape=True)
        tail = id_tail_of(text)
        if tail:
            found_by = found_by | (col(Elder.id_number_tail) == tail)
        if text.isdigit() and int(text) <= MAX_ID:
            found_by = found_by | (col(Elder.id) == int(text))
        digits = re.sub(r"\D", "", text)
        if re.fullmatch(r"[+\d\s-]+", text) and len(digits) >= PHONE_DIGITS:
            # Phones are stored as typed ("139 1234 5678"): compare digits only.
            stored = sa.func.replace(sa.func.replace(col(Elder.phone), " ", ""), "-", "")
            found_by = found_by | stored.contains(digits, autoescape=True)
        query_of = query_of.where(found_by)
    if limit is not None:
        query_of = query_of.limit(limit)
    return [
        OrderableElder(elder_id, name, community_id, community, age_on(born, on), tail)
        for elder_id, name, community_id, community, born, tail in session.execute(
            query_of.order_by(col(Elder.name), col(Elder.id))
        )
    ]


def day_menu_items(
    *, session: Session, service_date: date, site_ids: set[int] | None = None
) -> list[tuple[int, str, Slot, MenuChoice]]:
    """Every menu item of a day across sites (for the phone-in form), by site, slot, position."""
    query = (
        sa.select(col(Site.id), col(Site.name), _menu.c.slot, *CHOICE_COLUMNS)
        .select_from(
            _item.join(_menu, _menu.c.id == _item.c.menu_id)
            .join(_dish, _dish.c.id == _item.c.dish_id)
            .join(_site, _site.c.id == _menu.c.site_id)
        )
        .where(_menu.c.service_date == service_date)
    )
    if site_ids is not None:
        query = query.where(_menu.c.site_id.in_(site_ids or [-1]))
    slots = list(Slot)
    rows = [
        (row.id, row.name, Slot(row.slot), choice_from_row(row))
        for row in session.execute(query).all()
    ]
    return sorted(rows, key=lambda r: (r[1], slots.index(r[2]), r[3].position, r[3].item_id))
