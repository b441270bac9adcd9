"""The admin imports a district's elder list in a real browser (Debian's chromium through
Playwright): downloads the template, uploads a file with a bad check digit and an unknown
category, checks it (the problems by row and column, nothing written), imports only the clean
rows, then imports the corrected file (the elders already in are found and left, the last one
registered). Screenshots go to test-artifacts/."""

from datetime import datetime

import pytest
import sqlalchemy as sa

from core.clock import FixedClock
from core.models import Elder
from tests.apps import web_app
from tests.conftest import SHANGHAI
from tests.e2e.browser import ARTIFACTS, log_in, needs_chromium, serving
from tests.elder_files import HEADERS_ZH, elder_row, xlsx_file
from tests.factories import Factory, make_staff

pytestmark = needs_chromium


@pytest.fixture
def import_server(empty_database):
    clock = FixedClock(datetime(2026, 11, 25, 9, 0, tzinfo=SHANGHAI))
    with empty_database.transaction() as session:
        make = Factory(session, clock)
        make.community(name="六榕社区")
        admin = make_staff(make, "admin").username
    with serving(web_app(database=empty_database, clock=clock)) as base:
        yield base, admin


def names(database) -> list[str]:
    with database.reading() as session:
        return list(session.execute(sa.select(Elder.name).order_by(Elder.name)).scalars())


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_the_admin_checks_a_file_imports_the_clean_rows_then_the_corrected_file(
    import_server, browser, empty_database, tmp_path, locale
):
    base, admin = import_server
    ARTIFACTS.mkdir(exist_ok=True)
    shot = lambda name: page.screenshot(  # noqa: E731
        path=ARTIFACTS / f"elder-import-{name}-{locale}-{empty_database.dialect}.png",
        full_page=True,
    )
    chinese = locale == "zh-CN"
    good = [elder_row(n, "六榕社区") for n in (1, 2)]
    bad_digit = elder_row(3, "六榕社区")
    bad_digit[1] = bad_digit[1][:-1] + ("1" if bad_digit[1][-1] != "1" else "2")
    file = tmp_path / "老人名单.xlsx"
    file.write_bytes(
        xlsx_file(HEADERS_ZH, [*good, bad_digit, elder_row(4, "六榕社区", 类别="贵宾")])
    )

    page = browser.new_context(locale=locale, viewport={"width": 1100, "height": 900}).new_page()
    page.goto(f"{base}/elders")
    log_in(page, admin)
    page.get_by_role("link", name="导入长者" if chinese else "Import elders").click()
    page.wait_for_load_state()
    with page.expect_download() as download:
        page.get_by_role(
            "link", name="Excel，中文表头" if chinese else "Excel, Chinese headers"
        ).click()
    assert download.value.suggested_filename == "elders-template-zh_CN.xlsx"

    page.locator("input[type=file]").set_input_files(str(file))
    # The check runs in the page (api/static/elder_import.js): the file stays chosen.
    page.get_by_role(
        "button", name="检查（不写入）" if chinese else "Check (nothing is written)"
    ).click()
    page.wait_for_selector("#elder-import[data-checked]")
    assert page.locator("input[type=file]").evaluate("input => input.files.length") == 1
    problems = page.locator("#import-problems tbody tr")
    assert problems.count() == 2
    assert [problems.nth(i).locator("td").nth(0).inner_text() for i in range(2)] == ["4", "5"]
    assert problems.nth(0).locator("td").nth(1).inner_text() == "身份证号"
    assert problems.nth(1).locator("td").nth(1).inner_text() == "类别"
    assert "贵宾" in problems.nth(1).inner_text()
    assert ("校验位不符" if chinese else "a digit is mistyped") in problems.nth(0).inner_text()
    shot("checked")
    assert names(empty_database) == []

    # Import, the file as it was checked: refused as a whole while rows have problems.
    with page.expect_navigation():
        page.get_by_role("button", name="导入" if chinese else "Import", exact=True).click()
    assert page.locator("#import-problems tbody tr").count() == 2
    assert names(empty_database) == []

    # Only the clean rows.
    page.locator("input[type=file]").set_input_files(str(file))
    page.locator("input[name=only_clean]").check()
    with page.expect_navigation():
        page.get_by_role("button", name="导入" if chinese else "Import", exact=True).click()
    notice = page.locator("#import-notice").inner_text()
    assert ("新登记长者 2 位" if chinese else "New elders: 2,") in notice
    assert names(empty_database) == ["长者1", "长者2"]
    shot("clean-rows")

    # The corrected file: the two already in are found again, the others registered.
    fixed = elder_row(3, "六榕社区")
    file.write_bytes(xlsx_file(HEADERS_ZH, [*good, fixed, elder_row(4, "六榕社区")]))
    page.locator("input[type=file]").set_input_files(str(file))
    with page.expect_navigation():
        page.get_by_role("button", name="导入" if chinese else "Import", exact=True).click()
    notice = page.locator("#import-notice").inner_text()
    assert ("新登记长者 2 位" if chinese else "New elders: 2,") in notice
    assert ("未变 2 位" if chinese else "unchanged: 2") in notice
    assert names(empty_database) == ["长者1", "长者2", "长者3", "长者4"]
    shot("corrected")
