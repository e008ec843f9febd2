"""Store how many rows hold each value of the counted columns (table value_counts), inside the load's
transaction: one GROUP BY per column at load, so that a collection's `metric_count` or an unfiltered `facet=`
is one primary-key read per request, not a count over a million metrics."""

from __future__ import annotations

from sqlalchemy import Connection, delete, func, insert, select

from app.api.queries import COUNTED, value_count_table
from app.models import metadata


def current(conn: Connection) -> bool:
    """Every counted column has its stored counts (false after the migration that adds them, for one)."""
    stored = conn.execute(select(func.count()).select_from(value_count_table)).scalar_one()
    return bool(stored == sum(len(columns) for columns in COUNTED.values()))


def rebuild(conn: Connection) -> None:
    """Replace every stored count with a count of the rows as they now are."""
    conn.execute(delete(value_count_table))
    for table_name, columns in COUNTED.items():
        table = metadata.tables[table_name]
        for name in columns:
            column = table.c[name]
            rows = conn.execute(select(column, func.count()).group_by(column)).all()
            counts = sorted(
                ([None if v is None else str(v), n] for v, n in rows), key=lambda p: (p[0] is not None, p[0] or "")
            )
            conn.execute(insert(value_count_table).values(table_name=table_name, column_name=name, counts=counts))
