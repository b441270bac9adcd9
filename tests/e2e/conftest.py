"""The browser for the page tests: Debian's chromium, headless, through Playwright. Every page
a test opens is watched for what the Content-Security-Policy refused (chromium reports each
refusal on the console): a page test fails when a page it walked needs something the policy
forbids (api/security_headers.py), say an inline script or style added to a template.

One Chromium serves every page test of a test process (each pytest-xdist worker): starting
Playwright's driver and the browser costs two to four seconds on this machine, a new browser
context a few milliseconds, and contexts share nothing (cookies, storage, cache). Each test
gets its own `WatchedBrowser`, and the contexts it opened are closed after it."""

import asyncio.events

import pytest

from tests.e2e.browser import CHROMIUM

LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


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

    def close_what_was_opened(self) -> None:
        for context in self._browser.contexts:
            context.close()


class SharedChromium:
    """Playwright's driver and one Chromium, kept for the whole test process.

    Playwright's sync API runs its own event loop on this thread and leaves it marked as the
    running loop between calls; a later test in this process that calls `asyncio.run` would be
    refused ("cannot be called from a running event loop"). So the loop is marked running only
    while a page test runs (`enter`) and unmarked after it (`leave`); in between nothing runs
    on it."""

    def __init__(self) -> None:
        self._manager = None
        self._loop = None
        self.browser = None

    def enter(self):
        if self._manager is None:
            from playwright.sync_api import sync_playwright

            self._manager = sync_playwright()
            playwright = self._manager.start()
            self.browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
            self._loop = asyncio.events._get_running_loop()  # Playwright's, marked running
        else:
            asyncio.events._set_running_loop(self._loop)
        if not self.browser.is_connected():  # it crashed in an earlier test: a new one
            self.browser = self.browser.browser_type.launch(
                executable_path=CHROMIUM, args=LAUNCH_ARGS
            )
        return self.browser

    def leave(self) -> None:
        asyncio.events._set_running_loop(None)

    def stop(self) -> None:
        if self._manager is not None:
            asyncio.events._set_running_loop(self._loop)
            self.browser.close()
            self._manager.__exit__()


@pytest.fixture(scope="session")
def shared_chromium():
    chromium = SharedChromium()
    yield chromium
    chromium.stop()


@pytest.fixture
def browser(shared_chromium):
    watched = WatchedBrowser(shared_chromium.enter())
    try:
        yield watched
        watched.close_what_was_opened()  # and with them, their pages' last console messages
    finally:
        shared_chromium.leave()
    assert watched.csp_refusals == [], "the Content-Security-Policy refused something"
