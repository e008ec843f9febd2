"""The publication every figure is quoted from."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from sqlalchemy import Connection, select
from starlette.responses import Response

from app.api.deps import ConnDep, FormatParam, LimitParam, OffsetParam
from app.api.queries import citation_table, count_by, report_source_table, source_table
from app.api.representation import negotiate
from app.api.routes._listing import item_response, list_response
from app.errors import problem_responses
from app.schemas import Page, SourcePublic

router = APIRouter(prefix="/v1/sources", tags=["sources"])
CSV_COLUMNS = (
    "id",
    "title",
    "publisher",
    "byline",
    "url",
    "published",
    "updated",
    "language",
    "report_ids",
    "citation_count",
)
CSV_200 = {"content": {"text/csv": {"schema": {"type": "string"}}}}


def _documents(conn: Connection, source_id: str | None = None) -> list[dict[str, Any]]:
    links = report_source_table
    query = select(source_table).order_by(source_table.c.id)
    if source_id is not None:
        query = query.where(source_table.c.id == source_id)
    rows = conn.execute(query).mappings().all()
    reports: dict[str, list[str]] = {}
    for report_id, sid in conn.execute(select(links.c.report_id, links.c.source_id).order_by(links.c.report_id)):
        reports.setdefault(sid, []).append(report_id)
    counts = count_by(conn, citation_table.c.source_id)
    return [
        {**row, "report_ids": reports.get(row["id"], []), "citation_count": counts.get(row["id"], 0)} for row in rows
    ]


@router.get(
    "",
    summary="List sources",
    operation_id="list_sources",
    response_model=Page[SourcePublic],
    responses={200: CSV_200, **problem_responses(400, 503)},
)
def read_sources(
    request: Request, conn: ConnDep, limit: LimitParam = 100, offset: OffsetParam = 0, format: FormatParam = None
) -> Response:
    """The publications the dataset quotes, with the reports they describe."""
    return list_response(
        request,
        conn,
        _documents,
        limit=limit,
        offset=offset,
        fmt=negotiate(request, format),
        filename="sources",
        csv_columns=CSV_COLUMNS,
    )


@router.get(
    "/{source_id}",
    summary="One source",
    operation_id="get_source",
    response_model=SourcePublic,
    responses={200: CSV_200, **problem_responses(400, 404, 503)},
)
def read_source(
    request: Request,
    conn: ConnDep,
    source_id: Annotated[
        str,
        Path(
            max_length=100,
            description="Stable id (slug), as listed by the collection.",
            examples=["epoch-times-2006-05-03"],
        ),
    ],
    format: FormatParam = None,
) -> Response:
    """One publication: title, publisher, byline as printed, URL and dates."""
    return item_response(
        request,
        conn,
        lambda c: _documents(c, source_id),
        what="source",
        fmt=negotiate(request, format),
        filename="source",
        csv_columns=CSV_COLUMNS,
    )
