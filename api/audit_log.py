"""The audit log for admins (page and JSON), and recording that someone saw personal data."""

from datetime import datetime

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

from api.deps import AdminStaff, ReadSessionDep
from api.errors import STAFF_RESPONSES
from api.templating import page
from core import audit
from core.types import MAX_ID

router = APIRouter(tags=["audit"], responses=STAFF_RESPONSES)


def record_view(request: Request, *, actor: str, action: str, subject: str, detail: str = ""):
    """Record that a page or answer with personal data was shown. In the request's own
    transaction when it writes anyway; else in a short transaction of its own, so reading a
    large list never holds the database's write lock."""
    entry = dict(
        clock=request.app.state.clock, actor=actor, action=action, subject=subject, detail=detail
    )
    writing = getattr(request.state, "writing", None)
    if writing is not None:
        audit.record(session=writing, **entry)
        return
    with request.app.state.database.transaction() as session:
        audit.record(session=session, **entry)


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
):
    entries = audit.recent_entries(session=session, limit=100, before=before)
    older = entries[-1].seq if entries and entries[-1].seq > 1 else None
    return page(
        request,
        "audit.html",
        {"entries": entries, "older": older, "tz": request.app.state.settings.tz},
    )
