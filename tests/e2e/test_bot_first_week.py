"""An elder's first week of ordering by chat (issue 24), end to end: the real bot polling the
Bot API stand-in, a low-salt elder on normal food pressing buttons in Chinese on a rotating menu
cooked in the demo city's six styles. "Same as last time" repeats her dish (and says so when
it is not on the menu), on a meal she has not ordered yet, in two taps; a dish opens its
confirmation in her own style with its allergens; portions go up to the setting; and the chat
gives one number to call."""

from datetime import datetime, timedelta

import pytest
from sqlmodel import select

from bot.app import _apology_phone
from core.clock import FixedClock
from core.menus import publish_menu
from core.models import Order
from core.orders import place_order
from core.schemas import MenuItemCreate
from core.types import Slot, Texture
from mealaid import citydata
from tests.conftest import SHANGHAI
from tests.e2e.chat import Chat, Person
from tests.factories import LUNCH, ORDER_LIMITS, Factory

MORNING = datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI)  # Wednesday, before the 09:30 cutoff
TODAY = MORNING.date()


def styled_menu(session, site, dishes, day) -> None:
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
    publish_menu(session=session, site_id=site.id, service_date=day, slot=Slot.lunch, items=items)


@pytest.fixture
def week(empty_database):
    """A canteen with lunch only and a rotating menu: 腐竹焖鸡 today and the day after
    tomorrow, 虾仁滑蛋 in its place tomorrow. 陈婆婆 (low salt, normal food) had 腐竹焖鸡,
    low-salt, for today's lunch."""
    clock = FixedClock(MORNING)
    with empty_database.transaction() as session:
        make = Factory(session, clock)
        community = make.community()
        site = make.site(serves=[community], slots=[LUNCH])
        chicken = make.dish(name_zh="腐竹焖鸡", name_en="Chicken with tofu skin", allergens=["soy"])
        shrimp = make.dish(
            name_zh="虾仁滑蛋", name_en="Shrimp and egg", allergens=["shellfish", "egg"]
        )
        fish = make.dish(name_zh="清蒸鱼", name_en="Steamed fish", allergens=["fish"])
        styled_menu(session, site, [chicken, fish], TODAY)
        styled_menu(session, site, [fish, shrimp], TODAY + timedelta(1))
        styled_menu(session, site, [chicken, shrimp], TODAY + timedelta(2))
        elder = make.elder(community, name="陈婆婆", diet_needs=["low_salt"])
        place_order(
            session=session,
            clock=clock,
            elder_id=elder.id,
            site_id=site.id,
            service_date=TODAY,
            slot=Slot.lunch,
            dish_id=chicken.id,
            variant="low_salt",
            idempotency_key="today",
            **ORDER_LIMITS,
        )
        ids = {"elder": elder.id, "chicken": chicken.id, "shrimp": shrimp.id}
        phones = {"elder": elder.phone, "site": site.phone}
    chat = Chat(empty_database, clock)
    yield chat, ids, phones
    chat.close()


def lunches(database, elder_id: int) -> list[tuple]:
    with database.reading() as session:
        orders = session.exec(
            select(Order).where(Order.elder_id == elder_id).order_by(Order.service_date)
        )
        return [(o.service_date, o.dish_name_zh, o.variant, o.quantity) for o in orders]


def transcript(person: Person) -> str:
    """The chat as she sees it now (a pressed screen shows what it became): who said what, and
    the buttons under it."""
    lines = []
    for message in person.messages():
        who = "她" if message["from"] == "user" else "bot"
        lines.append(f"{who}{' (edited)' if message['edited'] else ''}: {message['text']}")
        if message.get("buttons"):
            lines.append("    [" + "] [".join(message["buttons"]) + "]")
    return "\n".join(lines)


def test_a_low_salt_elders_first_week_in_chinese(week):
    chat, ids, phones = week
    her = chat.person(phone=phones["elder"])
    her.send("/start")
    her.press("中文")
    her.share_contact()

    # Today's lunch is ordered, so "same as last time" goes to tomorrow's, where her dish is
    # not on the menu: she is told, and offered that day's sets, not 虾仁滑蛋 in its place.
    said = her.press("🔁 和上次一样")[-1]
    assert said["text"].startswith(
        "腐竹焖鸡不在11月26日 星期四 午餐的菜单上。请从当天的套餐中选择："
    )
    assert said["buttons"] == ["清蒸鱼", "虾仁滑蛋", "📅 换一天", "↩️ 返回"]
    assert lunches(chat.database, ids["elder"]) == [(TODAY, "腐竹焖鸡", "low_salt", 1)]

    # Another day: only the lunches still open that she has not ordered.
    meals = her.press("📅 换一天")[-1]
    assert meals["buttons"] == ["明天 · 11月26日 星期四 午餐", "11月27日 星期五 午餐"]
    screen = her.press("11月27日 星期五 午餐")[-1]
    assert "腐竹焖鸡 · 少盐 × 1" in screen["text"] and "⚠️ 含：大豆" in screen["text"]
    her.press("✅ 确认下单")

    # Tomorrow she orders 虾仁滑蛋 herself.
    her.press("🍱 订餐")
    her.press("明天 · 11月26日 星期四")
    her.press(her.buttons()[0])  # lunch
    screen = her.press("虾仁滑蛋")[-1]
    # Her own style, low-salt, on the confirmation; the allergens; portions up to 5.
    assert "虾仁滑蛋 · 少盐 × 1" in screen["text"]
    assert "⚠️ 含：" in screen["text"] and "蛋" in screen["text"]
    assert [b for b in screen["buttons"] if "份" in b] == [
        "• 1 份",
        "2 份",
        "3 份",
        "4 份",
        "5 份",
    ]
    styles = her.press("🍳 换一种做法")[-1]["buttons"]
    assert styles[0] == "• 少盐 · ¥15.00" and "糊状 · ¥18.00" in styles
    assert not any(label.startswith("普通") for label in styles)  # salted: not for her
    her.press("• 少盐 · ¥15.00")
    her.press("2 份")
    assert "订好了" in her.press("✅ 确认下单")[-1]["text"]
    assert lunches(chat.database, ids["elder"]) == [
        (TODAY, "腐竹焖鸡", "low_salt", 1),
        (TODAY + timedelta(1), "虾仁滑蛋", "low_salt", 2),
        (TODAY + timedelta(2), "腐竹焖鸡", "low_salt", 1),
    ]

    # Every open lunch is ordered: said plainly, nothing written.
    nothing = her.press("🔁 和上次一样")[-1]["text"]
    assert nothing == "陈婆婆现在能订的每一餐都已经订好了。要修改，请按“📋 我的订单”。"
    assert len(lunches(chat.database, ids["elder"])) == 3

    # One number to call: her canteen's, in the help as in a refusal and in an apology.
    help_text = her.press("❓ 帮助")[-1]["text"]
    assert phones["site"] in help_text and "12345" not in help_text
    assert _apology_phone(chat.services, her.id) == phones["site"]
    assert _apology_phone(chat.services, 1) == "12345"  # nobody known: the programme's
    print(transcript(her))
