"""Typed dependencies shared by the routes: the read-only connection, strict query parameters,
pagination and output format."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator
from typing import Annotated, Any, get_args, get_origin
from urllib.parse import unquote_to_bytes

import anyio
from fastapi import Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from pydantic import BaseModel, StringConstraints, ValidationError
from sqlalchemy import Connection
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from app.api.formats import format_param
from app.errors import ApiProblem, safe_name
from app.vocabulary import SLUG


async def get_conn(request: Request) -> AsyncIterator[Connection]:
    """A pooled connection, checked out once one is free; waiting longer than POOL_TIMEOUT_S answers 503.

    The wait happens here, on the event loop (`db_slots` counts the pool's connections), never in a worker
    thread: threads blocked on an empty pool would starve the threads that hold connections (routes and
    releases run in the same thread pool), and under load every request would then wait out the timeout.
    """
    state = request.app.state
    try:
        with anyio.fail_after(state.settings.pool_timeout_s):
            await state.db_slots.acquire()
    except TimeoutError:
        raise PoolTimeoutError("no database connection became free in time") from None
    try:
        conn = await run_in_threadpool(state.engine.connect)
        try:
            yield conn
        finally:
            await run_in_threadpool(conn.close)
    finally:
        state.db_slots.release()


ConnDep = Annotated[Connection, Depends(get_conn)]


def _query_fields(dependant: Dependant) -> list[tuple[str, Any]]:
    """(name, annotation) of each query parameter a dependant declares: its own (a query parameter model's
    fields), and its dependencies' (a QueryModel's fields)."""
    fields: list[tuple[str, Any]] = []
    for param in dependant.query_params:
        annotation = param.field_info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):  # a query parameter model
            fields += _model_fields(annotation)
        else:
            fields.append((param.alias, annotation))
    for sub in dependant.dependencies:
        model = getattr(sub.call, "query_model", None)
        fields += _model_fields(model) if model is not None else _query_fields(sub)
    return fields


def _model_fields(model: type[BaseModel]) -> list[tuple[str, Any]]:
    return [(field.alias or name, field.annotation) for name, field in model.model_fields.items()]


def _repeatable(annotation: Any) -> bool:
    return any(get_origin(c) is list or c is list for c in (annotation, *get_args(annotation)))


_declared_cache: dict[int, tuple[frozenset[str], frozenset[str]]] = {}


def _declared(route: Any) -> tuple[frozenset[str], frozenset[str]]:
    """The query parameters a route declares, and those of them that may repeat (list-typed)."""
    cached = _declared_cache.get(id(route))
    if cached is None:
        fields = _query_fields(route.dependant)
        cached = (frozenset(n for n, _ in fields), frozenset(n for n, a in fields if _repeatable(a)))
        _declared_cache[id(route)] = cached
    return cached


def _undecodable(raw: bytes) -> bool:
    """True when percent-decoded `raw` is not UTF-8, or holds a NUL.

    Starlette decodes invalid UTF-8 to U+FFFD (a silent, different value) and PostgreSQL refuses NUL in
    text (SQLite would cut the string there): both are answered before any query runs.
    """
    try:
        return "\x00" in unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        return True


def strict_query(request: Request) -> None:
    """Reject unknown query parameters (a typo must not silently return everything), repeats, and names or
    values that are not UTF-8 text without NUL (a path with such bytes names nothing: 404)."""
    route = request.scope.get("route")
    if route is None:
        return
    raw_path: bytes = request.scope.get("raw_path") or request.scope["path"].encode()
    if _undecodable(raw_path):  # no id holds such bytes
        raise ApiProblem(404, "not-found", "No resource at this path.", title="Not found")
    allowed, repeatable = _declared(route)
    errors = []
    for part in request.scope.get("query_string", b"").split(b"&"):
        name, _, value = part.partition(b"=")
        if _undecodable(name) or _undecodable(value):
            shown = safe_name(unquote_to_bytes(name.replace(b"+", b" ")).decode("utf-8", "replace"))
            errors.append({"name": shown, "in": "query", "reason": "not UTF-8 text, or holds a NUL"})
    seen: dict[str, int] = {}
    for key, _ in request.query_params.multi_items():
        seen[key] = seen.get(key, 0) + 1
    for key, count in seen.items():
        if key not in allowed:
            errors.append({"name": safe_name(key), "in": "query", "reason": "unknown parameter"})
        elif count > 1 and key not in repeatable:
            errors.append({"name": key, "in": "query", "reason": "given more than once"})
    if errors:
        names = ", ".join(e["name"] for e in errors)
        hint = f" Known parameters: {', '.join(sorted(allowed))}." if allowed else " This resource takes none."
        raise ApiProblem(
            400,
            "invalid-parameter",
            f"Invalid query parameters: {names}.{hint}",
            title="Invalid parameter",
            errors=errors,
        )


FormatParam = format_param()
LimitParam = Annotated[int, Query(ge=1, le=1000, description="Page size (1-1000).")]
OffsetParam = Annotated[int, Query(ge=0, le=10**9, description="Rows to skip.")]

IdText = Annotated[str, StringConstraints(pattern=f"^{SLUG}(,{SLUG})*$", max_length=2000)]
IdList = Annotated[
    list[IdText] | None,
    Query(description="One or more ids: repeat the parameter or separate with commas.", max_length=50),
]


def split_ids(values: list[str] | None) -> list[str]:
    """Ids from a repeatable, comma-separable parameter, deduplicated and sorted."""
    return sorted({part for value in values or [] for part in value.split(",") if part})


class QueryModel:
    """A query parameter model validated in one call, `model.model_validate` over the query string, where FastAPI
    would resolve each of its fields on its own (a third of an uncached /v1/metrics request, issue 17). The values,
    the errors (RequestValidationError, `("query", name, ...)`) and the documented parameters are FastAPI's own:

        route(..., openapi_extra=METRIC_QUERY.openapi_extra)
        def read(query: Annotated[MetricQuery, METRIC_QUERY.depends]) -> ...
    """

    def __init__(self, model: type[BaseModel]) -> None:
        self.model = model
        fields = _model_fields(model)
        self._lists = frozenset(name for name, annotation in fields if _repeatable(annotation))
        self._names = frozenset(name for name, _ in fields)

        def parse(request: Request) -> Any:
            return self.parse(request)

        parse.query_model = model  # type: ignore[attr-defined]  # strict_query reads the names it accepts here
        self.depends = Depends(parse)
        self.openapi_extra = {"parameters": documented_parameters(model)}

    def parse(self, request: Request) -> Any:
        params = request.query_params
        values: dict[str, Any] = {}
        for name in dict.fromkeys(params):
            if name in self._lists:
                values[name] = params.getlist(name)
            elif name in self._names:
                values[name] = params[name]
            else:  # strict_query answered first; the model's extra="forbid" would say the same
                found = params.getlist(name)
                values[name] = found[0] if len(found) == 1 else found
        try:
            return self.model.model_validate(values)
        except ValidationError as exc:
            errors = [{**error, "loc": ("query", *error["loc"])} for error in exc.errors(include_url=False)]
            raise RequestValidationError(errors) from None


def documented_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    """The OpenAPI parameters FastAPI documents for `Annotated[model, Query()]`, rendered by FastAPI itself."""

    def operation(**_: Any) -> None: ...

    kind = inspect.Parameter.KEYWORD_ONLY
    operation.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter("query", kind, annotation=Annotated[model, Query()])]
    )
    document = get_openapi(title="", version="", routes=[APIRoute("/", operation, methods=["GET"])])
    parameters: list[dict[str, Any]] = document["paths"]["/"]["get"]["parameters"]
    return parameters
