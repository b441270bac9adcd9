"""The subsidy policy pages in a real headless browser (Debian's chromium): the admin opens a
rule, drafts its next version ("every elder except 特困", more per meal), previews it for every
category at every site beside today's rules, fixes a refused amount, publishes, and sees the
new version waiting for its day. Screenshots go to test-artifacts/."""

from datetime import date, datetime

import pytest
from sqlmodel import select

from billing.models import SubsidyRule
from core.clock import FixedClock
from tests.apps import web_app
from tests.conftest import SHANGHAI
from tests.e2e.browser import ARTIFACTS, log_in, needs_chromium, serving
from tests.factories import Factory, PolicyFactory, make_staff

pytestmark = needs_chromium


@pytest.fixture
def policy_server(empty_database):
    clock = FixedClock(datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI))
    with empty_database.transaction() as session:
        make = Factory(session, clock)
        make.world()
        rules = PolicyFactory(session)
        city = rules.funder(name_zh="广州市民政局", name_en="Guangzhou Civil Affairs")
        rules.rule(city, code="CITY-BASE", amount_fen=300, effective_from=date(2026, 1, 1))
        admin = make_staff(make, "admin").username
    with serving(web_app(database=empty_database, clock=clock)) as base:
        yield base, admin


def test_the_admin_previews_a_rules_next_version_then_publishes_it(
    policy_server, browser, empty_database
):
    base, admin = policy_server
    dialect = empty_database.dialect
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900}).new_page()
    page.goto(f"{base}/admin/policy")
    log_in(page, admin)
    assert page.url == f"{base}/admin/policy"
    rules = page.locator("table.rules")
    assert "CITY-BASE" in rules.inner_text() and "每份 ¥3.00" in rules.inner_text()

    page.get_by_role("link", name="CITY-BASE").click()
    page.wait_for_load_state()
    form = page.locator("#rule-form")
    # The next version starts tomorrow, from the version in force: ¥3.00 a portion.
    assert form.locator("input[name=effective_from]").input_value() == "2026-11-26"
    assert form.locator("input[name=amount]").input_value() == "3.00"
    form.locator("input[name=excluded_categories][value=tekun]").check()
    form.locator("input[name=amount]").fill("4.505")
    with page.expect_navigation():
        form.get_by_role("button", name="预览").click()
    error = page.locator("#rule-form [data-field=amount]")
    assert "每份金额" in error.inner_text() and "12.50" in error.inner_text()
    # What was typed stays, the excluded category still ticked.
    assert form.locator("input[name=excluded_categories][value=tekun]").is_checked()

    form.locator("input[name=amount]").fill("5")
    with page.expect_navigation():
        form.get_by_role("button", name="预览").click()
    table = page.locator("#preview-table")
    rows = table.locator("tbody tr")
    assert rows.count() == 10  # nine categories and none, at the one site
    tekun = table.locator("tr", has_text="特困")
    # Today the city pays ¥3.00 for her; under the draft nothing: she pays ¥15.00.
    assert "¥3.00" in tekun.locator("td").nth(3).inner_text()
    assert tekun.locator("td").nth(6).inner_text() == "¥15.00"
    plain = table.locator("tr", has_text="无类别")
    assert plain.locator("td").nth(5).inner_text() == "¥12.00"
    assert plain.locator("td").nth(6).inner_text() == "¥10.00"
    page.screenshot(path=ARTIFACTS / f"policy-preview-{dialect}.png", full_page=True)
    with empty_database.reading() as session:
        assert len(session.exec(select(SubsidyRule)).all()) == 1  # a preview writes nothing

    with page.expect_navigation():
        page.locator("#rule-form").get_by_role("button", name="发布").click()
    assert "已发布第 2 版" in page.locator(".done").inner_text()
    versions = page.locator("table.versions tbody tr")
    assert versions.count() == 2
    assert "排除：特困" in versions.first.inner_text()
    page.goto(f"{base}/admin/policy")
    line = page.locator("table.rules tr", has_text="CITY-BASE")
    assert "第 2 版，自" in line.inner_text() and "每份 ¥5.00" in line.inner_text()
    with empty_database.reading() as session:
        second = session.exec(select(SubsidyRule).where(SubsidyRule.version == 2)).one()
        assert (second.amount_fen, second.excluded_categories) == (500, ["tekun"])
        assert second.effective_from == date(2026, 11, 26)
