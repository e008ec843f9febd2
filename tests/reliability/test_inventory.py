"""Inventory: the app serves the OpenAPI paths, the health endpoints and the offline docs, nothing else.

Served, exactly: every path of /openapi.json (GET; HEAD answered as GET by middleware), /health/live and
/health/ready (GET, HEAD; kept out of the document), /openapi.json, /docs, /redoc, and /static/ (the four
files fastapi-offline ships, the ReDoc bundle through a route of its own), and the explorer's /assets/ (its
one stylesheet) and /explore/metrics (its filter form's redirect). No debug route, `debug` off, and no
response of any kind sets a cookie.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import Mount, Route

from app.api.deps import get_conn
from app.api.docs import DOCS_ASSETS
from app.config import Settings
from app.main import create_app
from app.web.pages import STATIC as PAGE_ASSETS
from tests.reliability.conftest import problem_violations

HEALTH = {"/health/live", "/health/ready"}
DOCS = {"/openapi.json", "/docs", "/redoc", "/static/redoc.standalone.js"}
STATIC_FILES = {"favicon.png", "redoc.standalone.js", "swagger-ui-bundle.js", "swagger-ui.css"}
EXPLORER = {"/explore/metrics", "/assets/*"}
PAGE_FILES = {"explorer.css"}


def _routes(routes: list[Any], prefix: str = "") -> list[tuple[str, frozenset[str]]]:
    """(path, methods) of every route, included routers flattened; mounts as ("/static/*", {}) ."""
    found: list[tuple[str, frozenset[str]]] = []
    for route in routes:
        original = getattr(route, "original_router", None)
        if original is not None:  # FastAPI's included router
            found += _routes(original.routes, prefix + route.include_context.prefix)
        elif isinstance(route, Mount):
            found.append((prefix + route.path + "/*", frozenset()))
        elif isinstance(route, APIRoute | Route):
            found.append((prefix + route.path, frozenset(route.methods or ())))
        else:
            raise AssertionError(f"unexpected route {route!r}")
    return found


def test_routes_served_are_the_documented_ones_and_nothing_else(client: TestClient) -> None:
    app = client.app
    assert isinstance(app, FastAPI)
    document = client.get("/openapi.json").json()
    documented = set(document["paths"])
    served = _routes(app.routes)
    paths = {path for path, _ in served}
    expected = documented | HEALTH | DOCS | EXPLORER | {"/static/*"}
    assert paths == expected, paths ^ expected
    assert len(paths) == len(served), "a path is registered twice"
    for path, methods in served:
        assert methods <= {"GET", "HEAD"}, (path, methods)
        assert "debug" not in path.lower() and "admin" not in path.lower()
    for path, item in document["paths"].items():
        assert set(item) == {"get"}, path
    assert {p.name for p in DOCS_ASSETS.iterdir()} == STATIC_FILES
    assert {p.name for p in PAGE_ASSETS.iterdir()} == PAGE_FILES
    assert app.debug is False
    print(
        f"\nserved: {len(documented)} OpenAPI paths + {sorted(HEALTH)} + {sorted(DOCS)} + /static/ "
        f"({', '.join(sorted(STATIC_FILES))})"
    )


def test_no_debug_pages_and_no_cookies_anywhere(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    urls = [path.replace("{", "").replace("}", "") for path in document["paths"]]  # items: 404 problem
    urls += ["/v1/metrics/canada-emigrated-1985-2005", "/v1/metrics?format=csv", "/v1/metrics?limit=0"]
    urls += sorted(HEALTH | DOCS) + [f"/static/{name}" for name in sorted(STATIC_FILES)]
    urls += ["/explore/metrics?unit=persons", "/v1/metrics?format=html"] + [f"/assets/{n}" for n in sorted(PAGE_FILES)]
    urls += [
        "/debug",
        "/_debug",
        "/__debug__",
        "/admin",
        "/console",
        "/docs/oauth2-redirect",
        "/metrics",
        "/.env",
        "/.git/config",
        "/static/../app/config.py",
        "/openapi.yaml",
        "/server-status",
    ]
    for url in urls:
        for method in ("GET", "HEAD", "OPTIONS", "POST", "TRACE"):
            response = client.request(method, url, headers={"origin": "https://example.org"})
            assert "set-cookie" not in response.headers, (method, url)
            assert response.status_code < 500, (method, url, response.status_code)
            if url in (
                "/debug",
                "/_debug",
                "/__debug__",
                "/admin",
                "/console",
                "/docs/oauth2-redirect",
                "/metrics",
                "/.env",
                "/.git/config",
                "/openapi.yaml",
                "/server-status",
            ) and method in ("GET", "HEAD"):
                assert response.status_code == 404, (method, url)


def test_an_unhandled_error_shows_no_debug_page(db_url: str) -> None:
    """With `debug` off, an exception in a route is a 500 problem without traceback, not Starlette's page."""

    app = create_app(Settings(database_url=db_url, fast_path=False))  # the route's own connection, broken

    def broken() -> None:
        raise RuntimeError("secret internals /work/main/app/api/deps.py")

    app.dependency_overrides[get_conn] = broken
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/v1/metrics")
    assert response.status_code == 500
    assert problem_violations(500, response.headers["content-type"], response.content) == []
    assert b"secret" not in response.content and "set-cookie" not in response.headers
