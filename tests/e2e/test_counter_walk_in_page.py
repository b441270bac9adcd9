"""A walk-in at the counter on a phone: canteen staff find a registered elder who has no order
by the last digits of her phone, see today's dishes she can eat (her own style first), and one
tap places her meal and marks it served; the counter then lists it as eaten."""

import re
from datetime import datetime

import pytest

from core.clock import FixedClock
from core.types import ServiceMode
from tests.apps import web_app
from tests.conftest import SHANGHAI
from tests.e2e.browser import ARTIFACTS, log_in, needs_chromium, serving
from tests.factories import Factory, closed_lunch, make_staff

pytestmark = needs_chromium


@pytest.fixture
def walk_in_server(empty_database):
    clock = FixedClock(datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI))
    with empty_database.transaction() as session:
        make = Factory(session, clock)
        site, dishes, _ = make.world()
        closed_lunch(make, site, dishes[0], [("陈桂英", "13800001234", ServiceMode.dine_in)])
        make.elder(site, name="黄志强", phone="13900005678", allergies=["fish"], texture="soft")
        canteen = make_staff(make, "canteen", site_ids=[site.id]).username
    clock.set(datetime(2026, 11, 25, 11, 40, tzinfo=SHANGHAI))
    with serving(web_app(database=empty_database, clock=clock)) as base:
        yield base, canteen


def test_canteen_staff_serve_a_walk_in_from_todays_menu(walk_in_server, browser, empty_database):
    base, canteen = walk_in_server
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(f"{base}/login")
    log_in(page, canteen)
    page.locator("input[name=q]").fill("5678")
    with page.expect_navigation():
        page.get_by_role("button", name="查找").click()
    assert page.locator("li.counter-meal").count() == 0  # no order: nothing to serve here
    with page.expect_navigation():
        page.get_by_role("link", name="现场供餐").click()
    assert page.locator("input[name=q]").input_value() == "5678"  # the search kept
    with page.expect_navigation():
        page.get_by_role("button", name="查找").click()
    with page.expect_navigation():
        page.get_by_role("link", name=re.compile(r"^黄志强 · .* · …5678$")).click()
    choices = page.locator("ul.walk-in-choices li")
    # Her own style (soft) first; the fish dish, which she cannot eat, is not offered.
    assert choices.count() > 0 and "软食" in choices.first.inner_text()
    assert "晚餐" not in page.locator("main").inner_text()  # dinner's orders are still open
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(
        path=ARTIFACTS / f"counter-walk-in-{empty_database.dialect}.png", full_page=True
    )
    with page.expect_navigation():
        choices.first.get_by_role("button", name="堂食").click()
    assert "已记为已发放" in page.locator("main").inner_text()
    meals = page.locator("li.counter-meal")
    assert meals.count() == 1 and "黄志强" in meals.inner_text() and "已堂食" in meals.inner_text()
    page.screenshot(
        path=ARTIFACTS / f"counter-walk-in-served-{empty_database.dialect}.png", full_page=True
    )

    # 陈桂英 has her lunch ordered: the walk-in is refused, saying why, and offers her order.
    page.goto(f"{base}/counter/walk-in?q=陈桂英")
    with page.expect_navigation():
        page.get_by_role("link", name=re.compile(r"^陈桂英 · .* · …1234$")).click()
    with page.expect_navigation():
        page.locator("ul.walk-in-choices li").first.get_by_role("button", name="堂食").click()
    assert "已经订了" in page.get_by_role("alert").inner_text()
    assert page.locator("ul.walk-in-choices").count() == 0  # nothing else to serve her now
    page.screenshot(
        path=ARTIFACTS / f"counter-walk-in-refused-{empty_database.dialect}.png", full_page=True
    )
    with page.expect_navigation():
        page.get_by_role("link", name="发放她已订的餐").click()
    meals = page.locator("li.counter-meal")
    assert meals.count() == 1 and "陈桂英" in meals.inner_text()
    with page.expect_navigation():
        meals.get_by_role("button", name="确认就餐").click()
    assert "已堂食" in page.locator("li.counter-meal").inner_text()
    context.close()
