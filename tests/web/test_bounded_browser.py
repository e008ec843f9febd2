"""The cut pages of issue 18 in headless Chromium, on the synthetic seed of tests/web/test_bounded_pages.py: the
home page and a report page past their bounds render with no console error and no request to another origin,
fit the viewport, pass axe, and show the sentence that says how many figures exist. Screenshots go to
build/screenshots/bounded/ (git-ignored). Browser setup and live server: tests/api/test_docs_browser.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app import migrations
from tests.api.test_docs_browser import Recorder, browser, server  # noqa: F401 (fixtures)
from tests.conftest import load_seed
from tests.web.test_bounded_pages import REPORT, large_seed  # noqa: F401 (fixture)
from tests.web.test_pages_browser import SCREENSHOTS, VIEWPORTS, _visit

try:
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import Browser
except ImportError:  # pragma: no cover - the dev dependencies are missing
    Axe = None  # type: ignore[assignment,misc]

pytestmark = pytest.mark.browser

PAGES = {"index": ("/", "#cards-cut"), "report": (f"/v1/reports/{REPORT}", "#more-figures")}


@pytest.fixture(scope="module")
def db_url(large_seed: Path, tmp_path_factory: pytest.TempPathFactory) -> str:  # noqa: F811
    """The live server's database (tests/api/test_docs_browser.server reads `db_url`): the synthetic seed."""
    url = f"sqlite:///{tmp_path_factory.mktemp('bounded-browser') / 'large.db'}"
    migrations.upgrade(url)
    load_seed(url, large_seed)
    return url


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
@pytest.mark.parametrize("name", list(PAGES))
def test_a_cut_page_renders_cleanly_and_says_what_it_leaves_out(
    browser: Browser,  # noqa: F811
    server: tuple[str, dict[str, Any]],  # noqa: F811
    name: str,
    viewport: str,
) -> None:
    origin, _ = server
    path, sentence = PAGES[name]
    folder = SCREENSHOTS / "bounded"
    folder.mkdir(parents=True, exist_ok=True)
    for page, recorder in _visit(browser, origin, path, viewport):
        page.screenshot(path=folder / f"{name}-{viewport}.png", full_page=True)
        recorder.assert_clean()
        assert page.locator(sentence).is_visible()
        assert "Every figure" in page.locator(sentence).inner_text()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= VIEWPORTS[viewport]["width"], f"{name} scrolls sideways at {viewport}: {width} px"
        if Axe is not None:
            results = Axe().run(page)
            serious = [v["id"] for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
            assert not serious, f"axe on {name}: {serious}"
