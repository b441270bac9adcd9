"""Linking a chat by a one-time code, whoever it was issued for: a family member's to an elder,
a rider's or a community worker's to themselves; and the admin's codes and unlinking for
riders and workers. Each with its audit entry."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from core import audit, staff_chats
from core.clock import Clock
from core.elders import CODE_HOURS, check_code_attempts
from core.models import LinkCodeAttempt
from core.settings import Settings
from core.staff_chats import Kind, RiderNotFound, WorkerNotFound, person_name
from usecases import elders

__all__ = [
    "Kind",
    "Linked",
    "RiderNotFound",
    "WorkerNotFound",
    "issue_staff_code",
    "person_name",
    "redeem_code",
    "unlink_staff_chat",
]


@dataclass(frozen=True)
class Linked:
    """Whom a code linked the chat to: "family" (to the elder `name`), "rider" or "worker"."""

    kind: str
    name: str


def issue_staff_code(
    *, session: Session, clock: Clock, actor: str, kind: Kind, person_id: int
) -> tuple[str, datetime]:
    """A one-time code for a rider's or worker's own chat, and when it stops working."""
    code = staff_chats.issue_code(
        session=session, clock=clock, kind=kind, person_id=person_id, issued_by=actor
    )
    audit.record(
        session=session,
        clock=clock,
        actor=actor,
        action="issue_chat_code",
        subject=f"{kind}:{person_id}",
    )
    return code, clock.now() + timedelta(hours=CODE_HOURS)


def unlink_staff_chat(
    *, session: Session, clock: Clock, actor: str, kind: Kind, person_id: int
) -> None:
    """This rider's or worker's chat no longer gets their route or alerts."""
    staff_chats.unlink(session=session, kind=kind, person_id=person_id)
    audit.record(
        session=session,
        clock=clock,
        actor=actor,
        action="unlink_chat",
        subject=f"{kind}:{person_id}",
    )


def redeem_code(
    *, session: Session, clock: Clock, settings: Settings, chat_user_id: int, code: str
) -> Linked | None:
    """The code typed in a chat: a rider's or worker's, else a family member's (None: a wrong,
    used or expired code; wrong ones count towards the same hourly limit, checked first, whose
    refusal names the settings' programme phone)."""
    check_code_attempts(
        session=session,
        clock=clock,
        chat_user_id=chat_user_id,
        programme_phone=settings.programme_phone,
    )
    staff = staff_chats.redeem(session=session, clock=clock, chat_user_id=chat_user_id, code=code)
    if staff is not None:
        session.add(LinkCodeAttempt(chat_user_id=chat_user_id, at=clock.now(), succeeded=True))
        audit.record(
            session=session,
            clock=clock,
            actor=f"chat:{chat_user_id}",
            action="link_chat",
            subject=f"{staff.kind}:{staff.id}",
            detail="code",
        )
        return Linked(staff.kind, staff.name)
    elder = elders.redeem_link_code(
        session=session, clock=clock, settings=settings, chat_user_id=chat_user_id, code=code
    )
    return Linked("family", elder.name) if elder is not None else None
