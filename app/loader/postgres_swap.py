"""PostgreSQL: load metrics.jsonl into new tables and swap them in at the end, so that each index is built once,
sorted, after its rows are in, rather than updated row by row (at 1,000,000 metrics: 27 indexes, ~78 s of a
~107 s COPY), and readers are never locked out while the rows are written.

In the load's transaction: a schema `cadre_load` with an empty copy of each swapped table (same columns,
defaults, CHECK and NOT NULL constraints, storage), first on the search_path, so every unqualified write of the
load (COPY, the loader's inserts, app.loader.representations) fills the copies; after the COPY, the copies get
the old tables' primary keys, indexes and foreign keys (the same names and definitions, read from the catalog;
the keys validated once, a query each). At the very end, `finish` takes ACCESS EXCLUSIVE locks (in short
attempts that give way to readers), drops the old tables, moves the new ones into the schema with their owner and
grants, moves the old ones to a schema `cadre_old` and drops `cadre_load`; the old tables are dropped after the
commit. A failure anywhere before the commit leaves the old tables and schema untouched.

Readers: until `finish`, they read the old tables unhindered; from `finish` to commit they wait. A REPEATABLE READ
reader whose snapshot was taken before the commit and which first touches a swapped table after it would find
the new table empty (DDL is not MVCC-safe, as for TRUNCATE): readers take `dataset`'s lock before their snapshot
(app.db), and `finish` locks `dataset` first."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from psycopg import sql
from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

SWAPPED = ("metrics", "citations", "check_metrics", "metric_representations", "metric_search")
"""Every table the bulk load writes in full, and every table with a foreign key to one of them."""
SHADOW = "cadre_load"
RETIRED = "cadre_old"
"""Where `finish` moves the old tables: dropped after the commit (`drop_retired`), not under the swap's locks."""
LOCK_ATTEMPT = "200ms"
"""How long readers may wait behind one attempt of `finish` to lock the tables."""
LOCK_DEADLINE_S = 60.0
"""Attempts stop after this long: the load fails and leaves the old data."""


class SwapLockTimeout(RuntimeError):
    """Readers held the swapped tables for longer than LOCK_DEADLINE_S: nothing was swapped."""


@dataclass
class Swap:
    """The shadow tables of one load and what `build` and `finish` need of the old ones."""

    schema: str
    search_path: str
    replaced: dict[str, int]
    """Rows of each old table (the load's `removed`)."""
    indexes: list[str] = field(default_factory=list)
    keys: list[tuple[str, str, str]] = field(default_factory=list)
    """(table, constraint, definition) of the primary keys and unique constraints."""
    foreign_keys: list[tuple[str, str, str]] = field(default_factory=list)
    outward_keys: list[tuple[str, str]] = field(default_factory=list)
    """(table, constraint) of the old tables' foreign keys to the other tables, dropped by `finish`."""
    grants: dict[str, list[tuple[str, str, bool]]] = field(default_factory=dict)
    """(grantee, privilege, grantable) of each old table; grantee '-' is PUBLIC."""
    owners: dict[str, str] = field(default_factory=dict)
    parents: list[str] = field(default_factory=list)
    """Other tables the old tables' foreign keys refer to: dropping those keys locks them too."""


def _unswappable(conn: Connection, schema: str) -> str | None:
    """Why the tables cannot be swapped as they are (a table outside SWAPPED that refers to one, a trigger or a
    view on one, a column with a sequence), or None."""
    found = conn.exec_driver_sql(
        "WITH t AS (SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "           WHERE n.nspname = %(schema)s AND c.relname = ANY(%(tables)s)) "
        "SELECT 'a foreign key from ' || conrelid::regclass::text FROM pg_constraint "
        " WHERE contype = 'f' AND confrelid IN (SELECT oid FROM t) AND conrelid NOT IN (SELECT oid FROM t) "
        "UNION ALL SELECT 'trigger ' || tgname FROM pg_trigger "
        " WHERE tgrelid IN (SELECT oid FROM t) AND NOT tgisinternal "
        "UNION ALL SELECT 'a view or rule' FROM pg_depend d JOIN pg_rewrite r ON d.classid = 'pg_rewrite'::regclass "
        " AND d.objid = r.oid WHERE d.refobjid IN (SELECT oid FROM t) AND r.ev_class <> d.refobjid "
        "UNION ALL SELECT 'a sequence of ' || d.refobjid::regclass::text FROM pg_depend d "
        " JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S' WHERE d.refobjid IN (SELECT oid FROM t) "
        "UNION ALL SELECT 'missing table' WHERE (SELECT count(*) FROM t) <> %(count)s "
        "LIMIT 1",
        {"schema": schema, "tables": list(SWAPPED), "count": len(SWAPPED)},
    ).scalar()
    return str(found) if found is not None else None


def begin(conn: Connection) -> Swap | None:
    """Create the empty shadow tables and put them first on the search_path. None, with nothing changed, where
    the loader may not create a schema or the tables cannot be swapped (app.loader.bulk_write then writes into
    the tables in place, their indexes updated row by row)."""
    schema, search_path = conn.exec_driver_sql("SELECT current_schema(), current_setting('search_path')").one()
    if _unswappable(conn, schema) is not None:
        return None
    drop_retired(conn)
    conn.exec_driver_sql("SAVEPOINT shadow_schema")
    try:
        conn.exec_driver_sql(f"CREATE SCHEMA {SHADOW}")
    except DBAPIError:  # InsufficientPrivilege: no CREATE on the database
        conn.exec_driver_sql("ROLLBACK TO SAVEPOINT shadow_schema")
        return None
    finally:
        conn.exec_driver_sql("RELEASE SAVEPOINT shadow_schema")
    swap = Swap(schema, search_path, replaced={})
    _read_old(conn, swap)
    for table in SWAPPED:
        old = f"{_ident(schema)}.{_ident(table)}"
        options = conn.exec_driver_sql(
            "SELECT array_to_string(reloptions, ', ') FROM pg_class WHERE oid = %(t)s::regclass", {"t": old}
        ).scalar()
        conn.exec_driver_sql(
            f"CREATE TABLE {SHADOW}.{_ident(table)} (LIKE {old} INCLUDING ALL EXCLUDING INDEXES)"
            + (f" WITH ({options})" if options else "")
        )
        swap.replaced[table] = conn.exec_driver_sql(f"SELECT count(*) FROM {old}").scalar_one()
    conn.exec_driver_sql("SELECT set_config('search_path', %(path)s, true)", {"path": f"{SHADOW}, {search_path}"})
    return swap


def _read_old(conn: Connection, swap: Swap) -> None:
    """The old tables' indexes, keys, grants and owners, as the migrations made them (read before the shadow
    schema is on the search_path, so that the definitions name the tables unqualified)."""
    tables = {"schema": swap.schema, "tables": list(SWAPPED)}
    of_tables = (
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %(schema)s AND c.relname = ANY(%(tables)s)"
    )
    for name, qualified, definition in conn.exec_driver_sql(
        "SELECT quote_ident(c.relname), quote_ident(n.nspname) || '.' || quote_ident(c.relname), "
        "pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %(schema)s AND c.relname = ANY(%(tables)s) "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid) ORDER BY 1, 2",
        tables,
    ):
        shadow = definition.replace(f" ON {qualified} USING ", f" ON {SHADOW}.{name} USING ", 1)
        if shadow == definition:
            raise RuntimeError(f"unexpected index definition: {definition}")
        swap.indexes.append(shadow)
    for table, name, kind, definition, outward in conn.exec_driver_sql(
        "SELECT c.relname, k.conname, k.contype, pg_get_constraintdef(k.oid), "
        "k.contype = 'f' AND k.confrelid NOT IN (SELECT x.oid FROM pg_class x WHERE x.relnamespace = n.oid "
        "AND x.relname = ANY(%(tables)s)) FROM pg_constraint k "
        "JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %(schema)s AND c.relname = ANY(%(tables)s) AND k.contype IN ('p', 'u', 'f', 'x') "
        "ORDER BY 1, 2",
        tables,
    ):
        (swap.foreign_keys if kind == "f" else swap.keys).append((table, name, definition))
        if outward:
            swap.outward_keys.append((table, name))
    for table, owner in conn.exec_driver_sql(f"SELECT c.relname, pg_get_userbyid(c.relowner) {of_tables}", tables):
        swap.owners[table] = owner
        swap.grants[table] = []
    for table, grantee, privilege, grantable in conn.exec_driver_sql(
        "SELECT c.relname, CASE WHEN a.grantee = 0 THEN '-' ELSE pg_get_userbyid(a.grantee) END, "
        "a.privilege_type, a.is_grantable "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, aclexplode(c.relacl) a "
        "WHERE n.nspname = %(schema)s AND c.relname = ANY(%(tables)s) AND a.grantee <> c.relowner",
        tables,
    ):
        swap.grants[table].append((grantee, privilege, grantable))
    swap.parents = list(
        conn.exec_driver_sql(
            "SELECT DISTINCT quote_ident(pn.nspname) || '.' || quote_ident(p.relname) FROM pg_constraint k "
            "JOIN pg_class c ON c.oid = k.conrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_class p ON p.oid = k.confrelid "
            "JOIN pg_namespace pn ON pn.oid = p.relnamespace "
            "WHERE n.nspname = %(schema)s AND c.relname = ANY(%(tables)s) AND k.contype = 'f' "
            "AND p.relname <> ALL(%(tables)s) ORDER BY 1",
            tables,
        ).scalars()
    )


def build(conn: Connection, swap: Swap) -> None:
    """The shadow tables' keys and indexes, each built once from its sorted rows, then their foreign keys, each
    validated by one query: a row that refers to nothing fails the load (psycopg's ForeignKeyViolation). The
    server's maintenance_work_mem and parallel workers as they are: at 1,000,000 metrics on 2 cores, neither
    256 MB nor 1 GB (against 64 MB) nor 2 workers (against none) made an index build faster."""
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        for table, name, definition in swap.keys:
            cursor.execute(f"ALTER TABLE {SHADOW}.{_ident(table)} ADD CONSTRAINT {_ident(name)} {definition}")
        for statement in swap.indexes:
            cursor.execute(statement)
        for table, name, definition in swap.foreign_keys:
            cursor.execute(f"ALTER TABLE {SHADOW}.{_ident(table)} ADD CONSTRAINT {_ident(name)} {definition}")
    finally:
        cursor.close()


def finish(conn: Connection, swap: Swap) -> None:
    """Swap the new tables in, under the names, owner and grants of the old: from here to commit, readers of
    these tables and of the tables they refer to wait. The old tables, without their foreign keys to the others,
    go to the schema RETIRED: dropping them here would make the commit unlink their files under the locks (1.1 s
    at 1,000,000 metrics)."""
    _lock(conn, swap)
    conn.exec_driver_sql(f"CREATE SCHEMA {RETIRED}")
    for table, name in swap.outward_keys:
        conn.exec_driver_sql(f"ALTER TABLE {_ident(swap.schema)}.{_ident(table)} DROP CONSTRAINT {_ident(name)}")
    for table in SWAPPED:
        conn.exec_driver_sql(f"ALTER TABLE {_ident(swap.schema)}.{_ident(table)} SET SCHEMA {RETIRED}")
        conn.exec_driver_sql(f"ALTER TABLE {SHADOW}.{_ident(table)} SET SCHEMA {_ident(swap.schema)}")
    conn.exec_driver_sql(f"DROP SCHEMA {SHADOW}")
    conn.exec_driver_sql("SELECT set_config('search_path', %(path)s, true)", {"path": swap.search_path})
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        for table, owner in swap.owners.items():
            target = sql.SQL("{}.{}").format(sql.Identifier(swap.schema), sql.Identifier(table))
            cursor.execute(sql.SQL("ALTER TABLE {} OWNER TO {}").format(target, sql.Identifier(owner)))
            for grantee, privilege, grantable in swap.grants[table]:
                to = sql.SQL("PUBLIC") if grantee == "-" else sql.Identifier(grantee)
                option = sql.SQL(" WITH GRANT OPTION" if grantable else "")
                cursor.execute(sql.SQL("GRANT {} ON {} TO {}{}").format(sql.SQL(privilege), target, to, option))
    finally:
        cursor.close()


def drop_retired(conn: Connection) -> None:
    """Drop the old tables of a committed swap (or of one whose process stopped before it could): nothing else
    refers to them, and no reader finds them by name any more."""
    conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {RETIRED} CASCADE")


def _lock(conn: Connection, swap: Swap) -> None:
    """ACCESS EXCLUSIVE on `dataset` (which readers lock first), the old tables and their parents (dropping a
    foreign key drops its triggers there), in attempts of LOCK_ATTEMPT: a reader in the middle of a request is let
    finish rather than queued behind for long. SwapLockTimeout after LOCK_DEADLINE_S."""
    tables = [f"{_ident(swap.schema)}.dataset", *(f"{_ident(swap.schema)}.{_ident(t)}" for t in SWAPPED), *swap.parents]
    timeout = conn.exec_driver_sql("SELECT current_setting('lock_timeout')").scalar_one()
    deadline = time.monotonic() + LOCK_DEADLINE_S
    while True:
        conn.exec_driver_sql("SAVEPOINT swap_lock")
        try:
            conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{LOCK_ATTEMPT}'")
            conn.exec_driver_sql(f"LOCK TABLE {', '.join(tables)} IN ACCESS EXCLUSIVE MODE")
        except DBAPIError as exc:
            conn.exec_driver_sql("ROLLBACK TO SAVEPOINT swap_lock")
            conn.exec_driver_sql("RELEASE SAVEPOINT swap_lock")
            if getattr(exc.orig, "sqlstate", None) != "55P03":  # lock_not_available
                raise
            if time.monotonic() > deadline:
                raise SwapLockTimeout(f"readers held the tables for {LOCK_DEADLINE_S:.0f} s: nothing loaded") from exc
            time.sleep(0.05)
            continue
        conn.exec_driver_sql("RELEASE SAVEPOINT swap_lock")  # the locks are kept until commit
        conn.exec_driver_sql("SELECT set_config('lock_timeout', %(t)s, true)", {"t": timeout})
        return


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
