"""The admin's menu, orders and dashboard pages in a real headless browser (Debian's chromium):
create a dish, put it on a menu with a bad price and see the error next to the price, fix it;
take a phone-in order; open the dashboard. Screenshots go to test-artifacts/."""

from datetime import datetime

import pytest
from sqlmodel import select

from core.clock import FixedClock
from core.models import Elder
from tests.apps import web_app
from tests.conftest import SHANGHAI
from tests.e2e.browser import ARTIFACTS, log_in, needs_chromium, serving
from tests.factories import Factory, make_staff, served_lunches

pytestmark = needs_chromium


@pytest.fixture
def menu_server(empty_database):
    clock = FixedClock(datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI))
    with empty_database.transaction() as session:
        make = Factory(session, clock)
        # Three lunches served today (the dashboard has something to draw); lunch is closed,
        # dinner still takes orders.
        served_lunches(make)
        elder = session.exec(select(Elder).order_by(Elder.id)).first()
        names = {
            "elder": f"{elder.name} (#{elder.id})",
            "admin": make_staff(make, "admin").username,
        }
    with serving(web_app(database=empty_database, clock=clock)) as base:
        yield base, names


def test_the_admin_makes_a_dish_prices_it_takes_a_phone_order_and_opens_the_dashboard(
    menu_server,
    browser,
    empty_database,
):
    base, names = menu_server
    dialect = empty_database.dialect
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900}).new_page()
    page.goto(f"{base}/admin/dishes")
    log_in(page, names["admin"])
    assert page.url == f"{base}/admin/dishes"

    # A new dish with a soft, low-salt variant.
    form = page.locator("#dish-form")
    form.locator("input[name=code]").fill("STEAMEGG")
    form.locator("input[name=name_zh]").fill("蒸水蛋")
    form.locator("input[name=name_en]").fill("Steamed egg custard")
    form.locator("input[name=allergens][value=egg]").check()
    form.locator("select[name=variant_code]").nth(1).select_option(label="软食")
    form.locator("select[name=variant_texture]").nth(1).select_option("soft")
    form.locator("input[name=variant_diet][value='1:low_salt']").check()
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    assert "已保存" in page.locator(".done").inner_text()

    # On Friday's lunch menu, with a price of three decimals: refused next to the price.
    page.locator("nav.main-nav").get_by_role("link", name="菜单", exact=True).click()
    page.wait_for_load_state()
    item = page.locator("#menu-item-form")
    item.locator("input[name=service_date]").fill("2026-11-27")
    item.locator("select[name=slot]").select_option("lunch")
    # The dish in the variants it has, by name: nothing to type.
    item.locator("select[name=dish_variant]").select_option(label="蒸水蛋 · 软食")
    item.locator("input[name=price]").fill("8.505")
    with page.expect_navigation():
        item.locator("button[type=submit]").click()
    error = page.locator("#menu-item-form [data-field=price]")
    assert "12.50" in error.inner_text() and "价格" in error.inner_text()
    assert page.locator("#menu-item-form input[name=price]").input_value() == "8.505"
    page.screenshot(path=ARTIFACTS / f"menu-bad-price-{dialect}.png", full_page=True)
    page.locator("#menu-item-form input[name=price]").fill("8.50")
    with page.expect_navigation():
        page.locator("#menu-item-form button[type=submit]").click()
    friday = page.locator("#menu-2026-11-27-lunch")
    assert "蒸水蛋" in friday.inner_text() and "¥8.50" in friday.inner_text()
    assert page.locator("[data-field=price]").count() == 0
    page.screenshot(path=ARTIFACTS / f"menus-{dialect}.png", full_page=True)

    # A phone-in order for today's dinner.
    page.locator("nav.main-nav").get_by_role("link", name="订单", exact=True).click()
    page.wait_for_load_state()
    phone = page.locator("#phone-in-form")
    # Search first: no elder to choose until the caller's name is looked up.
    assert phone.locator("select[name=elder_id]").count() == 0
    name = names["elder"].split(" ")[0]
    page.locator("#phone-in-find input[name=elder_q]").fill(name)
    with page.expect_navigation():
        page.locator("#phone-in-find button[type=submit]").click()
    # Only the matches, each reading "name · age · community · ID tail (#no.)": picked by
    # her number.
    choices = phone.locator("select[name=elder_id] option").all_inner_texts()
    assert choices and all(name in c for c in choices if c != "—")
    number = names["elder"].rsplit("#", 1)[1].rstrip(")")
    phone.locator("select[name=elder_id]").select_option(number)
    options = phone.locator("select[name=item_id] option").all_inner_texts()
    dinner = next(o for o in options if "晚餐" in o)
    phone.locator("select[name=item_id]").select_option(label=dinner)
    with page.expect_navigation():
        phone.locator("button[type=submit]").click()
    assert "已下单" in page.locator(".done").inner_text()
    placed = page.locator("table.board tbody tr", has_text="工作人员")
    assert placed.count() == 1 and names["elder"].split(" ")[0] in placed.inner_text()
    page.screenshot(path=ARTIFACTS / f"orders-board-{dialect}.png", full_page=True)

    # The dashboard, charts drawn on the server.
    page.locator("nav.main-nav").get_by_role("link", name="数据看板").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text().startswith("数据看板")
    assert page.locator("svg.chart").count() >= 3
    assert page.locator("#meals strong").inner_text() == "3"
    page.screenshot(path=ARTIFACTS / f"dashboard-{dialect}.png", full_page=True)
