"""Metric filters as data: the query models FastAPI validates (`MetricFilters`; `MetricQuery` adds the page and the
format) and a table mapping each filter to its SQL condition (`FILTERS`). A new filter is one field and one table
entry, both here."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError
from sqlalchemy import ColumnElement, Connection, and_, false, func, literal_column, or_, select

from app.api.deps import IdText, split_ids
from app.api.formats import format_description, format_literal
from app.api.names import invalid, resolve_country, suggestion
from app.api.queries import (
    attribution_table,
    count_by,
    destination_member_table,
    destination_table,
    in_list,
    measure_table,
    metric_select,
    metric_table,
    period_table,
    population_table,
    report_table,
)
from app.api.representation import per_dataset
from app.api.search import search_condition
from app.errors import shown
from app.vocabulary import CountryMatch, DestinationKind, MemberBasis, Qualifier, Slug, Unit

BIG = 10**18
DATE_OR_YEAR = r"^[1-9][0-9]{3}(-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01]))?$"
MATCH_DOC = (
    "How a figure's stated range [lower, upper] must relate to [value_min, value_max].\n\n"
    "- `overlaps` (default): the stated range can fall in it; an open upper bound counts as +infinity. "
    "`value_min=1000000` keeps 'more than 1,187,700'.\n"
    "- `within`: the stated range is certainly inside. `value_min=150000&match=within` keeps '225,000' and "
    "'more than 153,000' but not 'between 120,000 and 150,000'."
)
SORT_KEYS = {
    "id": (metric_table.c.id,),
    "lower": (metric_table.c.lower,),
    "upper": (metric_table.c.upper,),
    "destination": (metric_table.c.destination_id,),
    "period": (metric_table.c.period_dates,),
    "unit": (metric_table.c.unit,),
    "measure": (metric_table.c.measure,),
}
SORT_FIELDS = tuple(SORT_KEYS)
SORT_PATTERN = r"^-?(" + "|".join(SORT_FIELDS) + r")(,-?(" + "|".join(SORT_FIELDS) + r"))*$"
IdList = Annotated[
    list[IdText] | None,
    Field(description="One or more ids: repeat the parameter or separate with commas.", max_length=50),
]
# The patterns stay in the OpenAPI document (clients and fuzzers read them); the validators below say in words
# what is wrong, since a 400 never quotes a regular expression at a person.
DateOrYear = Annotated[str | None, Field(json_schema_extra={"pattern": DATE_OR_YEAR})]
SPLIT_ON_COMMAS = ("unit", "qualifier", "destination_kind")
FACETS = {
    "destination": metric_table.c.destination_id,
    "unit": metric_table.c.unit,
    "measure": metric_table.c.measure,
    "population": metric_table.c.population,
    "period": metric_table.c.period_id,
    "qualifier": metric_table.c.qualifier,
    "destination_kind": destination_table.c.kind,
}
"""What `facet=` can count the filtered figures by: its name -> the column whose values it counts."""
FacetName = Literal["destination", "unit", "measure", "population", "period", "qualifier", "destination_kind"]
Amount = Annotated[int | None, Field(ge=-BIG, le=BIG)]


def _date(value: str, *, end: bool) -> dt.date:
    """A year is its first day (`from`) or its last (`to`)."""
    if len(value) == 4:
        return dt.date(int(value), 12, 31) if end else dt.date(int(value), 1, 1)
    return dt.date.fromisoformat(value)


def _split_on_commas(value: Any) -> Any:
    if isinstance(value, list):
        return [part.strip() for item in value for part in str(item).split(",") if part.strip()]
    return value


def _invalid(parameter: str, reason: str) -> PydanticCustomError:
    """An error about one parameter raised by the model validator; app.errors names `parameter` in it."""
    return PydanticCustomError("invalid_combination", reason, {"parameter": parameter})


MetricFormat = format_literal()
"""The `format=` values of /v1/metrics: every route's."""


class MetricFilters(BaseModel):
    """The query parameters of `/v1/metrics.csv`: the filters and the order. The filters combine with AND; list
    filters match any of their values; an unknown parameter is an error."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    report: IdList = None
    attributed_to: Annotated[
        list[IdText] | None,
        Field(
            description=(
                "Who states the figure, as the article presents it: attribution ids (`/v1/attributions`), e.g. "
                "`ccp-org-dept-mps-2006-02` (the report), `following-survey`, `epoch-times-2006-05-03` (the "
                "article's own words). Repeat the parameter or separate with commas."
            ),
            max_length=50,
            examples=[["following-survey"]],
        ),
    ] = None
    measure: IdList = None
    population: IdList = None
    unit: Annotated[list[Unit] | None, Field(description="persons, cases or USD; repeatable or comma-separated.")] = (
        None
    )
    qualifier: Annotated[
        list[Qualifier] | None,
        Field(description="How the source bounds it (exact, more_than, ...); repeatable or comma-separated."),
    ] = None
    period: IdList = None
    destination: IdList = None
    country: Annotated[
        str | None,
        Field(
            min_length=1,
            max_length=100,
            description=(
                "ISO 3166-1 alpha-2 code or a name (`Canada`, `United States`, `USA`, `U.S.`, `Hong Kong`; "
                "case-insensitive; the names and aliases of /v1/destinations and their members): figures for that "
                "country or territory, or for a group that lists it (`country_match` says which). `country=SG` "
                "finds the South East Asia figures. A name the dataset does not know is a 400 naming the closest."
            ),
            examples=["SG", "United States"],
        ),
    ] = None
    has_destination: Annotated[
        bool | None,
        Field(description="`true`: only figures the source gives a destination; `false`: only those without one."),
    ] = None
    destination_kind: Annotated[
        list[DestinationKind] | None,
        Field(
            description=(
                'territory, country, region or aggregate ("overseas"); repeatable or comma-separated. '
                "`destination_kind=country,territory,region` keeps the figures for named places."
            ),
            examples=[["country", "territory", "region"]],
        ),
    ] = None
    has_period: Annotated[
        bool | None,
        Field(description="`true`: only figures the source dates (a period or instant); `false`: only undated ones."),
    ] = None
    from_: Annotated[
        DateOrYear,
        Field(
            alias="from",
            description=(
                "Year (`1990`) or date: keep figures whose period overlaps [from, to]. Figures with no period are "
                "left out when `from` or `to` is given. Must not be after `to` (400)."
            ),
            examples=["1990"],
        ),
    ] = None
    to: Annotated[
        DateOrYear, Field(description="Year or date; see `from`. Must not be before `from` (400).", examples=["1995"])
    ] = None
    value_min: Annotated[
        Amount,
        Field(
            description="Lower end of a value range, base units. Must not exceed `value_max` (400).",
            examples=[150000],
        ),
    ] = None
    value_max: Annotated[
        Amount, Field(description="Upper end of a value range, base units. Must not be below `value_min` (400).")
    ] = None
    match: Annotated[Literal["overlaps", "within"], Field(description=MATCH_DOC)] = "overlaps"
    q: Annotated[
        str | None,
        Field(
            min_length=1,
            max_length=200,
            description=(
                "Case-insensitive text search over measure and population ids and labels, value text, quotes, "
                "and destination names, labels, aliases and member names (`q=usa`, `q=germany`)."
            ),
        ),
    ] = None
    # Not filters, but a query model with extra="forbid" declares every parameter of the operation.
    sort: Annotated[
        str | None,
        Field(
            json_schema_extra={"pattern": SORT_PATTERN},
            description=(
                f"Comma-separated keys from {', '.join(SORT_FIELDS)}; prefix `-` for descending. Nulls sort last "
                "either way; ties break on id."
            ),
            examples=["-lower"],
        ),
    ] = None

    @field_validator(*SPLIT_ON_COMMAS, mode="before")
    @classmethod
    def _split_lists(cls, value: Any) -> Any:
        return _split_on_commas(value)

    @field_validator("from_", "to")
    @classmethod
    def _a_real_date(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                if not (len(value) in (4, 10) and value[:4].isdigit() and value[0] != "0"):
                    raise ValueError
                _date(value, end=False)
            except ValueError:
                raise PydanticCustomError(
                    "invalid_date", "{value} is not a year or a date; write 1990 or 1990-06-30", {"value": shown(value)}
                ) from None
        return value

    @field_validator("sort")
    @classmethod
    def _sort_keys(cls, value: str | None) -> str | None:
        if value is not None:
            for item in value.split(","):
                if item.removeprefix("-") not in SORT_KEYS:
                    raise PydanticCustomError(
                        "invalid_sort",
                        "{value} is not a sort key; use one of {keys}, each optionally prefixed by - (descending), "
                        "separated by commas",
                        {"value": shown(item), "keys": ", ".join(SORT_FIELDS)},
                    )
        return value

    @model_validator(mode="after")
    def _ranges_in_order(self) -> MetricFilters:
        if self.from_ is not None and self.to is not None and self.start > self.end:
            raise _invalid("from", "is after `to`")
        if self.value_min is not None and self.value_max is not None and self.value_min > self.value_max:
            raise _invalid("value_min", "is greater than value_max")
        return self

    @property
    def start(self) -> dt.date:
        assert self.from_ is not None
        return _date(self.from_, end=False)

    @property
    def end(self) -> dt.date:
        assert self.to is not None
        return _date(self.to, end=True)


CSV_WHOLE_SET = (
    "CSV (`/v1/metrics.csv`, `format=csv` or `Accept: text/csv`) is every figure the filters select, in the `sort` "
    "order: `limit`, `offset`, `after` and `facet` apply to the JSON page only."
)


class MetricQuery(MetricFilters):
    """The query parameters of `/v1/metrics`: the filters, then the page (JSON) and the format."""

    limit: Annotated[int, Field(ge=1, le=1000, description="Page size (1-1000), JSON only: " + CSV_WHOLE_SET)] = 100
    offset: Annotated[int, Field(ge=0, le=10**9, description="Rows to skip, JSON only (see `limit`).")] = 0
    after: Annotated[
        Slug | None,
        Field(
            description=(
                "Keyset paging: only the figures that come after this one in the requested order (none if it is not "
                "among them). With `sort` on one key, or none, a page then costs the same however deep it is, "
                "where `offset` grows with the rows it skips. The `next` and `prev` links carry `after` too; `offset` "
                "still applies, counted from the cursor. JSON only (see `limit`)."
            ),
            examples=["canada-emigrated-1985-2005"],
        ),
    ] = None
    facet: Annotated[
        list[FacetName] | None,
        Field(
            description=(
                f"Count the filtered figures per value of each of {', '.join(FACETS)} (repeatable or "
                "comma-separated): the JSON page gains `facets`, counted over every page. JSON only. Counted for at "
                "most 10,000 filtered figures (more is a 400: narrow the filters); with no filter, the whole "
                "dataset's counts."
            ),
            examples=[["destination", "unit"]],
        ),
    ] = None
    format: Annotated[MetricFormat | None, Field(description=format_description())] = None  # type: ignore[valid-type]

    @field_validator("facet", mode="before")
    @classmethod
    def _split_facets(cls, value: Any) -> Any:
        return _split_on_commas(value)


@dataclass
class FilterContext:
    """What a filter may read (the connection) and report back (how each destination matched `country`: the
    metric document's COUNTRY_MATCH_KEYS, by destination id)."""

    conn: Connection
    country_match: dict[str, dict[str, str]] = field(default_factory=dict)


Condition = ColumnElement[bool]
Filter = Callable[[MetricFilters, FilterContext], list[Condition]]


def _ids(column: Any, name: str, table: Any) -> Filter:
    """Figures whose `column` is one of the ids; an id `table` does not hold is a 400 (a typo is not "no data")."""

    def condition(f: MetricFilters, ctx: FilterContext) -> list[Condition]:
        ids = split_ids(getattr(f, name))
        if not ids:
            return []
        known = per_dataset(("ids", table.name), lambda: _all_ids(ctx.conn, table))
        unknown = [i for i in ids if i not in known]
        if unknown:
            names = ", ".join(shown(i) for i in unknown)
            raise invalid(name, f"no {name} {names}; {suggestion(unknown[0], list(known))}")
        return [in_list(column, ids)]

    return condition


def _all_ids(conn: Connection, table: Any) -> dict[str, None]:
    """Every id of a small table (reports, measures, destinations...), in order."""
    return dict.fromkeys(conn.execute(select(table.c.id).order_by(table.c.id)).scalars())


def _enum(column: Any, name: str) -> Filter:
    return lambda f, ctx: [in_list(column, sorted({v.value for v in getattr(f, name)}))] if getattr(f, name) else []


def _country(f: MetricFilters, ctx: FilterContext) -> list[Condition]:
    if f.country is None:
        return []
    code = resolve_country(ctx.conn, f.country)
    ctx.country_match = per_dataset(("country_match", code), lambda: _country_match(ctx.conn, code))
    return [in_list(metric_table.c.destination_id, sorted(ctx.country_match)) if ctx.country_match else false()]


def _country_match(conn: Connection, code: str) -> dict[str, dict[str, str]]:
    """How each destination matches the country `code`, by destination id (COUNTRY_MATCH_KEYS)."""
    members = destination_member_table
    exact = conn.execute(select(destination_table.c.id).where(destination_table.c.code == code)).scalars()
    groups = conn.execute(select(members.c.group_id, members.c.basis).where(members.c.code == code))

    def matched(how: str, destination_id: str, basis: str) -> dict[str, str]:
        href = f"/v1/destinations/{destination_id}"
        return {"country_match": how, "country_match_basis": basis, "country_match_href": href}

    # A place the source names itself is matched on the source's word; a group member on its recorded basis.
    return {
        **{group: matched(CountryMatch.group.value, group, basis) for group, basis in groups.all()},
        **{place: matched(CountryMatch.exact.value, place, MemberBasis.source.value) for place in exact.all()},
    }


def _value_min(f: MetricFilters, ctx: FilterContext) -> list[Condition]:
    """overlaps: some value the source's range allows is >= value_min (null upper = +infinity);
    within: every one is. Written as index range scans (`upper IS NULL`, `upper >= v`) joined by OR."""
    if f.value_min is None:
        return []
    m = metric_table.c
    if f.match == "within":
        return [and_(m.lower.is_not(None), m.lower >= f.value_min)]
    bounded = and_(m.upper >= f.value_min, or_(m.upper > f.value_min, m.upper_inclusive.is_(True)))
    return [or_(m.upper.is_(None), bounded)]


def _value_max(f: MetricFilters, ctx: FilterContext) -> list[Condition]:
    """overlaps: some value the source's range allows is <= value_max (null lower = -infinity);
    within: every one is. Index range scans, as for value_min."""
    if f.value_max is None:
        return []
    m = metric_table.c
    if f.match == "within":
        return [and_(m.upper.is_not(None), m.upper <= f.value_max)]
    bounded = and_(m.lower <= f.value_max, or_(m.lower < f.value_max, m.lower_inclusive.is_(True)))
    return [or_(m.lower.is_(None), bounded)]


def _text(f: MetricFilters, ctx: FilterContext) -> list[Condition]:
    return [] if f.q is None else [search_condition(ctx.conn, f.q)]


def _has(column: Any, name: str) -> Filter:
    def condition(f: MetricFilters, ctx: FilterContext) -> list[Condition]:
        wanted = getattr(f, name)
        if wanted is None:
            return []
        return [column.is_not(None) if wanted else column.is_(None)]

    return condition


FILTERS: dict[str, Filter] = {
    "report": _ids(metric_table.c.report_id, "report", report_table),
    "attributed_to": _ids(metric_table.c.attributed_to, "attributed_to", attribution_table),
    "measure": _ids(metric_table.c.measure, "measure", measure_table),
    "population": _ids(metric_table.c.population, "population", population_table),
    "period": _ids(metric_table.c.period_id, "period", period_table),
    "destination": _ids(metric_table.c.destination_id, "destination", destination_table),
    "unit": _enum(metric_table.c.unit, "unit"),
    "qualifier": _enum(metric_table.c.qualifier, "qualifier"),
    "country": _country,
    "has_destination": _has(metric_table.c.destination_id, "has_destination"),
    "destination_kind": lambda f, ctx: (
        [
            metric_table.c.destination_id.in_(select(destination_table.c.id).where(c))
            for c in _enum(destination_table.c.kind, "destination_kind")(f, ctx)
        ]
    ),
    "has_period": _has(metric_table.c.period_id, "has_period"),
    "from": lambda f, ctx: [period_table.c.end_date >= f.start] if f.from_ is not None else [],
    "to": lambda f, ctx: [period_table.c.start_date <= f.end] if f.to is not None else [],
    "value_min": _value_min,
    "value_max": _value_max,
    "q": _text,
}
"""Each filter's SQL condition(s), given the validated filters (`match` only qualifies value_min/value_max)."""


def facet_counts(conn: Connection, names: list[str], where: Condition | None) -> dict[str, list[dict[str, Any]]]:
    """For each facet asked, the filtered figures counted per value: largest count first, then by value. With no
    filter (`where` None), the whole dataset's counts the loader stored (app.loader.counts): no row is counted."""
    out: dict[str, list[dict[str, Any]]] = {}
    for name in dict.fromkeys(names):
        column = FACETS[name]
        rows: list[tuple[Any, int]]
        if where is not None:
            rows = [(v, n) for v, n in conn.execute(metric_select(column, func.count()).where(where).group_by(column))]
        elif name == "destination_kind":
            kinds = dict(conn.execute(select(destination_table.c.id, destination_table.c.kind)).all())
            by_kind: dict[Any, int] = {}
            for destination, n in count_by(conn, metric_table.c.destination_id).items():
                kind = None if destination is None else kinds[destination]
                by_kind[kind] = by_kind.get(kind, 0) + n
            rows = list(by_kind.items())
        else:
            rows = list(count_by(conn, column).items())
        counted = [{"value": None if v is None else str(v), "count": n} for v, n in rows]
        out[name] = sorted(counted, key=lambda c: (-c["count"], c["value"] is None, c["value"] or ""))
    return out


def conditions(filters: MetricFilters, ctx: FilterContext) -> list[Condition]:
    return [condition for condition_of in FILTERS.values() for condition in condition_of(filters, ctx)]


def order_by(sort: str | None, few: bool = False) -> list[Any]:
    """ORDER BY keys for `sort` (validated by SORT_PATTERN). `few`: the filters match few rows (counted), so
    find them by the filters' indexes and sort them, rather than walk an order index until the page is full
    (SQLite keeps no histogram to tell the two apart; `+column` keeps it off the order index)."""
    keys: list[Any] = []
    for column, desc in sort_keys(sort):
        expression = _unindexed(column) if few else column
        # Nulls last, either way: `(c IS NULL), c` is what migration 0007's order indexes hold.
        if is_nullable(column):
            keys.append(expression.is_(None))
        keys.append(expression.desc() if desc else expression.asc())
    keys.append(_unindexed(metric_table.c.id).asc() if few else metric_table.c.id.asc())
    return keys


def sort_keys(sort: str | None) -> list[tuple[Any, bool]]:
    """(column, descending) for each key of `sort`, before the id tie-break."""
    keys: list[tuple[Any, bool]] = []
    for item in (sort or "id").split(","):
        keys.extend((column, item.startswith("-")) for column in SORT_KEYS[item.lstrip("-")])
    return keys


def _unindexed(column: Any) -> Any:
    """`+table.column`: the same values, that no index provides (SQLite and PostgreSQL)."""
    return literal_column(f"+{column.table.name}.{column.name}")


def is_nullable(column: Any) -> bool:
    """A metric column that may be null, or any column of an outer-joined table."""
    return column.table is not metric_table or bool(column.nullable)


def after_cursor(sort: str | None, values: Sequence[Any], cursor: str) -> Condition:
    """Rows strictly after the cursor row (whose sort key values are `values`) in the order of `sort`."""
    condition: Condition = metric_table.c.id > cursor
    for (column, desc), value in reversed(list(zip(sort_keys(sort), values, strict=True))):
        if value is None:
            condition = and_(column.is_(None), condition)
            continue
        beyond = column < value if desc else column > value
        if is_nullable(column):
            beyond = or_(beyond, column.is_(None))
        condition = or_(beyond, and_(column == value, condition))
    return condition


def up_to_cursor(sort: str | None, values: Sequence[Any], cursor: str) -> Condition:
    """Rows before the cursor row in the order of `sort`, and the cursor row itself."""
    condition: Condition = metric_table.c.id <= cursor
    for (column, desc), value in reversed(list(zip(sort_keys(sort), values, strict=True))):
        if value is None:
            condition = or_(column.is_not(None), condition)
            continue
        condition = or_(column > value if desc else column < value, and_(column == value, condition))
    return condition


def reversed_order(sort: str | None, few: bool = False) -> list[Any]:
    """order_by(sort, few), backwards (walking back from a cursor)."""
    keys: list[Any] = []
    for column, desc in sort_keys(sort):
        expression = _unindexed(column) if few else column
        if is_nullable(column):
            keys.append(expression.is_(None).desc())
        keys.append(expression.asc() if desc else expression.desc())
    keys.append(_unindexed(metric_table.c.id).desc() if few else metric_table.c.id.desc())
    return keys
