"""Riders' and community workers' own chats, linked with a one-time code the admin gives them
(as a family member's is): a rider's chat then gets the day's route, a worker's the welfare
alerts of their community. The surfaces reach this through `usecases.chat_links`."""

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

import sqlalchemy as sa
from sqlmodel import Session, col

from core.clock import Clock
from core.elders import CODE_HOURS, code_hash, new_code
from core.errors import NotFound
from core.i18n import N_
from core.models import CommunityWorker, Rider, StaffChatCode

Kind = Literal["rider", "worker"]


class RiderNotFound(NotFound):
    code = "rider_not_found"
    message = N_("We could not find this rider.")


class WorkerNotFound(NotFound):
    code = "worker_not_found"
    message = N_("We could not find this community worker.")


@dataclass(frozen=True)
class LinkedStaff:
    kind: Kind
    id: int
    name: str


def _person(session: Session, kind: Kind, person_id: int) -> Rider | CommunityWorker:
    if kind == "rider":
        rider = session.get(Rider, person_id)
        if rider is None:
            raise RiderNotFound(rider_id=person_id)
        return rider
    worker = session.get(CommunityWorker, person_id)
    if worker is None:
        raise WorkerNotFound(worker_id=person_id)
    return worker


def person_name(*, session: Session, kind: Kind, person_id: int) -> str:
    """The rider's or worker's name (for the page that shows their code)."""
    return _person(session, kind, person_id).name


def issue_code(
    *, session: Session, clock: Clock, kind: Kind, person_id: int, issued_by: str
) -> str:
    """A new single-use code (shown once, stored hashed) for this rider's or worker's chat."""
    _person(session, kind, person_id)
    shown, stored = new_code()
    now = clock.now()
    session.add(
        StaffChatCode(
            rider_id=person_id if kind == "rider" else None,
            worker_id=person_id if kind == "worker" else None,
            code_hash=stored,
            issued_by=issued_by[:64],
            issued_at=now,
            expires_at=now + timedelta(hours=CODE_HOURS),
        )
    )
    session.flush()
    return shown


def redeem(*, session: Session, clock: Clock, chat_user_id: int, code: str) -> LinkedStaff | None:
    """Link the chat to the rider or worker the code was issued for, once (None: not such a
    code, used or expired). The caller checks and records attempts (core.elders'
    check_code_attempts), as for family codes."""
    now = clock.now()
    # One conditional update claims the code: two chats racing with it cannot both win.
    claimed = session.execute(
        sa.update(StaffChatCode)
        .where(
            col(StaffChatCode.code_hash) == code_hash(code),
            col(StaffChatCode.used_at).is_(None),
            col(StaffChatCode.expires_at) > now,
        )
        .values(used_at=now, used_by_chat_user_id=chat_user_id)
        .returning(col(StaffChatCode.rider_id), col(StaffChatCode.worker_id))
    ).first()
    if claimed is None:
        return None
    rider_id, worker_id = claimed
    kind: Kind = "rider" if rider_id is not None else "worker"
    person = _person(session, kind, rider_id if rider_id is not None else worker_id)
    person.chat_user_id = chat_user_id
    session.add(person)
    session.flush()
    assert person.id is not None
    return LinkedStaff(kind, person.id, person.name)


def unlink(*, session: Session, kind: Kind, person_id: int) -> None:
    """This rider's or worker's chat no longer gets their route or alerts."""
    person = _person(session, kind, person_id)
    person.chat_user_id = None
    session.add(person)
    session.flush()
