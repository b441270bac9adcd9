"""The staff pages in a real headless browser (Debian's chromium, driven by Playwright)."""

from datetime import datetime
from pathlib import Path

import pytest

from core.clock import FixedClock
from core.cutoff import run_cutoff
from core.orders import place_order
from core.types import ServiceMode, Slot
from tests.apps import web_app
from tests.conftest import SHANGHAI
from tests.e2e.browser import ARTIFACTS, log_in, needs_chromium, serving
from tests.factories import (
    CUTOFF_LIMITS,
    ORDER_LIMITS,
    Factory,
    kitchen_with_route,
    make_staff,
    served_lunches,
)

pytestmark = needs_chromium


@pytest.fixture
def server(empty_database):
    clock = FixedClock(datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI))
    with empty_database.transaction() as session:
        make = Factory(session, clock)
        site, dishes, elder = make.world()
        place_order(
            session=session,
            clock=clock,
            elder_id=elder.id,
            site_id=site.id,
            service_date=make.today,
            slot=Slot.dinner,
            dish_id=dishes[0].id,
            variant="regular",
            idempotency_key="e2e-dinner",
            **ORDER_LIMITS,
        )
        other = make.elder(site)
        place_order(
            session=session,
            clock=clock,
            elder_id=other.id,
            site_id=site.id,
            service_date=make.today,
            slot=Slot.lunch,
            dish_id=dishes[0].id,
            variant="soft",
            quantity=2,
            mode=ServiceMode.dine_in,
            idempotency_key="e2e-lunch",
            **ORDER_LIMITS,
        )
        run_cutoff(
            session=session,
            clock=clock,
            site_id=site.id,
            service_date=make.today,
            slot=Slot.lunch,
            early=True,
            **CUTOFF_LIMITS,
        )
        site_name = site.name
        admin = make_staff(make, "admin").username
    with serving(web_app(database=empty_database, clock=clock)) as base:
        yield base, site_name, admin


def test_the_day_overview_in_chinese_then_english(server, browser, empty_database):
    base, site_name, admin = server
    page = browser.new_context(locale="zh-CN").new_page()
    page.goto(f"{base}/?date=2026-11-25")
    assert "/login?next=" in page.url  # nobody is logged in yet
    log_in(page, admin)
    assert page.url == f"{base}/?date=2026-11-25"
    assert page.locator("h1").inner_text() == "11月25日 星期三"
    rows = page.locator("table.tally tbody tr")
    assert rows.count() == 2
    assert rows.nth(0).inner_text().split("\t")[:4] == [site_name, "午餐", "1", "2"]
    assert "已截单备餐" in rows.nth(0).inner_text()
    assert "接受订餐中" in rows.nth(1).inner_text() and "晚餐" in rows.nth(1).inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"overview-zh-{empty_database.dialect}.png", full_page=True)

    page.get_by_role("link", name="English").click()
    page.wait_for_load_state()
    assert "date=2026-11-25" in page.url
    assert page.locator("h1").inner_text() == "Wed 25 Nov"
    assert "lunch" in rows.nth(0).inner_text()
    page.reload()
    assert page.get_by_role("link", name="Today").is_visible()  # the choice is remembered
    page.screenshot(path=ARTIFACTS / f"overview-en-{empty_database.dialect}.png", full_page=True)


def test_bad_input_shows_a_translated_message_not_a_crash(server, browser):
    base, _, admin = server
    page = browser.new_context(locale="zh-CN").new_page()
    page.goto(f"{base}/login")
    log_in(page, admin)
    response = page.goto(f"{base}/?date=not-a-date")
    assert response.status == 422
    assert "日期" in page.locator(".error-message").inner_text()
    response = page.goto(f"{base}/nowhere?lang=en")
    assert response.status == 404
    assert page.locator(".error-message").inner_text() == "This page does not exist."


@pytest.fixture
def rider_server(empty_database):
    """A planned route of two stops, served by the app on a free port."""
    clock = FixedClock(datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI))
    with empty_database.transaction() as session:
        route_id, _ = kitchen_with_route(Factory(session, clock), elders=2, rider="骑手丙")
    clock.set(datetime(2026, 11, 25, 11, 5, tzinfo=SHANGHAI))
    with serving(web_app(database=empty_database, clock=clock)) as base:
        yield base, route_id


def test_a_rider_marks_a_stop_delivered_on_the_phone_page(rider_server, browser, empty_database):
    from tests.factories import route_key

    base, route_id = rider_server
    phone = browser.new_context(locale="zh-CN", viewport={"width": 400, "height": 860})
    page = phone.new_page()
    page.goto(f"{base}/rider/routes/{route_id}?key={route_key(empty_database, route_id)}")
    stops = page.locator("li.stop")
    assert stops.count() == 2
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        stops.nth(0).get_by_role("button", name="已送达").click()
    assert posted.value.status == 303, posted.value.status
    page.wait_for_url("**#stop-1")
    page.wait_for_load_state()
    assert "已送达" in page.locator("li.stop").nth(0).locator(".done").inner_text()
    # Nobody at the door alerts the family: it takes a second tap to confirm.
    second = page.locator("li.stop").nth(1)
    confirm = second.get_by_role("button", name="确认无人应答，通知家属")
    assert not confirm.is_visible()
    second.locator("details.no-answer summary").click()
    assert confirm.is_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"rider-{empty_database.dialect}.png", full_page=True)
    with page.expect_navigation():
        confirm.click()
    assert "无人应答" in page.locator("li.stop").nth(1).locator(".done").inner_text()


@pytest.fixture
def staff_server(empty_database):
    """A kitchen with a planned route and one account per role (kitchen staff of that kitchen,
    the route's rider), served on a free port."""
    clock = FixedClock(datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI))
    with empty_database.transaction() as session:
        make = Factory(session, clock)
        route_id, _ = kitchen_with_route(make, elders=3, rider="骑手丁")
        from routing.records import DeliveryRoute

        route = session.get(DeliveryRoute, route_id)
        kitchen_id = route.kitchen_id
        accounts = {
            "admin": make_staff(make, "admin").username,
            "kitchen": make_staff(make, "kitchen", kitchen_id=kitchen_id).username,
            "rider": make_staff(make, "rider", rider_id=route.rider_id).username,
            "community_worker": make_staff(make, "community_worker").username,
            "funder_auditor": make_staff(make, "funder_auditor").username,
            "canteen": make_staff(make, "canteen").username,
        }
    clock.set(datetime(2026, 11, 25, 10, 45, tzinfo=SHANGHAI))
    with serving(web_app(database=empty_database, clock=clock)) as base:
        yield base, accounts, kitchen_id, route_id


# Each role: where it lands after login, the pages it walks (path, text on the page), and a
# page it may not open.
WALKS = {
    "admin": ("/", ["/", "/kitchens/{kitchen}/production", "/rider", "/rider/routes/{route}",
                    "/admin/audit", "/elders", "/welfare"], None),
    "kitchen": ("/kitchens/{kitchen}/production", ["/", "/kitchens/{kitchen}/production"],
                "/rider/routes/{route}"),
    "rider": ("/rider", ["/rider", "/rider/routes/{route}"], "/"),
    "community_worker": ("/", ["/", "/elders", "/welfare"], "/kitchens/{kitchen}/production"),
    "funder_auditor": ("/", ["/"], "/admin/audit"),
    "canteen": ("/counter", ["/counter"], "/"),
}  # fmt: skip


ROLE_NAMES = {
    "admin": "项目管理员",
    "kitchen": "厨房人员",
    "rider": "配送员",
    "community_worker": "社区工作者",
    "funder_auditor": "出资方审计员",
    "canteen": "食堂工作人员",
}


@pytest.mark.parametrize("role", list(WALKS))
def test_each_role_logs_in_and_walks_the_pages_it_may_see(
    staff_server, browser, empty_database, role
):
    base, accounts, kitchen_id, route_id = staff_server
    home, walk, forbidden = WALKS[role]
    fill = lambda path: path.format(kitchen=kitchen_id, route=route_id)  # noqa: E731
    context = browser.new_context(locale="zh-CN", viewport={"width": 1100, "height": 900})
    page = context.new_page()
    page.goto(f"{base}/login")
    log_in(page, accounts[role])
    assert page.url == base + fill(home)
    nav = page.locator("nav.main-nav").inner_text()
    assert ("今天" in nav) == (role not in ("rider", "canteen"))  # they have their own pages
    who = page.locator(".account .who").inner_text()
    assert accounts[role] in who and ROLE_NAMES[role] in who
    ARTIFACTS.mkdir(exist_ok=True)
    for path in walk:
        response = page.goto(base + fill(path))
        assert response.status == 200, (role, path)
        assert page.locator("h1").count() == 1
        name = fill(path).strip("/").replace("/", "-") or "overview"
        page.screenshot(
            path=ARTIFACTS / f"{role}-{name}-{empty_database.dialect}.png", full_page=True
        )
    if forbidden:
        response = page.goto(base + fill(forbidden))
        assert response.status == 403
        assert page.locator(".error-message").inner_text() == "您的账号无权打开此页面。"
    page.goto(base + fill(home))
    with page.expect_navigation():
        page.get_by_role("button", name="退出登录").click()
    assert page.url == f"{base}/login"
    assert page.goto(base + fill(walk[0])).url.startswith(f"{base}/login?next=")
    context.close()


def test_the_kitchen_page_shows_diet_codes_and_no_phone_numbers(staff_server, browser):
    base, accounts, kitchen_id, _ = staff_server
    page = browser.new_context(locale="zh-CN").new_page()
    page.goto(f"{base}/kitchens/{kitchen_id}/production")
    log_in(page, accounts["kitchen"])
    text = page.locator("main").inner_text()
    assert "装箱清单" in text or "路线" in text
    assert "1390000" not in text and "13800009999" not in text


def test_a_wrong_password_shows_the_error_in_the_readers_language(staff_server, browser):
    base, accounts, _, _ = staff_server
    page = browser.new_context(locale="zh-CN").new_page()
    page.goto(f"{base}/login")
    log_in(page, accounts["admin"], "not the password")
    assert page.locator(".error-message").inner_text() == "用户名或密码不正确。"
    assert page.locator("input[name=username]").input_value() == accounts["admin"]
    page.get_by_role("link", name="English").click()
    page.wait_for_load_state()
    log_in(page, accounts["admin"], "still not it")
    assert page.locator(".error-message").inner_text() == (
        "The user name or password is not right."
    )
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "login-error-en.png", full_page=True)  # same on both
    log_in(page, accounts["admin"])
    assert page.url == f"{base}/"


@pytest.fixture
def auditor_server(empty_database):
    """A month with served lunches and an auditor of the city funder, served on a free port."""
    clock = FixedClock(datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI))
    with empty_database.transaction() as session:
        make = Factory(session, clock)
        city, _ = served_lunches(make)
        auditor = make_staff(make, "funder_auditor", funder_id=city.id).username
        city_id = city.id
    with serving(web_app(database=empty_database, clock=clock)) as base:
        yield base, city_id, auditor


def test_a_funder_auditor_logs_in_and_reads_their_statement(
    auditor_server, browser, empty_database
):
    base, city_id, auditor = auditor_server
    page = browser.new_context(locale="zh-CN").new_page()
    page.goto(f"{base}/login")
    log_in(page, auditor)
    page.get_by_role("link", name="结算单").click()
    page.wait_for_load_state()
    assert page.url == f"{base}/funders/{city_id}/statements"
    assert page.locator("h1").inner_text() == "2026-11 结算单：广州市民政局"
    rows = page.locator("table.statement-lines tbody tr")
    assert rows.count() == 2
    assert rows.nth(0).inner_text().split("\t")[0] == "低保"
    assert page.locator("table.statement-lines tfoot .total").inner_text() == "¥14.00"
    with page.expect_download() as download:
        page.get_by_role("link", name="CSV").first.click()
    assert download.value.suggested_filename.endswith(".csv")
    # The statement meal by meal, beside it: the lines an auditor samples from.
    with page.expect_download() as meals:
        page.locator(".meal-files").get_by_role("link", name="CSV").click()
    assert meals.value.suggested_filename.startswith("meals-")
    lines = Path(meals.value.path()).read_text(encoding="utf-8-sig").splitlines()
    assert lines[0].split(",")[3] == "长者编号" and len(lines) == 1 + 3
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"statement-zh-{empty_database.dialect}.png", full_page=True)


def test_a_riders_tap_without_a_connection_is_kept_and_sent_when_it_is_back(
    rider_server, browser, empty_database
):
    """In a stairwell with no signal: Delivered is kept on the phone and shown as not sent
    yet; when the signal is back it is sent (once) and the page shows it recorded, with Undo
    for a few minutes."""
    from sqlmodel import select

    from core.models import Order
    from core.types import OrderStatus
    from routing.records import RouteStop
    from tests.factories import route_key

    base, route_id = rider_server
    phone = browser.new_context(locale="zh-CN", viewport={"width": 400, "height": 860})
    page = phone.new_page()
    page.goto(f"{base}/rider/routes/{route_id}?key={route_key(empty_database, route_id)}")
    phone.set_offline(True)
    first = page.locator("li.stop").nth(0)
    first.get_by_role("button", name="已送达").click()
    first.locator(".pending-note").wait_for()
    assert "尚未发送" in first.inner_text() and page.locator("#offline-note").is_visible()
    with empty_database.reading() as session:
        order_id = session.exec(
            select(RouteStop.order_id).where(
                RouteStop.route_id == route_id, RouteStop.position == 1
            )
        ).one()
        assert session.get(Order, order_id).status == OrderStatus.locked
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"rider-offline-{empty_database.dialect}.png", full_page=True)
    with page.expect_navigation():
        phone.set_offline(False)
    first = page.locator("li.stop").nth(0)
    assert "已送达" in first.locator(".done").inner_text()
    assert first.get_by_role("button", name="撤销").count() == 1
    with empty_database.reading() as session:
        assert session.get(Order, order_id).status == OrderStatus.delivered
    phone.close()
