"""Verbatim quotes behind every figure, each with a link that opens the article at the quote."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from sqlalchemy import Connection, and_, func, select, true
from starlette.responses import Response

from app.api.deps import ConnDep, IdList, LimitParam, OffsetParam, split_ids
from app.api.queries import C, citation_document, citations_select, in_list
from app.api.representation import Payload, negotiate, page_document, page_links, respond
from app.api.routes._listing import item_response
from app.api.web_annotations import CONTENT_200, FormatParam, annotation_document, base_url, collection_document
from app.errors import problem_responses
from app.schemas import CitationPublic, Page

router = APIRouter(prefix="/v1/citations", tags=["citations"])
CSV_COLUMNS = ("id", "metric_id", "source_id", "position", "quote", "prefix", "suffix", "section", "location", "url")


@router.get(
    "",
    summary="List citations",
    operation_id="list_citations",
    response_model=Page[CitationPublic],
    responses={200: {"content": CONTENT_200}, **problem_responses(400, 503)},
)
def read_citations(
    request: Request,
    conn: ConnDep,
    metric: IdList = None,
    source: IdList = None,
    limit: LimitParam = 100,
    offset: OffsetParam = 0,
    format: FormatParam = None,
) -> Response:
    """Quotes, filterable by metric and by source, ordered by metric and position. As JSON-LD
    (`Accept: application/ld+json` or `format=jsonld`): a W3C Web Annotation collection."""
    fmt = negotiate(request, format, jsonld=True)

    def build(conn: Connection) -> Payload:
        conds = [
            in_list(col, ids)
            for col, ids in ((C.c.metric_id, split_ids(metric)), (C.c.source_id, split_ids(source)))
            if ids
        ]
        where = and_(true(), *conds)
        query = citations_select().where(where).order_by(C.c.metric_id, C.c.position)
        if fmt == "csv":
            docs = [citation_document(r, r.source_url) for r in conn.execute(query)]
            return Payload(document=None, csv_rows=lambda: docs, csv_columns=CSV_COLUMNS)
        total = conn.execute(select(func.count()).select_from(C).where(where)).scalar_one()
        docs = [citation_document(r, r.source_url) for r in conn.execute(query.limit(limit).offset(offset))]
        links = page_links(request, total, limit, offset)
        if fmt == "jsonld":
            return Payload(None, links=links, jsonld=collection_document(request, docs, total, limit, offset))
        return Payload(document=page_document(docs, total, limit, offset, links), links=links)

    return respond(request, conn, build, fmt=fmt, filename="citations")


@router.get(
    "/{citation_id}",
    summary="One citation",
    operation_id="get_citation",
    response_model=CitationPublic,
    responses={200: {"content": CONTENT_200}, **problem_responses(400, 404, 503)},
)
def read_citation(
    request: Request,
    conn: ConnDep,
    citation_id: Annotated[
        str,
        Path(
            max_length=120,
            description="Stable id (slug), as listed by the collection.",
            examples=["canada-emigrated-1985-2005.1"],
        ),
    ],
    format: FormatParam = None,
) -> Response:
    """One quote, its context (prefix, suffix, section) and a link to it in the article. As JSON-LD
    (`Accept: application/ld+json` or `format=jsonld`): a W3C Web Annotation with a TextQuoteSelector."""

    def documents(conn: Connection) -> list[dict[str, Any]]:
        return [
            citation_document(r, r.source_url) for r in conn.execute(citations_select().where(C.c.id == citation_id))
        ]

    return item_response(
        request,
        conn,
        documents,
        what="citation",
        fmt=negotiate(request, format, jsonld=True),
        filename="citation",
        csv_columns=CSV_COLUMNS,
        jsonld=lambda doc: annotation_document(doc, base_url(request)),
    )
