"""Caches never serve stale bytes: after a reload every cached answer equals a fresh, uncached one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from tests.conftest import load_seed

URLS = [
    "/",
    "/v1/metrics",
    "/v1/metrics?format=csv",
    "/v1/metrics/canada-emigrated-1985-2005",
    "/v1/metrics?country=CA",
    "/v1/metrics?limit=5&after=canada-emigrated-1985-2005",
    "/v1/citations?metric=canada-emigrated-1985-2005",
    "/v1/reports",
]


def _edit_canada_note(seed_dir: Path, note: str) -> None:
    path = seed_dir / "metrics.yaml"
    text = path.read_text(encoding="utf-8")
    entry = "  - id: canada-emigrated-1985-2005\n"
    assert entry in text
    path.write_text(text.replace(entry, entry + f"    attribution_note: {json.dumps(note)}\n", 1), encoding="utf-8")


def _uncached(url: str) -> TestClient:
    app = create_app(Settings(database_url=url))
    app.state.response_cache.max_entries = 0  # render every time
    return TestClient(app)


def test_reload_invalidates_every_cache(empty_db_url: str, seed_copy: Path) -> None:
    load_seed(empty_db_url)
    with TestClient(create_app(Settings(database_url=empty_db_url))) as cached, _uncached(empty_db_url) as fresh:
        before = {url: cached.get(url).content for url in URLS}
        assert {url: cached.get(url).content for url in URLS} == before  # served again, from the caches
        _edit_canada_note(seed_copy, "Edited for the cache test.")
        assert load_seed(empty_db_url, seed_copy).changed
        after = {url: cached.get(url).content for url in URLS}
        assert after == {url: fresh.get(url).content for url in URLS}
        assert b"Edited for the cache test." in after["/v1/metrics/canada-emigrated-1985-2005"]
        assert after["/v1/reports"] == before["/v1/reports"]  # unchanged data, same bytes
        assert after["/v1/metrics/canada-emigrated-1985-2005"] != before["/v1/metrics/canada-emigrated-1985-2005"]


def test_sqlite_fast_cache_answers_hits_without_the_application(sqlite_url: str) -> None:
    app = create_app(Settings(database_url=sqlite_url))
    with TestClient(app) as client:
        first = client.get("/v1/metrics?unit=USD")
        fast = app.fast_cache
        assert fast is not None
        hits = fast.hits
        second = client.get("/v1/metrics?unit=USD")
        assert fast.hits == hits + 1
        assert first.content == second.content and first.headers["etag"] == second.headers["etag"]
        assert second.headers["x-content-type-options"] == "nosniff"  # security headers on hits too
        not_modified = client.get("/v1/metrics?unit=USD", headers={"if-none-match": first.headers["etag"]})
        assert not_modified.status_code == 304 and not_modified.content == b""
        csv = client.get("/v1/metrics?unit=USD", headers={"accept": "text/csv"})
        assert csv.headers["content-type"].startswith("text/csv")  # Accept is part of the key
        head = client.head("/v1/metrics?unit=USD")
        assert head.status_code == 200 and head.content == b""


@pytest.mark.parametrize("path", ["/v1/metrics/nope", "/v1/metrics?limit=0"])
def test_errors_are_not_cached(sqlite_url: str, path: str) -> None:
    app = create_app(Settings(database_url=sqlite_url))
    with TestClient(app) as client:
        assert client.get(path).status_code >= 400
        fast = app.fast_cache
        assert fast is not None
        assert client.get(path).status_code >= 400 and fast.hits == 0


VARIANTS: list[dict[str, str]] = [
    {},
    {"accept-encoding": "gzip"},
    {"origin": "https://example.org"},
    {"accept": "text/csv"},
]


def _sent(response: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    """What was sent, but the date and the request id: both belong to each request (tests/test_access_log.py)."""
    kept = sorted((k, v) for k, v in response.headers.items() if k not in ("date", "x-request-id"))
    return response.status_code, kept, response.content


@pytest.mark.parametrize("headers", VARIANTS, ids=["plain", "gzip", "origin", "csv"])
def test_fast_cache_hits_are_the_uncached_response_byte_for_byte(sqlite_url: str, headers: dict[str, str]) -> None:
    cached_app = create_app(Settings(database_url=sqlite_url))
    uncached_app = create_app(Settings(database_url=sqlite_url, response_cache=False))
    assert uncached_app.fast_cache is None
    with TestClient(cached_app) as cached, TestClient(uncached_app) as fresh:
        fast = cached_app.fast_cache
        assert fast is not None
        for url in URLS:
            cached.get(url, headers=headers)
            hits = fast.hits
            hit = cached.get(url, headers=headers)
            assert fast.hits == hits + 1, url
            assert _sent(hit) == _sent(fresh.get(url, headers=headers)), url
        assert uncached_app.state.response_cache._items == {}  # RESPONSE_CACHE=false: nothing kept


@pytest.mark.parametrize(
    "headers",
    [{"if-none-match": "*"}, {"content-length": "0"}, {"x-padding": "x" * 5000}],
    ids=["conditional", "body", "large-head"],
)
def test_fast_cache_leaves_unusual_requests_to_the_application(sqlite_url: str, headers: dict[str, str]) -> None:
    app = create_app(Settings(database_url=sqlite_url))
    with TestClient(app) as client:
        client.get("/v1/metrics")
        fast = app.fast_cache
        assert fast is not None
        hits = fast.hits
        client.get("/v1/metrics", headers=headers)
        assert fast.hits == hits
