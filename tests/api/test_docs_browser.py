"""The docs pages in a real browser: Swagger UI (/docs) and ReDoc (/redoc) rendered by headless Chromium from a
live server on the session's test database. Every operation is listed, a "Try it out" call returns the figure,
every request the pages make goes to that server (the assets are local: the docs work with no internet), and the
console stays free of errors (a Content-Security-Policy violation is one).

Needs Debian's `chromium` (/usr/bin/chromium; .ci/run installs it) and the `playwright` dev dependency, whose
driver drives that system browser (never `playwright install`: it downloads a browser of its own). Skipped when
either is missing, unless REQUIRE_BROWSER=1, which makes that a failure.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from app.config import PROJECT_ROOT

try:
    from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Route, expect, sync_playwright
except ImportError:  # pragma: no cover - the dev dependency is missing
    sync_playwright = None  # type: ignore[assignment]

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Whatever asks, no host name resolves: nothing can leave the machine, even past the checks below.
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
]
SERVER_READY_S = 20  # uvicorn answers within this
TEST_BUDGET_S = 40  # each test's body; with the server's start, a test stays under a minute
STEP_S = 15  # the longest any one browser step may wait
METRIC_ID = "canada-emigrated-1985-2005"


def _unavailable(reason: str) -> None:
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(f"REQUIRE_BROWSER=1 but {reason}", pytrace=False)
    pytest.skip(reason)


class Budget:
    """Bounded waits: each step gets what is left of the test's budget, at most STEP_S (milliseconds)."""

    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def ms(self) -> float:
        left = self.end - time.monotonic()
        if left <= 0:
            pytest.fail(f"the test took longer than its {TEST_BUDGET_S} s budget")
        return min(left, STEP_S) * 1000


class Recorder:
    """What a page did: requests that left the server's origin, failed local requests, console errors."""

    def __init__(self, context: BrowserContext, origin: str) -> None:
        self.origin = origin
        self.requests: list[str] = []
        self.outside: list[str] = []
        self.failures: list[str] = []
        self.errors: list[str] = []
        context.on("request", lambda request: self._request(request.url))
        context.on("requestfailed", lambda request: self._failed(request.url, request.failure or "failed"))
        context.on("response", lambda response: self._response(response.url, response.status))
        context.route("**/*", self._route)
        # CSP violations are console errors in Chromium; this records them as well, whatever the console says.
        context.add_init_script(
            "document.addEventListener('securitypolicyviolation', e => console.error("
            "'CSP violation: ' + e.violatedDirective + ' blocked ' + e.blockedURI));"
        )

    def watch(self, page: Page) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))

    def is_local(self, url: str) -> bool:
        parts = urlsplit(url)
        if parts.scheme == "data":
            return True
        if parts.scheme == "blob":  # blob:http://127.0.0.1:PORT/uuid: made by the page itself
            return self.is_local(url.removeprefix("blob:"))
        return f"{parts.scheme}://{parts.netloc}" == self.origin

    def _request(self, url: str) -> None:
        self.requests.append(url)
        if not self.is_local(url):
            self.outside.append(url)

    def _response(self, url: str, status: int) -> None:
        if status >= 400:
            self._failed(url, status)

    def _failed(self, url: str, why: object) -> None:
        if self.is_local(url):
            self.failures.append(f"{url}: {why}")

    def _route(self, route: Route) -> None:
        if self.is_local(route.request.url):
            route.continue_()
        else:
            route.abort("blockedbyclient")  # recorded by _request; never sent

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(f"{message.text} ({message.location.get('url', '')})")

    def assert_clean(self) -> None:
        assert self.requests, "the page made no request at all"
        assert not self.outside, f"requests outside {self.origin} (the docs must work offline): {self.outside}"
        assert not self.failures, f"local requests that failed: {self.failures}"
        assert not self.errors, f"console errors: {self.errors}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=2) as response:
        return json.load(response)


@pytest.fixture(scope="module")
def server(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, Any]]]:
    """uvicorn in a subprocess on a free 127.0.0.1 port, on the test database: its origin and OpenAPI document."""
    port = _free_port()
    origin = f"http://127.0.0.1:{port}"
    env = {**os.environ, "DATABASE_URL": db_url, "LOG_LEVEL": "warning"}
    env.pop("LOADER_DATABASE_URL", None)
    log = tmp_path_factory.mktemp("server") / "uvicorn.log"
    command = [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory"]
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*command, "--host", "127.0.0.1", "--port", str(port), "--no-access-log"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + SERVER_READY_S
        while True:
            if process.poll() is not None:
                pytest.fail(f"uvicorn exited with {process.returncode}:\n{log.read_text(errors='replace')}")
            try:
                openapi = _get_json(f"{origin}/openapi.json")
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"uvicorn not ready within {SERVER_READY_S} s:\n{log.read_text(errors='replace')}")
                time.sleep(0.1)
        yield origin, openapi
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, launched once per module (Playwright gives it a new, empty profile)."""
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing (Debian package `chromium`)")
    if sync_playwright is None:
        _unavailable("the `playwright` package is missing (pip install -e '.[dev]')")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, timeout=STEP_S * 1000
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def browsing(browser: Browser, server: tuple[str, dict[str, Any]]) -> Iterator[tuple[Page, Recorder]]:
    """A fresh browser context and page on the live server, recording what the page does."""
    origin, _ = server
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        recorder = Recorder(context, origin)
        page = context.new_page()
        recorder.watch(page)
        yield page, recorder
    finally:
        context.close()


def _operations(openapi: dict[str, Any]) -> dict[str, tuple[str, str, str]]:
    """operationId -> (tag, path, summary), for every operation of the OpenAPI document."""
    return {
        operation["operationId"]: (operation["tags"][0], path, operation["summary"])
        for path, item in openapi["paths"].items()
        for operation in item.values()
    }


def test_swagger_ui_lists_operations_and_try_it_out_returns_data(
    browsing: tuple[Page, Recorder], server: tuple[str, dict[str, Any]], tmp_path: Path
) -> None:
    budget = Budget(TEST_BUDGET_S)
    page, recorder = browsing
    origin, openapi = server
    operations = _operations(openapi)
    assert {"list_metrics", "get_metric"} <= operations.keys()

    page.goto(f"{origin}/docs", timeout=budget.ms())
    try:
        blocks = page.locator(".opblock")
        expect(blocks).to_have_count(len(operations), timeout=budget.ms())
        listed = blocks.evaluate_all(
            """blocks => blocks.map(b => [b.id, b.querySelector('.opblock-summary-path').innerText,
                                         b.querySelector('.opblock-summary-description').innerText])"""
        )
        assert sorted(listed) == sorted(
            [f"operations-{tag}-{operation_id}", path, summary]
            for operation_id, (tag, path, summary) in operations.items()
        )

        # GET /v1/metrics/{metric_id}: open it, "Try it out", fill the id, "Execute".
        operation = page.locator("#operations-metrics-get_metric")
        operation.locator(".opblock-summary-control").click(timeout=budget.ms())
        try_out = operation.locator("button.try-out__btn")
        # tryItOutEnabled (app/api/docs.py) opens operations in try-it-out mode already: the button then reads "Cancel".
        if "Try it out" in try_out.inner_text(timeout=budget.ms()):
            try_out.click(timeout=budget.ms())
        operation.locator("tr[data-param-name='metric_id'] input").fill(METRIC_ID, timeout=budget.ms())
        operation.locator("button.execute").click(timeout=budget.ms())

        url = f"{origin}/v1/metrics/{METRIC_ID}"
        expect(operation.locator(".request-url pre")).to_have_text(url, timeout=budget.ms())
        live = operation.locator(".live-responses-table .response")  # the call's answer, not the documented example
        expect(live.locator(".response-col_status")).to_have_text("200", timeout=budget.ms())
        body = live.locator(".response-col_description")
        expect(body).to_contain_text('"value_text": "225,000"', timeout=budget.ms())
        expect(body).to_contain_text('"lower": 225000', timeout=budget.ms())
        operation.locator(".request-url").scroll_into_view_if_needed(timeout=budget.ms())
        page.wait_for_load_state("networkidle", timeout=budget.ms())
    finally:
        page.screenshot(path=tmp_path / "docs.png", timeout=STEP_S * 1000)
    recorder.assert_clean()
    assert f"{origin}/v1/metrics/{METRIC_ID}" in recorder.requests  # the browser made the call


def test_redoc_lists_operations(
    browsing: tuple[Page, Recorder], server: tuple[str, dict[str, Any]], tmp_path: Path
) -> None:
    budget = Budget(TEST_BUDGET_S)
    page, recorder = browsing
    origin, openapi = server
    operations = _operations(openapi)

    page.goto(f"{origin}/redoc", timeout=budget.ms())
    try:
        sections = page.locator("[data-section-id^='operation/']")
        expect(sections).to_have_count(len(operations), timeout=budget.ms())
        listed = sections.evaluate_all(
            "sections => sections.map(s => [s.dataset.sectionId, s.querySelector('h2').innerText])"
        )
        assert sorted(listed) == sorted(
            [f"operation/{operation_id}", summary] for operation_id, (_, _, summary) in operations.items()
        )
        metric = page.locator("[data-section-id='operation/get_metric']")
        expect(metric).to_contain_text("/v1/metrics/{metric_id}", timeout=budget.ms())
        expect(metric).to_contain_text(METRIC_ID, timeout=budget.ms())
        page.wait_for_load_state("networkidle", timeout=budget.ms())
    finally:
        page.screenshot(path=tmp_path / "redoc.png", timeout=STEP_S * 1000)
    recorder.assert_clean()
