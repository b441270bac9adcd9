"""Rating a meal after it was served: good, or bad and why."""

from bot import callbacks as cb
from bot import texts
from bot.turn import Buttons, Say, Turn
from core import ratings
from core.models import saved


def rate(turn: Turn, order_id: int, good: bool) -> list[Say]:
    ratings.rate_meal(
        session=turn.session,
        clock=turn.clock,
        order_id=order_id,
        chat_user_id=saved(turn.user.id),
        good=good,
    )
    if good:
        return [Say(turn.t(texts.RATE_THANKS), edit=True)]
    rows: Buttons = [
        [(turn.t(label), cb.RateReason(order_id, code))] for code, label in ratings.REASONS.items()
    ]
    return [Say(turn.t(texts.RATE_WHY), rows, edit=True)]


def rate_reason(turn: Turn, order_id: int, reason: str) -> list[Say]:
    ratings.rate_meal(
        session=turn.session,
        clock=turn.clock,
        order_id=order_id,
        chat_user_id=saved(turn.user.id),
        good=False,
        reason=reason,
    )
    return [Say(turn.t(texts.RATE_THANKS), edit=True)]
