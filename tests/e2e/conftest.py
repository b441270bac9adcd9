"""The browser for the page tests: Debian's chromium, headless, through Playwright. Every page
a test opens is watched for what the Content-Security-Policy refused (chromium reports each
refusal on the console): a page test fails when a page it walked needs something the policy
forbids (api/security_headers.py), say an inline script or style added to a template."""

import pytest

from tests.e2e.browser import CHROMIUM


class WatchedBrowser:
    """The Playwright browser, with every page opened through it watched for CSP refusals."""

    def __init__(self, browser) -> None:
        self._browser = browser
        self.csp_refusals: list[str] = []

    def new_context(self, **options):
        context = self._browser.new_context(**options)
        context.on("page", self._watch)
        return context

    def new_page(self, **options):
        page = self._browser.new_page(**options)
        self._watch(page)
        return page

    def _watch(self, page) -> None:
        def seen(message) -> None:
            if "Content Security Policy" in message.text:
                self.csp_refusals.append(f"{page.url}: {message.text}")

        page.on("console", seen)

    def __getattr__(self, name: str):
        return getattr(self._browser, name)


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        watched = WatchedBrowser(browser)
        yield watched
        browser.close()
    assert watched.csp_refusals == [], "the Content-Security-Policy refused something"
