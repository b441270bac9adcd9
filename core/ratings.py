"""Rating a served meal from the chat: good, or not good with a reason. Feeds the dashboard."""

from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from core.clock import Clock
from core.errors import DomainError, OrderNotFound
from core.i18n import N_
from core.models import MealRating, Order, saved
from core.notifications import elder_chats
from core.orders import SERVED

REASONS = {
    "cold": N_("It was cold"),
    "late": N_("It came late"),
    "salty": N_("Too salty"),
    "wrong": N_("Wrong dish"),
    "hard": N_("Too hard to chew"),
    "other": N_("Something else"),
}


class NotRateable(DomainError):
    code = "not_rateable"
    message = N_("Only a meal that was served can be rated, by the elder or their family.")


def rate_meal(
    *,
    session: Session,
    clock: Clock,
    order_id: int,
    chat_user_id: int,
    good: bool,
    reason: str | None = None,
) -> MealRating:
    order = session.get(Order, order_id)
    if order is None:
        raise OrderNotFound(order_id=order_id)
    if order.status not in SERVED or chat_user_id not in elder_chats(session, order.elder_id):
        raise NotRateable()
    if reason is not None and reason not in REASONS:
        raise NotRateable()
    rating = session.get(MealRating, order_id) or MealRating(
        order_id=saved(order.id),
        elder_id=order.elder_id,
        site_id=order.site_id,
        service_date=order.service_date,
        good=good,
        rated_at=clock.now(),
    )
    rating.good, rating.reason = good, None if good else reason
    rating.rated_by_chat_user_id, rating.rated_at = chat_user_id, clock.now()
    session.add(rating)
    session.flush()
    return rating


@dataclass(frozen=True)
class SiteRating:
    good: int
    total: int

    @property
    def percent_good(self) -> int:
        return round(100 * self.good / self.total) if self.total else 0


def site_ratings(
    *, session: Session, site_ids: list[int], today: date, days: int = 30
) -> dict[int, SiteRating]:
    """How diners rated each site's meals served in the last `days` days (today included)."""
    if not site_ids:
        return {}
    good = sa.func.sum(sa.case((col(MealRating.good).is_(True), 1), else_=0))
    rows = session.exec(
        select(MealRating.site_id, good, sa.func.count())
        .where(
            col(MealRating.site_id).in_(site_ids),
            MealRating.service_date > today - timedelta(days=days),
            MealRating.service_date <= today,
        )
        .group_by(col(MealRating.site_id))
    )
    return {site_id: SiteRating(int(good or 0), int(total)) for site_id, good, total in rows}
