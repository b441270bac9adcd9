"""The kitchen's wall page in a real browser: the cooks switch day and meal on the page itself
(a form with the date and the kitchen's meals, and the day before and after), not by editing
the address."""

from datetime import datetime, timedelta

import pytest

from core.clock import FixedClock
from core.orders import place_order
from core.types import ServiceMode, SiteKind, Slot
from tests.apps import web_app
from tests.conftest import SHANGHAI
from tests.e2e.browser import ARTIFACTS, log_in, needs_chromium, serving
from tests.factories import ORDER_LIMITS, Factory, make_staff

pytestmark = needs_chromium


@pytest.fixture
def kitchen_server(empty_database):
    """A central kitchen serving lunch and dinner: lunch ordered today (白切鸡 x1), dinner
    tomorrow (清蒸鱼 x2 and 豆腐 soft x1)."""
    clock = FixedClock(datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI))
    with empty_database.transaction() as session:
        make = Factory(session, clock)
        community = make.community()
        kitchen = make.site(serves=[community], kind=SiteKind.central_kitchen)
        chicken = make.dish(name_zh="白切鸡", name_en="Poached chicken")
        fish = make.dish(name_zh="清蒸鱼", name_en="Steamed fish")
        tofu = make.dish(name_zh="家常豆腐", name_en="Home-style tofu")
        tomorrow = make.today + timedelta(days=1)
        make.menu(kitchen, [chicken], make.today, Slot.lunch)
        make.menu(kitchen, [fish, tofu], tomorrow, Slot.dinner)
        for key, (day, slot, dish, variant, quantity) in enumerate(
            [
                (make.today, Slot.lunch, chicken, "regular", 1),
                (tomorrow, Slot.dinner, fish, "regular", 2),
                (tomorrow, Slot.dinner, tofu, "soft", 1),
            ]
        ):
            place_order(
                session=session,
                clock=clock,
                elder_id=make.elder(community).id,
                site_id=kitchen.id,
                service_date=day,
                slot=slot,
                dish_id=dish.id,
                variant=variant,
                quantity=quantity,
                mode=ServiceMode.delivery,
                idempotency_key=f"kitchen-page-{key}",
                **ORDER_LIMITS,
            )
        kitchen_id = kitchen.id
        cook = make_staff(make, "kitchen", kitchen_id=kitchen_id).username
    with serving(web_app(database=empty_database, clock=clock)) as base:
        yield base, kitchen_id, cook


def totals(page) -> list[list[str]]:
    rows = page.locator("table.totals tbody tr")
    return [rows.nth(i).inner_text().split("\t") for i in range(rows.count())]


def test_the_cook_switches_day_and_meal_on_the_page(kitchen_server, browser, empty_database):
    base, kitchen_id, cook = kitchen_server
    page = browser.new_context(locale="zh-CN").new_page()
    page.goto(f"{base}/kitchens/{kitchen_id}/production")
    log_in(page, cook)
    heading = page.locator("h1")
    assert "11月25日 星期三 · 午餐" in heading.inner_text()
    assert [row[:3] for row in totals(page)] == [["白切鸡", "普通", "1"]]

    form = page.locator("form#kitchen-day")
    # The kitchen's own meals, in the reader's language: it serves no breakfast.
    assert form.locator("select[name=slot] option").all_inner_texts() == ["午餐", "晚餐"]
    form.locator("input[name=date]").fill("2026-11-26")
    form.locator("select[name=slot]").select_option(label="晚餐")
    with page.expect_navigation():
        form.get_by_role("button", name="查看").click()
    assert page.url.endswith(f"/kitchens/{kitchen_id}/production?date=2026-11-26&slot=dinner")
    assert "11月26日 星期四 · 晚餐" in heading.inner_text()
    assert [row[:3] for row in totals(page)] == [
        ["清蒸鱼", "普通", "2"],
        ["家常豆腐", "软食", "1"],
    ]
    # The form shows what is on the page.
    assert form.locator("input[name=date]").input_value() == "2026-11-26"
    assert form.locator("select[name=slot]").input_value() == "dinner"
    # The downloads follow the day and meal on the page.
    pdf = page.get_by_role("link", name="生产清单", exact=True)
    assert pdf.get_attribute("href").endswith("production.pdf?date=2026-11-26&slot=dinner")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"kitchen-switcher-{empty_database.dialect}.png")

    # The day before, same meal: nothing ordered for dinner today.
    with page.expect_navigation():
        page.get_by_role("link", name="前一天").click()
    assert "11月25日 星期三 · 晚餐" in heading.inner_text()
    assert totals(page) == []
    with page.expect_navigation():
        page.get_by_role("link", name="后一天").click()
    assert "11月26日 星期四 · 晚餐" in heading.inner_text()

    # In English too.
    page.goto(f"{base}/kitchens/{kitchen_id}/production?date=2026-11-26&slot=dinner&lang=en")
    assert form.locator("select[name=slot] option").all_inner_texts() == ["lunch", "dinner"]
    assert page.get_by_role("button", name="Show").is_visible()
    assert page.get_by_role("link", name="Next day").is_visible()


def test_a_bad_date_in_the_switcher_is_a_translated_message(kitchen_server, browser):
    base, kitchen_id, cook = kitchen_server
    page = browser.new_context(locale="zh-CN").new_page()
    page.goto(f"{base}/kitchens/{kitchen_id}/production")
    log_in(page, cook)
    response = page.goto(f"{base}/kitchens/{kitchen_id}/production?date=2026-13-40&slot=dinner")
    assert response.status == 422
    assert "日期" in page.locator(".error-message").inner_text()
    response = page.goto(f"{base}/kitchens/{kitchen_id}/production?date=2026-11-26&slot=supper")
    assert response.status == 422
    assert "餐次" in page.locator(".error-message").inner_text()
