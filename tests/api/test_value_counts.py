"""Counts the loader stores (app.loader.counts) instead of counting the metrics table per request (issue 18):

- each collection's `metric_count` / `citation_count` and every unfiltered `facet=` equal a count over the rows;
- those requests run no GROUP BY and no COUNT over metrics or citations (the statements are captured);
- a filter that selects more than TOTAL_BOUND figures: `facet=` is a 400 naming `facet`, /v1/citations gives a
  bounded total (`total_is_exact` false) whose `next` link still follows;
- a reload that moves a figure moves its counts.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select

from app import migrations
from app.api import pagination
from app.api.filters import FACETS, facet_counts
from app.api.queries import (
    citation_table,
    destination_table,
    metric_select,
    metric_table,
    value_count_table,
)
from app.config import Settings
from app.db import make_engine
from app.main import create_app
from bench.synthetic import write_seed
from tests.conftest import SEED_DIR, create_postgres_database, drop_postgres_database, load_seed

N = 300
BOUND = 100
"""TOTAL_BOUND for these tests: the synthetic seed's N figures are more than it, the real seed's 31 fewer."""

COLLECTIONS = {
    "destinations": (metric_table.c.destination_id, "metric_count"),
    "periods": (metric_table.c.period_id, "metric_count"),
    "measures": (metric_table.c.measure, "metric_count"),
    "populations": (metric_table.c.population, "metric_count"),
    "reports": (metric_table.c.report_id, "metric_count"),
    "attributions": (metric_table.c.attributed_to, "metric_count"),
    "sources": (citation_table.c.source_id, "citation_count"),
}


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def counted_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    seed_dir = write_seed(tmp_path_factory.mktemp("counted") / "seed", N)
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('counted-db') / 'counted.db'}"
        migrations.upgrade(url)
        load_seed(url, seed_dir)
        yield url
        return
    admin = request.getfixturevalue("postgres_admin_url")
    url = create_postgres_database(admin, prefix="cadre_counts")
    try:
        migrations.upgrade(url)
        load_seed(url, seed_dir)
        yield url
    finally:
        drop_postgres_database(admin, url)


@pytest.fixture
def counted(counted_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[TestClient, list[str]]]:
    """A client (response cache off) and the SQL statements it runs."""
    monkeypatch.setattr(pagination, "TOTAL_BOUND", BOUND)
    app = create_app(Settings(database_url=counted_url, response_cache=False))
    statements: list[str] = []
    with TestClient(app) as client:
        engine = app.state.engine

        def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            statements.append(statement)

        event.listen(engine, "before_cursor_execute", record)
        try:
            yield client, statements
        finally:
            event.remove(engine, "before_cursor_execute", record)


def _counted_rows(url: str, column: Any) -> dict[str | None, int]:
    engine = make_engine(url, read_only=True)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(column, func.count()).group_by(column)).all()
    finally:
        engine.dispose()
    return {None if v is None else str(v): n for v, n in rows}


def _counts_metrics(statements: list[str]) -> list[str]:
    """The statements that count rows of metrics or citations (a GROUP BY or a count(*) over them)."""
    counting = []
    for statement in statements:
        lowered = " ".join(statement.lower().split())
        if ("group by" in lowered or "count(" in lowered) and (" metrics" in lowered or " citations" in lowered):
            counting.append(statement)
    return counting


@pytest.mark.parametrize("name", list(COLLECTIONS))
def test_collection_counts_are_the_rows_and_read_without_counting(
    name: str, counted: tuple[TestClient, list[str]], counted_url: str
) -> None:
    client, statements = counted
    column, field = COLLECTIONS[name]
    expected = _counted_rows(counted_url, column)
    statements.clear()
    served: dict[str, int] = {}
    url: str | None = f"/v1/{name}?limit=500"
    while url is not None:  # every page
        response = client.get(url)
        assert response.status_code == 200, response.text
        served.update({row["id"]: row[field] for row in response.json()["data"]})
        url = response.json()["links"]["next"]
    assert served == {key: expected.get(key, 0) for key in served}
    assert sum(served.values()) == sum(n for key, n in expected.items() if key is not None)
    assert not _counts_metrics(statements), statements


def test_unfiltered_facets_are_the_stored_counts(counted: tuple[TestClient, list[str]], counted_url: str) -> None:
    client, statements = counted
    statements.clear()
    response = client.get("/v1/metrics", params={"facet": ",".join(FACETS), "limit": 1})
    assert response.status_code == 200, response.text
    assert not _counts_metrics(statements), statements
    engine = make_engine(counted_url, read_only=True)
    try:
        with engine.connect() as conn:
            stored = conn.execute(select(func.count()).select_from(value_count_table)).scalar_one()
            assert stored > 0
            # The same facets counted over the rows (an always-true filter takes the GROUP BY path).
            counted_rows = facet_counts(conn, list(FACETS), metric_table.c.id.is_not(None))
    finally:
        engine.dispose()
    assert response.json()["facets"] == counted_rows


def test_facets_over_the_bound_are_a_400_naming_facet(counted: tuple[TestClient, list[str]]) -> None:
    client, _ = counted
    over = client.get("/v1/metrics", params={"unit": "persons", "facet": "destination"})
    assert over.status_code == 400
    assert over.headers["content-type"].startswith("application/problem+json")
    body = over.json()
    assert [e["name"] for e in body["errors"]] == ["facet"]
    assert "narrow" in body["detail"]
    within = client.get("/v1/metrics", params={"destination": "syn-d0001", "facet": "unit"})
    assert within.status_code == 200, within.text
    page = within.json()
    assert page["total_is_exact"] is True
    assert sum(f["count"] for f in page["facets"]["unit"]) == page["total"]


def test_citations_total_is_bounded_and_paging_goes_on(counted: tuple[TestClient, list[str]], counted_url: str) -> None:
    client, statements = counted
    every = _counted_rows(counted_url, citation_table.c.source_id)
    statements.clear()
    unfiltered = client.get("/v1/citations", params={"limit": 10}).json()
    assert unfiltered["total"] == sum(every.values()) and unfiltered["total_is_exact"] is True
    assert not _counts_metrics(statements), statements
    source = max(every, key=lambda key: every[key])
    assert every[source] > BOUND
    page = client.get("/v1/citations", params={"source": source, "limit": 10, "offset": BOUND}).json()
    assert page["total"] == BOUND and page["total_is_exact"] is False
    assert len(page["data"]) == 10 and page["links"]["next"] is not None
    one = client.get("/v1/citations", params={"metric": "syn-0000001"}).json()
    assert one["total_is_exact"] is True and one["total"] == len(one["data"]) >= 1


def test_a_reload_that_moves_a_figure_moves_its_counts(tmp_path: Path) -> None:
    seed = tmp_path / "seed"
    shutil.copytree(SEED_DIR, seed)
    url = f"sqlite:///{tmp_path / 'moved.db'}"
    migrations.upgrade(url)
    load_seed(url, seed)
    before = _counted_rows(url, metric_table.c.destination_id)
    metrics = seed / "metrics.yaml"
    text = metrics.read_text()
    assert text.count("destination: canada") >= 1
    metrics.write_text(text.replace("destination: canada", "destination: australia", 1))
    load_seed(url, seed)
    engine = make_engine(url, read_only=True)
    try:
        with engine.connect() as conn:
            served = facet_counts(conn, ["destination"], None)["destination"]
            kinds = dict(conn.execute(select(destination_table.c.id, destination_table.c.kind)).all())
            grouped = conn.execute(
                metric_select(metric_table.c.destination_id, func.count()).group_by(metric_table.c.destination_id)
            ).all()
    finally:
        engine.dispose()
    after = {f["value"]: f["count"] for f in served}
    assert after == {None if d is None else d: n for d, n in grouped}
    assert after["canada"] == before["canada"] - 1 and after["australia"] == before["australia"] + 1
    assert kinds["canada"] == kinds["australia"]
