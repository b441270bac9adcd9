"""The ordering rules, each refused with a typed, translated error that writes nothing."""

import dataclasses
from datetime import date, datetime, time, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from core import errors
from core.cutoff import run_cutoff
from core.elders import pause_elder
from core.i18n import gettext
from core.models import MealSlot, MenuItem, Order, table_of
from core.orders import PlacedOrder, cancel_order, change_order, place_order, repeat_last_order
from core.types import ElderStatus, OrderSource, OrderStatus, ServiceMode, Slot, Texture
from tests.conftest import SHANGHAI, row_counts
from tests.factories import CUTOFF_LIMITS, ORDER_LIMITS, SETTINGS


def order(make, elder, site, dish, *, variant="regular", key=None, **overrides):
    values = dict(
        session=make.session,
        clock=make.clock,
        elder_id=elder.id,
        site_id=site.id,
        service_date=make.today,
        slot=Slot.lunch,
        dish_id=dish.id,
        variant=variant,
        quantity=1,
        idempotency_key=key
        or f"k-{elder.id}-{dish.id}-{variant}-"
        f"{overrides.get('service_date', make.today)}-{overrides.get('slot', 'lunch')}",
    )
    values.update(overrides)
    return place_order(**values, **ORDER_LIMITS)


def assert_refused(session, error_type, call):
    """The call raises `error_type`, with a message in both languages, and writes nothing."""
    before = row_counts(session)
    with pytest.raises(error_type) as caught:
        call()
    assert row_counts(session) == before
    chinese, english = caught.value.render("zh_CN"), caught.value.render("en")
    assert gettext(caught.value.message, "zh_CN") != caught.value.message, "not translated"
    assert "{" not in chinese and "{" not in english
    return caught.value


def test_order_keeps_a_snapshot_of_dish_variant_price_site_and_day(make):
    site, dishes, elder = make.world()
    placed = order(make, elder, site, dishes[0], variant="low_salt", quantity=2)
    assert placed.status == OrderStatus.placed
    assert (placed.dish_name_zh, placed.variant, placed.unit_price_fen, placed.total_fen) == (
        dishes[0].name_zh,
        "low_salt",
        1500,
        3000,
    )
    assert placed.site_id == site.id and placed.service_date == make.today
    assert placed.diet_tags == ["low_salt"]
    assert placed.ordered_at == make.clock.now()


def test_a_placed_order_carries_every_column_of_the_order_and_nothing_else(make, session):
    """`PlacedOrder` is written out for the type checker: it must stay Order's columns."""
    site, dishes, elder = make.world()
    placed = order(make, elder, site, dishes[0])
    columns = [column.name for column in table_of(Order).columns]
    assert [field.name for field in dataclasses.fields(PlacedOrder)] == columns
    stored = session.get(Order, placed.id)
    assert {name: getattr(placed, name) for name in columns} == {
        name: getattr(stored, name) for name in columns
    }


def test_a_later_price_change_does_not_change_the_order(make, session):
    site, dishes, elder = make.world()
    placed = order(make, elder, site, dishes[0])
    item = session.get(MenuItem, placed.menu_item_id)
    item.price_fen = 9900
    session.add(item)
    session.flush()
    session.expire_all()
    assert session.get(Order, placed.id).unit_price_fen == 1500


def test_order_for_tomorrow_is_ordered_today_for_tomorrow(make):
    site, dishes, elder = make.world()
    placed = order(make, elder, site, dishes[0], service_date=make.today + timedelta(days=1))
    assert placed.service_date == make.today + timedelta(days=1)
    assert placed.ordered_at.date() == make.today


def test_order_after_cutoff_is_refused_and_writes_nothing(make, session, clock):
    site, dishes, elder = make.world()
    clock.set(datetime(2026, 11, 25, 9, 30, tzinfo=SHANGHAI))
    error = assert_refused(
        session, errors.CutoffPassed, lambda: order(make, elder, site, dishes[0])
    )
    assert "09:30" in error.render("en") and site.phone in error.render("zh_CN")
    # Dinner on the same day is still open.
    assert order(make, elder, site, dishes[0], slot=Slot.dinner).slot == Slot.dinner


def test_cutoff_the_day_before_closes_orders_the_evening_before(make, session, clock):
    site, dishes, elder = make.world()
    lunch = session.exec(
        sa.select(MealSlot).where(MealSlot.site_id == site.id, MealSlot.slot == "lunch")
    ).scalar_one()
    lunch.cutoff_days_before, lunch.cutoff_time = 1, time(17, 0)
    session.add(lunch)
    session.flush()
    assert_refused(session, errors.CutoffPassed, lambda: order(make, elder, site, dishes[0]))
    tomorrow = make.today + timedelta(days=1)
    assert order(make, elder, site, dishes[0], service_date=tomorrow).service_date == tomorrow


def test_a_locked_slot_refuses_orders_even_before_its_cutoff_time(make, session, clock):
    site, dishes, elder = make.world()
    run_cutoff(
        session=session,
        clock=clock,
        site_id=site.id,
        service_date=make.today,
        slot=Slot.lunch,
        early=True,
        **CUTOFF_LIMITS,
    )
    assert_refused(session, errors.CutoffPassed, lambda: order(make, elder, site, dishes[0]))


def test_dish_not_on_that_days_menu_is_refused(make, session):
    site, dishes, elder = make.world()
    other = make.dish()
    assert_refused(session, errors.NotOnMenu, lambda: order(make, elder, site, other))
    assert_refused(
        session, errors.NotOnMenu, lambda: order(make, elder, site, dishes[0], variant="pureed")
    )
    far = make.today + timedelta(days=5)  # within the horizon, but no menu published
    assert_refused(
        session, errors.NotOnMenu, lambda: order(make, elder, site, dishes[0], service_date=far)
    )


def test_allergen_in_the_dish_is_refused(make, session):
    site, dishes, _ = make.world()
    elder = make.elder(site, allergies=["fish"])
    error = assert_refused(
        session, errors.AllergenConflict, lambda: order(make, elder, site, dishes[1])
    )
    assert "鱼" in error.render("zh_CN") and "fish" in error.render("en")
    assert order(make, elder, site, dishes[0]).dish_id == dishes[0].id


def test_texture_firmer_than_the_elder_can_eat_is_refused_softer_is_fine(make, session):
    site, dishes, _ = make.world()
    elder = make.elder(site, texture=Texture.soft)
    assert_refused(session, errors.TextureConflict, lambda: order(make, elder, site, dishes[0]))
    placed = order(make, elder, site, dishes[0], variant="minced")
    assert placed.texture == Texture.minced


def test_required_diet_missing_from_the_variant_is_refused(make, session):
    site, dishes, _ = make.world()
    elder = make.elder(site, diet_needs=["low_salt"])
    assert_refused(session, errors.DietConflict, lambda: order(make, elder, site, dishes[0]))
    assert order(make, elder, site, dishes[0], variant="low_salt").variant == "low_salt"


def test_elder_outside_the_sites_service_area_is_refused(make, session):
    site, dishes, _ = make.world()
    elsewhere = make.elder(make.community(name="远方社区"))
    assert_refused(
        session, errors.OutsideServiceArea, lambda: order(make, elsewhere, site, dishes[0])
    )


def test_the_same_idempotency_key_never_makes_a_second_order(make, session):
    site, dishes, elder = make.world()
    first = order(make, elder, site, dishes[0], key="update-42")
    error = assert_refused(
        session,
        errors.DuplicateRequest,
        lambda: order(make, elder, site, dishes[1], key="update-42"),
    )
    assert error.params["order_id"] == first.id


def test_the_database_itself_refuses_a_duplicate_key_and_a_second_live_meal(make, session):
    site, dishes, elder = make.world()
    first = order(make, elder, site, dishes[0], key="k1")
    columns = {c.name: getattr(first, c.name) for c in Order.__table__.columns if c.name != "id"}
    for changes in ({"slot": "dinner"}, {"idempotency_key": "k2"}):
        with pytest.raises(IntegrityError), session.begin_nested():
            session.execute(sa.insert(Order).values({**columns, **changes}))
    cancel_order(
        session=session,
        clock=make.clock,
        order_id=first.id,
        programme_phone=SETTINGS.programme_phone,
    )
    with session.begin_nested():  # a cancelled order no longer blocks the meal
        session.execute(sa.insert(Order).values({**columns, "idempotency_key": "k3"}))


def test_a_second_order_for_the_same_meal_is_refused_until_the_first_is_cancelled(make, session):
    site, dishes, elder = make.world()
    first = order(make, elder, site, dishes[0], key="a")
    assert_refused(
        session, errors.AlreadyOrdered, lambda: order(make, elder, site, dishes[1], key="b")
    )
    cancel_order(
        session=session,
        clock=make.clock,
        order_id=first.id,
        programme_phone=SETTINGS.programme_phone,
    )
    assert order(make, elder, site, dishes[1], key="c").status == OrderStatus.placed


def test_paused_and_inactive_elders_are_refused(make, session):
    site, dishes, elder = make.world()
    pause_elder(
        session=session,
        elder_id=elder.id,
        start_date=make.today,
        end_date=make.today + timedelta(days=2),
        reason="住院",
    )
    assert_refused(session, errors.ElderPaused, lambda: order(make, elder, site, dishes[0]))
    other = make.elder(site)
    other.status = ElderStatus.inactive
    session.add(other)
    session.flush()
    assert_refused(session, errors.ElderInactive, lambda: order(make, other, site, dishes[0]))


@pytest.mark.parametrize(
    ("overrides", "error_type"),
    [
        ({"elder_id": 999_999}, errors.ElderNotFound),
        ({"site_id": 999_999}, errors.SiteNotFound),
        ({"slot": Slot.breakfast}, errors.SlotNotOffered),
        ({"service_date": date(2026, 11, 24)}, errors.DateInPast),
        ({"service_date": date(2027, 1, 30)}, errors.DateTooFar),
        ({"quantity": 0}, errors.InvalidQuantity),
        ({"quantity": 1000}, errors.InvalidQuantity),
        ({"quantity": "many"}, errors.InvalidInput),
        ({"service_date": "tomorrow"}, errors.InvalidInput),
        ({"slot": "supper"}, errors.InvalidInput),
        ({"elder_id": "Li"}, errors.InvalidInput),
        ({"idempotency_key": ""}, errors.InvalidInput),
        ({"mode": "drone"}, errors.InvalidInput),
    ],
)
def test_bad_input_is_refused_with_a_translated_error_and_writes_nothing(
    make, session, overrides, error_type
):
    site, dishes, elder = make.world()
    assert_refused(session, error_type, lambda: order(make, elder, site, dishes[0], **overrides))


def test_a_mode_the_site_does_not_offer_is_refused(make, session):
    community = make.community()
    site = make.site(serves=[community], offers_delivery=False)
    dish = make.dish()
    make.menu(site, [dish])
    elder = make.elder(community)
    assert_refused(
        session,
        errors.ModeNotOffered,
        lambda: order(make, elder, site, dish, mode=ServiceMode.delivery),
    )
    assert order(make, elder, site, dish, mode=ServiceMode.dine_in).mode == ServiceMode.dine_in


def test_change_before_cutoff_updates_the_snapshot(make, session):
    site, dishes, elder = make.world()
    placed = order(make, elder, site, dishes[0])
    changed = change_order(
        session=session,
        clock=make.clock,
        order_id=placed.id,
        dish_id=dishes[1].id,
        variant="soft",
        quantity=2,
        max_order_quantity=SETTINGS.max_order_quantity,
        programme_phone=SETTINGS.programme_phone,
    )
    assert (changed.dish_id, changed.variant, changed.texture, changed.total_fen) == (
        dishes[1].id,
        "soft",
        Texture.soft,
        3000,
    )
    assert changed.allergens == ["fish"]


def test_a_change_that_breaks_a_rule_is_refused_and_leaves_the_order_as_it_was(make, session):
    site, dishes, _ = make.world()
    elder = make.elder(site, allergies=["fish"])
    placed = order(make, elder, site, dishes[0])
    assert_refused(
        session,
        errors.AllergenConflict,
        lambda: change_order(
            session=session,
            clock=make.clock,
            order_id=placed.id,
            dish_id=dishes[1].id,
            max_order_quantity=SETTINGS.max_order_quantity,
            programme_phone=SETTINGS.programme_phone,
        ),
    )
    assert_refused(
        session,
        errors.InvalidQuantity,
        lambda: change_order(
            session=session,
            clock=make.clock,
            order_id=placed.id,
            quantity=0,
            max_order_quantity=SETTINGS.max_order_quantity,
            programme_phone=SETTINGS.programme_phone,
        ),
    )
    session.expire_all()
    again = session.get(Order, placed.id)
    assert (again.dish_id, again.quantity) == (dishes[0].id, 1)


def test_cancel_before_cutoff_and_refusal_after(make, session, clock):
    site, dishes, elder = make.world()
    early = order(make, elder, site, dishes[0])
    assert (
        cancel_order(
            session=session,
            clock=clock,
            order_id=early.id,
            programme_phone=SETTINGS.programme_phone,
        ).status
        == "cancelled"
    )
    assert_refused(
        session,
        errors.OrderNotChangeable,
        lambda: cancel_order(
            session=session,
            clock=clock,
            order_id=early.id,
            programme_phone=SETTINGS.programme_phone,
        ),
    )
    late = order(make, elder, site, dishes[0], key="late")
    clock.set(datetime(2026, 11, 25, 10, 0, tzinfo=SHANGHAI))
    assert_refused(
        session,
        errors.CutoffPassed,
        lambda: cancel_order(
            session=session, clock=clock, order_id=late.id, programme_phone=SETTINGS.programme_phone
        ),
    )
    run_cutoff(
        session=session,
        clock=clock,
        site_id=site.id,
        service_date=make.today,
        slot=Slot.lunch,
        **CUTOFF_LIMITS,
    )
    assert_refused(
        session,
        errors.CutoffPassed,
        lambda: cancel_order(
            session=session, clock=clock, order_id=late.id, programme_phone=SETTINGS.programme_phone
        ),
    )
    assert_refused(
        session,
        errors.OrderNotFound,
        lambda: cancel_order(
            session=session, clock=clock, order_id=987_654, programme_phone=SETTINGS.programme_phone
        ),
    )


def test_repeat_last_takes_the_same_dish_and_variant_when_it_is_on_the_menu(make, session):
    site, dishes, elder = make.world()
    order(make, elder, site, dishes[1], variant="low_salt", quantity=2, mode=ServiceMode.pickup)
    tomorrow = make.today + timedelta(days=1)
    again = repeat_last_order(
        session=session,
        clock=make.clock,
        elder_id=elder.id,
        service_date=tomorrow,
        idempotency_key="repeat-1",
        **ORDER_LIMITS,
    )
    assert (again.dish_id, again.variant, again.quantity, again.mode, again.service_date) == (
        dishes[1].id,
        "low_salt",
        2,
        ServiceMode.pickup,
        tomorrow,
    )


def test_repeat_last_never_takes_another_dish_in_the_same_place_on_the_menu(make, session):
    """With a rotating menu the set in the same place is another dish (shrimp and egg for
    chicken): "same as last time" is refused, saying which dish is missing, and writes
    nothing."""
    site, dishes, elder = make.world()
    order(make, elder, site, dishes[1], variant="low_salt")
    day_after = make.today + timedelta(days=2)
    make.menu(site, [make.dish(), make.dish()], day_after)
    error = assert_refused(
        session,
        errors.RepeatNotOnMenu,
        lambda: repeat_last_order(
            session=session,
            clock=make.clock,
            elder_id=elder.id,
            service_date=day_after,
            idempotency_key="repeat-2",
            **ORDER_LIMITS,
        ),
    )
    assert (
        error.render("en") == f"{dishes[1].name_en} is not on the menu for lunch on Nov 27, 2026."
    )


def test_repeat_last_takes_the_same_dish_in_her_own_style_when_its_variant_is_gone(make, session):
    site, dishes, _ = make.world()
    elder_low_salt = make.elder(site, diet_needs=["low_salt"])
    order(make, elder_low_salt, site, dishes[0], variant="minced")
    tomorrow = make.today + timedelta(days=1)
    make.menu(site, dishes, tomorrow, variants=("regular", "low_salt", "soft"))
    again = repeat_last_order(
        session=session,
        clock=make.clock,
        elder_id=elder_low_salt.id,
        service_date=tomorrow,
        idempotency_key="repeat-3",
        **ORDER_LIMITS,
    )
    assert (again.dish_id, again.variant) == (dishes[0].id, "low_salt")


def test_repeat_with_nothing_before_is_refused(make, session):
    _, _, elder = make.world()
    assert_refused(
        session,
        errors.NothingToRepeat,
        lambda: repeat_last_order(
            session=session,
            clock=make.clock,
            elder_id=elder.id,
            service_date=make.today,
            idempotency_key="r",
            **ORDER_LIMITS,
        ),
    )


def test_cutoff_locks_placed_orders_once_and_leaves_cancelled_ones(make, session, clock):
    site, dishes, elder = make.world()
    other = make.elder(site)
    kept = order(make, elder, site, dishes[0])
    dropped = order(make, other, site, dishes[0])
    cancel_order(
        session=session, clock=clock, order_id=dropped.id, programme_phone=SETTINGS.programme_phone
    )
    with pytest.raises(errors.CutoffNotYet):
        run_cutoff(
            session=session,
            clock=clock,
            site_id=site.id,
            service_date=make.today,
            slot=Slot.lunch,
            **CUTOFF_LIMITS,
        )
    clock.set(datetime(2026, 11, 25, 9, 31, tzinfo=SHANGHAI))
    result = run_cutoff(
        session=session,
        clock=clock,
        site_id=site.id,
        service_date=make.today,
        slot=Slot.lunch,
        **CUTOFF_LIMITS,
    )
    assert (result.orders_locked, result.already_done) == (1, False)
    assert session.get(Order, kept.id).status == OrderStatus.locked
    assert session.get(Order, dropped.id).status == OrderStatus.cancelled
    again = run_cutoff(
        session=session,
        clock=clock,
        site_id=site.id,
        service_date=make.today,
        slot=Slot.lunch,
        **CUTOFF_LIMITS,
    )
    assert again.already_done and again.orders_locked == 1


def test_staff_orders_record_their_source(make):
    site, dishes, elder = make.world()
    placed = order(make, elder, site, dishes[0], source=OrderSource.staff)
    assert placed.source == OrderSource.staff
