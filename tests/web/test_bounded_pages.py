"""Issue 18 in the explorer: a page shows at most its bound of figures, says how many exist and links the list
that has them all, on a synthetic seed larger than every bound (bench/synthetic.py, a few hundred figures, plus
a chart's worth of persons/cases pairs and a destination with more figures than a page lists). On the real seed
nothing is cut: no sentence, every figure shown (tests/web/test_pages_browser.py pins what / shows).
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app import migrations
from app.config import Settings
from app.main import create_app
from app.web.views import CARDS, CHART_CANDIDATES, CHART_ROWS, ITEM_FIGURES
from bench.synthetic import destination_id, metric_line, period_id, write_seed
from tests.conftest import BACKENDS, create_postgres_database, drop_postgres_database, load_seed

SYNTHETIC = 300  # syn-0000000..299: destinations syn-d0000..0299 (one figure each), all in period syn-p000
PAIRS = CHART_ROWS + 3  # persons and cases of syn-d0900.. in syn-p001, larger than any synthetic figure
CROWDED = ITEM_FIGURES + 7  # figures of syn-d0950 (a destination page past its bound)
REPORT = "ccp-org-dept-mps-2006-02"
HTML = {"Accept": "text/html"}


def _figure(number: int, metric_id: str, destination: str, period: str, unit: str, value: int) -> str:
    """A synthetic figure (bench/synthetic.py's shape) with its place, unit and exact value chosen."""
    entry = json.loads(metric_line(number, random.Random(number)))
    printed = f"{value:,}"
    entry.update(
        id=metric_id,
        destination=destination,
        period=period,
        unit=unit,
        measure="emigrated",
        value_text=printed,
        qualifier="exact",
        lower=value,
        lower_inclusive=True,
        upper=value,
        upper_inclusive=True,
        citations=[{"quote": f"Synthetic figure {metric_id}: {printed} (test data).", "location": "body"}],
    )
    return json.dumps(entry) + "\n"


def _persons(k: int) -> int:
    return 90_000_000 - k * 1_000_000  # pair k: larger persons first


def _extra_lines() -> str:
    """In id order (the loader wants ids to increase line by line), all after the synthetic `syn-0…` ids."""
    lines = []
    for k in range(PAIRS):
        place = (destination_id(900 + k), period_id(1))
        lines.append(_figure(k, f"syn-pair-{k:02d}-persons", *place, "persons", _persons(k)))
        lines.append(_figure(k, f"syn-pair-{k:02d}-cases", *place, "cases", 1_000 + k))
    for k in range(CROWDED):
        lines.append(_figure(k, f"syn-crowd-{k:03d}", destination_id(950), period_id(2), "cases", 500 + k))
    return "".join(sorted(lines, key=lambda line: json.loads(line)["id"]))


@pytest.fixture(scope="module")
def large_seed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    seed = write_seed(tmp_path_factory.mktemp("bounded") / "seed", SYNTHETIC)
    with (seed / "metrics.jsonl").open("a", encoding="utf-8") as f:
        f.write(_extra_lines())
    return seed


@pytest.fixture(scope="module", params=BACKENDS)
def large(
    request: pytest.FixtureRequest, large_seed: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    admin = request.getfixturevalue("postgres_admin_url") if request.param == "postgres" else None
    if admin is None:
        url = f"sqlite:///{tmp_path_factory.mktemp('bounded-db') / 'large.db'}"
    else:
        url = create_postgres_database(admin, prefix="cadre_bounded")
    try:
        migrations.upgrade(url)
        load_seed(url, large_seed)
        with TestClient(create_app(Settings(database_url=url, response_cache=False))) as client:
            yield client
    finally:
        if admin is not None:
            drop_postgres_database(admin, url)


def _page(client: TestClient, path: str) -> str:
    response = client.get(path, headers=HTML)
    assert response.status_code == 200, (path, response.status_code)
    assert response.headers["content-type"].startswith("text/html")
    return str(response.text)


def _total(client: TestClient, query: str) -> int:
    body = client.get(f"/v1/metrics?{query}&limit=1", headers={"Accept": "application/json"}).json()
    assert body["total_is_exact"]
    return int(body["total"])


def _first_ids(client: TestClient, query: str, n: int) -> list[str]:
    body = client.get(f"/v1/metrics?{query}&limit={n}", headers={"Accept": "application/json"}).json()
    return [row["id"] for row in body["data"]]


ITEMS = [
    pytest.param(f"/v1/reports/{REPORT}", f"report={REPORT}", id="report"),
    pytest.param(f"/v1/periods/{period_id(0)}", f"period={period_id(0)}", id="period"),
    pytest.param(f"/v1/destinations/{destination_id(950)}", f"destination={destination_id(950)}", id="destination"),
]


@pytest.mark.parametrize(("path", "query"), ITEMS)
def test_an_item_page_lists_its_first_figures_and_links_the_list_of_all(
    large: TestClient, path: str, query: str
) -> None:
    total = _total(large, query)
    assert total > ITEM_FIGURES  # the dataset is past the bound, or this test shows nothing
    html = _page(large, path)
    shown = re.findall(r'<tr data-id="([^"]+)"', html)
    # The first ITEM_FIGURES in id order: the filtered list's first page, row for row.
    assert shown == _first_ids(large, query, ITEM_FIGURES)
    sentence = re.search(r'<p class="more-figures" id="more-figures">(.*?)</p>', html, re.S)
    assert sentence is not None
    assert f"The first {ITEM_FIGURES} of {total:,} figures" in sentence.group(1)
    href = f"/v1/metrics?{query}"
    assert f'<a href="{href}">' in sentence.group(1)
    assert _page(large, href)  # the link answers


def test_a_destination_within_the_bound_lists_every_figure_without_the_sentence(large: TestClient) -> None:
    html = _page(large, f"/v1/destinations/{destination_id(900)}")
    assert re.findall(r'<tr data-id="([^"]+)"', html) == ["syn-pair-00-cases", "syn-pair-00-persons"]
    assert "more-figures" not in html


def _chart_ids(html: str, table: str) -> list[str]:
    body = html[html.index(f'<table id="{table}"') :]
    return re.findall(r'<td data-metric-id="([^"]+)"', body[: body.index("</table>")])


def test_the_home_page_shows_the_largest_cards_and_says_how_many_figures_exist(large: TestClient) -> None:
    html = _page(large, "/")
    total = _total(large, "")
    flows = html[html.index('<table id="flows-table"') :]
    parts = re.findall(r'<td>part</td><td data-metric-id="([^"]+)"', flows[: flows.index("</table>")])
    in_charts = _chart_ids(html, "destinations-table") + parts  # the flows' total is a card too
    assert len(parts) == 3
    cards = re.findall(r'<li class="card" data-metric-id="([^"]+)"', html)
    assert len(cards) == CARDS
    assert not set(cards) & set(in_charts)
    # Persons first, then the rest, each by lower bound, largest first: the API's sort=-lower within each unit.
    persons = _first_ids(large, "unit=persons&sort=-lower", 100)
    assert cards == [i for i in persons if i not in in_charts][:CARDS]
    sentence = re.search(r'<p id="cards-cut">(.*?)</p>', html, re.S)
    assert sentence is not None
    assert f"The {CARDS} largest of the {total - len(in_charts):,} figures outside the charts" in sentence.group(1)
    assert '<a href="/v1/metrics">' in sentence.group(1)


def test_the_home_page_chart_keeps_its_bound_of_the_largest_destinations(large: TestClient) -> None:
    html = _page(large, "/")
    expected = [(f"syn-pair-{k:02d}-persons", f"syn-pair-{k:02d}-cases") for k in range(CHART_ROWS)]
    ids = _chart_ids(html, "destinations-table")
    assert list(zip(ids[::2], ids[1::2], strict=True)) == expected
    sentence = re.search(r'<p id="dest-cut">(.*?)</p>', html, re.S)
    assert sentence is not None
    assert f"The {CHART_ROWS} destinations with the largest persons figures" in sentence.group(1)


def test_on_the_real_seed_nothing_is_cut(client: Any) -> None:
    html = _page(client, "/")
    assert 'id="cards-cut"' not in html and 'id="dest-cut"' not in html and 'id="dest-none"' not in html
    report = client.get(f"/v1/reports/{REPORT}", headers={"Accept": "application/json"}).json()
    page = _page(client, f"/v1/reports/{REPORT}")
    assert len(re.findall(r'<tr data-id="', page)) == report["metric_count"] <= ITEM_FIGURES
    assert "more-figures" not in page
    assert "Every figure the article gives from this report" in page


def test_a_chart_with_no_pair_among_its_candidates_says_so(tmp_path: Path) -> None:
    # bench/synthetic.py alone: every synthetic destination holds one unit only (i mod 1000 fixes the parity), and
    # its persons figures (up to 10,000,000) outrank the seed's (at most 565,000): no candidate has a cases pair.
    url = f"sqlite:///{tmp_path / 'plain.db'}"
    migrations.upgrade(url)
    load_seed(url, write_seed(tmp_path / "seed", 200))
    with TestClient(create_app(Settings(database_url=url, response_cache=False))) as client:
        html = _page(client, "/")
    assert 'id="dest-none"' in html and 'id="destinations-table"' not in html
    assert f"None of the {CHART_CANDIDATES} largest persons figures" in html
