"""Write a validated dataset in one transaction: rows are diffed against what is stored, so a second
load of the same seed changes nothing, and a crash at any point leaves the old data or the new."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, Table, and_, delete, inspect, select, update

from app.checks import Audit, compute
from app.loader import counts as value_counts
from app.loader import postgres_swap, representations
from app.loader.bulk_write import write_bulk
from app.loader.seed import SeedDataset
from app.migrations import head_revision
from app.models import metadata

# Parents before children: inserts run in this order, deletes in reverse.
TABLE_ORDER = (
    "sources",
    "reports",
    "report_sources",
    "attributions",
    "periods",
    "destinations",
    "destination_members",
    "destination_aliases",
    "measures",
    "populations",
    "metrics",
    "citations",
    # the consistency audit, computed from the seed's declarations on every load (app/checks)
    "checks",
    "check_metrics",
)


class SchemaNotReady(RuntimeError):
    pass


@dataclass
class TableChange:
    total: int = 0
    added: int = 0
    changed: int = 0
    removed: int = 0

    @property
    def touched(self) -> bool:
        return bool(self.added or self.changed or self.removed)


@dataclass
class LoadResult:
    signature: str
    changes: dict[str, TableChange] = field(default_factory=dict)
    audit: Audit = field(default_factory=Audit)

    @property
    def changed(self) -> bool:
        return any(c.touched for c in self.changes.values())

    def summary(self) -> str:
        width = max(len(name) for name in self.changes)
        lines = [f"{'table'.ljust(width)}  {'rows':>6}  {'added':>6}  {'changed':>7}  {'removed':>7}"]
        for name, c in self.changes.items():
            lines.append(f"{name.ljust(width)}  {c.total:>6}  {c.added:>6}  {c.changed:>7}  {c.removed:>7}")
        verdict = (
            "loaded; dataset signature "
            if self.changed
            else "no changes: the database already holds this dataset; signature "
        )
        lines.append(verdict + self.signature[:16])
        lines.append(self.audit.summary())
        return "\n".join(lines)


def _canonical(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def audit_of(dataset: SeedDataset) -> Audit:
    """The consistency checks the dataset declares, computed from its figures."""
    return compute(dataset.checks, dataset.tables)


def rows_of(dataset: SeedDataset, audit: Audit | None = None) -> dict[str, list[dict[str, Any]]]:
    """Every table the load writes: the seed's rows and the audit's."""
    return {**dataset.tables, **(audit or audit_of(dataset)).tables()}


def signature_of(dataset: SeedDataset, audit: Audit | None = None) -> str:
    """SHA-256 over every row of every table (the audit included), independent of row order."""
    tables = rows_of(dataset, audit)
    digest = hashlib.sha256()
    for name in TABLE_ORDER:
        rows = sorted(
            json.dumps({k: _canonical(v) for k, v in row.items()}, sort_keys=True, ensure_ascii=False)
            for row in tables[name]
        )
        digest.update(json.dumps([name, rows], ensure_ascii=False).encode())
    if dataset.bulk is not None:
        # metrics.jsonl: its bytes (validated as they are loaded; a changed figure changes them).
        digest.update(f"bulk:{dataset.bulk.digest}".encode())
    return digest.hexdigest()


def row_counts(rows: dict[str, list[dict[str, Any]]]) -> dict[str, int]:
    """Rows per table; metrics.jsonl's are added as the load writes them."""
    return {name: len(rows[name]) for name in TABLE_ORDER}


BULK_TABLES = ("check_metrics", "citations", "metrics")
"""Emptied, then written in full, when the dataset has a metrics.jsonl (children first)."""


def _pk(table: Table, row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(row[c.name] for c in table.primary_key.columns)


def _same(table: Table, stored: dict[str, Any], new: dict[str, Any]) -> bool:
    return all(_canonical(stored.get(c.name)) == _canonical(new.get(c.name)) for c in table.columns)


def check_schema(conn: Connection) -> None:
    if "alembic_version" not in inspect(conn).get_table_names():
        raise SchemaNotReady("the database has no schema: run `cadre-data migrate` first")
    current = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    if current != head_revision():
        raise SchemaNotReady(
            f"the schema is at revision {current}, not the head {head_revision()}: run `cadre-data migrate` first"
        )


def load(
    engine: Engine,
    dataset: SeedDataset,
    *,
    after_table: Callable[[str], None] | None = None,
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
) -> LoadResult:
    """Make the database hold exactly `dataset`, in one transaction.

    `after_table` is called inside the transaction after each table is written (tests use it to
    inject a failure mid-load and show that nothing of the partial load remains), and after "swap" where the
    bulk tables were swapped in (app.loader.postgres_swap).
    """
    audit = audit_of(dataset)  # computed before the transaction: nothing is written if it raises
    rows = rows_of(dataset, audit)
    signature = signature_of(dataset, audit)
    result = LoadResult(signature, audit=audit)
    tables = {name: metadata.tables[name] for name in TABLE_ORDER}
    counts = row_counts(rows)
    dataset_table = metadata.tables["dataset"]
    with engine.begin() as conn:
        check_schema(conn)
        replaced: dict[str, int] = {}
        swap: postgres_swap.Swap | None = None
        if dataset.bulk is not None:
            # Too large to diff row by row: unchanged (same signature) is left alone, anything else replaced.
            loaded = conn.execute(select(dataset_table.c.signature, dataset_table.c.counts)).first()
            if loaded is not None and loaded.signature == signature and representations.current(conn):
                result.changes = {name: TableChange(total=n) for name, n in loaded.counts.items()}
                return result
            if conn.dialect.name == "postgresql":
                swap = postgres_swap.begin(conn)  # from here, the bulk tables written are new, empty ones
            if swap is not None:
                replaced = {name: swap.replaced[name] for name in BULK_TABLES}
            else:
                representations.clear(conn)  # before the metrics: no cascade row by row
                for name in BULK_TABLES:
                    replaced[name] = conn.execute(delete(tables[name])).rowcount
        stored: dict[str, dict[tuple[Any, ...], dict[str, Any]]] = {}
        wanted: dict[str, dict[tuple[Any, ...], dict[str, Any]]] = {}
        for name, table in tables.items():
            stored[name] = {_pk(table, dict(r)): dict(r) for r in conn.execute(select(table)).mappings()}
            wanted[name] = {_pk(table, row): row for row in rows[name]}
            result.changes[name] = TableChange(total=counts[name], removed=replaced.get(name, 0))

        removals: list[tuple[Table, list[tuple[Any, ...]]]] = []
        for name in reversed(TABLE_ORDER):
            gone = [key for key in stored[name] if key not in wanted[name]]
            # Children of a removed parent row go before it; self-references (populations) child-first.
            removals.append((tables[name], _children_first(name, gone, stored[name])))
            result.changes[name].removed += len(gone)
        if swap is None:
            _remove(conn, removals)

        for name in TABLE_ORDER:
            table = tables[name]
            pk_cols = list(table.primary_key.columns)
            if name == "metrics" and dataset.bulk is not None:
                # metrics.jsonl's citations too (their metrics are written first), and their representations
                written_rows = write_bulk(conn, dataset.bulk, swap)
                for bulk_table, written in zip(("metrics", "citations"), written_rows, strict=True):
                    counts[bulk_table] += written
                    result.changes[bulk_table].total += written
                    result.changes[bulk_table].added += written
            for key, row in wanted[name].items():
                old = stored[name].get(key)
                if old is None:
                    conn.execute(table.insert().values(**row))
                    result.changes[name].added += 1
                elif not _same(table, old, row):
                    where = and_(*(c == v for c, v in zip(pk_cols, key, strict=True)))
                    conn.execute(update(table).where(where).values(**row))
                    result.changes[name].changed += 1
            if after_table is not None:
                after_table(name)

        current = conn.execute(select(dataset_table.c.signature)).scalar()
        rendered = dataset.bulk is not None  # metrics.jsonl's stored as they were written; metrics.yaml's next
        if rendered or result.changed or current != signature or not representations.current(conn):
            if rendered:
                representations.fill(conn, [row["id"] for row in rows["metrics"]])
            else:
                representations.rebuild(conn)
            _analyze(conn)
            if after_table is not None:
                after_table("metric_representations")
        if result.changed or current != signature or not value_counts.current(conn):
            value_counts.rebuild(conn)
            if after_table is not None:
                after_table("value_counts")
        if result.changed or current != signature:
            conn.execute(delete(dataset_table))
            conn.execute(dataset_table.insert().values(id=1, signature=signature, loaded_at=now(), counts=counts))
        if swap is not None:
            # Last: the old rows of the parents go once the old bulk tables that refer to them are gone.
            postgres_swap.finish(conn, swap)
            _remove(conn, removals)
            if after_table is not None:
                after_table("swap")
    if swap is not None:
        with engine.begin() as conn:
            postgres_swap.drop_retired(conn)
    return result


def _remove(conn: Connection, removals: list[tuple[Table, list[tuple[Any, ...]]]]) -> None:
    """Delete rows by primary key, table after table (children before their parents)."""
    for table, keys in removals:
        pk_cols = list(table.primary_key.columns)
        for key in keys:
            conn.execute(delete(table).where(and_(*(c == v for c, v in zip(pk_cols, key, strict=True)))))


def _analyze(conn: Connection) -> None:
    """Fresh planner statistics for the tables just written (SQLite: sampled, a fraction of a second at 1M)."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA analysis_limit = 1000")
        conn.exec_driver_sql("ANALYZE")
    else:
        conn.exec_driver_sql("ANALYZE metrics, citations, metric_representations, metric_search")


def _children_first(
    name: str, keys: list[tuple[Any, ...]], rows: dict[tuple[Any, ...], dict[str, Any]]
) -> list[tuple[Any, ...]]:
    if name != "populations":
        return keys
    doomed = {k[0] for k in keys}
    depth: dict[str, int] = {}

    def level(pid: str) -> int:
        if pid not in depth:
            parent = rows[(pid,)].get("part_of")
            depth[pid] = 0 if parent is None or parent not in doomed else level(parent) + 1
        return depth[pid]

    return sorted(keys, key=lambda k: -level(k[0]))
