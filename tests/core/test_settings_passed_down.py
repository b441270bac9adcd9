"""Settings passed down are the ones obeyed (docs/architecture.md, "Settings"): a use case given
other settings than the process's keeps to them all the way down, through core: the portions
an order may ask and how far ahead, the number a refusal names, the minutes a mark can be taken
back, the minutes each level of a welfare alert has and the duty line. Nothing here sets the
process's settings (`get_settings`): what a test passes is all there is. Each value differs
from its default, so a value read anywhere else would show."""

from datetime import datetime, timedelta

import pytest
from sqlmodel import select

from core import errors
from core.clock import FixedClock
from core.models import ChatNotification, Order, WelfareAlert, WelfareAlertStep
from core.settings import Settings
from core.types import AlertLevel, AlertStatus, LinkRelation, OrderStatus, ServiceMode, Slot
from tests.conftest import SHANGHAI, row_counts
from tests.factories import Factory, closed_lunch
from usecases import chat_links, counter, ordering, welfare
from usecases.elders import chat_user_for, link_chat

DEFAULTS = Settings()
CANTEEN = "staff:canteen"


def refused(session, error: type[errors.DomainError], step) -> errors.DomainError:
    before = row_counts(session)
    with pytest.raises(error) as raised:
        step()
    assert row_counts(session) == before
    return raised.value


def order(make: Factory, settings: Settings, site, dish, elder, *, day=None, quantity=1, key="k"):
    return ordering.place_order(
        session=make.session,
        clock=make.clock,
        settings=settings,
        elder_id=elder.id,
        site_id=site.id,
        service_date=day or make.today,
        slot=Slot.lunch,
        dish_id=dish.id,
        variant="regular",
        quantity=quantity,
        idempotency_key=key,
    )


def test_the_portions_an_order_may_ask_are_those_the_settings_passed_allow(make, session):
    site, dishes, elder = make.world()
    two, eight = Settings(max_order_quantity=2), Settings(max_order_quantity=8)
    assert DEFAULTS.max_order_quantity not in (2, 8)
    too_many = refused(
        session,
        errors.InvalidQuantity,
        lambda: order(make, two, site, dishes[0], elder, quantity=3),
    )
    assert too_many.params == {"low": 1, "high": 2}
    placed = order(make, eight, site, dishes[0], elder, quantity=7)
    assert placed.order.quantity == 7
    refused(
        session,
        errors.InvalidQuantity,
        lambda: ordering.change_order(
            session=session, clock=make.clock, settings=two, order_id=placed.order.id, quantity=3
        ),
    )
    changed = ordering.change_order(
        session=session, clock=make.clock, settings=eight, order_id=placed.order.id, quantity=8
    )
    assert changed.order.quantity == 8

    # A standing order keeps to the same limit, when it is made and when the cutoff places it.
    def standing(settings: Settings, quantity: int):
        return ordering.create_standing_order(
            session=session,
            clock=make.clock,
            settings=settings,
            elder_id=elder.id,
            site_id=site.id,
            slot=Slot.dinner,
            weekdays=[make.today.isoweekday()],
            quantity=quantity,
            start_date=make.today,
        )

    refused(session, errors.InvalidQuantity, lambda: standing(two, 3))
    standing(eight, 7)
    cutoff = ordering.run_cutoff(
        session=session,
        clock=make.clock,
        settings=eight,
        site_id=site.id,
        service_date=make.today,
        slot=Slot.dinner,
        early=True,
    )
    assert cutoff.standing_orders_placed == 1
    dinner = session.exec(
        select(Order).where(Order.elder_id == elder.id, Order.slot == Slot.dinner)
    ).one()
    assert dinner.quantity == 7


def test_how_far_ahead_an_order_may_be_is_the_settings_passed(make, session):
    site, dishes, elder = make.world()
    far = make.today + timedelta(days=20)
    make.menu(site, dishes, far)
    assert DEFAULTS.order_horizon_days < 20
    placed = order(make, Settings(order_horizon_days=30), site, dishes[0], elder, day=far)
    assert placed.order.service_date == far
    too_far = refused(
        session,
        errors.DateTooFar,
        lambda: order(
            make,
            Settings(order_horizon_days=1),
            site,
            dishes[0],
            elder,
            day=make.today + timedelta(days=2),
            key="k2",
        ),
    )
    assert too_far.params == {"days": 1}


def test_a_refusal_after_the_cutoff_names_the_programme_phone_passed(make, session):
    site, dishes, elder = make.world()
    site.phone = ""  # a canteen with no number of its own: the programme's is the one to call
    session.add(site)
    ours = Settings(programme_phone="020-7777 0000")
    assert DEFAULTS.programme_phone != ours.programme_phone
    placed, other = order(make, ours, site, dishes[0], elder), make.elder(site)
    make.clock.set(datetime(2026, 11, 25, 9, 31, tzinfo=SHANGHAI))  # lunch closed at 09:30
    late = refused(
        session,
        errors.CutoffPassed,
        lambda: order(make, ours, site, dishes[1], other, key="late"),
    )
    assert late.params["phone"] == "020-7777 0000"
    cancel = refused(
        session,
        errors.CutoffPassed,
        lambda: ordering.cancel_order(
            session=session, clock=make.clock, settings=ours, order_id=placed.order.id
        ),
    )
    assert cancel.params["phone"] == "020-7777 0000"


def test_too_many_wrong_codes_names_the_programme_phone_passed(make, session):
    ours = Settings(programme_phone="020-7777 0000")
    chat = chat_user_for(
        session=session, telegram_user_id=7_771_001, name="试码", language="en", clock=make.clock
    )
    for attempt in range(5):
        assert (
            chat_links.redeem_code(
                session=session,
                clock=make.clock,
                settings=ours,
                chat_user_id=chat.id,
                code=f"WRONG-00{attempt}",
            )
            is None
        )
    with pytest.raises(errors.TooManyCodeAttempts) as raised:
        chat_links.redeem_code(
            session=session, clock=make.clock, settings=ours, chat_user_id=chat.id, code="WRONG"
        )
    assert raised.value.params["phone"] == "020-7777 0000"


@pytest.fixture
def lunch(session):
    """A dine-in and a delivered lunch, locked after the cutoff; the clock at 11:40."""
    make = Factory(session, FixedClock(datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI)))
    site, dishes, _ = make.world()
    dined, delivered = closed_lunch(
        make,
        site,
        dishes[0],
        [("陈桂英", "13800001234", ServiceMode.dine_in), ("林美华", None, ServiceMode.delivery)],
    )
    make.clock.set(datetime(2026, 11, 25, 11, 40, tzinfo=SHANGHAI))
    return make, site, dined, delivered


def test_a_mark_can_be_taken_back_for_the_minutes_the_settings_passed_give(session, lunch):
    make, site, dined, _ = lunch
    quarter, one = Settings(undo_minutes=15), Settings(undo_minutes=1)
    assert DEFAULTS.undo_minutes not in (1, 15)
    counter.serve(
        session=session, clock=make.clock, settings=quarter, actor=CANTEEN, order_id=dined
    )
    (meal,) = [
        m
        for m in counter.counter_meals(session=session, service_date=make.today, site_ids=[site.id])
        if m.order_id == dined
    ]
    assert meal.undo_until(actor=CANTEEN, settings=quarter) == make.clock.now() + timedelta(
        minutes=15
    )
    make.clock.advance(timedelta(minutes=10))
    undone = counter.undo(
        session=session, clock=make.clock, settings=quarter, actor=CANTEEN, order_id=dined
    )
    assert undone.was == OrderStatus.dined_in
    counter.serve(session=session, clock=make.clock, settings=one, actor=CANTEEN, order_id=dined)
    make.clock.advance(timedelta(minutes=2))
    late = refused(
        session,
        errors.UndoTooLate,
        lambda: ordering.undo_outcome(
            session=session,
            clock=make.clock,
            settings=one,
            actor=CANTEEN,
            order_id=dined,
            by=CANTEEN,
        ),
    )
    assert late.params["minutes"] == 1


def test_a_welfare_alert_keeps_the_escalation_window_and_duty_line_passed(session, lunch):
    make, _, _, delivered = lunch
    duty_chat = chat_user_for(
        session=session, telegram_user_id=7_771_002, name="值班", language="en", clock=make.clock
    )
    daughter = chat_user_for(
        session=session, telegram_user_id=7_771_003, name="女儿", language="en", clock=make.clock
    )
    elder_id = session.get_one(Order, delivered).elder_id
    link_chat(
        session=session,
        clock=make.clock,
        actor="test",
        chat_user_id=daughter.id,
        elder_id=elder_id,
        relation=LinkRelation.family,
    )
    ours = Settings(
        welfare_ack_minutes=40, duty_phone="020-6666 0000", duty_chat_id=duty_chat.telegram_user_id
    )
    assert DEFAULTS.welfare_ack_minutes != 40 and DEFAULTS.duty_phone != ours.duty_phone
    raised_at = make.clock.now()
    ordering.record_outcome(
        session=session,
        clock=make.clock,
        settings=ours,
        order_id=delivered,
        outcome=OrderStatus.no_answer,
        by="rider:1",
    )
    alert = session.exec(select(WelfareAlert).where(WelfareAlert.order_id == delivered)).one()
    assert alert.escalate_at == raised_at + timedelta(minutes=40)
    make.clock.set(raised_at + timedelta(minutes=39))
    assert welfare.escalate_due(session=session, clock=make.clock, settings=ours) == []
    make.clock.set(raised_at + timedelta(minutes=40))
    # The family's time is up; no community worker uses the chat: the duty line is next.
    assert len(welfare.escalate_due(session=session, clock=make.clock, settings=ours)) == 1
    assert alert.level == AlertLevel.duty
    duty_step = session.exec(
        select(WelfareAlertStep).where(
            WelfareAlertStep.alert_id == alert.id, WelfareAlertStep.kind == "escalated_to_duty"
        )
    ).one()
    assert duty_step.note == "020-6666 0000"
    told = session.exec(
        select(ChatNotification.kind).where(ChatNotification.chat_user_id == duty_chat.id)
    ).all()
    assert told == ["welfare_escalated"]
    # The duty chat may answer it, and the board gives the duty line's number to call.
    welfare.acknowledge(
        session=session,
        clock=make.clock,
        settings=ours,
        chat_user_id=duty_chat.id,
        alert_id=alert.id,
        how="coming",
    )
    assert alert.status == AlertStatus.acknowledged
    shown = welfare.close_alert(
        session=session,
        clock=make.clock,
        settings=ours,
        actor="staff:wang",
        alert_id=alert.id,
        outcome="在家，平安",
    )
    assert shown.calls[-1].who == "duty" and shown.calls[-1].phone == "020-6666 0000"
