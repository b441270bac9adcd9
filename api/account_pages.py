"""Login, logout and changing one's password (pages), and who am I (JSON)."""

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.accounts.access import Staff
from api.accounts.errors import SessionIdle
from api.accounts.models import Role, StaffAccount, StaffPublic
from api.accounts.security import SESSION_COOKIE, set_cookie
from api.accounts.service import (
    LoginAttempt,
    NewPassword,
    PasswordChange,
    PasswordCheck,
    begin_login,
    begin_password_change,
    check_new_password,
    check_password,
    community_ids_of,
    end_session,
    finish_login,
    finish_password_change,
    public,
    start_session,
)
from api.deps import (
    ClockDep,
    CurrentStaff,
    LocaleDep,
    ReadSessionDep,
    SessionDep,
    get_database,
    password_check,
    password_check_room,
    writers_turn,
)
from api.errors import STAFF_RESPONSES
from api.templating import page
from core import audit, i18n
from core.errors import DomainError
from core.i18n import N_
from core.models import saved
from core.settings import get_settings

router = APIRouter(tags=["accounts"], responses=STAFF_RESPONSES)

PASSWORDS_DIFFER = N_("The two new passwords are not the same.")
PASSWORD_CHANGED = N_("Your password has been changed.")


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site: never another host (an open redirect would help phishing)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(c) < 32 for c in target):
        return None
    return target


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
def login_page(request: Request, locale: LocaleDep, next: str | None = None) -> HTMLResponse:
    context = {"next": _safe_next(next) or "", "username": ""}
    if request.state.session_idle:
        # This browser's session ended by the idle timeout: say so, not just "log in".
        idle = SessionIdle(minutes=get_settings().session_idle_minutes)
        context["notice"] = idle.render(locale)
    return page(request, "login.html", context)


@router.post("/login", response_class=HTMLResponse, include_in_schema=False)
async def login(
    request: Request,
    clock: ClockDep,
    locale: LocaleDep,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Check the password; on success start a session and go where the person was going. The
    attempt is counted in one short transaction, the password checked holding nothing (Argon2
    takes a tenth of a second, while SQLite lets one transaction write at a time), and the
    session started in another."""
    database = get_database(request)
    ip = request.client.host if request.client else "unknown"

    def begin() -> LoginAttempt:
        with database.transaction() as session:
            return begin_login(session=session, clock=clock, username=username, ip=ip)

    def finish(attempt: LoginAttempt, check: PasswordCheck) -> tuple[StaffAccount, str]:
        with database.transaction() as session:
            account = finish_login(session=session, attempt=attempt, check=check)
            token = start_session(session=session, clock=clock, account=account)
            audit.record(
                session=session,
                clock=clock,
                actor=f"staff:{account.username}",
                action="login",
                subject=f"staff:{account.username}",
                detail=account.role,
            )
            return account, token

    try:
        password_check_room(request)
        async with writers_turn(request):
            attempt = await run_in_threadpool(begin)
        check = await password_check(request, check_password, attempt, password)
        async with writers_turn(request):
            account, token = await run_in_threadpool(finish, attempt, check)
    except DomainError as refusal:
        refused = page(
            request,
            "login.html",
            {"error": refusal.render(locale), "username": username[:32], "next": next},
            refusal.status,
        )
        if refusal.status == 503:
            refused.headers["Retry-After"] = "5"
        return refused
    home = Staff(
        id=saved(account.id),
        username=account.username,
        display_name=account.display_name,
        role=Role(account.role),
        kitchen_id=account.kitchen_id,
    ).home
    response = RedirectResponse(_safe_next(next) or home, status_code=303)
    set_cookie(response, SESSION_COOKIE, token, max_age=get_settings().session_hours * 3600)
    return response


@router.post("/logout", include_in_schema=False)
def logout(request: Request, session: SessionDep) -> RedirectResponse:
    token = request.state.session_token
    if token:
        end_session(session=session, token=token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/account/password", response_class=HTMLResponse, include_in_schema=False)
def password_page(request: Request, staff: CurrentStaff) -> HTMLResponse:
    return page(request, "password.html", {})


@router.post("/account/password", response_class=HTMLResponse, include_in_schema=False)
async def password_change(
    request: Request,
    staff: CurrentStaff,
    clock: ClockDep,
    locale: LocaleDep,
    current_password: Annotated[str, Form(max_length=200)] = "",
    new_password: Annotated[str, Form(max_length=500)] = "",
    new_password_again: Annotated[str, Form(max_length=500)] = "",
) -> HTMLResponse:
    """Like a login: the attempt counted in one short transaction, the passwords checked and
    hashed holding nothing, the change made in another."""
    if new_password != new_password_again:
        return page(
            request, "password.html", {"error": i18n.gettext(PASSWORDS_DIFFER, locale)}, 422
        )
    database = get_database(request)

    def begin() -> PasswordChange:
        with database.transaction() as session:
            return begin_password_change(
                session=session,
                clock=clock,
                account_id=staff.id,
                new_password=new_password,
                ip=request.client.host if request.client else "unknown",
            )

    def finish(change: PasswordChange, checked: NewPassword) -> None:
        with database.transaction() as session:
            finish_password_change(
                session=session,
                clock=clock,
                change=change,
                checked=checked,
                keep_token=request.state.session_token,
            )
            audit.record(
                session=session,
                clock=clock,
                actor=staff.actor,
                action="change_password",
                subject=staff.actor,
            )

    try:
        password_check_room(request)
        async with writers_turn(request):
            change = await run_in_threadpool(begin)
        checked = await password_check(
            request, check_new_password, change, current_password, new_password
        )
        async with writers_turn(request):
            await run_in_threadpool(finish, change, checked)
    except DomainError as refusal:
        return page(request, "password.html", {"error": refusal.render(locale)}, refusal.status)
    return page(request, "password.html", {"done": i18n.gettext(PASSWORD_CHANGED, locale)})


@router.get("/api/v1/me", response_model=StaffPublic)
def me(staff: CurrentStaff, session: ReadSessionDep) -> StaffPublic:
    """The logged-in account: its role and what it is linked to."""
    account = session.get_one(StaffAccount, staff.id)
    return public(account, community_ids_of(session=session, account_id=staff.id))
