"""Pagination: the page envelope and its links (offset pages; keyset pages for the metrics)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import Request


def page_links(request: Request, total: int, limit: int, offset: int) -> dict[str, str | None]:
    """Relative links (never built from the Host header) to this, the next and the previous page."""
    kept = [(k, v) for k, v in request.query_params.multi_items() if k not in ("limit", "offset")]

    def url(at: int) -> str:
        return request.url.path + "?" + urlencode([*kept, ("limit", str(limit)), ("offset", str(at))])

    return {
        "self": url(offset),
        "next": url(offset + limit) if offset + limit < total else None,
        "prev": url(max(offset - limit, 0)) if offset > 0 else None,
        "first": url(0),
    }


def page_document(data: list[Any], total: int, limit: int, offset: int, links: dict[str, str | None]) -> dict[str, Any]:
    return {"data": data, "total": total, "limit": limit, "offset": offset, "links": links}
