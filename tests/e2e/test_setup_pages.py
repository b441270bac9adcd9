"""A new programme set up in a real headless browser (Debian's chromium), in Chinese and in
English: the admin of an empty database lands on the set-up checklist and walks it through
communities, a central kitchen with its lunch, a rider, a community worker and a staff
account, each mistake shown next to its field in the reader's language with nothing saved;
then downloads the set-up file. Screenshots go to test-artifacts/."""

import json
import re
from datetime import datetime

import pytest

from api.app import create_app
from core.clock import FixedClock
from tests.conftest import SHANGHAI
from tests.e2e.browser import ARTIFACTS, log_in, needs_chromium, serving
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
    },
}


@pytest.fixture
def empty_programme(empty_database):
    clock = FixedClock(datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI))
    with empty_database.transaction() as session:
        admin = make_staff(Factory(session, clock), "admin").username
    with serving(create_app(database=empty_database, clock=clock)) as base:
        yield base, admin


def _state(page, step: str) -> str:
    return page.locator(f"li[data-step={step}] .state").inner_text().strip()


def _choose(select, text: str) -> None:
    """Choose the option whose words contain `text`."""
    value = select.locator("option", has_text=text).first.get_attribute("value")
    select.select_option(value)


def _submit(page, form: str) -> None:
    with page.expect_navigation():
        page.locator(f"{form} button[type=submit]").click()


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_the_admin_of_an_empty_programme_walks_the_set_up_checklist(
    empty_programme, browser, empty_database, language
):
    base, admin = empty_programme
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
    _submit(page, "#worker-form")
    assert "王社工" in page.locator("table.workers").inner_text()

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
