"""Riders' and community workers' own chats: the admin issues a one-time code the person types
in the bot (their route, or their community's welfare alerts, then come to that chat), and
unlinks a chat that should no longer get them; as JSON and as buttons on the riders' and
community workers' staff pages (`_staff_chat.html`)."""

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel

from api.deps import AdminStaff, ClockDep, LocaleDep, SessionDep
from api.errors import STAFF_RESPONSES
from api.templating import page
from core import i18n
from core.i18n import N_
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


# The staff pages of riders and community workers (api.setup), where the buttons are.
PAGES: dict[str, Literal["rider", "worker"]] = {"riders": "rider", "workers": "worker"}
CODE_INSTRUCTIONS = N_(
    "Give this code to {name}, on paper or by phone. In the MealAid chat they press "
    "“I have a code” and type it. It works once, until {expires}. It is shown only now: if it "
    "is lost, issue a new one."
)


def _pages(path: str, kind: Literal["rider", "worker"]) -> None:
    @router.post(
        f"/admin/{path}/{{person_id}}/chat-code",
        response_class=HTMLResponse,
        include_in_schema=False,
        name=f"{kind}_chat_code_page",
    )
    def issue_page(
        request: Request,
        person_id: RowId,
        session: SessionDep,
        clock: ClockDep,
        staff: AdminStaff,
        locale: LocaleDep,
    ) -> HTMLResponse:
        """The code, shown once, with what to do with it."""
        name = chat_links.person_name(session=session, kind=kind, person_id=person_id)
        code, expires = chat_links.issue_staff_code(
            session=session, clock=clock, actor=staff.actor, kind=kind, person_id=person_id
        )
        shown = expires.astimezone(clock.tz)
        return page(
            request,
            "staff_chat_code.html",
            {
                "name": name,
                "code": code,
                "back": f"/admin/{path}/{person_id}",
                "instructions": i18n.render(
                    CODE_INSTRUCTIONS, locale, {"name": name, "expires": shown}
                ),
            },
        )

    @router.post(
        f"/admin/{path}/{{person_id}}/chat/unlink",
        include_in_schema=False,
        name=f"{kind}_chat_unlink_page",
    )
    def unlink_page(
        person_id: RowId, session: SessionDep, clock: ClockDep, staff: AdminStaff
    ) -> RedirectResponse:
        chat_links.unlink_staff_chat(
            session=session, clock=clock, actor=staff.actor, kind=kind, person_id=person_id
        )
        return RedirectResponse(f"/admin/{path}/{person_id}", status_code=303)


for _path, _kind in PAGES.items():
    _pages(_path, _kind)
