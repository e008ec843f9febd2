"""Read and validate the seed directory: a pipeline over the seed's files. Every problem is collected
(file, entry, line, field, reason) before anything is written; a dataset with any error is never loaded."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.checks.registry import SECTION_MODELS, Declarations
from app.loader import entries
from app.loader.bulk import BULK_METRICS, BulkMetrics, bulk_metrics
from app.loader.documents import LineDict, read_document, read_section
from app.loader.problems import Problems, SeedError, SeedInvalid
from app.loader.references import (
    Known,
    check_attributions,
    check_declarations,
    check_destination_aliases,
    check_destination_codes,
    check_metric,
    check_metric_defaults,
    check_populations,
    check_reports,
)
from app.loader.rows import Row, metric_rows, seed_tables

__all__ = ["SeedDataset", "SeedError", "SeedInvalid", "read_seed"]

SEED_FILES = ("source.yaml", "vocabulary.yaml", "periods.yaml", "destinations.yaml", "metrics.yaml", "checks.yaml")


@dataclass
class SeedDataset:
    """The whole seed, validated, as rows per table (column name -> value), parents first, and the
    consistency checks it declares (computed into rows by the loader)."""

    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    checks: Declarations = field(default_factory=Declarations)
    bulk: BulkMetrics | None = None


def read_seed(seed_dir: Path) -> SeedDataset:
    """Validate the seed directory; raise SeedInvalid listing every problem found."""
    problems = Problems()
    documents = {name: read_document(seed_dir, name, problems) for name in SEED_FILES}

    def section(name: str, key: str, model: Any, keys: set[str]) -> list[Any]:
        return read_section(problems, name, documents[name], key, model, keys)

    source_keys = {"sources", "reports", "attributions"}
    sources = section("source.yaml", "sources", entries.SourceEntry, source_keys)
    reports = section("source.yaml", "reports", entries.ReportEntry, source_keys)
    attributions = section("source.yaml", "attributions", entries.AttributionEntry, source_keys)
    measures = section("vocabulary.yaml", "measures", entries.MeasureEntry, {"measures", "populations"})
    populations = section("vocabulary.yaml", "populations", entries.PopulationEntry, {"measures", "populations"})
    periods = section("periods.yaml", "periods", entries.PeriodEntry, {"periods"})
    destinations = section("destinations.yaml", "destinations", entries.DestinationEntry, {"destinations"})
    metrics = section("metrics.yaml", "metrics", entries.MetricEntry, {"metrics", "report", "source"})
    checks = {key: section("checks.yaml", key, model, set(SECTION_MODELS)) for key, model in SECTION_MODELS.items()}

    metrics_document = documents["metrics.yaml"]
    known = Known(
        reports={entry.id for entry, _ in reports},
        sources={entry.id for entry, _ in sources},
        measures={entry.id for entry, _ in measures},
        populations={entry.id for entry, _ in populations},
        destinations={entry.id for entry, _ in destinations},
        periods={entry.id for entry, _ in periods},
        default_report=metrics_document.get("report") if metrics_document else None,
        default_source=metrics_document.get("source") if metrics_document else None,
        attributions={entry.id: entry.kind for entry, _ in attributions},
    )
    check_reports(problems, reports, known)
    check_attributions(problems, attributions, known)
    check_populations(problems, populations)
    check_destination_codes(problems, destinations)
    check_destination_aliases(problems, destinations)
    if metrics_document is not None:
        check_metric_defaults(problems, metrics_document, known)
    metric_table, citation_table = _metric_tables(problems, metrics, known)
    bulk = None
    if (seed_dir / BULK_METRICS).exists():
        # Validated by the load, in the pass that writes it (or by BulkMetrics.validate, for --check).
        bulk = bulk_metrics(seed_dir / BULK_METRICS, known, {row["id"] for row in metric_table})
    declarations = Declarations(**{key: _unpaired(pairs) for key, pairs in checks.items()})
    check_items: dict[str, LineDict] = {}
    for pairs in checks.values():
        for entry, item in pairs:
            check_items.setdefault(entry.id, item)
    periods_by_id = {entry.id: entry.model_dump() for entry, _ in periods}
    check_declarations(
        problems, declarations, check_items, metric_table, periods_by_id, _declared_metrics(metrics_document)
    )
    problems.raise_any()

    tables = seed_tables(
        _unpaired(sources),
        _unpaired(reports),
        _unpaired(attributions),
        _unpaired(periods),
        _unpaired(destinations),
        _unpaired(measures),
        _unpaired(populations),
        metric_table,
        citation_table,
    )
    return SeedDataset(tables, declarations, bulk)


def _unpaired(pairs: list[tuple[Any, LineDict]]) -> list[Any]:
    return [entry for entry, _ in pairs]


def _metric_tables(
    problems: Problems, metrics: list[tuple[entries.MetricEntry, LineDict]], known: Known
) -> tuple[list[Row], list[Row]]:
    """metrics.yaml's entries, references checked, as rows of `metrics` and `citations`."""
    metric_table: list[Row] = []
    citation_table: list[Row] = []
    for metric, item in metrics:
        citation_lines = [c.line if isinstance(c, LineDict) else item.line for c in item["citations"]]
        report_id, sources = check_metric(problems, "metrics.yaml", metric, known, item.line_of_key, citation_lines)
        metric_row, citation_rows = metric_rows(metric, report_id, sources)
        metric_table.append(metric_row)
        citation_table.extend(citation_rows)
    return metric_table, citation_table


def _declared_metrics(document: LineDict | None) -> set[str] | None:
    """The ids metrics.yaml declares, valid or not; None if it has no readable list of metrics."""
    raw = document.get("metrics") if document is not None else None
    if not isinstance(raw, list):
        return None
    return {str(metric.get("id")) for metric in raw if isinstance(metric, dict)}
