"""Nearby canteens and standing orders made in the chat, end to end through the stand-in, in
both languages, with bad and forged input refused."""

from datetime import timedelta

import pytest
from sqlmodel import select

from core.clock import FixedClock
from core.models import MealRating, Order, Site, StandingOrder
from core.orders import place_order
from core.standing import materialise_standing_orders
from core.types import OrderStatus, ServiceMode, Slot
from tests.e2e.chat import Chat
from tests.e2e.test_bot import MORNING, registered
from tests.factories import CUTOFF_LIMITS, ORDER_LIMITS, Factory

EASTGATE = (23.1360, 113.2720)  # about a kilometre north of the elders' homes


@pytest.fixture
def town(empty_database):
    """The elder's own canteen next door, and 东山饭堂 a kilometre away in another community:
    it serves its own community only, so from there she can eat in or pick up, not have it
    delivered. Diners rated 东山饭堂 well three times out of four."""
    clock = FixedClock(MORNING)
    with empty_database.transaction() as session:
        make = Factory(session, clock)
        site, dishes, elder = make.world()
        east = make.site(name="东山饭堂", lat=EASTGATE[0], lon=EASTGATE[1])
        for offset in range(3):
            make.menu(east, dishes, make.today + timedelta(days=offset), Slot.lunch, 1800)
        for n, good in enumerate((True, True, True, False)):
            diner = make.elder(east)
            served = _dine_in(make, east, dishes[0], diner, n)
            session.add(
                MealRating(
                    order_id=served.id,
                    elder_id=diner.id,
                    site_id=east.id,
                    service_date=make.today - timedelta(days=1),
                    good=good,
                    rated_at=clock.now(),
                )
            )
        ids = {"elder": elder.id, "site": site.id, "east": east.id}
        names = {"site": site.name, "dish": dishes[0].name_zh}
        phone = elder.phone
    chat = Chat(empty_database, clock)
    yield chat, ids, names, phone
    chat.close()


def _dine_in(make, site, dish, diner, n):
    return place_order(
        session=make.session,
        clock=make.clock,
        elder_id=diner.id,
        site_id=site.id,
        service_date=make.today,
        slot=Slot.lunch,
        dish_id=dish.id,
        variant="regular",
        mode=ServiceMode.dine_in,
        idempotency_key=f"rated-{n}",
        **ORDER_LIMITS,
    )


def orders_at(database, elder_id):
    with database.reading() as session:
        return list(session.exec(select(Order).where(Order.elder_id == elder_id)))


def test_the_nearest_canteens_from_home_and_a_meal_at_one_she_walks_to(town):
    chat, ids, names, phone = town
    her = registered(chat, phone)
    listed = her.press("📍 附近餐点")
    found = listed[0]
    lines = found["text"].splitlines()
    assert "离" in lines[0] and "最近的餐点" in lines[0]
    assert lines[2].startswith(f"1. {names['site']}，150米") and "还没有评价" in lines[2]
    assert lines[6].startswith("2. 东山饭堂，1.0公里") and "4人中75%说好" in lines[6]
    assert "午餐" in lines[8] and "¥18.00" in lines[8]  # no subsidy rules: she pays the price
    assert found["buttons"] == [f"🍱 在{names['site']}订餐", "🍱 在东山饭堂订餐"]
    assert her.keyboard()[:3] == ["📍 发送我的位置", "🍱 订餐", "🔁 和上次一样"]

    days = her.press("🍱 在东山饭堂订餐")
    assert "东山饭堂" in days[-1]["text"] and days[-1]["buttons"][0].startswith("今天")
    her.press(her.buttons()[0])  # today
    her.press(her.buttons()[0])  # lunch
    screen = her.press(names["dish"])[-1]  # the dish pressed: its confirmation, her style
    assert "普通" in screen["text"]
    # East Gate does not deliver to her community: eat in or pick up only.
    assert "自取" in screen["text"] and "东山饭堂" in screen["text"]
    assert not any("送餐" in b for b in screen["buttons"])
    her.press("堂食")
    assert "订好了" in her.press("✅ 确认下单")[-1]["text"]
    [order] = orders_at(chat.database, ids["elder"])
    assert (order.site_id, order.mode, order.total_fen) == (ids["east"], "dine_in", 1800)

    # Out and about: she shares where she is, and 东山饭堂 comes first.
    here = her.press("📍 发送我的位置", latitude=EASTGATE[0] + 0.0005, longitude=EASTGATE[1])
    assert here[0]["text"].startswith("离您最近的餐点")
    assert here[0]["text"].splitlines()[2].startswith("1. 东山饭堂，60米")
    assert "哪一天" in her.press("🍱 订餐")[-1]["text"]  # the menu is still there


def test_nearby_in_english_and_bad_or_forged_input_changes_nothing(town):
    chat, ids, _, phone = town
    him = registered(chat, phone, language="en")
    listed = him.press("📍 Nearby canteens")[0]["text"]
    assert "Canteens nearest to" in listed and "1.0 km" in listed and "75% of 4" in listed
    assert him.share_location(200.0, 113.0)[-1]["text"].startswith("Sorry, I did not understand")
    with chat.database.transaction() as session:
        closed = session.get(Site, ids["east"])
        closed.active = False
        session.add(closed)
    refused = him.press("🍱 Order at 东山饭堂")
    assert "could not find" in refused[-1]["text"].lower()
    stranger = chat.person(language_code="en")
    stranger.send("/start")
    forged = stranger.press_data(f"NO:{ids['elder']}:{ids['site']}")
    assert forged[-1]["text"] == "This is not available to you."
    assert stranger.share_location(23.1, 113.2)[0]["text"].startswith("Sorry")
    assert orders_at(chat.database, ids["elder"]) == []


def test_a_standing_order_for_weekday_lunches_made_in_the_chat_orders_at_cutoff(town):
    chat, ids, _, phone = town
    her = registered(chat, phone)
    her.press("📅 长期订餐")
    assert "没有长期订餐" in her.last_text
    her.press("➕ 新建长期订餐")
    her.press("午餐")
    assert "✅" not in " ".join(her.buttons()) and "下一步 ➡️" not in her.buttons()
    her.press("周一至周五")
    her.press("⬜ 星期六")  # and Saturdays
    her.press("☑️ 星期三")  # but not Wednesdays
    variants = her.press("下一步 ➡️")
    assert "少盐" in variants[-1]["buttons"], variants
    her.press("少盐")
    screen = her.last_text
    assert "周一、周二、周四、周五、周六午餐" in screen and "少盐" in screen
    assert "今天" in screen  # before today's cutoff: it starts today
    her.press("✅ 确认下单")
    assert "长期订餐已设好" in her.last_text
    with chat.database.reading() as session:
        [standing] = session.exec(select(StandingOrder)).all()
    assert (standing.elder_id, standing.slot, standing.weekdays, standing.variant) == (
        ids["elder"],
        "lunch",
        [1, 2, 4, 5, 6],
        "low_salt",
    )
    assert standing.start_date == MORNING.date() and standing.mode == "delivery"

    # A double tap on Confirm makes no second standing order.
    data = f"SNK:{ids['elder']}:lunch:{0b0111011}:low_salt:d"
    assert "已有" in her.press_data(data)[-1]["text"]
    with chat.database.reading() as session:
        assert len(session.exec(select(StandingOrder)).all()) == 1

    # Thursday's cutoff turns it into a low-salt lunch.
    thursday = MORNING.date() + timedelta(days=1)
    with chat.database.transaction() as session:
        result = materialise_standing_orders(
            session=session,
            clock=chat.clock,
            site_id=ids["site"],
            service_date=thursday,
            slot=Slot.lunch,
            **CUTOFF_LIMITS,
        )
    assert [(o.variant, o.service_date) for o in result.placed] == [("low_salt", thursday)]

    her.press("📅 长期订餐")
    her.press("⏹ 停止 周一、周二、周四、周五、周六午餐")
    her.press("确定停止")
    assert "已停止" in her.last_text
    with chat.database.reading() as session:
        assert session.exec(select(StandingOrder)).one().active is False
    assert [o.status for o in orders_at(chat.database, ids["elder"])] == [OrderStatus.placed]


def test_a_standing_order_in_english_every_day_as_the_menu_comes_picked_up(town):
    chat, ids, _, phone = town
    him = registered(chat, phone, language="en")
    him.press("📅 Standing order")
    him.press("➕ New standing order")
    him.press("Lunch")
    him.press("Every day")
    him.press("Next ➡️")
    him.press("As the menu comes")
    him.press("Pick-up")
    screen = him.last_text
    assert "lunch on Mon, Tue, Wed, Thu, Fri, Sat, Sun, as the menu comes" in screen
    assert "pick-up from" in screen and "¥15.00 a meal" in screen
    him.press("✅ Confirm")
    assert "Standing order made" in him.last_text
    with chat.database.reading() as session:
        [standing] = session.exec(select(StandingOrder)).all()
    assert (standing.weekdays, standing.variant, standing.mode) == (
        [1, 2, 3, 4, 5, 6, 7],
        None,
        "pickup",
    )
    # No weekday chosen is no standing order, whatever the buttons say.
    empty = him.press_data(f"SNK:{ids['elder']}:lunch:0:-:d")
    assert "at least one weekday" in empty[-1]["text"]
    with chat.database.reading() as session:
        assert len(session.exec(select(StandingOrder)).all()) == 1


def test_the_sandbox_puts_people_in_the_middle_of_the_city(town):
    chat, _, _, phone = town
    her = registered(chat, phone)
    her.press("📍 附近餐点")
    # No coordinates given: the stand-in sends the middle of the city's two canteens.
    here = her.press("📍 发送我的位置")
    assert here[0]["text"].startswith("离您最近的餐点")
    assert "1. " in here[0]["text"] and "米" in here[0]["text"].splitlines()[2]
