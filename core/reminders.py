"""The morning reminder: elders who order by chat and have no standing order for today's lunch
get "Lunch today?" with a one-tap "same as usual", while lunch can still be ordered. Once a day,
however often the bot asks and however many times it restarts."""

from datetime import time

import sqlalchemy as sa
from sqlmodel import Session, col, select

from core.clock import Clock
from core.models import Elder, ElderLink, ElderPause, Order, StandingOrder, saved
from core.notifications import elder_chats, notify
from core.orders import orderable_meals
from core.runs import claim_run
from core.sites import site_for_elder
from core.types import ElderStatus, LinkRelation, OrderStatus, Slot


def queue_lunch_reminders(*, session: Session, clock: Clock, at: time) -> int:
    """From `at` (the programme's reminder time) on, once a day: queue a reminder to the chats
    of each active elder with no lunch ordered, none coming from a standing order, not paused,
    whose site still takes lunch orders today. Returns how many were queued (0 before the time
    or once done)."""
    now = clock.now()
    if now.time() < at or not claim_run(session, job="lunch", day=now.date(), at=now):
        return 0
    today = now.date()
    ordered = set(
        session.exec(
            select(Order.elder_id).where(
                Order.service_date == today,
                Order.slot == Slot.lunch,
                Order.status != OrderStatus.cancelled,
            )
        )
    )
    paused = set(
        session.exec(
            select(ElderPause.elder_id).where(
                ElderPause.start_date <= today, ElderPause.end_date >= today
            )
        )
    )
    # Elders with a standing order chose their days (and pause it when away): no reminder.
    standing = set(
        session.exec(select(StandingOrder.elder_id).where(col(StandingOrder.active).is_(True)))
    )
    with_chat = sa.exists().where(
        col(ElderLink.elder_id) == Elder.id,
        col(ElderLink.relation).in_([LinkRelation.self_, LinkRelation.family]),
        col(ElderLink.revoked_at).is_(None),
    )
    elders = session.exec(
        select(Elder).where(Elder.status == ElderStatus.active, with_chat).order_by(col(Elder.id))
    ).all()
    open_lunch: dict[int, bool] = {}
    queued = 0
    for elder in elders:
        if elder.id in ordered or elder.id in paused or elder.id in standing:
            continue
        site = site_for_elder(session=session, elder=elder)
        if site is None:
            continue
        site_id = saved(site.id)
        if site_id not in open_lunch:
            open_lunch[site_id] = any(
                meal.service_date == today and meal.slot == Slot.lunch
                for meal in orderable_meals(session=session, clock=clock, site_id=site_id, days=1)
            )
        if not open_lunch[site_id]:
            continue
        for chat in elder_chats(session, saved(elder.id)):
            queued += notify(
                session,
                chat_user_id=chat,
                kind="lunch_reminder",
                key=f"reminder:{today}:{elder.id}:{chat}",
                at=now,
                elder_id=elder.id,
                service_date=today.isoformat(),
            )
    session.flush()
    return queued
