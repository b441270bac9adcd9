"""Who may open what. The role matrix names every route of the app with the roles it lets in,
so a new route without a decision fails here; each cell is then tried for real. Then the
object-level rules: a rider's own route, a kitchen's own lists, a funder's own statements, a
community worker's own elders."""

import re
from datetime import datetime

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlmodel import select

from api.accounts.access import (
    Staff,
    may_see_elder,
    may_see_funder,
    may_see_kitchen,
    may_see_route,
)
from api.accounts.models import Role
from api.accounts.security import SESSION_COOKIE, csrf_token_for
from api.accounts.service import start_session
from billing.models import Funder
from core.clock import FixedClock
from core.models import Elder, ElderLink, ElderPause, EmergencyContact, Order, WelfareAlert
from core.types import OrderStatus
from routing.records import DeliveryRoute
from tests.apps import web_app
from tests.conftest import SHANGHAI
from tests.factories import (
    PASSWORD,
    WELFARE_LINE,
    Factory,
    csrf_from,
    kitchen_with_route,
    make_staff,
    route_key,
)

ROLES = [None, *Role]  # None: nobody logged in

OK, LOGIN, DENIED = "ok", "login", "denied"


def public() -> dict:
    return dict.fromkeys(ROLES, OK)


def staff_only() -> dict:
    return {role: LOGIN if role is None else OK for role in ROLES}


def only(*allowed: Role) -> dict:
    return {role: LOGIN if role is None else OK if role in allowed else DENIED for role in ROLES}


OVERVIEW = (Role.admin, Role.kitchen, Role.community_worker, Role.funder_auditor)
REGISTRY = (Role.admin, Role.community_worker)  # a worker: only their communities' elders
STATEMENTS = (Role.admin, Role.funder_auditor)  # an auditor: only its own funder's
BOARD = (Role.admin, Role.kitchen, Role.community_worker)
PHONE_IN = (Role.admin, Role.community_worker)
COUNTER = (Role.admin, Role.canteen)

# (method, path) -> role -> outcome. Every route of the app must be here.
MATRIX = {
    ("GET", "/openapi.json"): public(),
    ("GET", "/docs"): public(),
    ("GET", "/docs/oauth2-redirect"): public(),
    ("GET", "/redoc"): public(),
    ("GET", "/static"): public(),
    ("GET", "/healthz"): public(),
    ("GET", "/login"): public(),
    ("POST", "/login"): public(),
    ("POST", "/logout"): public(),
    ("GET", "/account/password"): staff_only(),
    ("POST", "/account/password"): staff_only(),
    ("GET", "/api/v1/me"): staff_only(),
    ("GET", "/api/v1/audit"): only(Role.admin),
    ("GET", "/admin/audit"): only(Role.admin),
    ("GET", "/api/v1/overview"): only(*OVERVIEW),
    ("GET", "/"): only(*OVERVIEW),
    ("GET", "/api/v1/kitchens/{kitchen_id}/production"): only(Role.admin, Role.kitchen),
    ("GET", "/api/v1/kitchens/{kitchen_id}/files/{name}"): only(Role.admin, Role.kitchen),
    ("GET", "/kitchens/{kitchen_id}/production"): only(Role.admin, Role.kitchen),
    ("GET", "/api/v1/routes/{route_id}"): only(Role.admin, Role.rider),
    ("POST", "/api/v1/routes/{route_id}/dropout"): only(Role.admin, Role.kitchen),
    ("GET", "/api/v1/routes/{route_id}/sheet.pdf"): only(Role.admin, Role.rider),
    ("GET", "/rider/routes/{route_id}"): only(Role.admin, Role.rider),
    ("POST", "/rider/routes/{route_id}/stops/{order_id}"): only(Role.admin, Role.rider),
    ("GET", "/rider/orders/{order_id}"): only(Role.admin, Role.rider),
    ("POST", "/rider/orders/{order_id}"): only(Role.admin, Role.rider),
    ("POST", "/rider/routes/{route_id}/stops/{order_id}/undo"): only(Role.admin, Role.rider),
    ("POST", "/rider/orders/{order_id}/undo"): only(Role.admin, Role.rider),
    ("POST", "/api/v1/routes/{route_id}/stops/{order_id}/undo"): only(Role.admin, Role.rider),
    ("GET", "/api/v1/stops/{order_id}"): only(Role.admin, Role.rider),
    ("POST", "/api/v1/routes/{route_id}/links/withdraw"): only(Role.admin),
    ("POST", "/rider/routes/{route_id}/links/withdraw"): only(Role.admin),
    ("POST", "/api/v1/riders/{person_id}/chat-code"): only(Role.admin),
    ("DELETE", "/api/v1/riders/{person_id}/chat"): only(Role.admin),
    ("POST", "/api/v1/community-workers/{person_id}/chat-code"): only(Role.admin),
    ("DELETE", "/api/v1/community-workers/{person_id}/chat"): only(Role.admin),
    ("POST", "/admin/riders/{person_id}/chat-code"): only(Role.admin),
    ("POST", "/admin/riders/{person_id}/chat/unlink"): only(Role.admin),
    ("POST", "/admin/workers/{person_id}/chat-code"): only(Role.admin),
    ("POST", "/admin/workers/{person_id}/chat/unlink"): only(Role.admin),
    ("GET", "/rider"): only(Role.admin, Role.rider),
    ("GET", "/settlement"): only(Role.admin),
    ("GET", "/api/v1/settlement"): only(Role.admin),
    ("GET", "/api/v1/settlement/{month}/files/{name}"): only(Role.admin),
    ("GET", "/funders/{funder_id}/statements"): only(*STATEMENTS),
    ("GET", "/api/v1/funders/{funder_id}/statements"): only(*STATEMENTS),
    ("GET", "/api/v1/funders/{funder_id}/statements/{month}/files/{name}"): only(*STATEMENTS),
    # Menus: the programme admin.
    ("GET", "/admin/dishes"): only(Role.admin),
    ("POST", "/admin/dishes"): only(Role.admin),
    ("GET", "/admin/dishes/{dish_id}"): only(Role.admin),
    ("POST", "/admin/dishes/{dish_id}"): only(Role.admin),
    ("GET", "/api/v1/dishes"): only(Role.admin),
    ("POST", "/api/v1/dishes"): only(Role.admin),
    ("GET", "/api/v1/dishes/{dish_id}"): only(Role.admin),
    ("PUT", "/api/v1/dishes/{dish_id}"): only(Role.admin),
    # Set-up: the programme admin.
    ("GET", "/admin/setup"): only(Role.admin),
    ("GET", "/api/v1/setup/checklist"): only(Role.admin),
    ("GET", "/admin/setup/export"): only(Role.admin),
    ("POST", "/admin/setup/import"): only(Role.admin),
    ("GET", "/api/v1/setup/export"): only(Role.admin),
    ("POST", "/api/v1/setup/import"): only(Role.admin),
    ("GET", "/admin/communities"): only(Role.admin),
    ("POST", "/admin/communities"): only(Role.admin),
    ("GET", "/admin/communities/{community_id}"): only(Role.admin),
    ("POST", "/admin/communities/{community_id}"): only(Role.admin),
    ("GET", "/api/v1/communities"): only(Role.admin),
    ("POST", "/api/v1/communities"): only(Role.admin),
    ("PUT", "/api/v1/communities/{community_id}"): only(Role.admin),
    ("GET", "/api/v1/jurisdictions"): only(Role.admin),
    ("GET", "/admin/sites"): only(Role.admin),
    ("POST", "/admin/sites"): only(Role.admin),
    ("GET", "/admin/sites/{site_id}"): only(Role.admin),
    ("POST", "/admin/sites/{site_id}"): only(Role.admin),
    ("POST", "/admin/sites/{site_id}/slots"): only(Role.admin),
    ("POST", "/admin/sites/{site_id}/slots/{slot}/remove"): only(Role.admin),
    ("GET", "/api/v1/sites"): only(Role.admin),
    ("POST", "/api/v1/sites"): only(Role.admin),
    ("GET", "/api/v1/sites/{site_id}"): only(Role.admin),
    ("PUT", "/api/v1/sites/{site_id}"): only(Role.admin),
    ("PUT", "/api/v1/sites/{site_id}/slots"): only(Role.admin),
    ("DELETE", "/api/v1/sites/{site_id}/slots/{slot}"): only(Role.admin),
    ("GET", "/admin/riders"): only(Role.admin),
    ("POST", "/admin/riders"): only(Role.admin),
    ("GET", "/admin/riders/{rider_id}"): only(Role.admin),
    ("POST", "/admin/riders/{rider_id}"): only(Role.admin),
    ("GET", "/api/v1/riders"): only(Role.admin),
    ("POST", "/api/v1/riders"): only(Role.admin),
    ("PUT", "/api/v1/riders/{rider_id}"): only(Role.admin),
    ("GET", "/admin/workers"): only(Role.admin),
    ("POST", "/admin/workers"): only(Role.admin),
    ("GET", "/admin/workers/{worker_id}"): only(Role.admin),
    ("POST", "/admin/workers/{worker_id}"): only(Role.admin),
    ("GET", "/api/v1/community-workers"): only(Role.admin),
    ("POST", "/api/v1/community-workers"): only(Role.admin),
    ("PUT", "/api/v1/community-workers/{worker_id}"): only(Role.admin),
    ("GET", "/admin/accounts"): only(Role.admin),
    ("POST", "/admin/accounts"): only(Role.admin),
    ("POST", "/admin/accounts/{account_id}/active"): only(Role.admin),
    ("POST", "/admin/accounts/{account_id}/password"): only(Role.admin),
    ("GET", "/api/v1/accounts"): only(Role.admin),
    ("POST", "/api/v1/accounts"): only(Role.admin),
    ("POST", "/api/v1/accounts/{account_id}/active"): only(Role.admin),
    ("POST", "/api/v1/accounts/{account_id}/password"): only(Role.admin),
    # The subsidy policy: the admin changes it; funder auditors read it.
    ("GET", "/admin/policy"): only(*STATEMENTS),
    ("POST", "/admin/policy/funders"): only(Role.admin),
    ("GET", "/admin/policy/funders/{funder_id}"): only(Role.admin),
    ("POST", "/admin/policy/funders/{funder_id}"): only(Role.admin),
    ("POST", "/admin/policy/funds"): only(Role.admin),
    ("GET", "/admin/policy/funds/{fund_id}"): only(Role.admin),
    ("POST", "/admin/policy/funds/{fund_id}"): only(Role.admin),
    ("GET", "/admin/policy/rules/new"): only(Role.admin),
    ("GET", "/admin/policy/rules/{code}"): only(*STATEMENTS),
    ("POST", "/admin/policy/rules"): only(Role.admin),
    ("POST", "/admin/policy/settings"): only(Role.admin),
    ("GET", "/api/v1/billing-policies"): only(*STATEMENTS),
    ("POST", "/api/v1/billing-policies"): only(Role.admin),
    ("GET", "/api/v1/funders"): only(*STATEMENTS),
    ("POST", "/api/v1/funders"): only(Role.admin),
    ("PUT", "/api/v1/funders/{funder_id}"): only(Role.admin),
    ("GET", "/api/v1/funds"): only(*STATEMENTS),
    ("POST", "/api/v1/funds"): only(Role.admin),
    ("PUT", "/api/v1/funds/{fund_id}"): only(Role.admin),
    ("GET", "/api/v1/funds/{fund_id}/budgets"): only(*STATEMENTS),
    ("PUT", "/api/v1/funds/{fund_id}/budgets"): only(Role.admin),
    ("GET", "/api/v1/subsidy-rules"): only(*STATEMENTS),
    ("GET", "/api/v1/subsidy-rules/{code}"): only(*STATEMENTS),
    ("POST", "/api/v1/subsidy-rules"): only(Role.admin),
    ("POST", "/api/v1/subsidy-rules/preview"): only(Role.admin),
    ("GET", "/admin/menus"): only(Role.admin),
    ("POST", "/admin/menus/items"): only(Role.admin),
    ("POST", "/admin/menu-items/{item_id}"): only(Role.admin),
    ("POST", "/admin/menu-items/{item_id}/delete"): only(Role.admin),
    ("POST", "/admin/menus/copy-last-week"): only(Role.admin),
    ("GET", "/api/v1/sites/{site_id}/menus"): only(Role.admin),
    ("POST", "/api/v1/sites/{site_id}/menus/items"): only(Role.admin),
    ("PATCH", "/api/v1/menu-items/{item_id}"): only(Role.admin),
    ("DELETE", "/api/v1/menu-items/{item_id}"): only(Role.admin),
    ("POST", "/api/v1/sites/{site_id}/menus/copy-last-week"): only(Role.admin),
    # The orders board: kitchen staff their kitchen's sites, community workers their elders;
    # phone-in orders and cancels by the admin and community workers (their own elders).
    ("GET", "/orders"): only(*BOARD),
    ("GET", "/api/v1/orders/board"): only(*BOARD),
    ("GET", "/api/v1/standing-orders/refusals"): only(*BOARD),
    ("POST", "/orders/phone-in"): only(*PHONE_IN),
    ("POST", "/api/v1/orders"): only(*PHONE_IN),
    ("POST", "/orders/{order_id}/cancel"): only(*PHONE_IN),
    ("POST", "/api/v1/orders/{order_id}/cancel"): only(*PHONE_IN),
    # The dashboard: the admin; a funder auditor sees only its own funder's spending.
    ("GET", "/dashboard"): only(Role.admin, Role.funder_auditor),
    ("GET", "/api/v1/dashboard"): only(Role.admin, Role.funder_auditor),
    ("GET", "/elders"): only(*REGISTRY),
    ("GET", "/elders/new"): only(*REGISTRY),
    ("POST", "/elders/new"): only(*REGISTRY),
    ("GET", "/elders/{elder_id}"): only(*REGISTRY),
    ("GET", "/elders/{elder_id}/edit"): only(*REGISTRY),
    ("POST", "/elders/{elder_id}/edit"): only(*REGISTRY),
    ("POST", "/elders/{elder_id}/link-codes"): only(*REGISTRY),
    ("POST", "/elders/{elder_id}/links/{link_id}/revoke"): only(*REGISTRY),
    ("POST", "/elders/{elder_id}/links/{link_id}/approve"): only(*REGISTRY),
    ("POST", "/elders/{elder_id}/pauses"): only(*REGISTRY),
    ("POST", "/elders/{elder_id}/pauses/{pause_id}/end"): only(*REGISTRY),
    ("GET", "/api/v1/elders"): only(*REGISTRY),
    ("POST", "/api/v1/elders/import"): only(Role.admin),
    ("GET", "/api/v1/elders/import-template"): only(Role.admin),
    ("GET", "/elders/import"): only(Role.admin),
    ("POST", "/elders/import"): only(Role.admin),
    ("POST", "/api/v1/elders"): only(*REGISTRY),
    ("GET", "/api/v1/elders/{elder_id}"): only(*REGISTRY),
    ("PUT", "/api/v1/elders/{elder_id}"): only(*REGISTRY),
    ("POST", "/api/v1/elders/{elder_id}/link-codes"): only(*REGISTRY),
    ("GET", "/api/v1/elders/{elder_id}/links"): only(*REGISTRY),
    ("POST", "/api/v1/elders/{elder_id}/links/{link_id}/revoke"): only(*REGISTRY),
    ("POST", "/api/v1/elders/{elder_id}/links/{link_id}/approve"): only(*REGISTRY),
    ("GET", "/api/v1/elders/{elder_id}/pauses"): only(*REGISTRY),
    ("POST", "/api/v1/elders/{elder_id}/pauses"): only(*REGISTRY),
    ("POST", "/api/v1/elders/{elder_id}/pauses/{pause_id}/end"): only(*REGISTRY),
    ("GET", "/welfare"): only(*REGISTRY),
    ("POST", "/welfare/alerts/{alert_id}/close"): only(*REGISTRY),
    ("GET", "/api/v1/welfare/alerts"): only(*REGISTRY),
    ("POST", "/api/v1/welfare/alerts/{alert_id}/close"): only(*REGISTRY),
    # The canteen counter: canteen staff (their own sites' meals), and the admin.
    ("GET", "/counter"): only(*COUNTER),
    ("POST", "/counter/orders/{order_id}/serve"): only(*COUNTER),
    ("POST", "/counter/orders/{order_id}/undo"): only(*COUNTER),
    ("POST", "/api/v1/counter/orders/{order_id}/undo"): only(*COUNTER),
    ("POST", "/counter/not-collected"): only(*COUNTER),
    ("GET", "/api/v1/counter"): only(*COUNTER),
    ("POST", "/api/v1/counter/orders/{order_id}/serve"): only(*COUNTER),
    ("POST", "/api/v1/counter/not-collected"): only(*COUNTER),
    ("POST", "/api/v1/counter/scan"): only(*COUNTER),
    ("POST", "/counter/scan"): only(*COUNTER),
    ("POST", "/api/v1/counter/walk-in"): only(*COUNTER),
    ("GET", "/counter/walk-in"): only(*COUNTER),
    ("POST", "/counter/walk-in"): only(*COUNTER),
    # Meal cards: whoever looks after the elder (a worker: their own communities).
    ("GET", "/api/v1/elders/{elder_id}/meal-card.pdf"): only(*REGISTRY),
    ("POST", "/api/v1/elders/{elder_id}/meal-card/reissue"): only(*REGISTRY),
    ("POST", "/elders/{elder_id}/meal-card/reissue"): only(*REGISTRY),
    ("GET", "/api/v1/communities/{community_id}/meal-cards.pdf"): only(*REGISTRY),
}

# Rules decided for pages not built yet (issue 7's later slices); the policy functions that
# will guard them are tested below.
LATER: dict[str, str] = {}


def app_routes(app) -> set[tuple[str, str]]:
    found = set()
    for context in iter_route_contexts(app.routes):
        methods = getattr(context.original_route, "methods", None) or {"GET"}
        for method in methods - {"HEAD"}:
            found.add((method, context.path))
    return found


@pytest.fixture
def world(empty_database):
    clock = FixedClock(datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI))
    with empty_database.transaction() as session:
        make = Factory(session, clock)
        route_id, orders = kitchen_with_route(make, elders=2)
        route = session.get(DeliveryRoute, route_id)
        elder = session.get(Elder, session.get(Order, orders[0]).elder_id)
        accounts = {
            Role.admin: make_staff(make, "admin"),
            Role.kitchen: make_staff(make, "kitchen", kitchen_id=route.kitchen_id),
            Role.rider: make_staff(make, "rider", rider_id=route.rider_id),
            Role.community_worker: make_staff(
                make, "community_worker", community_ids=[elder.community_id]
            ),
            Role.funder_auditor: make_staff(make, "funder_auditor"),
            Role.canteen: make_staff(
                make, "canteen", site_ids=[session.get(Order, orders[0]).site_id]
            ),
        }
        others = {
            "other_rider": make_staff(make, "rider"),
            "other_kitchen": make_staff(make, "kitchen"),
            "other_auditor": make_staff(make, "funder_auditor"),
            "other_worker": make_staff(make, "community_worker"),
        }
        registry = _registry_records(make, elder, session.get(Order, orders[1]))
        usernames = {role: a.username for role, a in {**accounts, **others}.items()}
        funder = session.get(Funder, accounts[Role.funder_auditor].funder_id)
        ids = {
            "route": route_id,
            "kitchen": route.kitchen_id,
            "orders": orders,
            "funder": funder.id,
            "funder_code": funder.code,
            "community": elder.community_id,
            # An account the admin may disable and reset while the matrix is tried.
            "probe_account": others["other_worker"].id,
            **registry,
        }
    clock.set(datetime(2026, 11, 25, 11, 20, tzinfo=SHANGHAI))
    app = web_app(database=empty_database, clock=clock)
    yield app, empty_database, clock, usernames, ids


def _registry_records(make: Factory, elder: Elder, order: Order) -> dict:
    """A family link and a coming pause for the elder, and a welfare alert on another order."""
    from datetime import timedelta

    from core.elders import chat_user_for, link_elder, pause_meals
    from core.types import LinkRelation
    from core.welfare import raise_alert

    session, clock = make.session, make.clock
    son = chat_user_for(
        session=session, telegram_user_id=8_880_001, name="李明", language="zh_CN", clock=clock
    )
    link = link_elder(
        session=session,
        chat_user_id=son.id,
        elder_id=elder.id,
        relation=LinkRelation.family,
        verified_by="test",
        clock=clock,
    )
    start = make.today + timedelta(days=3)
    pause = pause_meals(
        session=session,
        clock=clock,
        elder_id=elder.id,
        pause_in={"start_date": start, "end_date": start + timedelta(days=2)},
    )
    alert = raise_alert(session=session, clock=clock, order=order, by="rider:1", **WELFARE_LINE)
    return {"elder": elder.id, "link": link.id, "pause": pause.id, "alert": alert.id}


def client_as(app, database, clock, username: str | None) -> TestClient:
    """A browser with a session for this account (made directly: no password hashing)."""
    client = TestClient(app)
    log_in(client, database, clock, username)
    return client


def log_in(client: TestClient, database, clock, username: str | None) -> None:
    """A fresh browser's cookies on `client` (none left from before), with a new session for
    this account (made directly: no password hashing)."""
    from api.accounts.models import StaffAccount

    client.cookies.clear()
    if username is not None:
        with database.transaction() as session:
            account = session.exec(
                select(StaffAccount).where(StaffAccount.username == username)
            ).one()
            token = start_session(session=session, clock=clock, account=account)
        client.cookies.set(SESSION_COOKIE, token)


def outcome(response) -> str:
    assert response.status_code < 500, response.text
    if response.status_code in (303, 307) and response.headers["location"].startswith(
        "/login?next="
    ):
        return LOGIN
    if response.status_code == 401:
        assert response.json()["error"] == "login_required"
        return LOGIN
    if response.status_code == 403:
        return DENIED
    return OK


def probe(client: TestClient, method: str, path: str, ids: dict, probe_user: str):
    route, kitchen, order = ids["route"], ids["kitchen"], ids["orders"][0]
    name = "production.csv"
    if path.startswith("/api/v1/settlement/"):
        name = "claims.csv"
    elif path.startswith("/api/v1/funders/"):
        name = f"statement-{ids['funder_code']}.csv"
    url = (
        path.replace("{elder_id}", str(ids["elder"]))
        .replace("{link_id}", str(ids["link"]))
        .replace("{pause_id}", str(ids["pause"]))
        .replace("{alert_id}", str(ids["alert"]))
        .replace("{kitchen_id}", str(kitchen))
        .replace("{route_id}", str(route))
        .replace("{order_id}", str(order))
        .replace("{funder_id}", str(ids["funder"]))
        .replace("{month}", "2026-11")
        .replace("{name}", name)
        .replace("{dish_id}", "1")
        .replace("{item_id}", "1")
        .replace("{site_id}", "1")
        .replace("{person_id}", "1")
        .replace("{rider_id}", "1")
        .replace("{worker_id}", "1")
        .replace("{fund_id}", "1")
        .replace("{code}", "R1")
        .replace("{slot}", "breakfast")
        .replace("{account_id}", str(ids["probe_account"]))
        .replace("{community_id}", str(ids["community"]))
    )
    if url == "/static":
        url = "/static/style.css"
    headers = {"accept": "application/json" if url.startswith("/api/") else "text/html"}
    if method == "GET":
        return client.get(url, headers=headers, follow_redirects=False)
    # The token the session's forms carry (the same as on its pages); nobody's comes from a page.
    session_token = client.cookies.get(SESSION_COOKIE)
    if session_token is None:
        token = csrf_from(client.get("/login").text)
    else:
        token = csrf_token_for(session_token)
    data = {
        "/login": {"username": probe_user, "password": PASSWORD},
        "/logout": {},
        "/account/password": {
            "current_password": "not the password",
            "new_password": "x" * 12,
            "new_password_again": "x" * 12,
        },
    }.get(url, {"outcome": "delivered"})
    return client.request(
        method, url, data={**data, "csrf_token": token}, headers=headers, follow_redirects=False
    )


def test_every_route_of_the_app_has_a_decision_for_every_role(world):
    app = world[0]
    assert app_routes(app) == set(MATRIX), "decide who may use the new route, in MATRIX"
    assert all(set(row) == set(ROLES) for row in MATRIX.values())


def test_the_role_matrix_holds_route_by_route_and_role_by_role(world):
    app, database, clock, usernames, ids = world
    wrong = []
    # One browser, its cookies cleared for each cell and given the role's session: as a new
    # browser per cell, without an event loop and a thread started and stopped for each. A
    # role's session is made again once a cell has set or dropped its cookie (a log-out, a
    # log-in as someone else).
    tokens: dict[Role | None, str] = {}
    with TestClient(app) as client:
        for (method, path), expected in MATRIX.items():
            for role in ROLES:
                if role is None or role not in tokens:
                    log_in(client, database, clock, usernames.get(role))
                    if role is not None:
                        tokens[role] = client.cookies[SESSION_COOKIE]
                else:
                    client.cookies.clear()
                    client.cookies.set(SESSION_COOKIE, tokens[role])
                response = probe(client, method, path, ids, usernames[Role.admin])
                got = outcome(response)
                cookies = response.headers.get_list("set-cookie")
                if role is not None and any(c.startswith(f"{SESSION_COOKIE}=") for c in cookies):
                    del tokens[role]
                if got != expected[role]:
                    wrong.append(f"{method} {path} as {role}: {got}, expected {expected[role]}")
    assert wrong == [], "\n".join(wrong)


def test_a_rider_sees_only_their_own_route(world):
    app, database, clock, usernames, ids = world
    route, order = ids["route"], ids["orders"][0]
    with client_as(app, database, clock, usernames["other_rider"]) as other:
        assert other.get(f"/rider/routes/{route}").status_code == 403
        assert other.get(f"/api/v1/routes/{route}").json()["error"] == "access_denied"
        assert other.get(f"/rider/orders/{order}", follow_redirects=False).status_code == 403
        token = csrf_from(other.get("/rider").text)
        assert f"/rider/routes/{route}" not in other.get("/rider").text
        refused = other.post(
            f"/rider/routes/{route}/stops/{order}",
            data={"outcome": "delivered", "csrf_token": token},
        )
        assert refused.status_code == 403
        # The printed key still opens that one route, whoever holds the sheet.
        key = route_key(database, route)
        assert other.get(f"/rider/routes/{route}?key={key}").status_code == 200
    with database.reading() as session:
        assert session.get(Order, order).status == OrderStatus.locked
    with client_as(app, database, clock, usernames[Role.rider]) as own:
        assert f"/rider/routes/{route}" in own.get("/rider").text
        page = own.get(f"/rider/routes/{route}")
        assert page.status_code == 200 and page.text.count('value="delivered"') == 2
        jump = own.get(f"/rider/orders/{order}", follow_redirects=False)
        assert jump.status_code == 303 and jump.headers["location"].startswith(
            f"/rider/routes/{route}#stop-"
        )
        token = csrf_from(page.text)
        done = own.post(
            f"/rider/routes/{route}/stops/{order}",
            data={"outcome": "delivered", "csrf_token": token},
            follow_redirects=False,
        )
        assert done.status_code == 303 and "key=" not in done.headers["location"]
    with database.reading() as session:
        assert session.get(Order, order).status == OrderStatus.delivered


def test_kitchen_staff_see_their_own_kitchen_with_diet_codes_and_no_phone_numbers(world):
    app, database, clock, usernames, ids = world
    kitchen = ids["kitchen"]
    with database.transaction() as session:
        elder = session.exec(select(Elder).order_by(Elder.id)).first()
        elder.allergies = ["egg"]
        session.add(elder)
        phones = {e.phone for e in session.exec(select(Elder))} | {
            c.phone for c in session.exec(select(EmergencyContact))
        }
        addresses = {e.address for e in session.exec(select(Elder))}
    with client_as(app, database, clock, usernames["other_kitchen"]) as other:
        assert other.get(f"/kitchens/{kitchen}/production").status_code == 403
        assert other.get(f"/api/v1/kitchens/{kitchen}/production").status_code == 403
        assert other.get(f"/api/v1/kitchens/{kitchen}/files/packing.csv").status_code == 403
    with client_as(app, database, clock, usernames[Role.kitchen]) as own:
        page = own.get(f"/kitchens/{kitchen}/production?lang=zh_CN").text
        body = own.get(f"/api/v1/kitchens/{kitchen}/production").text
        packing = own.get(f"/api/v1/kitchens/{kitchen}/files/packing.csv").text
    assert "鸡蛋" in page and "egg" in body  # the diet code, in the reader's language
    for text in (page, body, packing):
        digits = re.sub(r"[\s-]", "", text)
        assert not [p for p in phones if p and re.sub(r"[\s-]", "", p) in digits]
        assert not [a for a in addresses if a in text]


def test_a_funder_auditor_sees_only_their_own_funders_statements(world):
    app, database, clock, usernames, ids = world
    funder, code = ids["funder"], ids["funder_code"]
    pages = [
        f"/funders/{funder}/statements?month=2026-11",
        f"/api/v1/funders/{funder}/statements?month=2026-11",
        *[
            f"/api/v1/funders/{funder}/statements/2026-11/files/statement-{code}.{kind}"
            for kind in ("csv", "xlsx", "pdf")
        ],
    ]
    with client_as(app, database, clock, usernames["other_auditor"]) as other:
        for url in pages:
            refused = other.get(url, headers={"accept": "application/json"})
            assert refused.status_code == 403, url
            assert refused.json()["error"] == "access_denied"
        assert other.get(pages[0]).status_code == 403  # the page, as a browser asks
        assert other.get("/api/v1/settlement/2026-11/files/claims.csv").status_code == 403
    with client_as(app, database, clock, usernames[Role.funder_auditor]) as own:
        assert [own.get(url).status_code for url in pages] == [200] * len(pages)
        # Under its own funder's address an auditor still gets only that funder's files.
        other_code = _funder_code_of(database, usernames["other_auditor"])
        elsewhere = own.get(
            f"/api/v1/funders/{funder}/statements/2026-11/files/statement-{other_code}.csv"
        )
        assert elsewhere.status_code == 404


def _funder_code_of(database, username: str) -> str:
    from api.accounts.models import StaffAccount

    with database.reading() as session:
        account = session.exec(select(StaffAccount).where(StaffAccount.username == username)).one()
        return session.get(Funder, account.funder_id).code


def _staff(role: Role, **links) -> Staff:
    return Staff(id=1, username="x", display_name="x", role=role, **links)


def test_object_level_rules_for_every_role():
    admin = _staff(Role.admin)
    rider = _staff(Role.rider, rider_id=7)
    kitchen = _staff(Role.kitchen, kitchen_id=3)
    auditor = _staff(Role.funder_auditor, funder_id=5)
    worker = _staff(Role.community_worker, community_ids=frozenset({11, 12}))
    everyone = (admin, rider, kitchen, auditor, worker)
    assert [may_see_route(s, 7) for s in everyone] == [True, True, False, False, False]
    assert [may_see_route(s, 8) for s in everyone] == [True, False, False, False, False]
    assert [may_see_kitchen(s, 3) for s in everyone] == [True, False, True, False, False]
    assert [may_see_kitchen(s, 4) for s in everyone] == [True, False, False, False, False]
    assert [may_see_funder(s, 5) for s in everyone] == [True, False, False, True, False]
    assert [may_see_funder(s, 6) for s in everyone] == [True, False, False, False, False]
    assert [may_see_elder(s, 12) for s in everyone] == [True, False, False, False, True]
    assert [may_see_elder(s, 13) for s in everyone] == [True, False, False, False, False]


def test_a_community_worker_sees_and_changes_only_the_elders_of_their_communities(world):
    app, database, clock, usernames, ids = world
    elder, link, pause, alert = ids["elder"], ids["link"], ids["pause"], ids["alert"]
    with database.reading() as session:
        name = session.get(Elder, elder).name
    reads = [
        f"/elders/{elder}",
        f"/elders/{elder}/edit",
        f"/api/v1/elders/{elder}",
        f"/api/v1/elders/{elder}/links",
        f"/api/v1/elders/{elder}/pauses",
    ]
    writes = [
        ("POST", f"/elders/{elder}/edit", {"name": "改名"}),
        ("POST", f"/elders/{elder}/link-codes", {}),
        ("POST", f"/elders/{elder}/links/{link}/revoke", {}),
        ("POST", f"/elders/{elder}/pauses", {"start_date": "2026-12-20", "end_date": "2026-12-21"}),
        ("POST", f"/elders/{elder}/pauses/{pause}/end", {}),
        ("POST", f"/api/v1/elders/{elder}/link-codes", {}),
        ("POST", f"/api/v1/elders/{elder}/links/{link}/revoke", {}),
        ("POST", f"/api/v1/elders/{elder}/pauses/{pause}/end", {}),
        ("POST", f"/welfare/alerts/{alert}/close", {"outcome": "平安"}),
        ("POST", f"/api/v1/welfare/alerts/{alert}/close", {"outcome": "平安"}),
    ]
    with database.reading() as session:
        before = {table: n for table, n in _counts(session).items() if table not in LOGS}
    with client_as(app, database, clock, usernames["other_worker"]) as other:
        # Answered as elders and alerts that do not exist (tests/api/test_elders_api.py).
        for url in reads:
            assert other.get(url, headers={"accept": "text/html"}).status_code == 404, url
        assert other.get(f"/api/v1/elders/{elder}").json()["error"] == "elder_not_found"
        token = csrf_from(other.get("/elders").text)
        for method, url, data in writes:
            if url.startswith("/api/"):
                refused = other.request(method, url, json=data, headers={"x-csrf-token": token})
            else:
                refused = other.request(method, url, data={**data, "csrf_token": token})
            assert refused.status_code == 404, url
        assert name not in other.get("/elders").text
        assert other.get("/api/v1/elders").json()["total"] == 0
        assert other.get("/api/v1/welfare/alerts").json() == []
        assert name not in other.get("/welfare").text
        assert other.get("/elders/987654").status_code == 404
    with database.reading() as session:
        after = {table: n for table, n in _counts(session).items() if table not in LOGS}
        assert session.get(Elder, elder).name == name
        assert session.get(ElderLink, link).revoked_at is None
        assert session.get(ElderPause, pause) is not None
        assert session.get(WelfareAlert, alert).status == "open"
    assert after == before
    with client_as(app, database, clock, usernames[Role.community_worker]) as own:
        assert name in own.get("/elders").text
        assert own.get(f"/elders/{elder}").status_code == 200
        assert [a["id"] for a in own.get("/api/v1/welfare/alerts").json()] == [alert]


LOGS = {"audit_entry", "staff_session"}


def _counts(session) -> dict:
    from tests.conftest import row_counts

    return row_counts(session)
