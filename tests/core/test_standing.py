"""Standing orders become orders on their weekdays at cutoff, except when paused."""

from datetime import date, datetime, timedelta

import pytest
from sqlmodel import select

from core import errors
from core.cutoff import run_cutoff
from core.elders import pause_elder
from core.models import Order
from core.orders import place_order
from core.standing import (
    create_standing_order,
    materialise_standing_orders,
    pause_standing_order,
    resume_standing_order,
    stop_standing_order,
)
from core.types import OrderSource, OrderStatus, Slot, Texture
from tests.conftest import SHANGHAI, row_counts
from tests.factories import CUTOFF_LIMITS, ORDER_LIMITS, SETTINGS

WEDNESDAY = date(2026, 11, 25)


def weekday_lunches(make, elder, site, **overrides):
    values = dict(
        session=make.session,
        clock=make.clock,
        elder_id=elder.id,
        site_id=site.id,
        slot=Slot.lunch,
        weekdays=[1, 2, 3, 4, 5],
        start_date=WEDNESDAY,
    )
    values.update(overrides)
    return create_standing_order(**values, max_order_quantity=SETTINGS.max_order_quantity)


def materialise(make, site, day=WEDNESDAY, slot=Slot.lunch, **limits):
    return materialise_standing_orders(
        session=make.session,
        clock=make.clock,
        site_id=site.id,
        service_date=day,
        slot=slot,
        **{**CUTOFF_LIMITS, **limits},
    )


def materialise_paused(make, site, elder, *, day: date):
    """The elder's meals paused for `day` (by the family, say), then that day materialised."""
    pause_elder(session=make.session, elder_id=elder.id, start_date=day, end_date=day)
    return materialise(make, site, day=day)


def test_a_weekday_standing_order_makes_an_order_on_a_weekday(make):
    site, dishes, elder = make.world()
    standing = weekday_lunches(make, elder, site)
    result = materialise(make, site)
    assert [o.elder_id for o in result.placed] == [elder.id]
    placed = result.placed[0]
    assert (placed.source, placed.standing_order_id, placed.dish_id) == (
        OrderSource.standing,
        standing.id,
        dishes[0].id,
    )


def test_no_order_on_a_day_not_chosen(make):
    site, _, elder = make.world()
    weekday_lunches(make, elder, site, weekdays=[1, 5])  # Monday and Friday
    assert materialise(make, site).placed == []


def test_materialising_twice_places_nothing_twice(make, session):
    site, _, elder = make.world()
    weekday_lunches(make, elder, site)
    assert len(materialise(make, site).placed) == 1
    assert materialise(make, site).placed == []
    assert len(session.exec(select(Order).where(Order.elder_id == elder.id)).all()) == 1


def test_the_elders_own_order_takes_precedence(make):
    site, dishes, elder = make.world()
    weekday_lunches(make, elder, site)
    own = place_order(
        session=make.session,
        clock=make.clock,
        elder_id=elder.id,
        site_id=site.id,
        service_date=WEDNESDAY,
        slot=Slot.lunch,
        dish_id=dishes[1].id,
        variant="regular",
        idempotency_key="own",
        **ORDER_LIMITS,
    )
    assert materialise(make, site).placed == []
    assert own.status == OrderStatus.placed


def test_a_paused_standing_order_or_elder_makes_no_order(make, session):
    site, _, elder = make.world()
    standing = weekday_lunches(make, elder, site)
    pause_standing_order(
        session=session,
        standing_order_id=standing.id,
        start_date=WEDNESDAY,
        end_date=WEDNESDAY + timedelta(days=6),
    )
    assert materialise(make, site).placed == []
    resume_standing_order(session=session, standing_order_id=standing.id, on=WEDNESDAY)
    other = make.elder(site)
    weekday_lunches(make, other, site)
    pause_elder(session=session, elder_id=other.id, start_date=WEDNESDAY, end_date=WEDNESDAY)
    result = materialise(make, site)
    assert [o.elder_id for o in result.placed] == [elder.id]
    assert [type(error) for _, error in result.skipped] == [errors.ElderPaused]


def test_a_stopped_standing_order_makes_no_order(make, session):
    site, _, elder = make.world()
    standing = weekday_lunches(make, elder, site)
    stop_standing_order(session=session, standing_order_id=standing.id)
    assert materialise(make, site).placed == []


def test_the_standing_order_picks_a_variant_that_suits_the_elder(make):
    site, dishes, _ = make.world()
    elder = make.elder(site, texture=Texture.minced, allergies=["fish"])
    weekday_lunches(make, elder, site, variant="soft")
    placed = materialise(make, site).placed[0]
    assert (placed.dish_id, placed.variant) == (dishes[0].id, "minced")


def test_cutoff_materialises_then_locks(make, session, clock):
    site, _, elder = make.world()
    weekday_lunches(make, elder, site)
    clock.set(datetime(2026, 11, 25, 9, 30, tzinfo=SHANGHAI))
    result = run_cutoff(
        session=session,
        clock=clock,
        site_id=site.id,
        service_date=WEDNESDAY,
        slot=Slot.lunch,
        **CUTOFF_LIMITS,
    )
    assert (result.standing_orders_placed, result.orders_locked) == (1, 1)
    statuses = [o.status for o in session.exec(select(Order).where(Order.elder_id == elder.id))]
    assert statuses == [OrderStatus.locked]


@pytest.mark.parametrize(
    ("overrides", "error_type"),
    [
        ({"weekdays": []}, errors.InvalidWeekdays),
        ({"weekdays": [0]}, errors.InvalidInput),
        ({"weekdays": ["Monday"]}, errors.InvalidInput),
        ({"end_date": date(2026, 11, 1)}, errors.InvalidPeriod),
        ({"quantity": 0}, errors.InvalidQuantity),
        ({"elder_id": 424242}, errors.ElderNotFound),
        ({"slot": Slot.breakfast}, errors.SlotNotOffered),
    ],
)
def test_bad_standing_orders_are_refused_and_write_nothing(make, session, overrides, error_type):
    site, _, elder = make.world()
    before = row_counts(session)
    with pytest.raises(error_type):
        weekday_lunches(make, elder, site, **overrides)
    assert row_counts(session) == before


def test_standing_order_outside_the_service_area_is_refused(make, session):
    site, _, _ = make.world()
    elsewhere = make.elder(make.community())
    with pytest.raises(errors.OutsideServiceArea):
        weekday_lunches(make, elsewhere, site)


def test_a_second_standing_order_for_the_same_meal_on_a_shared_day_is_refused(make, session):
    site, _, elder = make.world()
    first = weekday_lunches(make, elder, site, weekdays=[1, 3, 5])
    before = row_counts(session)
    with pytest.raises(errors.StandingOrderOverlap) as refused:
        weekday_lunches(make, elder, site, weekdays=[5, 6])
    assert row_counts(session) == before
    assert elder.name in refused.value.render("zh_CN")
    # Other days, another meal, or after the first one stopped: all fine.
    assert weekday_lunches(make, elder, site, weekdays=[2, 4]).weekdays == [2, 4]
    assert weekday_lunches(make, elder, site, slot=Slot.dinner).weekdays == [1, 2, 3, 4, 5]
    stop_standing_order(session=session, standing_order_id=first.id)
    assert weekday_lunches(make, elder, site, weekdays=[5, 6]).weekdays == [5, 6]


def test_a_standing_order_the_rules_now_refuse_is_told_to_the_elders_chats(make, session):
    """The limit on portions was lowered after a standing order for four was made: at the
    cutoff it makes no order, and the family's chat is told why that same hour, in their
    language, once however often the cutoff runs (not silence and an empty table at noon)."""
    from bot import notices
    from core.models import ChatNotification
    from core.types import LinkRelation
    from usecases.elders import chat_user_for, link_chat

    site, _, elder = make.world()
    weekday_lunches(make, elder, site, quantity=4)
    family = chat_user_for(
        session=session,
        telegram_user_id=7_700_001,
        name="Daughter",
        language="en",
        clock=make.clock,
    )
    link_chat(
        session=session,
        clock=make.clock,
        actor="test",
        chat_user_id=family.id,
        elder_id=elder.id,
        relation=LinkRelation.family,
    )
    limits = {**CUTOFF_LIMITS, "max_order_quantity": 2}
    for _ in range(2):
        result = materialise(make, site, max_order_quantity=2)
        assert result.placed == [] and len(result.skipped) == 1
    [notice] = session.exec(
        select(ChatNotification).where(ChatNotification.kind == "standing_skipped")
    ).all()
    assert notice.chat_user_id == family.id
    told = notices.render(session, notice, "en", make.clock).text
    assert elder.name in told and "lunch" in told and "25" in told
    assert "between 1 and 2 portions" in told
    closed = run_cutoff(
        session=session,
        clock=make.clock,
        site_id=site.id,
        service_date=WEDNESDAY,
        slot=Slot.lunch,
        early=True,
        **limits,
    )
    assert (closed.standing_orders_placed, closed.standing_orders_skipped) == (0, 1)
    chinese = notices.render(session, notice, "zh_CN", make.clock).text
    assert elder.name in chinese and "未能订上" in chinese and "portions" not in chinese
    # Meals the family paused are not news to them: no notice for Thursday's.
    thursday = materialise_paused(make, site, elder, day=WEDNESDAY + timedelta(days=1))
    assert [type(refusal) for _, refusal in thursday.skipped] == [errors.ElderPaused]
    assert len(session.exec(select(ChatNotification)).all()) == 1


def test_a_refused_standing_order_is_kept_once_for_staff_until_an_order_comes(make, session):
    """Most elders have no chat to be told: the refusal is kept for staff, once however often
    the cutoff runs, with its reason in either language, and counts as handled once an order
    for that elder and meal is placed (by phone, say). Paused meals are not kept."""
    from core.standing import refused_standing_orders

    site, _, elder = make.world()
    standing = weekday_lunches(make, elder, site, quantity=4)
    for _ in range(2):
        materialise(make, site, max_order_quantity=2)
    [refused] = refused_standing_orders(session=session, service_date=WEDNESDAY)
    assert (refused.standing_order_id, refused.elder_id, refused.elder) == (
        standing.id,
        elder.id,
        elder.name,
    )
    assert (refused.site_id, refused.slot, refused.code) == (
        site.id,
        Slot.lunch,
        "invalid_quantity",
    )
    assert refused.reason("en") == "Please choose between 1 and 2 portions."
    assert "portions" not in refused.reason("zh_CN") and "2" in refused.reason("zh_CN")
    assert refused.order_id is None
    # Only the sites or communities the reader may see.
    assert refused_standing_orders(session=session, service_date=WEDNESDAY, site_ids={-1}) == []
    assert refused_standing_orders(
        session=session, service_date=WEDNESDAY, community_ids={elder.community_id}
    ) == [refused]
    assert refused_standing_orders(session=session, service_date=WEDNESDAY, slot=Slot.dinner) == []

    placed = place_order(
        session=session,
        clock=make.clock,
        elder_id=elder.id,
        site_id=site.id,
        service_date=WEDNESDAY,
        slot=Slot.lunch,
        dish_id=standing_dish(session, site),
        variant="regular",
        quantity=2,
        idempotency_key="phoned-in",
        **ORDER_LIMITS,
    )
    [handled] = refused_standing_orders(session=session, service_date=WEDNESDAY)
    assert handled.order_id == placed.id

    thursday = materialise_paused(make, site, elder, day=WEDNESDAY + timedelta(days=1))
    assert [type(refusal) for _, refusal in thursday.skipped] == [errors.ElderPaused]
    assert (
        refused_standing_orders(session=session, service_date=WEDNESDAY + timedelta(days=1)) == []
    )
    closed = run_cutoff(
        session=session,
        clock=make.clock,
        site_id=site.id,
        service_date=WEDNESDAY + timedelta(days=1),
        slot=Slot.lunch,
        early=True,
        **CUTOFF_LIMITS,
    )
    assert closed.standing_orders_skipped == 0  # paused: not counted as refused either


def standing_dish(session, site) -> int:
    from core.models import Menu, MenuItem

    return session.exec(
        select(MenuItem.dish_id)
        .join(Menu)
        .where(Menu.site_id == site.id, Menu.service_date == WEDNESDAY, Menu.slot == "lunch")
    ).first()
