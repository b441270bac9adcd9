"""Every flow of the bot's conversation, one Turn at a time: a `Turn` built on the rolled-back
test session, the flow reached through `bot.conversation` (a typed text or a pressed button's
encoded data) as `bot.app` would, then what the bot said (text, and buttons decoded back to
their kinds) and what the step wrote. No Bot API, no Telegram, no threads: the end-to-end
tests in tests/e2e drive the real bot; these pin each step down quickly."""

import itertools
from datetime import datetime, timedelta

import pytest
from sqlmodel import Session, select

from bot import callbacks as cb
from bot import conversation
from bot.flows import onboarding, rider
from bot.flows.rider import NotARider
from bot.models import ChatState
from bot.turn import Link, NotYours, Say, Turn
from core.errors import DomainError, UndoTooLate
from core.models import (
    ChatUser,
    Elder,
    ElderLink,
    MealRating,
    Menu,
    MenuItem,
    Order,
    Rider,
    StandingOrder,
    StandingOrderPause,
    WelfareAlert,
    WelfareAlertStep,
)
from core.ratings import REASONS
from core.settings import Settings
from core.types import AlertStatus, LinkRelation, OrderSource, OrderStatus, ServiceMode, Slot
from routing.records import RouteStop
from tests.conftest import SHANGHAI, row_counts
from tests.factories import Factory, PolicyFactory, kitchen_with_route
from usecases import ordering
from usecases.elders import chat_user_for, issue_link_code, link_chat

SETTINGS = Settings(programme_phone="020-5555 0100", max_order_quantity=5)
_telegram_ids = itertools.count(9_100_001)
EASTGATE = (23.1360, 113.2720)  # about a kilometre north of the elders' homes


# -- a chat, its turns and what the bot said -------------------------------------------------


def chat_for(
    make: Factory,
    *elders: Elder,
    language: str = "en",
    relation: LinkRelation = LinkRelation.family,
) -> Turn:
    """A chat user (linked to `elders` as staff would link them) and the Turn of their next
    update, built as bot.app builds it."""
    session, clock = make.session, make.clock
    telegram_id = next(_telegram_ids)
    user = chat_user_for(
        session=session,
        telegram_user_id=telegram_id,
        name=f"Chat {telegram_id}",
        language=language,
        clock=clock,
    )
    for elder in elders:
        link_chat(
            session=session,
            clock=clock,
            actor="test",
            chat_user_id=user.id,
            elder_id=elder.id,
            relation=relation,
        )
    state = ChatState(chat_user_id=user.id, data={}, updated_at=clock.now())
    session.add(state)
    session.flush()
    return Turn(session, clock, SETTINGS, user, state)


def next_turn(turn: Turn) -> Turn:
    """The same chat's next update: a new Turn (nothing cached) on the same user and state."""
    return Turn(turn.session, turn.clock, turn.settings, turn.user, turn.state)


def press(turn: Turn, button: cb.Callback, key: str = "tg:1:1") -> list[Say]:
    """A pressed button, as its callback data comes back from Telegram."""
    return conversation.button(next_turn(turn), button.encode(), key)


def typed(turn: Turn, text: str) -> list[Say]:
    return conversation.typed(next_turn(turn), text)


def buttons(say: Say) -> list[cb.Callback | Link]:
    """The buttons of a message as they come back when pressed: callback data decoded."""
    found: list[cb.Callback | Link] = []
    for row in say.buttons or []:
        for _, value in row:
            if isinstance(value, Link):
                found.append(value)
            else:
                decoded = cb.decode(value.encode())
                assert decoded == value, f"{value} does not come back as itself"
                found.append(decoded)
    return found


def of_kind(say: Say, kind: type[cb.Callback]) -> list:
    return [b for b in buttons(say) if isinstance(b, kind)]


def labelled(say: Say) -> dict[str, cb.Callback | Link]:
    return {label: value for row in say.buttons or [] for label, value in row}


def refused(session: Session, step, error: type[DomainError] = DomainError) -> DomainError:
    """A step that must be refused and leave every table as it was."""
    before = row_counts(session)
    with pytest.raises(error) as raised:
        step()
    assert row_counts(session) == before
    return raised.value


def orders_of(session: Session, elder: Elder) -> list[Order]:
    session.flush()
    return list(
        session.exec(select(Order).where(Order.elder_id == elder.id).order_by(Order.id)).all()
    )


def item_id(session: Session, site_id: int, day, slot: Slot, dish_id: int, variant: str) -> int:
    return session.exec(
        select(MenuItem.id)
        .join(Menu, Menu.id == MenuItem.menu_id)
        .where(
            Menu.site_id == site_id,
            Menu.service_date == day,
            Menu.slot == slot,
            MenuItem.dish_id == dish_id,
            MenuItem.variant == variant,
        )
    ).one()


def place(make: Factory, elder: Elder, site, dish, day, **extra) -> Order:
    values = dict(slot=Slot.lunch, variant="regular", idempotency_key=f"k-{next(_telegram_ids)}")
    values.update(extra)
    placed = ordering.place_order(
        session=make.session,
        clock=make.clock,
        settings=SETTINGS,
        elder_id=elder.id,
        site_id=site.id,
        service_date=day,
        dish_id=dish.id,
        **values,
    )
    return make.session.get_one(Order, placed.order.id)


def served(make: Factory, order: Order, outcome: OrderStatus = OrderStatus.delivered) -> Order:
    """Today's lunch at the order's site locked at the cutoff, then the rider's outcome."""
    ordering.run_cutoff(
        session=make.session,
        clock=make.clock,
        settings=SETTINGS,
        site_id=order.site_id,
        service_date=order.service_date,
        slot=Slot(order.slot),
        early=True,
    )
    return ordering.record_outcome(
        session=make.session,
        clock=make.clock,
        settings=SETTINGS,
        order_id=order.id,
        outcome=outcome,
        by="rider",
    )


# -- onboarding ------------------------------------------------------------------------------


def test_a_newcomer_picks_english_and_links_by_sharing_her_own_phone(make, session):
    _, _, elder = make.world()
    turn = chat_for(make, language="zh_CN")
    [hello] = onboarding.start(turn)
    assert buttons(hello) == [cb.Language("zh_CN"), cb.Language("en")]
    # Before any link, the menu's buttons lead back to the phone question.
    assert typed(turn, "🍱 Order a meal")[0].buttons == hello.buttons

    chosen, ask = press(turn, cb.Language("en"))
    assert chosen.edit and chosen.text == "English"
    assert ask.keyboard == "contact" and "Share my phone number" in ask.text
    session.flush()
    assert session.get(ChatUser, turn.user.id).language == "en"

    # Someone else's contact card is not proof of anything.
    [not_own] = onboarding.contact_shared(next_turn(turn), elder.phone, 12345)
    assert "your own number" in not_own.text and not_own.keyboard == "contact"
    assert session.exec(select(ElderLink)).all() == []

    [welcome] = onboarding.contact_shared(next_turn(turn), elder.phone, turn.user.telegram_user_id)
    assert welcome.text == f"Welcome, {elder.name}! Choose what you need with the buttons below."
    assert welcome.keyboard == "main"
    [link] = session.exec(select(ElderLink)).all()
    assert (link.chat_user_id, link.elder_id, link.relation) == (
        turn.user.id,
        elder.id,
        LinkRelation.self_,
    )
    assert next_turn(turn).elders() == [elder]


def test_a_family_member_types_the_code_staff_gave_her(make, session):
    _, _, elder = make.world()
    code, _ = issue_link_code(session=session, clock=make.clock, actor="worker", elder_id=elder.id)
    turn = chat_for(make)
    [ask] = typed(turn, "🔑 I have a code")
    assert ask.keyboard == "remove" and turn.state.step == "code"

    [wrong] = typed(turn, "ABCD-0000")
    assert wrong.keyboard == "contact" and elder.name not in wrong.text
    assert session.exec(select(ElderLink)).all() == []

    [welcome] = typed(turn, code)
    assert elder.name in welcome.text and welcome.keyboard == "main"
    assert turn.state.step is None
    [link] = session.exec(select(ElderLink)).all()
    assert (link.chat_user_id, link.elder_id, link.relation) == (
        turn.user.id,
        elder.id,
        LinkRelation.family,
    )
    # The code was used: typed again in another chat, it links nothing.
    other = chat_for(make)
    typed(other, "🔑 I have a code")
    assert elder.name not in typed(other, code)[0].text
    assert len(session.exec(select(ElderLink)).all()) == 1


# -- ordering --------------------------------------------------------------------------------


def test_an_order_by_buttons_places_the_chosen_dish_variant_portions_and_way(make, session):
    site, dishes, elder = make.world()
    today = make.today
    turn = chat_for(make, elder)

    [days] = typed(turn, "🍱 Order a meal")
    assert [b.day for b in of_kind(days, cb.PickSlot)] == [today + timedelta(d) for d in range(3)]
    assert "Today" in next(iter(labelled(days)))
    [meals] = press(turn, cb.PickSlot(elder.id, today + timedelta(1)))
    assert of_kind(meals, cb.PickSet) == [
        cb.PickSet(elder.id, today + timedelta(1), Slot.lunch),
        cb.PickSet(elder.id, today + timedelta(1), Slot.dinner),
    ]
    [sets] = press(turn, cb.PickSet(elder.id, today + timedelta(1), Slot.lunch))
    assert [b.dish_id for b in of_kind(sets, cb.PickVariant)] == [d.id for d in dishes]
    assert "(contains: fish)" in sets.text  # the second dish's allergen is shown
    tomorrow = today + timedelta(1)
    # The dish opens its confirmation in her own style (regular); the others are a tap away.
    [first] = press(turn, cb.PickVariant(elder.id, tomorrow, Slot.lunch, dishes[1].id))
    regular = item_id(session, site.id, tomorrow, Slot.lunch, dishes[1].id, "regular")
    assert of_kind(first, cb.Place) == [cb.Place(elder.id, regular, 1, "d")]
    [variants] = press(turn, cb.PickStyle(elder.id, regular, 1, "d"))
    low_salt = item_id(session, site.id, tomorrow, Slot.lunch, dishes[1].id, "low_salt")
    assert cb.Review(elder.id, low_salt, 1, "d") in of_kind(variants, cb.Review)

    [screen] = press(turn, cb.Review(elder.id, low_salt, 2, "p"))
    assert "Please check your order" in screen.text
    assert "× 2" in screen.text and "¥30.00" in screen.text and "pick-up from" in screen.text
    assert of_kind(screen, cb.Place) == [cb.Place(elder.id, low_salt, 2, "p")]
    assert orders_of(session, elder) == []  # nothing is ordered before Confirm

    [done] = press(turn, cb.Place(elder.id, low_salt, 2, "p"), key="tg:1:42")
    assert done.edit and done.text.startswith("✅ Ordered:") and "× 2" in done.text
    [order] = orders_of(session, elder)
    assert (order.dish_id, order.variant, order.quantity, order.mode) == (
        dishes[1].id,
        "low_salt",
        2,
        ServiceMode.pickup,
    )
    assert (order.service_date, order.slot, order.site_id) == (
        today + timedelta(1),
        Slot.lunch,
        site.id,
    )
    assert (order.source, order.placed_by_chat_user_id, order.total_fen) == (
        OrderSource.chat,
        turn.user.id,
        3000,
    )
    # A double tap on the same Confirm is one order.
    [again] = press(turn, cb.Place(elder.id, low_salt, 2, "p"), key="tg:1:42")
    assert again.text == "This order has already been placed."
    assert len(orders_of(session, elder)) == 1


def test_an_allergy_and_a_soft_diet_narrow_what_is_offered(make, session):
    site, dishes, _ = make.world()
    fussy = make.elder(site, allergies=["fish"], texture="soft")
    turn, today = chat_for(make, fussy), make.today
    [sets] = press(turn, cb.PickSet(fussy.id, today, Slot.lunch))
    assert [b.dish_id for b in of_kind(sets, cb.PickVariant)] == [dishes[0].id]
    [screen] = press(turn, cb.PickVariant(fussy.id, today, Slot.lunch, dishes[0].id))
    [style] = of_kind(screen, cb.PickStyle)
    [variants] = press(turn, style)
    offered = {session.get(MenuItem, b.item_id).variant for b in of_kind(variants, cb.Review)}
    assert offered == {"soft", "minced"}
    # A forged button for the fish dish shows the sets again instead of its confirmation.
    [back] = press(turn, cb.PickVariant(fussy.id, today, Slot.lunch, dishes[1].id))
    assert of_kind(back, cb.Review) == [] and of_kind(back, cb.PickVariant)
    # A forged Confirm for the fish dish is refused by the order rules and orders nothing.
    fish = item_id(session, site.id, today, Slot.lunch, dishes[1].id, "soft")
    refused(session, lambda: press(turn, cb.Place(fussy.id, fish, 1, "-")))
    assert orders_of(session, fussy) == []


def test_same_as_last_time_orders_the_last_meal_again_on_another_day(make, session):
    site, dishes, elder = make.world()
    today = make.today
    place(make, elder, site, dishes[1], today, variant="low_salt", quantity=2, mode="pickup")
    turn = chat_for(make, elder)

    [tomorrow] = typed(turn, "🔁 Same as last time")
    assert cb.RepeatMeals(elder.id) in of_kind(tomorrow, cb.RepeatMeals)
    [meals] = press(turn, cb.RepeatMeals(elder.id))
    assert cb.RepeatOn(elder.id, today + timedelta(2), Slot.lunch) in of_kind(meals, cb.RepeatOn)
    [screen] = press(turn, cb.RepeatOn(elder.id, today + timedelta(2)))
    tomorrow_but_one = item_id(
        session, site.id, today + timedelta(2), Slot.lunch, dishes[1].id, "low_salt"
    )
    assert of_kind(screen, cb.Place) == [cb.Place(elder.id, tomorrow_but_one, 2, "p")]
    press(turn, cb.Place(elder.id, tomorrow_but_one, 2, "p"), key="tg:1:7")
    first, repeated = orders_of(session, elder)
    assert repeated.service_date == today + timedelta(2)
    assert (repeated.dish_id, repeated.variant, repeated.quantity, repeated.mode) == (
        first.dish_id,
        first.variant,
        first.quantity,
        first.mode,
    )
    # An elder who never ordered has nothing to repeat: a refusal, nothing written.
    newcomer = make.elder(site)
    turn = chat_for(make, newcomer)
    refused(session, lambda: press(turn, cb.RepeatOn(newcomer.id, today)))
    refused(session, lambda: typed(turn, "🔁 Same as last time"))


# -- my orders: cancel and change ------------------------------------------------------------


def test_my_orders_lists_what_is_coming_and_cancel_asks_first(make, session, clock):
    site, dishes, elder = make.world()
    today = make.today
    lunch = place(make, elder, site, dishes[0], today)
    tomorrow = place(make, elder, site, dishes[0], today + timedelta(1))
    turn = chat_for(make, elder)

    [listing] = typed(turn, "📋 My orders")
    assert listing.text.startswith(f"Orders for {elder.name}") and "Coming up:" in listing.text
    assert of_kind(listing, cb.AskCancel) == [cb.AskCancel(lunch.id), cb.AskCancel(tomorrow.id)]
    assert of_kind(listing, cb.ChangeSets) == [cb.ChangeSets(lunch.id), cb.ChangeSets(tomorrow.id)]

    [ask] = press(turn, cb.AskCancel(tomorrow.id))
    assert ask.text.startswith("Cancel ") and buttons(ask) == [cb.Cancel(tomorrow.id), cb.Keep()]
    [kept] = press(turn, cb.Keep())
    assert kept.text == "Kept. Nothing changed."
    assert session.get(Order, tomorrow.id).status == OrderStatus.placed

    [cancelled] = press(turn, cb.Cancel(tomorrow.id))
    assert cancelled.text.startswith("Cancelled:")
    session.refresh(tomorrow)
    assert tomorrow.status == OrderStatus.cancelled and tomorrow.cancelled_at is not None
    assert session.get(Order, lunch.id).status == OrderStatus.placed
    [listing] = press(turn, cb.MyOrders(elder.id))
    assert of_kind(listing, cb.AskCancel) == [cb.AskCancel(lunch.id)]

    # Past today's 09:30 cutoff, cancelling today's lunch is refused and changes nothing.
    clock.set(datetime(2026, 11, 25, 10, 0, tzinfo=SHANGHAI))
    error = refused(session, lambda: press(turn, cb.Cancel(lunch.id)))
    assert site.phone in error.render("en")
    assert session.get(Order, lunch.id).status == OrderStatus.placed


def test_an_order_is_changed_to_another_dish_variant_portions_and_way(make, session):
    site, dishes, elder = make.world()
    day = make.today + timedelta(1)
    order = place(make, elder, site, dishes[0], day)
    turn = chat_for(make, elder)

    [sets] = press(turn, cb.ChangeSets(order.id))
    assert of_kind(sets, cb.ChangeVariant) == [cb.ChangeVariant(order.id, d.id) for d in dishes]
    assert of_kind(sets, cb.MyOrders) == [cb.MyOrders(elder.id)]  # back to the list
    [first] = press(turn, cb.ChangeVariant(order.id, dishes[1].id))
    regular = item_id(session, site.id, day, Slot.lunch, dishes[1].id, "regular")
    [variants] = press(turn, cb.ChangeStyle(order.id, regular, 1, "d"))
    soft = item_id(session, site.id, day, Slot.lunch, dishes[1].id, "soft")
    # The change starts from the order's own style, portions and way (regular, 1, delivered).
    assert of_kind(first, cb.Change) == [cb.Change(order.id, regular, 1, "d")]
    assert cb.ChangeReview(order.id, soft, 1, "d") in of_kind(variants, cb.ChangeReview)
    [screen] = press(turn, cb.ChangeReview(order.id, soft, 3, "i"))
    assert "Please check the change" in screen.text and "¥45.00" in screen.text
    assert of_kind(screen, cb.Change) == [cb.Change(order.id, soft, 3, "i")]
    assert of_kind(screen, cb.Place) == []  # a change never places a second order

    [done] = press(turn, cb.Change(order.id, soft, 3, "i"))
    assert done.text.startswith("✅ Changed:") and "× 3" in done.text
    [changed] = orders_of(session, elder)
    assert changed.id == order.id
    assert (changed.dish_id, changed.variant, changed.quantity, changed.mode) == (
        dishes[1].id,
        "soft",
        3,
        ServiceMode.dine_in,
    )
    # An item of another day's menu cannot be swapped in with a forged button.
    other_day = item_id(session, site.id, make.today, Slot.lunch, dishes[0].id, "regular")
    refused(session, lambda: press(turn, cb.Change(order.id, other_day, 1, "d")), NotYours)
    session.refresh(changed)
    assert (changed.service_date, changed.dish_id, changed.quantity) == (day, dishes[1].id, 3)


# -- the bill --------------------------------------------------------------------------------


def test_the_bill_shows_served_meals_who_paid_and_what_is_to_come(make, session):
    policy = PolicyFactory(session)
    policy.policy()
    policy.rule(policy.funder(), amount_fen=300)  # the city pays ¥3 of every meal
    site, dishes, elder = make.world()
    served(make, place(make, elder, site, dishes[0], make.today))
    place(make, elder, site, dishes[0], make.today + timedelta(1), quantity=2)
    turn = chat_for(make, elder)

    before = row_counts(session)
    [bill] = typed(turn, "💰 My bill")
    assert row_counts(session) == before  # reading the bill writes nothing
    lines = bill.text.splitlines()
    assert lines[0] == f"{elder.name}, November 2026"
    assert lines[1:] == [
        "Meals served: 1, worth ¥15.00",
        "You paid: ¥12.00",
        "government subsidy: ¥3.00",
        # One order of two portions: one meal to come, two portions to pay for.
        "Still to come this month: 1 meal(s), you will pay ¥24.00",
    ]
    assert bill.keyboard == "main"

    # Another elder's bill is not this chat's to read.
    stranger = make.elder(site)
    refused(session, lambda: press(turn, cb.ForElder("B", stranger.id)), NotYours)


# -- standing orders -------------------------------------------------------------------------


def test_a_standing_order_is_made_in_a_few_taps(make, session):
    site, _, elder = make.world()
    turn = chat_for(make, elder)
    [none] = typed(turn, "📅 Standing order")
    assert none.text.startswith(f"{elder.name} has no standing order")
    assert buttons(none) == [cb.NewStanding(elder.id)]

    [meals] = press(turn, cb.NewStanding(elder.id))
    assert of_kind(meals, cb.StandingDays) == [
        cb.StandingDays(elder.id, Slot.lunch, 0),
        cb.StandingDays(elder.id, Slot.dinner, 0),
    ]
    [days] = press(turn, cb.StandingDays(elder.id, Slot.lunch, 0))
    toggles = of_kind(days, cb.StandingDays)
    assert [b.mask for b in toggles[:7]] == [1, 2, 4, 8, 16, 32, 64]
    assert of_kind(days, cb.StandingVariant) == []  # no day ticked yet: no "Next"
    monday_wednesday_friday = 0b0010101
    [days] = press(turn, cb.StandingDays(elder.id, Slot.lunch, monday_wednesday_friday))
    assert of_kind(days, cb.StandingVariant) == [
        cb.StandingVariant(elder.id, Slot.lunch, monday_wednesday_friday)
    ]
    # Unticking Wednesday is one more tap.
    assert cb.StandingDays(elder.id, Slot.lunch, 0b0010001) in of_kind(days, cb.StandingDays)

    [variants] = press(turn, cb.StandingVariant(elder.id, Slot.lunch, monday_wednesday_friday))
    reviews = of_kind(variants, cb.StandingReview)
    assert [r.variant for r in reviews] == ["regular", "low_salt", "soft", "minced", "-"]
    [check] = press(
        turn, cb.StandingReview(elder.id, Slot.lunch, monday_wednesday_friday, "low_salt", "-")
    )
    assert "Mon, Wed, Fri" in check.text and "from Today" in check.text
    make_it = cb.StandingMake(elder.id, Slot.lunch, monday_wednesday_friday, "low_salt", "d")
    assert make_it in of_kind(check, cb.StandingMake)
    assert session.exec(select(StandingOrder)).all() == []

    [made] = press(turn, make_it)
    assert made.text.startswith("✅ Standing order made")
    [standing] = session.exec(select(StandingOrder)).all()
    assert (standing.elder_id, standing.site_id, standing.slot) == (elder.id, site.id, Slot.lunch)
    assert (standing.weekdays, standing.variant, standing.mode) == (
        [1, 3, 5],
        "low_salt",
        ServiceMode.delivery,
    )
    # 08:00 is before today's 09:30 cutoff: it starts today.
    assert (standing.start_date, standing.active) == (make.today, True)


def test_a_standing_order_is_paused_resumed_and_stopped(make, session):
    site, _, elder = make.world()
    today = make.today
    standing = ordering.create_standing_order(
        session=session,
        clock=make.clock,
        settings=SETTINGS,
        elder_id=elder.id,
        site_id=site.id,
        slot=Slot.lunch,
        weekdays=[1, 2, 3, 4, 5],
        start_date=today,
    )
    turn = chat_for(make, elder)
    [listing] = press(turn, cb.Standing(elder.id))
    assert "lunch on Mon, Tue, Wed, Thu, Fri" in listing.text
    assert buttons(listing) == [
        cb.PauseFrom(standing.id),
        cb.AskStop(standing.id),
        cb.NewStanding(elder.id),
    ]

    [start] = press(turn, cb.PauseFrom(standing.id))
    assert of_kind(start, cb.PauseUntil) == [
        cb.PauseUntil(standing.id, today + timedelta(d)) for d in range(7)
    ]
    [end] = press(turn, cb.PauseUntil(standing.id, today + timedelta(1)))
    ends = of_kind(end, cb.Pause)
    tomorrow = today + timedelta(1)
    assert len(ends) == 14 and ends[0] == cb.Pause(standing.id, tomorrow, tomorrow)
    [paused] = press(turn, cb.Pause(standing.id, today + timedelta(1), today + timedelta(7)))
    assert paused.text.startswith("Paused:") and "Meals start again on" in paused.text
    [pause] = session.exec(select(StandingOrderPause)).all()
    assert (pause.standing_order_id, pause.start_date, pause.end_date) == (
        standing.id,
        today + timedelta(1),
        today + timedelta(7),
    )
    [listing] = press(turn, cb.Standing(elder.id))
    assert "paused" in listing.text and cb.Resume(standing.id) in buttons(listing)

    [resumed] = press(turn, cb.Resume(standing.id))
    assert resumed.text.startswith("Resumed:")
    assert session.exec(select(StandingOrderPause)).all() == []

    [ask] = press(turn, cb.AskStop(standing.id))
    assert buttons(ask) == [cb.Stop(standing.id), cb.Keep()]
    assert session.get(StandingOrder, standing.id).active is True
    [stopped] = press(turn, cb.Stop(standing.id))
    assert stopped.text.startswith("Stopped: no more lunch")
    session.refresh(standing)
    assert standing.active is False
    [listing] = press(turn, cb.Standing(elder.id))
    assert "has no standing order" in listing.text


# -- nearby canteens -------------------------------------------------------------------------


def test_nearby_canteens_from_home_and_from_a_shared_location_then_a_meal_there(make, session):
    site, dishes, elder = make.world()
    east = make.site(name="东山饭堂", lat=EASTGATE[0], lon=EASTGATE[1])  # another community
    for offset in range(3):
        make.menu(east, dishes, make.today + timedelta(offset), Slot.lunch, 1800)
    for good in (True, True, True, False):
        diner = make.elder(east)
        order = place(make, diner, east, dishes[0], make.today, mode="dine_in")
        session.add(
            MealRating(
                order_id=order.id,
                elder_id=diner.id,
                site_id=east.id,
                service_date=make.today - timedelta(1),
                good=good,
                rated_at=make.clock.now(),
            )
        )
    turn = chat_for(make, elder)

    home, elsewhere = typed(turn, "📍 Nearby canteens")
    assert home.text.startswith(f"Canteens nearest to {elder.name}'s home")
    assert buttons(home) == [cb.OrderAt(elder.id, site.id), cb.OrderAt(elder.id, east.id)]
    assert "75% of 4 rated it good" in home.text and "not rated yet" in home.text
    assert elsewhere.keyboard == "location"
    assert (turn.state.step, turn.state.elder_id) == ("near", elder.id)

    [here] = conversation.location_shared(next_turn(turn), *EASTGATE)
    assert here.text.startswith("Canteens nearest to where you are")
    assert buttons(here)[0] == cb.OrderAt(elder.id, east.id)

    [days] = press(turn, cb.OrderAt(elder.id, east.id))
    assert "东山饭堂" in days.text
    assert of_kind(days, cb.PickSlot)[0] == cb.PickSlot(elder.id, make.today, east.id)
    [sets] = press(turn, cb.PickSet(elder.id, make.today, Slot.lunch, east.id))
    assert of_kind(sets, cb.PickVariant)[0].site_id == east.id
    regular = item_id(session, east.id, make.today, Slot.lunch, dishes[0].id, "regular")
    [screen] = press(turn, cb.Review(elder.id, regular, 1, "-"))
    # 东山饭堂 does not serve her community: no delivery from there, pick-up or eat in.
    modes = {r.mode for r in of_kind(screen, cb.Review)}
    assert modes == {"p", "i"}
    [confirm] = of_kind(screen, cb.Place)
    press(turn, confirm, key="tg:1:9")
    [order] = orders_of(session, elder)
    assert (order.site_id, order.unit_price_fen) == (east.id, 1800)
    assert order.mode in (ServiceMode.pickup, ServiceMode.dine_in)


# -- after the meal: welfare, ratings, the rider ---------------------------------------------


def test_family_acknowledges_a_welfare_alert_and_a_stranger_cannot(make, session):
    site, dishes, elder = make.world()
    daughter = chat_for(make, elder)
    stranger = chat_for(make, make.elder(site))  # family of another elder
    served(make, place(make, elder, site, dishes[0], make.today), OrderStatus.no_answer)
    [alert] = session.exec(select(WelfareAlert)).all()
    assert alert.status == AlertStatus.open

    refused(session, lambda: press(stranger, cb.Acknowledge(alert.id, "reached")))
    assert session.get(WelfareAlert, alert.id).status == AlertStatus.open

    [thanks] = press(daughter, cb.Acknowledge(alert.id, "coming"))
    assert thanks.edit and thanks.text.startswith("Thank you. Recorded:")
    assert "on the way" in thanks.text
    session.refresh(alert)
    assert alert.status == AlertStatus.acknowledged
    assert (alert.acknowledged_by, alert.escalate_at) == (f"chat:{daughter.user.id}", None)
    kinds = session.exec(
        select(WelfareAlertStep.kind).where(WelfareAlertStep.alert_id == alert.id)
    ).all()
    assert kinds[-1] == "acknowledged_coming"


def test_a_served_meal_is_rated_not_good_with_a_reason_then_good(make, session):
    site, dishes, elder = make.world()
    order = served(make, place(make, elder, site, dishes[0], make.today))
    turn = chat_for(make, elder)

    [why] = press(turn, cb.Rate(order.id, "b"))
    assert why.text == "Sorry to hear that. What was wrong?"
    assert of_kind(why, cb.RateReason) == [cb.RateReason(order.id, code) for code in REASONS]
    rating = session.get(MealRating, order.id)
    assert (rating.good, rating.reason, rating.rated_by_chat_user_id) == (
        False,
        None,
        turn.user.id,
    )
    [thanks] = press(turn, cb.RateReason(order.id, "salty"))
    assert thanks.text.startswith("Thank you!")
    session.refresh(rating)
    assert (rating.good, rating.reason) == (False, "salty")
    press(turn, cb.Rate(order.id, "g"))
    session.refresh(rating)
    assert (rating.good, rating.reason) == (True, None)
    assert len(session.exec(select(MealRating)).all()) == 1


def test_a_meal_not_served_or_not_hers_cannot_be_rated(make, session):
    site, dishes, elder = make.world()
    lunch = served(make, place(make, elder, site, dishes[0], make.today))
    coming = place(make, elder, site, dishes[0], make.today + timedelta(1))
    turn = chat_for(make, elder)
    stranger = chat_for(make, make.elder(site))
    refused(session, lambda: press(turn, cb.Rate(coming.id, "g")))  # not served yet
    refused(session, lambda: press(stranger, cb.Rate(lunch.id, "g")))  # not her meal
    refused(session, lambda: press(turn, cb.RateReason(lunch.id, "nonsense")))
    assert session.exec(select(MealRating)).all() == []


def _rider_chat(make: Factory, session: Session) -> tuple[Turn, Rider]:
    turn = chat_for(make)
    [the_rider] = session.exec(select(Rider)).all()
    the_rider.chat_user_id = turn.user.id
    session.add(the_rider)
    session.flush()
    return turn, the_rider


def test_the_rider_follows_the_route_and_records_each_stop(make, session, clock):
    route_id, order_ids = kitchen_with_route(make, elders=2)
    stops = session.exec(
        select(RouteStop).where(RouteStop.route_id == route_id).order_by(RouteStop.position)
    ).all()
    first, second = (stop.order_id for stop in stops)
    assert sorted((first, second)) == sorted(order_ids)
    clock.set(datetime(2026, 11, 25, 11, 20, tzinfo=SHANGHAI))
    turn, _ = _rider_chat(make, session)

    [route] = rider.rider_route(next_turn(turn))
    assert route.text.startswith("Route ") and "2 stops" in route.text
    assert "Next: stop 1" in route.text
    delivered, no_answer, navigate = buttons(route)
    assert (delivered, no_answer) == (
        cb.RiderOutcome(route_id, first, "d"),
        cb.RiderOutcome(route_id, first, "n"),
    )
    assert isinstance(navigate, Link) and navigate.url.startswith("https://uri.amap.com/marker")

    # Nobody at the door raises a welfare alert to the family: it takes a second tap.
    [asked] = press(turn, no_answer)
    assert asked.edit and "family" in asked.text
    sure, back = buttons(asked)
    assert (sure, back) == (
        cb.RiderOutcome(route_id, first, "c"),
        cb.RiderOutcome(route_id, first, "b"),
    )
    assert session.get(Order, first).status == OrderStatus.locked
    assert session.exec(select(WelfareAlert)).all() == []
    [again] = press(turn, back)  # a slip: back to the route, nothing recorded
    assert "Next: stop 1" in again.text and buttons(again)[:2] == [delivered, no_answer]
    assert session.get(Order, first).status == OrderStatus.locked

    press(turn, no_answer)
    [after] = press(turn, sure)
    assert after.edit and "Next: stop 2" in after.text and "🚪" in after.text
    assert session.get(Order, first).status == OrderStatus.no_answer
    [alert] = session.exec(select(WelfareAlert)).all()  # nobody at the door: a welfare check
    assert alert.order_id == first
    assert buttons(after)[:2] == [
        cb.RiderOutcome(route_id, second, "d"),
        cb.RiderOutcome(route_id, second, "n"),
    ]

    [done] = press(turn, cb.RiderOutcome(route_id, second, "d"))
    assert "All stops done" in done.text
    assert session.get(Order, second).status == OrderStatus.delivered
    # The mark just made can be taken back for a few minutes: the stop waits again.
    undo = cb.RiderOutcome(route_id, second, "u")
    assert buttons(done) == [undo]
    route_again, taken_back = press(turn, undo)
    assert route_again.edit and "Next: stop 2" in route_again.text
    assert "Taken back: stop 2" in taken_back.text
    assert session.get(Order, second).status == OrderStatus.locked
    [done] = press(turn, cb.RiderOutcome(route_id, second, "d"))
    clock.set(clock.now() + timedelta(minutes=6))
    [later] = press(turn, cb.RiderOutcome(route_id, second, "b"))
    assert "All stops done" in later.text and later.buttons is None
    # Too late: refused (bot.app says why, in the rider's language); the mark stands.
    with pytest.raises(UndoTooLate):
        press(turn, undo)
    assert session.get(Order, second).status == OrderStatus.delivered


def test_only_the_routes_own_rider_records_its_outcomes(make, session, clock):
    route_id, order_ids = kitchen_with_route(make, elders=1)
    site, dishes, elder = make.world()
    elsewhere = place(make, elder, site, dishes[0], make.today)
    clock.set(datetime(2026, 11, 25, 11, 20, tzinfo=SHANGHAI))
    [order_id] = order_ids
    outcome = cb.RiderOutcome(route_id, order_id, "d")
    # Someone who is not a rider.
    nobody = chat_for(make)
    refused(session, lambda: rider.rider_route(next_turn(nobody)), NotARider)
    refused(session, lambda: press(nobody, outcome), NotARider)
    # A rider of another kitchen.
    turn, the_rider = _rider_chat(make, session)
    other_turn = chat_for(make)
    session.add(
        Rider(
            name="骑手丙",
            phone="13900000003",
            kitchen_id=make.site().id,
            shift_start=the_rider.shift_start,
            shift_end=the_rider.shift_end,
            chat_user_id=other_turn.user.id,
        )
    )
    session.flush()
    refused(session, lambda: press(other_turn, outcome), NotYours)
    # The route's own rider, with an order that is not on the route.
    refused(session, lambda: press(turn, cb.RiderOutcome(route_id, elsewhere.id, "d")), NotYours)
    assert session.get(Order, order_id).status == OrderStatus.locked


# -- routing what came in --------------------------------------------------------------------


def test_a_chat_for_two_elders_picks_the_elder_first(make, session):
    site, dishes, elder = make.world()
    sister = make.elder(site)
    place(make, sister, site, dishes[0], make.today)
    turn = chat_for(make, elder, sister)
    [who] = typed(turn, "📋 My orders")
    assert who.text == "Who is this for?"
    assert buttons(who) == [cb.ForElder("M", elder.id), cb.ForElder("M", sister.id)]
    assert list(labelled(who)) == [elder.name, sister.name]
    [listing] = press(turn, cb.ForElder("M", sister.id))
    assert listing.text.startswith(f"Orders for {sister.name}")
    [nothing] = press(turn, cb.ForElder("M", elder.id))
    assert nothing.text.startswith(f"{elder.name} has no orders")


def test_buttons_for_another_elders_things_are_refused_and_write_nothing(make, session):
    """Old or forged callback data naming someone else's elder, order, standing order or
    alert: every step checks what the chat may act for before it writes."""
    site, dishes, mine = make.world()
    theirs = make.elder(site)
    turn = chat_for(make, mine)
    chat_for(make, theirs)  # their family's chat
    day = make.today + timedelta(1)
    their_order = place(make, theirs, site, dishes[0], day)
    item = item_id(session, site.id, day, Slot.lunch, dishes[0].id, "regular")
    their_standing = ordering.create_standing_order(
        session=session,
        clock=make.clock,
        settings=SETTINGS,
        elder_id=theirs.id,
        site_id=site.id,
        slot=Slot.lunch,
        weekdays=[1, 2, 3],
        start_date=make.today,
    )
    others = [
        cb.ForElder("O", theirs.id),
        cb.PickDay(theirs.id),
        cb.PickSet(theirs.id, day, Slot.lunch),
        cb.Review(theirs.id, item, 1, "-"),
        cb.Place(theirs.id, item, 1, "-"),
        cb.RepeatOn(theirs.id, day),
        cb.RepeatMeals(theirs.id),
        cb.PickStyle(theirs.id, item, 1, "-"),
        cb.ChangeStyle(their_order.id, item, 1, "-"),
        cb.MyOrders(theirs.id),
        cb.AskCancel(their_order.id),
        cb.Cancel(their_order.id),
        cb.ChangeSets(their_order.id),
        cb.ChangeReview(their_order.id, item, 2, "-"),
        cb.Change(their_order.id, item, 2, "-"),
        cb.Standing(theirs.id),
        cb.PauseFrom(their_standing.id),
        cb.Pause(their_standing.id, day, day),
        cb.Resume(their_standing.id),
        cb.AskStop(their_standing.id),
        cb.Stop(their_standing.id),
        cb.NewStanding(theirs.id),
        cb.StandingMake(theirs.id, Slot.lunch, 0b11, "-", "-"),
        cb.OrderAt(theirs.id, site.id),
    ]
    for button in others:
        before = row_counts(session)
        with pytest.raises(NotYours):
            press(turn, button)
        assert row_counts(session) == before, button
    session.refresh(their_order)
    session.refresh(their_standing)
    assert (their_order.status, their_order.quantity) == (OrderStatus.placed, 1)
    assert their_standing.active is True
    assert session.exec(select(StandingOrderPause)).all() == []


def test_data_no_button_of_ours_makes_is_not_understood(make, session):
    _, _, elder = make.world()
    turn = chat_for(make, elder)
    before = row_counts(session)
    for data in ("", "ZZ:1", "O", "O:abc", f"O:{elder.id}:extra", "K:1:1:1:z", "RT:1:maybe"):
        [say] = conversation.button(next_turn(turn), data, "tg:1:1")
        assert say.text == "Sorry, I did not understand. Please use the buttons below.", data
    [say] = typed(turn, "a bowl of noodles please")
    assert say.text.startswith("Sorry, I did not understand") and say.keyboard == "main"
    assert row_counts(session) == before


# -- found by these tests, and fixed ------------------------------------------------------


def test_changing_only_the_dish_keeps_the_orders_portions_and_way(make, session):
    site, dishes, elder = make.world()
    day = make.today + timedelta(1)
    order = place(make, elder, site, dishes[0], day, quantity=2, mode="pickup")
    turn = chat_for(make, elder)
    [screen] = press(turn, cb.ChangeVariant(order.id, dishes[1].id))
    regular = item_id(session, site.id, day, Slot.lunch, dishes[1].id, "regular")
    assert of_kind(screen, cb.Change) == [cb.Change(order.id, regular, 2, "p")]


def test_a_double_tap_on_a_pause_day_is_one_pause(make, session):
    site, _, elder = make.world()
    standing = ordering.create_standing_order(
        session=session,
        clock=make.clock,
        settings=SETTINGS,
        elder_id=elder.id,
        site_id=site.id,
        slot=Slot.lunch,
        weekdays=[1, 2, 3, 4, 5],
        start_date=make.today,
    )
    turn = chat_for(make, elder)
    tap = cb.Pause(standing.id, make.today + timedelta(1), make.today + timedelta(2))
    press(turn, tap, key="tg:1:5")
    press(turn, tap, key="tg:1:5")
    assert len(session.exec(select(StandingOrderPause)).all()) == 1
