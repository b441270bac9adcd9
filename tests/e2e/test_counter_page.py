"""The canteen counter on a phone: canteen staff log in, land on today's counter, find an
elder by the last digits of her phone or by a photo of her meal card, tap once to mark her meal
served, and at the end mark the rest not collected (two taps: open, confirm)."""

from datetime import datetime

import pytest
from playwright.sync_api import Error as PlaywrightError
from sqlmodel import select

from core.audit import AuditEntry
from core.clock import FixedClock
from core.models import Elder, Order
from core.types import OrderStatus, ServiceMode
from tests.apps import web_app
from tests.cards import card_photo
from tests.conftest import SHANGHAI
from tests.e2e.browser import ARTIFACTS, log_in, needs_chromium, serving
from tests.factories import Factory, closed_lunch, make_staff
from usecases import meal_cards

pytestmark = needs_chromium


@pytest.fixture
def counter_server(empty_database):
    clock = FixedClock(datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI))
    with empty_database.transaction() as session:
        make = Factory(session, clock)
        site, dishes, _ = make.world()
        closed_lunch(
            make,
            site,
            dishes[0],
            [
                ("陈桂英", "13800001234", ServiceMode.dine_in),
                ("黄志强", "13900005678", ServiceMode.pickup),
                ("何丽珍", "13700002468", ServiceMode.dine_in),
            ],
        )
        canteen = make_staff(make, "canteen", site_ids=[site.id]).username
    clock.set(datetime(2026, 11, 25, 11, 40, tzinfo=SHANGHAI))
    with serving(web_app(database=empty_database, clock=clock)) as base:
        yield base, canteen


def test_canteen_staff_find_an_elder_by_phone_digits_and_serve_her_meal(
    counter_server, browser, empty_database
):
    base, canteen = counter_server
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(f"{base}/login")
    log_in(page, canteen)
    assert page.url == f"{base}/counter"
    assert page.locator("li.counter-meal").count() == 3
    assert "还有 3 份餐待发放" in page.locator("main").inner_text()
    page.locator("input[name=q]").fill("1234")
    with page.expect_navigation():
        page.get_by_role("button", name="查找").click()
    meals = page.locator("li.counter-meal")
    assert meals.count() == 1 and "陈桂英" in meals.inner_text() and "…1234" in meals.inner_text()
    with page.expect_navigation():
        meals.get_by_role("button", name="确认就餐").click()
    assert "已记为已发放" in page.locator("main").inner_text()
    assert "已堂食" in page.locator("li.counter-meal").inner_text()
    assert page.locator("input[name=q]").input_value() == "1234"  # back where she was
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"counter-{empty_database.dialect}.png", full_page=True)

    page.goto(f"{base}/counter")
    page.locator("details.not-collected summary").click()
    with page.expect_navigation():
        page.get_by_role("button", name="将 2 份餐记为未领取").click()
    text = page.locator("main").inner_text()
    assert "已将 2 份餐记为未领取" in text and "还有 0 份餐待发放" in text
    assert page.locator("li.counter-meal form:not(.undo)").count() == 0
    page.screenshot(path=ARTIFACTS / f"counter-after-{empty_database.dialect}.png", full_page=True)
    context.close()


def test_canteen_staff_scan_an_elders_meal_card_and_serve_her_meal(
    counter_server, browser, empty_database, tmp_path
):
    """The phone's camera is the file input's (capture="environment"); here the photo it
    would take is given to the input, as Playwright gives files."""
    base, canteen = counter_server
    with empty_database.reading() as session:
        elder = session.exec(select(Elder).where(Elder.name == "何丽珍")).one()
    photo = tmp_path / "card.jpg"
    photo.write_bytes(card_photo(empty_database, elder.id))
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(f"{base}/login")
    log_in(page, canteen)
    camera = page.locator("form.counter-scan input[type=file]")
    assert camera.get_attribute("accept") == "image/*"
    assert camera.get_attribute("capture") == "environment"
    camera.set_input_files(photo)
    with page.expect_navigation():
        page.get_by_role("button", name="读取卡片").click()
    meals = page.locator("li.counter-meal")
    assert meals.count() == 1 and "何丽珍" in meals.inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"counter-scan-{empty_database.dialect}.png", full_page=True)
    with page.expect_navigation():
        meals.get_by_role("button", name="确认就餐").click()
    assert "已记为已发放" in page.locator("main").inner_text()
    assert "已堂食" in page.locator("li.counter-meal").inner_text()
    # The same card again in the same meal: the page says she was served already.
    page.locator("form.counter-scan input[type=file]").set_input_files(photo)
    with page.expect_navigation():
        page.get_by_role("button", name="读取卡片").click()
    assert "已发放过" in page.locator("main").inner_text()
    assert page.locator("li.counter-meal form:not(.undo)").count() == 0
    page.screenshot(
        path=ARTIFACTS / f"counter-scan-again-{empty_database.dialect}.png", full_page=True
    )
    context.close()


def test_a_mark_is_undone_and_a_mark_made_offline_is_sent_when_the_connection_is_back(
    counter_server, browser, empty_database, tmp_path
):
    """On a phone: found by phone digits, served, taken back (Undo, within minutes); then
    the connection drops: the mark stays on the phone, shown as not sent yet, and
    goes when the connection is back, counted once; at the end the rest not collected, and
    one of them taken back. A sheet of the community's meal cards is written for a look."""
    base, canteen = counter_server
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(f"{base}/login")
    log_in(page, canteen)
    page.locator("input[name=q]").fill("1234")
    with page.expect_navigation():
        page.get_by_role("button", name="查找").click()
    meal = page.locator("li.counter-meal")
    with page.expect_navigation():
        meal.get_by_role("button", name="确认就餐").click()
    assert "已堂食" in meal.inner_text() and "11:45 前" in meal.inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"counter-undo-{empty_database.dialect}.png", full_page=True)
    with page.expect_navigation():
        meal.get_by_role("button", name="撤销").click()
    assert "已撤销" in page.locator("main").inner_text()
    assert meal.get_by_role("button", name="确认就餐").count() == 1

    # The connection drops: the tap is kept and shown as not sent.
    page.goto(f"{base}/counter")
    context.set_offline(True)
    row = page.locator("li.counter-meal", has_text="黄志强")
    row.get_by_role("button", name="确认领取").click()
    row.locator(".pending-note").wait_for()
    assert "尚未发送" in row.inner_text()
    assert page.locator("#offline-note").is_visible()
    page.screenshot(
        path=ARTIFACTS / f"counter-offline-{empty_database.dialect}.png", full_page=True
    )
    with empty_database.reading() as session:
        assert _status(session, "黄志强") == OrderStatus.locked
    with page.expect_navigation():
        context.set_offline(False)  # back: sent, and the page shows what was recorded
    row = page.locator("li.counter-meal", has_text="黄志强")
    assert "已取餐" in row.inner_text() and row.locator(".pending-note").count() == 0
    with empty_database.reading() as session:
        assert _status(session, "黄志强") == OrderStatus.picked_up
        served = session.exec(
            select(AuditEntry.detail).where(AuditEntry.action == "counter_served")
        ).all()
    assert len(served) == 2  # 陈桂英 (then taken back), and 黄志强 once
    assert page.evaluate("localStorage.getItem('mealaid.marks.pending')") == "[]"

    # The rest not collected; one of them taken back (she came after all) and served.
    page.locator("details.not-collected summary").click()
    with page.expect_navigation():
        page.get_by_role("button", name="将 2 份餐记为未领取").click()
    # Said as the counter says it: not collected (not "nobody at the door").
    assert "未领取" in page.locator("li.counter-meal", has_text="陈桂英").inner_text()
    late = page.locator("li.counter-meal", has_text="何丽珍")
    with page.expect_navigation():
        late.get_by_role("button", name="撤销").click()
    with page.expect_navigation():
        page.locator("li.counter-meal", has_text="何丽珍").get_by_role(
            "button", name="确认就餐"
        ).click()
    with empty_database.reading() as session:
        assert _status(session, "何丽珍") == OrderStatus.dined_in
        assert _status(session, "陈桂英") == OrderStatus.no_answer
    page.screenshot(path=ARTIFACTS / f"counter-end-{empty_database.dialect}.png", full_page=True)
    context.close()

    with empty_database.reading() as session:
        community = session.exec(select(Elder.community_id)).first()
        sheet = meal_cards.cards_pdf(
            meal_cards.cards_for(session=session, community_id=community), "zh_CN", phone="12345"
        )
    # For a look (docs: converted with pdftoppm where installed).
    (ARTIFACTS / f"meal-cards-{empty_database.dialect}.pdf").write_bytes(sheet)
    assert sheet.startswith(b"%PDF")


def _status(session, name: str) -> OrderStatus:
    return session.exec(
        select(Order.status).join(Elder, Elder.id == Order.elder_id).where(Elder.name == name)
    ).one()


def test_a_mark_kept_offline_waits_for_a_login_when_the_session_ended(
    counter_server, browser, empty_database
):
    """The phone was offline long enough for the session to end: the kept mark is not lost
    to the login page; once she logs in again the counter opens and sends it."""
    base, canteen = counter_server
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(f"{base}/login")
    log_in(page, canteen)
    context.set_offline(True)
    row = page.locator("li.counter-meal", has_text="黄志强")
    row.get_by_role("button", name="确认领取").click()
    row.locator(".pending-note").wait_for()
    context.clear_cookies()  # the session ended meanwhile
    # Back online, the page tries at once: refused (no session), the mark is kept.
    with page.expect_response(lambda response: response.request.method == "POST") as tried:
        context.set_offline(False)
    assert tried.value.status in (303, 403), tried.value.status
    page.wait_for_timeout(200)  # the page has dealt with the answer
    kept = page.evaluate("JSON.parse(localStorage.getItem('mealaid.marks.pending')).length")
    assert kept == 1
    with empty_database.reading() as session:
        assert _status(session, "黄志强") == OrderStatus.locked
    page.goto(f"{base}/login")
    log_in(page, canteen)  # lands on the counter, which sends what was kept
    for _ in range(50):  # (wait_for_function evaluates a string: the page's CSP forbids it)
        try:
            if page.evaluate("localStorage.getItem('mealaid.marks.pending')") == "[]":
                break
        except PlaywrightError:  # the page reloading after sending
            pass
        page.wait_for_timeout(100)
    page.wait_for_load_state()
    with empty_database.reading() as session:
        assert _status(session, "黄志强") == OrderStatus.picked_up
    context.close()
