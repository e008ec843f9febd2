"""Liveness and readiness for orchestrators and load balancers; kept out of the versioned API docs.

Readiness answers within a bounded time whatever the database does: the check runs in a worker
thread that is abandoned at the deadline, and at most one check waits on the database at a time.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import anyio
from fastapi import APIRouter, Request
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.responses import JSONResponse, Response

from app.errors import problem_response
from app.migrations import head_revision

log = logging.getLogger("app.health")

router = APIRouter(prefix="/health", tags=["health"], include_in_schema=False)

NO_STORE = {"Cache-Control": "no-store"}
READY_DEADLINE_S = 3.0
"""Longest /health/ready takes; lowered to pool_timeout_s or connect_timeout_s when they are shorter."""

_one_check_at_a_time = threading.Lock()


@dataclass(frozen=True)
class NotReady:
    slug: str
    title: str
    detail: str


def _unavailable(detail: str) -> NotReady:
    # Same type and title as the 503 that app.errors answers for any route when the database is down.
    return NotReady("database-unavailable", "Service unavailable", detail)


UNREACHABLE = _unavailable("The database cannot be reached.")


def check_ready(engine: Engine, deadline_s: float) -> NotReady | dict[str, str]:
    """The database answers, its schema is at the Alembic head and the dataset is loaded."""
    if not _one_check_at_a_time.acquire(timeout=deadline_s):
        return _unavailable("A previous check still waits on the database.")
    try:
        try:
            conn = engine.connect()
        except (DBAPIError, PoolTimeoutError) as exc:
            log.warning("readiness: cannot connect: %s", type(exc).__name__)
            return UNREACHABLE
        with conn:
            try:
                current = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            except DBAPIError as exc:
                if exc.connection_invalidated:
                    return UNREACHABLE
                log.warning("readiness: cannot read alembic_version: %s", exc.orig)
                return NotReady(
                    "schema-not-ready",
                    "Schema not ready",
                    "The alembic_version table cannot be read: run `cadre-data migrate`, then "
                    "`cadre-data grant-readonly` for this role.",
                )
            head = head_revision()
            if current != head:
                return NotReady(
                    "schema-not-ready", "Schema not ready", f"The schema is at revision {current}, not the head {head}."
                )
            try:
                rows = conn.execute(text("SELECT signature FROM dataset")).scalars().all()
            except DBAPIError as exc:
                if exc.connection_invalidated:
                    return UNREACHABLE
                log.warning("readiness: cannot read dataset: %s", exc.orig)
                return NotReady("dataset-not-loaded", "Dataset not loaded", "The dataset table cannot be read.")
            if len(rows) != 1:
                return NotReady(
                    "dataset-not-loaded",
                    "Dataset not loaded",
                    f"The dataset table has {len(rows)} rows, not 1: run `cadre-data seed`.",
                )
            return {"status": "ok", "revision": str(head), "dataset": str(rows[0])}
    except SQLAlchemyError as exc:
        log.warning("readiness: database error: %s", type(exc).__name__)
        return _unavailable("The database failed to answer.")
    finally:
        _one_check_at_a_time.release()


def _not_ready(request: Request, reason: NotReady) -> Response:
    retry_after = str(request.app.state.settings.retry_after_s)
    return problem_response(
        request, 503, reason.slug, reason.detail, title=reason.title, headers={"Retry-After": retry_after}
    )


@router.api_route("/live", methods=["GET", "HEAD"])
async def read_live() -> Response:
    """The process is up and serving; touches no database."""
    return JSONResponse({"status": "ok"}, headers=NO_STORE)


@router.api_route("/ready", methods=["GET", "HEAD"])
async def read_ready(request: Request) -> Response:
    """Ready for traffic: database reachable, schema at the Alembic head, dataset loaded; else 503."""
    settings = request.app.state.settings
    deadline_s = min(READY_DEADLINE_S, settings.pool_timeout_s, float(settings.connect_timeout_s))
    engine: Engine = request.app.state.engine
    with anyio.move_on_after(deadline_s) as scope:
        result = await anyio.to_thread.run_sync(check_ready, engine, deadline_s, abandon_on_cancel=True)
    if scope.cancelled_caught:
        log.warning("readiness: no answer from the database within %.1f s", deadline_s)
        result = _unavailable(f"The database did not answer within {deadline_s:g} s.")
    if isinstance(result, NotReady):
        return _not_ready(request, result)
    return JSONResponse(result, headers=NO_STORE)
