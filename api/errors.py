"""Refusals and failures as people see them: JSON for the API, a page for browsers, in their
language, never a traceback."""

import logging
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel
from sqlalchemy import exc as db_errors
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.accounts.errors import LoginRequired
from api.templating import page
from billing.errors import InvalidMonth
from core import i18n
from core.db import busy
from core.errors import DomainError
from core.i18n import N_
from core.validation import invalid_input_from

log = logging.getLogger(__name__)


class ErrorPublic(BaseModel):
    """Every refusal of the JSON API: a stable code and a message in the reader's language."""

    error: str
    message: str
    field: str | None = None  # the input field the refusal is about, e.g. "categories.0.valid_to"


# For the OpenAPI schema of routes that need a login.
STAFF_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorPublic, "description": "Refused by a rule: nothing was changed"},
    401: {"model": ErrorPublic, "description": "Not logged in"},
    403: {"model": ErrorPublic, "description": "This account's role may not see this"},
    404: {"model": ErrorPublic, "description": "No such thing, or not this account's to see"},
    409: {"model": ErrorPublic, "description": "Refused by a rule: nothing was changed"},
    422: {"model": ErrorPublic, "description": "Bad input"},
}
# Every route's (the app's own `responses`).
BUSY_RESPONSE = {"model": ErrorPublic, "description": "Too busy: nothing was changed, ask again"}

# A rule's refusal that is not a conflict with what exists (e.g. a date already past).
REFUSED_RESPONSE = {"model": ErrorPublic, "description": "Refused by a rule: nothing was changed"}

NOT_FOUND = N_("This page does not exist.")
FAILED = N_("Something went wrong on our side. Please try again, or call the programme.")
REFUSED = N_("This request was refused.")
BUSY = N_("The system is busy. Nothing was saved; please try again in a moment.")


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "text/html" not in request.headers.get(
        "accept", ""
    )


def field_of(error: DomainError) -> str | None:
    """The input field a refusal is about, when it names one."""
    found = error.params.get("field_path") or error.params.get("field_code")
    return str(found) if found else None


def _respond(
    request: Request,
    status: int,
    code: str,
    message: str,
    field: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    if _wants_json(request):
        body = {"error": code, "message": message}
        if field:
            body["field"] = field
        return JSONResponse(body, status_code=status, headers=headers)
    response = page(request, "error.html", {"message": message, "status": status}, status)
    response.headers.update(headers or {})
    return response


def busy_response(request: Request, error: Exception) -> Response:
    """The database was too busy to answer (core.db.busy): the transaction was rolled back,
    so asking again later is safe."""
    log.warning("database busy on %s %s: %s", request.method, request.url.path, error)
    locale = getattr(request.state, "locale", "zh_CN")
    return _respond(request, 503, "busy", i18n.gettext(BUSY, locale), headers={"Retry-After": "5"})


def install_busy_answer(app: FastAPI) -> None:
    """A busy database met in a middleware (finding who is logged in, writing the views a
    request recorded) gets the same answer as in a route. Install it inside the language
    middleware and outside the ones that use the database."""
    app.add_middleware(BusyAnswer)


class BusyAnswer:
    """The busy answer (`busy_response`) to a busy database met by the middleware inside it,
    before any answer went out. Plain ASGI (as api.audit_log.ViewRecording)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception as error:
            if started or not busy(error):
                raise
            await busy_response(Request(scope), error)(scope, receive, send)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(request: Request, error: DomainError) -> Response:
        if isinstance(error, LoginRequired) and not _wants_json(request):
            # A page: to the login form, and back here afterwards.
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
        return _respond(
            request, error.status, error.code, error.render(request.state.locale), field_of(error)
        )

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> Response:
        problems = list(error.errors())
        field = problems[0]["loc"][-1] if problems and problems[0]["loc"] else None
        refusal = (
            InvalidMonth(value=str(problems[0].get("input", "")))
            if field == "month"  # a month has its own message: what it was and how to write it
            else invalid_input_from(problems)
        )
        return _respond(
            request, 422, refusal.code, refusal.render(request.state.locale), field_of(refusal)
        )

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> Response:
        message = NOT_FOUND if error.status_code == 404 else REFUSED
        code = "not_found" if error.status_code == 404 else "refused"
        return _respond(
            request, error.status_code, code, i18n.gettext(message, request.state.locale)
        )

    @app.exception_handler(db_errors.TimeoutError)
    @app.exception_handler(db_errors.DBAPIError)
    async def database_error(request: Request, error: Exception) -> Response:
        return busy_response(request, error) if busy(error) else await failure(request, error)

    @app.exception_handler(Exception)
    async def failure(request: Request, error: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return _respond(
            request,
            500,
            "internal_error",
            i18n.gettext(FAILED, getattr(request.state, "locale", "zh_CN")),
        )
