"""Export our figures to one flat SQLite table, as a Datasette publisher would: one row per metric with the
columns of our CSV (`METRIC_CSV_COLUMNS`), read with the API's own queries; then `datasette inspect`.

    python -m bench.export DATABASE_URL OUT.db
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

from app.api.formats import _csv_cell
from app.api.queries import METRIC_CSV_COLUMNS, metric_csv_rows, metric_documents, metric_select, metric_table
from app.db import make_engine

INTEGER_COLUMNS = {"lower", "upper", "citation_count"}
BOOLEAN_COLUMNS = {"lower_inclusive", "upper_inclusive"}
# The indexes a publisher would add for the filters the benchmark asks of both.
INDEXES = (("destination_id", "period_id"), ("measure", "unit"), ("unit",), ("lower",))


def flat_value(column: str, value: Any) -> Any:
    if value is None or column in INTEGER_COLUMNS:
        return value
    if column in BOOLEAN_COLUMNS:
        return int(value)
    return _csv_cell(value)


def export(database_url: str, out: Path, chunk: int = 2000) -> int:
    """Write `out` (replaced) with table `metrics`; returns the rows written."""
    out.unlink(missing_ok=True)
    flat = sqlite3.connect(out)
    columns = ", ".join(
        f'"{c}" TEXT PRIMARY KEY'
        if c == "id"
        else f'"{c}" INTEGER'
        if c in INTEGER_COLUMNS | BOOLEAN_COLUMNS
        else f'"{c}" TEXT'
        for c in METRIC_CSV_COLUMNS
    )
    flat.execute(f"CREATE TABLE metrics ({columns})")
    insert = f"INSERT INTO metrics VALUES ({', '.join('?' * len(METRIC_CSV_COLUMNS))})"
    engine = make_engine(database_url, read_only=True)
    written, last = 0, ""
    try:
        with engine.connect() as conn:
            while True:
                rows = conn.execute(
                    metric_select().where(metric_table.c.id > last).order_by(metric_table.c.id).limit(chunk)
                ).all()
                if not rows:
                    break
                docs = metric_documents(conn, rows)
                flat.executemany(
                    insert,
                    [tuple(flat_value(c, row.get(c)) for c in METRIC_CSV_COLUMNS) for row in metric_csv_rows(docs)],
                )
                written += len(rows)
                last = rows[-1].id
    finally:
        engine.dispose()
    for columns_ in INDEXES:
        flat.execute(f"CREATE INDEX ix_{'_'.join(columns_)} ON metrics ({', '.join(columns_)})")
    flat.commit()
    flat.close()
    return written


def inspect(db: Path, inspect_file: Path) -> None:
    """`datasette inspect`: the counts Datasette then serves without counting (immutable mode)."""
    datasette = Path(sys.executable).parent / "datasette"
    subprocess.run([str(datasette), "inspect", str(db), "--inspect-file", str(inspect_file)], check=True)


if __name__ == "__main__":
    n = export(sys.argv[1], Path(sys.argv[2]))
    inspect(Path(sys.argv[2]), Path(sys.argv[2]).with_suffix(".inspect.json"))
    print(f"{n} rows in {sys.argv[2]}")
