"""Registering communities, sites, dishes, menus and elders: bad input is refused with a typed,
translated error and writes nothing."""

from datetime import date

import pytest

from core import errors
from core.diet import profile_of_elder
from core.elders import (
    categories_on,
    chat_user_for,
    create_elder,
    link_elder,
    linked_elders,
    pause_elder,
)
from core.menus import create_dish, menu_choices, publish_menu, suitable_choices
from core.schemas import CategoryGrant, DishCreate, ElderCreate, MenuItemCreate, SiteCreate
from core.sites import create_site
from core.types import Category, LinkRelation, SiteKind, Slot
from tests.conftest import row_counts


def elder_values(community_id, **overrides):
    values = dict(
        name="李秀英",
        phone="13800001111",
        address="北京路1号",
        lat=23.12,
        lon=113.27,
        community_id=community_id,
        birth_date="1940-03-08",
    )
    values.update(overrides)
    return values


def refused(session, error_type, call):
    before = row_counts(session)
    with pytest.raises(error_type) as caught:
        call()
    assert row_counts(session) == before
    assert caught.value.render("zh_CN") != caught.value.render("en")
    return caught.value


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"birth_date": "yesterday"}, "birth_date"),
        ({"lat": "north"}, "lat"),
        ({"lat": 123.0}, "lat"),
        ({"phone": "call me"}, "phone"),
        ({"name": ""}, "name"),
        ({"texture": "crunchy"}, "texture"),
        ({"categories": [{"category": "rich", "valid_from": "2020-01-01"}]}, "category"),
    ],
)
def test_a_bad_elder_record_is_refused_naming_the_field(make, session, overrides, field):
    community = make.community()
    error = refused(
        session,
        errors.InvalidInput,
        lambda: create_elder(
            session=session, clock=make.clock, elder_in=elder_values(community.id, **overrides)
        ),
    )
    assert error.params["field_code"] == field


def test_an_elder_in_an_unknown_community_or_with_a_taken_phone_is_refused(make, session):
    community = make.community()
    refused(
        session,
        errors.CommunityNotFound,
        lambda: create_elder(
            session=session, clock=make.clock, elder_in=ElderCreate(**elder_values(987_654))
        ),
    )
    create_elder(
        session=session, clock=make.clock, elder_in=ElderCreate(**elder_values(community.id))
    )
    refused(
        session,
        errors.AlreadyExists,
        lambda: create_elder(
            session=session, clock=make.clock, elder_in=ElderCreate(**elder_values(community.id))
        ),
    )


def test_categories_count_only_within_their_validity(make, session):
    community = make.community()
    elder = create_elder(
        session=session,
        clock=make.clock,
        elder_in=ElderCreate(
            **elder_values(community.id),
            categories=[
                CategoryGrant(
                    category=Category.minimum_living,
                    valid_from=date(2024, 1, 1),
                    valid_to=date(2026, 10, 31),
                ),
                CategoryGrant(category=Category.living_alone, valid_from=date(2026, 11, 1)),
            ],
        ),
    )
    assert categories_on(session=session, elder_id=elder.id, on=date(2026, 10, 31)) == {
        Category.minimum_living
    }
    assert categories_on(session=session, elder_id=elder.id, on=date(2026, 11, 1)) == {
        Category.living_alone
    }


def test_a_site_needs_known_communities_and_kitchen_and_a_free_code(make, session):
    community = make.community()
    values = dict(
        code="X1",
        name="新饭堂",
        kind=SiteKind.canteen,
        address="路1号",
        lat=23.1,
        lon=113.2,
        community_id=community.id,
        phone="020-1234567",
    )
    refused(
        session,
        errors.CommunityNotFound,
        lambda: create_site(
            session=session, site_in=SiteCreate(**values, serves_community_ids=[424_242])
        ),
    )
    refused(
        session,
        errors.SiteNotFound,
        lambda: create_site(session=session, site_in=SiteCreate(**values, kitchen_id=424_242)),
    )
    refused(
        session,
        errors.InvalidInput,
        lambda: create_site(session=session, site_in={**values, "kind": "restaurant"}),
    )
    create_site(session=session, site_in=SiteCreate(**values))
    refused(
        session,
        errors.AlreadyExists,
        lambda: create_site(session=session, site_in=SiteCreate(**values)),
    )


def test_a_menu_needs_a_slot_the_site_serves_and_known_dishes(make, session):
    site, dishes, _ = make.world()
    item = MenuItemCreate(dish_id=dishes[0].id, variant="regular", price_fen=1500)
    refused(
        session,
        errors.SlotNotOffered,
        lambda: publish_menu(
            session=session,
            site_id=site.id,
            service_date=make.today,
            slot=Slot.breakfast,
            items=[item],
        ),
    )
    refused(
        session,
        errors.DishNotFound,
        lambda: publish_menu(
            session=session,
            site_id=site.id,
            service_date=make.today,
            slot=Slot.lunch,
            items=[MenuItemCreate(dish_id=555_555, variant="regular", price_fen=1500)],
        ),
    )
    refused(
        session,
        errors.InvalidInput,
        lambda: publish_menu(
            session=session,
            site_id=site.id,
            service_date=make.today,
            slot=Slot.lunch,
            items=[{"dish_id": dishes[0].id, "variant": "regular", "price_fen": -1}],
        ),
    )
    refused(
        session,
        errors.InvalidInput,
        lambda: publish_menu(
            session=session,
            site_id=site.id,
            service_date=make.today,
            slot=Slot.lunch,
            items=[{"dish_id": dishes[0].id, "variant": "regular", "price_fen": 15.5}],
        ),
    )
    refused(
        session,
        errors.AlreadyExists,
        lambda: create_dish(
            session=session, dish_in=DishCreate(code=dishes[0].code, name_zh="重复", name_en="Dup")
        ),
    )


def test_republishing_a_menu_replaces_its_items(make, session):
    site, dishes, _ = make.world()
    publish_menu(
        session=session,
        site_id=site.id,
        service_date=make.today,
        slot=Slot.lunch,
        items=[MenuItemCreate(dish_id=dishes[1].id, variant="regular", price_fen=1800)],
    )
    choices = menu_choices(
        session=session, site_id=site.id, service_date=make.today, slot=Slot.lunch
    )
    assert [(c.dish_id, c.price_fen) for c in choices] == [(dishes[1].id, 1800)]


def test_the_bot_is_offered_only_the_variants_that_suit_the_elder(make, session):
    site, dishes, _ = make.world()
    elder = make.elder(site, texture="soft", allergies=["fish"])
    choices = menu_choices(
        session=session, site_id=site.id, service_date=make.today, slot=Slot.lunch
    )
    profile = profile_of_elder(elder.name, elder.texture, elder.diet_needs, elder.allergies)
    offered = {(c.dish_id, c.variant) for c in suitable_choices(choices, profile)}
    assert offered == {(dishes[0].id, "soft"), (dishes[0].id, "minced")}


def test_pauses_need_an_end_after_the_start(make, session):
    _, _, elder = make.world()
    refused(
        session,
        errors.InvalidPeriod,
        lambda: pause_elder(
            session=session,
            elder_id=elder.id,
            start_date=date(2026, 12, 5),
            end_date=date(2026, 12, 1),
        ),
    )


def test_a_family_member_is_linked_once_and_sees_the_elder(make, session):
    _, _, elder = make.world()
    daughter = chat_user_for(
        session=session,
        telegram_user_id=5_550_001,
        name="李嘉欣",
        language="zh_CN",
        clock=make.clock,
    )
    again = chat_user_for(
        session=session,
        telegram_user_id=5_550_001,
        name="李嘉欣",
        language="zh_CN",
        clock=make.clock,
    )
    assert again.id == daughter.id
    for _ in range(2):
        link_elder(
            session=session,
            chat_user_id=daughter.id,
            elder_id=elder.id,
            relation=LinkRelation.family,
            verified_by="社区工作者王",
            clock=make.clock,
        )
    assert [e.id for e in linked_elders(session=session, chat_user_id=daughter.id)] == [elder.id]
    refused(
        session,
        errors.ChatUserNotFound,
        lambda: link_elder(
            session=session,
            chat_user_id=999_999,
            elder_id=elder.id,
            relation=LinkRelation.family,
            verified_by="x",
            clock=make.clock,
        ),
    )
