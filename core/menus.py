"""Dishes and daily menus: what a site serves per slot and day, in which variants and prices."""

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from core.diet import DietProfile, MealProfile, style_distance, suits
from core.errors import (
    AlreadyExists,
    DishNotFound,
    InvalidInput,
    MenuItemHasOrders,
    MenuItemNotFound,
    NoMenu,
    VariantNotOfDish,
)
from core.i18n import Bilingual
from core.models import Dish, MealSlot, Menu, MenuItem, Order, saved, table_of
from core.schemas import DishCreate, DishUpdate, MenuItemCreate, MenuItemUpdate
from core.sites import get_site, get_slot
from core.types import DietTag, Slot, Texture, code_name
from core.validation import NOT_A_PRICE, FieldName, service

# The most a meal may cost (as MenuItemCreate allows): ¥100,000.00.
MAX_PRICE_FEN = 100_000_00


def price_fen_from_yuan(text: str, field_code: str = "price") -> int:
    """A price as people type it in yuan ("12.5", "¥12.50", "12") as integer fen, exactly:
    parsed as a Decimal, never a float, and refused if it has more than two decimals, is
    negative or is not a number."""
    cleaned = text.strip().replace("¥", "").replace("￥", "").replace(",", "").strip()
    try:
        yuan = Decimal(cleaned)
    except InvalidOperation:
        yuan = None
    if (
        yuan is None
        or not yuan.is_finite()
        or yuan < 0
        or yuan.as_tuple().exponent < -2  # type: ignore[operator]  # an int: yuan is finite
        or yuan * 100 > MAX_PRICE_FEN
    ):
        raise InvalidInput(
            field=FieldName("price"), problem=FieldName(NOT_A_PRICE), field_code=field_code
        )
    return int(yuan * 100)


@service
def create_dish(*, session: Session, dish_in: DishCreate) -> Dish:
    if session.exec(select(Dish.id).where(Dish.code == dish_in.code)).first() is not None:
        raise AlreadyExists(value=dish_in.code)
    dish = Dish(**dish_in.model_dump(mode="json"))
    session.add(dish)
    session.flush()
    return dish


def get_dish(*, session: Session, dish_id: int) -> Dish:
    dish = session.get(Dish, dish_id)
    if dish is None:
        raise DishNotFound(dish_id=dish_id)
    return dish


@service
def update_dish(*, session: Session, dish_id: int, dish_in: DishUpdate) -> Dish:
    """Change a dish's names, allergens, diets and variants. Menu items and orders keep the
    variants they were given; orders keep the dish as it was when ordered (their snapshot)."""
    dish = get_dish(session=session, dish_id=dish_id)
    for name, value in dish_in.model_dump(mode="json").items():
        setattr(dish, name, value)
    session.add(dish)
    session.flush()
    return dish


def list_dishes(*, session: Session) -> list[Dish]:
    return list(session.exec(select(Dish).order_by(Dish.code)))


@service
def publish_menu(
    *, session: Session, site_id: int, service_date: date, slot: Slot, items: list[MenuItemCreate]
) -> Menu:
    """Create (or replace the items of) a site's menu for one slot of one day. Each item is
    checked as one added alone is (add_menu_item): a dish with variants is offered only in
    those, and a dish's variant once."""
    get_slot(session=session, site=get_site(session=session, site_id=site_id), slot=slot)
    dishes = {}
    for dish_id in {item.dish_id for item in items}:
        dish = session.get(Dish, dish_id)
        if dish is None:
            raise DishNotFound(dish_id=dish_id)
        dishes[dish_id] = dish
    items = [_check_variant(dishes[item.dish_id], item) for item in items]
    offered: set[tuple[int, str]] = set()
    for item_in in items:
        if (item_in.dish_id, item_in.variant) in offered:
            dish = dishes[item_in.dish_id]
            raise AlreadyExists(value=f"{dish.name_zh} · {item_in.variant}", field_code="variant")
        offered.add((item_in.dish_id, item_in.variant))
    menu = session.exec(
        select(Menu).where(
            Menu.site_id == site_id, Menu.service_date == service_date, Menu.slot == slot
        )
    ).first()
    if menu is None:
        menu = Menu(site_id=site_id, service_date=service_date, slot=slot)
        session.add(menu)
        session.flush()
    else:
        olds = list(session.exec(select(MenuItem).where(MenuItem.menu_id == menu.id)))
        # Orders point at their menu item: a menu that has been ordered from is changed item
        # by item (add_menu_item, update_menu_item), never replaced.
        ordered = session.exec(
            select(Order.menu_item_id).where(col(Order.menu_item_id).in_([o.id for o in olds]))
        ).first()
        if ordered is not None:
            item = next(o for o in olds if o.id == ordered)
            dish = session.get_one(Dish, item.dish_id)
            raise MenuItemHasOrders(
                dish=Bilingual(dish.name_zh, dish.name_en), variant=item.variant
            )
        for old in olds:
            session.delete(old)
        session.flush()
    for item_in in items:
        session.add(MenuItem(menu_id=saved(menu.id), **item_in.model_dump()))
    session.flush()
    return menu


def _menu_for(session: Session, site_id: int, service_date: date, slot: Slot) -> Menu | None:
    return session.exec(
        select(Menu).where(
            Menu.site_id == site_id, Menu.service_date == service_date, Menu.slot == slot
        )
    ).first()


@dataclass(frozen=True)
class VariantNames:
    """Variant codes as the reader says them ("low_salt" -> 少盐): the usual variants are a
    texture or a diet, and their codes are those of the texture or diet."""

    codes: tuple[str, ...]

    def in_locale(self, locale: str) -> str:
        return ("、" if locale == "zh_CN" else ", ").join(
            code_name(code, locale) for code in self.codes
        )


def _check_variant(dish: Dish, item_in: MenuItemCreate) -> MenuItemCreate:
    """A dish with variants defined is offered only in those; texture and diets given with the
    item win, else the variant's own are used."""
    if not dish.variants:
        return item_in
    variants = {variant["code"]: variant for variant in dish.variants}
    variant = variants.get(item_in.variant)
    if variant is None:
        raise VariantNotOfDish(
            dish=Bilingual(dish.name_zh, dish.name_en),
            variant=VariantNames((item_in.variant,)),
            variants=VariantNames(tuple(variants)),
            field_code="variant",
        )
    given = item_in.model_fields_set
    return item_in.model_copy(
        update={
            "texture": item_in.texture if "texture" in given else Texture(variant["texture"]),
            "diet_tags": item_in.diet_tags
            if "diet_tags" in given
            else [DietTag(tag) for tag in variant["diet_tags"]],
        }
    )


@service
def add_menu_item(
    *, session: Session, site_id: int, service_date: date, slot: Slot, item_in: MenuItemCreate
) -> MenuItem:
    """Put one dish variant on a site's menu for a slot and day (making the menu if needed)."""
    get_slot(session=session, site=get_site(session=session, site_id=site_id), slot=slot)
    dish = get_dish(session=session, dish_id=item_in.dish_id)
    item_in = _check_variant(dish, item_in)
    menu = _menu_for(session, site_id, service_date, slot)
    if menu is None:
        menu = Menu(site_id=site_id, service_date=service_date, slot=slot)
        session.add(menu)
        session.flush()
    elif session.exec(
        select(MenuItem.id).where(
            MenuItem.menu_id == menu.id,
            MenuItem.dish_id == dish.id,
            MenuItem.variant == item_in.variant,
        )
    ).first():
        raise AlreadyExists(value=f"{dish.name_zh} · {item_in.variant}", field_code="variant")
    item = MenuItem(menu_id=saved(menu.id), **item_in.model_dump(mode="json"))
    session.add(item)
    session.flush()
    return item


@service
def update_menu_item(*, session: Session, item_id: int, item_in: MenuItemUpdate) -> MenuItem:
    """Change a menu item in place. Orders already placed keep the price they were quoted
    (each order stores its own unit price); only new orders and changes pay the new price."""
    item = session.get(MenuItem, item_id)
    if item is None:
        raise MenuItemNotFound(item_id=item_id)
    for name, value in item_in.model_dump(mode="json", exclude_none=True).items():
        setattr(item, name, value)
    session.add(item)
    session.flush()
    return item


@service
def remove_menu_item(*, session: Session, item_id: int) -> None:
    """Take an item off a menu; refused once it has been ordered (orders point at it)."""
    item = session.get(MenuItem, item_id)
    if item is None:
        raise MenuItemNotFound(item_id=item_id)
    if session.exec(select(Order.id).where(Order.menu_item_id == item_id)).first() is not None:
        dish = session.get_one(Dish, item.dish_id)
        raise MenuItemHasOrders(dish=Bilingual(dish.name_zh, dish.name_en), variant=item.variant)
    menu_id = item.menu_id
    session.delete(item)
    session.flush()
    if session.exec(select(MenuItem.id).where(MenuItem.menu_id == menu_id)).first() is None:
        session.delete(session.get(Menu, menu_id))
        session.flush()


def week_of(day: date) -> date:
    """The Monday of the week a day is in."""
    return day - timedelta(days=day.weekday())


@dataclass(frozen=True)
class CopiedWeek:
    week: date
    copied: list[tuple[date, Slot]]
    kept: list[tuple[date, Slot]]


@service
def copy_last_week(*, session: Session, site_id: int, week: date) -> CopiedWeek:
    """Copy a site's menus of the week before `week` (any day of it) into that week, day by
    day and meal by meal. A day's meal that already has a menu keeps it: nothing is overwritten."""
    site = get_site(session=session, site_id=site_id)
    monday = week_of(week)
    slots = [
        Slot(row) for row in session.exec(select(MealSlot.slot).where(MealSlot.site_id == site.id))
    ]
    existing = {
        (menu.service_date, Slot(menu.slot))
        for menu in session.exec(
            select(Menu).where(
                Menu.site_id == site_id,
                Menu.service_date >= monday,
                Menu.service_date < monday + timedelta(days=7),
            )
        )
    }
    copied, kept = [], []
    for offset in range(7):
        day = monday + timedelta(days=offset)
        for slot in sorted(slots, key=list(Slot).index):
            source = _menu_for(session, site_id, day - timedelta(days=7), slot)
            if source is None:
                continue
            if (day, slot) in existing:
                kept.append((day, slot))
                continue
            menu = Menu(site_id=site_id, service_date=day, slot=slot)
            session.add(menu)
            session.flush()
            for old in session.exec(
                select(MenuItem).where(MenuItem.menu_id == source.id).order_by(col(MenuItem.id))
            ):
                session.add(
                    MenuItem(
                        menu_id=saved(menu.id),
                        dish_id=old.dish_id,
                        position=old.position,
                        variant=old.variant,
                        texture=old.texture,
                        diet_tags=list(old.diet_tags),
                        price_fen=old.price_fen,
                    )
                )
            copied.append((day, slot))
    session.flush()
    return CopiedWeek(monday, copied, kept)


@dataclass
class MenuOfDay:
    """One site's menu for a slot and day as the admin pages show it."""

    menu_id: int
    service_date: date
    slot: Slot
    items: list["MenuChoice"] = field(default_factory=list)
    ordered_item_ids: set[int] = field(default_factory=set)


def site_menus(*, session: Session, site_id: int, first: date, last: date) -> list[MenuOfDay]:
    """A site's menus from `first` to `last`, by day and meal, items in menu order."""
    days = [
        MenuOfDay(saved(menu.id), menu.service_date, Slot(menu.slot))
        for menu in session.exec(
            select(Menu).where(
                Menu.site_id == site_id, Menu.service_date >= first, Menu.service_date <= last
            )
        )
    ]
    menus = {day.menu_id: day for day in days}
    if not menus:
        return []
    rows = session.execute(
        sa.select(_item.c.menu_id, *CHOICE_COLUMNS)
        .select_from(_item.join(_dish, _dish.c.id == _item.c.dish_id))
        .where(_item.c.menu_id.in_(list(menus)))
        .order_by(_item.c.position, _item.c.dish_id, _item.c.id)
    ).all()
    for row in rows:
        menus[row.menu_id].items.append(choice_from_row(row))
    ordered = session.execute(
        sa.select(col(Order.menu_item_id))
        .where(col(Order.menu_item_id).in_([c.item_id for m in menus.values() for c in m.items]))
        .distinct()
    ).scalars()
    ordered_ids = set(ordered)
    for menu in menus.values():
        menu.ordered_item_ids = {c.item_id for c in menu.items} & ordered_ids
    return sorted(menus.values(), key=lambda m: (m.service_date, list(Slot).index(m.slot)))


@dataclass(frozen=True)
class MenuChoice:
    """A menu item as surfaces show it and orders snapshot it: dish, variant, price."""

    item_id: int
    dish_id: int
    name: Bilingual
    variant: str
    texture: Texture
    diet_tags: frozenset[str]
    allergens: frozenset[str]
    price_fen: int
    position: int

    @property
    def meal(self) -> MealProfile:
        return MealProfile(self.name, self.texture, self.diet_tags, self.allergens)


_item, _dish, _menu = table_of(MenuItem), table_of(Dish), table_of(Menu)

# Labelled, and read back by label (choice_from_row): a query may put them among its own
# columns in any order.
CHOICE_COLUMNS = (
    _item.c.id.label("item_id"),
    _dish.c.id.label("dish_id"),
    _dish.c.name_zh.label("dish_zh"),
    _dish.c.name_en.label("dish_en"),
    _item.c.variant.label("variant"),
    _item.c.texture.label("texture"),
    _item.c.diet_tags.label("item_tags"),
    _dish.c.diet_tags.label("dish_tags"),
    _dish.c.allergens.label("allergens"),
    _item.c.price_fen.label("price_fen"),
    _item.c.position.label("position"),
)
ALL_CHOICES = (
    sa.select(*CHOICE_COLUMNS)
    .select_from(
        _item.join(_menu, _menu.c.id == _item.c.menu_id).join(_dish, _dish.c.id == _item.c.dish_id)
    )
    .where(
        _menu.c.site_id == sa.bindparam("site_id"),
        _menu.c.service_date == sa.bindparam("service_date"),
        _menu.c.slot == sa.bindparam("slot"),
    )
    .order_by(_item.c.position, _item.c.dish_id, _item.c.id)
)


def choice_from_row(row: sa.Row[*tuple[Any, ...]]) -> MenuChoice:
    """The menu choice in a row that holds CHOICE_COLUMNS (among any others)."""
    return MenuChoice(
        row.item_id,
        row.dish_id,
        Bilingual(row.dish_zh, row.dish_en),
        row.variant,
        Texture(row.texture),
        frozenset(row.item_tags) | frozenset(row.dish_tags),
        frozenset(row.allergens),
        row.price_fen,
        row.position,
    )


def menu_choices(
    *, session: Session, site_id: int, service_date: date, slot: Slot
) -> list[MenuChoice]:
    """Everything on a site's menu for one slot and day, in menu order."""
    rows = session.execute(
        ALL_CHOICES, {"site_id": site_id, "service_date": service_date, "slot": slot}
    ).all()
    if not rows:
        raise NoMenu(slot=slot, date=service_date)
    return [choice_from_row(row) for row in rows]


def suitable_choices(choices: list[MenuChoice], elder: DietProfile) -> list[MenuChoice]:
    """Only the variants this elder can safely eat: what the bot offers."""
    return [choice for choice in choices if suits(elder, choice.meal)]


def own_style_first(choices: list[MenuChoice], elder: DietProfile) -> list[MenuChoice]:
    """The variants this elder can safely eat, the nearest to her own style first (then the
    cheaper, then in menu order): the first is the one to offer before asking."""
    return sorted(
        suitable_choices(choices, elder),
        key=lambda choice: (style_distance(elder, choice.meal), choice.price_fen),
    )


@dataclass(frozen=True)
class ItemOnMenu:
    """A menu item with the site, day and slot of its menu (a button's or a link's target)."""

    choice: MenuChoice
    site_id: int
    service_date: date
    slot: Slot


ONE_ITEM = (
    sa.select(*CHOICE_COLUMNS, _menu.c.site_id, _menu.c.service_date, _menu.c.slot)
    .select_from(
        _item.join(_menu, _menu.c.id == _item.c.menu_id).join(_dish, _dish.c.id == _item.c.dish_id)
    )
    .where(_item.c.id == sa.bindparam("item_id"))
)


def menu_item(*, session: Session, item_id: int) -> ItemOnMenu:
    row = session.execute(ONE_ITEM, {"item_id": item_id}).first()
    if row is None:
        raise MenuItemNotFound(item_id=item_id)
    return ItemOnMenu(choice_from_row(row), row.site_id, row.service_date, Slot(row.slot))
