"""Read queries shared by more than one route: metrics with their labels, citations and checks.

Column lists and document shapes are derived from the tables and the Public models, never retyped.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from operator import itemgetter
from typing import Any

from pydantic import BaseModel
from sqlalchemy import ColumnElement, Connection, Select, Table, func, select

from app.models import (
    Attribution,
    Check,
    CheckMetric,
    Citation,
    Dataset,
    Destination,
    DestinationAlias,
    DestinationMember,
    Measure,
    Metric,
    MetricRepresentation,
    Period,
    Population,
    Report,
    ReportSource,
    Source,
    ValueCount,
    table_of,
)
from app.schemas import CitationPublic, DestinationRef, MetricPublic, PeriodRef, ReportedBy
from app.vocabulary import CheckRole

metric_table = table_of(Metric)
attribution_table = table_of(Attribution)
destination_table = table_of(Destination)
destination_member_table = table_of(DestinationMember)
destination_alias_table = table_of(DestinationAlias)
period_table = table_of(Period)
measure_table = table_of(Measure)
population_table = table_of(Population)
citation_table = table_of(Citation)
source_table = table_of(Source)
report_table = table_of(Report)
report_source_table = table_of(ReportSource)
check_table = table_of(Check)
check_metric_table = table_of(CheckMetric)
dataset_table = table_of(Dataset)
representation_table = table_of(MetricRepresentation)
value_count_table = table_of(ValueCount)

COUNTED = {
    "metrics": (
        "report_id",
        "attributed_to",
        "period_id",
        "destination_id",
        "measure",
        "population",
        "unit",
        "qualifier",
    ),
    "citations": ("source_id",),
}
"""The columns whose rows per value the loader stores (app.loader.counts) and count_by reads."""

# A metric document: MetricPublic's fields, built here and nowhere else. The labels and notes come from joined
# tables; the embedded destination, period and publication are selected as `<field>_<their field>` (a
# destination's or period's id is the metric's own `<field>_id` column; the publication is the attribution's).
_LABELS = {
    "measure_label": measure_table.c.label,
    "measure_note": measure_table.c.note,
    "population_label": population_table.c.label,
    "attribution_kind": attribution_table.c.kind,
}
_EMBEDDED: dict[str, tuple[Table, type[BaseModel]]] = {
    "destination": (destination_table, DestinationRef),
    "period": (period_table, PeriodRef),
    "as_reported_by": (source_table, ReportedBy),
}
_EMBEDDED_COLUMN = {"source_id": "id"}
"""An embedded field named after the column it reads (ReportedBy.source_id is the source's id)."""
COUNTRY_MATCH_KEYS = ("country_match", "country_match_basis", "country_match_href")
"""Set per request by the `country` filter (app.api.filters), null otherwise."""
_COMPUTED = (*_EMBEDDED, *COUNTRY_MATCH_KEYS, "citations", "checks", "links")
METRIC_KEYS = tuple(MetricPublic.model_fields)
_ROW_KEYS = tuple(name for name in METRIC_KEYS if name not in _COMPUTED)
_EMBEDDED_KEYS = {field: tuple(ref.model_fields) for field, (_, ref) in _EMBEDDED.items()}

METRIC_COLUMNS = (
    *(_LABELS[name].label(name) if name in _LABELS else metric_table.c[name] for name in _ROW_KEYS),
    *(
        metric_table.c[f"{field}_id"]
        if key == "id"
        else table.c[_EMBEDDED_COLUMN.get(key, key)].label(f"{field}_{key}")
        for field, (table, _) in _EMBEDDED.items()
        for key in _EMBEDDED_KEYS[field]
    ),
)


def metric_select(*columns: Any) -> Select[Any]:
    return (
        select(*(columns or METRIC_COLUMNS))
        .select_from(metric_table)
        .join(measure_table, measure_table.c.id == metric_table.c.measure)
        .join(population_table, population_table.c.id == metric_table.c.population)
        .join(attribution_table, attribution_table.c.id == metric_table.c.attributed_to)
        .join(source_table, source_table.c.id == attribution_table.c.source_id)
        .outerjoin(destination_table, destination_table.c.id == metric_table.c.destination_id)
        .outerjoin(period_table, period_table.c.id == metric_table.c.period_id)
    )


def fragment_url(url: str, quote_text: str, prefix: str | None, suffix: str | None) -> str:
    """The article opened at the quote: a URL text fragment (`#:~:text=[prefix-,]quote[,-suffix]`)."""

    directive = fragment_text(quote_text)
    if prefix:
        directive = fragment_text(prefix.strip()) + "-," + directive
    if suffix:
        directive = directive + ",-" + fragment_text(suffix.strip())
    return f"{url}#:~:text={directive}"


_FRAGMENT_BYTES = [
    chr(b) if chr(b).isascii() and (chr(b).isalnum() or chr(b) in "_.~") else f"%{b:02X}" for b in range(256)
]


def fragment_text(text: str) -> str:
    """`quote(text, safe="")` with `-` escaped too (a text directive's delimiter), by table: the loader quotes a
    million quotes, and urllib's quote costs several times more."""
    return "".join(map(_FRAGMENT_BYTES.__getitem__, text.encode()))


_CITATION_KEYS = tuple(name for name in CitationPublic.model_fields if name != "url")


def citation_document(row: Any, source_url: str) -> dict[str, Any]:
    return citation_document_of(row._mapping, source_url)


def citation_document_of(values: Mapping[str, Any], source_url: str) -> dict[str, Any]:
    """A citation's document from its columns (a row's, or the loader's row before it is written)."""
    return {
        **{name: values[name] for name in _CITATION_KEYS},
        "url": fragment_url(source_url, values["quote"], values["prefix"], values["suffix"]),
    }


SEARCHED_LABELS = {"measure": measure_table, "population": population_table}
"""What `q=` searches beyond each metric's own text: the id and label of its measure and population (small
tables, searched there: a match selects every metric that refers to it)."""


def search_text(document: dict[str, Any]) -> str:
    """A metric's own searched text, one field per line: its value as printed and its quotes."""
    return "\n".join([document["value_text"], *(c["quote"] for c in document["citations"])])


def citations_select() -> Select[Any]:
    return select(citation_table, source_table.c.url.label("source_url")).join(
        source_table, source_table.c.id == citation_table.c.source_id
    )


def citations_for(conn: Connection, metric_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    if not metric_ids:
        return out
    rows = conn.execute(
        citations_select()
        .where(citation_table.c.metric_id.in_(metric_ids))
        .order_by(citation_table.c.metric_id, citation_table.c.position)
    )
    for row in rows:
        out[row.metric_id].append(citation_document(row, row.source_url))
    return out


def checks_for(conn: Connection, metric_ids: Sequence[str]) -> dict[str, list[str]]:
    """Ids of the consistency checks each metric is compared in (a `reference` role, the other figures an
    outlier test measures one ratio against, does not count: see /v1/checks?metric=)."""
    out: dict[str, list[str]] = defaultdict(list)
    if not metric_ids:
        return out
    link = check_metric_table
    rows = conn.execute(
        select(link.c.metric_id, link.c.check_id)
        .where(link.c.metric_id.in_(metric_ids), link.c.role != CheckRole.reference.value)
        .distinct()
        .order_by(link.c.metric_id, link.c.check_id)
    )
    for metric_id, check_id in rows:
        out[metric_id].append(check_id)
    return out


def _embedded(values: Any, field: str) -> dict[str, Any] | None:
    keys = _EMBEDDED_KEYS[field]
    if "id" in keys and values[f"{field}_id"] is None:
        return None
    return {key: values[f"{field}_{key}"] for key in keys}


def metric_links(values: Any) -> dict[str, str | None]:
    def href(collection: str, item: str | None) -> str | None:
        return None if item is None else f"/v1/{collection}/{item}"

    return {
        "self": href("metrics", values["id"]),
        "measure": href("measures", values["measure"]),
        "population": href("populations", values["population"]),
        "report": href("reports", values["report_id"]),
        "destination": href("destinations", values["destination_id"]),
        "period": href("periods", values["period_id"]),
    }


def metric_document(
    values: Mapping[str, Any],
    citations: list[dict[str, Any]],
    checks: list[str],
    country_match: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """`values`: METRIC_COLUMNS by label (a row of metric_select(), or the loader's joined row before it is
    written). `country_match`: the COUNTRY_MATCH_KEYS of this figure's destination under the request's `country`."""
    match = country_match or {}
    computed = {
        **{field: _embedded(values, field) for field in _EMBEDDED},
        **{key: match.get(key) for key in COUNTRY_MATCH_KEYS},
        "citations": citations,
        "checks": checks,
        "links": metric_links(values),
    }
    return {name: computed[name] if name in computed else values[name] for name in METRIC_KEYS}


def document_inputs() -> dict[str, tuple[str, ...]]:
    """For each key of a metric document that metric_document builds from `values` alone, the labels of
    METRIC_COLUMNS it reads (the loader renders the parts that depend only on a joined record once per record).
    The other keys (citations, checks, the country match) come from its other arguments."""
    inputs: dict[str, tuple[str, ...]] = {name: (name,) for name in _ROW_KEYS}
    inputs.update({field: tuple(f"{field}_{key}" for key in _EMBEDDED_KEYS[field]) for field in _EMBEDDED})
    inputs["links"] = ("id", "measure", "population", "report_id", "destination_id", "period_id")
    return inputs


def metric_documents(
    conn: Connection, rows: Sequence[Any], country_match: Mapping[str, Mapping[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """`country_match`: by destination id, how it matched the request's `country` (app.api.filters)."""
    ids = [r.id for r in rows]
    cites = citations_for(conn, ids)
    checks = checks_for(conn, ids)
    match = country_match or {}
    return [
        metric_document(
            r._mapping,
            cites.get(r.id, []),
            checks.get(r.id, []),
            match.get(r.destination_id) if r.destination_id else None,
        )
        for r in rows
    ]


def _fields(*names: str) -> dict[str, Callable[[dict[str, Any]], Any]]:
    return {name: itemgetter(name) for name in names}


def _embedded_fields(field: str, *keys: str) -> dict[str, Callable[[dict[str, Any]], Any]]:
    def getter(key: str) -> Callable[[dict[str, Any]], Any]:
        return lambda doc: (doc[field] or {}).get(key)

    return {f"{field}_{key}": getter(key) for key in keys}


def _joined(key: str) -> Callable[[dict[str, Any]], list[str]]:
    """Several citations: their quotes (or URLs), in order (one cell, as every list in a CSV cell)."""
    return lambda doc: [c[key] for c in doc["citations"]]


METRIC_CSV: dict[str, Callable[[dict[str, Any]], Any]] = {
    **_fields("id", "report_id", "attributed_to", "attribution_kind", "attribution_basis"),
    **_fields("attribution_quote", "attribution_note"),
    **_embedded_fields("as_reported_by", "publisher", "title", "published", "url"),
    **_fields("measure", "measure_label", "measure_note", "population", "population_label"),
    **_embedded_fields("destination", "id", "name", "code", "note"),
    **_embedded_fields("period", "id", "label", "iso", "note"),
    **_fields("unit", "value_text", "qualifier", "lower", "lower_inclusive", "upper", "upper_inclusive"),
    **_fields(*COUNTRY_MATCH_KEYS, "note"),
    "quote": _joined("quote"),
    "citation_url": _joined("url"),
    "citation_count": lambda doc: len(doc["citations"]),
    **_fields("checks"),
}
"""The flat CSV form of a metric document, column by column, in order: a row cut out of the file still says
who states the figure and which publication reports it (as_reported_by_*)."""
METRIC_CSV_COLUMNS = tuple(METRIC_CSV)


def metric_csv_rows(documents: Iterable[dict[str, Any]]) -> Iterable[dict[str, Any]]:
    for doc in documents:
        yield {column: value(doc) for column, value in METRIC_CSV.items()}


def in_list(column: Any, values: Sequence[str]) -> ColumnElement[bool]:
    condition: ColumnElement[bool] = column.in_(values) if len(values) != 1 else column == values[0]
    return condition


def count_by(conn: Connection, column: Any) -> dict[str | None, int]:
    """Rows per value of `column` (e.g. metrics per period), as the loader counted them (one primary-key read);
    counted here only in a database not loaded since the counts were added (the next load stores them)."""
    if column.name not in COUNTED.get(column.table.name, ()):
        raise KeyError(f"{column.table.name}.{column.name} is not counted by the loader: add it to COUNTED")
    c = value_count_table.c
    stored = conn.execute(
        select(c.counts).where(c.table_name == column.table.name, c.column_name == column.name)
    ).scalar()
    if stored is None:
        return {
            None if key is None else str(key): n
            for key, n in conn.execute(select(column, func.count()).group_by(column))
        }
    return {key: n for key, n in stored}
