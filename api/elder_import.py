"""The admin brings in a district's elder list: an upload page with a dry run (every problem
by row and column, in the reader's language), then the import, or the import of the clean rows
alone; the template to fill in (XLSX or CSV, Chinese or English headers); JSON twins. The
server keeps no copy of an uploaded file (it holds ID numbers in clear): to import after a
dry run the page sends the file again."""

from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, Field
from sqlmodel import Session

from api.accounts.access import Staff
from api.deps import AdminStaff, ClockDep, LocaleDep, ReadSessionDep, SessionDep
from api.errors import STAFF_RESPONSES, ErrorPublic
from api.templating import page
from core import i18n
from core.clock import Clock
from core.errors import DomainError
from core.i18n import N_
from core.settings import Settings
from core.sites import list_communities
from usecases.elder_import import (
    MAX_BYTES,
    ImportResult,
    check_elder_file,
    import_elders,
    import_locator,
    template_csv,
    template_xlsx,
)

router = APIRouter(tags=["elders"], responses=STAFF_RESPONSES)

TOO_BIG = N_("This file is larger than {size} MB: split it into smaller files.")
NO_FILE = N_("Please choose the file to import.")
CHECKED_CLEAN = N_(
    "The file has no problems: {rows} rows are ready to import. Nothing was written yet."
)
CHECKED_PROBLEMS = N_(
    "{bad} of {rows} rows have problems, listed below. Nothing was written. Correct the file "
    "and check it again, or import only the {clean} clean rows."
)
IMPORTED = N_(
    "Imported. New elders: {created}, updated: {updated}, unchanged: {unchanged}, rows with "
    "problems left out: {skipped}."
)
REFUSED = N_(
    "Nothing was imported: the file has problems, listed below. Correct it, or import only "
    "the clean rows."
)
CHOOSE_AGAIN = N_(
    "To import, choose the same file again (the server keeps no copy of it: it holds ID "
    "numbers) and press Import."
)


class ImportProblemPublic(BaseModel):
    row: int = Field(description="The spreadsheet's row (the header is row 1; 0: the file)")
    column: str = Field(description="The column as the file names it")
    message: str = Field(description="What is wrong, in the reader's language")


class ImportPublic(BaseModel):
    rows: int
    clean_rows: int
    written: bool = Field(description="Whether anything was written")
    created: int
    updated: int
    unchanged: int
    skipped: int = Field(description="Rows left out for their problems (only_clean)")
    problems: list[ImportProblemPublic]


def _public(result: ImportResult, locale: str) -> ImportPublic:
    return ImportPublic(
        rows=result.rows,
        clean_rows=result.clean_rows,
        written=result.written,
        created=result.created,
        updated=result.updated,
        unchanged=result.unchanged,
        skipped=result.skipped,
        problems=[
            ImportProblemPublic(row=p.row, column=p.column, message=p.render(locale))
            for p in result.problems
        ],
    )


class FileTooLarge(DomainError):
    code = "file_too_large"
    message = TOO_BIG
    status = 413


def _content(upload: UploadFile) -> bytes:
    data = upload.file.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise FileTooLarge(size=MAX_BYTES // (1024 * 1024))
    return data


def _run(
    session: Session,
    clock: Clock,
    staff: Staff,
    content: bytes,
    filename: str,
    *,
    dry_run: bool,
    only_clean: bool,
    settings: Settings,
) -> ImportResult:
    if dry_run:
        return check_elder_file(session=session, clock=clock, content=content, filename=filename)
    return import_elders(
        session=session,
        clock=clock,
        actor=staff.actor,
        content=content,
        filename=filename,
        only_clean=only_clean,
        locator=import_locator(settings),
    )


# -- JSON ------------------------------------------------------------------------------------


@router.post(
    "/api/v1/elders/import",
    response_model=ImportPublic,
    responses={
        409: {"model": ErrorPublic, "description": "A row was refused while writing"},
        413: {"model": ErrorPublic, "description": "The file is too large"},
        422: {
            "model": ImportPublic,
            "description": "The file has problems: nothing was written",
        },
    },
)
def import_json(
    request: Request,
    file: Annotated[UploadFile, File(description="The elder list: .xlsx or .csv")],
    staff: AdminStaff,
    session: SessionDep,
    clock: ClockDep,
    locale: LocaleDep,
    dry_run: Annotated[bool, Query(description="Check only; write nothing")] = False,
    only_clean: Annotated[
        bool, Query(description="Import the rows without problems, leave the others")
    ] = False,
) -> ImportPublic | JSONResponse:
    """Import elders from a district's list (Chinese or English headers; an elder found again
    by her ID number is updated, never registered twice). With problems nothing is written
    (422, every problem by row and column) unless `only_clean`; `dry_run` only checks."""
    result = _run(
        session,
        clock,
        staff,
        _content(file),
        file.filename or "",
        dry_run=dry_run,
        only_clean=only_clean,
        settings=request.app.state.settings,
    )
    body = _public(result, locale)
    if not dry_run and not result.written:
        return JSONResponse(body.model_dump(), status_code=422)
    return body


@router.get(
    "/api/v1/elders/import-template",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def template_json(
    staff: AdminStaff,
    locale: LocaleDep,
    format: Annotated[Literal["xlsx", "csv"], Query(description="xlsx or csv")] = "xlsx",
    headers: Annotated[
        Literal["zh_CN", "en"] | None,
        Query(description="The headers' language (default: the reader's)"),
    ] = None,
) -> Response:
    """The template to fill in: the headers, one example row, and (XLSX) the words each
    column takes."""
    # Not `lang`: that would also switch the reader's pages to the template's language.
    language = headers or locale
    if format == "csv":
        content, media = template_csv(locale=language), "text/csv; charset=utf-8"
    else:
        content = template_xlsx(locale=language)
        media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    name = f"elders-template-{language}.{format}"
    return Response(
        content, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


# -- the page --------------------------------------------------------------------------------


def _import_page(
    request: Request,
    session: Session,
    result: ImportResult | None = None,
    status_code: int = 200,
    **context: object,
) -> Response:
    shown: Response = page(
        request,
        "elder_import.html",
        {"result": result, "communities": list_communities(session=session), **context},
        status_code=status_code,
    )
    return shown


@router.get("/elders/import", response_class=HTMLResponse, include_in_schema=False)
def import_page(request: Request, staff: AdminStaff, session: ReadSessionDep) -> Response:
    return _import_page(request, session)


@router.post("/elders/import", response_class=HTMLResponse, include_in_schema=False)
def import_submitted(
    request: Request,
    staff: AdminStaff,
    session: SessionDep,
    clock: ClockDep,
    locale: LocaleDep,
    file: Annotated[UploadFile | None, File()] = None,
    action: Annotated[str, Form()] = "check",
    only_clean: Annotated[str | None, Form()] = None,
) -> Response:
    """Check the file (nothing written) or import it; either way the page lists every problem
    by row and column."""
    if file is None or not file.filename:
        return _import_page(request, session, error=i18n.gettext(NO_FILE, locale), status_code=422)
    try:
        content = _content(file)
        dry_run = action != "import"
        result = _run(
            session,
            clock,
            staff,
            content,
            file.filename,
            dry_run=dry_run,
            only_clean=bool(only_clean),
            settings=request.app.state.settings,
        )
    except DomainError as refusal:
        session.rollback()
        return _import_page(
            request, session, error=refusal.render(locale), status_code=refusal.status
        )
    values = {
        "rows": result.rows,
        "clean": result.clean_rows,
        "bad": result.rows_with_problems,
        "created": result.created,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "skipped": result.skipped,
    }
    if dry_run:
        message = CHECKED_PROBLEMS if result.problems else CHECKED_CLEAN
    else:
        message = IMPORTED if result.written else REFUSED
    return _import_page(
        request,
        session,
        result,
        filename=file.filename,
        checked=dry_run,
        notice=i18n.render(message, locale, values),
        again=i18n.gettext(CHOOSE_AGAIN, locale) if dry_run and result.clean_rows else "",
        problems=[(p.row, p.column, p.render(locale)) for p in result.problems],
        status_code=422 if (not dry_run and not result.written) else 200,
    )
