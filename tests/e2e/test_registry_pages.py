"""The elders registry in a real browser (Debian's chromium through Playwright): a community
worker logs in, searches, registers an elder with a bad field and sees the error next to it,
fixes it and saves, issues a family-link code and pauses the elder's meals; then the welfare
board. Screenshots go to test-artifacts/."""

import re
from datetime import datetime, timedelta

import pytest

from core.clock import FixedClock
from core.orders import place_order
from core.types import Slot
from core.welfare import raise_alert
from tests.apps import web_app
from tests.conftest import SHANGHAI
from tests.e2e.browser import ARTIFACTS, log_in, needs_chromium, serving
from tests.factories import ORDER_LIMITS, WELFARE_LINE, Factory, make_staff

pytestmark = needs_chromium


@pytest.fixture
def registry_server(empty_database):
    clock = FixedClock(datetime(2026, 11, 25, 9, 0, tzinfo=SHANGHAI))
    with empty_database.transaction() as session:
        make = Factory(session, clock)
        east = make.community(name="东山社区")
        site = make.site(serves=[east])
        dish = make.dish()
        make.menu(site, [dish], slot=Slot.dinner)
        li = make.elder(east, name="李秀英", phone="13912345678")
        make.elder(east, name="王秀兰")
        make.elder(make.community(name="西关社区"), name="李伯")  # not this worker's
        order = place_order(
            session=session,
            clock=clock,
            elder_id=li.id,
            site_id=site.id,
            service_date=make.today,
            slot=Slot.dinner,
            dish_id=dish.id,
            variant="regular",
            idempotency_key="e2e-registry",
            **ORDER_LIMITS,
        )
        raise_alert(session=session, clock=clock, order=order, by="rider:1", **WELFARE_LINE)
        worker = make_staff(make, "community_worker", community_ids=[east.id]).username
    with serving(web_app(database=empty_database, clock=clock)) as base:
        yield base, worker, clock.now().date()


def test_a_community_worker_registers_an_elder_issues_a_code_and_pauses_meals(
    registry_server,
    browser,
    empty_database,
):
    base, worker, today = registry_server
    shot = lambda name: page.screenshot(  # noqa: E731
        path=ARTIFACTS / f"registry-{name}-{empty_database.dialect}.png", full_page=True
    )
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_context(locale="zh-CN", viewport={"width": 1100, "height": 900}).new_page()
    page.goto(f"{base}/elders")
    log_in(page, worker)
    assert page.url == f"{base}/elders"
    assert "长者" in page.locator("nav.main-nav").inner_text()

    page.locator("input[name=q]").fill("李")
    with page.expect_navigation():
        page.get_by_role("button", name="搜索").click()
    rows = page.locator("table.elders tbody tr")
    assert rows.count() == 1  # 李伯 lives in a community this worker does not look after
    assert "李秀英" in rows.nth(0).inner_text() and "139****5678" in rows.nth(0).inner_text()
    assert "13912345678" not in page.content()
    shot("search")

    page.get_by_role("link", name="登记长者").click()
    page.wait_for_load_state()
    page.locator("input[name=name]").fill("周伯")
    page.locator("input[name=birth_date]").fill("1938-01-02")
    page.locator("input[name=phone]").fill("139 0000 5555")
    page.locator("input[name=address]").fill("中山路8号")
    page.locator("input[name=lat]").fill("123")  # not a latitude
    page.locator("input[name=lon]").fill("113.26")
    page.locator("select[name=texture]").select_option("soft")
    page.get_by_label("鸡蛋").check()
    page.locator("select[name='categories.0.category']").select_option("dibao")
    page.locator("input[name='categories.0.valid_from']").fill("2026-01-01")
    page.locator("input[name='emergency_contacts.0.name']").fill("周女")
    page.locator("input[name='emergency_contacts.0.relation']").fill("女儿")
    page.locator("input[name='emergency_contacts.0.phone']").fill("13800002222")
    page.locator("input[name=consent]").check()
    with page.expect_navigation():
        page.get_by_role("button", name="保存").click()
    lat = page.locator("label", has=page.locator("input[name=lat]"))
    assert lat.locator(".field-error").inner_text() == "数字太大了。"
    assert page.locator("input[name=lat]").get_attribute("aria-invalid") == "true"
    assert page.locator("input[name=name]").input_value() == "周伯"  # what was typed is kept
    assert page.get_by_label("鸡蛋").is_checked()
    shot("bad-latitude")

    page.locator("input[name=lat]").fill("23.13")
    with page.expect_navigation():
        page.get_by_role("button", name="保存").click()
    assert re.fullmatch(rf"{base}/elders/\d+\?done=saved", page.url)
    assert page.locator("h1").inner_text() == "周伯"
    assert page.locator("p.done").inner_text() == "已保存。"
    assert page.locator("dd.phone").inner_text() == "139 0000 5555"  # in full, on this page
    shot("saved")

    with page.expect_navigation():
        page.get_by_role("button", name="发放家属关联码").click()
    code = page.locator(".link-code code").inner_text()
    assert re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}", code)
    assert "我有家属码" in page.locator(".instructions").inner_text()
    shot("link-code")
    page.get_by_role("link", name="返回长者页面").click()
    page.wait_for_load_state()
    assert code not in page.content()

    page.locator("input[name=start_date]").fill(str(today + timedelta(days=3)))
    page.locator("input[name=end_date]").fill(str(today + timedelta(days=1)))
    with page.expect_navigation():
        page.get_by_role("button", name="暂停用餐").click()
    end = page.locator("label", has=page.locator("input[name=end_date]"))
    assert end.locator(".field-error").inner_text() == "结束日期不能早于开始日期。"
    page.locator("input[name=end_date]").fill(str(today + timedelta(days=6)))
    page.locator("input[name=reason]").fill("住院")
    with page.expect_navigation():
        page.get_by_role("button", name="暂停用餐").click()
    pauses = page.locator("table.pauses tbody tr")
    assert pauses.count() == 1
    assert str(today + timedelta(days=3)) in pauses.nth(0).inner_text()
    assert "住院" in pauses.nth(0).inner_text()
    shot("paused")

    page.get_by_role("link", name="安全警报").click()
    page.wait_for_load_state()
    alert = page.locator("article.alert")
    assert alert.count() == 1 and "李秀英" in alert.inner_text()
    assert "配送员上门无人应答" in alert.inner_text()
    alert.locator("input[name=outcome]").fill("在社区医院，平安")
    with page.expect_navigation():
        alert.get_by_role("button", name="关闭警报").click()
    assert page.locator("p.done").inner_text() == "警报已关闭。"
    assert "没有未关闭的关怀警报" in page.locator("main").inner_text()
    shot("welfare")
