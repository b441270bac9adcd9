"""The welfare alerts board: alerts raised when a rider found nobody at the door, their
escalation steps, who answered and when, and closing an alert with its outcome. The admin sees
every alert; a community worker those of elders in their own communities."""

from datetime import date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlmodel import Session

from api.accounts.access import Staff, elder_scope, may_see_elder
from api.audit_log import record_view
from api.deps import ClockDep, LocaleDep, ReadSessionDep, RegistryStaff, SessionDep, SettingsDep
from api.errors import REFUSED_RESPONSE, STAFF_RESPONSES
from api.forms import FormDep, FormInvalid, refusal, text, validated
from api.templating import page
from core.clock import Clock
from core.errors import DomainError
from core.i18n import N_
from core.schemas import Schema
from core.settings import Settings
from core.types import AlertLevel, AlertStatus, RowId, Slot
from core.validation import LINE
from usecases import welfare
from usecases.welfare import AlertNotFound, AlertView, alert_board, alert_community

router = APIRouter(tags=["welfare"], responses={**STAFF_RESPONSES, 400: REFUSED_RESPONSE})

# What each step of an alert's record means, for the board.
STEP_LABELS = {
    "raised": N_("Rider found nobody at the door"),
    "sent_to_family": N_("Family told in the chat"),
    "escalated_to_worker": N_("Passed to the community worker"),
    "worker_unreachable": N_("No community worker in the chat: passed on at once"),
    "escalated_to_duty": N_("Passed to the duty line"),
    "acknowledged_reached": N_("Answered: reached her or him"),
    "acknowledged_coming": N_("Answered: on the way"),
    "closed": N_("Closed"),
    "withdrawn": N_("The rider took back “No answer”: alert withdrawn"),
}
RECENTLY_CLOSED = timedelta(hours=24)


class AlertStepPublic(BaseModel):
    at: datetime
    kind: str
    actor: str
    note: str | None


class AlertCallPublic(BaseModel):
    """A number to call: the elder, a family contact, a community worker, the duty line."""

    who: str
    name: str
    phone: str


class AlertPublic(BaseModel):
    id: int
    elder_id: int
    elder: str
    community_id: int
    community: str
    service_date: date
    slot: Slot
    raised_at: datetime
    raised_by: str
    status: AlertStatus
    level: AlertLevel
    escalate_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    closed_at: datetime | None
    closed_by: str | None
    outcome: str | None
    steps: list[AlertStepPublic]
    calls: list[AlertCallPublic]


# Whom a number on an alert reaches, for its call button.
CALLERS = {
    "elder": N_("Call her or him"),
    "family": N_("Call family"),
    "worker": N_("Call the community worker"),
    "duty": N_("Call the duty line"),
}

# A line of text as core.schemas spells its fields: required, at most 300 characters.
Outcome = Annotated[str, Field(min_length=1, max_length=300), LINE]


class AlertClose(Schema):
    """What happened: she was at the clinic, found unwell and taken to hospital, ..."""

    outcome: Outcome


def _public(alert: AlertView) -> AlertPublic:
    return AlertPublic(
        **{
            **vars(alert),
            "steps": [AlertStepPublic(**vars(step)) for step in alert.steps],
            "calls": [AlertCallPublic(**vars(call)) for call in alert.calls],
        }
    )


def close(
    session: Session, clock: Clock, settings: Settings, staff: Staff, alert_id: int, outcome: str
) -> AlertView:
    """Close an alert of an elder this person looks after."""
    if not may_see_elder(staff, alert_community(session=session, alert_id=alert_id)):
        # Answered as an alert that does not exist: no telling which ids are alerts elsewhere.
        raise AlertNotFound(alert_id=alert_id)
    return welfare.close_alert(
        session=session,
        clock=clock,
        settings=settings,
        actor=staff.actor,
        alert_id=alert_id,
        outcome=outcome,
    )


@router.get("/api/v1/welfare/alerts", response_model=list[AlertPublic])
def alerts_json(
    request: Request, staff: RegistryStaff, session: ReadSessionDep, settings: SettingsDep
) -> list[AlertPublic]:
    """Alerts not closed yet, oldest first, with every step (only of this account's
    communities for a community worker)."""
    _record_board(request, staff)
    alerts = alert_board(
        session=session, community_ids=elder_scope(staff), duty_phone=settings.duty_phone
    )
    return [_public(a) for a in alerts]


@router.post("/api/v1/welfare/alerts/{alert_id}/close", response_model=AlertPublic)
def close_json(
    alert_id: RowId,
    body: AlertClose,
    staff: RegistryStaff,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> AlertPublic:
    """Close an alert with what happened."""
    return _public(close(session, clock, settings, staff, alert_id, body.outcome))


def _record_board(request: Request, staff: Staff) -> None:
    """The board names elders, their addresses and their family's phones: who read it is
    recorded, as for an elder's record."""
    record_view(request, actor=staff.actor, action="view_welfare_board", subject="welfare")


def _board(
    request: Request,
    session: Session,
    staff: Staff,
    clock: Clock,
    *,
    errors: dict[str, str] | None = None,
    typed: dict[int, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    _record_board(request, staff)
    alerts = alert_board(
        session=session,
        community_ids=elder_scope(staff),
        include_closed_since=clock.now() - RECENTLY_CLOSED,
        duty_phone=request.app.state.settings.duty_phone,
    )
    return page(
        request,
        "welfare.html",
        {
            "open": [a for a in alerts if a.status != AlertStatus.closed],
            "closed": [a for a in alerts if a.status == AlertStatus.closed],
            "steps": STEP_LABELS,
            "withdrawn": welfare.WITHDRAWN,
            "callers": CALLERS,
            "errors": errors or {},
            "typed": typed or {},
            "done": request.query_params.get("done") == "closed",
            "tz": request.app.state.settings.tz,
        },
        status,
    )


@router.get("/welfare", response_class=HTMLResponse, include_in_schema=False)
def board_page(
    request: Request, staff: RegistryStaff, session: ReadSessionDep, clock: ClockDep
) -> HTMLResponse:
    return _board(request, session, staff, clock)


@router.post(
    "/welfare/alerts/{alert_id}/close", response_class=HTMLResponse, include_in_schema=False
)
def close_page(
    request: Request,
    alert_id: RowId,
    staff: RegistryStaff,
    session: SessionDep,
    clock: ClockDep,
    locale: LocaleDep,
    form: FormDep,
) -> Response:
    outcome = text(form, "outcome")
    try:
        validated(AlertClose, {"outcome": outcome}, locale, {})
        try:
            close(session, clock, request.app.state.settings, staff, alert_id, outcome)
        except DomainError as error:
            if error.status in (403, 404):
                raise
            raise refusal(error, locale, {}) from None
    except FormInvalid as invalid:
        errors = {f"{alert_id}.{k or 'outcome'}": v for k, v in invalid.errors.items()}
        return _board(
            request,
            session,
            staff,
            clock,
            errors=errors,
            typed={alert_id: outcome},
            status=invalid.status,
        )
    return RedirectResponse(f"/welfare?done=closed#alert-{alert_id}", status_code=303)
