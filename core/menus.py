"""Dishes and daily menus: what a site serves per slot and day, in which variants and prices."""

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlmodel import Session, select

from core.diet import DietProfile, MealProfile, suits
from core.errors import AlreadyExists, DishNotFound, MenuItemNotFound, NoMenu
from core.i18n import Bilingual
from core.models import Dish, Menu, MenuItem
from core.schemas import DishCreate, MenuItemCreate
from core.sites import get_site, get_slot
from core.types import Slot, Texture
from core.validation import service


@service
def create_dish(*, session: Session, dish_in: DishCreate) -> Dish:
    if session.exec(select(Dish.id).where(Dish.code == dish_in.code)).first() is not None:
        raise AlreadyExists(value=dish_in.code)
    dish = Dish(**dish_in.model_dump())
    session.add(dish)
    session.flush()
    return dish


@service
def publish_menu(
    *, session: Session, site_id: int, service_date: date, slot: Slot, items: list[MenuItemCreate]
) -> Menu:
    """Create (or replace the items of) a site's menu for one slot of one day."""
    get_slot(session=session, site=get_site(session=session, site_id=site_id), slot=slot)
    for dish_id in {item.dish_id for item in items}:
        if session.get(Dish, dish_id) is None:
            raise DishNotFound(dish_id=dish_id)
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
        for old in session.exec(select(MenuItem).where(MenuItem.menu_id == menu.id)):
            session.delete(old)
        session.flush()
    for item_in in items:
        session.add(MenuItem(menu_id=menu.id, **item_in.model_dump()))
    session.flush()
    return menu


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


_item, _dish, _menu = MenuItem.__table__, Dish.__table__, Menu.__table__  # type: ignore[attr-defined]

CHOICE_COLUMNS = (
    _item.c.id,
    _dish.c.id,
    _dish.c.name_zh,
    _dish.c.name_en,
    _item.c.variant,
    _item.c.texture,
    _item.c.diet_tags,
    _dish.c.diet_tags,
    _dish.c.allergens,
    _item.c.price_fen,
    _item.c.position,
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


def choice_from_row(row: sa.Row | tuple) -> MenuChoice:
    item_id, dish_id, zh, en, variant, texture, item_tags, dish_tags, allergens, price, pos = row
    return MenuChoice(
        item_id,
        dish_id,
        Bilingual(zh, en),
        variant,
        Texture(texture),
        frozenset(item_tags) | frozenset(dish_tags),
        frozenset(allergens),
        price,
        pos,
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
    *choice, site_id, service_date, slot = row
    return ItemOnMenu(choice_from_row(choice), site_id, service_date, Slot(slot))
