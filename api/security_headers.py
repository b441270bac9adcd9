"""Security headers on every answer of the web app: what a browser may load and run on our
pages, that no other site frames them, that no type is sniffed, that no Referer leaves them,
that nothing with personal data or a key is kept in a cache, and HTTPS only (production)."""

import base64
import hashlib
import re

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The staff pages and the rider's page have no inline script or style: our own style sheet,
# our own script files (the counter keeps marks made without a connection and sends them
# later: api/static/counter.js) that talk only to us, forms posted to ourselves and SVG drawn
# inline. Everything else is refused, so markup slipped into a page (a name, a note) can
# neither run nor load nor send anything.
PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; "
    "img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
# FastAPI's API documentation loads Swagger UI and ReDoc from their CDN and starts them with an
# inline script: that script is allowed by its hash (computed from the page as sent, so it
# follows FastAPI's markup), never by 'unsafe-inline'. They hold no personal data.
DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc"})
DOCS_POLICY = (
    "default-src 'none'; script-src https://cdn.jsdelivr.net {hashes}; "
    "style-src https://cdn.jsdelivr.net https://fonts.googleapis.com 'unsafe-inline'; "
    "font-src https://fonts.gstatic.com; img-src 'self' data: https://fastapi.tiangolo.com "
    "https://cdn.redoc.ly; connect-src 'self'; worker-src blob:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.S)
# A year; subdomains are left to the operator (other services may share the domain).
HSTS = "max-age=31536000"

COMMON = {
    "X-Content-Type-Options": "nosniff",
    # For browsers that do not know frame-ancestors.
    "X-Frame-Options": "DENY",
    # A rider's link carries its key in the query string: no request from a page (to the style
    # sheet, to a map app) may say which page it came from, nor may a proxy log it so.
    "Referrer-Policy": "no-referrer",
}


def _is_static(path: str) -> bool:
    return path.startswith("/static/")


def _script_hashes(body: bytes) -> str:
    return " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(script).digest()).decode()}'"
        for script in INLINE_SCRIPT.findall(body)
    )


class SecurityHeaders:
    """Adds the headers to every HTTP answer. It wraps the whole app, Starlette's handler of
    unexpected errors included, so a 500 carries them too (api.app.MealAidAPI)."""

    def __init__(self, app: ASGIApp, *, production: bool) -> None:
        self.app = app
        self.production = production

    def _add(self, message: Message, path: str, policy: str) -> None:
        headers = MutableHeaders(scope=message)
        for name, value in COMMON.items():
            headers[name] = value
        headers["Content-Security-Policy"] = policy
        if not _is_static(path):
            # Pages, JSON and downloads name elders, addresses and phones, or carry a key:
            # never kept by the browser or a proxy. Static files keep their validators.
            headers["Cache-Control"] = "no-store"
        if self.production:
            headers["Strict-Transport-Security"] = HSTS

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if path in DOCS_PATHS:
            await self._documentation(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                self._add(message, path, PAGE_POLICY)
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _documentation(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The documentation page whole (a few kilobytes), so its policy can name the hashes
        of the scripts it carries before the headers go."""
        start: Message | None = None
        body = bytearray()

        async def collect(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            body.extend(message.get("body", b""))
            if message.get("more_body", False):
                return
            assert start is not None
            policy = DOCS_POLICY.format(hashes=_script_hashes(bytes(body)))
            self._add(start, scope["path"], policy)
            await send(start)
            await send({"type": "http.response.body", "body": bytes(body)})

        await self.app(scope, receive, collect)
