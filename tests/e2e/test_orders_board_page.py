"""The orders board in a real headless browser (issue 24): a busy day comes a page at a time
with the day's counts above it; the meal and status filters and a site's line in the counts
narrow it; the pager walks through it."""

from datetime import datetime

import pytest

from core.clock import FixedClock
from core.types import Slot
from tests.apps import web_app
from tests.conftest import SHANGHAI
from tests.e2e.browser import ARTIFACTS, log_in, needs_chromium, serving
from tests.factories import SETTINGS, Factory, make_staff
from usecases import ordering

pytestmark = needs_chromium

LUNCHES, DINNERS = 110, 12


@pytest.fixture
def busy_day(empty_database):
    clock = FixedClock(datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI))
    with empty_database.transaction() as session:
        make = Factory(session, clock)
        site, dishes, _ = make.world()
        for n in range(LUNCHES + DINNERS):
            elder = make.elder(site, name=f"长者{n:03d}")
            ordering.place_order(
                session=session,
                clock=clock,
                settings=SETTINGS,
                elder_id=elder.id,
                site_id=site.id,
                service_date=make.today,
                slot=Slot.lunch if n < LUNCHES else Slot.dinner,
                dish_id=dishes[0].id,
                variant="regular",
                idempotency_key=f"busy-day-{n:04d}",
            )
        admin = make_staff(make, "admin").username
    with serving(web_app(database=empty_database, clock=clock)) as base:
        yield base, admin


def test_the_board_pages_and_filters_a_busy_day(busy_day, browser):
    base, admin = busy_day
    page = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900}).new_page()
    page.goto(f"{base}/orders?date=2026-11-25&lang=en")
    log_in(page, admin)
    total = LUNCHES + DINNERS
    pager = page.locator("nav.pager").first
    assert f"1–100 of {total}" in pager.inner_text()
    assert page.locator("table.board tbody tr").count() == 100
    # The day's counts cover every order, not only this page's.
    counts = page.locator("table.board-meals tbody tr")
    assert counts.count() == 2
    assert str(LUNCHES) in counts.nth(0).inner_text() and str(DINNERS) in counts.nth(1).inner_text()

    pager.get_by_role("link", name="Next →").click()
    page.wait_for_load_state()
    assert f"101–{total} of {total}" in page.locator("nav.pager").first.inner_text()
    assert page.locator("table.board tbody tr").count() == total - 100

    page.locator("#board-filter select[name=slot]").select_option("dinner")
    page.locator("#board-filter button[type=submit]").click()
    page.wait_for_load_state()
    assert "slot=dinner" in page.url
    assert page.locator("table.board tbody tr").count() == DINNERS
    assert f"1–{DINNERS} of {DINNERS}" in page.locator("nav.pager").first.inner_text()
    page.screenshot(path=str(ARTIFACTS / "orders-board-filtered.png"), full_page=True)

    page.get_by_role("link", name="Show all").click()
    page.wait_for_load_state()
    page.locator("table.board-meals tbody tr").nth(0).locator("a").click()  # the site's lunch
    page.wait_for_load_state()
    assert "slot=lunch" in page.url and "site_id=" in page.url
    assert f"1–100 of {LUNCHES}" in page.locator("nav.pager").first.inner_text()

    page.locator("#board-filter select[name=status]").select_option("cancelled")
    page.locator("#board-filter button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator("table.board tbody tr").count() == 0


@pytest.fixture
def refused_lunch(empty_database):
    """A community worker's elder whose standing lunch for four the cutoff's first step
    refused: two portions are the most an order may have now."""
    from core.standing import create_standing_order, materialise_standing_orders
    from tests.factories import CUTOFF_LIMITS

    clock = FixedClock(datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI))
    with empty_database.transaction() as session:
        make = Factory(session, clock)
        site, _, elder = make.world()
        create_standing_order(
            session=session,
            clock=clock,
            elder_id=elder.id,
            site_id=site.id,
            slot=Slot.lunch,
            weekdays=[1, 2, 3, 4, 5, 6, 7],
            quantity=4,
            start_date=make.today,
            max_order_quantity=SETTINGS.max_order_quantity,
        )
        materialise_standing_orders(
            session=session,
            clock=clock,
            site_id=site.id,
            service_date=make.today,
            slot=Slot.lunch,
            **{**CUTOFF_LIMITS, "max_order_quantity": 2},
        )
        worker = make_staff(make, "community_worker", community_ids=[elder.community_id])
        facts = {"elder": elder.name, "site": site.name, "worker": worker.username}
    with serving(web_app(database=empty_database, clock=clock)) as base:
        yield base, facts


def test_a_refused_usual_lunch_is_shown_and_ordered_by_phone_from_the_board(refused_lunch, browser):
    base, facts = refused_lunch
    page = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900}).new_page()
    page.goto(f"{base}/orders?date=2026-11-25&lang=en")
    log_in(page, facts["worker"])
    refused = page.locator("#standing-refused")
    assert "Usual meals that could not be ordered" in refused.locator("h2").inner_text()
    row = refused.locator("tbody tr")
    assert row.count() == 1
    assert facts["elder"] in row.inner_text() and "lunch" in row.inner_text()
    assert "Please choose between 1 and 2 portions." in row.inner_text()
    page.screenshot(path=str(ARTIFACTS / "orders-board-standing-refused.png"), full_page=True)

    with page.expect_navigation():
        row.get_by_role("link", name="Phone-in order").click()
    form = page.locator("#phone-in-form")
    chosen = form.locator("select[name=elder_id] option:checked")
    assert facts["elder"] in chosen.inner_text()
    lunch = form.locator("select[name=item_id] option", has_text="lunch").first
    form.locator("select[name=item_id]").select_option(lunch.get_attribute("value"))
    form.locator("input[name=quantity]").fill("2")
    with page.expect_navigation():
        form.get_by_role("button", name="Place order").click()
    assert "placed=" in page.url
    handled = page.locator("#standing-refused tbody tr")
    assert "Ordered since (order" in handled.inner_text()
    assert handled.get_by_role("link", name="Phone-in order").count() == 0

    page.goto(f"{base}/orders?date=2026-11-25&lang=zh_CN")
    assert "未能订上的固定餐" in page.locator("#standing-refused h2").inner_text()
    assert "份" in page.locator("#standing-refused tbody tr").inner_text()
