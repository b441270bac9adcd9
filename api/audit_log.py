"""The audit log for admins (page and JSON), and recording that someone saw personal data."""

from dataclasses import dataclass
from datetime import datetime

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.accounts.service import touch_session
from api.deps import AdminStaff, ReadSessionDep, writers_turn
from api.errors import STAFF_RESPONSES
from api.templating import page
from core import audit
from core.clock import Clock
from core.types import MAX_ID
from usecases.phone_search import check_phone_search, phone_digits, search_record

router = APIRouter(tags=["audit"], responses=STAFF_RESPONSES)


@dataclass(frozen=True)
class PhoneSearch:
    """A search that may be by phone digits (usecases.phone_search): checked against this
    person's budget when it is made (`phone_search`), recorded with its answer (`record`).
    A search by name is neither."""

    request: Request
    actor: str
    digits: str | None
    where: str
    shown: int

    def record(self, *, total: int, elder_ids: list[int]) -> None:
        if self.digits is None:
            return
        entry = search_record(
            where=self.where,
            digits=self.digits,
            total=total,
            elder_ids=elder_ids,
            shown=self.shown,
        )
        record_view(self.request, actor=self.actor, **vars(entry))


def phone_search(
    request: Request,
    session: Session,
    clock: Clock,
    actor: str,
    query: str | None,
    *,
    where: str,
    shown: int = 0,
) -> PhoneSearch:
    """Refuse a search by phone digits over this person's budget (or with too few digits)
    before it runs; the search to record once it has its answer."""
    digits = phone_digits(query)
    if digits is not None:
        check_phone_search(
            session=session,
            clock=clock,
            settings=request.app.state.settings,
            actor=actor,
            digits=digits,
            shown=shown,
        )
    return PhoneSearch(request, actor, digits, where, shown)


def record_view(
    request: Request, *, actor: str, action: str, subject: str, detail: str = ""
) -> None:
    """Record that a page or answer with personal data was shown: in the request's own
    transaction when it writes anyway, else once the answer is ready (`install_view_recording`),
    before it is sent."""
    entry = dict(actor=actor, action=action, subject=subject, detail=detail)
    writing = getattr(request.state, "writing", None)
    if writing is not None:
        audit.record(session=writing, clock=request.app.state.clock, **entry)
    else:
        request.state.views = [*getattr(request.state, "views", []), entry]


def install_view_recording(app: FastAPI) -> None:
    app.add_middleware(ViewRecording)


class ViewRecording:
    """Writes the views a reading request recorded, in one short transaction that waits its
    turn like any writer's (api.deps.writers_turn), after the reading session is closed: a
    request never holds one connection while it waits for another, nor waits for the write
    lock in a worker thread. They are written once the answer is ready, before any of it is
    sent. No record, no answer: a failure here is the reply (a busy database:
    api.errors.install_busy_answer), and the answer is not sent. The same transaction writes
    down this request as its staff session's last, when the session middleware asks
    (api.accounts.service.find_session: about once a minute), for the idle timeout. On
    PostgreSQL the request's own transaction has written both as it committed, unless the
    route failed (api.deps.get_reading_session): then they are written here.

    Plain ASGI rather than Starlette's `BaseHTTPMiddleware`, which runs the rest of the app in
    a task of its own and hands the answer over through a stream: measured, about 0.2 ms of
    the server's CPU per request for each such middleware."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        failed: Exception | None = None

        async def send_once_written(message: Message) -> None:
            nonlocal failed
            if failed is not None:
                return  # the failure is the answer: nothing of this one goes out
            if message["type"] == "http.response.start":
                try:
                    await _write_views(request)
                except Exception as error:
                    failed = error
                    return
            await send(message)

        await self.app(scope, receive, send_once_written)
        if failed is not None:
            raise failed


async def _write_views(request: Request) -> None:
    views = getattr(request.state, "views", None) or []
    touch = getattr(request.state, "touch_session", None)
    if not (views or touch):
        return
    request.state.views = []
    database, clock = request.app.state.database, request.app.state.clock

    def write() -> None:
        with database.transaction() as session:
            for entry in views:
                audit.record(session=session, clock=clock, **entry)
            if touch:
                touch_session(session=session, clock=clock, token=touch)

    async with writers_turn(request):
        await run_in_threadpool(write)


class AuditEntryPublic(BaseModel):
    seq: int
    at: datetime
    actor: str
    action: str
    subject: str
    detail: str
    prev_hash: str
    hash: str


@router.get("/api/v1/audit", response_model=list[AuditEntryPublic])
def audit_json(
    staff: AdminStaff,
    session: ReadSessionDep,
    before: int | None = Query(None, ge=1, le=MAX_ID),
    limit: int = Query(100, ge=1, le=1000),
) -> list[AuditEntryPublic]:
    """The newest audit entries first (admins only); page back with `before`."""
    return [
        AuditEntryPublic.model_validate(entry, from_attributes=True)
        for entry in audit.recent_entries(session=session, limit=limit, before=before)
    ]


@router.get("/admin/audit", response_class=HTMLResponse, include_in_schema=False)
def audit_page(
    request: Request,
    staff: AdminStaff,
    session: ReadSessionDep,
    before: int | None = Query(None, ge=1, le=MAX_ID),
) -> HTMLResponse:
    entries = audit.recent_entries(session=session, limit=100, before=before)
    older = entries[-1].seq if entries and entries[-1].seq > 1 else None
    return page(
        request,
        "audit.html",
        {
            "entries": entries,
            "older": older,
            "tz": request.app.state.settings.tz,
            "actions": audit.ACTIONS,
        },
    )
