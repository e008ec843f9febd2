"""RFC 9457 problem details: the one error shape of every 4xx and 5xx this API returns.

Bodies never carry a stack trace or the raw input: parameter names are reduced to a safe form and
the JSON escapes <, > and & so no browser can run anything reflected in it.
"""

from __future__ import annotations

import difflib
import json
import logging
import re
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

log = logging.getLogger("app.errors")

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "/problems/"
ALLOWED_METHODS = "GET, HEAD"

_SAFE_NAME = re.compile(r"^[A-Za-z0-9_.\-\[\]]{1,64}$")


class ParameterError(BaseModel):
    """One offending parameter."""

    name: str = Field(description="Parameter name (reduced to a safe form when it is not one).")
    location: str = Field(alias="in", description="Where the parameter is: query, path or header.")
    reason: str

    model_config = {"populate_by_name": True}


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = Field(description="URI naming the kind of problem.", examples=[PROBLEM_BASE + "invalid-parameter"])
    title: str = Field(examples=["Invalid parameter"])
    status: int = Field(examples=[400])
    detail: str = Field(examples=["limit: Input should be less than or equal to 1000"])
    instance: str | None = Field(default=None, description="The request path.", examples=["/v1/metrics"])
    errors: list[ParameterError] = Field(default_factory=list, description="The offending parameters, if any.")


class ApiProblem(Exception):
    """Raise from a route to answer with a problem."""

    def __init__(
        self,
        status: int,
        slug: str,
        detail: str,
        *,
        title: str | None = None,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.status = status
        self.slug = slug
        self.detail = detail
        self.title = title or HTTPStatus(status).phrase
        self.errors = errors or []
        self.headers = headers or {}
        super().__init__(detail)


def safe_name(name: str) -> str:
    """A parameter name fit to show: itself if plain, else an escaped, truncated form."""
    if _SAFE_NAME.match(name):
        return name
    escaped = name.encode("unicode_escape", "backslashreplace").decode("ascii")[:64]
    return re.sub(r"[^A-Za-z0-9_.\-\[\]\\]", "?", escaped)


def _dumps(body: dict[str, Any]) -> bytes:
    text = json.dumps(body, ensure_ascii=True, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026").encode()


def problem_response(
    request: Request | None,
    status: int,
    slug: str,
    detail: str,
    *,
    title: str | None = None,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + slug,
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if request is not None:
        # "//host/..." is a network-path reference: as `instance` it would point a client at another host.
        path = request.url.path
        body["instance"] = path if _SAFE_PATH.match(path) and not path.startswith("//") else None
    body["errors"] = errors or []
    all_headers = {"Cache-Control": "no-store", **(headers or {})}
    return Response(_dumps(body), status_code=status, media_type=PROBLEM_JSON, headers=all_headers)


_SAFE_PATH = re.compile(r"^[A-Za-z0-9/_.\-]{0,200}$")


def shown(value: Any, width: int = 60) -> str:
    """A value quoted for a message: printable, and cut to `width` characters."""
    text = "".join(ch if ch.isprintable() else "?" for ch in str(value))
    return '"' + (text[:width] + "..." if len(text) > width else text) + '"'


def _whole_number(value: Any) -> str:
    reason = f"{shown(value)} is not a whole number"
    digits = str(value).replace(",", "").replace("_", "").replace(" ", "").replace("\u00a0", "")
    if digits.lstrip("-").isdigit():
        return f"{reason}; write {int(digits)}"
    if digits.replace(".", "", 1).lstrip("-").isdigit():
        return f"{reason}; base units have no fraction (write digits only)"
    return f"{reason}; write digits only, like 200000"


def _one_of(err: dict[str, Any]) -> str:
    expected = str((err.get("ctx") or {}).get("expected", "")).replace("'", "")
    return f"{shown(err.get('input'))} is not one of {expected.replace(' or ', ', ')}"


_REASONS: dict[str, Callable[[dict[str, Any]], str]] = {
    "missing": lambda err: "required",
    "int_parsing": lambda err: _whole_number(err.get("input")),
    "int_from_float": lambda err: _whole_number(err.get("input")),
    "enum": _one_of,
    "literal_error": _one_of,
    "bool_parsing": lambda err: f"{shown(err.get('input'))} is not true or false",
    # The one pattern left to pydantic is the id's (app.vocabulary.SLUG); every other says its own words.
    "string_pattern_mismatch": lambda err: (
        f"{shown(err.get('input'))} is not an id: ids are lower-case letters, digits, - and _ "
        "(several: separate with commas); see the collection for the valid ones"
    ),
}
"""Pydantic's error types whose own message would quote a pattern or Python syntax, in words instead."""


def _validation_reason(err: dict[str, Any]) -> str:
    reason = _REASONS.get(str(err.get("type")))
    return reason(err) if reason is not None else str(err.get("msg", "invalid value"))


async def _on_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        location = loc[0] if loc else "query"
        # List items ("unit", 0) are reported as the parameter; a query model's own check names its parameter.
        name = loc[1] if len(loc) > 1 else str((err.get("ctx") or {}).get("parameter", location))
        errors.append({"name": safe_name(name), "in": location, "reason": _validation_reason(err)})
    detail = "; ".join(f"{e['name']}: {e['reason']}" for e in errors) or "invalid request"
    return problem_response(request, 400, "invalid-parameter", detail, title="Invalid parameter", errors=errors)


async def _on_api_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiProblem)
    return problem_response(
        request, exc.status, exc.slug, exc.detail, title=exc.title, errors=exc.errors, headers=exc.headers
    )


async def _on_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    headers: dict[str, str] = {}
    if status == 404:
        near = _nearest_route(request)
        detail = "No resource at this path." + (f" Did you mean {near}?" if near else " See / for every collection.")
        return problem_response(request, 404, "not-found", detail, title="Not found")
    if status == 405:
        headers["Allow"] = ALLOWED_METHODS
        return problem_response(
            request,
            405,
            "method-not-allowed",
            "This API is read-only: use GET or HEAD.",
            title="Method not allowed",
            headers=headers,
        )
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(status).phrase
    return problem_response(request, status, "http-" + str(status), detail)


def _nearest_route(request: Request) -> str | None:
    """The served path closest to the one asked (`/v1/metric/x` -> `/v1/metrics/x`): each documented path with
    its `{parameter}` segments taken from the request, compared with difflib; None for an unsafe path."""
    path = request.url.path
    if not _SAFE_PATH.match(path) or path.startswith("//"):
        return None
    asked = path.rstrip("/").split("/")
    candidates = []
    for template in request.app.openapi().get("paths", {}):  # the documented routes (all GET)
        parts = template.split("/")
        if len(parts) == len(asked):
            candidates.append("/".join(a if p.startswith("{") else p for p, a in zip(parts, asked, strict=True)))
    close = difflib.get_close_matches(path.rstrip("/") or "/", candidates, n=1, cutoff=0.8)
    return close[0] if close else None


def _unavailable(request: Request, reason: str) -> Response:
    retry_after = str(request.app.state.settings.retry_after_s)
    return problem_response(
        request, 503, "database-unavailable", reason, title="Service unavailable", headers={"Retry-After": retry_after}
    )


async def _on_pool_timeout(request: Request, exc: Exception) -> Response:
    log.warning("database pool exhausted: %s", type(exc).__name__)
    return _unavailable(request, "All database connections are busy; try again shortly.")


async def _on_db_error(request: Request, exc: Exception) -> Response:
    log.warning("database error: %s", type(exc).__name__, exc_info=exc)
    if isinstance(exc, OperationalError) or (isinstance(exc, DBAPIError) and exc.connection_invalidated):
        return _unavailable(request, "The database is unavailable or too slow to answer; try again shortly.")
    return await _on_unexpected(request, exc)


async def _on_unexpected(request: Request, exc: Exception) -> Response:
    log.error("unhandled error on %s", request.url.path, exc_info=exc)
    return problem_response(request, 500, "internal-error", "The server failed to answer this request.")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(ApiProblem, _on_api_problem)
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)
    app.add_exception_handler(PoolTimeoutError, _on_pool_timeout)
    app.add_exception_handler(DBAPIError, _on_db_error)
    app.add_exception_handler(Exception, _on_unexpected)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries declaring problem+json for the given statuses."""
    examples = {
        400: ("invalid-parameter", "Invalid parameter", "limit: Input should be less than or equal to 1000"),
        404: ("not-found", "Not found", "No metric with id 'nope'."),
        405: ("method-not-allowed", "Method not allowed", "This API is read-only: use GET or HEAD."),
        406: (
            "not-acceptable",
            "Not acceptable",
            'Nothing here matches Accept: "application/xml". Served: application/json, text/csv, text/html '
            "(errors: application/problem+json); or choose with format= (json, csv, html).",
        ),
        413: ("content-too-large", "Content Too Large", "This read-only API takes no request body."),
        414: ("uri-too-long", "URI Too Long", "The request target is longer than 8192 bytes."),
        431: ("headers-too-large", "Request Header Fields Too Large", "The request headers exceed 8192 bytes."),
        500: ("internal-error", "Internal Server Error", "The server failed to answer this request."),
        503: ("database-unavailable", "Service unavailable", "The database is unavailable; try again shortly."),
    }
    out: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        slug, title, detail = examples[status]
        out[status] = {
            "description": title,
            "content": {
                PROBLEM_JSON: {
                    "schema": {"$ref": "#/components/schemas/Problem"},
                    "example": {
                        "type": PROBLEM_BASE + slug,
                        "title": title,
                        "status": status,
                        "detail": detail,
                        "instance": "/v1/metrics",
                        "errors": [],
                    },
                }
            },
        }
    return out
