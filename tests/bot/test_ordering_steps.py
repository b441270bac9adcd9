"""What an elder meets in her first week of ordering by chat (issue 24), one Turn at a time as in
tests/bot/test_flows.py: "same as last time" repeats the same dish, on the next meal she has not
ordered, in two taps; the style step starts from her own style; the portions go up to the
setting; and one number to call, whatever the chat is saying."""

from datetime import datetime, timedelta

from bot import callbacks as cb
from bot.turn import Turn
from core.errors import DomainError
from core.menus import publish_menu
from core.models import MenuItem
from core.schemas import MenuItemCreate
from core.settings import Settings
from core.types import ServiceMode, Slot, Texture
from mealaid import citydata
from tests.bot.test_flows import (
    SETTINGS,
    chat_for,
    item_id,
    labelled,
    of_kind,
    orders_of,
    place,
    press,
    refused,
    typed,
)
from tests.conftest import SHANGHAI, row_counts
from tests.factories import Factory


def demo_menu(make: Factory, site, dishes, day, slot: Slot = Slot.lunch) -> None:
    """A menu offering every dish in the demo city's six styles (pureed costs ¥3 more)."""
    items = [
        MenuItemCreate(
            dish_id=dish.id,
            variant=variant,
            texture=Texture(texture),
            diet_tags=tags,
            price_fen=1500 + extra,
            position=position,
        )
        for position, dish in enumerate(dishes)
        for variant, (texture, tags, extra) in citydata.VARIANTS.items()
    ]
    publish_menu(session=make.session, site_id=site.id, service_date=day, slot=slot, items=items)


def variant_of(make: Factory, menu_item_id: int) -> str:
    return make.session.get_one(MenuItem, menu_item_id).variant


# -- same as last time -----------------------------------------------------------------------


def test_same_as_last_time_is_the_next_meal_not_yet_ordered_press_and_confirm(make, session):
    site, dishes, elder = make.world()
    today = make.today
    place(make, elder, site, dishes[1], today, variant="low_salt", quantity=2, mode="pickup")
    turn = chat_for(make, elder)

    # Today's lunch is ordered: the next lunch she has not ordered is tomorrow's.
    [screen] = typed(turn, "🔁 Same as last time")
    tomorrow = item_id(session, site.id, today + timedelta(1), Slot.lunch, dishes[1].id, "low_salt")
    assert "Please check your order" in screen.text and not screen.edit
    assert of_kind(screen, cb.Place) == [cb.Place(elder.id, tomorrow, 2, "p")]
    press(turn, cb.Place(elder.id, tomorrow, 2, "p"), key="tg:1:71")
    first, repeated = orders_of(session, elder)
    assert (repeated.service_date, repeated.slot) == (today + timedelta(1), Slot.lunch)
    assert (repeated.dish_id, repeated.variant, repeated.quantity, repeated.mode) == (
        first.dish_id,
        "low_salt",
        2,
        ServiceMode.pickup,
    )

    # Pressed again it moves on to the day after; another day is one button away.
    [again] = typed(turn, "🔁 Same as last time")
    in_two_days = today + timedelta(2)
    day_after = item_id(session, site.id, in_two_days, Slot.lunch, dishes[1].id, "low_salt")
    assert of_kind(again, cb.Place) == [cb.Place(elder.id, day_after, 2, "p")]
    [other_days] = press(turn, of_kind(again, cb.RepeatMeals)[0])
    # Only meals still open and not ordered: the lunch of the day after, and the dinners.
    assert of_kind(other_days, cb.RepeatOn) == [
        cb.RepeatOn(elder.id, today, Slot.dinner),
        cb.RepeatOn(elder.id, today + timedelta(1), Slot.dinner),
        cb.RepeatOn(elder.id, today + timedelta(2), Slot.lunch),
        cb.RepeatOn(elder.id, today + timedelta(2), Slot.dinner),
    ]
    press(turn, cb.Place(elder.id, day_after, 2, "p"), key="tg:1:72")

    # Every lunch ordered: the next open meal she has not ordered, today's dinner.
    [dinner] = typed(turn, "🔁 Same as last time")
    tonight = item_id(session, site.id, today, Slot.dinner, dishes[1].id, "low_salt")
    assert of_kind(dinner, cb.Place) == [cb.Place(elder.id, tonight, 2, "p")]
    for day in (today + timedelta(d) for d in range(3)):
        place(make, elder, site, dishes[0], day, slot=Slot.dinner)
    # Nothing left to order: said plainly (the refusal bot.app sends), nothing written.
    error = refused(session, lambda: typed(turn, "🔁 Same as last time"))
    assert error.render("en") == (
        f"{elder.name} already has every meal ordered that is open for ordering. "
        "See “My orders” to change one."
    )


def test_same_as_last_time_repeats_the_dish_not_its_place_on_the_menu(make, session):
    """The elder who had 腐竹焖鸡 must not be offered 虾仁滑蛋 because it stands where 腐竹焖鸡
    stood: when her dish is not on the menu she is told, and chooses from the day's sets."""
    site, dishes, elder = make.world()
    today = make.today
    place(make, elder, site, dishes[1], today, variant="low_salt")
    new_dishes = [make.dish(name_en="Chicken with tofu skin"), make.dish(name_en="Shrimp and egg")]
    make.menu(site, new_dishes, today + timedelta(1))
    turn = chat_for(make, elder)

    before = row_counts(session)
    [sets] = typed(turn, "🔁 Same as last time")
    assert row_counts(session) == before
    assert sets.text.startswith(
        f"{dishes[1].name_en} is not on the menu for lunch on Thu 26 Nov. Choose from that "
        "day's sets:"
    )
    assert of_kind(sets, cb.Place) == [] and of_kind(sets, cb.Review) == []
    assert [b.dish_id for b in of_kind(sets, cb.PickVariant)] == [d.id for d in new_dishes]
    assert {b.day for b in of_kind(sets, cb.PickVariant)} == {today + timedelta(1)}
    assert of_kind(sets, cb.RepeatMeals) == [cb.RepeatMeals(elder.id)]  # or another day


def test_the_confirmation_shows_the_allergens_of_the_dish(make, session):
    site, dishes, elder = make.world()
    today = make.today
    place(make, elder, site, dishes[1], today, variant="low_salt")  # dishes[1] has fish
    turn = chat_for(make, elder)
    [repeat] = typed(turn, "🔁 Same as last time")
    assert "⚠️ Contains: fish" in repeat.text.splitlines()
    regular = item_id(session, site.id, today, Slot.dinner, dishes[1].id, "regular")
    [ordered] = press(turn, cb.Review(elder.id, regular, 1, "-"))
    assert "⚠️ Contains: fish" in ordered.text.splitlines()
    plain = item_id(session, site.id, today, Slot.dinner, dishes[0].id, "regular")
    [without] = press(turn, cb.Review(elder.id, plain, 1, "-"))
    assert "Contains" not in without.text


# -- the style step --------------------------------------------------------------------------


def test_the_style_starts_from_the_elders_own_and_the_others_are_a_tap_away(make, session):
    site, _, _ = make.world()
    dish = make.dish(name_en="Chicken with tofu skin")
    day = make.today + timedelta(1)
    demo_menu(make, site, [dish], day)
    low_salt = make.elder(site, diet_needs=["low_salt"])
    turn = chat_for(make, low_salt)

    # Pressing the dish is the confirmation, in her own style: the common path is Confirm.
    [screen] = press(turn, cb.PickVariant(low_salt.id, day, Slot.lunch, dish.id))
    own = item_id(session, site.id, day, Slot.lunch, dish.id, "low_salt")
    assert "Please check your order" in screen.text and "· low salt × 1" in screen.text
    assert of_kind(screen, cb.Place) == [cb.Place(low_salt.id, own, 1, "d")]
    [other] = of_kind(screen, cb.PickStyle)
    assert other == cb.PickStyle(low_salt.id, own, 1, "d")

    # The other styles her diet allows, hers first and marked; never the salted regular one.
    [styles] = press(turn, other)
    *reviews, back = of_kind(styles, cb.Review)
    assert back == cb.Review(low_salt.id, own, 1, "d")  # back to the confirmation as it was
    assert [variant_of(make, r.item_id) for r in reviews] == [
        "low_salt",
        "low_sugar",
        "soft",
        "minced",
        "pureed",
    ]
    first_label = next(label for label, value in labelled(styles).items() if value == reviews[0])
    assert first_label.startswith("• ")
    pureed_item = reviews[-1].item_id
    assert labelled(styles)["Pureed · ¥18.00"] == cb.Review(low_salt.id, pureed_item, 1, "d")
    [pureed] = press(turn, reviews[-1])
    assert "pureed" in pureed.text and "¥18.00" in pureed.text

    # A standing order's style step puts hers first too.
    mask = 0b0011111
    [standing] = press(turn, cb.StandingVariant(low_salt.id, Slot.lunch, mask))
    offered = [r.variant for r in of_kind(standing, cb.StandingReview)]
    assert offered == ["low_salt", "low_sugar", "soft", "minced", "pureed", "-"]

    # An elder on regular food with no diet starts from regular; a soft-food elder from soft.
    for needs, texture, expected in (([], "regular", "regular"), (["low_salt"], "soft", "soft")):
        elder = make.elder(site, diet_needs=needs, texture=texture)
        [screen] = press(chat_for(make, elder), cb.PickVariant(elder.id, day, Slot.lunch, dish.id))
        [place_button] = of_kind(screen, cb.Place)
        assert variant_of(make, place_button.item_id) == expected


def test_a_change_keeps_the_orders_style_when_the_new_dish_has_it(make, session):
    site, _, _ = make.world()
    dishes = [make.dish(), make.dish()]
    day = make.today + timedelta(1)
    demo_menu(make, site, dishes, day)
    elder = make.elder(site, diet_needs=["low_salt"])
    order = place(make, elder, site, dishes[0], day, variant="soft")
    turn = chat_for(make, elder)
    [screen] = press(turn, cb.ChangeVariant(order.id, dishes[1].id))
    soft = item_id(session, site.id, day, Slot.lunch, dishes[1].id, "soft")
    assert "Please check the change" in screen.text
    assert of_kind(screen, cb.Change) == [cb.Change(order.id, soft, 1, "d")]
    [styles] = press(turn, cb.ChangeStyle(order.id, soft, 1, "d"))
    reviews = of_kind(styles, cb.ChangeReview)
    assert variant_of(make, reviews[0].item_id) == "low_salt"
    assert of_kind(styles, cb.Review) == []  # a change never leads to a new order


# -- portions --------------------------------------------------------------------------------


def test_the_portions_offered_go_up_to_the_setting(make, session):
    site, dishes, elder = make.world()
    item = item_id(session, site.id, make.today, Slot.lunch, dishes[0].id, "regular")
    turn = chat_for(make, elder)
    [screen] = press(turn, cb.Review(elder.id, item, 1, "-"))
    assert [r.quantity for r in of_kind(screen, cb.Review) if r.mode == "d"][:5] == [1, 2, 3, 4, 5]
    four = Turn(session, make.clock, Settings(max_order_quantity=4), turn.user, turn.state)
    [screen] = press(four, cb.Review(elder.id, item, 9, "-"))
    quantities = sorted({r.quantity for r in of_kind(screen, cb.Review)})
    assert quantities == [1, 2, 3, 4] and "× 4" in screen.text


def test_the_turns_settings_are_the_ones_an_order_is_checked_by(make, session, clock):
    """The Turn's settings reach the rules in core: its limit on portions, and the programme's
    number a refusal after the cutoff gives (this canteen has none of its own)."""
    site, dishes, elder = make.world()
    site.phone = ""
    session.add(site)
    item = item_id(session, site.id, make.today, Slot.lunch, dishes[0].id, "regular")
    turn = chat_for(make, elder)
    four = Turn(
        session,
        make.clock,
        SETTINGS.model_copy(update={"max_order_quantity": 4}),
        turn.user,
        turn.state,
    )
    too_many = refused(session, lambda: press(four, cb.Place(elder.id, item, 5, "-")), DomainError)
    assert too_many.params == {"low": 1, "high": 4}
    clock.set(datetime(2026, 11, 25, 9, 31, tzinfo=SHANGHAI))
    late = refused(session, lambda: press(turn, cb.Place(elder.id, item, 1, "-")), DomainError)
    assert late.params["phone"] == SETTINGS.programme_phone


# -- which number to call ----------------------------------------------------------------------


def test_the_chat_gives_one_number_to_call(make, session, clock):
    site, dishes, elder = make.world()
    assert site.phone != SETTINGS.programme_phone
    turn = chat_for(make, elder)
    # Her canteen's number, in the help as in a refusal from that canteen.
    [help_text] = typed(turn, "❓ Help")
    assert help_text.text.endswith(f"Call {site.phone}.")
    [standing] = typed(turn, "📅 Standing order")
    assert site.phone in standing.text and SETTINGS.programme_phone not in standing.text
    item = item_id(session, site.id, make.today, Slot.lunch, dishes[0].id, "regular")
    clock.set(datetime(2026, 11, 25, 9, 31, tzinfo=SHANGHAI))
    error = refused(session, lambda: press(turn, cb.Place(elder.id, item, 1, "-")), DomainError)
    assert site.phone in error.render("en")

    # A chat for elders of two canteens with different numbers, and a stranger: the programme's.
    other_site, _, other = make.world()
    other_site.phone = "020-7777 1234"
    session.add(other_site)
    family = chat_for(make, elder, other)
    [help_text] = typed(family, "❓ Help")
    assert help_text.text.endswith(f"Call {SETTINGS.programme_phone}.")
    stranger = chat_for(make)
    [help_text] = typed(stranger, "❓ Help")
    assert help_text.text.endswith(f"Call {SETTINGS.programme_phone}.")
