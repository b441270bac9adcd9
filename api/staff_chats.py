"""Riders' and community workers' own chats: the admin issues a one-time code the person types
in the bot (their route, or their community's welfare alerts, then come to that chat), and
unlinks a chat that should no longer get them."""

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel

from api.deps import AdminStaff, ClockDep, SessionDep
from api.errors import STAFF_RESPONSES
from core.types import RowId
from usecases import chat_links

router = APIRouter(tags=["chats"], responses=STAFF_RESPONSES)

PATHS: dict[str, Literal["rider", "worker"]] = {
    "riders": "rider",
    "community-workers": "worker",
}


class ChatCodePublic(BaseModel):
    code: str
    expires_at: datetime


def _routes(path: str, kind: Literal["rider", "worker"]) -> None:
    @router.post(
        f"/api/v1/{path}/{{person_id}}/chat-code",
        response_model=ChatCodePublic,
        status_code=201,
        name=f"{kind}_chat_code",
    )
    def issue(
        person_id: RowId, session: SessionDep, clock: ClockDep, staff: AdminStaff
    ) -> ChatCodePublic:
        """A one-time code (72 hours) that links this person's own chat when typed in the bot."""
        code, expires = chat_links.issue_staff_code(
            session=session, clock=clock, actor=staff.actor, kind=kind, person_id=person_id
        )
        return ChatCodePublic(code=code, expires_at=expires)

    @router.delete(
        f"/api/v1/{path}/{{person_id}}/chat", status_code=204, name=f"{kind}_chat_unlink"
    )
    def unlink(
        person_id: RowId, session: SessionDep, clock: ClockDep, staff: AdminStaff
    ) -> Response:
        """This person's chat no longer gets their route or alerts."""
        chat_links.unlink_staff_chat(
            session=session, clock=clock, actor=staff.actor, kind=kind, person_id=person_id
        )
        return Response(status_code=204)


for _path, _kind in PATHS.items():
    _routes(_path, _kind)
