"""Monthly settlement pages and API: the month's statements for the programme admin, one
funder's statement for its auditors, and a download for each settlement file."""

import shutil
import tempfile
from datetime import date
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, HTMLResponse
from pydantic import BaseModel, Field
from sqlmodel import Session
from starlette.background import BackgroundTask

from api.accounts.access import Staff, may_see_funder
from api.accounts.errors import AccessDenied
from api.audit_log import record_view
from api.deps import AdminStaff, ClockDep, LocaleDep, ReadSessionDep, SessionDep, StatementStaff
from api.errors import STAFF_RESPONSES
from api.templating import page
from billing.errors import FunderNotFound, SettlementFileNotFound
from billing.exports import (
    MEDIA_TYPES,
    meal_file_names,
    settlement_file,
    settlement_file_names,
    statement_file,
    statement_file_names,
)
from billing.models import ReviewStatus, Share
from billing.settlement import (
    FunderStatement,
    flag_anomalies,
    fund_reports,
    funder_statements,
    month_range,
)
from core import audit
from core.clock import Clock, today
from core.types import RowId

# A month in the JSON API: 2026-11. (The pages take anything and say what is wrong with it.)
MONTH_PATTERN = r"^(19|20)[0-9]{2}-(0[1-9]|1[0-2])$"
MonthQuery = Annotated[str | None, Query(pattern=MONTH_PATTERN, examples=["2026-11"])]
MonthPath = Annotated[str, PathParam(pattern=MONTH_PATTERN, examples=["2026-11"])]

router = APIRouter(tags=["settlement"], responses=STAFF_RESPONSES)

FILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {media: {} for media in MEDIA_TYPES.values()}},
    404: {"description": "No such file for this month"},
}


class StatementLinePublic(BaseModel):
    category: str
    site_id: RowId
    site: str
    meals: int  # orders
    amount_fen: int
    portions: int  # portions of those orders: an order of two portions is two meals eaten


class StatementSummaryPublic(BaseModel):
    funder_id: RowId
    code: str
    name_zh: str
    name_en: str
    share: Share
    meals: int
    total_fen: int


class FunderStatementPublic(StatementSummaryPublic):
    month: str
    first: date
    last: date
    lines: list[StatementLinePublic]
    files: list[str]
    # The statement meal by meal (date, site, elder number and ID card tail, category, order,
    # amount): the lines an auditor samples from. This answer, like the page, is by category
    # and site and names no elder.
    meal_files: list[str] = Field(
        description="The statement meal by meal (date, meal, site, elder no., the last four "
        "characters of her ID card, category, order, the funder's part), as CSV and XLSX"
    )


class FundBudgetPublic(BaseModel):
    fund_id: RowId
    code: str
    name_zh: str
    name_en: str
    # The budget of the period the month falls in: "2026-11", "2026", or "all" (no renewal).
    period: str
    meals: int
    portions: int
    budget_fen: int
    spent_fen: int
    committed_fen: int
    left_fen: int


class SettlementPublic(BaseModel):
    month: str
    first: date
    last: date
    statements: list[StatementSummaryPublic]
    total_fen: int
    held_for_review: int
    funds: list[FundBudgetPublic]
    files: list[str]


def _month(month: str | None, clock: Clock) -> str:
    return month or today(clock).strftime("%Y-%m")


def _summary(statement: FunderStatement) -> StatementSummaryPublic:
    return StatementSummaryPublic(
        funder_id=statement.funder_id,
        code=statement.code,
        name_zh=statement.name.zh,
        name_en=statement.name.en,
        share=statement.share,
        meals=statement.meals,
        total_fen=statement.total_fen,
    )


def _settlement(session: Session, clock: Clock, month: str) -> SettlementPublic:
    first, last = month_range(month)
    # The anomaly checks run before any claim is shown, as `mealaid settle` runs them; running
    # them again only adds what is new, and decisions already taken stay.
    reviews = flag_anomalies(session=session, clock=clock, first=first, last=last)
    statements = [_summary(s) for s in funder_statements(session=session, first=first, last=last)]
    return SettlementPublic(
        month=month,
        first=first,
        last=last,
        statements=statements,
        total_fen=sum(s.total_fen for s in statements),
        held_for_review=len(
            {r.order_id for r in reviews if r.status != ReviewStatus.approved.value}
        ),
        funds=[
            FundBudgetPublic(
                fund_id=report.fund_id,
                code=report.code,
                name_zh=report.name.zh,
                name_en=report.name.en,
                period=report.period,
                meals=report.meals,
                portions=report.portions,
                budget_fen=report.budget_fen,
                spent_fen=report.spent_fen,
                committed_fen=report.committed_fen,
                left_fen=report.budget_fen - report.committed_fen,
            )
            for report in fund_reports(session=session, first=first, last=last)
        ],
        files=settlement_file_names(session=session),
    )


def _funder_statement(
    session: Session, staff: Staff, funder_id: RowId, month: str
) -> tuple[FunderStatement, date, date]:
    """The funder's statement of the month, if this member of staff may see it."""
    if not may_see_funder(staff, funder_id):
        raise AccessDenied()
    first, last = month_range(month)
    for statement in funder_statements(session=session, first=first, last=last):
        if statement.funder_id == funder_id:
            return statement, first, last
    raise FunderNotFound()


def _statement_public(
    statement: FunderStatement, month: str, first: date, last: date
) -> FunderStatementPublic:
    return FunderStatementPublic(
        **_summary(statement).model_dump(),
        month=month,
        first=first,
        last=last,
        lines=[StatementLinePublic(**vars(line)) for line in statement.lines],
        files=statement_file_names(statement.code),
        meal_files=meal_file_names(statement.code),
    )


def _record_statement(
    request: Request, staff: Staff, funder_id: RowId, month: str, what: str
) -> None:
    record_view(
        request,
        actor=staff.actor,
        action=what,
        subject=f"funder:{funder_id}",
        detail=month,
    )


def _record_month(
    session: Session, clock: Clock, staff: Staff, action: str, month: str, detail: str = ""
) -> None:
    """In the request's own transaction: it already holds the write lock (the anomaly checks
    write their flags), so a second transaction would wait for it on SQLite."""
    audit.record(
        session=session,
        clock=clock,
        actor=staff.actor,
        action=action,
        subject=f"settlement:{month}",
        detail=detail,
    )


def _download(path: Path, folder: Path) -> FileResponse:
    return FileResponse(
        path,
        filename=path.name,
        media_type=MEDIA_TYPES[path.suffix.lstrip(".")],
        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
    )


# -- the month, for the programme admin ------------------------------------------------------


@router.get("/api/v1/settlement", response_model=SettlementPublic)
def settlement_json(
    request: Request,
    staff: AdminStaff,
    session: SessionDep,
    clock: ClockDep,
    month: MonthQuery = None,
) -> SettlementPublic:
    """The month's statement per funder, meals held for review and fund budgets left
    (default: this month). Runs the anomaly checks first, as `mealaid settle` does."""
    settlement = _settlement(session, clock, _month(month, clock))
    _record_month(session, clock, staff, "view_settlement", settlement.month)
    return settlement


@router.get("/settlement", response_class=HTMLResponse, include_in_schema=False)
def settlement_page(
    request: Request,
    staff: AdminStaff,
    session: SessionDep,
    clock: ClockDep,
    month: str | None = None,
) -> HTMLResponse:
    settlement = _settlement(session, clock, _month(month, clock))
    _record_month(session, clock, staff, "view_settlement", settlement.month)
    return page(request, "settlement.html", {"settlement": settlement})


@router.get(
    "/api/v1/settlement/{month}/files/{name}",
    response_class=FileResponse,
    responses=FILE_RESPONSES,
)
def settlement_download(
    request: Request,
    month: MonthPath,
    name: str,
    staff: AdminStaff,
    session: SessionDep,
    clock: ClockDep,
    locale: LocaleDep,
) -> FileResponse:
    """One of the month's files: statements, fund reports, claims, meals held for review,
    the elders' bills (CSV, XLSX, PDF). The same month gives the same bytes every time."""
    first, last = month_range(month)
    if name not in settlement_file_names(session=session):
        raise SettlementFileNotFound(name=name)
    reviews = flag_anomalies(session=session, clock=clock, first=first, last=last)
    folder = Path(tempfile.mkdtemp(prefix="mealaid-settlement-"))
    try:
        path = settlement_file(
            session=session,
            month=month,
            first=first,
            last=last,
            folder=folder,
            locale=locale,
            reviews=reviews,
            name=name,
        )
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    # The bills and the held meals name elders: who downloaded what is recorded.
    _record_month(session, clock, staff, "download_settlement_file", month, name)
    return _download(path, folder)


# -- one funder's statement, for the admin and that funder's auditors --------------------------


@router.get(
    "/api/v1/funders/{funder_id}/statements",
    response_model=FunderStatementPublic,
    responses={404: {"description": "No such funder"}},
)
def statement_json(
    request: Request,
    funder_id: RowId,
    staff: StatementStaff,
    session: ReadSessionDep,
    clock: ClockDep,
    month: MonthQuery = None,
) -> FunderStatementPublic:
    """One funder's statement of the month (default: this month): meals and amounts by elder
    category and site. A funder auditor sees only its own funder's."""
    month = _month(month, clock)
    statement, first, last = _funder_statement(session, staff, funder_id, month)
    _record_statement(request, staff, funder_id, month, "view_statement")
    return _statement_public(statement, month, first, last)


@router.get("/funders/{funder_id}/statements", response_class=HTMLResponse, include_in_schema=False)
def statement_page(
    request: Request,
    funder_id: RowId,
    staff: StatementStaff,
    session: ReadSessionDep,
    clock: ClockDep,
    month: str | None = None,
) -> HTMLResponse:
    month = _month(month, clock)
    statement, first, last = _funder_statement(session, staff, funder_id, month)
    _record_statement(request, staff, funder_id, month, "view_statement")
    return page(
        request, "statement.html", {"statement": _statement_public(statement, month, first, last)}
    )


@router.get(
    "/api/v1/funders/{funder_id}/statements/{month}/files/{name}",
    response_class=FileResponse,
    responses=FILE_RESPONSES,
)
def statement_download(
    request: Request,
    funder_id: RowId,
    month: MonthPath,
    name: str,
    staff: StatementStaff,
    session: ReadSessionDep,
    locale: LocaleDep,
) -> FileResponse:
    """The funder's statement as CSV, XLSX or PDF, and meal by meal as CSV or XLSX; only that
    funder's own files."""
    statement, first, last = _funder_statement(session, staff, funder_id, month)
    if name not in statement_file_names(statement.code) + meal_file_names(statement.code):
        raise SettlementFileNotFound(name=name)
    folder = Path(tempfile.mkdtemp(prefix="mealaid-statement-"))
    try:
        path = statement_file(
            statement,
            session=session,
            month=month,
            first=first,
            last=last,
            folder=folder,
            locale=locale,
            name=name,
        )
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    _record_statement(request, staff, funder_id, month, "download_statement")
    return _download(path, folder)
