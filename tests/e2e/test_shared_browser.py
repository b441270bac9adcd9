"""The one Chromium of a test process (tests/e2e/conftest.py) is shared without leaking: the
tests after a page test can run an event loop of their own, and the browser still serves the
next page test."""

import asyncio

from tests.e2e.browser import needs_chromium


@needs_chromium
def test_after_a_page_test_asyncio_runs_and_the_browser_serves_the_next(shared_chromium):
    for _ in range(2):
        browser = shared_chromium.enter()
        page = browser.new_page()
        page.set_content("<title>here</title>")
        assert page.title() == "here"
        page.context.close()
        shared_chromium.leave()
        # What a bot or API test later in this process does: Playwright's loop is not running.
        assert asyncio.run(asyncio.sleep(0, result="ran")) == "ran"
