"""Typed dependencies shared by the routes: the read-only connection, strict query parameters,
pagination and output format."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, Literal, get_args, get_origin

from fastapi import Depends, Query, Request
from fastapi.dependencies.models import Dependant
from pydantic import StringConstraints
from sqlalchemy import Connection

from app.errors import ApiProblem, safe_name


def get_conn(request: Request) -> Iterator[Connection]:
    with request.app.state.engine.connect() as conn:
        yield conn


ConnDep = Annotated[Connection, Depends(get_conn)]


def _query_params(dependant: Dependant) -> list[Any]:
    params = list(dependant.query_params)
    for sub in dependant.dependencies:
        params.extend(_query_params(sub))
    return params


_declared_cache: dict[int, tuple[frozenset[str], frozenset[str]]] = {}


def _declared(route: Any) -> tuple[frozenset[str], frozenset[str]]:
    """The query parameters a route declares, and those of them that may repeat (list-typed)."""
    cached = _declared_cache.get(id(route))
    if cached is not None:
        return cached
    names: set[str] = set()
    repeatable: set[str] = set()
    for param in _query_params(route.dependant):
        names.add(param.alias)
        annotation = param.field_info.annotation
        candidates = [annotation, *get_args(annotation)]
        if any(get_origin(c) is list or c is list for c in candidates):
            repeatable.add(param.alias)
    result = (frozenset(names), frozenset(repeatable))
    _declared_cache[id(route)] = result
    return result


def strict_query(request: Request) -> None:
    """Reject unknown query parameters (a typo must not silently return everything) and repeats."""
    route = request.scope.get("route")
    if route is None:
        return
    allowed, repeatable = _declared(route)
    errors = []
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


FormatParam = Annotated[
    Literal["json", "csv"] | None,
    Query(alias="format", description="Output format; overrides the Accept header (`text/csv` gives CSV)."),
]
LimitParam = Annotated[int, Query(ge=1, le=1000, description="Page size (1-1000).")]
OffsetParam = Annotated[int, Query(ge=0, le=10**9, description="Rows to skip.")]

IdText = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]*(,[a-z0-9][a-z0-9_-]*)*$", max_length=2000)]
IdList = Annotated[
    list[IdText] | None,
    Query(description="One or more ids: repeat the parameter or separate with commas.", max_length=50),
]


def split_ids(values: list[str] | None) -> list[str]:
    """Ids from a repeatable, comma-separable parameter, deduplicated and sorted."""
    return sorted({part for value in values or [] for part in value.split(",") if part})
