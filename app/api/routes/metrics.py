"""The figures: filtered, range-aware queries over every metric, with citations."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from sqlalchemy import ColumnElement, Connection, and_, exists, false, func, or_, select, text, true
from starlette.responses import Response

from app.api.collections import Collection
from app.api.deps import ConnDep, FormatParam, IdList, LimitParam, OffsetParam, split_ids
from app.api.pagination import page_document, page_links
from app.api.queries import (
    METRIC_CSV_COLUMNS,
    citation_table,
    dataset_table,
    destination_member_table,
    destination_table,
    in_list,
    measure_table,
    metric_csv_rows,
    metric_documents,
    metric_select,
    metric_table,
    period_table,
    population_table,
)
from app.api.representation import Payload, negotiate, respond
from app.errors import ApiProblem, problem_responses
from app.schemas import MetricPublic, Page
from app.vocabulary import Qualifier, Slug, Unit

router = APIRouter()

DateOrYear = Annotated[
    str | None,
    Query(pattern=r"^[1-9][0-9]{3}(-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01]))?$"),
]
BIG = 10**18
MATCH_DOC = (
    "How a figure's stated range [lower, upper] must relate to [value_min, value_max].\n\n"
    "- `overlaps` (default): the stated range can fall in it; an open upper bound counts as +infinity. "
    "`value_min=1000000` keeps 'more than 1,187,700'.\n"
    "- `within`: the stated range is certainly inside. `value_min=150000&match=within` keeps '225,000' and "
    "'more than 153,000' but not 'between 120,000 and 150,000'."
)
SORT_FIELDS = ("id", "lower", "upper", "destination", "period", "unit", "measure")
SORT_PATTERN = r"^-?(" + "|".join(SORT_FIELDS) + r")(,-?(" + "|".join(SORT_FIELDS) + r"))*$"


def _date(value: str, *, end: bool, name: str) -> dt.date:
    try:
        if len(value) == 4:
            return dt.date(int(value), 12, 31) if end else dt.date(int(value), 1, 1)
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise ApiProblem(
            400,
            "invalid-parameter",
            f"{name}: not a valid date",
            title="Invalid parameter",
            errors=[{"name": name, "in": "query", "reason": "not a valid date"}],
        ) from exc


def _bad(name: str, reason: str) -> ApiProblem:
    return ApiProblem(
        400,
        "invalid-parameter",
        f"{name}: {reason}",
        title="Invalid parameter",
        errors=[{"name": name, "in": "query", "reason": reason}],
    )


def _value_filter(value_min: int | None, value_max: int | None, match: str) -> list[ColumnElement[bool]]:
    """Range semantics over [lower, upper] (null upper = +infinity, null lower = -infinity).

    overlaps: some value the source's range allows lies in [value_min, value_max].
    within: every value the source's range allows lies in [value_min, value_max].
    """
    conds: list[ColumnElement[bool]] = []
    if match == "overlaps":
        if value_min is not None:
            conds.append(
                or_(
                    metric_table.c.upper.is_(None),
                    metric_table.c.upper > value_min,
                    and_(metric_table.c.upper == value_min, metric_table.c.upper_inclusive.is_(True)),
                )
            )
        if value_max is not None:
            conds.append(
                or_(
                    metric_table.c.lower.is_(None),
                    metric_table.c.lower < value_max,
                    and_(metric_table.c.lower == value_max, metric_table.c.lower_inclusive.is_(True)),
                )
            )
    else:
        if value_min is not None:
            conds.append(and_(metric_table.c.lower.is_not(None), metric_table.c.lower >= value_min))
        if value_max is not None:
            conds.append(and_(metric_table.c.upper.is_not(None), metric_table.c.upper <= value_max))
    return conds


def _order_by(sort: str | None) -> list[Any]:
    keys: list[Any] = []
    for item in (sort or "id").split(","):
        desc = item.startswith("-")
        name = item.lstrip("-")
        columns = {
            "id": [metric_table.c.id],
            "lower": [metric_table.c.lower],
            "upper": [metric_table.c.upper],
            "destination": [metric_table.c.destination_id],
            "period": [period_table.c.start_date, period_table.c.end_date],
            "unit": [metric_table.c.unit],
            "measure": [metric_table.c.measure],
        }[name]
        for column in columns:
            if (
                column is not metric_table.c.id
            ):  # nulls last, either way (an id is never null: its index serves the order)
                keys.append(column.is_(None))
            keys.append(column.desc() if desc else column.asc())
    keys.append(metric_table.c.id.asc())
    return keys


@router.get(
    "",
    summary="List figures",
    operation_id="list_metrics",
    response_model=Page[MetricPublic],
    responses={
        200: {
            "content": {"text/csv": {"schema": {"type": "string"}}},
            "description": "A page of figures (JSON envelope), or every matching figure as CSV.",
        },
        **problem_responses(400, 503),
    },
)
def read_metrics(
    request: Request,
    conn: ConnDep,
    report: IdList = None,
    measure: IdList = None,
    population: IdList = None,
    unit: Annotated[list[Unit] | None, Query(description="persons, cases or USD; repeatable.")] = None,
    qualifier: Annotated[list[Qualifier] | None, Query(description="How the source bounds it; repeatable.")] = None,
    period: IdList = None,
    destination: IdList = None,
    country: Annotated[
        str | None,
        Query(
            pattern=r"^[A-Za-z]{2}$",
            description=(
                "ISO 3166-1 alpha-2 code: figures for that country or territory, or for a group that lists it "
                "(`country_match` says which). `country=SG` finds the South East Asia figures."
            ),
            examples=["SG"],
        ),
    ] = None,
    from_: Annotated[
        DateOrYear,
        Query(
            alias="from",
            description=(
                "Year (`1990`) or date: keep figures whose period overlaps [from, to]. Figures with no period are "
                "left out when `from` or `to` is given."
            ),
            examples=["1990"],
        ),
    ] = None,
    to: Annotated[DateOrYear, Query(description="Year or date; see `from`.", examples=["1995"])] = None,
    value_min: Annotated[
        int | None, Query(ge=-BIG, le=BIG, description="Lower end of a value range, base units.", examples=[150000])
    ] = None,
    value_max: Annotated[
        int | None, Query(ge=-BIG, le=BIG, description="Upper end of a value range, base units.")
    ] = None,
    match: Annotated[
        Literal["overlaps", "within"],
        Query(description=MATCH_DOC),
    ] = "overlaps",
    q: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=200,
            description=("Case-insensitive text search over measure, population, value text and quotes."),
        ),
    ] = None,
    sort: Annotated[
        str | None,
        Query(
            pattern=SORT_PATTERN,
            description=(
                f"Comma-separated keys from {', '.join(SORT_FIELDS)}; prefix `-` for descending. Nulls sort last "
                "either way; ties break on id."
            ),
            examples=["-lower"],
        ),
    ] = None,
    limit: LimitParam = 100,
    offset: OffsetParam = 0,
    after: Annotated[
        Slug | None,
        Query(
            description=(
                "Keyset paging: only the figures that come after this one in the requested order (none if it is not "
                "among them). In the default order (id) a page then costs the same however deep it is, where "
                "`offset` grows with the rows it skips. The `next` and `prev` links carry `after` too; `offset` "
                "still applies, counted from the cursor. CSV ignores it."
            ),
            examples=["canada-emigrated-1985-2005"],
        ),
    ] = None,
    format: FormatParam = None,
) -> Response:
    """Figures as reported, filtered. Every filter combines with AND; list filters match any of their values."""
    if from_ is not None and to is not None and _date(from_, end=False, name="from") > _date(to, end=True, name="to"):
        raise _bad("from", "is after `to`")
    if value_min is not None and value_max is not None and value_min > value_max:
        raise _bad("value_min", "is greater than value_max")
    fmt = negotiate(request, format)

    def build(conn: Connection) -> Payload:
        conds: list[ColumnElement[bool]] = []
        for column, values in (
            (metric_table.c.report_id, split_ids(report)),
            (metric_table.c.measure, split_ids(measure)),
            (metric_table.c.population, split_ids(population)),
            (metric_table.c.period_id, split_ids(period)),
            (metric_table.c.destination_id, split_ids(destination)),
        ):
            if values:
                conds.append(in_list(column, values))
        if unit:
            conds.append(in_list(metric_table.c.unit, sorted({u.value for u in unit})))
        if qualifier:
            conds.append(in_list(metric_table.c.qualifier, sorted({x.value for x in qualifier})))
        country_match: dict[str, str] = {}
        if country is not None:
            code = country.upper()
            members = destination_member_table
            exact_ids = (
                conn.execute(select(destination_table.c.id).where(destination_table.c.code == code)).scalars().all()
            )
            group_ids = conn.execute(select(members.c.group_id).where(members.c.code == code)).scalars().all()
            country_match = {**{g: "group" for g in group_ids}, **{e: "exact" for e in exact_ids}}
            conds.append(in_list(metric_table.c.destination_id, sorted(country_match)) if country_match else false())
        if from_ is not None:
            conds.append(period_table.c.end_date >= _date(from_, end=False, name="from"))
        if to is not None:
            conds.append(period_table.c.start_date <= _date(to, end=True, name="to"))
        conds.extend(_value_filter(value_min, value_max, match))
        if q is not None:
            pattern = "%" + q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            conds.append(
                or_(
                    func.lower(measure_table.c.label).like(pattern, escape="\\"),
                    func.lower(population_table.c.label).like(pattern, escape="\\"),
                    func.lower(metric_table.c.value_text).like(pattern, escape="\\"),
                    func.lower(metric_table.c.measure).like(pattern, escape="\\"),
                    func.lower(metric_table.c.population).like(pattern, escape="\\"),
                    exists().where(
                        citation_table.c.metric_id == metric_table.c.id,
                        func.lower(citation_table.c.quote).like(pattern, escape="\\"),
                    ),
                )
            )
        where = and_(true(), *conds)
        if fmt == "csv":
            rows = conn.execute(metric_select().where(where).order_by(*_order_by(sort))).all()
            docs = metric_documents(conn, rows, country_match)
            return Payload(document=None, csv_rows=lambda: metric_csv_rows(docs), csv_columns=METRIC_CSV_COLUMNS)
        total = _total(conn, where) if conds else _loaded_count(conn)
        if after is None:
            page = metric_select().where(where).order_by(*_order_by(sort))
            rows = conn.execute(page.limit(limit).offset(offset)).all()
            links = page_links(request, total, limit, offset)
        elif sort in (None, "id"):
            page = metric_select().where(where, metric_table.c.id > after).order_by(metric_table.c.id)
            rows = conn.execute(page.limit(limit + 1).offset(offset)).all()
            more, rows = len(rows) > limit, rows[:limit]
            # The cursor of the page that ends at `after`: `limit` rows back (index-only, like the page itself).
            earlier: list[str] = list(
                conn.execute(
                    metric_select(metric_table.c.id)
                    .where(where, metric_table.c.id <= after)
                    .order_by(metric_table.c.id.desc())
                    .limit(limit + 1)
                ).scalars()
            )
            links = keyset_links(request, earlier, after, limit, offset, rows[-1].id if more else None)
        else:
            # Another order: the rows after the cursor's place in it (no rows if the cursor is not among them).
            # Correct in every order; only the default one is served by an index.
            ordered = list(
                conn.execute(metric_select(metric_table.c.id).where(where).order_by(*_order_by(sort))).scalars()
            )
            start = ordered.index(after) + 1 if after in ordered else len(ordered)
            page = metric_select().where(where).order_by(*_order_by(sort))
            rows = conn.execute(page.limit(limit + 1).offset(start + offset)).all()
            more, rows = len(rows) > limit, rows[:limit]
            earlier = ordered[:start][::-1][: limit + 1]
            links = keyset_links(request, earlier, after, limit, offset, rows[-1].id if more else None)
        docs = metric_documents(conn, rows, country_match)
        return Payload(document=page_document(docs, total, limit, offset, links), links=links)

    return respond(request, conn, build, fmt=fmt, filename="metrics")


def _loaded_count(conn: Connection) -> int:
    """Every metric: the count the loader stored, not a count over the table."""
    counts = conn.execute(select(dataset_table.c.counts).where(text("id = 1"))).scalar()
    return int((counts or {}).get("metrics", 0))


def _total(conn: Connection, where: ColumnElement[bool]) -> int:
    return int(conn.execute(metric_select(func.count()).where(where)).scalar_one())


def keyset_links(
    request: Request, earlier: list[str], after: str, limit: int, offset: int, last: str | None
) -> dict[str, str | None]:
    """Links of a keyset page: `next` after its last row (when more follow), `prev` the page that ends at the
    cursor. `earlier`: ids of up to limit + 1 rows back from the cursor, the cursor first."""
    from urllib.parse import urlencode

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


@router.get(
    "/{metric_id}",
    summary="One figure",
    operation_id="get_metric",
    response_model=MetricPublic,
    responses={
        200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "The figure."},
        **problem_responses(400, 404, 503),
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
            raise ApiProblem(404, "not-found", "No metric with this id.", title="Not found")
        docs = metric_documents(conn, [row])
        return Payload(document=docs[0], csv_rows=lambda: metric_csv_rows(docs), csv_columns=METRIC_CSV_COLUMNS)

    # The filename is used only once build() found the metric, so it is a slug.
    return respond(request, conn, build, fmt=fmt, filename=f"metric-{metric_id}")


METRICS = Collection("metrics", "metric", "The figures", routes=router)
