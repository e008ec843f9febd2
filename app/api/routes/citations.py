"""Verbatim quotes behind every figure, each with a link that opens the article at the quote; as JSON-LD,
W3C Web Annotations (app.api.web_annotations)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from sqlalchemy import Connection, and_, select, true
from starlette.responses import Response

from app.api.collections import Collection
from app.api.deps import ConnDep, IdList, LimitParam, OffsetParam, split_ids
from app.api.formats import Payload, format_param, negotiate
from app.api.pagination import bounded_count, loaded_count, offset_page
from app.api.queries import citation_document, citation_table, citations_select, in_list
from app.api.representation import respond
from app.api.web_annotations import annotation_document, base_url, collection_document
from app.schemas import CitationPublic


def citation_documents(conn: Connection, citation_id: str | None) -> list[dict[str, Any]]:
    query = citations_select().where(citation_table.c.id == citation_id)
    return [citation_document(r, r.source_url) for r in conn.execute(query)]


def citation_annotation(request: Request, citation: dict[str, Any]) -> dict[str, Any]:
    return annotation_document(citation, base_url(request))


CITATIONS = Collection(
    "citations",
    "citation",
    "Verbatim quotes",
    CitationPublic,
    citation_documents,
    list_summary="List citations",
    item_summary="One citation",
    item_description="One quote, its context (prefix, suffix, section) and a link to it in the article. As JSON-LD "
    "(`Accept: application/ld+json` or `format=jsonld`): a W3C Web Annotation with a TextQuoteSelector.",
    id_example="canada-emigrated-1985-2005.1",
    id_max_length=120,
    jsonld=citation_annotation,
)

FormatParam = format_param(*CITATIONS.formats)


@CITATIONS.list_route()
def read_citations(
    request: Request,
    conn: ConnDep,
    metric: IdList = None,
    source: IdList = None,
    limit: LimitParam = 100,
    offset: OffsetParam = 0,
    format: FormatParam = None,  # type: ignore[valid-type]
) -> Response:
    """Quotes, filterable by metric and by source, ordered by metric and position. As JSON-LD
    (`Accept: application/ld+json` or `format=jsonld`): a W3C Web Annotation collection."""
    fmt = negotiate(request, format, CITATIONS.formats)

    def build(conn: Connection) -> Payload:
        conds = [
            in_list(col, ids)
            for col, ids in (
                (citation_table.c.metric_id, split_ids(metric)),
                (citation_table.c.source_id, split_ids(source)),
            )
            if ids
        ]
        where = and_(true(), *conds)
        query = citations_select().where(where).order_by(citation_table.c.metric_id, citation_table.c.position)
        if fmt == "csv":
            docs = [citation_document(r, r.source_url) for r in conn.execute(query)]
            return Payload(document=None, csv_rows=lambda: docs, csv_columns=CITATIONS.columns)
        total, exact = (
            bounded_count(conn, select(citation_table.c.id).where(where))
            if conds
            else (loaded_count(conn, "citations"), True)
        )
        rows = conn.execute(query.limit(limit + 1).offset(offset)).all()
        docs = [citation_document(r, r.source_url) for r in rows[:limit]]
        page = offset_page(request, docs, total, limit, offset, exact, more=len(rows) > limit)
        if fmt == "jsonld":
            return Payload(None, links=page.links, jsonld=collection_document(request, docs, total, limit, offset))
        return page

    return respond(request, conn, build, fmt=fmt, filename="citations")
