"""Answering a welfare alert from the chat: family or a worker say they reached her or are on
the way, and escalation stops."""

from bot import texts
from bot.turn import Say, Turn
from core.models import saved
from usecases import welfare


def acknowledge_alert(turn: Turn, alert_id: int, how: str) -> list[Say]:
    welfare.acknowledge(
        session=turn.session,
        clock=turn.clock,
        settings=turn.settings,
        chat_user_id=saved(turn.user.id),
        alert_id=alert_id,
        how=how,
    )
    return [Say(turn.t(texts.ACK_THANKS, how=turn.t(welfare.ACKNOWLEDGEMENTS[how])), edit=True)]
