"""Rating a served meal from the chat: good, or not good with a reason. Feeds the dashboard."""

from sqlmodel import Session

from core.clock import Clock
from core.errors import DomainError, OrderNotFound
from core.i18n import N_
from core.models import MealRating, Order
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
        order_id=order.id,
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
