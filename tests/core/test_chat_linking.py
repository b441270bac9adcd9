"""What the bot relies on in core: finding an elder by the phone Telegram vouches for, one-time
family codes, the meals still open for ordering, and what "same as last time" would order."""

from datetime import datetime, time, timedelta
from functools import partial

import pytest
from sqlmodel import select

from billing.service import elder_month
from core.elders import (
    WRONG_CODES_PER_HOUR,
    chat_user_for,
    elder_by_phone,
    issue_link_code,
    link_elder,
    linked_elders,
    pause_elder,
    redeem_link_code,
)
from core.errors import ElderNotFound, NothingToRepeat, TooManyCodeAttempts
from core.models import ChatNotification, ElderLink, FamilyLinkCode, LinkCodeAttempt, Order
from core.orders import orderable_meals, plan_repeat
from core.types import LinkRelation, OrderStatus, ServiceMode, Slot
from tests.conftest import SHANGHAI, row_counts
from tests.factories import SETTINGS
from usecases import ordering

REMINDER = time(7, 30)  # the programme's reminder time (MEALAID_REMINDER_TIME)


def _chat_user(make, telegram_id: int = 1001):
    return chat_user_for(
        session=make.session,
        telegram_user_id=telegram_id,
        name="女儿",
        language="zh_CN",
        clock=make.clock,
    )


@pytest.mark.parametrize(
    "shared", ["+8613912345678", "8613912345678", "13912345678", "+86 139 1234 5678"]
)
def test_an_elder_is_found_however_telegram_writes_her_number(make, shared):
    elder = make.elder(phone="13912345678")
    assert elder_by_phone(session=make.session, phone=shared).id == elder.id


def test_a_number_nobody_has_finds_nobody(make):
    make.elder(phone="13912345678")
    assert elder_by_phone(session=make.session, phone="+8613900000000") is None


def test_a_code_links_once_and_only_for_its_elder(make):
    elder, other = make.elder(), make.elder()
    code = issue_link_code(session=make.session, clock=make.clock, elder_id=elder.id, issued_by="w")
    daughter, stranger = _chat_user(make, 1), _chat_user(make, 2)
    linked = redeem_link_code(
        session=make.session,
        clock=make.clock,
        chat_user_id=daughter.id,
        code=code.lower(),
        programme_phone=SETTINGS.programme_phone,
    )
    assert linked.id == elder.id
    assert [e.id for e in linked_elders(session=make.session, chat_user_id=daughter.id)] == [
        elder.id
    ]
    # Used: the same answer as a wrong code, and no link for the second person.
    assert (
        redeem_link_code(
            session=make.session,
            clock=make.clock,
            chat_user_id=stranger.id,
            code=code,
            programme_phone=SETTINGS.programme_phone,
        )
        is None
    )
    assert linked_elders(session=make.session, chat_user_id=stranger.id) == []
    assert other.id not in {link.elder_id for link in make.session.exec(select(ElderLink))}


def test_only_a_hash_of_the_code_is_stored(make):
    elder = make.elder()
    code = issue_link_code(session=make.session, clock=make.clock, elder_id=elder.id, issued_by="w")
    stored = make.session.exec(select(FamilyLinkCode)).one()
    assert code.replace("-", "") not in stored.code_hash and len(stored.code_hash) == 64


def test_an_expired_code_does_not_work(make):
    elder = make.elder()
    code = issue_link_code(
        session=make.session, clock=make.clock, elder_id=elder.id, issued_by="w", hours=1
    )
    make.clock.advance(timedelta(hours=1, seconds=1))
    daughter = _chat_user(make)
    assert (
        redeem_link_code(
            session=make.session,
            clock=make.clock,
            chat_user_id=daughter.id,
            code=code,
            programme_phone=SETTINGS.programme_phone,
        )
        is None
    )


def test_after_five_wrong_codes_in_an_hour_even_the_right_one_waits(make):
    elder = make.elder()
    code = issue_link_code(session=make.session, clock=make.clock, elder_id=elder.id, issued_by="w")
    daughter = _chat_user(make)
    for _ in range(WRONG_CODES_PER_HOUR):
        assert (
            redeem_link_code(
                session=make.session,
                clock=make.clock,
                chat_user_id=daughter.id,
                code="AAAA-AAAA",
                programme_phone=SETTINGS.programme_phone,
            )
            is None
        )
    with pytest.raises(TooManyCodeAttempts):
        redeem_link_code(
            session=make.session,
            clock=make.clock,
            chat_user_id=daughter.id,
            code=code,
            programme_phone=SETTINGS.programme_phone,
        )
    make.clock.advance(timedelta(hours=1, minutes=1))
    assert redeem_link_code(
        session=make.session,
        clock=make.clock,
        chat_user_id=daughter.id,
        code=code,
        programme_phone=SETTINGS.programme_phone,
    )
    attempts = make.session.exec(select(LinkCodeAttempt)).all()
    assert [a.succeeded for a in attempts].count(False) == WRONG_CODES_PER_HOUR


def test_a_code_for_nobody_is_refused_and_writes_nothing(make):
    before = row_counts(make.session)
    with pytest.raises(ElderNotFound):
        issue_link_code(session=make.session, clock=make.clock, elder_id=999, issued_by="w")
    assert row_counts(make.session) == before


def test_open_meals_are_those_with_a_menu_before_their_cutoff(make):
    site, _, _ = make.world()  # menus today and the next two days, lunch (09:30) and dinner (15:00)
    today = make.today
    meals = orderable_meals(session=make.session, clock=make.clock, site_id=site.id)
    assert [(m.service_date, m.slot) for m in meals][:3] == [
        (today, Slot.lunch),
        (today, Slot.dinner),
        (today + timedelta(days=1), Slot.lunch),
    ]
    assert len(meals) == 6
    make.clock.set(
        datetime.combine(today, datetime.min.time(), SHANGHAI).replace(hour=9, minute=30)
    )
    later = orderable_meals(session=make.session, clock=make.clock, site_id=site.id)
    assert (today, Slot.lunch) not in [(m.service_date, m.slot) for m in later]
    assert later[0].closes_at.hour == 15


def test_same_as_last_time_plans_the_same_variant_and_way_of_serving(make):
    site, dishes, elder = make.world()
    placed = ordering.place_order(
        session=make.session,
        clock=make.clock,
        settings=SETTINGS,
        elder_id=elder.id,
        site_id=site.id,
        service_date=make.today,
        slot=Slot.lunch,
        dish_id=dishes[0].id,
        variant="low_salt",
        quantity=2,
        mode=ServiceMode.pickup,
        idempotency_key="k1",
    )
    plan = plan_repeat(
        session=make.session, elder_id=elder.id, service_date=make.today + timedelta(days=1)
    )
    assert (plan.choice.dish_id, plan.choice.variant) == (dishes[0].id, "low_salt")
    assert (plan.quantity, plan.mode, plan.slot, plan.site_id) == (
        2,
        ServiceMode.pickup,
        Slot.lunch,
        site.id,
    )
    assert placed.order.status == OrderStatus.placed


def test_nothing_to_repeat_for_a_new_elder(make):
    _, _, elder = make.world()
    with pytest.raises(NothingToRepeat):
        plan_repeat(session=make.session, elder_id=elder.id, service_date=make.today)


def test_an_elders_month_counts_served_meals_and_upcoming_ones(make):
    site, dishes, elder = make.world()
    common = dict(session=make.session, clock=make.clock, elder_id=elder.id, site_id=site.id)
    served = ordering.place_order(
        **common,
        service_date=make.today,
        slot=Slot.lunch,
        dish_id=dishes[0].id,
        variant="regular",
        idempotency_key="a",
        settings=SETTINGS,
    )
    ordering.place_order(
        **common,
        service_date=make.today + timedelta(days=1),
        slot=Slot.lunch,
        dish_id=dishes[0].id,
        variant="regular",
        idempotency_key="b",
        settings=SETTINGS,
    )
    make.clock.advance(timedelta(hours=2))
    ordering.run_cutoff(
        session=make.session,
        clock=make.clock,
        settings=SETTINGS,
        site_id=site.id,
        service_date=make.today,
        slot=Slot.lunch,
    )
    ordering.record_outcome(
        session=make.session,
        clock=make.clock,
        settings=SETTINGS,
        order_id=served.order.id,
        outcome=OrderStatus.delivered,
        by="rider:1",
    )
    first = make.today.replace(day=1)
    month = elder_month(
        session=make.session, elder_id=elder.id, first=first, last=first + timedelta(days=29)
    )
    assert (month.meals, month.price_fen, month.upcoming_meals) == (1, 1500, 1)
    assert sum(month.paid_fen.values()) == 1500
    assert month.upcoming_elder_fen == 1500  # no policy here: the elder pays the whole price


def test_the_cutoff_confirms_each_locked_order_to_the_elders_chats(make):
    site, dishes, elder = make.world()
    other = make.elder(site)
    daughter = _chat_user(make, 77)
    link_elder(
        session=make.session,
        chat_user_id=daughter.id,
        elder_id=elder.id,
        relation=LinkRelation.family,
        verified_by="t",
        clock=make.clock,
    )
    for who, key in ((elder, "c1"), (other, "c2")):
        ordering.place_order(
            session=make.session,
            clock=make.clock,
            settings=SETTINGS,
            elder_id=who.id,
            site_id=site.id,
            service_date=make.today,
            slot=Slot.lunch,
            dish_id=dishes[0].id,
            variant="regular",
            idempotency_key=key,
        )
    make.clock.advance(timedelta(hours=2))
    for _ in range(2):  # a second cutoff run is a no-op and sends nothing twice
        ordering.run_cutoff(
            session=make.session,
            clock=make.clock,
            settings=SETTINGS,
            site_id=site.id,
            service_date=make.today,
            slot=Slot.lunch,
        )
    notices = make.session.exec(select(ChatNotification)).all()
    assert [(n.chat_user_id, n.kind, n.params["elder_id"]) for n in notices] == [
        (daughter.id, "order_locked", elder.id)
    ]


def test_planning_tells_each_elders_chats_when_the_meal_will_arrive(make):
    from routing.planning import plan_slot
    from routing.records import RouteStop
    from routing.solver import SolveParams
    from tests.factories import kitchen_with_route

    _, order_ids = kitchen_with_route(make, elders=2)
    first = make.session.get(Order, order_ids[0])
    daughter = _chat_user(make, 78)
    link_elder(
        session=make.session,
        chat_user_id=daughter.id,
        elder_id=first.elder_id,
        relation=LinkRelation.family,
        verified_by="t",
        clock=make.clock,
    )
    for _ in range(2):  # planned again: still one notice
        plan_slot(
            session=make.session,
            clock=make.clock,
            kitchen_id=first.site_id,
            service_date=make.today,
            slot=Slot.lunch,
            params=SolveParams(deterministic=True, solution_limit=20),
        )
    [notice] = make.session.exec(select(ChatNotification)).all()
    stop = make.session.exec(select(RouteStop).where(RouteStop.order_id == first.id)).one()
    assert (notice.kind, notice.chat_user_id, notice.params["order_id"]) == (
        "eta",
        daughter.id,
        first.id,
    )
    assert datetime.fromisoformat(notice.params["eta"]) == stop.eta


def _linked(make, elder, telegram_id: int, relation=LinkRelation.self_):
    person = _chat_user(make, telegram_id)
    link_elder(
        session=make.session,
        chat_user_id=person.id,
        elder_id=elder.id,
        relation=relation,
        verified_by="t",
        clock=make.clock,
    )
    return person


def test_the_morning_reminder_goes_once_to_chat_elders_without_lunch_or_standing_order(make):
    from core.reminders import queue_lunch_reminders
    from core.standing import create_standing_order

    site, dishes, hungry = make.world()
    ordered, regular, no_chat = make.elder(site), make.elder(site), make.elder(site)
    paused = make.elder(site)
    chats = {
        e.id: _linked(make, e, 900 + n) for n, e in enumerate([hungry, ordered, regular, paused])
    }
    ordering.place_order(
        session=make.session,
        clock=make.clock,
        settings=SETTINGS,
        elder_id=ordered.id,
        site_id=site.id,
        service_date=make.today,
        slot=Slot.lunch,
        dish_id=dishes[0].id,
        variant="regular",
        idempotency_key="r1",
    )
    create_standing_order(
        session=make.session,
        clock=make.clock,
        elder_id=regular.id,
        site_id=site.id,
        slot=Slot.lunch,
        weekdays=[6, 7],  # weekends only: today (Wednesday) they chose not to eat
        start_date=make.today,
        max_order_quantity=SETTINGS.max_order_quantity,
    )
    pause_elder(
        session=make.session, elder_id=paused.id, start_date=make.today, end_date=make.today
    )
    queue = partial(queue_lunch_reminders, session=make.session, clock=make.clock, at=REMINDER)
    make.clock.set(make.clock.now().replace(hour=7, minute=0))
    assert queue() == 0  # too early
    make.clock.set(make.clock.now().replace(hour=7, minute=45))
    assert queue() == 1
    assert queue() == 0  # once a day
    [notice] = make.session.exec(select(ChatNotification)).all()
    assert (notice.kind, notice.chat_user_id) == ("lunch_reminder", chats[hungry.id].id)
    assert no_chat.id not in {n.params["elder_id"] for n in [notice]}


def test_no_reminder_once_lunch_orders_have_closed(make):
    from core.reminders import queue_lunch_reminders

    _, _, elder = make.world()
    _linked(make, elder, 950)
    make.clock.set(make.clock.now().replace(hour=10, minute=0))  # after the 09:30 cutoff
    assert queue_lunch_reminders(session=make.session, clock=make.clock, at=REMINDER) == 0
