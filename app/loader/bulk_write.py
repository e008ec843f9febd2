"""Write metrics.jsonl's rows, their stored representations and searched text, chunk by chunk as app.loader.bulk
reads them, inside the load's transaction: executemany on SQLite, COPY on PostgreSQL (into the new tables of
app.loader.postgres_swap where it could make them)."""

from __future__ import annotations

import os
from typing import Any

from sqlalchemy import Connection

from app.loader import postgres_bulk, postgres_swap, representations
from app.loader.bulk import BulkMetrics
from app.loader.representations import Joined
from app.loader.rows import CITATION_COLUMNS, METRIC_COLUMNS

_TABLES = {"metrics": METRIC_COLUMNS, "citations": CITATION_COLUMNS}


def write_bulk(conn: Connection, bulk: BulkMetrics, swap: postgres_swap.Swap | None = None) -> tuple[int, int]:
    """Insert the file's metrics and citations (their parents already written, their tables emptied of it, or
    new: `swap`) and store their representations; returns (metrics, citations). SeedInvalid if a line is bad
    (nothing is left of the chunks written before: the caller's transaction rolls back)."""
    sqlite = conn.dialect.name == "sqlite"
    joined = Joined.read(conn)
    cursor: Any = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    # Indexes are built once at the end (sorted) rather than updated row by row: several times faster. On SQLite
    # they are dropped and made again (readers, WAL, keep the old data meanwhile); on PostgreSQL DROP INDEX would
    # lock readers out until the load commits: the rows go into new tables without indexes (`swap`), or, where
    # those could not be made, into the old tables with their indexes updated row by row.
    indexes: list[tuple[str, str]] = []
    deferred = False
    if sqlite:
        found = conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name IN ('metrics', 'citations') "
            "AND sql IS NOT NULL"
        )
        indexes = [(name, sql) for name, sql in found]
        cursor.execute("PRAGMA cache_size = -32768")  # 32 MiB while rows are appended (ids increase)
    else:
        postgres_bulk.toast_with_lz4(conn)
        deferred = swap is None and postgres_bulk.defer_reference_checks(conn)
    for name, _ in indexes:
        conn.exec_driver_sql(f"DROP INDEX {name}")
    metrics = citations = 0
    try:
        for chunk in bulk.read(joined):
            metrics += len(chunk.metrics)
            citations += len(chunk.citations)
            for name, rows in (("metrics", chunk.metrics), ("citations", chunk.citations)):
                _insert(cursor, sqlite, name, _TABLES[name], rows)
            representations.write(conn, chunk.stored)
        if sqlite:
            cursor.execute("PRAGMA cache_size = -131072")  # 128 MiB of pages while the indexes are built
            cursor.execute(f"PRAGMA threads = {os.cpu_count() or 1}")  # helper threads sort for CREATE INDEX
        for _, sql in indexes:
            conn.exec_driver_sql(sql)
        if deferred:
            postgres_bulk.check_references(conn)
        if swap is not None:
            postgres_swap.build(conn, swap)
    finally:
        if sqlite:
            cursor.execute("PRAGMA cache_size = -2000")
            cursor.execute("PRAGMA threads = 0")
        cursor.close()
    return metrics, citations


def _insert(cursor: Any, sqlite: bool, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    if sqlite:
        cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", rows)
        return
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
