"""metrics.jsonl: the optional bulk file beside metrics.yaml, one metric per line (the same fields, as JSON),
ids in increasing order. For generated data too large for YAML (bench/synthetic.py): streamed, validated
like metrics.yaml, and written in chunks. Checks (checks.yaml) may refer only to the figures of metrics.yaml."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from app.loader.documents import invalid_entry
from app.loader.entries import MetricEntry
from app.loader.problems import Problems, SeedError, SeedInvalid
from app.loader.references import Known, check_metric
from app.loader.rows import CITATION_COLUMNS, METRIC_COLUMNS, Row, metric_rows

BULK_METRICS = "metrics.jsonl"

Chunk = tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]


@dataclass(frozen=True)
class BulkMetrics:
    """metrics.jsonl, validated: where it is, its row counts, and a digest of the rows it gives (in file order,
    which is id order). `chunks()` reads it again and fails if it no longer gives the same rows."""

    path: Path
    metrics: int
    citations: int
    digest: str
    known: Known

    def chunks(self, size: int = 5000) -> Iterator[Chunk]:
        """(metric rows, citation rows) as tuples in METRIC_COLUMNS / CITATION_COLUMNS order; raises
        SeedInvalid at the end if the file changed since it was validated (the caller's transaction rolls back)."""
        problems = Problems()
        digest = hashlib.sha256()
        metrics: list[tuple[Any, ...]] = []
        citations: list[tuple[Any, ...]] = []
        for metric_row, cites in _valid_rows(problems, self.path, self.known, set()):
            _digest_rows(digest, metric_row, cites)
            metrics.append(tuple(metric_row[column] for column in METRIC_COLUMNS))
            citations.extend(tuple(cite[column] for column in CITATION_COLUMNS) for cite in cites)
            if len(metrics) >= size:
                yield metrics, citations
                metrics, citations = [], []
        if metrics:
            yield metrics, citations
        if problems or digest.hexdigest() != self.digest:
            raise SeedInvalid([*problems, SeedError(self.path.name, None, None, None, "changed while it was loaded")])


def read_bulk_metrics(problems: Problems, path: Path, known: Known, yaml_ids: set[str]) -> BulkMetrics:
    """Validate metrics.jsonl (its ids must not repeat metrics.yaml's); its counts and digest."""
    digest = hashlib.sha256()
    metrics = citations = 0
    for metric_row, cites in _valid_rows(problems, path, known, yaml_ids):
        _digest_rows(digest, metric_row, cites)
        metrics += 1
        citations += len(cites)
    return BulkMetrics(path, metrics, citations, digest.hexdigest(), known)


def _digest_rows(digest: Any, metric_row: Row, citations: list[Row]) -> None:
    digest.update(json.dumps([metric_row, citations], ensure_ascii=False).encode())
    digest.update(b"\n")


def _valid_rows(problems: Problems, path: Path, known: Known, yaml_ids: set[str]) -> Iterator[tuple[Row, list[Row]]]:
    """Each valid line's rows; every problem goes to `problems` with the file, line and entry."""
    name = path.name
    previous = ""
    with path.open("rb") as lines:
        for number, raw in enumerate(lines, start=1):
            if not raw.strip():
                continue
            before = len(problems)
            metric = _metric(problems, name, raw, number)
            if metric is None:
                continue
            if metric.id <= previous:
                problems.add(name, f"ids must increase line by line (after {previous!r})", line=number, entry=metric.id)
            elif metric.id in yaml_ids:
                problems.add(name, f"duplicate id {metric.id!r}: also in metrics.yaml", line=number, entry=metric.id)
            previous = max(previous, metric.id)
            report_id, sources = check_metric(
                problems, name, metric, known, partial(_same_line, number), [number] * len(metric.citations)
            )
            if len(problems) == before:
                yield metric_rows(metric, report_id, sources, known)


def _same_line(number: int, _field: str) -> int:
    return number


def _metric(problems: Problems, name: str, raw: bytes, number: int) -> MetricEntry | None:
    try:
        return MetricEntry.model_validate_json(raw)
    except ValidationError as exc:
        entry = _json_id(raw) or f"line {number}"
        return invalid_entry(problems, name, MetricEntry, raw, exc, entry, line=number)


def _json_id(raw: bytes) -> str | None:
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return str(value["id"]) if isinstance(value, dict) and "id" in value else None
