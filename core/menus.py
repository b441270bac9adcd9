"""Dishes and daily menus: what a site serves per slot and day, in which variants and prices."""

from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, select

from core.diet import DietProfile, MealProfile, suits
from core.errors import NoMenu
from core.i18n import Bilingual
from core.models import Dish, Menu, MenuItem
from core.schemas import DishCreate, MenuItemCreate
from core.types import Slot, Texture
from core.validation import service


@service
def create_dish(*, session: Session, dish_in: DishCreate) -> Dish:
    dish = Dish(**dish_in.model_dump())
    session.add(dish)
    session.flush()
    return dish


@service
def publish_menu(
    *, session: Session, site_id: int, service_date: date, slot: Slot, items: list[MenuItemCreate]
) -> Menu:
    """Create (or replace the items of) a site's menu for one slot of one day."""
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
    """A menu item as surfaces show it: the dish, the variant and the price."""

    item: MenuItem
    dish: Dish

    def name(self, locale: str) -> str:
        return self.dish.name_zh if locale == "zh_CN" else self.dish.name_en

    @property
    def meal(self) -> MealProfile:
        return MealProfile(
            dish_name=Bilingual(self.dish.name_zh, self.dish.name_en),
            texture=Texture(self.item.texture),
            diet_tags=frozenset(self.item.diet_tags) | frozenset(self.dish.diet_tags),
            allergens=frozenset(self.dish.allergens),
        )


def menu_choices(
    *, session: Session, site_id: int, service_date: date, slot: Slot
) -> list[MenuChoice]:
    rows = session.exec(
        select(MenuItem, Dish)
        .join(Menu, Menu.id == MenuItem.menu_id)
        .join(Dish, Dish.id == MenuItem.dish_id)
        .where(Menu.site_id == site_id, Menu.service_date == service_date, Menu.slot == slot)
        .order_by(MenuItem.position, MenuItem.dish_id, MenuItem.id)
    ).all()
    if not rows:
        raise NoMenu(slot=slot, date=service_date)
    return [MenuChoice(item, dish) for item, dish in rows]


def suitable_choices(choices: list[MenuChoice], elder: DietProfile) -> list[MenuChoice]:
    """Only the variants this elder can safely eat: what the bot offers."""
    return [choice for choice in choices if suits(elder, choice.meal)]
