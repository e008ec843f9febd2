"""Bounded work per request: a statement timeout and a pool-wait timeout answer 503 problem+json (never
500, never a hang); request size limits answer 413/414/431 problem+json; the app's concurrency limit
answers 503 problem+json under overload. The timeouts are forced deterministically: the statement the app
sends is swapped for one that never ends, and the pool's only connection is held by the test.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from app.api.middleware import MAX_HEADER_BYTES, MAX_URL_BYTES
from app.config import Settings
from app.main import create_app
from tests.reliability.conftest import Server, problem_violations

NEVER_ENDS = {
    # A recursive CTE without end (SQLite has no sleep): only the progress-handler timeout stops it.
    "sqlite": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c",
    "postgresql": "SELECT pg_sleep(60)",
}


def _assert_503(response: httpx.Response, retry_after: str) -> dict[str, Any]:
    assert response.status_code == 503, response.text
    assert problem_violations(503, response.headers["content-type"], response.content) == []
    assert response.headers["retry-after"] == retry_after
    body: dict[str, Any] = response.json()
    assert body["type"].endswith("/database-unavailable")
    return body


def test_statement_timeout_answers_503_not_500_nor_a_hang(db_url: str) -> None:
    app = create_app(Settings(database_url=db_url, statement_timeout_ms=300, retry_after_s=4))
    engine = app.state.engine
    slow = NEVER_ENDS[engine.dialect.name]

    @event.listens_for(engine, "before_cursor_execute", retval=True)
    def never_ending(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> Any:
        if "FROM dataset" in statement:
            return slow, ()
        return statement, parameters

    with TestClient(app, raise_server_exceptions=False) as client:
        started = time.monotonic()
        response = client.get("/v1/metrics", params={"limit": 3})
        elapsed = time.monotonic() - started
        _assert_503(response, "4")
        event.remove(engine, "before_cursor_execute", never_ending)
        assert client.get("/v1/metrics", params={"limit": 3}).status_code == 200  # the pool recovered
    print(f"\nstatement timeout 300 ms on {engine.dialect.name}: 503 problem+json after {elapsed:.3f} s")
    assert elapsed < 5


def test_pool_wait_timeout_answers_503_not_500_nor_a_hang(db_url: str) -> None:
    app = create_app(
        Settings(database_url=db_url, pool_size=1, pool_max_overflow=0, pool_timeout_s=0.5, retry_after_s=6)
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/v1/periods").status_code == 200
        held = app.state.engine.connect()  # the pool's only connection
        try:
            started = time.monotonic()
            response = client.get("/v1/sources")
            elapsed = time.monotonic() - started
        finally:
            held.close()
        body = _assert_503(response, "6")
        assert "busy" in body["detail"]
        assert client.get("/v1/sources").status_code == 200
    print(f"\npool wait timeout 0.5 s on {app.state.engine.dialect.name}: 503 problem+json after {elapsed:.3f} s")
    assert 0.4 < elapsed < 5


@pytest.fixture(scope="module")
def sqlite_client(sqlite_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(database_url=sqlite_url)), raise_server_exceptions=False) as client:
        yield client


@pytest.mark.parametrize(
    ("method", "url", "headers", "content", "status"),
    [
        ("GET", "/v1/metrics?q=" + "x" * MAX_URL_BYTES, {}, None, 414),
        ("GET", "/v1/metrics/" + "x" * MAX_URL_BYTES, {}, None, 414),
        ("GET", "/v1/metrics", {"x-padding": "x" * MAX_HEADER_BYTES}, None, 431),
        ("GET", "/v1/metrics", {f"x-h{i}": "x" * 100 for i in range(90)}, None, 431),
        ("GET", "/v1/metrics", {}, b"x" * 100, 413),
        ("GET", "/v1/metrics", {"transfer-encoding": "chunked"}, iter([b"x"]), 413),
        ("POST", "/v1/metrics", {}, b"{}", 405),
        ("DELETE", "/v1/metrics/canada-emigrated-1985-2005", {"transfer-encoding": "chunked"}, iter([b"x"]), 405),
        ("GET", "/v1/metrics?limit=1", {"content-length": "0"}, None, 200),
        ("GET", "/v1/metrics?q=" + "x" * 200, {"x-padding": "x" * 4000}, None, 200),
    ],
    ids=[
        "long query",
        "long path",
        "one big header",
        "many headers",
        "body",
        "chunked body",
        "POST body: the method is wrong first",
        "DELETE chunked body",
        "empty body",
        "under the limits",
    ],
)
def test_request_size_limits(
    sqlite_client: TestClient, method: str, url: str, headers: dict[str, str], content: Any, status: int
) -> None:
    response = sqlite_client.request(method, url, headers=headers, content=content)
    assert response.status_code == status, response.text[:300]
    if status >= 400:
        assert problem_violations(status, response.headers["content-type"], response.content) == []
    if status == 405:
        assert response.headers["allow"] == "GET, HEAD"


def _raw_request(port: int, request: bytes, timeout_s: float = 10) -> bytes:
    """Send bytes as they are (no client library normalising them); read until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as sock:
        sock.sendall(request)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


def test_limits_with_a_real_uvicorn(sqlite_url: str, tmp_path: Path) -> None:
    """Through `cadre-data serve`: the app's limits answer (uvicorn reads up to 64 KiB of head), a GET with
    a 1 MiB body is refused unread, and the server keeps serving."""
    with Server(sqlite_url, tmp_path) as server:
        server.wait_ready()
        with httpx.Client(base_url=server.base, timeout=10) as client:
            long_url = client.get("/v1/metrics", params={"q": "x" * 20_000})
            big_header = client.get("/v1/metrics", headers={"x-padding": "x" * 20_000})
            body = client.request("GET", "/v1/metrics", content=b"x" * (1 << 20))
        for response, status in ((long_url, 414), (big_header, 431), (body, 413)):
            assert response.status_code == status
            assert problem_violations(status, response.headers["content-type"], response.content) == []
        # Far beyond 64 KiB of request head, uvicorn itself refuses (plain 400) and closes: nothing is buffered.
        huge = _raw_request(server.port, b"GET /v1/metrics?q=" + b"x" * (1 << 20) + b" HTTP/1.1\r\nHost: a\r\n\r\n")
        assert huge.startswith(b"HTTP/1.1 400 "), huge[:200]
        # A request line that is not HTTP at all.
        garbage = _raw_request(server.port, b"\x00\xff GARBAGE\r\n\r\n")
        assert garbage.startswith(b"HTTP/1.1 400 "), garbage[:200]
        assert httpx.get(server.base + "/v1/sources", timeout=10).status_code == 200
        assert server.process.poll() is None


def test_over_the_concurrency_limit_a_request_gets_503_problem_json_at_once(sqlite_url: str) -> None:
    """MAX_CONCURRENT_REQUESTS=2: with two requests held inside the app (their first query waits on a gate), a
    third gets 503 problem+json with Retry-After at once; /health/live is still answered; then all is served."""
    app = create_app(Settings(database_url=sqlite_url, max_concurrent_requests=2, retry_after_s=7))
    engine = app.state.engine
    gate, arrived = threading.Event(), threading.Semaphore(0)

    @event.listens_for(engine, "before_cursor_execute")
    def held(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if "FROM dataset" in statement and not gate.is_set():
            arrived.release()
            gate.wait(10)

    with TestClient(app, raise_server_exceptions=False) as client, ThreadPoolExecutor(max_workers=2) as pool:
        try:
            held_requests = [pool.submit(client.get, "/v1/metrics", params={"limit": i + 1}) for i in range(2)]
            for _ in range(2):
                assert arrived.acquire(timeout=10), "the two requests did not reach the database"
            started = time.monotonic()
            overloaded = client.get("/v1/sources")
            elapsed = time.monotonic() - started
            live = client.get("/health/live")
        finally:
            gate.set()
        assert [f.result(timeout=10).status_code for f in held_requests] == [200, 200]
        assert client.get("/v1/sources").status_code == 200
    event.remove(engine, "before_cursor_execute", held)
    assert overloaded.status_code == 503, overloaded.text
    assert problem_violations(503, overloaded.headers["content-type"], overloaded.content) == []
    assert overloaded.headers["retry-after"] == "7"
    assert overloaded.json()["type"] == "/problems/overloaded"
    assert live.status_code == 200
    print(f"\nconcurrency limit 2: 503 problem+json in {elapsed * 1000:.1f} ms with 2 requests in progress")
    assert elapsed < 2


def test_idle_connections_do_not_count_against_the_limit(sqlite_url: str, tmp_path: Path) -> None:
    """`cadre-data serve --limit-concurrency 8` limits requests in progress, not connections: with 8 idle
    connections open (uvicorn's own limit answered those with text/plain 503s) a request is served."""
    limit = 8
    with Server(sqlite_url, tmp_path, "--limit-concurrency", str(limit)) as server:
        server.wait_ready()
        idle = [socket.create_connection(("127.0.0.1", server.port), timeout=5) for _ in range(limit)]
        try:
            time.sleep(0.3)  # let the server accept them all
            response = httpx.get(server.base + "/v1/metrics", timeout=10)
        finally:
            for sock in idle:
                sock.close()
        assert response.status_code == 200, response.text
        assert server.process.poll() is None


def test_more_concurrent_requests_than_connections_do_not_starve_the_pool(db_url: str, tmp_path: Path) -> None:
    """64 requests at once, each a different (uncached) query, on a pool of 2 + 1 connections: every one
    answers 200. Requests wait for a connection on the event loop; before they did in worker threads, and
    then the threads holding connections could not run: every request waited out POOL_TIMEOUT_S for a 503."""

    with Server(db_url, tmp_path, pool_size="2", pool_max_overflow="1", pool_timeout_s="5") as server:
        server.wait_ready()
        with httpx.Client(base_url=server.base, timeout=30, limits=httpx.Limits(max_connections=64)) as client:

            def get(i: int) -> int:
                return client.get("/v1/metrics", params={"limit": i + 1, "sort": "-lower"}).status_code

            started = time.monotonic()
            with ThreadPoolExecutor(max_workers=64) as pool:
                statuses = list(pool.map(get, range(64)))
            elapsed = time.monotonic() - started
    print(f"\n64 concurrent uncached requests on 3 connections: {statuses.count(200)} x 200 in {elapsed:.2f} s")
    assert statuses == [200] * 64
    assert elapsed < 5  # well under POOL_TIMEOUT_S: nothing waited for the timeout
