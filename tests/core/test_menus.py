"""Dishes, menus and prices: the admin's menu services."""

from datetime import date, timedelta

import pytest
from sqlmodel import select

from billing.models import Charge
from core.errors import (
    AlreadyExists,
    DishNotFound,
    InvalidInput,
    MenuItemHasOrders,
    VariantNotOfDish,
)
from core.menus import (
    add_menu_item,
    copy_last_week,
    create_dish,
    price_fen_from_yuan,
    remove_menu_item,
    site_menus,
    update_dish,
    update_menu_item,
)
from core.models import Menu, MenuItem, Order
from core.schemas import DishCreate, DishUpdate, DishVariant, MenuItemCreate, MenuItemUpdate
from core.types import Slot, Texture
from tests.conftest import row_counts
from tests.factories import SETTINGS
from usecases import ordering


@pytest.mark.parametrize(
    ("typed", "fen"),
    [
        ("12.5", 1250),
        ("12.50", 1250),
        ("¥ 12", 1200),
        ("0.01", 1),
        ("0", 0),
        ("1,234.56", 123456),
        ("19.99", 1999),
        (" 8.1 ", 810),
    ],
)
def test_prices_typed_in_yuan_become_exact_fen(typed, fen):
    assert price_fen_from_yuan(typed) == fen


@pytest.mark.parametrize("typed", ["", "abc", "-1", "12.345", "1e3x", "NaN", "Infinity", "100001"])
def test_a_price_that_is_not_yuan_and_fen_is_refused_naming_the_field(typed):
    with pytest.raises(InvalidInput) as refused:
        price_fen_from_yuan(typed)
    assert refused.value.params["field_code"] == "price"
    assert "12.50" in refused.value.render("en") and "价格" in refused.value.render("zh_CN")


def test_a_dish_with_variants_is_created_and_edited(make, session):
    dish = create_dish(
        session=session,
        dish_in=DishCreate(
            code="FISH1",
            name_zh="清蒸鱼",
            name_en="Steamed fish",
            allergens=["fish"],
            variants=[
                DishVariant(code="regular"),
                DishVariant(code="soft", texture=Texture.soft, diet_tags=["low_salt"]),
            ],
        ),
    )
    assert dish.variants[1] == {"code": "soft", "texture": "soft", "diet_tags": ["low_salt"]}
    update_dish(
        session=session,
        dish_id=dish.id,
        dish_in=DishUpdate(name_zh="清蒸鲩鱼", name_en="Steamed grass carp", allergens=["fish"]),
    )
    assert dish.name_zh == "清蒸鲩鱼" and dish.variants == [] and dish.code == "FISH1"
    with pytest.raises(DishNotFound):
        update_dish(session=session, dish_id=9999, dish_in=DishUpdate(name_zh="x", name_en="x"))


def test_a_dish_naming_a_variant_twice_or_an_unknown_allergen_is_refused():
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        DishCreate(code="X", name_zh="x", name_en="x", variants=[{"code": "a"}, {"code": "a"}])
    with pytest.raises(ValidationError):
        DishCreate(code="X", name_zh="x", name_en="x", allergens=["gold"])


def test_a_menu_item_takes_the_variants_texture_and_diets_and_refuses_other_variants(make, session):
    site = make.site()
    dish = create_dish(
        session=session,
        dish_in=DishCreate(
            code="PORK",
            name_zh="肉饼",
            name_en="Pork patty",
            variants=[DishVariant(code="minced", texture=Texture.minced, diet_tags=["low_salt"])],
        ),
    )
    day = make.today + timedelta(days=1)
    item = add_menu_item(
        session=session,
        site_id=site.id,
        service_date=day,
        slot=Slot.lunch,
        item_in=MenuItemCreate(dish_id=dish.id, variant="minced", price_fen=1350),
    )
    assert (item.texture, item.diet_tags, item.price_fen) == ("minced", ["low_salt"], 1350)
    before = row_counts(session)
    with pytest.raises(VariantNotOfDish) as refused:
        add_menu_item(
            session=session,
            site_id=site.id,
            service_date=day,
            slot=Slot.lunch,
            item_in=MenuItemCreate(dish_id=dish.id, variant="soft", price_fen=1350),
        )
    assert "minced" in refused.value.render("en")
    with pytest.raises(AlreadyExists):
        add_menu_item(
            session=session,
            site_id=site.id,
            service_date=day,
            slot=Slot.lunch,
            item_in=MenuItemCreate(dish_id=dish.id, variant="minced", price_fen=1),
        )
    assert row_counts(session) == before


def test_changing_a_price_leaves_orders_already_placed_at_their_price(make, session, clock):
    site, dishes, elder = make.world()
    billed = ordering.place_order(
        session=session,
        clock=clock,
        settings=SETTINGS,
        elder_id=elder.id,
        site_id=site.id,
        service_date=make.today,
        slot=Slot.lunch,
        dish_id=dishes[0].id,
        variant="regular",
        quantity=2,
        idempotency_key="before-price-change",
    )
    order = session.get(Order, billed.order.id)
    update_menu_item(
        session=session, item_id=order.menu_item_id, item_in=MenuItemUpdate(price_fen=2000)
    )
    session.expire_all()
    order = session.get(Order, billed.order.id)
    assert session.get(MenuItem, order.menu_item_id).price_fen == 2000
    assert (order.unit_price_fen, order.total_fen) == (1500, 3000)
    assert session.get(Charge, order.id).price_fen == 3000
    # A new order pays the new price.
    other = make.elder(site)
    new = ordering.place_order(
        session=session,
        clock=clock,
        settings=SETTINGS,
        elder_id=other.id,
        site_id=site.id,
        service_date=make.today,
        slot=Slot.lunch,
        dish_id=dishes[0].id,
        variant="regular",
        idempotency_key="after-price-change",
    )
    assert new.order.unit_price_fen == 2000


def test_an_ordered_item_cannot_be_taken_off_the_menu_an_unordered_one_can(make, session, clock):
    site, dishes, elder = make.world()
    placed = ordering.place_order(
        session=session,
        clock=clock,
        settings=SETTINGS,
        elder_id=elder.id,
        site_id=site.id,
        service_date=make.today,
        slot=Slot.lunch,
        dish_id=dishes[0].id,
        variant="regular",
        idempotency_key="keep-item",
    )
    ordered = placed.order.menu_item_id
    with pytest.raises(MenuItemHasOrders):
        remove_menu_item(session=session, item_id=ordered)
    assert session.get(MenuItem, ordered) is not None
    unordered = session.exec(
        select(MenuItem.id).where(
            MenuItem.menu_id == session.get(MenuItem, ordered).menu_id, MenuItem.id != ordered
        )
    ).first()
    remove_menu_item(session=session, item_id=unordered)
    assert session.get(MenuItem, unordered) is None


def test_republishing_a_menu_that_has_orders_is_refused_and_changes_nothing(make, session, clock):
    from core.menus import publish_menu

    site, dishes, elder = make.world()
    ordering.place_order(
        session=session,
        clock=clock,
        settings=SETTINGS,
        elder_id=elder.id,
        site_id=site.id,
        service_date=make.today,
        slot=Slot.lunch,
        dish_id=dishes[0].id,
        variant="regular",
        idempotency_key="before-republish",
    )
    before = row_counts(session)
    with pytest.raises(MenuItemHasOrders):
        publish_menu(
            session=session,
            site_id=site.id,
            service_date=make.today,
            slot=Slot.lunch,
            items=[MenuItemCreate(dish_id=dishes[1].id, variant="regular", price_fen=900)],
        )
    assert row_counts(session) == before
    # A menu nobody has ordered from yet can still be replaced whole.
    publish_menu(
        session=session,
        site_id=site.id,
        service_date=make.today,
        slot=Slot.dinner,
        items=[MenuItemCreate(dish_id=dishes[1].id, variant="regular", price_fen=900)],
    )


def test_copy_last_week_fills_the_empty_days_and_keeps_the_days_that_have_a_menu(make, session):
    site = make.site()
    dishes = [make.dish(), make.dish()]
    this_monday = date(2026, 11, 23)
    last_monday = this_monday - timedelta(days=7)
    for offset in range(7):
        make.menu(site, [dishes[0]], last_monday + timedelta(days=offset), Slot.lunch, 1500)
    make.menu(site, [dishes[1]], last_monday + timedelta(days=2), Slot.dinner, 1800)
    # This Wednesday's lunch is already planned: it must stay as it is.
    make.menu(site, [dishes[1]], this_monday + timedelta(days=2), Slot.lunch, 2100, ("soft",))
    # A menu two weeks back and one at another site are not copied.
    make.menu(site, [dishes[1]], last_monday - timedelta(days=1), Slot.dinner)
    elsewhere = make.site()
    make.menu(elsewhere, [dishes[0]], last_monday, Slot.dinner)

    copied = copy_last_week(session=session, site_id=site.id, week=this_monday + timedelta(days=4))

    wednesday = this_monday + timedelta(days=2)
    assert copied.week == this_monday
    assert copied.kept == [(wednesday, Slot.lunch)]
    assert sorted(copied.copied) == sorted(
        [(this_monday + timedelta(days=n), Slot.lunch) for n in range(7) if n != 2]
        + [(wednesday, Slot.dinner)]
    )
    menus = {
        (m.service_date, m.slot): m
        for m in site_menus(
            session=session, site_id=site.id, first=this_monday, last=this_monday + timedelta(6)
        )
    }
    assert len(menus) == 8
    kept = menus[(wednesday, Slot.lunch)]
    assert [(c.dish_id, c.variant, c.price_fen) for c in kept.items] == [
        (dishes[1].id, "soft", 2100)
    ]
    monday = menus[(this_monday, Slot.lunch)]
    assert [(c.dish_id, c.variant, c.price_fen) for c in monday.items] == [
        (dishes[0].id, v, 1500) for v in ("regular", "low_salt", "soft", "minced")
    ]
    assert [c.price_fen for c in menus[(wednesday, Slot.dinner)].items] == [1800] * 4
    # Copying again copies nothing more.
    again = copy_last_week(session=session, site_id=site.id, week=this_monday)
    assert again.copied == [] and len(again.kept) == 8
    assert session.exec(select(Menu).where(Menu.site_id == elsewhere.id)).all().__len__() == 1
