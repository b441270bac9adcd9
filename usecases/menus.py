"""Dishes and menus as the staff change them: each change and its audit entry together (menus
and prices are programme policy: who changed what is in the audit log), whether it comes from
the JSON API, the pages or a set-up script. The surfaces may not import `core.menus` (an import
contract says so): the reads they need are re-exported here."""

from datetime import date

from sqlmodel import Session

from core import audit, menus
from core.clock import Clock
from core.menus import (
    CopiedWeek,
    MenuChoice,
    get_dish,
    list_dishes,
    menu_choices,
    menu_item,
    own_style_first,
    price_fen_from_yuan,
    site_menus,
    suitable_choices,
    week_of,
)
from core.models import Dish, Menu, MenuItem
from core.schemas import DishCreate, DishUpdate, MenuItemCreate, MenuItemUpdate
from core.types import Slot

__all__ = [
    "CopiedWeek",
    "MenuChoice",
    "add_menu_item",
    "copy_last_week",
    "create_dish",
    "get_dish",
    "list_dishes",
    "menu_choices",
    "menu_item",
    "own_style_first",
    "price_fen_from_yuan",
    "publish_menu",
    "remove_menu_item",
    "site_menus",
    "suitable_choices",
    "update_dish",
    "update_menu_item",
    "week_of",
]


def create_dish(*, session: Session, clock: Clock, actor: str, dish_in: DishCreate) -> Dish:
    dish = menus.create_dish(session=session, dish_in=dish_in)
    _record(session, clock, actor, "create_dish", f"dish:{dish.id}", dish.code)
    return dish


def update_dish(
    *, session: Session, clock: Clock, actor: str, dish_id: int, dish_in: DishUpdate
) -> Dish:
    dish = menus.update_dish(session=session, dish_id=dish_id, dish_in=dish_in)
    _record(session, clock, actor, "update_dish", f"dish:{dish_id}")
    return dish


def publish_menu(
    *,
    session: Session,
    clock: Clock,
    actor: str,
    site_id: int,
    service_date: date,
    slot: Slot,
    items: list[MenuItemCreate],
) -> Menu:
    menu = menus.publish_menu(
        session=session, site_id=site_id, service_date=service_date, slot=slot, items=items
    )
    _record(
        session,
        clock,
        actor,
        "publish_menu",
        f"site:{site_id}",
        f"{service_date.isoformat()} {slot.value}: {len(items)} items",
    )
    return menu


def add_menu_item(
    *,
    session: Session,
    clock: Clock,
    actor: str,
    site_id: int,
    service_date: date,
    slot: Slot,
    item_in: MenuItemCreate,
) -> MenuItem:
    item = menus.add_menu_item(
        session=session, site_id=site_id, service_date=service_date, slot=slot, item_in=item_in
    )
    _record(session, clock, actor, "add_menu_item", f"menu_item:{item.id}", str(item.price_fen))
    return item


def update_menu_item(
    *, session: Session, clock: Clock, actor: str, item_id: int, item_in: MenuItemUpdate
) -> MenuItem:
    """Change an item; the audit entry keeps the price before and after."""
    before = session.get(MenuItem, item_id)
    old_price = before.price_fen if before is not None else None
    item = menus.update_menu_item(session=session, item_id=item_id, item_in=item_in)
    _record(
        session,
        clock,
        actor,
        "update_menu_item",
        f"menu_item:{item_id}",
        f"{old_price}->{item.price_fen}",
    )
    return item


def remove_menu_item(*, session: Session, clock: Clock, actor: str, item_id: int) -> None:
    menus.remove_menu_item(session=session, item_id=item_id)
    _record(session, clock, actor, "remove_menu_item", f"menu_item:{item_id}")


def copy_last_week(
    *, session: Session, clock: Clock, actor: str, site_id: int, week: date
) -> CopiedWeek:
    copied = menus.copy_last_week(session=session, site_id=site_id, week=week)
    _record(session, clock, actor, "copy_last_week", f"site:{site_id}", copied.week.isoformat())
    return copied


def _record(
    session: Session, clock: Clock, actor: str, action: str, subject: str, detail: str = ""
) -> None:
    audit.record(
        session=session, clock=clock, actor=actor, action=action, subject=subject, detail=detail
    )
