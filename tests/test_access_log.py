"""The JSON access log (app/access_log.py): one line per request, with the request id the response carries."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app.access_log import logger
from app.config import Settings
from app.main import create_app


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[dict[str, object]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(record.getMessage()))


@pytest.fixture
def lines() -> Iterator[list[dict[str, object]]]:
    handler = _Lines()
    logger.addHandler(handler)
    try:
        yield handler.lines
    finally:
        logger.removeHandler(handler)


def _client(sqlite_url: str, access_log: str) -> TestClient:
    return TestClient(create_app(Settings(database_url=sqlite_url, access_log=access_log)))  # type: ignore[arg-type]


def test_one_json_line_per_request_with_the_callers_request_id(sqlite_url: str, lines: list[dict[str, object]]) -> None:
    with _client(sqlite_url, "json") as client:
        ok = client.get("/v1/metrics?limit=2", headers={"X-Request-ID": "abc-123"})
        missing = client.get("/v1/nothing-here")
        too_long = client.get("/v1/metrics?" + "a" * 9000)
    assert ok.status_code == 200 and ok.headers["x-request-id"] == "abc-123"
    assert len(lines) == 3, lines
    first, second, third = lines
    assert first["method"] == "GET" and first["path"] == "/v1/metrics" and first["query"] == "limit=2"
    assert first["status"] == 200 and first["request_id"] == "abc-123"
    assert first["bytes"] == int(ok.headers["content-length"])  # as sent (gzip included)
    assert isinstance(first["duration_ms"], float) and first["duration_ms"] >= 0
    assert isinstance(first["ts"], str) and isinstance(first["host"], str)
    # Errors answered anywhere inside the app are logged with the status the client got.
    assert (second["status"], missing.status_code) == (404, 404)
    assert (third["status"], too_long.status_code) == (414, 414)
    assert third["request_id"] == too_long.headers["x-request-id"]
    assert isinstance(third["query"], str) and len(third["query"]) <= 1024


def test_a_request_id_that_is_not_a_plain_token_is_replaced(sqlite_url: str, lines: list[dict[str, object]]) -> None:
    with _client(sqlite_url, "json") as client:
        given = [
            client.get("/health/live"),
            client.get("/health/live", headers={"X-Request-ID": 'x"\\ny'}),
            client.get("/health/live", headers={"X-Request-ID": "a" * 65}),
        ]
    ids = [response.headers["x-request-id"] for response in given]
    assert len(set(ids)) == 3
    assert all(len(i) == 32 and i.isalnum() for i in ids), ids
    assert [line["request_id"] for line in lines] == ids
    # Exactly one X-Request-ID on the response.
    assert all(len(response.headers.get_list("x-request-id")) == 1 for response in given)


def test_off_logs_nothing_but_still_echoes_the_id(sqlite_url: str, lines: list[dict[str, object]]) -> None:
    with _client(sqlite_url, "off") as client:
        response = client.get("/health/live", headers={"X-Request-ID": "r-1"})
    assert response.headers["x-request-id"] == "r-1"
    assert lines == []


def test_a_fast_cache_hit_is_logged_once_and_carries_its_request_id(
    sqlite_url: str, lines: list[dict[str, object]]
) -> None:
    # The fast cache answers in front of every middleware (app.api.fastcache.CachingFastAPI): the access log
    # must sit in front of it, or a hit would leave no line and no X-Request-ID.
    app = create_app(Settings(database_url=sqlite_url, access_log="json"))
    assert app.fast_cache is not None  # type: ignore[attr-defined]
    with TestClient(app) as client:
        first = client.get("/v1/sources", headers={"X-Request-ID": "miss-1"})
        hits_before = app.fast_cache.hits  # type: ignore[attr-defined]
        second = client.get("/v1/sources", headers={"X-Request-ID": "hit-1"})
        third = client.get("/v1/sources")
    assert app.fast_cache.hits == hits_before + 2  # type: ignore[attr-defined]
    assert first.content == second.content == third.content
    assert (first.headers["x-request-id"], second.headers["x-request-id"]) == ("miss-1", "hit-1")
    assert len(third.headers["x-request-id"]) == 32
    assert all(len(response.headers.get_list("x-request-id")) == 1 for response in (first, second, third))
    assert [(line["request_id"], line["status"], line["path"]) for line in lines] == [
        ("miss-1", 200, "/v1/sources"),
        ("hit-1", 200, "/v1/sources"),
        (third.headers["x-request-id"], 200, "/v1/sources"),
    ]
    assert lines[1]["bytes"] == len(second.content)
