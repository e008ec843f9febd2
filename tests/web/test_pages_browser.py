"""The explorer's pages in headless Chromium, from a live server on the session's test database: every page at
1280x900 and 375x800 renders with no console error (a CSP violation is one) and no request to another origin;
axe-core finds no serious or critical violation; the filter form shows exactly the rows the JSON API returns;
every number on / is the API's; with JavaScript disabled the pages show the same text.

Screenshots go to build/screenshots/ (git-ignored), one per page and viewport, named after the page.
Browser setup, live server and request recorder: tests/api/test_docs_browser.py (skipped without Chromium,
unless REQUIRE_BROWSER=1).
"""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.config import PROJECT_ROOT
from tests.api.test_docs_browser import STEP_S, Recorder, browser, server  # noqa: F401 (fixtures)

try:
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import Browser, Page
except ImportError:  # pragma: no cover - the dev dependencies are missing
    Axe = None  # type: ignore[assignment,misc]

pytestmark = pytest.mark.browser

SCREENSHOTS = PROJECT_ROOT / "build" / "screenshots"
VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 375, "height": 800}}
PAGES = {
    "index": "/",
    "metrics": "/v1/metrics",
    "metrics-filtered": "/v1/metrics?unit=persons&value_min=150000&match=within&sort=-lower",
    "metric-open": "/v1/metrics/spouses-children-settled-overseas-2005",
    "metric-group": "/v1/metrics/south-east-asia-emigrated-1985-2005",
    "checks": "/v1/checks",
    "check-sum": "/v1/checks/sum-periods-vs-settled-2005",
    "check-ratio": "/v1/checks/people-per-case-united-states",
    "check-subset": "/v1/checks/subset-senior-level-in-settled-2005",
    "check-coverage": "/v1/checks/coverage-flow-periods-1985-2005",
    "check-restatement": "/v1/checks/restatement-headline",
    "destinations": "/v1/destinations",
    "destination": "/v1/destinations/south-east-asia",
    "periods": "/v1/periods",
    "period": "/v1/periods/1985-2005",
    "citations": "/v1/citations",
    "citation": "/v1/citations/canada-emigrated-1985-2005.1",
    "sources": "/v1/sources",
    "source": "/v1/sources/epoch-times-2006-05-03",
    "reports": "/v1/reports",
    "report": "/v1/reports/ccp-org-dept-mps-2006-02",
    "attributions": "/v1/attributions",
    "attribution": "/v1/attributions/following-survey",
}


def _json(url: str) -> Any:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


@pytest.fixture(scope="module")
def shots(db_url: str) -> Path:
    folder = SCREENSHOTS / ("postgres" if db_url.startswith("postgresql") else "sqlite")
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\nscreenshots: {folder}")
    return folder


def _visit(
    chromium: Browser, origin: str, path: str, viewport: str, *, js: bool = True
) -> Iterator[tuple[Page, Recorder]]:
    context = chromium.new_context(viewport=VIEWPORTS[viewport], java_script_enabled=js)  # type: ignore[arg-type]
    try:
        recorder = Recorder(context, origin)
        page = context.new_page()
        recorder.watch(page)
        response = page.goto(origin + path, timeout=STEP_S * 1000)
        assert response is not None and response.status == 200, (path, response and response.status)
        assert response.headers["content-type"].startswith("text/html"), path
        page.wait_for_load_state("networkidle", timeout=STEP_S * 1000)
        yield page, recorder
    finally:
        context.close()


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
@pytest.mark.parametrize("name", list(PAGES))
def test_page_renders_offline_without_errors_and_passes_axe(
    browser: Browser,  # noqa: F811
    server: tuple[str, dict[str, Any]],  # noqa: F811
    shots: Path,
    name: str,
    viewport: str,
) -> None:
    origin, _ = server
    for page, recorder in _visit(browser, origin, PAGES[name], viewport):
        page.screenshot(path=shots / f"{name}-{viewport}.png", full_page=True, timeout=STEP_S * 1000)
        recorder.assert_clean()
        assert f"{origin}/assets/explorer.css" in recorder.requests  # styled by the app's own stylesheet
        assert "The Epoch Times" in page.locator("footer").inner_text()  # attribution on every page
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= VIEWPORTS[viewport]["width"], f"{name} scrolls sideways at {viewport}: {width} px"
        if Axe is not None:
            results = Axe().run(page)
            serious = [
                (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
                for v in results.response["violations"]
                if v["impact"] in ("serious", "critical")
            ]
            assert not serious, f"axe on {name}: {serious}"


def test_pages_show_the_same_text_without_javascript(
    browser: Browser,  # noqa: F811
    server: tuple[str, dict[str, Any]],  # noqa: F811
) -> None:
    origin, _ = server
    for path in PAGES.values():
        texts = []
        for js in (True, False):
            for page, _ in _visit(browser, origin, path, "desktop", js=js):
                texts.append(page.locator("body").inner_text())
        assert texts[0] == texts[1], path
        assert texts[0].strip()


FILTER_SETS = [
    {"unit": ["persons"], "value_min": "150000", "match": "within"},
    {"country": "SG"},
    {"period": "1985-2005", "unit": ["cases"], "sort": "-lower", "limit": "5"},
    {"q": "business", "qualifier": ["more_than", "between"]},
    {"from": "1991", "to": "1998"},
]


@pytest.mark.parametrize("filters", FILTER_SETS, ids=lambda f: "&".join(sorted(f)))
def test_the_filter_form_shows_the_rows_the_json_api_returns(
    browser: Browser,  # noqa: F811
    server: tuple[str, dict[str, Any]],  # noqa: F811
    filters: dict[str, Any],
) -> None:
    origin, _ = server
    for page, recorder in _visit(browser, origin, "/v1/metrics", "desktop", js=False):
        for name, value in filters.items():
            if isinstance(value, list):
                for item in value:
                    page.locator(f"input[name='{name}'][value='{item}']").check()
            elif page.locator(f"select[name='{name}']").count():
                page.locator(f"select[name='{name}']").select_option(value)
            else:
                page.locator(f"input[name='{name}']").fill(value)
        with page.expect_navigation(timeout=STEP_S * 1000):
            page.locator("form.filters button[type='submit']").click()
        url = page.url
        assert url.startswith(origin + "/v1/metrics?"), url
        shown = page.locator("table.figures tbody tr").evaluate_all("rows => rows.map(r => r.dataset.id)")
        api = _json(url.replace("/v1/metrics?", "/v1/metrics?format=json&", 1))
        assert shown == [row["id"] for row in api["data"]], url
        assert shown, f"no rows for {url}: pick filters that match something"
        count = page.locator("#row-count").inner_text()
        assert f"of {api['total']}" in count
        for key, value in filters.items():  # the form shows the filters it applied
            if not isinstance(value, list) and key != "limit":
                assert page.locator(f"[name='{key}']").input_value() == value
        recorder.assert_clean()


def test_every_number_on_the_home_page_is_the_apis(
    browser: Browser,  # noqa: F811
    server: tuple[str, dict[str, Any]],  # noqa: F811
) -> None:
    origin, _ = server
    metrics = {m["id"]: m for m in _json(origin + "/v1/metrics?limit=1000")["data"]}
    for page, _ in _visit(browser, origin, "/", "desktop"):
        cells = page.locator("[data-metric-id]").evaluate_all(
            "els => els.map(e => [e.dataset.metricId, (e.querySelector('.card-value') || e).innerText.trim()])"
        )
        assert len(cells) >= 20
        for metric_id, text in cells:
            assert text == metrics[metric_id]["value_text"], metric_id
        # The cards and both tables cover every figure of the dataset.
        assert {metric_id for metric_id, _ in cells} == set(metrics)
        gap = page.locator("#flows-gap")
        check = _json(origin + "/v1/checks/" + gap.get_attribute("data-check-id"))  # type: ignore[operator]
        assert gap.inner_text() == f"{check['abs_difference']:,.0f}"
        # Every number in the page's text is one the API gives (as printed, or a bound, sum, gap or ratio).
        # Axis ticks and zoom limits inside the charts are scale, not data: only the page's text is compared.
        text = page.evaluate(
            "() => { const m = document.querySelector('main').cloneNode(true);"
            " m.querySelectorAll('svg').forEach(s => s.remove()); return m.textContent; }"
        )
        known = {m["value_text"] for m in metrics.values()}
        known |= {f"{v:,}" for m in metrics.values() for v in (m["lower"], m["upper"]) if v is not None}
        checks = _json(origin + "/v1/checks?limit=1000")["data"]
        for k in checks:
            known |= set(re.findall(r"\d[\d,.]*\d|\d", k["arithmetic"] + " " + k["explanation"]))
        index = _json(origin + "/")
        numbers = set(re.findall(r"(?<![\w/-])\d{1,3}(?:,\d{3})+(?![\w])", text))
        unexplained = {n for n in numbers if not any(n in k for k in known)}
        assert not unexplained, unexplained
        assert index["loaded_at"][:4] in text
