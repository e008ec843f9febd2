"""Store each metric's representations (app.api.stored) and its searched text, inside the load's transaction, with
the API's own builder (app.api.queries.metric_document), so a page joined from them is byte for byte what a
per-request render gives. Two inputs, one builder: the rows of metrics.jsonl as they are written (`Joined`: the
labels and embedded records a metric's joins give, read once), and, for the few others, the rows read back."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Connection, Table, delete, func, select

from app.api.queries import (
    METRIC_COLUMNS,
    attribution_table,
    citation_document_of,
    destination_table,
    measure_table,
    metric_document,
    metric_documents,
    metric_select,
    metric_table,
    period_table,
    population_table,
    representation_table,
    source_table,
)
from app.api.stored import stored_row

CHUNK = 5000
REPRESENTATION_COLUMNS = tuple(representation_table.columns.keys())
SEARCH_COLUMNS = ("metric_id", "text")
StoredRow = tuple[str, str, str, str, str]
"""(metric id, JSON document, CSV head, CSV tail, searched text): app.api.stored.stored_row."""

_JOIN_KEYS: dict[str, Column[Any]] = {
    "measure": measure_table.c.id,
    "population": population_table.c.id,
    "attributed_to": attribution_table.c.id,
    "destination_id": destination_table.c.id,
    "period_id": period_table.c.id,
}
"""The metric column each joined table of metric_select() is found by (the source through the attribution)."""
_THROUGH = {source_table.name: "attributed_to"}


def _joined_by(column: Any) -> str | None:
    table: Table = getattr(column, "element", column).table
    if table is metric_table:
        return None
    return _THROUGH.get(table.name) or next(key for key, id_ in _JOIN_KEYS.items() if id_.table is table)


@dataclass(frozen=True)
class Joined:
    """What metric_select()'s joins add to a metric's own columns, by the metric column that selects it, and
    each source's URL (a citation's link): read from the tables already written, in the load's transaction."""

    values: Mapping[str, Mapping[Any, Mapping[str, Any]]]
    source_urls: Mapping[str, str]

    @classmethod
    def read(cls, conn: Connection) -> Joined:
        values: dict[str, dict[Any, dict[str, Any]]] = {}
        for key, id_ in _JOIN_KEYS.items():
            columns = [column for column in METRIC_COLUMNS if _joined_by(column) == key]
            joined: Any = id_.table
            if key == "attributed_to":
                joined = joined.join(source_table, source_table.c.id == attribution_table.c.source_id)
            rows = conn.execute(select(id_.label("joined_key"), *columns).select_from(joined)).mappings()
            values[key] = {row["joined_key"]: {c.key: row[c.key] for c in columns} for row in rows}
            values[key][None] = {column.key: None for column in columns}  # an outer join that finds nothing
        urls = {id_: url for id_, url in conn.execute(select(source_table.c.id, source_table.c.url))}
        return cls(values, urls)

    def stored(self, metric: Mapping[str, Any], citations: Sequence[Mapping[str, Any]]) -> StoredRow:
        """The stored row of a metric not yet written, from its row and its citations' rows (metrics.jsonl's
        figures are in no check: checks.yaml refers only to metrics.yaml)."""
        row = dict(metric)
        for key, by_value in self.values.items():
            row.update(by_value[metric[key]])
        cited = [citation_document_of(c, self.source_urls[c["source_id"]]) for c in citations]
        return stored_row(metric_document(row, cited, []))


def current(conn: Connection) -> bool:
    """Every metric has its stored representation (false after the migration that adds them, for one)."""
    stored = conn.execute(select(func.count()).select_from(representation_table)).scalar_one()
    return bool(stored == conn.execute(select(func.count()).select_from(metric_table)).scalar_one())


def clear(conn: Connection) -> None:
    """Empty both tables. On SQLite the FTS5 table is dropped and made again as the migration made it: deleting
    its rows one by one would cost as much as writing them."""
    if conn.dialect.name == "sqlite":
        made = conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = 'metric_search'").scalar_one()
        conn.exec_driver_sql("DROP TABLE metric_search")
        conn.exec_driver_sql(made)
    else:
        conn.exec_driver_sql("DELETE FROM metric_search")
    conn.execute(delete(representation_table))


def _rendered(conn: Connection, only: Sequence[str] | None) -> Iterator[list[StoredRow]]:
    """Stored rows of every metric (or of the metrics `only` names), read back, a chunk at a time (keyset over
    the primary key)."""
    if only is not None:
        for start in range(0, len(only), CHUNK):
            rows = conn.execute(metric_select().where(metric_table.c.id.in_(only[start : start + CHUNK]))).all()
            yield [stored_row(document) for document in metric_documents(conn, rows)]
        return
    last = ""
    while True:
        page = metric_select().where(metric_table.c.id > last).order_by(metric_table.c.id).limit(CHUNK)
        rows = conn.execute(page).all()
        if not rows:
            return
        yield [stored_row(document) for document in metric_documents(conn, rows)]
        last = rows[-1].id


def write(conn: Connection, rows: list[StoredRow]) -> None:
    """Insert stored rows: executemany on SQLite, COPY on PostgreSQL."""
    cursor: Any = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        if conn.dialect.name == "sqlite":
            cursor.executemany(f"INSERT INTO {_REPRESENTATION} VALUES (?, ?, ?, ?)", [row[:4] for row in rows])
            cursor.executemany(f"INSERT INTO {_SEARCH} VALUES (?, ?)", [(row[0], row[4]) for row in rows])
            return
        with cursor.copy(f"COPY {_REPRESENTATION} FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row[:4])
        with cursor.copy(f"COPY {_SEARCH} FROM STDIN") as copy:
            for row in rows:
                copy.write_row((row[0], row[4]))
    finally:
        cursor.close()


_REPRESENTATION = f"metric_representations ({', '.join(REPRESENTATION_COLUMNS)})"
_SEARCH = f"metric_search ({', '.join(SEARCH_COLUMNS)})"


def fill(conn: Connection, only: Sequence[str] | None = None) -> int:
    """Store the representation of every metric, or of those `only` names (read back by SQL); returns how many.
    The metrics must have none yet."""
    count = 0
    for chunk in _rendered(conn, only):
        count += len(chunk)
        write(conn, chunk)
    return count


def rebuild(conn: Connection) -> int:
    """Replace every stored representation and search row; returns how many metrics were rendered."""
    clear(conn)
    return fill(conn)
