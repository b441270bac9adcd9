"""Welfare alerts as people answer and close them: each with the alert's own step (the alert's
history, shown on the board) and, for staff, an audit entry. An alert is raised by the
outcome use case (a rider finds nobody at the door: `usecases.ordering.record_outcome`) and
escalated by the due work. The surfaces may not import `core.welfare` (an import contract says
so): the reads they need are re-exported here. The settings' escalation window and duty line
come from the caller (`settings`; core.welfare takes the values)."""

from sqlmodel import Session

from core import audit, welfare
from core.clock import Clock
from core.models import WelfareAlert, saved
from core.settings import Settings
from core.welfare import (
    ACKNOWLEDGEMENTS,
    WITHDRAWN,
    AlertNotFound,
    AlertView,
    alert_board,
    alert_community,
)

__all__ = [
    "ACKNOWLEDGEMENTS",
    "WITHDRAWN",
    "AlertNotFound",
    "AlertView",
    "acknowledge",
    "alert_board",
    "alert_community",
    "close_alert",
    "escalate_due",
]


def close_alert(
    *, session: Session, clock: Clock, settings: Settings, actor: str, alert_id: int, outcome: str
) -> AlertView:
    """Staff close an alert with what happened (she was at the clinic, found unwell ...); the
    alert as the board shows it (the settings' duty line among its numbers to call)."""
    alert = welfare.close_alert(
        session=session, clock=clock, alert_id=alert_id, by=actor, outcome=outcome
    )
    audit.record(
        session=session,
        clock=clock,
        actor=actor,
        action="close_alert",
        subject=f"alert:{alert_id}",
        detail=f"elder:{alert.elder_id}",
    )
    return alert_board(
        session=session,
        community_ids=None,
        alert_id=saved(alert.id),
        duty_phone=settings.duty_phone,
    )[0]


def escalate_due(*, session: Session, clock: Clock, settings: Settings) -> list[WelfareAlert]:
    """Alerts nobody answered in time go one step up (family, then the community worker,
    then the duty line), each told by a notice, each level with the settings' window; the
    due work calls this."""
    return welfare.escalate_due(
        session=session,
        clock=clock,
        welfare_ack_minutes=settings.welfare_ack_minutes,
        duty_phone=settings.duty_phone,
        duty_chat_id=settings.duty_chat_id,
    )


def acknowledge(
    *,
    session: Session,
    clock: Clock,
    settings: Settings,
    chat_user_id: int,
    alert_id: int,
    how: str,
) -> WelfareAlert:
    """Family, a worker or the duty line's chat answer in the chat ("reached" her, or
    "coming"): escalation stops and the others who were told hear who is handling it. The
    alert's steps record who."""
    return welfare.acknowledge(
        session=session,
        clock=clock,
        alert_id=alert_id,
        chat_user_id=chat_user_id,
        how=how,
        duty_chat_id=settings.duty_chat_id,
    )
