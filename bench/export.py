"""Export our figures to one flat SQLite table, as a Datasette publisher would: one row per metric with the
columns of our CSV (`METRIC_CSV_COLUMNS`), read with the API's own queries; then `datasette inspect`.

Four more columns (`EXTRA_COLUMNS`) let Datasette's own filters select what our `country=`, `q=` and
`sort=period` select: the benchmark's Datasette URLs hide them from the output (`_nocol=`, `HIDDEN`).

    python -m bench.export DATABASE_URL OUT.db
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import select

from app.api.formats import _csv_cell
from app.api.queries import (
    METRIC_CSV_COLUMNS,
    SEARCHED_LABELS,
    destination_alias_table,
    destination_member_table,
    destination_table,
    metric_csv_rows,
    metric_documents,
    metric_select,
    metric_table,
    period_table,
    search_text,
)
from app.db import make_engine

INTEGER_COLUMNS = {"lower", "upper", "citation_count"}
BOOLEAN_COLUMNS = {"lower_inclusive", "upper_inclusive"}
# The indexes a publisher would add for the filters the benchmark asks of both.
INDEXES = (("destination_id", "period_id"), ("measure", "unit"), ("unit",), ("lower",), ("period_start", "period_end"))
EXTRA_COLUMNS = {
    "countries": "the ISO codes `country=` matches on the metric: its destination's and its members', as |CA|US|",
    "search_text": "what `q=` searches, one field a line: value text, quotes, measure, population, destination names",
    "period_start": "the period's first day (ISO date): `sort=period` is (start, end)",
    "period_end": "the period's last day",
}
HIDDEN = "&".join(f"_nocol={c}" for c in EXTRA_COLUMNS)
"""Datasette's `_nocol=` for each extra column: its rows then hold what our CSV holds."""


class Lookups:
    """The small tables the extra columns read, loaded once."""

    def __init__(self, conn: Any) -> None:
        d, a, m = destination_table.c, destination_alias_table.c, destination_member_table.c
        self.places: dict[str, list[str]] = {}
        self.codes: dict[str, list[str]] = {}
        for row in conn.execute(select(d.id, d.name, d.label, d.code)):
            self.places[row.id] = [row.name, row.label]
            self.codes[row.id] = [row.code] if row.code else []
        for row in conn.execute(select(a.destination_id, a.alias)):
            self.places[row.destination_id].append(row.alias)
        for row in conn.execute(select(m.group_id, m.code, m.name)):
            self.places[row.group_id].append(row.name)
            self.codes[row.group_id].append(row.code)
        self.labels = {
            name: {row.id: [row.id, row.label] for row in conn.execute(select(t.c.id, t.c.label))}
            for name, t in SEARCHED_LABELS.items()
        }
        p = period_table.c
        rows = conn.execute(select(p.id, p.start_date, p.end_date))
        self.periods = {row.id: (row.start_date, row.end_date) for row in rows}

    def extra(self, doc: dict[str, Any]) -> tuple[Any, ...]:
        destination = (doc["destination"] or {}).get("id")
        period = (doc["period"] or {}).get("id")
        codes = self.codes.get(destination, []) if destination else []
        lines = [search_text(doc), *(v for name in SEARCHED_LABELS for v in self.labels[name][doc[name]])]
        lines += self.places.get(destination, []) if destination else []
        start, end = self.periods[period] if period else (None, None)
        return (
            "".join(f"|{c}" for c in codes) + "|" if codes else None,
            "\n".join(lines),
            start and str(start),
            end and str(end),
        )


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
    columns += "".join(f', "{c}" TEXT' for c in EXTRA_COLUMNS)
    flat.execute(f"CREATE TABLE metrics ({columns})")
    insert = f"INSERT INTO metrics VALUES ({', '.join('?' * (len(METRIC_CSV_COLUMNS) + len(EXTRA_COLUMNS)))})"
    engine = make_engine(database_url, read_only=True)
    written, last = 0, ""
    try:
        with engine.connect() as conn:
            lookups = Lookups(conn)
            while True:
                rows = conn.execute(
                    metric_select().where(metric_table.c.id > last).order_by(metric_table.c.id).limit(chunk)
                ).all()
                if not rows:
                    break
                docs = metric_documents(conn, rows)
                flat.executemany(
                    insert,
                    [
                        (*(flat_value(c, row.get(c)) for c in METRIC_CSV_COLUMNS), *lookups.extra(doc))
                        for doc, row in zip(docs, metric_csv_rows(docs), strict=True)
                    ],
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
