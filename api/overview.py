"""Today at a glance: orders per site and meal, as a page and as JSON."""

from datetime import date

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel
from sqlmodel import Session

from api.accounts.models import Role
from api.deps import ClockDep, OverviewStaff, ReadSessionDep
from api.errors import STAFF_RESPONSES
from api.templating import page
from core.clock import today
from core.types import RowId, Slot
from usecases.ordering import day_tallies
from usecases.settlement import held_by_month
from usecases.setup import programme_is_new, setup_progress

router = APIRouter(tags=["overview"], responses=STAFF_RESPONSES)


class SlotTallyPublic(BaseModel):
    site_id: RowId
    site_name: str
    kitchen_id: RowId | None
    slot: Slot
    orders: int
    portions: int
    by_status: dict[str, int]
    by_mode: dict[str, int]
    locked: bool


class DayOverview(BaseModel):
    service_date: date
    orders: int
    portions: int
    slots: list[SlotTallyPublic]


def _overview(session: Session, service_date: date) -> DayOverview:
    tallies = [
        SlotTallyPublic(**vars(t)) for t in day_tallies(session=session, service_date=service_date)
    ]
    return DayOverview(
        service_date=service_date,
        orders=sum(t.orders for t in tallies),
        portions=sum(t.portions for t in tallies),
        slots=tallies,
    )


@router.get("/api/v1/overview", response_model=DayOverview)
def overview_json(
    staff: OverviewStaff,
    session: ReadSessionDep,
    clock: ClockDep,
    service_date: date | None = Query(None, alias="date"),
) -> DayOverview:
    """Live orders per site and meal for a service day (default: today)."""
    return _overview(session, service_date or today(clock))


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def overview_page(
    request: Request,
    staff: OverviewStaff,
    session: ReadSessionDep,
    clock: ClockDep,
    service_date: date | None = Query(None, alias="date"),
) -> Response:
    if staff.role == Role.admin and service_date is None and programme_is_new(session=session):
        # A programme with nobody to serve yet: the admin starts on the set-up checklist.
        return RedirectResponse("/admin/setup", status_code=303)
    # The month's checks hold doubtful meals out of the claims until someone decides: the
    # admin, who settles, is shown them here rather than having to go and look.
    held = held_by_month(session=session) if staff.role == Role.admin else {}
    # A programme already running with a step not done (say no policy yet): the admin is told.
    missing = (
        sum(not step.done for step in setup_progress(session=session, clock=clock))
        if staff.role == Role.admin
        else 0
    )
    return page(
        request,
        "overview.html",
        {
            "overview": _overview(session, service_date or today(clock)),
            "held": held,
            "setup_missing": missing,
        },
    )
