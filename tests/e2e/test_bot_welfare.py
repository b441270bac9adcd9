"""Riders in the chat and welfare alerts end to end: a rider's "no answer" reaches the family at
once, escalates to the community worker when nobody responds, and stops when someone does."""

from datetime import datetime, timedelta

import pytest
from sqlmodel import select

from core.clock import FixedClock
from core.elders import chat_user_for, link_elder
from core.models import (
    ChatUser,
    CommunityWorker,
    Elder,
    MealRating,
    Order,
    Rider,
    WelfareAlert,
    WelfareAlertStep,
)
from core.types import AlertLevel, AlertStatus, LinkRelation, OrderStatus
from routing.records import RouteStop
from tests.conftest import SHANGHAI
from tests.e2e.chat import Chat
from tests.factories import Factory, kitchen_with_route

RIDER, DAUGHTER, WORKER = 7_100_001, 7_100_002, 7_100_003


@pytest.fixture
def delivery(empty_database):
    """A planned route of two lunch deliveries; the rider, the first elder's daughter and the
    community worker each have a chat."""
    clock = FixedClock(datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI))
    with empty_database.transaction() as session:
        make = Factory(session, clock)
        route_id, order_ids = kitchen_with_route(make, elders=2)
        first_stop = session.exec(
            select(RouteStop).where(RouteStop.route_id == route_id, RouteStop.position == 1)
        ).one()
        elder = session.get(Elder, session.get(Order, first_stop.order_id).elder_id)

        def chat_user(telegram_id: int, name: str):
            return chat_user_for(
                session=session,
                telegram_user_id=telegram_id,
                name=name,
                language="zh_CN",
                clock=clock,
            )

        rider = session.exec(select(Rider)).one()
        rider.chat_user_id = chat_user(RIDER, "骑手乙").id
        daughter = chat_user(DAUGHTER, "陈女士")
        link_elder(
            session=session,
            chat_user_id=daughter.id,
            elder_id=elder.id,
            relation=LinkRelation.family,
            verified_by="test",
            clock=clock,
        )
        session.add(
            CommunityWorker(
                community_id=elder.community_id,
                name="王社工",
                phone="020-1111",
                chat_user_id=chat_user(WORKER, "王社工").id,
            )
        )
    clock.set(datetime(2026, 11, 25, 11, 20, tzinfo=SHANGHAI))
    chat = Chat(empty_database, clock, due_work=True)
    people = {
        "rider": chat.person(user_id=RIDER),
        "daughter": chat.person(user_id=DAUGHTER),
        "worker": chat.person(user_id=WORKER),
    }
    yield chat, people, route_id, order_ids, elder.name
    chat.close()


def alert_of(database) -> WelfareAlert:
    with database.reading() as session:
        return session.exec(select(WelfareAlert)).one()


def steps_of(database) -> list[str]:
    with database.reading() as session:
        return [
            s.kind for s in session.exec(select(WelfareAlertStep).order_by(WelfareAlertStep.id))
        ]


def test_the_rider_follows_the_route_in_chat_and_no_answer_alerts_the_family(delivery):
    chat, people, _, order_ids, name = delivery
    rider = people["rider"]
    route = rider.send("/route")[-1]
    assert "路线" in route["text"] and route["text"].index(name) < route["text"].index("2. ")
    assert route["buttons"] == ["✅ 送达", "🚪 无人应答", "🗺 导航"]
    asked = rider.press("🚪 无人应答")[-1]  # a second tap: the family will be told
    assert "家属" in asked["text"] and asked["buttons"] == ["🚪 确认无人应答", "↩️ 返回"]
    after = rider.press("🚪 确认无人应答")[-1]
    assert "🚪" in after["text"] and "下一站：第 2 站" in after["text"]
    alert = people["daughter"].wait_for_message("无人应答")
    assert name in alert["text"] and "✅ 已联系上，一切平安" in alert["buttons"]
    rider.press("✅ 送达")
    assert "全部送完" in rider.last_text
    with chat.database.reading() as session:
        statuses = [session.get(Order, order_id).status for order_id in order_ids]
    assert sorted(statuses) == sorted([OrderStatus.no_answer, OrderStatus.delivered])
    people["daughter"].press("✅ 已联系上，一切平安")
    assert "已记录" in people["daughter"].last_text
    chat.set_time(datetime(2026, 11, 25, 12, 0, tzinfo=SHANGHAI))
    chat.clock.advance(timedelta(minutes=20))
    # The escalation job runs every 0.2 s here: a run begun after the clock moved (and the one
    # before it) escalates nothing.
    assert [report.escalated for report in chat.due_work_runs(2)] == [0, 0]
    assert alert_of(chat.database).status == AlertStatus.acknowledged
    assert "escalated_to_worker" not in steps_of(chat.database)


def test_nobody_answers_so_the_alert_goes_to_the_community_worker(delivery):
    chat, people, _, _, name = delivery
    people["rider"].send("/route")
    people["rider"].press("🚪 无人应答")
    people["rider"].press("🚪 确认无人应答")
    people["daughter"].wait_for_message("无人应答")
    chat.clock.advance(timedelta(minutes=16))
    escalated = people["worker"].wait_for_message("关怀提醒")
    assert name in escalated["text"]
    people["worker"].press("🚶 我正在赶去")
    handled = people["daughter"].wait_for_message("已回应")
    assert "王社工" in handled["text"]
    alert = alert_of(chat.database)
    assert (alert.status, alert.level) == (AlertStatus.acknowledged, AlertLevel.community_worker)
    assert steps_of(chat.database) == [
        "raised",
        "sent_to_family",
        "escalated_to_worker",
        "acknowledged_coming",
    ]


def test_forged_route_and_alert_buttons_are_refused_and_change_nothing(delivery):
    chat, people, route_id, order_ids, _ = delivery
    stranger = chat.person()
    assert "骑手" in stranger.send("/route")[-1]["text"]  # not a rider
    refused = stranger.press_data(f"RO:{route_id}:{order_ids[0]}:d")
    assert "骑手" in refused[-1]["text"]
    people["rider"].send("/route")
    people["rider"].press("🚪 无人应答")
    people["rider"].press("🚪 确认无人应答")
    people["daughter"].wait_for_message("无人应答")
    alert_id = alert_of(chat.database).id
    assert "只有" in stranger.press_data(f"WA:{alert_id}:reached")[-1]["text"]
    assert "只有" in people["rider"].press_data(f"WA:{alert_id}:reached")[-1]["text"]
    assert alert_of(chat.database).status == AlertStatus.open
    with chat.database.reading() as session:
        statuses = sorted(session.get(Order, order_id).status for order_id in order_ids)
    assert statuses == sorted([OrderStatus.locked, OrderStatus.no_answer])


def test_a_delivered_meal_is_announced_and_rated_in_one_or_two_taps(delivery):
    chat, people, _, _, name = delivery
    people["rider"].send("/route")
    people["rider"].press("✅ 送达")
    served = people["daughter"].wait_for_message("送达")
    assert name in served["text"] and served["buttons"] == ["👍 好吃", "👎 不满意"]
    people["daughter"].press("👎 不满意")
    assert "太咸" in people["daughter"].messages()[-1]["buttons"]
    people["daughter"].press("太咸")
    assert "谢谢" in people["daughter"].last_text
    with chat.database.reading() as session:
        rating = session.exec(select(MealRating)).one()
    assert (rating.good, rating.reason) == (False, "salty")
    # A rating of a meal that was not served, or by someone unrelated, is refused.
    stranger = chat.person()
    stranger.send("/start")
    assert "只有" in stranger.press_data(f"RT:{rating.order_id}:g")[-1]["text"]
    with chat.database.reading() as session:
        assert session.exec(select(MealRating)).one().good is False


def test_rider_alert_and_rating_in_english(delivery):
    chat, people, _, _, name = delivery
    with chat.database.transaction() as session:
        for user in session.exec(select(ChatUser)):
            user.language = "en"
            session.add(user)
    rider, daughter = people["rider"], people["daughter"]
    route = rider.send("/route")[-1]
    assert route["text"].startswith("Route ") and name in route["text"]
    assert route["buttons"] == ["✅ Delivered", "🚪 No answer", "🗺 Navigate"]
    # Navigate opens the map: a URL button, not callback data (Telegram caps that at 64 bytes).
    assert route["links"]["🗺 Navigate"].startswith("https://uri.amap.com/marker?position=113.")
    rider.press("🚪 No answer")
    assert "Next: stop 2" in rider.press("🚪 Yes, nobody answered")[-1]["text"]
    alert = daughter.wait_for_message("could not reach")
    assert name in alert["text"] and "🚶 I'm on my way" in alert["buttons"]
    daughter.press("🚶 I'm on my way")
    assert "Recorded" in daughter.last_text
    assert alert_of(chat.database).status == AlertStatus.acknowledged
    rider.press("✅ Delivered")
    assert "All stops done" in rider.last_text
    # The second elder's meal was served; nobody in this chat is linked to them, so no rating
    # prompt reaches the daughter for it, and a forged rating of it is refused in English.
    with chat.database.reading() as session:
        served = session.exec(select(Order).where(Order.status == OrderStatus.delivered)).one()
    refused = daughter.press_data(f"RT:{served.id}:g")[-1]["text"]
    assert refused.startswith("Only a meal that was served")


def test_the_rider_takes_back_no_answer_and_the_family_is_told_to_disregard_it(delivery):
    """The door opens a moment after "No answer": the rider taps Undo in the chat, the stop
    waits again, the alert is withdrawn (no escalation follows) and the daughter is told."""
    chat, people, _, order_ids, name = delivery
    rider = people["rider"]
    rider.send("/route")
    rider.press("🚪 无人应答")
    after = rider.press("🚪 确认无人应答")[-1]
    undo = f"↩️ 撤销第 1 站（{name}）"
    assert undo in after["buttons"]
    people["daughter"].wait_for_message("无人应答")
    said = rider.press(undo)
    assert "已撤销：第 1 站" in said[-1]["text"]
    assert "下一站：第 1 站" in said[0]["text"]
    withdrawn = people["daughter"].wait_for_message("请忽略")
    assert name in withdrawn["text"]
    alert = alert_of(chat.database)
    assert alert.status == AlertStatus.closed and steps_of(chat.database)[-1] == "withdrawn"
    rider.press("✅ 送达")
    chat.clock.advance(timedelta(minutes=20))
    # The escalation job runs every 0.2 s here: nothing is left to escalate.
    assert [report.escalated for report in chat.due_work_runs(2)] == [0, 0]
    assert "escalated_to_worker" not in steps_of(chat.database)
    with chat.database.reading() as session:
        statuses = {session.get(Order, order_id).status for order_id in order_ids}
    assert OrderStatus.no_answer not in statuses
