"""metrics.jsonl: the optional bulk file beside metrics.yaml, one metric per line (the same fields, as JSON),
ids in increasing order. For generated data too large for YAML (bench/synthetic.py): read once, inside the load's
transaction, a chunk of lines at a time, each chunk validated like metrics.yaml and turned into the rows it writes
(stored representations included) by a worker process while the loader writes the chunk before it. Any bad line
fails the load: every problem is reported (file, line, entry, reason) and nothing is written. Checks
(checks.yaml) may refer only to the figures of metrics.yaml."""

from __future__ import annotations

import hashlib
import json
import os
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from app.loader.documents import invalid_entry
from app.loader.entries import MetricEntry
from app.loader.problems import Problems, SeedError, SeedInvalid
from app.loader.references import Known, check_metric
from app.loader.representations import Joined, StoredRow
from app.loader.rows import CITATION_COLUMNS, METRIC_COLUMNS, metric_rows

BULK_METRICS = "metrics.jsonl"
CHUNK_LINES = 2000
IN_FLIGHT = 2
"""Chunks handed to the worker ahead of the one being written: enough to keep it busy, few enough to bound memory."""


@dataclass(frozen=True)
class BulkMetrics:
    """metrics.jsonl as found before the load: where it is, a digest of its bytes (the dataset signature's part
    for it), and what its entries may refer to. Validated by the load itself (`read`), or by `validate`."""

    path: Path
    digest: str
    known: Known
    yaml_ids: frozenset[str]

    def read(self, joined: Joined | None, workers: int | None = None) -> Iterator[ReadChunk]:
        """Each chunk's rows, in file order; at the end, SeedInvalid listing every problem of the file (and none
        is yielded after the first problem: the caller's transaction rolls back). `joined`: render stored rows."""
        context = _Context(self.path.name, self.known, self.yaml_ids, joined)
        problems = Problems()
        digest = hashlib.sha256()
        previous = ""
        for chunk in _read_chunks(context, _line_chunks(self.path, digest), _workers(workers)):
            if chunk.first is not None and chunk.first[1] <= previous:
                line, entry = chunk.first
                problems.add(
                    context.name, f"ids must increase line by line (after {previous!r})", line=line, entry=entry
                )
            previous = max(previous, chunk.last)
            problems.extend(chunk.problems)
            if not problems:
                yield chunk
        if digest.hexdigest() != self.digest:
            problems.add(context.name, "changed while it was loaded")
        problems.raise_any()

    def validate(self) -> tuple[int, int]:
        """Validate the whole file, writing nothing: (metrics, citations), or SeedInvalid."""
        metrics = citations = 0
        for chunk in self.read(None):
            metrics += chunk.metric_count
            citations += len(chunk.citations)
        return metrics, citations


def bulk_metrics(path: Path, known: Known, yaml_ids: set[str]) -> BulkMetrics:
    digest = hashlib.sha256()
    with path.open("rb") as data:
        while block := data.read(1 << 20):
            digest.update(block)
    return BulkMetrics(path, digest.hexdigest(), known, frozenset(yaml_ids))


@dataclass
class ReadChunk:
    """What a chunk of lines gives: rows as tuples in METRIC_COLUMNS / CITATION_COLUMNS order, stored rows (when
    rendered), its problems, and the (line, id) of its first metric and its greatest id (order across chunks)."""

    metrics: list[tuple[Any, ...]] = field(default_factory=list)
    citations: list[tuple[Any, ...]] = field(default_factory=list)
    stored: list[StoredRow] = field(default_factory=list)
    problems: list[SeedError] = field(default_factory=list)
    first: tuple[int, str] | None = None
    last: str = ""
    metric_count: int = 0


@dataclass(frozen=True)
class _Context:
    name: str
    known: Known
    yaml_ids: frozenset[str]
    joined: Joined | None


def read_chunk(context: _Context, first_line: int, lines: list[bytes]) -> ReadChunk:
    """Validate a chunk of lines (the first is line `first_line`) into the rows it writes."""
    out = ReadChunk()
    problems = Problems()
    name, known = context.name, context.known
    previous = ""
    for number, raw in enumerate(lines, start=first_line):
        if not raw.strip():
            continue
        before = len(problems)
        metric = _metric(problems, name, raw, number)
        if metric is None:
            continue
        if out.first is None:
            out.first = (number, metric.id)
        if previous and metric.id <= previous:
            problems.add(name, f"ids must increase line by line (after {previous!r})", line=number, entry=metric.id)
        elif metric.id in context.yaml_ids:
            problems.add(name, f"duplicate id {metric.id!r}: also in metrics.yaml", line=number, entry=metric.id)
        previous = max(previous, metric.id)
        report_id, sources = check_metric(
            problems, name, metric, known, partial(_same_line, number), [number] * len(metric.citations)
        )
        if len(problems) != before or problems:
            continue
        metric_row, citation_rows = metric_rows(metric, report_id, sources)
        out.metrics.append(tuple(metric_row[column] for column in METRIC_COLUMNS))
        out.citations.extend(tuple(cite[column] for column in CITATION_COLUMNS) for cite in citation_rows)
        if context.joined is not None:
            out.stored.append(context.joined.stored(metric_row, citation_rows))
    out.last = previous
    out.problems = list(problems)
    out.metric_count = len(out.metrics)
    return out


def _line_chunks(path: Path, digest: Any) -> Iterator[tuple[int, list[bytes]]]:
    """(first line number, lines) of at most CHUNK_LINES lines; every byte read goes into `digest`."""
    with path.open("rb") as data:
        first, lines = 1, []
        for raw in data:
            digest.update(raw)
            lines.append(raw)
            if len(lines) == CHUNK_LINES:
                yield first, lines
                first, lines = first + len(lines), []
        if lines:
            yield first, lines


def _workers(requested: int | None) -> int:
    """Worker processes: one per core when there are several (validating and rendering a line costs more than
    writing it: the loader mostly waits), none otherwise. LOADER_WORKERS overrides (0: all in the loader's own
    process)."""
    if requested is not None:
        return requested
    if "LOADER_WORKERS" in os.environ:
        return int(os.environ["LOADER_WORKERS"])
    cores = os.cpu_count() or 1
    return cores if cores > 1 else 0


_worker_context: _Context | None = None


def _start_worker(context: _Context) -> None:
    global _worker_context
    _worker_context = context


def _read_in_worker(first_line: int, lines: list[bytes]) -> ReadChunk:
    assert _worker_context is not None
    return read_chunk(_worker_context, first_line, lines)


def _read_chunks(context: _Context, chunks: Iterator[tuple[int, list[bytes]]], workers: int) -> Iterator[ReadChunk]:
    """read_chunk over every chunk, in order: here, or in `workers` forked processes (a few chunks ahead). A
    worker that dies fails the load (BrokenProcessPool)."""
    if workers <= 0:
        for first_line, lines in chunks:
            yield read_chunk(context, first_line, lines)
        return
    start: Callable[..., None] = _start_worker
    with ProcessPoolExecutor(workers, mp_context=get_context("fork"), initializer=start, initargs=(context,)) as pool:
        pending: deque[Future[ReadChunk]] = deque()
        try:
            for first_line, lines in chunks:
                pending.append(pool.submit(_read_in_worker, first_line, lines))
                if len(pending) > IN_FLIGHT * workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()


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


__all__ = ["BULK_METRICS", "BulkMetrics", "ReadChunk", "SeedInvalid", "bulk_metrics", "read_chunk"]
