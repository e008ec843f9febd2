"""The periods figures refer to: instants and inclusive year intervals."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from sqlalchemy import Connection, select
from starlette.responses import Response

from app.api.deps import ConnDep, FormatParam, LimitParam, OffsetParam
from app.api.queries import count_by, metric_table, period_table
from app.api.representation import negotiate
from app.api.routes._listing import item_response, list_response
from app.errors import problem_responses
from app.schemas import Page, PeriodPublic

router = APIRouter(prefix="/v1/periods", tags=["periods"])
CSV_COLUMNS = ("id", "label", "kind", "iso", "start_date", "end_date", "metric_count")
CSV_200 = {"content": {"text/csv": {"schema": {"type": "string"}}}}


def _documents(conn: Connection, period_id: str | None = None) -> list[dict[str, Any]]:
    query = select(period_table).order_by(period_table.c.start_date, period_table.c.end_date, period_table.c.id)
    if period_id is not None:
        query = query.where(period_table.c.id == period_id)
    counts = count_by(conn, metric_table.c.period_id)
    return [{**row, "metric_count": counts.get(row["id"], 0)} for row in conn.execute(query).mappings()]


@router.get(
    "",
    summary="List periods",
    operation_id="list_periods",
    response_model=Page[PeriodPublic],
    responses={200: CSV_200, **problem_responses(400, 503)},
)
def read_periods(
    request: Request, conn: ConnDep, limit: LimitParam = 100, offset: OffsetParam = 0, format: FormatParam = None
) -> Response:
    """Periods in time order. Year intervals include both years: `1985/1990` is 1985-01-01 to 1990-12-31."""
    return list_response(
        request,
        conn,
        _documents,
        limit=limit,
        offset=offset,
        fmt=negotiate(request, format),
        filename="periods",
        csv_columns=CSV_COLUMNS,
    )


@router.get(
    "/{period_id}",
    summary="One period",
    operation_id="get_period",
    response_model=PeriodPublic,
    responses={200: CSV_200, **problem_responses(400, 404, 503)},
)
def read_period(
    request: Request,
    conn: ConnDep,
    period_id: Annotated[
        str, Path(max_length=100, description="Stable id (slug), as listed by the collection.", examples=["1985-2005"])
    ],
    format: FormatParam = None,
) -> Response:
    """One period with its ISO 8601 form and first and last days."""
    return item_response(
        request,
        conn,
        lambda c: _documents(c, period_id),
        what="period",
        fmt=negotiate(request, format),
        filename="period",
        csv_columns=CSV_COLUMNS,
    )
