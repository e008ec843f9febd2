"""create_app(): assembles the read-only API from its routers, middleware, error handlers and docs."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware

from app import __version__
from app.api.deps import strict_query
from app.api.docs import DESCRIPTION, TAGS, mount_docs, patch_openapi
from app.api.fastcache import CachingFastAPI, FastCache, SQLiteDataVersion
from app.api.fastpath import FastMetrics, HotPath
from app.api.middleware import ConcurrencyLimit, HeadAsGet, RequestLimits, SecurityHeaders
from app.api.representation import ResponseCache
from app.api.routes import api_router, health, index, problems
from app.config import Settings, get_settings
from app.db import is_sqlite, make_engine, normalize_url, sqlite_path
from app.errors import install_error_handlers, problem_responses
from app.web.pages import install as install_pages


def create_app(settings: Settings | None = None) -> CachingFastAPI:
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
        license_info={
            "name": "Code: MIT. Quotes: short citations of the source, with its URL.",
            "identifier": "MIT",
        },
        # Relative: the document works wherever the API is served (and never names a Host).
        servers=[{"url": "/"}],
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

    app.include_router(api_router())
    app.include_router(health.router)
    app.include_router(index.router)
    app.include_router(problems.router)
    mount_docs(app)
    install_pages(app, settings)

    # Added first = innermost: under every middleware below, in front of routing (app.api.fastpath).
    app.state.hot_path = HotPath(app.state, enabled=settings.fast_path)
    app.add_middleware(FastMetrics, hot=app.state.hot_path)
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
    # Added last = outermost: security headers on every answer, the limits' problems included.
    app.add_middleware(RequestLimits)
    app.add_middleware(ConcurrencyLimit, limit=settings.max_concurrent_requests, retry_after_s=settings.retry_after_s)
    app.add_middleware(HeadAsGet)
    app.add_middleware(SecurityHeaders)
    # Outermost, in front of the fast cache too (CachingFastAPI): every request logged once, with its id.
    app.log_access(enabled=settings.access_log == "json")
    patch_openapi(app)
    return app


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    # What start-up built (routes, models, the OpenAPI document) lives as long as the process: out of the cyclic
    # garbage collector's scans, whose full passes over it were tens of milliseconds in the tail of the latency.
    # (bench: value_min misses' p99 63 -> 9 ms at the same req/s). Unfrozen at shutdown: an app that stops (a test's)
    # leaves nothing the collector cannot free.
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
    app.state.hot_path.close()
    app.state.engine.dispose()
    if app.state.data_version is not None:
        app.state.data_version.close()
