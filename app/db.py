"""Engines: read-only for serving, read-write (one explicit transaction) for migrations and the loader."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
from psycopg.pq import TransactionStatus
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import ConnectionPoolEntry, QueuePool

SQLITE_PAGE_SIZE = 16384
"""Of a database file the read-write engine creates (set before its first table, which fixes it)."""


def normalize_url(url: str) -> URL:
    """Use psycopg 3 for PostgreSQL and pysqlite for SQLite, whatever driver the URL names."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        return parsed.set(drivername="postgresql+psycopg")
    return parsed.set(drivername="sqlite+pysqlite")


def is_sqlite(engine_or_url: Engine | URL | str) -> bool:
    url = engine_or_url.url if isinstance(engine_or_url, Engine) else normalize_url(str(engine_or_url))
    return url.get_backend_name() == "sqlite"


def sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise ValueError("SQLite needs a file path (an in-memory database cannot be shared with the loader)")
    return Path(url.database)


def _sqlite_engine(
    url: URL, *, read_only: bool, statement_timeout_ms: int, pool_size: int, max_overflow: int, pool_timeout_s: float
) -> Engine:
    path = sqlite_path(url)
    if read_only:
        # mode=ro: the driver itself refuses every write, whatever SQL reaches it.
        uri = f"file:{quote(str(path.resolve()))}?mode=ro"
        engine = create_engine(
            "sqlite+pysqlite://",
            creator=lambda: sqlite3.connect(uri, uri=True, check_same_thread=False),
            poolclass=QueuePool,
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_timeout=pool_timeout_s,
        )
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
        # Let SQLAlchemy, not pysqlite, decide where transactions begin (pysqlite would commit
        # DDL implicitly and delay BEGIN); see SQLAlchemy's "Serializable isolation" recipe.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=5000")
        if not read_only:
            # Rows of several KB (stored representations) fill 4 KiB pages badly; a no-op once the file has a table.
            cursor.execute(f"PRAGMA page_size={SQLITE_PAGE_SIZE}")
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()
        _install_sqlite_timeout(dbapi_conn, statement_timeout_ms)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine


def _install_sqlite_timeout(dbapi_conn: sqlite3.Connection, statement_timeout_ms: int) -> None:
    """Abort any statement running longer than the timeout (SQLite has no statement_timeout)."""

    state = {"deadline": 0.0}

    def trace(_sql: str) -> None:
        state["deadline"] = time.monotonic() + statement_timeout_ms / 1000

    def progress() -> int:
        return 1 if state["deadline"] and time.monotonic() > state["deadline"] else 0

    dbapi_conn.set_trace_callback(trace)
    dbapi_conn.set_progress_handler(progress, 10_000)


def make_engine(
    url: str,
    *,
    read_only: bool,
    statement_timeout_ms: int = 5000,
    pool_size: int = 5,
    max_overflow: int = 5,
    pool_timeout_s: float = 5.0,
    connect_timeout_s: int = 5,
) -> Engine:
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(
            parsed,
            read_only=read_only,
            statement_timeout_ms=statement_timeout_ms,
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_timeout_s=pool_timeout_s,
        )
    extra: dict[str, Any] = {}
    if read_only:
        # One snapshot per request: the dataset signature and the rows it describes always agree.
        extra["isolation_level"] = "REPEATABLE READ"
    engine = create_engine(
        parsed,
        **extra,
        pool_pre_ping=True,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=pool_timeout_s,
        pool_recycle=1800,
        connect_args=postgresql_connect_args(
            read_only=read_only, statement_timeout_ms=statement_timeout_ms, connect_timeout_s=connect_timeout_s
        ),
    )
    if read_only:
        event.listen(engine, "begin", _lock_dataset)
    return engine


LOCK_DATASET = "LOCK TABLE dataset IN ACCESS SHARE MODE"
"""A PostgreSQL read transaction's first statement (see _lock_dataset); the hot path's too (app.api.fastpath)."""


def _lock_dataset(conn: Any) -> None:
    """Take `dataset`'s lock before the transaction's snapshot (LOCK takes none; a SELECT takes it before its
    locks). A bulk load swaps new tables in (app.loader.postgres_swap) under an exclusive lock on `dataset`: a
    request then waits and reads the new tables with a snapshot that sees them, where a snapshot taken before the
    swap committed would find them empty."""
    conn.exec_driver_sql(LOCK_DATASET)


def postgresql_connect_args(*, read_only: bool, statement_timeout_ms: int, connect_timeout_s: int) -> dict[str, Any]:
    """What every PostgreSQL connection of the app is opened with (the engine's and the hot path's own)."""
    options = f"-c statement_timeout={statement_timeout_ms} -c lock_timeout={statement_timeout_ms}"
    if read_only:
        options += " -c default_transaction_read_only=on"
    return {"connect_timeout": connect_timeout_s, "options": options}


class Connections:
    """PostgreSQL connections of the hot path's own (app.api.fastpath), beside the engine's pool: opened when none
    is idle, in autocommit (a statement is its own snapshot: no BEGIN, no ROLLBACK), never pinged (one statement is
    one round trip). How many are in use at once is bounded by the caller (the app's `db_slots`); `keep` stay open
    when idle, any more until they have been idle `overflow_idle_s`, so that a steady load opens none (closing each
    one beyond `keep` as soon as it is idle, as a QueuePool does, opened a new PostgreSQL session for about one
    request in twenty under wrk -c16). One that broke (a server restart, pg_terminate_backend) is closed with every
    idle one, so that the next request opens a new one; one in a transaction or mid-statement is closed. Thread-safe."""

    def __init__(
        self,
        engine: Engine,
        *,
        keep: int,
        statement_timeout_ms: int,
        connect_timeout_s: int,
        overflow_idle_s: float = 60.0,
    ) -> None:
        _, params = engine.dialect.create_connect_args(engine.url)
        self.params: dict[str, Any] = {
            **params,
            **postgresql_connect_args(
                read_only=True, statement_timeout_ms=statement_timeout_ms, connect_timeout_s=connect_timeout_s
            ),
        }
        self.keep = keep
        self.overflow_idle_s = overflow_idle_s
        self.idle: list[tuple[psycopg.Connection[Any], float]] = []
        """Idle connections and when each was given back, the most recent last (the next one used)."""
        self.lock = threading.Lock()

    def get(self) -> psycopg.Connection[Any]:
        with self.lock:
            if self.idle:
                return self.idle.pop()[0]
        return psycopg.Connection.connect(autocommit=True, **self.params)

    def put(self, connection: psycopg.Connection[Any]) -> None:
        """Give back a connection `get` returned, whatever happened to it."""
        closing = [connection]
        if connection.broken:
            with self.lock:
                closing += [idle for idle, _ in self.idle]
                self.idle = []
        elif connection.info.transaction_status == TransactionStatus.IDLE:
            now = time.monotonic()
            with self.lock:
                self.idle.append((connection, now))
                closing = []
                while len(self.idle) > self.keep and now - self.idle[0][1] > self.overflow_idle_s:
                    closing.append(self.idle.pop(0)[0])
        for stale in closing:
            stale.close()

    def close(self) -> None:
        """Close the idle connections (at shutdown: none is in use then)."""
        with self.lock:
            idle, self.idle = self.idle, []
        for connection, _ in idle:
            connection.close()
