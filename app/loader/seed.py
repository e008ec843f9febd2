"""Read and validate the seed directory. Every problem is collected (file, entry, line, field,
reason) before anything is written; a dataset with any error is never loaded."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from app.checks.declarations import (
    SECTIONS,
    CoverageCheck,
    Declarations,
    RatioCheck,
    RestatementCheck,
    SubsetCheck,
    SumCheck,
    problems,
)
from app.loader.figures import FigureSyntaxError, parse_figure
from app.vocabulary import (
    CitationLocation,
    DestinationKind,
    MemberBasis,
    Membership,
    PeriodKind,
    Qualifier,
    Unit,
)

BULK_METRICS = "metrics.jsonl"
"""Optional, beside metrics.yaml: one metric per line (the same fields, as JSON), ids in increasing order.
For generated data too large for YAML (bench/synthetic.py); streamed, validated like metrics.yaml, and
written in chunks. Checks (checks.yaml) may refer only to the figures of metrics.yaml."""
METRIC_COLUMNS = (
    "id",
    "report_id",
    "measure",
    "population",
    "destination_id",
    "period_id",
    "unit",
    "value_text",
    "qualifier",
    "lower",
    "lower_inclusive",
    "upper",
    "upper_inclusive",
    "note",
)
CITATION_COLUMNS = ("id", "metric_id", "source_id", "position", "quote", "prefix", "suffix", "section", "location")

SEED_FILES = ("source.yaml", "vocabulary.yaml", "periods.yaml", "destinations.yaml", "metrics.yaml", "checks.yaml")

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=100)]
Text = Annotated[str, StringConstraints(min_length=1)]
CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]


@dataclass(frozen=True, order=True)
class SeedError:
    file: str
    line: int | None
    entry: str | None
    field: str | None
    reason: str

    def __str__(self) -> str:
        where = self.file + (f":{self.line}" if self.line else "")
        entry = f" entry {self.entry!r}" if self.entry else ""
        fld = f" field {self.field!r}" if self.field else ""
        return f"{where}:{entry}{fld}: {self.reason}"


class SeedInvalid(Exception):
    def __init__(self, errors: list[SeedError]) -> None:
        self.errors = sorted(set(errors), key=lambda e: (e.file, e.line or 0, e.entry or "", e.field or ""))
        super().__init__(f"{len(self.errors)} error(s) in the seed")


# --- YAML with line numbers ----------------------------------------------------------------


class LineDict(dict[str, Any]):
    """A YAML mapping that remembers its line and the line of each key (1-based)."""

    line: int | None = None
    key_lines: dict[str, int]


class _LineLoader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    result = LineDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in result:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[str(key)] = key_node.start_mark.line + 1
    return result


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


# --- entry schemas -------------------------------------------------------------------------


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceEntry(_Entry):
    id: Slug
    title: Text
    publisher: Text
    byline: Text | None = None
    url: Annotated[str, StringConstraints(pattern=r"^https?://\S+$")]
    published: dt.date
    updated: dt.date | None = None
    language: Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]+)*$")]


class ReportEntry(_Entry):
    id: Slug
    description: Text
    issuers: list[Text] = Field(min_length=1)
    recipients: list[Text] = Field(default_factory=list)
    issued_text: Text | None = None
    issued_start: dt.date | None = None
    issued_end: dt.date | None = None
    transmitted_text: Text | None = None
    transmitted_start: dt.date | None = None
    transmitted_end: dt.date | None = None
    transmitted_to: list[Text] = Field(default_factory=list)
    note: Text | None = None
    sources: list[Slug] = Field(min_length=1)
    quote: Text | None = None


class MeasureEntry(_Entry):
    id: Slug
    label: Text


class PopulationEntry(_Entry):
    id: Slug
    label: Text
    part_of: Slug | None = None


class PeriodEntry(_Entry):
    id: Slug
    label: Text
    kind: PeriodKind
    start_date: dt.date
    end_date: dt.date
    iso: Text


class MemberEntry(_Entry):
    code: CountryCode
    name: Text
    basis: MemberBasis


class DestinationEntry(_Entry):
    id: Slug
    name: Text
    label: Text
    kind: DestinationKind
    code: CountryCode | None = None
    membership: Membership | None = None
    note: Text | None = None
    members: list[MemberEntry] = Field(default_factory=list)


class CitationEntry(_Entry):
    quote: Text
    prefix: Text | None = None
    suffix: Text | None = None
    section: Text | None = None
    location: CitationLocation
    source: Slug | None = None


class MetricEntry(_Entry):
    id: Slug
    report: Slug | None = None
    measure: Slug
    population: Slug
    destination: Slug | None
    period: Slug | None
    unit: Unit
    value_text: Text
    qualifier: Qualifier
    lower: int | None
    lower_inclusive: bool | None
    upper: int | None
    upper_inclusive: bool | None
    note: Text | None = None
    citations: list[CitationEntry] = Field(min_length=1)


# --- the validated dataset -----------------------------------------------------------------


@dataclass
class SeedDataset:
    """The whole seed, validated, as rows per table (column name -> value), parents first, and the
    consistency checks it declares (computed into rows by the loader)."""

    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    checks: Declarations = field(default_factory=Declarations)
    bulk: BulkMetrics | None = None


E = TypeVar("E", bound=BaseModel)


@dataclass
class _Reader:
    seed_dir: Path
    errors: list[SeedError] = field(default_factory=list)

    def error(
        self, file: str, reason: str, *, line: int | None = None, entry: str | None = None, field: str | None = None
    ) -> None:
        self.errors.append(SeedError(file, line, entry, field, reason))

    def read(self, name: str) -> LineDict | None:
        path = self.seed_dir / name
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            self.error(name, "file not found")
            return None
        except UnicodeDecodeError as exc:
            self.error(name, f"not UTF-8: {exc.reason} at byte {exc.start}")
            return None
        try:
            document = yaml.load(text, Loader=_LineLoader)  # noqa: S506 - SafeLoader subclass
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            problem = getattr(exc, "problem", None) or str(exc)
            self.error(name, f"invalid YAML: {problem}", line=mark.line + 1 if mark else None)
            return None
        if not isinstance(document, LineDict):
            self.error(name, "the file must be a mapping of section names to lists")
            return None
        return document

    def entries(
        self, name: str, document: LineDict | None, key: str, model: type[E], allowed_keys: set[str]
    ) -> list[tuple[E, LineDict]]:
        if document is None:
            return []
        for unknown in sorted(set(document) - allowed_keys):
            self.error(
                name,
                f"unknown section {unknown!r} (expected one of {sorted(allowed_keys)})",
                line=document.key_lines.get(str(unknown)),
                field=str(unknown),
            )
        raw = document.get(key)
        if raw is None:
            self.error(name, f"missing section {key!r}", field=key)
            return []
        if not isinstance(raw, list):
            self.error(name, f"section {key!r} must be a list", line=document.key_lines.get(key), field=key)
            return []
        out: list[tuple[E, LineDict]] = []
        for index, item in enumerate(raw):
            if not isinstance(item, LineDict):
                self.error(name, f"{key}[{index}] must be a mapping", line=document.key_lines.get(key))
                continue
            entry_id = str(item.get("id")) if item.get("id") is not None else f"{key}[{index}]"
            try:
                out.append((model.model_validate(item), item))
            except ValidationError as exc:
                for err in exc.errors():
                    loc = [str(p) for p in err["loc"]]
                    self.error(
                        name, err["msg"], line=_line_of(item, err["loc"]), entry=entry_id, field=".".join(loc) or None
                    )
        seen = Counter(getattr(entry, "id", None) for entry, _ in out)
        for entry, item in out:
            dup = getattr(entry, "id", None)
            if dup is not None and seen[dup] > 1:
                self.error(name, f"duplicate id {dup!r} in {key!r}", line=item.line, entry=dup, field="id")
        return out


def _line_of(item: Any, loc: tuple[int | str, ...]) -> int | None:
    """The line of the deepest mapping key on the error's path that the YAML recorded."""
    line = item.line if isinstance(item, LineDict) else None
    node = item
    for part in loc:
        if isinstance(node, LineDict):
            line = node.key_lines.get(str(part), line)
            node = node.get(str(part)) if isinstance(part, str) else None
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
            if isinstance(node, LineDict):
                line = node.line
        else:
            break
    return line


def read_seed(seed_dir: Path) -> SeedDataset:
    """Validate the seed directory; raise SeedInvalid listing every problem found."""
    r = _Reader(seed_dir)
    src_doc = r.read("source.yaml")
    voc_doc = r.read("vocabulary.yaml")
    per_doc = r.read("periods.yaml")
    dst_doc = r.read("destinations.yaml")
    met_doc = r.read("metrics.yaml")
    chk_doc = r.read("checks.yaml")

    sources = r.entries("source.yaml", src_doc, "sources", SourceEntry, {"sources", "reports"})
    reports = r.entries("source.yaml", src_doc, "reports", ReportEntry, {"sources", "reports"})
    measures = r.entries("vocabulary.yaml", voc_doc, "measures", MeasureEntry, {"measures", "populations"})
    populations = r.entries("vocabulary.yaml", voc_doc, "populations", PopulationEntry, {"measures", "populations"})
    periods = r.entries("periods.yaml", per_doc, "periods", PeriodEntry, {"periods"})
    destinations = r.entries("destinations.yaml", dst_doc, "destinations", DestinationEntry, {"destinations"})
    metric_keys = {"metrics", "report", "source"}
    metrics = r.entries("metrics.yaml", met_doc, "metrics", MetricEntry, metric_keys)
    check_keys = set(SECTIONS)
    sum_checks = r.entries("checks.yaml", chk_doc, "sums", SumCheck, check_keys)
    subset_checks = r.entries("checks.yaml", chk_doc, "subsets", SubsetCheck, check_keys)
    ratio_checks = r.entries("checks.yaml", chk_doc, "ratios", RatioCheck, check_keys)
    coverage_checks = r.entries("checks.yaml", chk_doc, "coverage", CoverageCheck, check_keys)
    restatement_checks = r.entries("checks.yaml", chk_doc, "restatements", RestatementCheck, check_keys)

    source_ids = {e.id for e, _ in sources}
    report_ids = {e.id for e, _ in reports}
    measure_ids = {e.id for e, _ in measures}
    population_ids = {e.id for e, _ in populations}
    period_ids = {e.id for e, _ in periods}
    destination_ids = {e.id for e, _ in destinations}

    def ref(file: str, item: LineDict, entry: str, fld: str, value: str | None, known: set[str], what: str) -> None:
        if value is not None and value not in known:
            r.error(
                file,
                f"unknown {what} {value!r}",
                line=item.key_lines.get(fld.split(".")[0], item.line),
                entry=entry,
                field=fld,
            )

    # source.yaml
    for report, item in reports:
        for i, source_id in enumerate(report.sources):
            ref("source.yaml", item, report.id, f"sources.{i}", source_id, source_ids, "source")
        for label, start, end in (
            ("issued", report.issued_start, report.issued_end),
            ("transmitted", report.transmitted_start, report.transmitted_end),
        ):
            if start and end and start > end:
                r.error(
                    "source.yaml",
                    f"{label}_start {start} is after {label}_end {end}",
                    line=item.key_lines.get(f"{label}_start"),
                    entry=report.id,
                    field=f"{label}_start",
                )

    # vocabulary.yaml
    parents = {e.id: e.part_of for e, _ in populations}
    for population, item in populations:
        ref("vocabulary.yaml", item, population.id, "part_of", population.part_of, population_ids, "population")
        seen, node = {population.id}, population.part_of
        while node in parents:
            if node in seen:
                r.error(
                    "vocabulary.yaml",
                    "part_of forms a cycle",
                    line=item.key_lines.get("part_of"),
                    entry=population.id,
                    field="part_of",
                )
                break
            seen.add(node)
            node = parents[node]

    # periods.yaml
    for period, item in periods:
        if period.start_date > period.end_date:
            r.error(
                "periods.yaml",
                f"start_date {period.start_date} is after end_date {period.end_date}",
                line=item.key_lines.get("start_date"),
                entry=period.id,
                field="start_date",
            )
        if period.kind is PeriodKind.instant and period.start_date != period.end_date:
            r.error(
                "periods.yaml",
                "an instant must have start_date == end_date",
                line=item.key_lines.get("end_date"),
                entry=period.id,
                field="end_date",
            )
        expected_iso = (
            period.end_date.isoformat()
            if period.kind is PeriodKind.instant
            else _iso_interval(period.start_date, period.end_date)
        )
        if period.iso != expected_iso:
            r.error(
                "periods.yaml",
                f"iso {period.iso!r} does not match the dates (expected {expected_iso!r})",
                line=item.key_lines.get("iso"),
                entry=period.id,
                field="iso",
            )

    # destinations.yaml
    for dest, item in destinations:
        is_place = dest.kind in (DestinationKind.country, DestinationKind.territory)
        if is_place and dest.code is None:
            r.error(
                "destinations.yaml",
                f"a {dest.kind.value} needs an ISO 3166-1 code",
                line=item.line,
                entry=dest.id,
                field="code",
            )
        if not is_place and dest.code is not None:
            r.error(
                "destinations.yaml",
                f"a {dest.kind.value} has members, not a code",
                line=item.key_lines.get("code"),
                entry=dest.id,
                field="code",
            )
        if is_place and (dest.members or dest.membership):
            r.error(
                "destinations.yaml",
                f"a {dest.kind.value} cannot have members",
                line=item.key_lines.get("members", item.line),
                entry=dest.id,
                field="members",
            )
        if not is_place and dest.membership is None:
            r.error(
                "destinations.yaml",
                "a group needs membership: closed or open",
                line=item.line,
                entry=dest.id,
                field="membership",
            )
        if dest.membership is Membership.closed and not dest.members:
            r.error(
                "destinations.yaml",
                "a closed group needs at least one member",
                line=item.line,
                entry=dest.id,
                field="members",
            )
        codes = Counter(m.code for m in dest.members)
        for code, n in codes.items():
            if n > 1:
                r.error(
                    "destinations.yaml",
                    f"member {code} listed {n} times",
                    line=item.key_lines.get("members"),
                    entry=dest.id,
                    field="members",
                )
    codes_seen = Counter(e.code for e, _ in destinations if e.code)
    for dest, item in destinations:
        if dest.code and codes_seen[dest.code] > 1:
            r.error(
                "destinations.yaml",
                f"code {dest.code} is used by more than one destination",
                line=item.key_lines.get("code"),
                entry=dest.id,
                field="code",
            )

    # metrics.yaml
    default_report = met_doc.get("report") if met_doc else None
    default_source = met_doc.get("source") if met_doc else None
    if met_doc is not None:
        for key, value, known, what in (
            ("report", default_report, report_ids, "report"),
            ("source", default_source, source_ids, "source"),
        ):
            if value is not None and value not in known:
                r.error("metrics.yaml", f"unknown {what} {value!r}", line=met_doc.key_lines.get(key), field=key)
    metric_rows: list[dict[str, Any]] = []
    citation_rows: list[dict[str, Any]] = []
    refs = _MetricRefs(
        default_report, default_source, report_ids, source_ids, measure_ids, population_ids, destination_ids, period_ids
    )
    for metric, item in metrics:
        citation_lines = [c.line if isinstance(c, LineDict) else item.line for c in item["citations"]]
        metric_row, cites = _metric_rows(r, "metrics.yaml", metric, refs, partial(_yaml_line, item), citation_lines)
        metric_rows.append(metric_row)
        citation_rows.extend(cites)

    bulk = None
    if (seed_dir / BULK_METRICS).exists():
        bulk = _read_bulk_metrics(r, seed_dir / BULK_METRICS, refs, {row["id"] for row in metric_rows})

    # checks.yaml: every referenced figure exists, units agree, ids are unique
    declarations = Declarations(
        sums=[e for e, _ in sum_checks],
        subsets=[e for e, _ in subset_checks],
        ratios=[e for e, _ in ratio_checks],
        coverage=[e for e, _ in coverage_checks],
        restatements=[e for e, _ in restatement_checks],
    )
    check_items: dict[str, LineDict] = {}
    for entry, item in [*sum_checks, *subset_checks, *ratio_checks, *coverage_checks, *restatement_checks]:
        check_items.setdefault(entry.id, item)
    # A figure with errors of its own (or an unreadable metrics.yaml) is not reported again from here.
    raw_metrics = met_doc.get("metrics") if met_doc is not None else None
    declared = (
        {str(m.get("id")) for m in raw_metrics if isinstance(m, dict)} if isinstance(raw_metrics, list) else set()
    )
    faulty = {e.entry for e in r.errors if e.file == "metrics.yaml" and e.entry is not None}
    usable = {row["id"]: row for row in metric_rows if row["id"] not in faulty}
    found = (
        problems(declarations, usable, {e.id: e.model_dump() for e, _ in periods}, declared - set(usable))
        if isinstance(raw_metrics, list)
        else []
    )
    for check_problem in found:
        check_item = check_items.get(check_problem.check_id)
        r.error(
            "checks.yaml",
            check_problem.reason,
            line=_line_of(check_item, check_problem.loc) if check_item is not None else None,
            entry=check_problem.check_id,
            field=".".join(str(p) for p in check_problem.loc) or None,
        )

    if r.errors:
        raise SeedInvalid(r.errors)

    tables: dict[str, list[dict[str, Any]]] = {
        "sources": [e.model_dump() for e, _ in sources],
        "reports": [e.model_dump(exclude={"sources"}) for e, _ in reports],
        "report_sources": [{"report_id": e.id, "source_id": s} for e, _ in reports for s in e.sources],
        "periods": [{**e.model_dump(), "kind": e.kind.value} for e, _ in periods],
        "destinations": [
            {
                **e.model_dump(exclude={"members"}),
                "kind": e.kind.value,
                "membership": e.membership.value if e.membership else None,
            }
            for e, _ in destinations
        ],
        "destination_members": [
            {"group_id": e.id, "code": m.code, "name": m.name, "basis": m.basis.value, "position": i + 1}
            for e, _ in destinations
            for i, m in enumerate(e.members)
        ],
        "measures": [e.model_dump() for e, _ in measures],
        "populations": _parents_first([e.model_dump() for e, _ in populations]),
        "metrics": metric_rows,
        "citations": citation_rows,
    }
    return SeedDataset(tables, declarations, bulk)


def _iso_interval(start: dt.date, end: dt.date) -> str:
    if (start.month, start.day, end.month, end.day) == (1, 1, 12, 31):
        return f"{start.year}/{end.year}"
    return f"{start.isoformat()}/{end.isoformat()}"


_BoundField = Literal["lower", "lower_inclusive", "upper", "upper_inclusive", "qualifier", "value_text", "unit"]


def _bound_problems(m: MetricEntry) -> list[tuple[str, _BoundField]]:
    """Everything wrong with a metric's bounds: against each other, the qualifier, and its printed text."""
    problems: list[tuple[str, _BoundField]] = []
    if m.lower is not None and m.upper is not None and m.lower > m.upper:
        problems.append((f"lower {m.lower} is greater than upper {m.upper}", "lower"))
    for side in ("lower", "upper"):
        bound, flag = getattr(m, side), getattr(m, f"{side}_inclusive")
        if (bound is None) != (flag is None):
            problems.append(
                (
                    f"{side}_inclusive must be set exactly when {side} is (open bound = null)",
                    "lower_inclusive" if side == "lower" else "upper_inclusive",
                )
            )
    q = m.qualifier
    if q in (Qualifier.more_than, Qualifier.at_least) and m.upper is not None:
        problems.append((f"{q.value} states no upper bound, but upper is {m.upper}", "upper"))
    if q in (Qualifier.more_than, Qualifier.at_least) and m.lower is None:
        problems.append((f"{q.value} needs a lower bound", "lower"))
    if q is Qualifier.between and (m.lower is None or m.upper is None):
        problems.append(("between needs both a lower and an upper bound", "lower" if m.lower is None else "upper"))
    if q in (Qualifier.exact, Qualifier.approximately) and (m.lower is None or m.lower != m.upper):
        problems.append((f"{q.value} needs lower == upper", "upper"))
    try:
        stated = parse_figure(m.value_text)
    except FigureSyntaxError as exc:
        problems.append((str(exc), "value_text"))
        return problems
    if stated.qualifier is not q:
        problems.append((f"value_text {m.value_text!r} reads as {stated.qualifier.value}, not {q.value}", "qualifier"))
    for side in ("lower", "lower_inclusive", "upper", "upper_inclusive"):
        expected, actual = getattr(stated, side), getattr(m, side)
        if expected != actual:
            problems.append((f"value_text {m.value_text!r} gives {side} = {_fmt(expected)}, not {_fmt(actual)}", side))  # type: ignore[arg-type]
    if (stated.currency == "USD") != (m.unit is Unit.USD):
        problems.append((f"value_text {m.value_text!r} does not match unit {m.unit.value!r}", "unit"))
    return problems


def _fmt(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _parents_first(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_id = {row["id"]: row for row in rows}
    ordered: list[dict[str, Any]] = []
    done: set[str] = set()

    def visit(row: dict[str, Any]) -> None:
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


@dataclass(frozen=True)
class _MetricRefs:
    default_report: str | None
    default_source: str | None
    reports: set[str]
    sources: set[str]
    measures: set[str]
    populations: set[str]
    destinations: set[str]
    periods: set[str]


def _metric_rows(
    r: _Reader,
    f: str,
    metric: MetricEntry,
    refs: _MetricRefs,
    line_of: Callable[[str], int | None],
    citation_lines: Sequence[int | None],
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Check one metric entry (references, bounds against its words, citations quoting the figure); its rows."""

    def ref(fld: str, value: str | None, known: set[str], what: str) -> None:
        if value is not None and value not in known:
            r.error(f, f"unknown {what} {value!r}", line=line_of(fld), entry=metric.id, field=fld)

    report_id: str | None = metric.report or refs.default_report
    if report_id is None:
        r.error(
            f,
            "no report given (set `report` on the entry or at the top of the file)",
            line=line_of(""),
            entry=metric.id,
            field="report",
        )
    ref("report", metric.report, refs.reports, "report")
    ref("measure", metric.measure, refs.measures, "measure")
    ref("population", metric.population, refs.populations, "population")
    ref("destination", metric.destination, refs.destinations, "destination")
    ref("period", metric.period, refs.periods, "period")
    for problem, fld in _bound_problems(metric):
        r.error(f, problem, line=line_of(fld), entry=metric.id, field=fld)
    citation_rows: list[dict[str, Any]] = []
    for i, citation in enumerate(metric.citations):
        cline = citation_lines[i]
        cited: str | None = citation.source or refs.default_source
        if cited is None:
            r.error(
                f,
                "no source given (set `source` on the citation or at the top of the file)",
                line=cline,
                entry=metric.id,
                field=f"citations.{i}.source",
            )
        elif citation.source is not None and citation.source not in refs.sources:
            r.error(
                f, f"unknown source {citation.source!r}", line=cline, entry=metric.id, field=f"citations.{i}.source"
            )
        if metric.value_text not in citation.quote:
            r.error(
                f,
                f"quote does not contain the figure as written ({metric.value_text!r})",
                line=cline,
                entry=metric.id,
                field=f"citations.{i}.quote",
            )
        citation_rows.append(
            {
                "id": f"{metric.id}.{i + 1}",
                "metric_id": metric.id,
                "source_id": cited,
                "position": i + 1,
                "quote": citation.quote,
                "prefix": citation.prefix,
                "suffix": citation.suffix,
                "section": citation.section,
                "location": citation.location.value,
            }
        )
    metric_row = {
        "id": metric.id,
        "report_id": report_id,
        "measure": metric.measure,
        "population": metric.population,
        "destination_id": metric.destination,
        "period_id": metric.period,
        "unit": metric.unit.value,
        "value_text": metric.value_text,
        "qualifier": metric.qualifier.value,
        "lower": metric.lower,
        "lower_inclusive": metric.lower_inclusive,
        "upper": metric.upper,
        "upper_inclusive": metric.upper_inclusive,
        "note": metric.note,
    }
    return metric_row, citation_rows


@dataclass(frozen=True)
class BulkMetrics:
    """metrics.jsonl, validated: where it is, its row counts, and a digest of the rows it gives (in file order,
    which is id order). `rows()` reads it again, in chunks, and fails if it no longer gives the same rows."""

    path: Path
    metrics: int
    citations: int
    digest: str
    refs: _MetricRefs

    def chunks(self, size: int = 5000) -> Iterator[tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]]:
        """(metric rows, citation rows) as tuples in METRIC_COLUMNS / CITATION_COLUMNS order; raises
        SeedInvalid at the end if the file changed since it was validated (the caller's transaction rolls back)."""
        r = _Reader(self.path.parent)
        digest = hashlib.sha256()
        metrics: list[tuple[Any, ...]] = []
        citations: list[tuple[Any, ...]] = []
        for metric_row, cites in _bulk_entries(r, self.path, self.refs, set()):
            _digest_rows(digest, metric_row, cites)
            metrics.append(tuple(metric_row[c] for c in METRIC_COLUMNS))
            citations.extend(tuple(c[k] for k in CITATION_COLUMNS) for c in cites)
            if len(metrics) >= size:
                yield metrics, citations
                metrics, citations = [], []
        if metrics:
            yield metrics, citations
        if r.errors or digest.hexdigest() != self.digest:
            raise SeedInvalid([*r.errors, SeedError(self.path.name, None, None, None, "changed while it was loaded")])


def _yaml_line(item: LineDict, fld: str) -> int | None:
    return item.key_lines.get(fld.split(".")[0], item.line)


def _same_line(number: int, _fld: str) -> int | None:
    return number


def _digest_rows(digest: Any, metric_row: dict[str, Any], citations: list[dict[str, Any]]) -> None:
    digest.update(json.dumps([metric_row, citations], ensure_ascii=False).encode())
    digest.update(b"\n")


def _bulk_entries(
    r: _Reader, path: Path, refs: _MetricRefs, yaml_ids: set[str]
) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Each valid line's rows; every problem goes to `r` with the file, line and entry."""
    name = path.name
    previous = ""
    with path.open("rb") as lines:
        for number, raw in enumerate(lines, start=1):
            if not raw.strip():
                continue
            try:
                metric = MetricEntry.model_validate_json(raw)
            except ValidationError as exc:
                entry = _json_id(raw) or f"line {number}"
                for err in exc.errors():
                    loc = ".".join(str(p) for p in err["loc"]) or None
                    r.error(name, err["msg"], line=number, entry=entry, field=loc)
                continue
            if metric.id <= previous:
                r.error(name, f"ids must increase line by line (after {previous!r})", line=number, entry=metric.id)
            elif metric.id in yaml_ids:
                r.error(name, f"duplicate id {metric.id!r}: also in metrics.yaml", line=number, entry=metric.id)
            previous = max(previous, metric.id)
            before = len(r.errors)
            rows = _metric_rows(r, name, metric, refs, partial(_same_line, number), [number] * len(metric.citations))
            if len(r.errors) == before:
                yield rows


def _json_id(raw: bytes) -> str | None:
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return str(value["id"]) if isinstance(value, dict) and "id" in value else None


def _read_bulk_metrics(r: _Reader, path: Path, refs: _MetricRefs, yaml_ids: set[str]) -> BulkMetrics:
    digest = hashlib.sha256()
    metrics = citations = 0
    for metric_row, cites in _bulk_entries(r, path, refs, yaml_ids):
        _digest_rows(digest, metric_row, cites)
        metrics += 1
        citations += len(cites)
    return BulkMetrics(path, metrics, citations, digest.hexdigest(), refs)
