"""Placing, changing, cancelling and repeating orders, and locking a slot at its cutoff.
Every ordering rule is checked here, once, for the bot, the pages, the API and the CLI."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated

import sqlalchemy as sa
from pydantic import Field
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from core.clock import Clock
from core.diet import diet_problem, profile_of_elder, suits
from core.elders import get_elder, is_paused
from core.errors import (
    AlreadyOrdered,
    CutoffNotYet,
    CutoffPassed,
    DateInPast,
    DateTooFar,
    DuplicateRequest,
    ElderInactive,
    ElderPaused,
    InvalidQuantity,
    ModeNotOffered,
    NothingToRepeat,
    NotOnMenu,
    OrderNotChangeable,
    OrderNotFound,
    OutsideServiceArea,
)
from core.menus import MenuChoice, menu_choices
from core.models import Dish, Elder, MealSlot, Menu, MenuItem, Order, Site, SlotCutoff
from core.settings import get_settings
from core.sites import cutoff_at, get_site, get_slot, serves
from core.types import ElderStatus, OrderSource, OrderStatus, ServiceMode, Slot
from core.validation import service

IdempotencyKey = Annotated[str, Field(min_length=1, max_length=128)]
Variant = Annotated[str, Field(min_length=1, max_length=24)]

LIVE = (OrderStatus.placed, OrderStatus.locked)


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
) -> Order:
    """Place one order after checking every rule; refuse with a typed error and write nothing."""
    return _place(
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
        at_cutoff=False,
    )


def _place(
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
    at_cutoff: bool,
) -> Order:
    existing = _order_by_key(session, idempotency_key)
    if existing is not None:
        raise DuplicateRequest(order_id=existing.id)
    _check_quantity(quantity)
    elder = _orderable_elder(session, elder_id, service_date)
    now = clock.now()
    _check_date(service_date, now.date())
    site = get_site(session=session, site_id=site_id)
    meal_slot = get_slot(session=session, site=site, slot=slot)
    chosen_mode = ServiceMode(mode or elder.service_mode)
    _check_mode(site, chosen_mode)
    if not at_cutoff:
        _check_open(session, meal_slot, service_date, now)
    if not serves(session=session, site_id=site.id, community_id=elder.community_id):
        raise OutsideServiceArea(name=elder.name, site=site.name)
    choice = _menu_choice(session, site.id, service_date, slot, dish_id, variant)
    _check_diet(elder, choice)
    if _live_order(session, elder.id, service_date, slot) is not None:
        raise AlreadyOrdered(name=elder.name, slot=slot, date=service_date)
    order = Order(
        elder_id=elder.id,
        site_id=site.id,
        service_date=service_date,
        slot=slot,
        mode=chosen_mode,
        status=OrderStatus.placed,
        source=source,
        idempotency_key=idempotency_key,
        standing_order_id=standing_order_id,
        placed_by_chat_user_id=placed_by_chat_user_id,
        ordered_at=now,
        updated_at=now,
        **_snapshot(choice, quantity),
    )
    _insert(session, order, elder, service_date, slot)
    return order


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
) -> Order:
    """Change the dish, variant, portions or delivery mode of an order before its cutoff."""
    order = _changeable_order(session, clock, order_id)
    elder = _orderable_elder(session, order.elder_id, order.service_date)
    new_quantity = order.quantity if quantity is None else quantity
    _check_quantity(new_quantity)
    if mode is not None:
        _check_mode(get_site(session=session, site_id=order.site_id), mode)
        order.mode = mode
    if dish_id is not None or variant is not None:
        choice = _menu_choice(
            session,
            order.site_id,
            order.service_date,
            Slot(order.slot),
            dish_id if dish_id is not None else order.dish_id,
            variant if variant is not None else order.variant,
        )
        _check_diet(elder, choice)
    else:
        choice = None
    if choice is not None:
        for name, value in _snapshot(choice, new_quantity).items():
            setattr(order, name, value)
    else:
        order.quantity = new_quantity
        order.total_fen = order.unit_price_fen * new_quantity
    order.updated_at = clock.now()
    session.add(order)
    session.flush()
    return order


@service
def cancel_order(*, session: Session, clock: Clock, order_id: int) -> Order:
    """Cancel an order before its cutoff."""
    order = _changeable_order(session, clock, order_id)
    now = clock.now()
    order.status = OrderStatus.cancelled
    order.cancelled_at = now
    order.updated_at = now
    session.add(order)
    session.flush()
    return order


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
) -> Order:
    """Order again what the elder last had: the same dish if it is on the menu, otherwise the
    same set (menu position) in the same variant, at the same site and in the same way."""
    elder = get_elder(session=session, elder_id=elder_id)
    query = select(Order).where(Order.elder_id == elder_id, Order.status != OrderStatus.cancelled)
    if slot is not None:
        query = query.where(Order.slot == slot)
    last = session.exec(
        query.order_by(col(Order.service_date).desc(), col(Order.ordered_at).desc())
    ).first()
    if last is None:
        raise NothingToRepeat(name=elder.name)
    target_slot = Slot(slot or last.slot)
    choices = menu_choices(
        session=session, site_id=last.site_id, service_date=service_date, slot=target_slot
    )
    choice = _closest_choice(session, last, choices, elder)
    return place_order(
        session=session,
        clock=clock,
        elder_id=elder_id,
        site_id=last.site_id,
        service_date=service_date,
        slot=target_slot,
        dish_id=choice.dish.id,
        variant=choice.item.variant,
        quantity=last.quantity,
        mode=ServiceMode(last.mode),
        idempotency_key=idempotency_key,
        source=source,
        placed_by_chat_user_id=placed_by_chat_user_id,
    )


@dataclass(frozen=True)
class CutoffResult:
    site_id: int
    service_date: date
    slot: Slot
    locked_at: datetime
    orders_locked: int
    standing_orders_placed: int
    already_done: bool


@service
def run_cutoff(
    *,
    session: Session,
    clock: Clock,
    site_id: int,
    service_date: date,
    slot: Slot,
    early: bool = False,
) -> CutoffResult:
    """Close a slot: materialise its standing orders, then lock every placed order. Running it
    again changes nothing. Before the cutoff time it refuses unless `early` is given."""
    from core.standing import materialise_standing_orders  # standing orders place through here

    site = get_site(session=session, site_id=site_id)
    meal_slot = get_slot(session=session, site=site, slot=slot)
    done = _cutoff_record(session, site_id, service_date, slot)
    if done is not None:
        return CutoffResult(
            site_id,
            service_date,
            slot,
            done.locked_at,
            done.orders_locked,
            done.standing_orders_placed,
            already_done=True,
        )
    now = clock.now()
    closes = cutoff_at(meal_slot, service_date, clock.tz)
    if now < closes and not early:
        raise CutoffNotYet(slot=slot, date=service_date, cutoff=closes)
    placed = materialise_standing_orders(
        session=session, clock=clock, site_id=site_id, service_date=service_date, slot=slot
    )
    locked = session.execute(
        sa.update(Order)
        .where(
            Order.site_id == site_id,
            Order.service_date == service_date,
            Order.slot == slot,
            Order.status == OrderStatus.placed,
        )
        .values(status=OrderStatus.locked, locked_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    record = SlotCutoff(
        site_id=site_id,
        service_date=service_date,
        slot=slot,
        locked_at=now,
        orders_locked=locked,
        standing_orders_placed=len(placed.placed),
    )
    session.add(record)
    session.flush()
    session.expire_all()
    return CutoffResult(site_id, service_date, slot, now, locked, len(placed.placed), False)


def due_cutoffs(*, session: Session, clock: Clock, service_date: date) -> list[tuple[int, Slot]]:
    """The (site, slot) pairs of a service day whose cutoff time has come but are not locked."""
    now = clock.now()
    locked = {
        (row.site_id, row.slot)
        for row in session.exec(select(SlotCutoff).where(SlotCutoff.service_date == service_date))
    }
    due = []
    for meal_slot in session.exec(select(MealSlot).order_by(MealSlot.site_id, MealSlot.id)):
        key = (meal_slot.site_id, Slot(meal_slot.slot))
        if key not in locked and cutoff_at(meal_slot, service_date, clock.tz) <= now:
            due.append(key)
    return due


def orders_for(
    *, session: Session, service_date: date, slot: Slot | None = None, site_id: int | None = None
) -> list[Order]:
    query = select(Order).where(Order.service_date == service_date)
    if slot is not None:
        query = query.where(Order.slot == slot)
    if site_id is not None:
        query = query.where(Order.site_id == site_id)
    return list(session.exec(query.order_by(Order.site_id, Order.slot, Order.id)))


# -- the rules, each in one place ------------------------------------------------------------


def _order_by_key(session: Session, key: str) -> Order | None:
    return session.exec(select(Order).where(Order.idempotency_key == key)).first()


def _check_quantity(quantity: int) -> None:
    high = get_settings().max_order_quantity
    if not 1 <= quantity <= high:
        raise InvalidQuantity(low=1, high=high)


def _orderable_elder(session: Session, elder_id: int, service_date: date) -> Elder:
    elder = get_elder(session=session, elder_id=elder_id)
    if elder.status != ElderStatus.active:
        raise ElderInactive(name=elder.name)
    if is_paused(session=session, elder_id=elder_id, on=service_date):
        raise ElderPaused(name=elder.name, date=service_date)
    return elder


def _check_date(service_date: date, today: date) -> None:
    if service_date < today:
        raise DateInPast(date=service_date)
    horizon = get_settings().order_horizon_days
    if service_date > today + timedelta(days=horizon):
        raise DateTooFar(days=horizon)


def _check_mode(site: Site, mode: ServiceMode) -> None:
    offered = {
        ServiceMode.delivery: site.offers_delivery,
        ServiceMode.pickup: site.offers_pickup,
        ServiceMode.dine_in: site.offers_dine_in,
    }[mode]
    if not offered:
        raise ModeNotOffered(site=site.name, mode=mode)


def _cutoff_record(session: Session, site_id: int, service_date: date, slot: str):
    return session.exec(
        select(SlotCutoff).where(
            SlotCutoff.site_id == site_id,
            SlotCutoff.service_date == service_date,
            SlotCutoff.slot == slot,
        )
    ).first()


def _check_open(session: Session, meal_slot: MealSlot, service_date: date, now: datetime) -> None:
    closes = cutoff_at(meal_slot, service_date, now.tzinfo)  # type: ignore[arg-type]  # clock's zone
    if now >= closes or _cutoff_record(session, meal_slot.site_id, service_date, meal_slot.slot):
        raise CutoffPassed(
            slot=Slot(meal_slot.slot),
            date=service_date,
            cutoff=closes,
            phone=session.get(Site, meal_slot.site_id).phone,  # type: ignore[union-attr]
        )


def _menu_choice(
    session: Session, site_id: int, service_date: date, slot: Slot, dish_id: int, variant: str
) -> MenuChoice:
    row = session.exec(
        select(MenuItem, Dish)
        .join(Menu, Menu.id == MenuItem.menu_id)
        .join(Dish, Dish.id == MenuItem.dish_id)
        .where(
            Menu.site_id == site_id,
            Menu.service_date == service_date,
            Menu.slot == slot,
            MenuItem.dish_id == dish_id,
            MenuItem.variant == variant,
        )
    ).first()
    if row is None:
        raise NotOnMenu(slot=slot, date=service_date)
    return MenuChoice(*row)


def _check_diet(elder: Elder, choice: MenuChoice) -> None:
    problem = diet_problem(
        profile_of_elder(elder.name, elder.texture, elder.diet_needs, elder.allergies), choice.meal
    )
    if problem is not None:
        raise problem


def _live_order(session: Session, elder_id: int, service_date: date, slot: str) -> Order | None:
    return session.exec(
        select(Order).where(
            Order.elder_id == elder_id,
            Order.service_date == service_date,
            Order.slot == slot,
            Order.status != OrderStatus.cancelled,
        )
    ).first()


def _snapshot(choice: MenuChoice, quantity: int) -> dict:
    return {
        "menu_item_id": choice.item.id,
        "dish_id": choice.dish.id,
        "dish_name_zh": choice.dish.name_zh,
        "dish_name_en": choice.dish.name_en,
        "variant": choice.item.variant,
        "texture": choice.item.texture,
        "diet_tags": sorted(choice.meal.diet_tags),
        "allergens": sorted(choice.meal.allergens),
        "unit_price_fen": choice.item.price_fen,
        "quantity": quantity,
        "total_fen": choice.item.price_fen * quantity,
    }


def _insert(session: Session, order: Order, elder: Elder, service_date: date, slot: Slot) -> None:
    # The database has the last word on duplicates: two racing requests cannot both insert.
    try:
        with session.begin_nested():
            session.add(order)
            session.flush()
    except IntegrityError:
        existing = _order_by_key(session, order.idempotency_key)
        if existing is not None:
            raise DuplicateRequest(order_id=existing.id) from None
        raise AlreadyOrdered(name=elder.name, slot=slot, date=service_date) from None


def _changeable_order(session: Session, clock: Clock, order_id: int) -> Order:
    order = session.get(Order, order_id)
    if order is None:
        raise OrderNotFound(order_id=order_id)
    if order.status == OrderStatus.locked:
        site = get_site(session=session, site_id=order.site_id)
        meal_slot = get_slot(session=session, site=site, slot=Slot(order.slot))
        raise CutoffPassed(
            slot=Slot(order.slot),
            date=order.service_date,
            cutoff=cutoff_at(meal_slot, order.service_date, clock.tz),
            phone=site.phone,
        )
    if order.status != OrderStatus.placed:
        raise OrderNotChangeable(status=OrderStatus(order.status))
    site = get_site(session=session, site_id=order.site_id)
    meal_slot = get_slot(session=session, site=site, slot=Slot(order.slot))
    _check_open(session, meal_slot, order.service_date, clock.now())
    return order


def _closest_choice(
    session: Session, last: Order, choices: list[MenuChoice], elder: Elder
) -> MenuChoice:
    profile = profile_of_elder(elder.name, elder.texture, elder.diet_needs, elder.allergies)
    position = None
    if last.menu_item_id is not None:
        previous = session.get(MenuItem, last.menu_item_id)
        position = previous.position if previous is not None else None

    def rank(choice: MenuChoice) -> tuple[bool, bool, bool, bool]:
        same_dish = choice.dish.id == last.dish_id
        same_variant = choice.item.variant == last.variant
        same_position = choice.item.position == position
        return (
            not suits(profile, choice.meal),
            not (same_dish and same_variant),
            not (same_position and same_variant),
            not same_variant,
        )

    return min(choices, key=rank)


@dataclass(frozen=True)
class SlotTally:
    """Orders and portions of one site's slot on one day, counted in the database."""

    site_id: int
    site_name: str
    slot: Slot
    orders: int
    portions: int
    by_status: dict[str, int]
    by_mode: dict[str, int]
    locked: bool


def day_tallies(*, session: Session, service_date: date) -> list[SlotTally]:
    """Live (not cancelled) orders per site and slot for a service day, with cutoff state."""
    rows = session.execute(
        sa.select(Order.site_id, Order.slot, Order.status, Order.mode,
                  sa.func.count(), sa.func.sum(Order.quantity))
        .where(Order.service_date == service_date, Order.status != OrderStatus.cancelled)
        .group_by(Order.site_id, Order.slot, Order.status, Order.mode)
    ).all()
    locked = {
        (row.site_id, row.slot)
        for row in session.exec(select(SlotCutoff).where(SlotCutoff.service_date == service_date))
    }
    names = {site.id: site.name for site in session.exec(select(Site))}
    tallies: dict[tuple[int, str], dict] = {}
    for site_id, slot, status, mode, count, portions in rows:
        tally = tallies.setdefault((site_id, slot), {"orders": 0, "portions": 0,
                                                     "by_status": {}, "by_mode": {}})
        tally["orders"] += count
        tally["portions"] += portions
        tally["by_status"][status] = tally["by_status"].get(status, 0) + count
        tally["by_mode"][mode] = tally["by_mode"].get(mode, 0) + count
    return [
        SlotTally(site_id, names[site_id], Slot(slot), locked=(site_id, slot) in locked, **values)
        for (site_id, slot), values in sorted(tallies.items())
    ]
