"""The figures: filtered (app.api.filters), range-aware queries over every metric, with citations."""

from __future__ import annotations

import difflib
from typing import Annotated, Any

from fastapi import Path, Query, Request
from sqlalchemy import ColumnElement, Connection, and_, func, select, true
from starlette.responses import Response

from app.api.collections import Collection
from app.api.deps import ConnDep, FormatParam
from app.api.filters import CSV_WHOLE_SET, FilterContext, MetricFilters, MetricQuery, conditions, facet_counts, order_by
from app.api.formats import Payload, negotiate, response_content
from app.api.pagination import keyset_links, offset_page, page_document
from app.api.queries import (
    METRIC_CSV_COLUMNS,
    dataset_table,
    metric_csv_rows,
    metric_documents,
    metric_select,
    metric_table,
)
from app.api.representation import respond
from app.errors import ApiProblem, problem_responses
from app.schemas import MetricPage, MetricPublic

METRICS = Collection("metrics", "metric", "The figures", MetricPublic, page=MetricPage, list_summary="List figures")


@METRICS.list_route("A page of figures (JSON envelope), or every matching figure as CSV.")
def read_metrics(
    request: Request,
    conn: ConnDep,
    query: Annotated[MetricQuery, Query()],
) -> Response:
    """Figures as reported, filtered. Every filter combines with AND; list filters match any of their values."""
    fmt = negotiate(request, query.format)
    sort, limit, offset, after = query.sort, query.limit, query.offset, query.after

    def build(conn: Connection) -> Payload:
        payload = page(conn)
        if query.facet and fmt == "json":
            where = and_(true(), *conditions(query, FilterContext(conn)))
            payload.document["facets"] = facet_counts(conn, list(query.facet), where)
        return payload

    def page(conn: Connection) -> Payload:
        if fmt == "csv":
            return _every_figure(conn, query)
        context = FilterContext(conn)
        conds = conditions(query, context)
        where = and_(true(), *conds)
        ordered = metric_select().where(where).order_by(*order_by(sort))
        total = _total(conn, where) if conds else _loaded_count(conn)
        if after is None:
            found = conn.execute(ordered.limit(limit).offset(offset)).all()
            return offset_page(request, metric_documents(conn, found, context.country_match), total, limit, offset)
        earlier: list[str] = []
        rows: list[Any] = []
        if sort in (None, "id"):
            # A cursor that is not among the filtered figures: nothing comes after it (as documented).
            if _holds(conn, where, after):
                page = metric_select().where(where, metric_table.c.id > after).order_by(metric_table.c.id)
                rows = list(conn.execute(page.limit(limit + 1).offset(offset)).all())
                # The cursor of the page that ends at `after`: `limit` rows back (index-only, like the page).
                back = metric_select(metric_table.c.id).where(where, metric_table.c.id <= after)
                earlier = list(conn.execute(back.order_by(metric_table.c.id.desc()).limit(limit + 1)).scalars())
        else:
            # Another order: the rows after the cursor's place in it (no rows if the cursor is not among them).
            # Correct in every order; only the default one is served by an index.
            ids = metric_select(metric_table.c.id).where(where).order_by(*order_by(sort))
            in_order = list(conn.execute(ids).scalars())
            start = in_order.index(after) + 1 if after in in_order else len(in_order)
            rows = list(conn.execute(ordered.limit(limit + 1).offset(start + offset)).all())
            earlier = in_order[:start][::-1][: limit + 1]
        more, rows = len(rows) > limit, rows[:limit]
        links = keyset_links(request, earlier, after, limit, offset, rows[-1].id if more else None)
        docs = metric_documents(conn, rows, context.country_match)
        return Payload(document=page_document(docs, total, limit, offset, links), links=links)

    return respond(request, conn, build, fmt=fmt, filename="metrics")


@METRICS.csv_route("Every figure the filters select, as CSV, in the `sort` order (no page: " + CSV_WHOLE_SET + ")")
def read_metrics_csv(request: Request, conn: ConnDep, query: Annotated[MetricFilters, Query()]) -> Response:
    """The same figures and columns as `/v1/metrics?format=csv`."""
    return respond(request, conn, lambda conn: _every_figure(conn, query), fmt="csv", filename="metrics")


def _every_figure(conn: Connection, query: MetricFilters) -> Payload:
    """The CSV of every figure the filters select: one row per figure, in the `sort` order."""
    context = FilterContext(conn)
    where = and_(true(), *conditions(query, context))
    ordered = metric_select().where(where).order_by(*order_by(query.sort))
    docs = metric_documents(conn, conn.execute(ordered).all(), context.country_match)
    return Payload(document=None, csv_rows=lambda: metric_csv_rows(docs), csv_columns=METRIC_CSV_COLUMNS)


def _holds(conn: Connection, where: ColumnElement[bool], metric_id: str) -> bool:
    """Whether the figure `metric_id` is among those `where` keeps."""
    found = conn.execute(metric_select(metric_table.c.id).where(where, metric_table.c.id == metric_id)).first()
    return found is not None


def _close_ids(conn: Connection, metric_id: str) -> list[str]:
    """Up to three ids close to `metric_id`, among those sharing its first four characters (an index range, so
    a million figures cost no more than a few) or, for a short id, all of them."""
    if not (metric_id.isascii() and metric_id.replace("-", "").replace("_", "").isalnum()):
        return []
    query = select(metric_table.c.id).order_by(metric_table.c.id).limit(2000)
    if len(metric_id) >= 4:
        query = query.where(metric_table.c.id >= metric_id[:4], metric_table.c.id < metric_id[:4] + "\x7f")
    ids = list(conn.execute(query).scalars())
    return difflib.get_close_matches(metric_id.lower(), ids, n=3, cutoff=0.6)


def _loaded_count(conn: Connection) -> int:
    """Every metric: the count the loader stored, not a count over the table."""
    counts = conn.execute(select(dataset_table.c.counts).where(dataset_table.c.id == 1)).scalar()
    return int((counts or {}).get("metrics", 0))


def _total(conn: Connection, where: ColumnElement[bool]) -> int:
    return int(conn.execute(metric_select(func.count()).where(where)).scalar_one())


@METRICS.routes.get(
    "/{metric_id}",
    summary="One figure",
    operation_id="get_metric",
    response_model=MetricPublic,
    responses={
        200: {"content": response_content(), "description": "The figure."},
        **problem_responses(400, 404, 406, 503),
    },
)
def read_metric(
    request: Request,
    conn: ConnDep,
    metric_id: Annotated[
        str,
        Path(
            max_length=100,
            description="Stable id (slug), as listed by the collection.",
            examples=["canada-emigrated-1985-2005"],
        ),
    ],
    format: FormatParam = None,
) -> Response:
    """One figure with its bounds, destination, period, citations and the checks it takes part in."""
    fmt = negotiate(request, format)

    def build(conn: Connection) -> Payload:
        row = conn.execute(metric_select().where(metric_table.c.id == metric_id)).first()
        if row is None:
            close = _close_ids(conn, metric_id)
            hint = f" Did you mean {' or '.join(close)}?" if close else " See /v1/metrics for every id."
            raise ApiProblem(404, "not-found", "No metric with this id." + hint, title="Not found")
        docs = metric_documents(conn, [row])
        return Payload(document=docs[0], csv_rows=lambda: metric_csv_rows(docs), csv_columns=METRIC_CSV_COLUMNS)

    # The filename is used only once build() found the metric, so it is a slug.
    return respond(request, conn, build, fmt=fmt, filename=f"metric-{metric_id}")
