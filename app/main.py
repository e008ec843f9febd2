"""create_app(): the read-only API, its middleware, error handlers and offline docs."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import fastapi_offline
from fastapi import Depends, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import __version__
from app.api.deps import ConnDep, FormatParam, strict_query
from app.api.fastcache import CachingFastAPI, FastCache, SQLiteDataVersion
from app.api.representation import Payload, ResponseCache, dataset_signature, negotiate, respond
from app.api.routes import checks, citations, destinations, health, metrics, periods, reports, sources
from app.config import Settings, get_settings
from app.db import is_sqlite, make_engine, normalize_url, sqlite_path
from app.errors import Problem, install_error_handlers, problem_response, problem_responses
from app.schemas import IndexPublic
from app.web.pages import install as install_pages

DOCS_ASSETS = Path(fastapi_offline.__file__).parent / "static"
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
# The explorer's pages (text/html on the data URLs): one stylesheet and inline SVG, no script at all.
PAGE_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'"
)
# Swagger UI and ReDoc bootstrap with an inline script and ReDoc runs a blob: worker; nothing leaves this origin.
DOCS_CSP = (
    "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
DESCRIPTION = """
Figures from an internal report by the Organization Department of the CCP Central Committee and the
Ministry of Public Security (second half of February 2006) on spouses and children of CCP cadres who
settled abroad, **as reported** by *The Epoch Times* (3 May 2006, updated 11 September 2015).

Every figure is a claim as reported, never restated as fact: it keeps the source's words (`value_text`),
its qualifier (`exact`, `more_than`, `at_least`, `between`) and the bounds they imply (`lower`, `upper`,
each inclusive or not; `null` = open), its unit, period and destination, and the verbatim quote it comes
from, with a link that opens the article at that quote.

Read-only: GET and HEAD only. JSON by default; CSV with `Accept: text/csv` or `format=csv`.
Errors are RFC 9457 `application/problem+json`.
"""
TAGS = [
    {"name": "metrics", "description": "The figures, with bounds, destination, period and citations."},
    {"name": "citations", "description": "Verbatim quotes, each linked to its place in the article."},
    {"name": "sources", "description": "The publication the figures are quoted from."},
    {"name": "reports", "description": "The report the article describes."},
    {"name": "periods", "description": "Instants and inclusive year intervals."},
    {"name": "destinations", "description": "Places as the source names them, with ISO codes and members."},
    {"name": "index", "description": "What this dataset is, and where everything is."},
]


class HeadAndSecurityHeaders:
    """Pure ASGI: answer HEAD as GET without a body, and add security headers to every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        is_head = scope["method"] == "HEAD"
        if is_head:
            scope = {**scope, "method": "GET"}
        path: str = scope["path"]
        csp = DOCS_CSP if path in ("/docs", "/redoc") or path.startswith("/static/") else API_CSP

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"server"]
                is_page = any(k.lower() == b"content-type" and v.startswith(b"text/html") for k, v in headers)
                headers += [
                    (b"x-content-type-options", b"nosniff"),
                    (b"content-security-policy", (PAGE_CSP if is_page and csp == API_CSP else csp).encode()),
                    (b"referrer-policy", b"no-referrer"),
                    (b"x-frame-options", b"DENY"),
                    (b"cross-origin-resource-policy", b"cross-origin"),
                ]
                message = {**message, "headers": headers}
            elif is_head and message["type"] == "http.response.body":
                message = {**message, "body": b"", "more_body": False}
            await send(message)

        await self.app(scope, receive, wrapped)


MAX_URL_BYTES = 8192
"""Longest request target (path and query) served; longer gets 414. `cadre-data serve` lets uvicorn read
requests up to 64 KiB (line and headers) so that these limits, not the server's plain-text 400, answer."""
MAX_HEADER_BYTES = 8192
"""Most header bytes (names and values) a request may carry; more gets 431."""


class RequestLimits:
    """Pure ASGI: refuse over-long URLs (414), oversized headers (431) and any request body (413: every
    operation is a GET or HEAD), with a problem+json answer, before routing or any database work."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        target = len(scope.get("raw_path") or scope["path"].encode()) + len(scope.get("query_string", b""))
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        problem: tuple[int, str, str] | None = None
        if target > MAX_URL_BYTES:
            problem = (414, "uri-too-long", f"The request target is longer than {MAX_URL_BYTES} bytes.")
        elif sum(len(k) + len(v) for k, v in headers) > MAX_HEADER_BYTES:
            problem = (431, "headers-too-large", f"The request headers exceed {MAX_HEADER_BYTES} bytes.")
        else:
            for name, value in headers:
                if (name == b"content-length" and value.strip() not in (b"", b"0")) or name == b"transfer-encoding":
                    problem = (413, "content-too-large", "This read-only API takes no request body.")
                    break
        if problem is None:
            await self.app(scope, receive, send)
            return
        status, slug, detail = problem
        # The request is not read: close the connection rather than leave a body unread on it.
        response = problem_response(None, status, slug, detail, headers={"Connection": "close"})
        await response(scope, receive, send)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    logging.basicConfig(level=settings.log_level.upper())
    app = CachingFastAPI(
        title="Cadre families overseas: figures as reported",
        version=__version__,
        description=DESCRIPTION,
        openapi_tags=TAGS,
        docs_url=None,
        redoc_url=None,
        dependencies=[Depends(strict_query)],
        # Every operation: other methods, and the request limits RequestLimits enforces before routing.
        responses=problem_responses(405, 413, 414, 431),
        lifespan=_lifespan,
        license_info={"name": "Code: MIT. Quotes: short citations of the source, with its URL."},
        # A redirect to the slash-less path would be built from the Host header: an open redirect. 404 instead.
        redirect_slashes=False,
    )
    app.state.settings = settings
    app.state.engine = make_engine(
        settings.database_url,
        read_only=True,
        statement_timeout_ms=settings.statement_timeout_ms,
        pool_size=settings.pool_size,
        max_overflow=settings.pool_max_overflow,
        pool_timeout_s=settings.pool_timeout_s,
        connect_timeout_s=settings.connect_timeout_s,
    )
    # Requests wait for one of the pool's connections here (app.api.deps.get_conn), not in worker threads.
    app.state.db_slots = anyio.Semaphore(settings.pool_size + settings.pool_max_overflow)
    app.state.response_cache = ResponseCache(max_entries=1024 if settings.response_cache else 0)
    install_error_handlers(app)

    for module in (metrics, citations, sources, reports, periods, destinations, checks, health):
        app.include_router(module.router)
    app.add_api_route(
        "/",
        read_index,
        methods=["GET"],
        tags=["index"],
        summary="About this dataset",
        operation_id="get_index",
        response_model=IndexPublic,
        responses=problem_responses(400, 503),
    )
    _mount_docs(app)
    install_pages(app, settings)

    app.add_middleware(GZipMiddleware, minimum_size=1024)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_allow_origins,
        allow_methods=["GET", "HEAD"],
        allow_headers=["Accept", "If-None-Match"],
        expose_headers=["Link", "ETag"],
        max_age=86400,
    )
    version = (
        SQLiteDataVersion(sqlite_path(normalize_url(settings.database_url)))
        if settings.response_cache and is_sqlite(settings.database_url)
        else None
    )
    app.state.data_version = version
    app.fast_cache = FastCache(version) if version is not None else None
    app.add_middleware(RequestLimits)
    app.add_middleware(HeadAndSecurityHeaders)
    _register_problem_schema(app)

    return app


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    app.state.engine.dispose()
    if app.state.data_version is not None:
        app.state.data_version.close()


def read_index(request: Request, conn: ConnDep, format: FormatParam = None) -> Response:
    """What this dataset is, its attribution, and links to every collection and to the docs."""

    def build(conn: Any) -> Payload:
        signature, loaded_at = dataset_signature(conn)
        source = conn.exec_driver_sql("SELECT url FROM sources ORDER BY id LIMIT 1").scalar()
        collections = {
            "metrics": "The figures",
            "citations": "Verbatim quotes",
            "sources": "The publication",
            "reports": "The report",
            "periods": "Periods",
            "destinations": "Destinations",
            "checks": "Consistency checks: where the figures add up and where they do not",
        }
        links = {name: {"href": f"/v1/{name}", "title": title} for name, title in collections.items()}
        links.update(
            {
                "openapi": {"href": "/openapi.json", "title": "OpenAPI 3.1 document"},
                "docs": {"href": "/docs", "title": "Interactive documentation (Swagger UI)"},
                "redoc": {"href": "/redoc", "title": "Reference documentation (ReDoc)"},
            }
        )
        return Payload(
            document={
                "title": request.app.title,
                "description": (
                    "Figures of the February 2006 report by the Organization Department of the CCP Central Committee "
                    "and the Ministry of Public Security on spouses and children of CCP cadres settled abroad, as "
                    "reported by The Epoch Times. Each figure is a claim as reported, with its verbatim quote."
                ),
                "attribution": (
                    "Source: \u201c1 Million Chinese Cadre Family Members Jump Communist Ship to Emigrate "
                    "Overseas\u201d, "
                    "The Epoch Times, 3 May 2006 (updated 11 September 2015). Quotes are short citations; read the "
                    "article at its URL."
                ),
                "source_url": source,
                "dataset_signature": signature,
                # The loader stores UTC; SQLite (and a `timestamp` column) give it back without the offset,
                # which RFC 3339 (`format: date-time`) requires.
                "loaded_at": loaded_at if loaded_at.tzinfo else loaded_at.replace(tzinfo=dt.UTC),
                "links": links,
            }
        )

    fmt = negotiate(request, format)
    # No CSV here: an Accept that prefers it gets the JSON, as before pages existed (`format=csv` gets 406).
    return respond(request, conn, build, fmt="json" if fmt == "csv" and format is None else fmt)


def _mount_docs(app: FastAPI) -> None:
    import hashlib

    # ReDoc's sidebar footer always shows its logo from a CDN (no option turns it off): DOCS_CSP blocks it, but
    # every view then logs a CSP error and tries to leave the host. Serve the bundle with that URL replaced by an
    # empty data: image, which ReDoc hides (its onError); the rest of the bundle is unchanged. Registered before
    # the /static mount, so it answers that path. tests/api/test_docs_browser.py fails on any outside request.
    redoc_js = (DOCS_ASSETS / "redoc.standalone.js").read_bytes()
    redoc_js = redoc_js.replace(b'src:"https://cdn.redoc.ly/redoc/logo-mini.svg"', b'src:"data:,"')
    redoc_etag = f'"{hashlib.sha256(redoc_js).hexdigest()[:32]}"'

    @app.get("/static/redoc.standalone.js", include_in_schema=False)
    def redoc_bundle(request: Request) -> Response:
        headers = {"ETag": redoc_etag}
        if_none_match = request.headers.get("if-none-match", "")
        if any(tag.strip().removeprefix("W/") in (redoc_etag, "*") for tag in if_none_match.split(",")):
            return Response(status_code=304, headers=headers)
        return Response(redoc_js, media_type="text/javascript; charset=utf-8", headers=headers)

    app.mount("/static", StaticFiles(directory=DOCS_ASSETS), name="static")

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title=app.title + " - Swagger UI",
            swagger_js_url="/static/swagger-ui-bundle.js",
            swagger_css_url="/static/swagger-ui.css",
            swagger_favicon_url="/static/favicon.png",
            swagger_ui_parameters={"tryItOutEnabled": True, "displayRequestDuration": True},
        )

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url="/openapi.json",
            title=app.title + " - ReDoc",
            redoc_js_url="/static/redoc.standalone.js",
            redoc_favicon_url="/static/favicon.png",
            with_google_fonts=False,
        )


EXAMPLES_FILE = Path(__file__).parent / "api" / "openapi_examples.json"


def _add_examples(schema: dict[str, Any]) -> None:
    """Attach to each operation's 200 the real response to an example request (tests keep them current)."""
    examples = json.loads(EXAMPLES_FILE.read_text(encoding="utf-8"))
    for item in schema.get("paths", {}).values():
        for operation in item.values():
            example = examples.get(operation.get("operationId"))
            if example is None:
                continue
            content = operation["responses"]["200"].setdefault("content", {})
            content.setdefault("application/json", {})["example"] = example["example"]
            if "csv" in example:
                content.setdefault("text/csv", {"schema": {"type": "string"}})["example"] = example["csv"]
            operation["responses"]["200"]["description"] += f" Example: `GET {example['url']}`."


def _register_problem_schema(app: FastAPI) -> None:
    """Add the Problem schema the `responses` entries refer to."""
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = original()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}", by_alias=True)
        for name, definition in problem.pop("$defs", {}).items():
            components.setdefault(name, definition)
        components["Problem"] = problem
        # Validation errors answer 400 problem+json, not FastAPI's default 422.
        for path in schema.get("paths", {}).values():
            for operation in path.values():
                operation.get("responses", {}).pop("422", None)
        for name in ("HTTPValidationError", "ValidationError"):
            components.pop(name, None)
        _add_examples(schema)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
