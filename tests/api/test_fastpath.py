"""The hot path of /v1/metrics (app.api.fastpath, issue 17) answers what the route answers, byte for byte, on both
backends: for random parameter sets (Hypothesis), valid or not, in its range or not. It answers the requests it
is meant for, steps aside for every other, for an instrumented engine and on any error, and follows a reload."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import event
from sqlalchemy.engine import make_url

from app.api import fastpath
from app.config import Settings
from app.db import Connections, make_engine
from app.main import create_app
from tests.api.test_cache import _edit_canada_note
from tests.conftest import load_seed

IDS = ["canada-emigrated-1985-2005", "hong-kong-emigrated-1985-2005", "united-states-emigrated-1985-2005", "a", "zzz"]
COUNTRIES = ["CA", "ca", "Canada", "United States", "USA", "U.S.", "Hong Kong", "hong  kong", "SG", "ZZ", "Narnia"]
WORDS = ["canada", "more than", "us", "a", "Hong Kong", "1,2", "50%", "a_b", "\\", '"x', "a\nb", "É", "香港", "x" * 201]
"""q= words: common and rare, shorter than a trigram, LIKE's wildcards and escape, quotes, a newline, non-ASCII."""
AMOUNTS = st.one_of(
    st.integers(-5, 3_000_000).map(str),
    st.sampled_from(["0", "-0", "+5", "05", " 7", "1e3", "1_000", "abc", "", str(10**18), str(10**18 + 1)]),
)
queries = st.fixed_dictionaries(
    {},
    optional={
        "value_min": AMOUNTS,
        "value_max": AMOUNTS,
        "match": st.sampled_from(["overlaps", "within", "WITHIN", ""]),
        "country": st.sampled_from([*COUNTRIES, "", "x" * 101]),
        "limit": st.one_of(st.integers(1, 40).map(str), st.sampled_from(["0", "1000", "1001", "01", "abc"])),
        "offset": st.one_of(st.integers(0, 40).map(str), st.sampled_from(["-1", "007"])),
        "after": st.sampled_from([*IDS, "Not a slug", ""]),
        "sort": st.sampled_from(["id", "-lower", "-id", ""]),
        "format": st.sampled_from(["json", "csv", "html"]),
        "q": st.sampled_from(WORDS),
        "facet": st.just("unit"),
        "extra": st.just("1"),
    },
)
ACCEPTS = st.sampled_from([None, "*/*", "application/json", "text/csv", "text/html", "application/xml"])


@pytest.fixture(scope="module")
def pair(db_url: str) -> Iterator[tuple[TestClient, TestClient, Any]]:
    """(hot path on, hot path off, the hot path) over the same database, no response cache."""
    hot = create_app(Settings(database_url=db_url, response_cache=False))
    route = create_app(Settings(database_url=db_url, response_cache=False, fast_path=False))
    with TestClient(hot) as hot_client, TestClient(route) as route_client:
        yield hot_client, route_client, hot.state.hot_path


def _as_sent(response: Any) -> tuple[int, bytes, list[tuple[str, str]]]:
    """Status, body and headers in order (the request id apart: it is new on every response)."""
    return response.status_code, response.content, [(k, v) for k, v in response.headers.items() if k != "x-request-id"]


def _same(pair: tuple[TestClient, TestClient, Any], params: dict[str, str], headers: dict[str, str]) -> None:
    hot_client, route_client, _ = pair
    hot_client.get("/v1/metrics", params=params, headers=headers)  # what the route keeps per dataset, kept
    hot = _as_sent(hot_client.get("/v1/metrics", params=params, headers=headers))
    route = _as_sent(route_client.get("/v1/metrics", params=params, headers=headers))
    assert hot == route, params


@settings(max_examples=300, deadline=None)
@given(params=queries, accept=ACCEPTS, conditional=st.booleans())
def test_the_hot_path_sends_what_the_route_sends(
    pair: tuple[TestClient, TestClient, Any], params: dict[str, str], accept: str | None, conditional: bool
) -> None:
    headers = {"Accept": accept} if accept else {}
    if conditional:  # If-None-Match with the route's own ETag: both 304, or both 200 when it does not match
        etag = pair[1].get("/v1/metrics", params=params, headers=headers).headers.get("etag")
        headers["If-None-Match"] = etag or '"none"'
    _same(pair, params, headers)


ANSWERED = [
    {},
    {"value_min": "150000"},
    {"value_min": "150000", "match": "within"},
    {"value_max": "100000", "match": "overlaps"},
    {"country": "CA"},
    {"country": "Hong Kong", "value_max": "100000"},
    {"country": "ZZ"},
    {"after": "canada-emigrated-1985-2005", "limit": "3"},
    {"after": "zzz"},
    {"limit": "5", "offset": "3"},
    {"q": "canada"},
    {"q": "us", "value_min": "1000"},
    {"q": "a\nb"},
    {"after": "canada-emigrated-1985-2005", "offset": "2", "limit": "2", "sort": "id", "format": "json"},
]
ROUTED = [
    {"sort": "-lower"},
    {"format": "csv"},
    {"facet": "unit"},
    {"unit": "persons"},
    {"value_min": "abc"},
    {"value_min": "05"},
    {"value_min": "5", "value_max": "4"},
    {"country": "Narnia"},
    {"country": "South East Asia"},
    {"limit": "0"},
    {"extra": "1"},
    {"q": "x" * 201},
]


@pytest.mark.parametrize("params", ANSWERED)
def test_the_requests_it_is_for_are_answered_by_it(
    pair: tuple[TestClient, TestClient, Any], params: dict[str, str]
) -> None:
    hot_client, _, hot = pair
    hot_client.get("/v1/metrics", params=params)
    answered = hot.answered
    response = hot_client.get("/v1/metrics", params=params, headers={"Accept": "application/json"})
    assert response.status_code == 200 and hot.answered == answered + 1


@pytest.mark.parametrize("params", ROUTED)
def test_every_other_request_goes_to_the_route(
    pair: tuple[TestClient, TestClient, Any], params: dict[str, str]
) -> None:
    hot_client, _, hot = pair
    hot_client.get("/v1/metrics", params=params)
    answered = hot.answered
    hot_client.get("/v1/metrics", params=params)
    assert hot.answered == answered
    _same(pair, params, {})


@pytest.mark.parametrize("raw", [b"q=%FF", b"country=Caf%E9", b"q=a%00b", b"q=caf%C3%A9"])
def test_raw_bytes_get_what_the_route_gives(pair: tuple[TestClient, TestClient, Any], raw: bytes) -> None:
    """Escapes of bytes that are not UTF-8, or of a NUL: the route's answer (the test client sends no raw non-ASCII)."""
    hot_client, route_client, _ = pair

    def get(client: TestClient) -> Any:
        return client.send(client.build_request("GET", httpx.URL("http://testserver/v1/metrics", query=raw)))

    get(hot_client)  # what the route keeps per dataset, kept
    assert _as_sent(get(hot_client)) == _as_sent(get(route_client))


def test_repeats_and_other_paths_go_to_the_route(pair: tuple[TestClient, TestClient, Any]) -> None:
    hot_client, _, hot = pair
    answered = hot.answered
    for url in ("/v1/metrics?limit=2&limit=3", "/v1/metrics.csv", "/v1/metrics/canada-emigrated-1985-2005"):
        assert hot_client.get(url).status_code in (200, 400)
    assert hot_client.head("/v1/metrics?value_min=1").status_code == 200  # HEAD is a GET without a body, here too
    assert hot.answered == answered + 1


def test_an_instrumented_engine_sees_every_statement(pair: tuple[TestClient, TestClient, Any]) -> None:
    """With a before_cursor_execute listener (tracing, statement counts) the route answers, through SQLAlchemy."""
    hot_client, _, hot = pair
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    engine = hot_client.app.state.engine  # type: ignore[attr-defined]
    hot_client.get("/v1/metrics?value_min=10")
    answered = hot.answered
    event.listen(engine, "before_cursor_execute", record)
    try:
        assert hot_client.get("/v1/metrics?value_min=10").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert hot.answered == answered and any("FROM metrics" in s for s in seen)


def test_an_error_on_the_hot_path_is_answered_by_the_route(
    pair: tuple[TestClient, TestClient, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    hot_client, route_client, hot = pair

    def broken(*_: Any) -> Any:
        raise RuntimeError("the database went away")

    hot_client.get("/v1/metrics?country=CA")
    answered = hot.answered
    monkeypatch.setattr(fastpath, "json_page", broken)  # every way the hot path joins a page
    response = hot_client.get("/v1/metrics?country=CA")
    assert hot.answered == answered
    assert response.content == route_client.get("/v1/metrics?country=CA").content


def test_a_full_pool_is_left_to_the_route(db_url: str) -> None:
    """No pool slot free within the timeout: the route waits its own turn and answers 503 problem+json."""
    app = create_app(
        Settings(database_url=db_url, pool_size=1, pool_max_overflow=0, pool_timeout_s=0.3, response_cache=False)
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/v1/metrics?value_min=1").status_code == 200
        held = app.state.engine.connect()
        try:
            app.state.db_slots = type(app.state.db_slots)(0)  # every slot taken
            response = client.get("/v1/metrics?value_min=1")
        finally:
            held.close()
        assert response.status_code == 503 and response.headers["content-type"] == "application/problem+json"


def test_statements_read_indexes(pair: tuple[TestClient, TestClient, Any], db_url: str) -> None:
    """What the hot path runs, with its parameters: few statements, each through an index where it filters."""
    hot_client, _, hot = pair
    hot_client.get("/v1/metrics?value_min=150000&match=within&after=canada-emigrated-1985-2005")
    hot.statements = []
    try:
        hot_client.get("/v1/metrics?value_min=150000&match=within&after=canada-emigrated-1985-2005")
        run = list(hot.statements)
    finally:
        hot.statements = None
    # SQLite: the signature, the bounded total, whether the cursor is among them, the page, the rows back;
    # PostgreSQL: all of them in one statement
    assert len(run) == (5 if db_url.startswith("sqlite") else 1), run
    if db_url.startswith("sqlite"):
        engine = hot_client.app.state.engine  # type: ignore[attr-defined]
        with engine.connect() as conn:
            for statement, parameters in run[1:]:
                plan = "\n".join(r[-1] for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters))
                assert "SCAN metrics\n" not in plan + "\n" or "USING" in plan, (statement, plan)


def test_a_reload_is_seen_at_once(empty_db_url: str, seed_copy: Path) -> None:
    """A figure changed by a reload: the next hot-path page holds the new document, like the route's."""
    load_seed(empty_db_url)
    hot_app = create_app(Settings(database_url=empty_db_url, response_cache=False))
    route_app = create_app(Settings(database_url=empty_db_url, response_cache=False, fast_path=False))
    with TestClient(hot_app) as hot_client, TestClient(route_app) as route_client:
        url = "/v1/metrics?country=CA"
        hot_client.get(url)
        before = hot_client.get(url).content
        _edit_canada_note(seed_copy, "Edited by the reload test.")
        assert load_seed(empty_db_url, seed_copy).changed
        after = hot_client.get(url)
        assert b"Edited by the reload test." in after.content and b"Edited" not in before
        assert after.content == route_client.get(url).content


def test_postgresql_reads_a_page_in_one_statement(pair: tuple[TestClient, TestClient, Any], db_url: str) -> None:
    """PostgreSQL: a page with no cursor, offset or q is one statement that also reads the signature; one built for
    another dataset (a reload since the last answer) is read again in a transaction, and is still the route's."""
    if not db_url.startswith("postgresql"):
        pytest.skip("one statement is PostgreSQL's path (SQLite's statements cost no round trip)")
    hot_client, route_client, hot = pair
    url = "/v1/metrics?value_min=1000"
    hot_client.get(url)
    # the one statement; then it again, its signature not the assumed one, and the signature, total and page
    for signature, statements in ((hot.signature, 1), ("another dataset", 4)):
        hot.signature, hot.statements = signature, []
        try:
            response = hot_client.get(url)
            run = list(hot.statements)
        finally:
            hot.statements = None
        assert len(run) == statements and "dataset.signature" in run[0][0], run
        assert response.content == route_client.get(url).content
    keyset = [
        f"value_min=1000&limit=3&after={a}"
        for a in ("canada-emigrated-1985-2005", "zzz", "australia-emigrated-1985-2005")
    ]
    # a cursor held, not held, the first; q: its lists and the trigram index's matches first, with the signature
    for query, statements in [*((k, 1) for k in keyset), ("q=canada", 2), ("q=spouses&after=zzz", 2), ("q=a%0Ab", 2)]:
        url = f"/v1/metrics?{query}"
        hot_client.get(url)
        hot.statements = []
        try:
            response = hot_client.get(url)
            run = list(hot.statements)
        finally:
            hot.statements = None
        assert len(run) == statements, run
        assert _as_sent(response) == _as_sent(route_client.get(url))


def _postgresql_only(db_url: str) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("the hot path's own connections are PostgreSQL's (SQLite's pages are local file reads)")


def test_postgresql_pages_reuse_the_hot_paths_connections(
    pair: tuple[TestClient, TestClient, Any], db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hot path's own connections: one statement per page, none opened while a steady load gives them back."""
    _postgresql_only(db_url)
    hot_client, _, hot = pair
    url = "/v1/metrics?value_min=1000"
    hot_client.get(url)
    hot_client.get(url)
    opened: list[Any] = []
    connect = psycopg.Connection.connect

    def counted(*args: Any, **kwargs: Any) -> Any:
        opened.append(kwargs)
        return connect(*args, **kwargs)

    monkeypatch.setattr(psycopg.Connection, "connect", counted)
    idle = [connection for connection, _ in hot.connections.idle]
    answered, hot.statements = hot.answered, []
    try:
        for _ in range(5):
            assert hot_client.get(url).status_code == 200
        run = list(hot.statements)
    finally:
        hot.statements = None
    assert hot.answered == answered + 5 and len(run) == 5 and not opened
    assert [connection for connection, _ in hot.connections.idle] == idle


def test_a_connection_killed_on_the_server_is_replaced(pair: tuple[TestClient, TestClient, Any], db_url: str) -> None:
    """pg_terminate_backend (or a server restart) ends the hot path's idle connections: the next request is
    answered by the route, the same bytes, and the one after by the hot path again, on a new connection."""
    _postgresql_only(db_url)
    hot_client, route_client, hot = pair
    url = "/v1/metrics?country=CA"
    hot_client.get(url)
    hot_client.get(url)
    killed = {connection.info.backend_pid for connection, _ in hot.connections.idle}
    assert killed
    engine = hot_client.app.state.engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        for pid in killed:
            assert conn.exec_driver_sql("SELECT pg_terminate_backend(%s, 5000)", (pid,)).scalar_one()
    answered = hot.answered
    assert _as_sent(hot_client.get(url)) == _as_sent(route_client.get(url))
    assert hot.answered == answered
    assert hot_client.get(url).status_code == 200 and hot.answered == answered + 1
    assert not killed & {connection.info.backend_pid for connection, _ in hot.connections.idle}


def test_a_database_that_is_down_gets_the_routes_503(db_url: str) -> None:
    """No connection to be had (here: nothing listens on the port): the route answers, with its 503 problem."""
    _postgresql_only(db_url)
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    down = make_url(db_url).set(host="127.0.0.1", port=port).render_as_string(hide_password=False)
    app = create_app(Settings(database_url=down, response_cache=False, connect_timeout_s=2))
    with TestClient(app, raise_server_exceptions=False) as client:
        app.state.hot_path.signature = "assumed"  # as after an answer: the page is asked in one statement
        response = client.get("/v1/metrics?value_min=1")
        assert response.status_code == 503 and response.headers["content-type"] == "application/problem+json"
        assert app.state.hot_path.answered == 0


def test_connections_beyond_the_pool_size_are_closed_once_idle(db_url: str) -> None:
    """A burst's extra connections stay open for the next one (a steady load opens none), and are closed once idle
    for longer than overflow_idle_s; `keep` stay open."""
    _postgresql_only(db_url)
    engine = make_engine(db_url, read_only=True)
    connections = Connections(engine, keep=1, statement_timeout_ms=1000, connect_timeout_s=2)
    try:
        held = [connections.get() for _ in range(3)]
        for connection in held:
            connections.put(connection)
        assert len(connections.idle) == 3
        connections.overflow_idle_s = 0.0
        connection = connections.get()
        time.sleep(0.01)
        connections.put(connection)
        assert [idle for idle, _ in connections.idle] == [connection]
        assert all(closed.closed for closed in held if closed is not connection)
    finally:
        connections.close()
        engine.dispose()
