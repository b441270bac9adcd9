"""The staff pages under their Content-Security-Policy in a real browser: every main page is
styled and works with nothing refused, and markup slipped into a page can neither run a
script nor style itself (api/security_headers.py). The `browser` fixture fails any page test
whose pages the policy refused something on (tests/e2e/conftest.py)."""

from datetime import datetime

import pytest
from fastapi.responses import HTMLResponse

from core.clock import FixedClock
from tests.apps import web_app
from tests.conftest import SHANGHAI
from tests.e2e.browser import log_in, needs_chromium, serving
from tests.factories import Factory, kitchen_with_route, make_staff

pytestmark = needs_chromium

INJECTED = (
    "<!doctype html><html><head><title>before</title>"
    '<link rel="stylesheet" href="/static/style.css">'
    "<style>body { background: rgb(255, 0, 0) }</style></head>"
    '<body><p id="p" style="color: rgb(0, 255, 0)">x</p>'
    "<script>document.title = 'ran'</script></body></html>"
)


@pytest.fixture
def admin_server(empty_database):
    clock = FixedClock(datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI))
    with empty_database.transaction() as session:
        make = Factory(session, clock)
        route_id, _ = kitchen_with_route(make, elders=2, rider="骑手戊")
        from routing.records import DeliveryRoute

        kitchen_id = session.get(DeliveryRoute, route_id).kitchen_id
        admin = make_staff(make, "admin").username
    clock.set(datetime(2026, 11, 25, 10, 45, tzinfo=SHANGHAI))
    app = web_app(database=empty_database, clock=clock)

    @app.get("/probe/injected", include_in_schema=False)
    def injected() -> HTMLResponse:
        return HTMLResponse(INJECTED)

    with serving(app) as base:
        yield base, admin, kitchen_id, route_id


PAGES = [
    "/",
    "/orders",
    "/dashboard",
    "/counter",
    "/elders",
    "/elders/new",
    "/welfare",
    "/kitchens/{kitchen}/production",
    "/rider",
    "/rider/routes/{route}",
    "/admin/menus",
    "/admin/dishes",
    "/settlement?month=2026-11",
    "/admin/audit",
    "/account/password",
    "/no-such-page",
]


def test_the_main_pages_are_styled_and_nothing_is_refused(admin_server, browser):
    base, admin, kitchen_id, route_id = admin_server
    page = browser.new_context(locale="en", viewport={"width": 1100, "height": 900}).new_page()
    page.goto(f"{base}/login")
    log_in(page, admin)
    for path in PAGES:
        response = page.goto(base + path.format(kitchen=kitchen_id, route=route_id))
        assert response.status == (404 if path == "/no-such-page" else 200), path
        assert "content-security-policy" in response.headers, path
        # The style sheet applied: the header bar is laid out by style.css, not the default.
        assert page.locator("header.top").evaluate("e => getComputedStyle(e).display") == "flex"
    assert browser.csp_refusals == []


def test_markup_slipped_into_a_page_neither_runs_nor_styles_itself(admin_server, browser):
    base = admin_server[0]
    page = browser.new_page()
    page.goto(f"{base}/probe/injected")
    page.wait_for_load_state("load")
    assert page.title() == "before"  # the inline script did not run
    body = page.locator("body").evaluate("e => getComputedStyle(e).backgroundColor")
    assert body != "rgb(255, 0, 0)"
    assert page.locator("#p").evaluate("e => getComputedStyle(e).color") != "rgb(0, 255, 0)"
    # ... and the browser said so, which is what fails every other page test.
    refused = " ".join(browser.csp_refusals)
    assert "script-src" in refused or "default-src" in refused
    assert "style-src" in refused
    browser.csp_refusals.clear()
