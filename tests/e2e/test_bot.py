"""The Telegram bot end to end: the real python-telegram-bot Application polling the Bot API
stand-in over HTTP, people pressing buttons through the stand-in's control API, the database
checked afterwards. Both languages, bad input at each step, restarts and repeated updates."""

from datetime import datetime, time, timedelta

import pytest
from sqlmodel import select

from billing.models import Charge
from core.clock import FixedClock
from core.elders import chat_user_for, issue_link_code, link_elder
from core.models import ChatUser, ElderLink, Order, StandingOrderPause
from core.orders import place_order
from core.standing import create_standing_order
from core.types import LinkRelation, OrderStatus, Slot
from tests.conftest import SHANGHAI
from tests.e2e.chat import Chat
from tests.factories import ORDER_LIMITS, SETTINGS, Factory

MORNING = datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI)  # Wednesday, before the 09:30 cutoff


@pytest.fixture
def world(empty_database):
    """A canteen serving one community, lunch and dinner menus for three days, two elders (one
    allergic to fish, one needing soft food), and the bot chatting over the stand-in."""
    clock = FixedClock(MORNING)
    with empty_database.transaction() as session:
        make = Factory(session, clock)
        site, dishes, elder = make.world()
        fussy = make.elder(site, allergies=["fish"], texture="soft", name="李婆婆")
        code = issue_link_code(
            session=session, clock=clock, elder_id=elder.id, issued_by="worker-1"
        )
        names = {"elder": elder.name, "fussy": fussy.name}
        phones = {"elder": elder.phone, "fussy": fussy.phone}
        ids = {"elder": elder.id, "fussy": fussy.id, "site": site.id}
        dish_names = [dish.name_zh for dish in dishes]
    chat = Chat(empty_database, clock)
    yield chat, {"names": names, "phones": phones, "ids": ids, "code": code, "dishes": dish_names}
    chat.close()


def orders_of(database, elder_id: int) -> list[Order]:
    with database.reading() as session:
        return list(session.exec(select(Order).where(Order.elder_id == elder_id)))


def registered(chat: Chat, phone: str, language: str = "zh-hans"):
    person = chat.person(language_code=language, phone=phone)
    person.send("/start")
    person.press("中文" if language.startswith("zh") else "English")
    person.share_contact()
    return person


def test_an_elder_links_by_sharing_her_phone_and_orders_lunch_in_chinese(world):
    chat, data = world
    person = chat.person(phone=data["phones"]["elder"])
    replies = person.send("/start")
    assert "请选择" in replies[-1]["text"] and replies[-1]["buttons"] == ["中文", "English"]
    person.press("中文")
    assert "分享手机号" in person.keyboard()[0]
    welcome = person.share_contact()
    assert data["names"]["elder"] in welcome[-1]["text"]
    assert "🍱 订餐" in person.keyboard()

    days = person.press("🍱 订餐")
    assert days[-1]["buttons"][0].startswith("今天")
    person.press(days[-1]["buttons"][0])
    slots = person.messages()[-1]["buttons"]
    assert slots[0].startswith("午餐") and "09:30" in slots[0]
    person.press(slots[0])
    sets = person.messages()[-1]
    assert data["dishes"][0] in sets["buttons"] and "鱼" in sets["text"]  # allergens shown
    person.press(data["dishes"][0])
    # The dish opens its confirmation in her own style (regular); the others are a tap away.
    assert "请确认" in person.last_text and "普通" in person.last_text
    person.press("🍳 换一种做法")
    variants = person.messages()[-1]["buttons"]
    assert any("少盐" in label for label in variants)
    person.press(next(label for label in variants if "少盐" in label))
    screen = person.messages()[-1]
    assert "请确认" in screen["text"] and "¥15.00" in screen["text"]
    assert "✅ 确认下单" in screen["buttons"]
    done = person.press("✅ 确认下单")
    assert "订好了" in done[-1]["text"]

    [order] = orders_of(chat.database, data["ids"]["elder"])
    assert (order.variant, order.quantity, order.status) == ("low_salt", 1, OrderStatus.placed)
    with chat.database.reading() as session:
        assert session.get(Charge, order.id) is not None  # billing reserved it in the same step
        user = session.exec(select(ChatUser).where(ChatUser.telegram_user_id == person.id)).one()
        assert order.placed_by_chat_user_id == user.id


def test_the_same_flow_in_english_with_two_portions_and_pick_up(world):
    chat, data = world
    person = registered(chat, data["phones"]["elder"], language="en")
    assert "🍱 Order a meal" in person.keyboard()
    person.press("🍱 Order a meal")
    person.press(person.buttons()[1])  # tomorrow
    person.press(person.buttons()[0])  # lunch
    sets = person.messages()[-1]["buttons"]
    person.press(sets[0])  # her own style, regular, is the one on the confirmation
    person.press("2 portion(s)")
    person.press("Pick-up")
    screen = person.messages()[-1]["text"]
    assert "× 2" in screen and "pick-up from" in screen and "¥30.00" in screen
    person.press("✅ Confirm")
    [order] = orders_of(chat.database, data["ids"]["elder"])
    assert (order.quantity, order.mode, order.total_fen) == (2, "pickup", 3000)
    assert order.service_date == MORNING.date() + timedelta(days=1)


def test_only_variants_the_elder_can_eat_are_offered(world):
    chat, data = world
    person = registered(chat, data["phones"]["fussy"])
    person.press("🍱 订餐")
    person.press(person.buttons()[0])
    person.press(person.buttons()[0])
    sets = person.messages()[-1]["buttons"]
    assert data["dishes"][1] not in sets  # the fish dish is not offered to a fish allergy
    person.press(data["dishes"][0])
    assert "请确认" in person.last_text and "软食" in person.last_text  # her own style
    # A soft-food elder is offered soft and minced, never the regular textures.
    offered = person.press("🍳 换一种做法")[-1]["buttons"]
    assert [label.split(" · ")[0] for label in offered[:-1]] == ["• 软食", "碎食"]
    person.press(offered[1])
    assert "请确认" in person.last_text and "碎食" in person.last_text


def test_a_double_tap_on_confirm_and_a_repeated_update_make_one_order(world):
    chat, data = world
    person = registered(chat, data["phones"]["elder"])
    person.press("🍱 订餐")
    menu_update = person.last_update_id
    person.press(person.buttons()[0])
    person.press(person.buttons()[0])
    person.press(data["dishes"][0])
    person.press(person.buttons()[0])
    person.press("✅ 确认下单")
    confirm_update = person.last_update_id
    assert chat.redeliver(menu_update, person) == []  # a typed message is answered once
    assert len(orders_of(chat.database, data["ids"]["elder"])) == 1
    again = chat.redeliver(confirm_update, person)
    assert again == [] and len(orders_of(chat.database, data["ids"]["elder"])) == 1


def test_a_cutoff_passing_between_menu_and_confirm_is_a_polite_refusal(world):
    chat, data = world
    person = registered(chat, data["phones"]["elder"])
    person.press("🍱 订餐")
    person.press(person.buttons()[0])  # today
    person.press(person.buttons()[0])  # lunch
    person.press(data["dishes"][0])
    person.press(person.buttons()[0])
    chat.set_time(MORNING.replace(hour=9, minute=31))
    refusal = person.press("✅ 确认下单")
    assert "09:30" in refusal[-1]["text"] and "020-8888 0000" in refusal[-1]["text"]
    assert orders_of(chat.database, data["ids"]["elder"]) == []


def test_a_family_member_links_with_a_one_time_code(world):
    chat, data = world
    daughter = chat.person(phone="13700000000")
    daughter.send("/start")
    daughter.press("中文")
    unknown = daughter.share_contact()
    assert "12345" in unknown[-1]["text"]  # not registered: how to register, with the phone
    daughter.press("🔑 我有绑定码")
    wrong = daughter.send("ZZZZ-ZZZZ")
    assert "无效" in wrong[-1]["text"] or "不能使用" in wrong[-1]["text"]
    daughter.press("🔑 我有绑定码")
    linked = daughter.send(data["code"].lower())
    assert data["names"]["elder"] in linked[-1]["text"]
    with chat.database.reading() as session:
        links = session.exec(select(ElderLink)).all()
        assert [link.relation for link in links] == ["family"]
    # A second person cannot use the same code.
    other = chat.person()
    other.send("/start")
    other.press("中文")
    other.press("🔑 我有绑定码")
    assert "不能使用" in other.send(data["code"])[-1]["text"]


def test_same_as_last_time_is_two_taps(world):
    chat, data = world
    person = registered(chat, data["phones"]["elder"])
    person.press("🍱 订餐")
    person.press(person.buttons()[0])
    person.press(person.buttons()[0])
    person.press(data["dishes"][0])
    person.press("🍳 换一种做法")
    person.press(next(b for b in person.buttons() if "少盐" in b))
    person.press("✅ 确认下单")
    person.press("🔁 和上次一样")  # today's lunch is ordered: tomorrow's
    person.press("✅ 确认下单")
    orders = sorted(orders_of(chat.database, data["ids"]["elder"]), key=lambda o: o.service_date)
    assert [o.variant for o in orders] == ["low_salt", "low_salt"]
    assert orders[1].service_date == orders[0].service_date + timedelta(days=1)


def test_cancel_before_cutoff_and_refusal_after(world):
    chat, data = world
    person = registered(chat, data["phones"]["elder"])
    for day_button in (0, 1):
        person.press("🍱 订餐")
        person.press(person.buttons()[day_button])
        person.press(person.buttons()[0])
        person.press(data["dishes"][0])
        person.press(person.buttons()[0])
        person.press("✅ 确认下单")
    listing = person.press("📋 我的订单")[-1]
    cancels = [label for label in listing["buttons"] if label.startswith("❌")]
    assert listing["text"].count("已下单") == 2 and len(cancels) == 2
    person.press(cancels[1])
    person.press("不，保留")
    assert "没有改变" in person.last_text
    person.press("📋 我的订单")
    person.press(cancels[1])
    person.press("是，取消")
    assert "已取消" in person.last_text
    chat.set_time(MORNING.replace(hour=10))
    person.press("📋 我的订单")
    person.press(cancels[0])  # today's lunch, now past its cutoff
    refusal = person.press("是，取消")
    assert "020-8888 0000" in refusal[-1]["text"]
    statuses = sorted(o.status for o in orders_of(chat.database, data["ids"]["elder"]))
    assert statuses == ["cancelled", "placed"]


def test_anything_not_understood_gets_help_and_the_menu_and_state_survives_a_restart(world):
    chat, data = world
    person = registered(chat, data["phones"]["elder"])
    assert "没听懂" in person.send("给我一碗面")[-1]["text"]
    assert "没听懂" in person.send_sticker()[-1]["text"]
    assert "🍱 订餐" in person.keyboard()
    # A newcomer in the middle of typing a family code: the bot restarts, the step is kept.
    daughter = chat.person()
    daughter.send("/start")
    daughter.press("中文")
    daughter.press("🔑 我有绑定码")
    chat.sandbox.restart_bot()
    assert data["names"]["elder"] in daughter.send(data["code"])[-1]["text"]
    # /cancel leaves a flow.
    assert "已停止" in person.send("/cancel")[-1]["text"]
    # Telegram lists the commands in the client's language.
    commands = chat.sandbox.sandbox.stand_in.commands
    assert [c["command"] for c in commands[""]] == ["start", "cancel", "help", "route"]
    assert commands[""][0]["description"] == "开始，或回到菜单"
    assert commands["en"][0]["description"] == "Start, or back to the menu"


def test_my_bill_shows_this_month(world):
    chat, data = world
    person = registered(chat, data["phones"]["elder"], language="en")
    bill = person.press("💰 My bill")[-1]["text"]
    assert "No meals served yet" in bill


def test_a_standing_order_is_paused_for_a_hospital_stay_and_resumed(world):
    chat, data = world
    with chat.database.transaction() as session:
        standing = create_standing_order(
            session=session,
            clock=chat.clock,
            elder_id=data["ids"]["elder"],
            site_id=data["ids"]["site"],
            slot=Slot.lunch,
            weekdays=[1, 2, 3, 4, 5],
            start_date=MORNING.date(),
            max_order_quantity=SETTINGS.max_order_quantity,
        )
        standing_id = standing.id
    person = registered(chat, data["phones"]["elder"])
    view = person.press("📅 长期订餐")[-1]
    assert "周一、周二、周三、周四、周五午餐" in view["text"]
    person.press("⏸ 暂停 周一、周二、周三、周四、周五午餐")
    person.press(next(b for b in person.buttons() if b.startswith("明天")))
    until = person.messages()[-1]["buttons"]
    person.press(until[6])  # a week off: tomorrow and the six days after
    assert "已暂停" in person.last_text and "12月3日" in person.last_text
    with chat.database.reading() as session:
        [pause] = session.exec(select(StandingOrderPause)).all()
    assert (pause.standing_order_id, pause.start_date, pause.end_date) == (
        standing_id,
        MORNING.date() + timedelta(days=1),
        MORNING.date() + timedelta(days=7),
    )
    person.press("📅 长期订餐")
    person.press("▶️ 恢复 周一、周二、周三、周四、周五午餐")
    assert "已恢复" in person.last_text
    with chat.database.reading() as session:
        assert session.exec(select(StandingOrderPause)).all() == []
    # Someone else's standing order cannot be paused with a forged button.
    stranger = registered(chat, data["phones"]["fussy"])
    refused = stranger.press_data(f"SPE:{standing_id}:20261126:20261127")
    assert "不能使用" in refused[-1]["text"]
    with chat.database.reading() as session:
        assert session.exec(select(StandingOrderPause)).all() == []


def test_the_morning_reminder_orders_the_usual_lunch_in_two_taps(empty_database):
    clock = FixedClock(MORNING.replace(hour=7, minute=40))
    with empty_database.transaction() as session:
        make = Factory(session, clock)
        site, dishes, elder = make.world()
        placed = place_order(
            session=session,
            clock=clock,
            elder_id=elder.id,
            site_id=site.id,
            service_date=MORNING.date(),
            slot=Slot.dinner,
            dish_id=dishes[1].id,
            variant="low_salt",
            idempotency_key="yesterday-ish",
            **ORDER_LIMITS,
        )
        person = chat_user_for(
            session=session, telegram_user_id=5_900_001, name="陈", language="zh_CN", clock=clock
        )
        link_elder(
            session=session,
            chat_user_id=person.id,
            elder_id=elder.id,
            relation=LinkRelation.self_,
            verified_by="t",
            clock=clock,
        )
        elder_id, dish_name = elder.id, placed.dish_name_zh
    chat = Chat(empty_database, clock, due_work=True, reminder_time=time(7, 30))
    try:
        her = chat.person(user_id=5_900_001)
        reminder = her.wait_for_message("早上好")
        assert dish_name in reminder["text"]
        assert reminder["buttons"] == ["✅ 和平常一样", "🍱 选餐"]
        her.press("✅ 和平常一样")
        assert "请确认" in her.last_text and "少盐" in her.last_text
        her.press("✅ 确认下单")
        lunch = [o for o in orders_of(chat.database, elder_id) if o.slot == "lunch"]
        assert [(o.dish_id, o.variant) for o in lunch] == [(placed.dish_id, "low_salt")]
    finally:
        chat.close()


def test_an_order_is_changed_before_its_cutoff_and_billing_follows(world):
    chat, data = world
    person = registered(chat, data["phones"]["elder"])
    person.press("🍱 订餐")
    person.press(person.buttons()[1])  # tomorrow
    person.press(person.buttons()[0])  # lunch
    person.press(data["dishes"][0])  # regular, her own style
    person.press("✅ 确认下单")
    person.press("📋 我的订单")
    person.press("✏️ 修改")
    person.press(data["dishes"][1])
    person.press("🍳 换一种做法")
    person.press(next(b for b in person.buttons() if b.startswith("少盐")))
    person.press("2 份")
    assert "请确认修改" in person.last_text and "¥30.00" in person.last_text
    person.press("✅ 确认下单")
    assert "已修改" in person.last_text
    [order] = orders_of(chat.database, data["ids"]["elder"])
    assert (order.dish_name_zh, order.variant, order.quantity, order.total_fen) == (
        data["dishes"][1],
        "low_salt",
        2,
        3000,
    )
    with chat.database.reading() as session:
        assert session.get(Charge, order.id).price_fen == 3000


def test_a_family_member_of_two_elders_picks_by_name_first_in_english(world):
    chat, data = world
    with chat.database.transaction() as session:
        second_code = issue_link_code(
            session=session, clock=chat.clock, elder_id=data["ids"]["fussy"], issued_by="w"
        )
    son = chat.person(language_code="en")
    son.send("/start")
    son.press("English")
    son.press("🔑 I have a code")
    assert "can now order" in son.send(data["code"])[-1]["text"]
    son.press("⚙️ Settings")
    son.press("👪 Order for another elder (family code)")
    assert "can now order" in son.send(second_code)[-1]["text"]
    picker = son.press("💰 My bill")[-1]
    assert picker["text"] == "Who is this for?"
    assert sorted(picker["buttons"]) == sorted(data["names"].values())
    bill = son.press(data["names"]["fussy"])[-1]["text"]
    assert bill.startswith(data["names"]["fussy"]) and "No meals served yet" in bill


def test_repeat_my_orders_cancel_and_help_in_english(world):
    chat, data = world
    person = registered(chat, data["phones"]["elder"], language="en")
    person.press("🍱 Order a meal")
    person.press(person.buttons()[0])  # today
    person.press(person.buttons()[0])  # lunch
    person.press(person.buttons()[0])  # the first set
    person.press("🍳 Another way of cooking it")
    person.press(next(b for b in person.buttons() if b.startswith("Low salt")))
    assert "Ordered" in person.press("✅ Confirm")[-1]["text"]
    screen = person.press("🔁 Same as last time")[-1]["text"]  # tomorrow's lunch
    assert "Please check your order" in screen and "low salt" in screen
    person.press("✅ Confirm")
    listing = person.press("📋 My orders")[-1]
    assert listing["text"].startswith("Orders for") and listing["text"].count("placed") == 2
    cancels = [label for label in listing["buttons"] if label.startswith("❌ Cancel")]
    person.press(cancels[1])
    assert "Cancelled" in person.press("Yes, cancel it")[-1]["text"]
    chat.set_time(MORNING.replace(hour=10))
    person.press("📋 My orders")
    person.press(cancels[0])  # today's lunch, now past its cutoff
    refusal = person.press("Yes, cancel it")[-1]["text"]
    assert "020-8888 0000" in refusal and "closed at" in refusal
    statuses = sorted(o.status for o in orders_of(chat.database, data["ids"]["elder"]))
    assert statuses == ["cancelled", "placed"]
    assert "did not understand" in person.send("noodles please")[-1]["text"]
    assert "did not understand" in person.send_sticker()[-1]["text"]
    assert "Standing order" in person.press("❓ Help")[-1]["text"]
    assert person.send("/cancel")[-1]["text"].startswith("Stopped")
