"""A mark at the counter or the door can be taken back for a few minutes by whoever made it
(or the admin): the order waits again, the append-only ledger gets reversal entries, the
budget the meal held is held again, a welfare alert the mark raised is withdrawn and its
family told; a new mark posts again. After the window, or by someone else, it is refused and
nothing changes."""

from datetime import datetime

import pytest
import sqlalchemy as sa
from sqlmodel import col, select

from billing.models import FundBudget, LedgerEntry, Reservation, ReservationStatus
from core.clock import FixedClock
from core.errors import MarkNotYours, NothingToUndo, UndoTooLate
from core.models import (
    ChatNotification,
    ChatUser,
    ElderLink,
    Order,
    WelfareAlert,
    WelfareAlertStep,
)
from core.types import AlertStatus, LinkRelation, OrderStatus, ServiceMode
from core.welfare import WITHDRAWN
from tests.conftest import SHANGHAI, row_counts
from tests.factories import SETTINGS, Factory, PolicyFactory, closed_lunch
from usecases import counter, ordering

CANTEEN = "staff:canteen"


def _at(minute: int, hour: int = 11) -> datetime:
    return datetime(2026, 11, 25, hour, minute, tzinfo=SHANGHAI)


@pytest.fixture
def lunch(session):
    """A dine-in and a delivered lunch, each subsidised ¥5 from a fund, after the cutoff."""
    make = Factory(session, FixedClock(_at(0, hour=8)))
    site, dishes, _ = make.world()
    policy = PolicyFactory(session)
    policy.policy(unserved="elder_pays")
    city = policy.funder()
    fund = policy.fund(city, budget_fen=100_000)
    policy.rule(city, code="CITY", amount_fen=500, fund_id=fund.id)
    dined, delivered = closed_lunch(
        make,
        site,
        dishes[0],
        [("陈桂英", "13800001234", ServiceMode.dine_in), ("林美华", None, ServiceMode.delivery)],
    )
    make.clock.set(_at(40))
    return make, fund, dined, delivered


def _net(session, order_id: int) -> int:
    return session.execute(
        sa.select(sa.func.coalesce(sa.func.sum(col(LedgerEntry.amount_fen)), 0)).where(
            col(LedgerEntry.order_id) == order_id
        )
    ).scalar_one()


def _committed(session, fund) -> int:
    return (
        session.exec(
            select(sa.func.sum(FundBudget.committed_fen)).where(FundBudget.fund_id == fund.id)
        ).one()
        or 0
    )


def _reservations(session, order_id: int) -> list[ReservationStatus]:
    return [
        ReservationStatus(r.status)
        for r in session.exec(select(Reservation).where(Reservation.order_id == order_id))
    ]


def test_a_counter_mark_undone_in_time_reverses_the_ledger_and_holds_the_budget_again(
    session, lunch
):
    make, fund, dined, _ = lunch
    held = _committed(session, fund)
    price = session.get(Order, dined).total_fen
    counter.serve(
        session=session, clock=make.clock, settings=SETTINGS, actor=CANTEEN, order_id=dined
    )
    assert _net(session, dined) == price
    make.clock.set(_at(44))
    undone = ordering.undo_outcome(
        session=session,
        clock=make.clock,
        settings=SETTINGS,
        actor=CANTEEN,
        order_id=dined,
        by=CANTEEN,
    )
    assert undone.was == OrderStatus.dined_in
    order = session.get(Order, dined)
    assert (order.status, order.outcome_at, order.outcome_by) == (OrderStatus.locked, None, None)
    assert _net(session, dined) == 0
    kinds = session.exec(
        select(LedgerEntry.kind, LedgerEntry.reverses_id).where(LedgerEntry.order_id == dined)
    ).all()
    assert sorted(k for k, _ in kinds) == ["meal", "meal", "reversal", "reversal"]
    assert _reservations(session, dined) == [ReservationStatus.reserved]
    assert _committed(session, fund) == held  # the ¥5 stays held for this meal
    # Served again: posted again, as if the first mark had never been.
    counter.serve(
        session=session, clock=make.clock, settings=SETTINGS, actor=CANTEEN, order_id=dined
    )
    assert _net(session, dined) == price
    assert _reservations(session, dined) == [ReservationStatus.posted]
    assert _committed(session, fund) == held
    # And taken back once more.
    ordering.undo_outcome(
        session=session,
        clock=make.clock,
        settings=SETTINGS,
        actor=CANTEEN,
        order_id=dined,
        by=CANTEEN,
    )
    assert _net(session, dined) == 0 and _committed(session, fund) == held


def test_after_the_window_or_by_someone_else_an_undo_is_refused_and_changes_nothing(session, lunch):
    make, _, dined, delivered = lunch
    counter.serve(
        session=session, clock=make.clock, settings=SETTINGS, actor=CANTEEN, order_id=dined
    )
    before = row_counts(session)
    with pytest.raises(MarkNotYours):
        ordering.undo_outcome(
            session=session,
            clock=make.clock,
            settings=SETTINGS,
            actor="staff:other",
            order_id=dined,
            by="staff:other",
        )
    with pytest.raises(NothingToUndo):
        ordering.undo_outcome(
            session=session,
            clock=make.clock,
            settings=SETTINGS,
            actor=CANTEEN,
            order_id=delivered,
            by=CANTEEN,
        )
    make.clock.set(_at(45, hour=11).replace(second=1))  # 5 minutes and a second later
    with pytest.raises(UndoTooLate) as late:
        ordering.undo_outcome(
            session=session,
            clock=make.clock,
            settings=SETTINGS,
            actor=CANTEEN,
            order_id=dined,
            by=CANTEEN,
        )
    assert late.value.render("zh_CN") != late.value.render("en")
    assert "11:40" in late.value.render("en") and "5" in late.value.render("en")
    assert row_counts(session) == before
    assert session.get(Order, dined).status == OrderStatus.dined_in
    # The admin may take back someone else's mark, within the window too.
    make.clock.set(_at(41))
    ordering.undo_outcome(
        session=session,
        clock=make.clock,
        settings=SETTINGS,
        actor="staff:admin",
        order_id=dined,
        by="staff:admin",
        admin=True,
    )
    assert session.get(Order, dined).status == OrderStatus.locked


def test_no_answer_taken_back_withdraws_the_alert_tells_the_family_and_holds_the_budget(
    session, lunch
):
    make, fund, _, delivered = lunch
    order = session.get(Order, delivered)
    daughter = ChatUser(telegram_user_id=777001, name="女儿", created_at=make.clock.now())
    session.add(daughter)
    session.flush()
    session.add(
        ElderLink(
            chat_user_id=daughter.id,
            elder_id=order.elder_id,
            relation=LinkRelation.family,
            verified_at=make.clock.now(),
            verified_by="test",
        )
    )
    session.flush()
    held = _committed(session, fund)
    rider = "rider:1"
    ordering.record_outcome(
        session=session,
        clock=make.clock,
        settings=SETTINGS,
        order_id=delivered,
        outcome=OrderStatus.no_answer,
        by=rider,
    )
    # Elder pays in full for a meal nobody took: the subsidy went back to the fund.
    assert _committed(session, fund) == held - 500
    assert _net(session, delivered) == order.total_fen
    make.clock.set(_at(42))
    ordering.undo_outcome(
        session=session,
        clock=make.clock,
        settings=SETTINGS,
        actor=rider,
        order_id=delivered,
        by=rider,
    )
    alert = session.exec(select(WelfareAlert).where(WelfareAlert.order_id == delivered)).one()
    assert alert.status == AlertStatus.closed and alert.outcome == WITHDRAWN
    assert alert.escalate_at is None and alert.closed_by == rider
    steps = session.exec(
        select(WelfareAlertStep.kind).where(WelfareAlertStep.alert_id == alert.id)
    ).all()
    assert steps[-1] == "withdrawn"
    told = session.exec(
        select(ChatNotification.kind).where(ChatNotification.chat_user_id == daughter.id)
    ).all()
    assert told == ["welfare_alert", "welfare_withdrawn"]
    assert _net(session, delivered) == 0
    assert _committed(session, fund) == held  # the subsidy is held for the meal again
    # Delivered after all: the subsidised split is posted.
    ordering.record_outcome(
        session=session,
        clock=make.clock,
        settings=SETTINGS,
        order_id=delivered,
        outcome=OrderStatus.delivered,
        by=rider,
    )
    assert _net(session, delivered) == order.total_fen
    assert (
        session.exec(
            select(sa.func.sum(LedgerEntry.amount_fen)).where(
                LedgerEntry.order_id == delivered, col(LedgerEntry.funder_id).is_not(None)
            )
        ).one()
        == 500
    )
    assert alert.status == AlertStatus.closed


def test_no_answer_again_after_an_undo_raises_the_alert_again(session, lunch):
    make, _, _, delivered = lunch
    rider = "rider:1"
    for minute in (40, 41):
        make.clock.set(_at(minute))
        ordering.record_outcome(
            session=session,
            clock=make.clock,
            settings=SETTINGS,
            order_id=delivered,
            outcome=OrderStatus.no_answer,
            by=rider,
        )
        if minute == 40:
            ordering.undo_outcome(
                session=session,
                clock=make.clock,
                settings=SETTINGS,
                actor=rider,
                order_id=delivered,
                by=rider,
            )
    alert = session.exec(select(WelfareAlert).where(WelfareAlert.order_id == delivered)).one()
    assert alert.status == AlertStatus.open and alert.outcome is None
    assert alert.raised_at == _at(41)
    steps = session.exec(
        select(WelfareAlertStep.kind)
        .where(WelfareAlertStep.alert_id == alert.id)
        .order_by(col(WelfareAlertStep.id))
    ).all()
    assert steps.count("raised") == 2 and "withdrawn" in steps


def test_a_served_notice_not_yet_sent_is_withdrawn_with_the_mark(session, lunch):
    """Served, then taken back a minute later: her chat is not told "served, rate it" for a
    meal she has not had; served again, it is."""
    make, _, dined, _ = lunch
    order = session.get(Order, dined)
    own = ChatUser(telegram_user_id=777002, name="陈桂英", created_at=make.clock.now())
    session.add(own)
    session.flush()
    session.add(
        ElderLink(
            chat_user_id=own.id,
            elder_id=order.elder_id,
            relation=LinkRelation.self_,
            verified_at=make.clock.now(),
            verified_by="test",
        )
    )
    session.flush()

    def served_notices() -> int:
        return len(
            session.exec(
                select(ChatNotification).where(
                    ChatNotification.chat_user_id == own.id, ChatNotification.kind == "served"
                )
            ).all()
        )

    counter.serve(
        session=session, clock=make.clock, settings=SETTINGS, actor=CANTEEN, order_id=dined
    )
    assert served_notices() == 1
    ordering.undo_outcome(
        session=session,
        clock=make.clock,
        settings=SETTINGS,
        actor=CANTEEN,
        order_id=dined,
        by=CANTEEN,
    )
    assert served_notices() == 0
    counter.serve(
        session=session, clock=make.clock, settings=SETTINGS, actor=CANTEEN, order_id=dined
    )
    assert served_notices() == 1
