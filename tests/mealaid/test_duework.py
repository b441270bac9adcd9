"""The day runs by itself: the scheduler's due work closes each meal at its cutoff through the
billed cutoff, plans each kitchen once right after, escalates welfare alerts on time, checks
the past month on the 1st and backs the embedded database up every night. Every piece is safe
to run again and catches up after downtime (an injected clock stands in for the hours)."""

from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import select

from billing.models import AnomalyReview, Charge, ReviewStatus
from core import audit
from core.clock import FixedClock
from core.models import (
    ChatNotification,
    CommunityWorker,
    Elder,
    MarkRequest,
    Order,
    SlotCutoff,
    WelfareAlert,
    WelfareAlertStep,
    saved,
)
from core.settings import Settings
from core.types import AlertLevel, LinkRelation, OrderStatus, ServiceMode
from core.welfare import raise_alert
from mealaid import duework
from routing.records import DeliveryRoute, PlannedSlot, RouteStop
from tests.apps import web_app
from tests.conftest import SHANGHAI
from tests.factories import (
    WELFARE_LINE,
    Factory,
    closed_lunch,
    kitchen_with_standing_orders,
    log_in,
    make_staff,
)
from usecases import marks, ordering
from usecases.elders import chat_user_for, link_chat

# Wednesday 25 November 2026 in Shanghai; lunch closes at 09:00.
DAY = date(2026, 11, 25)


def at(hour: int, minute: int = 0, day: date = DAY) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=SHANGHAI)


def settings(tmp_path) -> Settings:
    return Settings(
        plan_time_limit_seconds=0.3,
        backup_dir=tmp_path / "backups",
        backup_keep_days=3,
        audit_checkpoint_dir=tmp_path / "audit",
    )


def kitchen_day(database, clock: FixedClock, elders: int = 3) -> dict:
    with database.transaction() as session:
        return kitchen_with_standing_orders(Factory(session, clock), elders=elders)


def count(database, table) -> int:
    with database.reading() as session:
        return session.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def test_before_the_cutoff_nothing_closes_and_nothing_is_planned(empty_database, tmp_path):
    clock = FixedClock(at(8, 0))
    kitchen_day(empty_database, clock)
    report = duework.run_due_work(empty_database, clock, settings(tmp_path))
    # Only yesterday's meal (its cutoff long past) is closed; today's stays open.
    assert [r.service_date for r in report.closed] == [DAY - timedelta(days=1)]
    assert report.planned == [] and report.failures == []
    assert count(empty_database, Order) == 0


def test_the_cutoff_makes_standing_orders_with_their_subsidy_reserved_then_plans_once(
    empty_database, tmp_path
):
    clock = FixedClock(at(8, 0))
    day = kitchen_day(empty_database, clock)
    clock.set(at(9, 1))
    report = duework.run_due_work(empty_database, clock, settings(tmp_path))

    assert report.failures == []
    [closed] = [r for r in report.closed if r.service_date == DAY]
    assert (closed.site_id, closed.standing_orders_placed, closed.orders_locked) == (
        day["kitchen"],
        3,
        3,
    )
    with empty_database.reading() as session:
        orders = session.exec(select(Order)).all()
        assert {o.status for o in orders} == {OrderStatus.locked}
        charges = {c.order_id: c for c in session.exec(select(Charge))}
        # The billed cutoff: each standing order's meal holds the city's ¥3, not the whole
        # price on the elder.
        assert sorted(charges) == sorted(o.id for o in orders)
        assert {c.government_fen for c in charges.values()} == {300}
    [planned] = report.planned
    assert (planned.kitchen_id, planned.stops) == (day["kitchen"], 3)
    assert count(empty_database, RouteStop) == 3

    # Looking again, and again later, closes and plans nothing twice.
    routes = count(empty_database, DeliveryRoute)
    for minutes in (0, 30, 90):
        clock.set(at(9, 1) + timedelta(minutes=minutes))
        again = duework.run_due_work(empty_database, clock, settings(tmp_path))
        assert again.closed == [] and again.planned == [] and again.failures == []
    assert count(empty_database, SlotCutoff) == 2  # yesterday's and today's lunch
    assert count(empty_database, PlannedSlot) == 1
    assert count(empty_database, DeliveryRoute) == routes and count(empty_database, Order) == 3


def test_a_cutoff_missed_while_everything_was_down_runs_at_the_next_look(empty_database, tmp_path):
    clock = FixedClock(at(7, 0))
    kitchen_day(empty_database, clock, elders=2)
    clock.set(at(10, 40))  # down from 07:00 to 10:40: the 09:00 cutoff passed unseen
    report = duework.run_due_work(empty_database, clock, settings(tmp_path))
    assert [r.standing_orders_placed for r in report.closed if r.service_date == DAY] == [2]
    assert [p.stops for p in report.planned] == [2]


def test_a_past_days_meal_is_closed_without_orders_made_for_it_nor_routes(empty_database, tmp_path):
    clock = FixedClock(at(7, 0))
    kitchen_day(empty_database, clock, elders=1)
    clock.set(at(8, 0, day=DAY + timedelta(days=1)))  # down until the next morning
    report = duework.run_due_work(empty_database, clock, settings(tmp_path))
    # Nobody cooks yesterday's lunch now: its standing orders make no orders.
    assert (DAY, 0, 0) in [
        (r.service_date, r.orders_locked, r.standing_orders_placed) for r in report.closed
    ]
    assert report.planned == []


def test_welfare_alerts_escalate_on_time_with_only_the_scheduler_running(empty_database, tmp_path):
    clock = FixedClock(at(8, 0))
    kitchen_day(empty_database, clock, elders=1)
    clock.set(at(9, 1))
    duework.run_due_work(empty_database, clock, settings(tmp_path))
    clock.set(at(11, 20))
    with empty_database.transaction() as session:
        order = session.exec(select(Order)).one()
        community_id = session.get_one(Elder, order.elder_id).community_id
        worker_chat = chat_user_for(
            session=session,
            telegram_user_id=5_550_001,
            name="王社工",
            language="zh_CN",
            clock=clock,
        )
        session.add(
            CommunityWorker(
                community_id=community_id,
                name="王社工",
                phone="13600000001",
                chat_user_id=worker_chat.id,
            )
        )
        session.flush()
        alert_id = raise_alert(
            session=session, clock=clock, order=order, by="rider:1", **WELFARE_LINE
        ).id
    # Nobody in the family uses the chat: the community worker is told at once, the duty
    # line when the worker's 15 minutes are up, and nothing is sent twice.
    expected = [((11, 21), 0), ((11, 34), 0), ((11, 36), 1), ((11, 37), 0)]
    for (hour, minute), escalated in expected:
        clock.set(at(hour, minute))
        report = duework.run_due_work(empty_database, clock, settings(tmp_path))
        assert report.escalated == escalated, (hour, minute)
    with empty_database.reading() as session:
        assert session.get(WelfareAlert, alert_id).level == AlertLevel.duty
        steps = session.exec(
            select(WelfareAlertStep.kind).where(WelfareAlertStep.alert_id == alert_id)
        ).all()
    assert steps == ["raised", "escalated_to_worker", "escalated_to_duty"]


def test_alerts_escalate_by_the_window_and_to_the_duty_line_of_the_due_works_settings(
    empty_database, tmp_path
):
    """The settings give each level 30 minutes (not the built-in 15) and name the duty line:
    the due work escalates by them, the duty line's number on the alert's record, its chat
    told."""
    ours = settings(tmp_path).model_copy(
        update={"welfare_ack_minutes": 30, "duty_phone": "020-3333 0000", "duty_chat_id": 5_550_009}
    )
    clock = FixedClock(at(8, 0))
    kitchen_day(empty_database, clock, elders=1)
    clock.set(at(9, 1))
    duework.run_due_work(empty_database, clock, ours)
    clock.set(at(11, 20))
    with empty_database.transaction() as session:
        order = session.exec(select(Order)).one()
        community_id = session.get_one(Elder, order.elder_id).community_id
        chats = [
            chat_user_for(
                session=session, telegram_user_id=number, name=name, language="en", clock=clock
            )
            for number, name in ((5_550_008, "王社工"), (5_550_009, "值班"), (5_550_010, "女儿"))
        ]
        link_chat(
            session=session,
            clock=clock,
            actor="test",
            chat_user_id=chats[2].id,
            elder_id=order.elder_id,
            relation=LinkRelation.family,
        )
        session.add(
            CommunityWorker(
                community_id=community_id,
                name="王社工",
                phone="13600000001",
                chat_user_id=chats[0].id,
            )
        )
        session.flush()
        ordering.record_outcome(
            session=session,
            clock=clock,
            settings=ours,
            order_id=saved(order.id),
            outcome=OrderStatus.no_answer,
            by="rider:1",
        )
        alert_id = session.exec(select(WelfareAlert.id)).one()
    # The family has 30 minutes, then the worker 30 more, then the duty line.
    for (hour, minute), escalated in [((11, 49), 0), ((11, 50), 1), ((12, 19), 0), ((12, 20), 1)]:
        clock.set(at(hour, minute))
        assert duework.run_due_work(empty_database, clock, ours).escalated == escalated
    with empty_database.reading() as session:
        duty = session.exec(
            select(WelfareAlertStep.note).where(
                WelfareAlertStep.alert_id == alert_id, WelfareAlertStep.kind == "escalated_to_duty"
            )
        ).one()
        told = session.exec(
            select(ChatNotification.kind).where(ChatNotification.chat_user_id == chats[1].id)
        ).all()
    assert duty == "020-3333 0000" and told == ["welfare_escalated"]


def test_an_alert_nobody_in_the_chat_can_take_goes_to_the_duty_line_at_once(empty_database):
    """No family in the chat, no community worker in it: waiting would reach nobody."""
    clock = FixedClock(at(8, 0))
    with empty_database.transaction() as session:
        make = Factory(session, clock)
        site, dishes, _ = make.world()
        (order_id,) = closed_lunch(make, site, dishes[0], [("张秀兰", None, ServiceMode.delivery)])
        order = session.get_one(Order, order_id)
        alert = raise_alert(session=session, clock=clock, order=order, by="rider:1", **WELFARE_LINE)
        assert alert.level == AlertLevel.duty and alert.escalate_at is None
        steps = session.exec(
            select(WelfareAlertStep.kind).where(WelfareAlertStep.alert_id == alert.id)
        ).all()
    assert steps == ["raised", "worker_unreachable", "escalated_to_duty"]


def test_the_past_month_is_checked_once_on_the_first(empty_database, tmp_path):
    clock = FixedClock(at(8, 0))
    kitchen_day(empty_database, clock, elders=1)
    clock.set(at(9, 1))
    duework.run_due_work(empty_database, clock, settings(tmp_path))
    with empty_database.transaction() as session:
        order = session.exec(select(Order)).one()
        # Served, but with no record of who served it: the check holds it for review.
        order.status = OrderStatus.delivered
        session.add(order)
    clock.set(at(6, 0, day=date(2026, 11, 30)))
    assert duework.run_due_work(empty_database, clock, settings(tmp_path)).month_checked is None
    clock.set(at(0, 5, day=date(2026, 12, 1)))
    assert duework.run_due_work(empty_database, clock, settings(tmp_path)).month_checked == (
        "2026-11"
    )
    assert duework.run_due_work(empty_database, clock, settings(tmp_path)).month_checked is None
    assert count(empty_database, AnomalyReview) >= 1
    # The admin is shown the held meal on opening the app; a kitchen's staff are not.
    with empty_database.transaction() as session:
        make = Factory(session, clock)
        admin, cook = make_staff(make, "admin"), make_staff(make, "kitchen")
    with TestClient(web_app(database=empty_database, clock=clock)) as browser:
        log_in(browser, admin.username)
        page = browser.get("/", headers={"accept-language": "en"}).text
        assert "2026-11: 1 meals are held for review" in page
        assert 'href="/settlement?month=2026-11"' in page
        with empty_database.transaction() as session:
            for review in session.exec(select(AnomalyReview)):
                review.status = ReviewStatus.approved
                session.add(review)
        assert "held for review" not in browser.get("/").text
    with TestClient(web_app(database=empty_database, clock=clock)) as browser:
        log_in(browser, cook.username)
        assert "data-held-month" not in browser.get("/").text


def test_the_audit_log_is_checkpointed_once_a_day(empty_database, tmp_path):
    """Outside the database, where the admin keeps it: a signed line with the log's count and
    head, so entries deleted at the end later are found by `mealaid audit check`."""
    clock = FixedClock(at(0, 10))
    with empty_database.transaction() as session:
        audit.record(session=session, clock=clock, actor="staff:a", action="login", subject="x")
    first = duework.run_due_work(empty_database, clock, settings(tmp_path))
    assert first.audit_checkpoint == tmp_path / "audit" / audit.CHECKPOINT_FILE
    first_count = count(empty_database, audit.AuditEntry)
    with empty_database.transaction() as session:
        audit.record(session=session, clock=clock, actor="staff:b", action="login", subject="x")
    clock.set(at(23, 50))
    assert duework.run_due_work(empty_database, clock, settings(tmp_path)).audit_checkpoint is None
    clock.set(at(0, 10, day=DAY + timedelta(days=1)))
    duework.run_due_work(empty_database, clock, settings(tmp_path))
    written = audit.read_checkpoints(tmp_path / "audit")
    last_count = count(empty_database, audit.AuditEntry)
    assert [c.entries for c in written.trusted] == [first_count, last_count]
    assert last_count > first_count and written.refused == []
    with empty_database.reading() as session:
        assert audit.verify_chain(session=session, checkpoints=written).intact


def test_the_keys_of_marks_a_week_old_are_forgotten_once_a_day(empty_database, tmp_path):
    """A page resends a mark under its key when the answer was lost; a week on, that key is of
    no use, and kept for ever the keys would grow by one for every meal served."""

    def mark(key: str, when: datetime) -> None:
        with empty_database.transaction() as session:
            taken = marks.sent_before(
                session, FixedClock(when), key=key, actor="staff:a", mark="served", order_id=None
            )
            assert taken is None
            marks.answered(session, key, "served")

    mark("old", at(11, 30, day=DAY - timedelta(days=8)))
    mark("last-week", at(11, 30, day=DAY - timedelta(days=6)))
    mark("today", at(11, 30))
    clock = FixedClock(at(12, 0))
    report = duework.run_due_work(empty_database, clock, settings(tmp_path))
    assert report.marks_forgotten == 1
    with empty_database.reading() as session:
        assert sorted(session.exec(select(MarkRequest.key))) == ["last-week", "today"]
    # Once a day: a later look the same day deletes nothing.
    mark("old-too", at(11, 30, day=DAY - timedelta(days=9)))
    clock.set(at(23, 50))
    assert duework.run_due_work(empty_database, clock, settings(tmp_path)).marks_forgotten == 0
    clock.set(at(12, 0, day=DAY + timedelta(days=1)))
    assert duework.run_due_work(empty_database, clock, settings(tmp_path)).marks_forgotten == 2
    with empty_database.reading() as session:
        assert list(session.exec(select(MarkRequest.key))) == ["today"]
