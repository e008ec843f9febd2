"""Pages joined from the stored representations (issue 17) are byte for byte what the per-request renderer
gives: the documents built by app.api.queries for every matching row, filtered by an independent reading of
the filters (tests/reliability/test_properties.py), in the order the old query gave, paged by hand."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, create_engine, select
from starlette.requests import Request

from app.api.filters import FILTERS, FilterContext, MetricQuery, order_by
from app.api.formats import _csv_cell, render_csv, render_json
from app.api.pagination import keyset_links, page_document, page_links
from app.api.queries import (
    METRIC_CSV_COLUMNS,
    metric_csv_rows,
    metric_documents,
    metric_select,
    representation_table,
)
from app.api.stored import _csv_line
from app.config import Settings
from app.db import normalize_url
from app.main import create_app
from tests.api.test_cache import _edit_canada_note
from tests.conftest import load_seed
from tests.reliability.test_properties import SETTINGS, _country_codes, _selected, filters

IDS_SAMPLE = ["canada-emigrated-1985-2005", "hong-kong-emigrated-1985-2005", "a", "zz", "syn-none"]


@cache
def _engine(url: str) -> Engine:
    return create_engine(normalize_url(url))


def _reference(client: TestClient, url: str, query: dict[str, Any]) -> list[dict[str, Any]]:
    """Every matching metric's document, built per request as before, in the requested order."""
    with _engine(url).connect() as conn:
        context = FilterContext(conn)
        if "country" in query:  # the builder's input: how each destination matched (app.api.filters)
            FILTERS["country"](MetricQuery(country=query["country"]), context)
        match = context.country_match
        rows = conn.execute(metric_select().order_by(*order_by(query.get("sort")))).all()
        documents = metric_documents(conn, rows, match)
    codes = _country_codes(client)
    as_sent = [json.loads(render_json(d)) for d in documents]  # dates as the API writes them
    return [d for d in as_sent if _selected(d, query, codes)]


def _request(query: list[tuple[str, str]]) -> Request:
    scope = {"type": "http", "path": "/v1/metrics", "query_string": urlencode(query).encode(), "headers": []}
    return Request(scope)


def _expected_page(everything: list[dict[str, Any]], query: dict[str, Any], params: list[tuple[str, str]]) -> bytes:
    limit, offset, after = int(query.get("limit", 100)), int(query.get("offset", 0)), query.get("after")
    request = _request(params)
    ids = [d["id"] for d in everything]
    if after is None:
        page = everything[offset : offset + limit]
        links = page_links(request, len(everything), limit, offset)
    else:
        # In every order: the rows after the cursor's place; none when it is not among them (issue 14).
        start = ids.index(after) + 1 if after in ids else len(ids)
        earlier = ids[:start][::-1][: limit + 1]
        following = everything[start + offset :]
        page = following[:limit]
        last = page[-1]["id"] if len(following) > limit else None
        links = keyset_links(request, earlier, after, limit, offset, last)
    return render_json(page_document(page, len(everything), limit, offset, links))


paging = st.fixed_dictionaries(
    {},
    optional={
        "limit": st.integers(1, 40),
        "offset": st.integers(0, 35),
        "after": st.sampled_from(IDS_SAMPLE),
    },
)


@pytest.fixture(scope="module")
def uncached(db_url: str) -> Iterator[TestClient]:
    """Every answer rendered (the response cache sorts parameters in its key, links keep their order)."""
    with TestClient(create_app(Settings(database_url=db_url, response_cache=False))) as client:
        yield client


@SETTINGS.__class__(SETTINGS, max_examples=150)
@given(query=filters, page=paging)
def test_stored_pages_are_the_per_request_render_byte_for_byte(
    uncached: TestClient, db_url: str, query: dict[str, Any], page: dict[str, Any]
) -> None:
    client = uncached
    query = {**query, **page}
    params = [(k, str(v)) for k, values in query.items() for v in (values if isinstance(values, list) else [values])]
    everything = _reference(client, db_url, query)
    response = client.get("/v1/metrics", params=params)
    assert response.status_code == 200, response.text
    assert response.content == _expected_page(everything, query, params), params
    csv_params = [(k, v) for k, v in params if k not in ("limit", "offset", "after")] + [("format", "csv")]
    csv_response = client.get("/v1/metrics", params=csv_params)
    assert csv_response.content == render_csv(METRIC_CSV_COLUMNS, metric_csv_rows(everything))


def test_a_reload_that_changes_one_figure_changes_its_stored_representation_and_every_page(
    empty_db_url: str, seed_copy: Path
) -> None:
    load_seed(empty_db_url)
    stored = select(representation_table.c.document).where(
        representation_table.c.metric_id == "canada-emigrated-1985-2005"
    )
    engine = create_engine(normalize_url(empty_db_url))
    try:
        with engine.connect() as conn:
            before = conn.execute(stored).scalar_one()
        _edit_canada_note(seed_copy, "Edited for the stored representation test.")
        assert load_seed(empty_db_url, seed_copy).changed
        with engine.connect() as conn:
            after = conn.execute(stored).scalar_one()
        assert before != after and "Edited for the stored representation test." in after
    finally:
        engine.dispose()
    app = create_app(Settings(database_url=empty_db_url))
    app.state.response_cache.max_entries = 0
    with TestClient(app) as client:
        for url in (
            "/v1/metrics",
            "/v1/metrics?country=CA",
            "/v1/metrics?q=canada&format=csv",
            "/v1/metrics?sort=-lower",
        ):
            assert b"Edited for the stored representation test." in client.get(url).content, url


def test_each_figure_is_its_stored_representation_and_the_builders_byte_for_byte(
    uncached: TestClient, db_url: str
) -> None:
    """/v1/metrics/{id} sends the stored document and CSV row: what metric_documents builds, for every figure."""
    with _engine(db_url).connect() as conn:
        rows = conn.execute(metric_select()).all()
        documents = metric_documents(conn, rows)
    assert len(documents) > 10
    for document in documents:
        url = f"/v1/metrics/{document['id']}"
        assert uncached.get(url).content == render_json(document), url
        expected_csv = render_csv(METRIC_CSV_COLUMNS, metric_csv_rows([document]))
        assert uncached.get(url, params={"format": "csv"}).content == expected_csv, url


def csv_writer_line(cells: list[Any]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow([_csv_cell(cell) for cell in cells])
    return out.getvalue()


CELLS = st.lists(
    st.one_of(
        st.text(alphabet=st.sampled_from(["a", ",", '"', " ", "\n", "\r", "é", "'", ";"]), max_size=6),
        st.text(max_size=8),
        st.none(),
        st.booleans(),
        st.integers(),
        st.lists(st.text(alphabet='a,"|', max_size=3), max_size=3),
    ),
    max_size=6,
)


@settings(max_examples=500, derandomize=True, deadline=None)
@given(CELLS)
def test_a_stored_csv_line_is_what_csv_writer_writes(cells: list[Any]) -> None:
    assert _csv_line(cells) == csv_writer_line(cells)
