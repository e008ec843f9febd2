"""Shared shape of the small collections (sources, reports, periods, destinations): a page envelope
over rows computed in full (these tables hold tens of rows), or all rows as CSV."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from fastapi import Request
from sqlalchemy import Connection
from starlette.responses import Response

from app.api.representation import Format, Payload, page_document, page_links, respond
from app.errors import ApiProblem


def list_response(
    request: Request,
    conn: Connection,
    documents: Callable[[Connection], list[dict[str, Any]]],
    *,
    limit: int,
    offset: int,
    fmt: Format,
    filename: str,
    csv_columns: Sequence[str],
    csv_row: Callable[[dict[str, Any]], dict[str, Any]] = lambda d: d,
) -> Response:
    def build(conn: Connection) -> Payload:
        docs = documents(conn)
        if fmt == "csv":
            return Payload(document=None, csv_rows=lambda: (csv_row(d) for d in docs), csv_columns=csv_columns)
        links = page_links(request, len(docs), limit, offset)
        page = docs[offset : offset + limit]
        return Payload(document=page_document(page, len(docs), limit, offset, links), links=links)

    return respond(request, conn, build, fmt=fmt, filename=filename)


def item_response(
    request: Request,
    conn: Connection,
    documents: Callable[[Connection], list[dict[str, Any]]],
    *,
    what: str,
    fmt: Format,
    filename: str,
    csv_columns: Sequence[str],
    csv_row: Callable[[dict[str, Any]], dict[str, Any]] = lambda d: d,
    jsonld: Callable[[dict[str, Any]], Any] | None = None,
) -> Response:
    """One item: `documents` returns the matching rows (zero or one); `jsonld` makes its JSON-LD document."""

    def build(conn: Connection) -> Payload:
        docs = documents(conn)
        if not docs:
            raise ApiProblem(404, "not-found", f"No {what} with this id.", title="Not found")
        return Payload(
            document=docs[0],
            csv_rows=lambda: (csv_row(d) for d in docs),
            csv_columns=csv_columns,
            jsonld=jsonld(docs[0]) if jsonld is not None else None,
        )

    return respond(request, conn, build, fmt=fmt, filename=filename)
