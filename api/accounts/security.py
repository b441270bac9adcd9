"""Session cookies and CSRF protection for every request.

The session cookie holds a random token (HttpOnly, SameSite=Lax, Secure over HTTPS); the
account behind it is looked up in `staff_session` on each request. Every form carries a CSRF
token derived with HMAC from the session token (or, before login, from a random visitor
cookie), so it is bound to this browser's session and a page on another site cannot forge it;
every POST, PUT, PATCH and DELETE must send it back, as the `csrf_token` form field or the
`X-CSRF-Token` header."""

import hashlib
import hmac
import secrets

from fastapi import FastAPI, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.accounts.access import Staff
from api.accounts.errors import CsrfRefused
from api.accounts.models import Role
from api.accounts.service import community_ids_of, find_session, site_ids_of
from core.models import saved
from core.settings import get_settings

SESSION_COOKIE = "mealaid_session"
VISITOR_COOKIE = "mealaid_visitor"
CSRF_FIELD = "csrf_token"
TELEGRAM_WEBHOOK = "/telegram/webhook"
CSRF_HEADER = "x-csrf-token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def csrf_token_for(binding: str) -> str:
    secret = get_settings().secret_key.encode()
    return hmac.new(secret, f"csrf:{binding}".encode(), hashlib.sha256).hexdigest()


def csrf_token(request: Request) -> str:
    """The token this browser's forms must carry."""
    return csrf_token_for(request.state.csrf_binding)


def set_cookie(response: Response, name: str, value: str, max_age: int | None) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=get_settings().secure_cookies,
        path="/",
    )


def _staff_for(request: Request, token: str) -> tuple[Staff | None, bool, bool]:
    """Who this session is (None: nobody), whether it ended by the idle timeout, and whether
    this request is to be written down as its last."""
    database = request.app.state.database
    with database.reading() as session:
        found = find_session(session=session, clock=request.app.state.clock, token=token)
        account = found.account
        if account is None:
            return None, found.idle, False
        account_id = saved(account.id)
        staff = Staff(
            id=account_id,
            username=account.username,
            display_name=account.display_name or account.username,
            role=Role(account.role),
            rider_id=account.rider_id,
            funder_id=account.funder_id,
            kitchen_id=account.kitchen_id,
            # Only a community worker's communities decide what they see (access.elder_scope).
            community_ids=frozenset(community_ids_of(session=session, account_id=account_id))
            if account.role == Role.community_worker
            else frozenset(),
            site_ids=frozenset(site_ids_of(session=session, account_id=account_id))
            if account.role == Role.canteen
            else frozenset(),
        )
        return staff, False, found.touch


def install_session_middleware(app: FastAPI) -> None:
    app.add_middleware(WhoIsAsking)


class WhoIsAsking:
    """Finds the logged-in member of staff (if any) and this browser's CSRF binding. Plain
    ASGI (as api.audit_log.ViewRecording)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        token = request.cookies.get(SESSION_COOKIE)
        visitor = request.cookies.get(VISITOR_COOKIE)
        new_visitor = None
        request.state.session_token = token
        staff, idle, touch = (
            await run_in_threadpool(_staff_for, request, token) if token else (None, False, False)
        )
        request.state.staff, request.state.session_idle = staff, idle
        # Written with the views this request records (api.audit_log.install_view_recording).
        request.state.touch_session = token if touch else None
        if token:
            request.state.csrf_binding = token
        else:
            if not visitor:
                visitor = new_visitor = secrets.token_urlsafe(24)
            request.state.csrf_binding = visitor
        if new_visitor is None:
            await self.app(scope, receive, send)
            return
        cookie = Response()
        set_cookie(cookie, VISITOR_COOKIE, new_visitor, max_age=None)

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in cookie.raw_headers:
                    if name == b"set-cookie":
                        headers.append("set-cookie", value.decode("latin-1"))
            await send(message)

        await self.app(scope, receive, send_with_cookie)


async def verify_csrf(request: Request) -> None:
    """On every state-changing request: the CSRF token must match this browser's session.
    Runs before the route's own dependencies, so a refused request writes nothing."""
    if request.method not in UNSAFE_METHODS:
        return
    if request.url.path == TELEGRAM_WEBHOOK:
        return  # no browser posts here: Telegram does, with its own secret (api/telegram.py)
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(FORM_TYPES):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not sent or not hmac.compare_digest(sent, csrf_token(request)):
        raise CsrfRefused()
