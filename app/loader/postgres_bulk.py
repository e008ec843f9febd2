"""PostgreSQL settings for the bulk write (app.loader.bulk_write), local to the load's transaction: lz4 for the
large values, and the foreign keys of the bulk tables checked once, after the rows are in, rather than row by row.
Neither takes a lock that API readers wait on."""

from __future__ import annotations

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

BULK_TABLES = ("metrics", "citations", "metric_representations", "metric_search")
"""The tables the bulk write fills, whose foreign keys `check_references` checks."""


class DanglingReference(RuntimeError):
    """A row written by the bulk load refers to no row (the load's own checks should have stopped it first)."""


def toast_with_lz4(conn: Connection) -> None:
    """Compress the large text values this transaction writes (stored documents) with lz4 rather than pglz: at
    100,000 metrics, COPY of metric_representations 3.9 -> 2.3 s, the same size; reading them back is faster
    too. Where the server was built without lz4 (PostgreSQL 14+ only), pglz as before."""
    available = conn.exec_driver_sql(
        "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"
    ).scalar()
    if available:
        conn.exec_driver_sql("SET LOCAL default_toast_compression = lz4")


def defer_reference_checks(conn: Connection) -> bool:
    """Skip the per-row foreign key triggers for the rest of the transaction (session_replication_role =
    replica, as pg_restore --disable-triggers does): ten lookups per metric, about a fifth of a 100,000-metric
    load. Only a role allowed to set it can (a superuser, or one granted SET on it); returns whether it did.
    The caller then runs `check_references`, which restores the triggers and checks every row at once."""
    conn.exec_driver_sql("SAVEPOINT bulk_replica")
    try:
        conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
    except DBAPIError:  # InsufficientPrivilege: the triggers check each row, as before
        conn.exec_driver_sql("ROLLBACK TO SAVEPOINT bulk_replica")
        return False
    finally:
        conn.exec_driver_sql("RELEASE SAVEPOINT bulk_replica")
    return True


def check_references(conn: Connection) -> None:
    """Triggers back on; then each foreign key of the bulk tables checked over the whole table (one anti-join
    each): DanglingReference names the first row that refers to nothing."""
    conn.exec_driver_sql("SET LOCAL session_replication_role = origin")
    keys = conn.exec_driver_sql(
        "SELECT c.conname, c.conrelid::regclass::text, c.confrelid::regclass::text, "
        "ARRAY(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY k(n, i) "
        "      JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.i)::text[], "
        "ARRAY(SELECT a.attname FROM unnest(c.confkey) WITH ORDINALITY k(n, i) "
        "      JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.i)::text[] "
        "FROM pg_constraint c WHERE c.contype = 'f' AND c.conrelid::regclass::text = ANY(%(tables)s) "
        "ORDER BY c.conname",
        {"tables": list(BULK_TABLES)},
    ).all()
    for name, child, parent, columns, referenced in keys:
        matches = " AND ".join(f"p.{r} = c.{col}" for col, r in zip(columns, referenced, strict=True))
        present = " AND ".join(f"c.{col} IS NOT NULL" for col in columns)
        dangling = conn.exec_driver_sql(
            f"SELECT {', '.join(f'c.{col}' for col in columns)} FROM {child} c "
            f"WHERE {present} AND NOT EXISTS (SELECT 1 FROM {parent} p WHERE {matches}) LIMIT 1"
        ).first()
        if dangling is not None:
            raise DanglingReference(
                f"{child} ({', '.join(columns)}) = {tuple(dangling)} refers to no {parent} ({name})"
            )
