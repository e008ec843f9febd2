"""Pagination: the page envelope and its links (offset pages; keyset pages for the metrics)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from sqlalchemy import Connection, Select, func, select

from app.api.formats import Payload
from app.api.queries import dataset_table
from app.api.representation import per_dataset

TOTAL_BOUND = 10_000
"""Counting stops here: a larger total is reported as this bound, with `total_is_exact` false (app.schemas.Page)."""


def bounded_count(conn: Connection, matching: Select[Any]) -> tuple[int, bool]:
    """The rows `matching` selects, counted up to TOTAL_BOUND (and whether that is all of them): a filter that
    keeps a million rows costs TOTAL_BOUND rows, not a million."""
    counted = matching.limit(TOTAL_BOUND + 1).subquery()
    count = int(conn.execute(select(func.count()).select_from(counted)).scalar_one())
    return min(count, TOTAL_BOUND), count <= TOTAL_BOUND


def loaded_count(conn: Connection, table_name: str) -> int:
    """Every row of `table_name`: the count the loader stored, not a count over the table."""

    def stored() -> int:
        counts = conn.execute(select(dataset_table.c.counts).where(dataset_table.c.id == 1)).scalar()
        return int((counts or {}).get(table_name, 0))

    return per_dataset(("loaded_count", table_name), stored)


def page_links(
    request: Request, total: int, limit: int, offset: int, more: bool | None = None
) -> dict[str, str | None]:
    """Relative links (never built from the Host header) to this, the next and the previous page. `more`:
    whether rows follow this page, when the caller knows (a total past TOTAL_BOUND does not say)."""
    kept = [(k, v) for k, v in request.query_params.multi_items() if k not in ("limit", "offset")]

    def url(at: int) -> str:
        return request.url.path + "?" + urlencode([*kept, ("limit", str(limit)), ("offset", str(at))])

    return {
        "self": url(offset),
        "next": url(offset + limit) if (offset + limit < total if more is None else more) else None,
        "prev": url(max(offset - limit, 0)) if offset > 0 else None,
        "first": url(0),
    }


def page_document(
    data: list[Any], total: int, limit: int, offset: int, links: dict[str, str | None], total_is_exact: bool = True
) -> dict[str, Any]:
    return {
        "data": data,
        "total": total,
        "total_is_exact": total_is_exact,
        "limit": limit,
        "offset": offset,
        "links": links,
    }


def offset_page(
    request: Request,
    documents: list[Any],
    total: int,
    limit: int,
    offset: int,
    total_is_exact: bool = True,
    more: bool | None = None,
) -> Payload:
    """An offset page of `documents` (already cut to the page), with its links in the body and the Link header.
    `more`: whether rows follow the page, when the caller knows (needed when the total is a bound)."""
    links = page_links(request, total, limit, offset, more)
    return Payload(document=page_document(documents, total, limit, offset, links, total_is_exact), links=links)


def keyset_links(
    request: Request, earlier: list[str], after: str, limit: int, offset: int, last: str | None
) -> dict[str, str | None]:
    """Links of a keyset page: `next` after its last row (when more follow), `prev` the page that ends at the
    cursor. `earlier`: ids of up to limit + 1 rows back from the cursor, the cursor first."""
    kept = [(k, v) for k, v in request.query_params.multi_items() if k not in ("limit", "offset", "after")]

    def url(cursor: str | None, at: int = 0) -> str:
        params = [*kept, ("limit", str(limit))]
        params += [("after", cursor)] if cursor is not None else [("offset", str(at))]
        if cursor is not None and at:
            params.append(("offset", str(at)))
        return request.url.path + "?" + urlencode(params)

    prev: str | None
    if offset > 0:
        prev = url(after, max(offset - limit, 0))
    else:
        prev = None if not earlier else url(earlier[limit] if len(earlier) > limit else None)
    return {
        "self": url(after, offset),
        "next": url(last) if last is not None else None,
        "prev": prev,
        "first": url(None),
    }
