"""Store each metric's representations (app.api.stored) and its searched text, inside the load's transaction:
built by the API's own builder (app.api.queries.metric_documents) from the rows just written, so a page joined
from them is byte for byte what a per-request render gives, and a reload rebuilds them with the figures."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection, delete, func, select

from app.api.queries import metric_documents, metric_select, metric_table, representation_table
from app.api.stored import stored_row

CHUNK = 5000
_REPRESENTATION_COLUMNS = "metric_representations (metric_id, document, csv_head, csv_tail)"
_REPRESENTATION = f"INSERT INTO {_REPRESENTATION_COLUMNS} VALUES (?, ?, ?, ?)"
_SEARCH = "INSERT INTO metric_search (metric_id, text) VALUES (?, ?)"


def current(conn: Connection) -> bool:
    """Every metric has its stored representation (false after the migration that adds them, for one)."""
    stored = conn.execute(select(func.count()).select_from(representation_table)).scalar_one()
    return bool(stored == conn.execute(select(func.count()).select_from(metric_table)).scalar_one())


def clear(conn: Connection) -> None:
    conn.exec_driver_sql("DELETE FROM metric_search")
    conn.execute(delete(representation_table))


def _rows(conn: Connection) -> Iterator[list[tuple[str, str, str, str, str]]]:
    """Stored rows of every metric, in id order, a chunk at a time (keyset over the primary key)."""
    last = ""
    while True:
        page = metric_select().where(metric_table.c.id > last).order_by(metric_table.c.id).limit(CHUNK)
        rows = conn.execute(page).all()
        if not rows:
            return
        yield [stored_row(document) for document in metric_documents(conn, rows)]
        last = rows[-1].id


def rebuild(conn: Connection) -> int:
    """Replace every stored representation and search row; returns how many metrics were rendered."""
    clear(conn)
    cursor: Any = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    sqlite = conn.dialect.name == "sqlite"
    count = 0
    try:
        for chunk in _rows(conn):
            count += len(chunk)
            if sqlite:
                cursor.executemany(_REPRESENTATION, [row[:4] for row in chunk])
                cursor.executemany(_SEARCH, [(row[0], row[4]) for row in chunk])
                continue
            with cursor.copy(f"COPY {_REPRESENTATION_COLUMNS} FROM STDIN") as copy:
                for row in chunk:
                    copy.write_row(row[:4])
            with cursor.copy("COPY metric_search (metric_id, text) FROM STDIN") as copy:
                for row in chunk:
                    copy.write_row((row[0], row[4]))
    finally:
        cursor.close()
    return count
