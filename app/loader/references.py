"""Rules across entries: every reference names an entry that exists, parents form no cycle, codes are
unique, and the declared checks (checks.yaml) name usable figures."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.checks.registry import Declarations
from app.checks.registry import problems as declaration_problems
from app.loader.documents import LineDict, line_of
from app.loader.entries import AttributionEntry, DestinationEntry, MetricEntry, PopulationEntry, ReportEntry
from app.loader.problems import Problems
from app.vocabulary import AttributionBasis, AttributionKind


@dataclass(frozen=True)
class Known:
    """The ids each kind of reference may name, and the defaults metrics.yaml sets for its entries."""

    reports: set[str]
    sources: set[str]
    measures: set[str]
    populations: set[str]
    destinations: set[str]
    periods: set[str]
    default_report: str | None = None
    default_source: str | None = None
    attributions: Mapping[str, AttributionKind] = dataclasses.field(default_factory=dict)
    """Each attribution's kind, by id."""
    period_dates: Mapping[str, str] = dataclasses.field(default_factory=dict)
    """Each period's `start_date/end_date`, by id (copied onto its metrics: `metrics.period_dates`)."""


def reference(
    problems: Problems,
    file: str,
    value: str | None,
    known: set[str],
    what: str,
    *,
    line: int | None,
    entry: str | None,
    field: str,
) -> None:
    if value is not None and value not in known:
        problems.add(file, f"unknown {what} {value!r}", line=line, entry=entry, field=field)


def check_reports(problems: Problems, reports: Sequence[tuple[ReportEntry, LineDict]], known: Known) -> None:
    for report, item in reports:
        for index, source_id in enumerate(report.sources):
            field = f"sources.{index}"
            line = item.line_of_key(field)
            reference(
                problems, "source.yaml", source_id, known.sources, "source", line=line, entry=report.id, field=field
            )


def check_attributions(
    problems: Problems, attributions: Sequence[tuple[AttributionEntry, LineDict]], known: Known
) -> None:
    for attribution, item in attributions:
        for key, ids in (("source", known.sources), ("report", known.reports)):
            value = getattr(attribution, key)
            line = item.line_of_key(key)
            reference(problems, "source.yaml", value, ids, key, line=line, entry=attribution.id, field=key)


def check_populations(problems: Problems, populations: Sequence[tuple[PopulationEntry, LineDict]]) -> None:
    parents = {population.id: population.part_of for population, _ in populations}
    for population, item in populations:
        line = item.line_of_key("part_of")
        reference(
            problems,
            "vocabulary.yaml",
            population.part_of,
            set(parents),
            "population",
            line=line,
            entry=population.id,
            field="part_of",
        )
        seen, node = {population.id}, population.part_of
        while node in parents:
            if node in seen:
                problems.add(
                    "vocabulary.yaml",
                    "part_of forms a cycle",
                    line=item.key_lines.get("part_of"),
                    entry=population.id,
                    field="part_of",
                )
                break
            seen.add(node)
            node = parents[node]


def check_destination_codes(problems: Problems, destinations: Sequence[tuple[DestinationEntry, LineDict]]) -> None:
    codes = Counter(destination.code for destination, _ in destinations if destination.code)
    for destination, item in destinations:
        if destination.code and codes[destination.code] > 1:
            problems.add(
                "destinations.yaml",
                f"code {destination.code} is used by more than one destination",
                line=item.key_lines.get("code"),
                entry=destination.id,
                field="code",
            )


def check_destination_aliases(problems: Problems, destinations: Sequence[tuple[DestinationEntry, LineDict]]) -> None:
    """An alias names one destination: no two share one (case-insensitively), and none repeats another's
    name, label or code (a name must resolve to one place, never by a guess)."""
    owners: dict[str, set[str]] = {}
    for destination, _ in destinations:
        for name in (destination.name, destination.label, destination.code or "", *destination.aliases):
            if name:
                owners.setdefault(name.casefold(), set()).add(destination.id)
    for destination, item in destinations:
        for alias in destination.aliases:
            others = owners[alias.casefold()] - {destination.id}
            if others:
                problems.add(
                    "destinations.yaml",
                    f"alias {alias!r} also names {', '.join(sorted(others))}",
                    line=item.key_lines.get("aliases"),
                    entry=destination.id,
                    field="aliases",
                )


def check_metric_defaults(problems: Problems, document: LineDict, known: Known) -> None:
    """metrics.yaml's top-level `report` and `source`, which entries fall back on."""
    for key, value, ids in (
        ("report", known.default_report, known.reports),
        ("source", known.default_source, known.sources),
    ):
        reference(problems, "metrics.yaml", value, ids, key, line=document.key_lines.get(key), entry=None, field=key)


def check_metric(
    problems: Problems,
    file: str,
    metric: MetricEntry,
    known: Known,
    line_of_field: Callable[[str], int | None],
    citation_lines: Sequence[int | None],
) -> tuple[str | None, list[str | None]]:
    """Check a metric's references; its report and the source of each citation (defaults applied)."""
    report_id = metric.report or known.default_report
    if report_id is None:
        problems.add(
            file,
            "no report given (set `report` on the entry or at the top of the file)",
            line=line_of_field(""),
            entry=metric.id,
            field="report",
        )
    for field, ids in (
        ("report", known.reports),
        ("measure", known.measures),
        ("population", known.populations),
        ("destination", known.destinations),
        ("period", known.periods),
    ):
        value = getattr(metric, field)
        reference(problems, file, value, ids, field, line=line_of_field(field), entry=metric.id, field=field)
    line = line_of_field("attributed_to")
    kind = known.attributions.get(metric.attributed_to)
    if kind is None:
        reason = f"unknown attribution {metric.attributed_to!r} (source.yaml's attributions)"
        problems.add(file, reason, line=line, entry=metric.id, field="attributed_to")
    elif (kind is AttributionKind.article) != (metric.attribution_basis is AttributionBasis.none):
        reason = (
            f"attribution_basis {metric.attribution_basis.value} does not fit {metric.attributed_to!r} "
            f"(a {kind.value}): basis none is for the article's own voice, and only for it"
        )
        problems.add(file, reason, line=line_of_field("attribution_basis"), entry=metric.id, field="attribution_basis")
    sources: list[str | None] = []
    for index, citation in enumerate(metric.citations):
        field = f"citations.{index}.source"
        line = citation_lines[index]
        if citation.source is None and known.default_source is None:
            reason = "no source given (set `source` on the citation or at the top of the file)"
            problems.add(file, reason, line=line, entry=metric.id, field=field)
        reference(problems, file, citation.source, known.sources, "source", line=line, entry=metric.id, field=field)
        sources.append(citation.source or known.default_source)
    return report_id, sources


def check_declarations(
    problems: Problems,
    declarations: Declarations,
    items: Mapping[str, LineDict],
    metric_rows: Sequence[Mapping[str, Any]],
    periods: Mapping[str, Mapping[str, Any]],
    declared_metrics: set[str] | None,
) -> None:
    """checks.yaml: every figure a check names exists and is usable, units agree, ids are unique.

    A figure with errors of its own (or an unreadable metrics.yaml: `declared_metrics` None) is not
    reported again from here."""
    if declared_metrics is None:
        return
    faulty = problems.in_file("metrics.yaml")
    usable = {row["id"]: row for row in metric_rows if row["id"] not in faulty}
    for problem in declaration_problems(declarations, usable, periods, declared_metrics - set(usable)):
        item = items.get(problem.check_id)
        problems.add(
            "checks.yaml",
            problem.reason,
            line=line_of(item, problem.loc) if item is not None else None,
            entry=problem.check_id,
            field=".".join(str(part) for part in problem.loc) or None,
        )
