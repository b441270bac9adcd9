"""The dashboard for the programme admin: meals served per day (last 14 days), by elder category
and by site, subsidy spent per funder against budget, coverage this week and open welfare
alerts; the charts drawn as SVG on the server. A funder auditor sees only its own funder's
spending. Today's usual meals the cutoff could not order are counted, linked to the orders
board that lists them."""

from datetime import date, datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel
from sqlmodel import Session

from api import charts
from api.accounts.access import Staff
from api.accounts.models import Role
from api.deps import ClockDep, DashboardStaff, LocaleDep, ReadSessionDep
from api.errors import STAFF_RESPONSES
from api.templating import page
from billing.dashboard import DAYS, FunderSpend, dashboard, funder_spending
from billing.exports import category_name
from billing.models import Share
from core.clock import Clock, today
from core.i18n import gettext
from core.types import AlertLevel, AlertStatus, RowId, Slot
from usecases.ordering import refused_standing_orders

router = APIRouter(tags=["dashboard"], responses=STAFF_RESPONSES)


class CountPublic(BaseModel):
    key: str
    label: str
    meals: int


class FunderSpendPublic(BaseModel):
    funder_id: RowId
    code: str
    name_zh: str
    name_en: str
    share: Share
    spent_fen: int
    month_fen: int
    budget_fen: int | None
    committed_fen: int


class AlertPublic(BaseModel):
    alert_id: RowId
    elder: str
    slot: Slot
    raised_at: datetime
    status: AlertStatus
    level: AlertLevel
    handled_by: str | None


class DashboardPublic(BaseModel):
    """Meals are served orders (delivered, picked up or eaten at the canteen). Funder auditors
    get only `funders` (their own); the other parts are empty for them."""

    today: date
    first: date
    days: int
    meals: int
    per_day: list[CountPublic]
    by_category: list[CountPublic]
    by_site: list[CountPublic]
    funders: list[FunderSpendPublic]
    active_elders: int
    elders_served_this_week: int
    coverage_percent: float
    open_alerts_count: int
    open_alerts: list[AlertPublic]
    ratings_good: int
    ratings_total: int
    # Why meals were rated "not good": reason code (key), its English label, how many.
    rating_reasons: list[CountPublic]
    # Today's standing orders the cutoff refused with no order placed since (the orders
    # board lists them).
    refused_standing_orders: int = 0


def _numbers(session: Session, clock: Clock, staff: Staff) -> DashboardPublic:
    day = today(clock)
    if staff.role == Role.funder_auditor:
        funders = funder_spending(session=session, today=day, funder_ids={staff.funder_id or -1})
        return DashboardPublic(
            today=day,
            first=day,
            days=0,
            meals=0,
            per_day=[],
            by_category=[],
            by_site=[],
            funders=[_funder(f) for f in funders],
            active_elders=0,
            elders_served_this_week=0,
            coverage_percent=0,
            open_alerts_count=0,
            open_alerts=[],
            ratings_good=0,
            ratings_total=0,
            rating_reasons=[],
        )
    board = dashboard(session=session, today=day)
    return DashboardPublic(
        today=board.today,
        first=board.first,
        days=DAYS,
        meals=board.meals,
        per_day=[CountPublic(**vars(c)) for c in board.per_day],
        by_category=[CountPublic(**vars(c)) for c in board.by_category],
        by_site=[CountPublic(**vars(c)) for c in board.by_site],
        funders=[_funder(f) for f in board.funders],
        active_elders=board.active_elders,
        elders_served_this_week=board.elders_served_this_week,
        coverage_percent=board.coverage_bp / 100,
        open_alerts_count=len(board.open_alerts),
        open_alerts=[AlertPublic(**vars(a)) for a in board.open_alerts],
        ratings_good=board.ratings_good,
        ratings_total=board.ratings_total,
        rating_reasons=[CountPublic(**vars(c)) for c in board.rating_reasons],
        refused_standing_orders=sum(
            refused.order_id is None
            for refused in refused_standing_orders(session=session, service_date=day)
        ),
    )


def _funder(f: FunderSpend) -> FunderSpendPublic:
    return FunderSpendPublic(
        funder_id=f.funder_id,
        code=f.code,
        name_zh=f.name.zh,
        name_en=f.name.en,
        share=f.share,
        spent_fen=f.spent_fen,
        month_fen=f.month_fen,
        budget_fen=f.budget_fen,
        committed_fen=f.committed_fen,
    )


@router.get("/api/v1/dashboard", response_model=DashboardPublic)
def dashboard_json(
    staff: DashboardStaff, session: ReadSessionDep, clock: ClockDep
) -> DashboardPublic:
    """The programme's numbers: meals served per day over the last 14 days, by elder category
    and by site; subsidy per funder against budget; coverage this week; open welfare alerts."""
    return _numbers(session, clock, staff)


@router.get("/dashboard", response_class=HTMLResponse, include_in_schema=False)
def dashboard_page(
    request: Request,
    staff: DashboardStaff,
    session: ReadSessionDep,
    clock: ClockDep,
    locale: LocaleDep,
) -> HTMLResponse:
    numbers = _numbers(session, clock, staff)
    # Short day labels under the columns (14 of them must fit): 11/25.
    per_day = charts.columns(
        [
            (f"{day.month}/{day.day}", c.meals)
            for c in numbers.per_day
            for day in [date.fromisoformat(c.key)]
        ]
    )
    by_category = charts.rows(
        [(category_name(c.key, locale), c.meals) for c in numbers.by_category]
    )
    by_site = charts.rows([(c.label, c.meals) for c in numbers.by_site])
    reasons = charts.rows([(gettext(c.label, locale), c.meals) for c in numbers.rating_reasons])
    return page(
        request,
        "dashboard.html",
        {
            "numbers": numbers,
            "per_day": per_day,
            "by_category": by_category,
            "by_site": by_site,
            "reasons": reasons,
            "auditor": staff.role == Role.funder_auditor,
            "tz": request.app.state.settings.tz,
        },
    )
