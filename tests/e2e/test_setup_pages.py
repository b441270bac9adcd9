"""A new programme set up in a real headless browser (Debian's chromium), in Chinese and in
English: the admin of an empty database lands on the set-up checklist and walks it through
communities, a central kitchen with its lunch, a rider, a community worker and a staff
account, each mistake shown next to its field in the reader's language with nothing saved;
downloads the set-up file and brings it back; then dishes and today's menu, a funder and its
subsidy rule, an elder registered on her page; and her first order, placed in the chat sandbox's
page (the stand-in for Telegram, `mealaid bot --sandbox`), is on the orders board with every
step of the checklist done. Nothing but clicking and typing in pages (the sandbox page's
polling clock is moved on rather than waited for). Screenshots go to test-artifacts/."""

import json
import re
import time
from datetime import datetime

import pytest

from core.clock import FixedClock
from core.settings import get_settings
from tests.apps import web_app
from tests.conftest import SHANGHAI
from tests.e2e.browser import ARTIFACTS, log_in, needs_chromium, serving
from tests.e2e.chat import Chat
from tests.elder_files import HEADERS_EN, csv_file, elder_row
from tests.factories import Factory, make_staff

pytestmark = needs_chromium

WORDS = {
    "zh-CN": {
        "checklist": "设置清单",
        "missing": "待完成",
        "done": "已完成",
        "saved": "已保存",
        "number": "数字",
        "window": "送餐时段",
        "needs": "社区",
        "kind": "中央厨房",
        "no": "否",
        "kept": "原已存在",
        "dish": "番茄炒蛋",
        "funder": "广州市民政局",
    },
    "en": {
        "checklist": "Set-up checklist",
        "missing": "missing",
        "done": "done",
        "saved": "Saved.",
        "number": "number",
        "window": "delivery window",
        "needs": "communities",
        "kind": "central kitchen",
        "no": "no",
        "kept": "already here",
        "dish": "Tomato and egg",
        "funder": "Guangzhou Civil Affairs",
    },
}
# What the elder, registered in the reader's language, sees and presses in the chat sandbox.
CHAT = {
    "zh-CN": {
        "language": "中文",
        "share": "分享手机号",
        "order": "🍱 订餐",
        "today": "今天",
        "lunch": "午餐",
        "confirm": "✅ 确认下单",
        "ordered": "订好了",
    },
    "en": {
        "language": "English",
        "share": "Share my phone number",
        "order": "🍱 Order a meal",
        "today": "Today",
        "lunch": "Lunch",
        "confirm": "✅ Confirm",
        "ordered": "Ordered",
    },
}
ELDER_PHONE = "13800001234"


@pytest.fixture
def empty_programme(empty_database):
    """The web app on an empty programme (one admin), Wednesday 08:00 before lunch's cutoff, and
    the chat sandbox (the stand-in and the bot) on the same database and clock."""
    clock = FixedClock(datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI))
    with empty_database.transaction() as session:
        admin = make_staff(Factory(session, clock), "admin").username
    chat = Chat(empty_database, clock)
    # The checklist links to this sandbox's page (MEALAID_SANDBOX_URL).
    settings = get_settings().model_copy(update={"sandbox_url": f"{chat.sandbox.url}/sandbox/"})
    try:
        with serving(web_app(database=empty_database, clock=clock, settings=settings)) as base:
            yield base, admin, chat.sandbox.url
    finally:
        chat.close()


def _state(page, step: str) -> str:
    return page.locator(f"li[data-step={step}] .state").inner_text().strip()


def _choose(select, text: str) -> None:
    """Choose the option whose words contain `text`."""
    value = select.locator("option", has_text=text).first.get_attribute("value")
    select.select_option(value)


def _shown(page, locator) -> None:
    """Wait until the sandbox page shows `locator`. The page looks at the chat again 0.3 s
    after a tap and every 1.5 s (setTimeout, setInterval): its clock (installed by the test)
    is moved on to its next look instead of waited for; the bot answers in its own time."""
    deadline = time.monotonic() + 15
    while not locator.is_visible():
        assert time.monotonic() < deadline, f"the sandbox page never showed {locator}"
        page.clock.run_for(1500)
        page.wait_for_timeout(50)


def _press_in_sandbox(page, where: str, label: str) -> None:
    """Press the newest button in the sandbox page's chat (`#chat`) or keyboard (`#keys`)
    whose words contain `label`, once the bot has shown it."""
    button = page.locator(f"{where} button", has_text=label).last
    _shown(page, button)
    button.click()


def _register_an_elder(page) -> None:
    page.locator("li[data-step=elders] .links a[href='/elders/new']").click()
    page.wait_for_load_state()
    form = page.locator("form.elder-form")
    form.locator("input[name=name]").fill("李阿婆")
    form.locator("input[name=birth_date]").fill("1941-07-25")
    form.locator("input[name=phone]").fill(ELDER_PHONE)
    _choose(form.locator("select[name=community_id]"), "北京街社区")
    form.locator("input[name=address]").fill("北京街12号")
    form.locator("input[name=consent]").check()
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    assert re.search(r"/elders/\d+", page.url), page.url


def _import_an_elder(page) -> None:
    row = elder_row(
        1, "北京街社区", 姓名="李阿婆", 手机=ELDER_PHONE, 类别="", 饮食="", 质地="", 过敏=""
    )
    page.locator("li[data-step=elders] .links a[href='/elders/import']").click()
    page.wait_for_load_state()
    page.locator("input[type=file]").set_input_files(
        files=[
            {"name": "elders.csv", "mimeType": "text/csv", "buffer": csv_file(HEADERS_EN, [row])}
        ]
    )
    with page.expect_navigation():
        page.get_by_role("button", name="Import", exact=True).click()
    assert "New elders: 1," in page.locator("#import-notice").inner_text()


def _submit(page, form: str) -> None:
    with page.expect_navigation():
        page.locator(f"{form} button[type=submit]").click()


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_the_admin_of_an_empty_programme_walks_the_set_up_checklist(
    empty_programme, browser, empty_database, language
):
    base, admin, sandbox = empty_programme
    words = WORDS[language]
    shot = f"{empty_database.dialect}-{language}"
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_context(
        locale=language, viewport={"width": 1280, "height": 900}, accept_downloads=True
    ).new_page()

    # An empty programme opens on the checklist, every step missing.
    page.goto(f"{base}/")
    log_in(page, admin)
    assert page.url == f"{base}/admin/setup"
    assert words["checklist"] in page.locator("h1").inner_text()
    for step in ("communities", "sites", "menus", "policy", "staff", "elders"):
        assert _state(page, step) == words["missing"]
    page.screenshot(path=ARTIFACTS / f"setup-empty-{shot}.png", full_page=True)

    # A community: a latitude that is not a number is refused next to it, nothing saved.
    page.locator("li[data-step=communities] .links a").first.click()
    page.wait_for_load_state()
    form = page.locator("#community-form")
    form.locator("input[name=code]").fill("YX-BJ")
    form.locator("input[name=name]").fill("北京街社区")
    form.locator("input[name=street]").fill("北京街")
    form.locator("input[name=district]").fill("越秀区")
    form.locator("input[name=city]").fill("广州市")
    form.locator("input[name=lat]").fill("north")
    form.locator("input[name=lon]").fill("113.27")
    _submit(page, "#community-form")
    error = page.locator("#community-form [data-field=lat]")
    assert words["number"] in error.inner_text()
    assert page.locator("#community-form input[name=name]").input_value() == "北京街社区"
    page.locator("#community-form input[name=lat]").fill("23.125")
    _submit(page, "#community-form")
    assert words["saved"] in page.locator(".done").inner_text()
    assert "北京街社区" in page.locator("table.communities").inner_text()

    # A central kitchen serving that community.
    page.goto(f"{base}/admin/sites")
    form = page.locator("#site-form")
    form.locator("input[name=code]").fill("K1")
    form.locator("input[name=name]").fill("越秀中央厨房")
    form.locator("select[name=kind]").select_option("central_kitchen")
    form.locator("input[name=address]").fill("越华路1号")
    form.locator("input[name=lat]").fill("23.13")
    form.locator("input[name=lon]").fill("113.27")
    _choose(form.locator("select[name=community_id]"), "北京街社区")
    form.locator("input[name=phone]").fill("020-8888 0001")
    form.locator("input[name=serves_community_ids]").first.check()
    _submit(page, "#site-form")
    assert re.search(r"/admin/sites/\d+", page.url)
    assert words["saved"] in page.locator(".done").inner_text()

    # Its lunch: a delivery window that ends before it starts is refused, then put right.
    slot = page.locator("#slot-form")
    slot.locator("select[name=slot]").select_option("lunch")
    slot.locator("input[name=cutoff_time]").fill("09:30")
    slot.locator("input[name=delivery_start]").fill("12:30")
    slot.locator("input[name=delivery_end]").fill("11:00")
    _submit(page, "#slot-form")
    assert words["window"] in page.locator(".error-message").inner_text()
    page.locator("#slot-form input[name=delivery_start]").fill("11:00")
    page.locator("#slot-form input[name=delivery_end]").fill("12:30")
    _submit(page, "#slot-form")
    assert "11:00–12:30" in page.locator("table.slots").inner_text()
    page.screenshot(path=ARTIFACTS / f"setup-site-{shot}.png", full_page=True)

    # A rider of that kitchen and the community's worker.
    page.goto(f"{base}/admin/riders")
    form = page.locator("#rider-form")
    form.locator("input[name=name]").fill("陈师傅")
    form.locator("input[name=phone]").fill("13900000001")
    form.locator("select[name=kitchen_id]").select_option(label="越秀中央厨房")
    form.locator("input[name=capacity]").fill("25")
    _submit(page, "#rider-form")
    assert "陈师傅" in page.locator("table.riders").inner_text()
    page.goto(f"{base}/admin/workers")
    form = page.locator("#worker-form")
    form.locator("input[name=name]").fill("王社工")
    form.locator("input[name=phone]").fill("13600000001")
    _choose(form.locator("select[name=community_id]"), "北京街社区")
    # The communities she covers besides her own are ticked (one community so far: the same).
    form.locator("input[name=community_ids]").first.check()
    _submit(page, "#worker-form")
    assert "王社工\t北京街社区" in page.locator("table.workers").inner_text()

    # Her login: without her community it is refused, saying what is missing.
    page.goto(f"{base}/admin/accounts")
    form = page.locator("#account-form")
    form.locator("input[name=username]").fill("wang.sg")
    form.locator("input[name=display_name]").fill("王社工")
    form.locator("select[name=role]").select_option("community_worker")
    _submit(page, "#account-form")
    assert words["needs"] in page.locator("#account-form [data-field=community_ids]").inner_text()
    page.locator("#account-form input[name=community_ids]").first.check()
    _submit(page, "#account-form")
    password = page.locator("#new-password code").inner_text()
    assert len(password) >= 12
    row = page.locator("tr[data-username='wang.sg']")
    assert "北京街社区" in row.inner_text()
    page.screenshot(path=ARTIFACTS / f"setup-accounts-{shot}.png", full_page=True)
    # She forgot it: a new one, shown once; then she leaves, and her account is disabled.
    with page.expect_navigation():
        row.locator("form[action$='/password'] button").click()
    again = page.locator("#new-password code").inner_text()
    assert again != password and len(again) >= 12
    with page.expect_navigation():
        page.locator("tr[data-username='wang.sg'] form[action$='/active'] button").click()
    assert words["saved"] in page.locator(".done").inner_text()
    cells = page.locator("tr[data-username='wang.sg'] td")
    assert cells.nth(4).inner_text().strip() == words["no"]

    # The checklist now: communities and sites done; staff not, since the one account besides
    # the admin's is disabled; menus, policy and elders to go.
    page.locator("nav.main-nav a[href='/admin/setup']").click()
    page.wait_for_load_state()
    assert _state(page, "communities") == words["done"]
    assert _state(page, "sites") == words["done"]
    assert _state(page, "staff") == words["missing"]
    assert _state(page, "menus") == words["missing"]
    assert _state(page, "elders") == words["missing"]

    # The set-up as one file, for the next district.
    with page.expect_download() as download:
        page.locator("#export-form button[type=submit]").click()
    document = json.loads(download.value.path().read_text(encoding="utf-8"))
    assert [c["code"] for c in document["communities"]] == ["YX-BJ"]
    assert document["sites"][0]["slots"][0]["delivery_start"] == "11:00:00"
    assert "elders" not in document

    # The same file brought back: everything in it is here already and kept; a file that is no
    # set-up is refused, saying so.
    page.locator("input[name=file]").set_input_files(str(download.value.path()))
    _submit(page, "form[action='/admin/setup/import']")
    assert words["kept"] in page.locator(".done").inner_text()
    page.locator("input[name=file]").set_input_files(
        files=[{"name": "notes.json", "mimeType": "application/json", "buffer": b"[1, 2]"}]
    )
    _submit(page, "form[action='/admin/setup/import']")
    assert "MealAid" in page.locator(".error-message").inner_text()
    page.screenshot(path=ARTIFACTS / f"setup-import-{shot}.png", full_page=True)

    # She is back: her account enabled again (the staff step needs one besides the admin's).
    page.locator("li[data-step=staff] .links a[href='/admin/accounts']").click()
    page.wait_for_load_state()
    with page.expect_navigation():
        page.locator("tr[data-username='wang.sg'] form[action$='/active'] button").click()
    assert page.locator("tr[data-username='wang.sg'] td").nth(4).inner_text().strip() != words["no"]
    page.goto(f"{base}/admin/setup")

    # Dishes and menus, through the checklist's links: a dish, on today's lunch at ¥15.00.
    page.locator("li[data-step=menus] .links a[href='/admin/dishes']").click()
    page.wait_for_load_state()
    form = page.locator("#dish-form")
    form.locator("input[name=code]").fill("TOMEGG")
    form.locator("input[name=name_zh]").fill("番茄炒蛋")
    form.locator("input[name=name_en]").fill("Tomato and egg")
    form.locator("input[name=allergens][value=egg]").check()
    _submit(page, "#dish-form")
    assert words["saved"] in page.locator(".done").inner_text()
    page.goto(f"{base}/admin/setup")
    page.locator("li[data-step=menus] .links a[href='/admin/menus']").click()
    page.wait_for_load_state()
    item = page.locator("#menu-item-form")
    item.locator("input[name=service_date]").fill("2026-11-25")
    item.locator("select[name=slot]").select_option("lunch")
    _choose(item.locator("select[name=dish_variant]"), words["dish"])
    item.locator("input[name=price]").fill("15.00")
    _submit(page, "#menu-item-form")
    today = page.locator("#menu-2026-11-25-lunch")
    assert words["dish"] in today.inner_text() and "¥15.00" in today.inner_text()

    # The policy: the city's civil-affairs bureau pays ¥3.00 of every portion, from today (a
    # new rule cannot start in the past).
    page.goto(f"{base}/admin/setup")
    page.locator("li[data-step=policy] .links a[href='/admin/policy']").click()
    page.wait_for_load_state()
    page.locator("#funder-form").locator("xpath=..").locator("summary").click()
    form = page.locator("#funder-form")
    form.locator("input[name=code]").fill("GZ-CIVIL")
    form.locator("input[name=name_zh]").fill("广州市民政局")
    form.locator("input[name=name_en]").fill("Guangzhou Civil Affairs")
    form.locator("select[name=share]").select_option("government")
    form.locator("select[name=layer]").select_option("city")
    form.locator("input[name=city]").fill("广州市")
    _submit(page, "#funder-form")
    assert "GZ-CIVIL" in page.locator("table.funders").inner_text()
    with page.expect_navigation():
        page.locator("a[href='/admin/policy/rules/new']").click()
    form = page.locator("#rule-form")
    form.locator("input[name=code]").fill("CITY-BASE")
    form.locator("select[name=funder_id]").select_option(label=words["funder"])
    form.locator("input[name=effective_from]").fill("2026-11-25")
    form.locator("input[name=amount]").fill("3")
    with page.expect_navigation():
        form.locator("button[name=action][value=publish]").click()
    assert page.locator(".done").count() == 1
    page.goto(f"{base}/admin/policy")
    assert "CITY-BASE" in page.locator("table.rules").inner_text()

    # An elder: in Chinese registered on her page, in English brought in from the district's
    # list (a CSV file with English headers) on the import page. No location typed: she is
    # placed at her community's centre. Her phone is the one she will chat from.
    page.goto(f"{base}/admin/setup")
    if language == "zh-CN":
        _register_an_elder(page)
    else:
        _import_an_elder(page)
    page.screenshot(path=ARTIFACTS / f"setup-elder-{shot}.png", full_page=True)

    # Her first order, in the chat sandbox's page, which the checklist opens in a new tab: she
    # starts with her phone, shares it, and orders today's lunch.
    page.goto(f"{base}/admin/setup")
    link = page.locator("li[data-step=first-order] a.sandbox-link")
    assert link.get_attribute("href") == f"{sandbox}/sandbox/"
    assert "mealaid bot --sandbox" in page.locator("li[data-step=first-order]").inner_text()
    with page.context.expect_page() as opened:
        link.click()
    chat_page = opened.value
    chat_page.wait_for_load_state()
    chat_page.clock.install()  # its timers: moved on by _shown, not waited for
    chat_page.locator("#phone").fill(ELDER_PHONE)
    chat_page.locator("#go").click()
    said = CHAT[language]
    _press_in_sandbox(chat_page, "#chat", said["language"])
    _press_in_sandbox(chat_page, "#keys", said["share"])
    _press_in_sandbox(chat_page, "#keys", said["order"])
    _press_in_sandbox(chat_page, "#chat", said["today"])
    _press_in_sandbox(chat_page, "#chat", said["lunch"])
    _press_in_sandbox(chat_page, "#chat", words["dish"])
    _press_in_sandbox(chat_page, "#chat", said["confirm"])
    ordered = chat_page.locator("#chat .bot", has_text=said["ordered"])
    _shown(chat_page, ordered)
    assert "12.00" in ordered.inner_text()  # ¥15.00 less the city's ¥3.00
    chat_page.screenshot(path=ARTIFACTS / f"setup-first-order-{shot}.png", full_page=True)

    # The order is on today's board, and every step of the checklist is done.
    page.goto(f"{base}/orders")
    placed = page.locator("table.board tbody tr", has_text="李阿婆")
    assert placed.count() == 1
    page.locator("nav.main-nav a[href='/admin/setup']").click()
    page.wait_for_load_state()
    for step in ("communities", "sites", "menus", "policy", "staff", "elders"):
        assert _state(page, step) == words["done"], step
    assert page.locator("p.done").count() == 1
    page.screenshot(path=ARTIFACTS / f"setup-done-{shot}.png", full_page=True)
