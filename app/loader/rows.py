"""The validated entries as rows of the tables they fill (column name -> value), parents first; the columns
come from the tables themselves."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.loader.entries import (
    AttributionEntry,
    DestinationEntry,
    MeasureEntry,
    MetricEntry,
    PeriodEntry,
    PopulationEntry,
    ReportEntry,
    SourceEntry,
)
from app.loader.references import Known
from app.models import metadata

Row = dict[str, Any]
METRIC_COLUMNS = tuple(metadata.tables["metrics"].columns.keys())
CITATION_COLUMNS = tuple(metadata.tables["citations"].columns.keys())
_METRIC_FIELDS = {"report_id": "report", "destination_id": "destination", "period_id": "period"}
"""Columns of `metrics` named differently in a seed entry."""


def metric_rows(
    metric: MetricEntry, report_id: str | None, sources: Sequence[str | None], known: Known
) -> tuple[Row, list[Row]]:
    """The metric's row and its citations' rows, with the report and sources the entry resolves to."""
    values = metric.model_dump(mode="json", exclude={"citations"})
    values["report"] = report_id
    values["period_dates"] = known.period_dates.get(metric.period) if metric.period else None
    row = {column: values[_METRIC_FIELDS.get(column, column)] for column in METRIC_COLUMNS}
    citations = []
    for position, (citation, source_id) in enumerate(zip(metric.citations, sources, strict=True), start=1):
        cited = citation.model_dump(mode="json")
        cited.update(id=f"{metric.id}.{position}", metric_id=metric.id, source_id=source_id, position=position)
        citations.append({column: cited[column] for column in CITATION_COLUMNS})
    return row, citations


def seed_tables(
    sources: Sequence[SourceEntry],
    reports: Sequence[ReportEntry],
    attributions: Sequence[AttributionEntry],
    periods: Sequence[PeriodEntry],
    destinations: Sequence[DestinationEntry],
    measures: Sequence[MeasureEntry],
    populations: Sequence[PopulationEntry],
    metrics: list[Row],
    citations: list[Row],
) -> dict[str, list[Row]]:
    """Every table the seed fills, in the load's order."""
    return {
        "sources": [source.model_dump() for source in sources],
        "reports": [report.model_dump(exclude={"sources"}) for report in reports],
        "report_sources": [{"report_id": report.id, "source_id": s} for report in reports for s in report.sources],
        "attributions": [
            {
                **attribution.model_dump(mode="json", exclude={"source", "report"}),
                "source_id": attribution.source,
                "report_id": attribution.report,
            }
            for attribution in attributions
        ],
        "periods": [{**period.model_dump(), "kind": period.kind.value} for period in periods],
        "destinations": [
            {
                **destination.model_dump(exclude={"members", "aliases"}),
                "kind": destination.kind.value,
                "membership": destination.membership.value if destination.membership else None,
            }
            for destination in destinations
        ],
        "destination_members": [
            {**member.model_dump(mode="json"), "group_id": destination.id, "position": position}
            for destination in destinations
            for position, member in enumerate(destination.members, start=1)
        ],
        "destination_aliases": [
            {"alias": alias, "destination_id": destination.id}
            for destination in destinations
            for alias in destination.aliases
        ],
        "measures": [measure.model_dump() for measure in measures],
        "populations": _parents_first([population.model_dump() for population in populations]),
        "metrics": metrics,
        "citations": citations,
    }


def _parents_first(rows: list[Row]) -> list[Row]:
    by_id = {row["id"]: row for row in rows}
    ordered: list[Row] = []
    done: set[str] = set()

    def visit(row: Row) -> None:
        if row["id"] in done:
            return
        done.add(row["id"])
        parent = by_id.get(row.get("part_of") or "")
        if parent is not None:
            visit(parent)
        ordered.append(row)

    for row in rows:
        visit(row)
    return ordered
