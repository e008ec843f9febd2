"""The underlying report the article describes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from sqlalchemy import Connection, select
from starlette.responses import Response

from app.api.deps import ConnDep, FormatParam, LimitParam, OffsetParam
from app.api.queries import count_by, metric_table, report_source_table, report_table
from app.api.representation import negotiate
from app.api.routes._listing import item_response, list_response
from app.errors import problem_responses
from app.schemas import Page, ReportPublic

router = APIRouter(prefix="/v1/reports", tags=["reports"])
CSV_COLUMNS = (
    "id",
    "description",
    "issuers",
    "recipients",
    "issued_text",
    "issued_start",
    "issued_end",
    "transmitted_text",
    "transmitted_start",
    "transmitted_end",
    "transmitted_to",
    "quote",
    "note",
    "source_ids",
    "metric_count",
)
CSV_200 = {"content": {"text/csv": {"schema": {"type": "string"}}}}


def _documents(conn: Connection, report_id: str | None = None) -> list[dict[str, Any]]:
    links = report_source_table
    query = select(report_table).order_by(report_table.c.id)
    if report_id is not None:
        query = query.where(report_table.c.id == report_id)
    rows = conn.execute(query).mappings().all()
    sources: dict[str, list[str]] = {}
    for rid, source_id in conn.execute(select(links.c.report_id, links.c.source_id).order_by(links.c.source_id)):
        sources.setdefault(rid, []).append(source_id)
    counts = count_by(conn, metric_table.c.report_id)
    return [{**row, "source_ids": sources.get(row["id"], []), "metric_count": counts.get(row["id"], 0)} for row in rows]


@router.get(
    "",
    summary="List reports",
    operation_id="list_reports",
    response_model=Page[ReportPublic],
    responses={200: CSV_200, **problem_responses(400, 503)},
)
def read_reports(
    request: Request, conn: ConnDep, limit: LimitParam = 100, offset: OffsetParam = 0, format: FormatParam = None
) -> Response:
    """Reports the figures belong to: issuers, recipients, dates as precise as the source gives them."""
    return list_response(
        request,
        conn,
        _documents,
        limit=limit,
        offset=offset,
        fmt=negotiate(request, format),
        filename="reports",
        csv_columns=CSV_COLUMNS,
    )


@router.get(
    "/{report_id}",
    summary="One report",
    operation_id="get_report",
    response_model=ReportPublic,
    responses={200: CSV_200, **problem_responses(400, 404, 503)},
)
def read_report(
    request: Request,
    conn: ConnDep,
    report_id: Annotated[
        str,
        Path(
            max_length=100,
            description="Stable id (slug), as listed by the collection.",
            examples=["ccp-org-dept-mps-2006-02"],
        ),
    ],
    format: FormatParam = None,
) -> Response:
    """One report, the sources that describe it and how many figures it holds."""
    return item_response(
        request,
        conn,
        lambda c: _documents(c, report_id),
        what="report",
        fmt=negotiate(request, format),
        filename="report",
        csv_columns=CSV_COLUMNS,
    )
