"""Read queries shared by more than one route: metrics with their labels, citations and checks."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import quote

from sqlalchemy import ColumnElement, Connection, Select, func, select

from app.models import Citation, Destination, Measure, Metric, Period, Population, Source, metadata

M = Metric.__table__  # type: ignore[attr-defined]
D = Destination.__table__  # type: ignore[attr-defined]
P = Period.__table__  # type: ignore[attr-defined]
ME = Measure.__table__  # type: ignore[attr-defined]
PO = Population.__table__  # type: ignore[attr-defined]
C = Citation.__table__  # type: ignore[attr-defined]
S = Source.__table__  # type: ignore[attr-defined]

METRIC_COLUMNS = (
    M.c.id,
    M.c.report_id,
    M.c.measure,
    ME.c.label.label("measure_label"),
    M.c.population,
    PO.c.label.label("population_label"),
    M.c.unit,
    M.c.value_text,
    M.c.qualifier,
    M.c.lower,
    M.c.lower_inclusive,
    M.c.upper,
    M.c.upper_inclusive,
    M.c.note,
    M.c.destination_id,
    D.c.name.label("destination_name"),
    D.c.label.label("destination_label"),
    D.c.kind.label("destination_kind"),
    D.c.code.label("destination_code"),
    M.c.period_id,
    P.c.label.label("period_label"),
    P.c.kind.label("period_kind"),
    P.c.iso.label("period_iso"),
    P.c.start_date.label("period_start"),
    P.c.end_date.label("period_end"),
)


def metric_select(*columns: Any) -> Select[Any]:
    cols = columns or METRIC_COLUMNS
    return (
        select(*cols)
        .select_from(M)
        .join(ME, ME.c.id == M.c.measure)
        .join(PO, PO.c.id == M.c.population)
        .outerjoin(D, D.c.id == M.c.destination_id)
        .outerjoin(P, P.c.id == M.c.period_id)
    )


def fragment_url(url: str, quote_text: str, prefix: str | None, suffix: str | None) -> str:
    """The article opened at the quote: a URL text fragment (`#:~:text=[prefix-,]quote[,-suffix]`)."""

    def enc(s: str) -> str:
        return quote(s, safe="").replace("-", "%2D")

    directive = enc(quote_text)
    if prefix:
        directive = enc(prefix.strip()) + "-," + directive
    if suffix:
        directive = directive + ",-" + enc(suffix.strip())
    return f"{url}#:~:text={directive}"


def citation_document(row: Any, source_url: str) -> dict[str, Any]:
    return {
        "id": row.id,
        "metric_id": row.metric_id,
        "source_id": row.source_id,
        "position": row.position,
        "quote": row.quote,
        "prefix": row.prefix,
        "suffix": row.suffix,
        "section": row.section,
        "location": row.location,
        "url": fragment_url(source_url, row.quote, row.prefix, row.suffix),
    }


def citations_select() -> Select[Any]:
    return select(C, S.c.url.label("source_url")).join(S, S.c.id == C.c.source_id)


def citations_for(conn: Connection, metric_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    if not metric_ids:
        return out
    rows = conn.execute(citations_select().where(C.c.metric_id.in_(metric_ids)).order_by(C.c.metric_id, C.c.position))
    for row in rows:
        out[row.metric_id].append(citation_document(row, row.source_url))
    return out


def checks_for(conn: Connection, metric_ids: Sequence[str]) -> dict[str, list[str]]:
    """Ids of the consistency checks each metric is compared in (a `reference` role, the other figures an
    outlier test measures one ratio against, does not count: see /v1/checks?metric=)."""
    out: dict[str, list[str]] = defaultdict(list)
    link = metadata.tables.get("check_metrics")
    if link is None or not metric_ids:
        return out
    rows = conn.execute(
        select(link.c.metric_id, link.c.check_id)
        .where(link.c.metric_id.in_(metric_ids), link.c.role != "reference")
        .distinct()
        .order_by(link.c.metric_id, link.c.check_id)
    )
    for metric_id, check_id in rows:
        out[metric_id].append(check_id)
    return out


def metric_document(
    row: Any, citations: list[dict[str, Any]], checks: list[str], country_match: str | None = None
) -> dict[str, Any]:
    destination = None
    if row.destination_id is not None:
        destination = {
            "id": row.destination_id,
            "name": row.destination_name,
            "label": row.destination_label,
            "kind": row.destination_kind,
            "code": row.destination_code,
        }
    period = None
    if row.period_id is not None:
        period = {
            "id": row.period_id,
            "label": row.period_label,
            "kind": row.period_kind,
            "iso": row.period_iso,
            "start_date": row.period_start,
            "end_date": row.period_end,
        }
    return {
        "id": row.id,
        "report_id": row.report_id,
        "measure": row.measure,
        "measure_label": row.measure_label,
        "population": row.population,
        "population_label": row.population_label,
        "unit": row.unit,
        "value_text": row.value_text,
        "qualifier": row.qualifier,
        "lower": row.lower,
        "lower_inclusive": row.lower_inclusive,
        "upper": row.upper,
        "upper_inclusive": row.upper_inclusive,
        "destination": destination,
        "period": period,
        "country_match": country_match,
        "note": row.note,
        "citations": citations,
        "checks": checks,
    }


def metric_documents(
    conn: Connection, rows: Sequence[Any], country_match: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    ids = [r.id for r in rows]
    cites = citations_for(conn, ids)
    checks = checks_for(conn, ids)
    match = country_match or {}
    return [
        metric_document(
            r, cites.get(r.id, []), checks.get(r.id, []), match.get(r.destination_id) if r.destination_id else None
        )
        for r in rows
    ]


METRIC_CSV_COLUMNS = (
    "id",
    "report_id",
    "measure",
    "measure_label",
    "population",
    "population_label",
    "destination_id",
    "destination_name",
    "destination_code",
    "period_id",
    "period_label",
    "period_iso",
    "unit",
    "value_text",
    "qualifier",
    "lower",
    "lower_inclusive",
    "upper",
    "upper_inclusive",
    "country_match",
    "note",
    "quote",
    "citation_url",
    "citation_count",
    "checks",
)


def metric_csv_rows(documents: Iterable[dict[str, Any]]) -> Iterable[dict[str, Any]]:
    """Flatten metrics for CSV. Several citations: quotes and URLs joined by a newline, in order."""
    for doc in documents:
        dest, period, cites = doc["destination"] or {}, doc["period"] or {}, doc["citations"]
        yield {
            **{k: v for k, v in doc.items() if k not in ("destination", "period", "citations")},
            "destination_id": dest.get("id"),
            "destination_name": dest.get("name"),
            "destination_code": dest.get("code"),
            "period_id": period.get("id"),
            "period_label": period.get("label"),
            "period_iso": period.get("iso"),
            "quote": "\n".join(c["quote"] for c in cites),
            "citation_url": "\n".join(c["url"] for c in cites),
            "citation_count": len(cites),
        }


def in_list(column: Any, values: Sequence[str]) -> ColumnElement[bool]:
    condition: ColumnElement[bool] = column.in_(values) if len(values) != 1 else column == values[0]
    return condition


def count_by(conn: Connection, column: Any) -> dict[str, int]:
    """Rows per value of `column` (e.g. metrics per period)."""
    return {key: n for key, n in conn.execute(select(column, func.count()).group_by(column))}
