"""The figures: filtered (app.api.filters), range-aware queries over every metric, with citations."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from typing import Annotated, Any, NamedTuple

from fastapi import Path, Request
from sqlalchemy import ColumnElement, Connection, Select, and_, false, func, literal, select, true
from starlette.responses import Response

from app.api.collections import Collection
from app.api.deps import ConnDep, FormatParam, QueryModel
from app.api.filters import (
    CSV_WHOLE_SET,
    FilterContext,
    MetricFilters,
    MetricQuery,
    after_cursor,
    conditions,
    facet_counts,
    order_by,
    reversed_order,
    sort_keys,
    up_to_cursor,
)
from app.api.formats import Payload, negotiate, render_json, response_content
from app.api.keyset import arms, read_arms
from app.api.names import invalid
from app.api.pagination import (
    TOTAL_BOUND,
    bounded_count,
    keyset_links,
    loaded_count,
    page_document,
    page_links,
)
from app.api.queries import (
    in_list,
    metric_table,
    period_table,
    representation_table,
)
from app.api.representation import respond
from app.api.stored import csv_body, json_fragment, json_page
from app.errors import ApiProblem, problem_responses
from app.schemas import MetricPage, MetricPublic

METRIC_QUERY = QueryModel(MetricQuery)
METRIC_FILTERS = QueryModel(MetricFilters)
METRICS = Collection("metrics", "metric", "The figures", MetricPublic, page=MetricPage, list_summary="List figures")


FACETS_BOUNDED = (
    f"counts at most {TOTAL_BOUND:,} filtered figures, and these filters select more: narrow them, or ask for "
    "facets with no filter (the whole dataset's counts, stored by the loader)"
)


@METRICS.list_route(
    "A page of figures (JSON envelope), or every matching figure as CSV.", openapi_extra=METRIC_QUERY.openapi_extra
)
def read_metrics(request: Request, conn: ConnDep, query: Annotated[MetricQuery, METRIC_QUERY.depends]) -> Response:
    """Figures as reported, filtered. Every filter combines with AND; list filters match any of their values."""
    fmt = negotiate(request, query.format)
    sort, limit, offset, after = query.sort, query.limit, query.offset, query.after

    def build(conn: Connection) -> Payload:
        if fmt == "csv":
            return _every_figure(conn, query)
        context = FilterContext(conn)
        conds = conditions(query, context)
        where = and_(true(), *conds)
        matched = context.country_match

        def with_facets(envelope: dict[str, Any]) -> dict[str, Any]:
            """The page's envelope, with `facets` counted over every page when asked."""
            if query.facet:
                if not exact:
                    raise invalid("facet", FACETS_BOUNDED)
                envelope["facets"] = facet_counts(conn, list(query.facet), where if conds else None)
            return envelope

        total, exact = bounded_total(conn, where) if conds else (loaded_count(conn, "metrics"), True)
        few = bool(conds) and exact and conn.dialect.name == "sqlite"  # PostgreSQL's statistics tell it
        page = listing(metric_table.c.id, metric_table.c.destination_id, _stored_document()).where(where)
        if after is None:
            if few:
                rows = _sorted_page(conn, where, sort, limit + 1, offset)
            elif offset:
                rows = _deep_page(conn, where, order_by(sort, few), limit + 1, offset)
            else:
                rows = list(conn.execute(page.order_by(*order_by(sort, few)).limit(limit + 1)))
            more, rows = len(rows) > limit, rows[:limit]
            links = page_links(request, total, limit, offset, more)
            return _page(rows, matched, with_facets(page_document([], total, limit, offset, links, exact)), links)
        if sort in (None, "id"):
            # A cursor that is not among the filtered figures: nothing comes after it (as documented).
            held = _holds(conn, where, after)
            after_it: ColumnElement[bool] = metric_table.c.id > after if held else false()
            back = listing(metric_table.c.id).where(where, *([metric_table.c.id <= after] if held else []))
            earlier_q = back.order_by(*reversed_order(sort, few))
        else:
            # Keyset in any order: the cursor row's sort values, then the rows beyond them (index range scans).
            keys = [column for column, _ in sort_keys(sort)]
            cursor = conn.execute(listing(*keys).where(where, metric_table.c.id == after)).first()
            if cursor is None:  # not among the filtered rows: nothing after it
                after_it = false()
                earlier_q = listing(metric_table.c.id).where(where).order_by(*reversed_order(sort, few))
            elif not few:  # index range scans, one after another (app.api.keyset)
                # SQLite keeps no statistics to see that the filters hold for many rows (more than TOTAL_BOUND): each
                # condition inside coalesce(), which its planner does not look into, so that it reads the order's index
                # from the cursor and checks the filters row by row, rather than read a filter's index and sort.
                sqlite = conn.dialect.name == "sqlite"
                steered = and_(true(), *(func.coalesce(c, false()) for c in conds)) if sqlite else where
                page = listing(metric_table.c.id, metric_table.c.destination_id, _stored_document()).where(steered)
                rows = read_arms(conn, page, arms(sort, tuple(cursor), after), limit + 1, offset)
                walk_back = arms(sort, tuple(cursor), after, backwards=True)
                back_rows = read_arms(conn, listing(metric_table.c.id).where(steered), walk_back, limit + 1)
                earlier: list[str] = [row.id for row in back_rows]
                return _keyset_page(request, rows, earlier, after, limit, offset, matched, with_facets, total, exact)
            else:  # few rows match: found by the filters' indexes, then sorted
                after_it = after_cursor(sort, tuple(cursor), after)
                back_q = listing(metric_table.c.id).where(where, up_to_cursor(sort, tuple(cursor), after))
                earlier_q = back_q.order_by(*reversed_order(sort, few))
        if few:
            rows = _sorted_page(conn, and_(where, after_it), sort, limit + 1, offset)
        else:
            rows = list(conn.execute(page.where(after_it).order_by(*order_by(sort)).limit(limit + 1).offset(offset)))
        # The cursor of the page that ends at `after`: `limit` rows back.
        earlier = list(conn.execute(earlier_q.limit(limit + 1)).scalars())
        return _keyset_page(request, rows, earlier, after, limit, offset, matched, with_facets, total, exact)

    return respond(request, conn, build, fmt=fmt, filename="metrics")


def _keyset_page(
    request: Request,
    rows: Sequence[Any],
    earlier: list[str],
    after: str,
    limit: int,
    offset: int,
    matched: dict[str, dict[str, str]],
    with_facets: Callable[[dict[str, Any]], dict[str, Any]],
    total: int,
    exact: bool,
) -> Payload:
    """A keyset page from up to limit + 1 rows after the cursor and the ids of up to limit + 1 rows back."""
    more, rows = len(rows) > limit, rows[:limit]
    links = keyset_links(request, earlier, after, limit, offset, rows[-1].id if more else None)
    return _page(rows, matched, with_facets(page_document([], total, limit, offset, links, exact)), links)


@METRICS.csv_route(
    "Every figure the filters select, as CSV, in the `sort` order (no page: " + CSV_WHOLE_SET + ")",
    openapi_extra=METRIC_FILTERS.openapi_extra,
)
def read_metrics_csv(
    request: Request, conn: ConnDep, query: Annotated[MetricFilters, METRIC_FILTERS.depends]
) -> Response:
    """The same figures and columns as `/v1/metrics?format=csv`."""
    return respond(request, conn, lambda conn: _every_figure(conn, query), fmt="csv", filename="metrics")


def _every_figure(conn: Connection, query: MetricFilters) -> Payload:
    """The CSV of every figure the filters select, joined from the stored rows, in the `sort` order."""
    context = FilterContext(conn)
    where = and_(true(), *conditions(query, context))
    matched = context.country_match
    stored = conn.execute(
        listing(rep.csv_head, rep.csv_tail, metric_table.c.destination_id).where(where).order_by(*order_by(query.sort))
    )
    cells = [(head, tail, matched.get(d) if d else None) for head, tail, d in stored]
    return Payload(document=None, csv_body=lambda: csv_body(cells))


def _holds(conn: Connection, where: ColumnElement[bool], metric_id: str) -> bool:
    """Whether the figure `metric_id` is among those `where` keeps."""
    found = conn.execute(listing(metric_table.c.id).where(where, metric_table.c.id == metric_id)).first()
    return found is not None


rep = representation_table.c


def _stored_document() -> Any:
    """Each page row's stored document, looked up for the rows the page keeps: a join let PostgreSQL merge-join
    both tables in id order from the first row, whatever the cursor (50,000 rows read for `after=` halfway
    through 100,000 figures; issue 17)."""
    return select(rep.document).where(rep.metric_id == metric_table.c.id).scalar_subquery().label("document")


class PageRow(NamedTuple):
    """A page row as the page query gives it: id, destination (for `country` matches), stored document."""

    id: str
    destination_id: str | None
    document: str


def _sorted_page(conn: Connection, where: ColumnElement[bool], sort: str | None, limit: int, offset: int) -> list[Any]:
    """Few rows match (counted, SQLite): the filters' indexes find them and they are sorted. The page's ids are
    sorted and cut first, then its rows read: with the destination and the stored document in the sorting
    statement, SQLite read both for every match before sorting (7.6 ms for 1,500 matches of 1,000,000, not 2.7;
    14 ms for 10,000). The outer statement sorts the page's rows again: its order is the same."""
    ids = listing(metric_table.c.id.label("page_id")).where(where).order_by(*order_by(sort, few=True))
    kept = ids.limit(limit).offset(offset).subquery("page")
    page = listing(metric_table.c.id, metric_table.c.destination_id, _stored_document()).join(
        kept, kept.c.page_id == metric_table.c.id
    )
    return list(conn.execute(page.order_by(*order_by(sort))))


def _deep_page(conn: Connection, where: ColumnElement[bool], order: list[Any], limit: int, offset: int) -> list[Any]:
    """An offset page: its ids first, then their stored documents. With the document in the same statement,
    PostgreSQL evaluated its subquery for every skipped row (`offset=900000` of 1,000,000: 1.7 s, not 40 ms)."""
    kept = conn.execute(
        listing(metric_table.c.id, metric_table.c.destination_id)
        .where(where)
        .order_by(*order)
        .limit(limit)
        .offset(offset)
    ).all()
    if not kept:
        return []
    found = conn.execute(select(rep.metric_id, rep.document).where(in_list(rep.metric_id, [r.id for r in kept])))
    documents = dict(found.all())
    return [PageRow(r.id, r.destination_id, documents[r.id]) for r in kept]


def listing(*columns: Any) -> Select[Any]:
    """Metrics (with their period, which `from`/`to` and `sort=period` read) and, when asked for, their stored
    representation."""
    statement = select(*columns).select_from(metric_table)
    if any(getattr(c, "table", None) is representation_table for c in columns):
        statement = statement.join(representation_table, representation_table.c.metric_id == metric_table.c.id)
    return statement.outerjoin(period_table, period_table.c.id == metric_table.c.period_id)


def _page(
    rows: Sequence[Any], matched: dict[str, dict[str, str]], envelope: dict[str, Any], links: dict[str, Any]
) -> Payload:
    fragments = (json_fragment(r.document, matched.get(r.destination_id) if r.destination_id else None) for r in rows)
    return Payload(document=None, json_body=json_page(fragments, render_json(envelope)), links=links)


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


def bounded_total(conn: Connection, where: ColumnElement[bool]) -> tuple[int, bool]:
    """The matching figures, counted up to TOTAL_BOUND (and whether that is all of them)."""
    return bounded_count(conn, listing(literal(1)).where(where))


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
        # The document and CSV row the loader stored (app.api.stored): what metric_documents would build.
        stored = select(rep.document, rep.csv_head, rep.csv_tail).where(rep.metric_id == metric_id)
        row = conn.execute(stored).first()
        if row is None:
            close = _close_ids(conn, metric_id)
            hint = f" Did you mean {' or '.join(close)}?" if close else " See /v1/metrics for every id."
            raise ApiProblem(404, "not-found", "No metric with this id." + hint, title="Not found")
        cells = [(row.csv_head, row.csv_tail, None)]
        return Payload(document=None, json_body=json_fragment(row.document, None), csv_body=lambda: csv_body(cells))

    # The filename is used only once build() found the metric, so it is a slug.
    return respond(request, conn, build, fmt=fmt, filename=f"metric-{metric_id}")
