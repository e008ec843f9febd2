"""A bulk load on PostgreSQL fills new tables and swaps them in at the end (app.loader.postgres_swap): afterwards
the schema is exactly the one the migrations make (catalog compared: tables, columns, indexes, constraints,
triggers, owners and grants); a failure at any stage leaves the old data and the old schema; a reader keeps
reading the old data, unhindered, until the swap, and one in the middle of a request is let finish first."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from app.cli import grant_readonly
from app.config import Settings
from app.db import make_engine
from app.loader import postgres_swap
from app.loader.load import LoadResult, load
from app.loader.seed import SeedDataset, read_seed
from app.main import create_app
from bench import synthetic
from tests.conftest import BACKENDS, dump_database, load_seed
from tests.test_migrations import model_diffs

pytestmark = pytest.mark.parametrize("backend", [b for b in BACKENDS if b.values == ("postgres",)])

READER = "cadre_swap_reader"

CATALOG = {
    "tables": "SELECT c.relname, c.relkind, c.relpersistence, c.reloptions::text, pg_get_userbyid(c.relowner), "
    "obj_description(c.oid, 'pg_class') FROM pg_class c WHERE c.relnamespace = current_schema()::regnamespace "
    "AND c.relkind IN ('r', 'p', 'v', 'm', 'S')",
    "grants": "SELECT c.relname, pg_get_userbyid(a.grantor), "
    "CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END, a.privilege_type, a.is_grantable "
    "FROM pg_class c, aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) a "
    "WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r'",
    "columns": "SELECT c.relname, a.attname, row_number() OVER (PARTITION BY c.oid ORDER BY a.attnum), "
    "format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(d.adbin, d.adrelid), a.attidentity, "
    "a.attgenerated, a.attcompression, a.attstorage, a.attcollation::regcollation::text, a.attacl::text, "
    "col_description(c.oid, a.attnum) "
    "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
    "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
    "WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r' AND a.attnum > 0 "
    "AND NOT a.attisdropped",
    "indexes": "SELECT tablename, indexname, indexdef, tablespace FROM pg_indexes WHERE schemaname = current_schema()",
    "constraints": "SELECT c.relname, k.conname, k.contype, pg_get_constraintdef(k.oid), k.condeferrable, "
    "k.condeferred, k.convalidated, i.relname FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid "
    "LEFT JOIN pg_class i ON i.oid = k.conindid WHERE c.relnamespace = current_schema()::regnamespace",
    "triggers": "SELECT c.relname, t.tgfoid::regproc::text, t.tgtype, t.tgenabled, t.tgisinternal, k.conname "
    "FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid LEFT JOIN pg_constraint k ON k.oid = t.tgconstraint "
    "WHERE c.relnamespace = current_schema()::regnamespace",
    "schemas": "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema'",
    "extensions": "SELECT extname, extnamespace::regnamespace::text FROM pg_extension",
}
"""What makes the schema, read from the catalog; names and definitions only (never oids)."""


def catalog(url: str) -> dict[str, list[tuple[Any, ...]]]:
    with psycopg.connect(_plain(url)) as conn:
        return {name: sorted(conn.execute(query).fetchall(), key=repr) for name, query in CATALOG.items()}


def oid_of(url: str, table: str) -> int:
    with psycopg.connect(_plain(url)) as conn:
        row = conn.execute("SELECT %s::regclass::oid", (table,)).fetchone()
        assert row is not None
        return int(row[0])


def _plain(url: str, user: str | None = None) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    if user is not None:
        parsed = parsed.set(username=user, password=None)
    return parsed.render_as_string(hide_password=False)


def _engine(url: str) -> Iterator[Engine]:
    engine = make_engine(url, read_only=False)
    try:
        yield engine
    finally:
        engine.dispose()


def _grant_reader(url: str) -> None:
    for engine in _engine(url):
        grant_readonly(engine, READER, None)


def test_a_bulk_load_leaves_exactly_the_schema_the_migrations_make(empty_db_url: str, tmp_path: Path) -> None:
    _grant_reader(empty_db_url)
    migrated = catalog(empty_db_url)
    first = oid_of(empty_db_url, "metrics")
    load_seed(empty_db_url, synthetic.write_seed(tmp_path / "a", 40))
    assert oid_of(empty_db_url, "metrics") != first  # swapped in, not written in place
    assert catalog(empty_db_url) == migrated
    load_seed(empty_db_url, synthetic.write_seed(tmp_path / "b", 30))  # replacing a bulk load: the same again
    assert catalog(empty_db_url) == migrated
    assert model_diffs(empty_db_url) == []  # `alembic check`
    with psycopg.connect(_plain(empty_db_url, READER)) as reader:  # the API's role reads the new tables
        for table in postgres_swap.SWAPPED:
            reader.execute(f"SELECT count(*) FROM {table}").fetchone()
        assert reader.execute("SELECT count(*) FROM metrics WHERE id LIKE 'syn-%'").fetchone() == (30,)


class Boom(Exception):
    pass


@pytest.mark.parametrize("failing_after", ["metrics", "check_metrics", "metric_representations", "swap"])
def test_a_failure_at_any_stage_of_a_bulk_load_leaves_the_old_data_and_schema(
    empty_db_url: str, tmp_path: Path, failing_after: str
) -> None:
    _grant_reader(empty_db_url)
    load_seed(empty_db_url, synthetic.write_seed(tmp_path / "a", 20))
    before, schema, table = dump_database(empty_db_url), catalog(empty_db_url), oid_of(empty_db_url, "metrics")

    def after_table(name: str) -> None:
        if name == failing_after:
            raise Boom(name)

    dataset = read_seed(synthetic.write_seed(tmp_path / "b", 25))
    for engine in _engine(empty_db_url):
        with pytest.raises(Boom):
            load(engine, dataset, after_table=after_table)
    assert dump_database(empty_db_url) == before
    assert catalog(empty_db_url) == schema
    assert oid_of(empty_db_url, "metrics") == table


def test_parent_rows_the_old_metrics_referred_to_go_after_the_swap(empty_db_url: str, tmp_path: Path) -> None:
    load_seed(empty_db_url, synthetic.write_seed(tmp_path / "a", 5))  # metric 4 is in syn-d0004
    seed_dir = synthetic.write_seed(tmp_path / "b", 3)  # none is: it can go
    path = seed_dir / "destinations.yaml"
    block = "".join(line + "\n" for line in synthetic._destinations_yaml().splitlines()[20:25])
    assert block.startswith("  - id: syn-d0004\n")
    path.write_text(path.read_text().replace(block, ""))
    result = load_seed(empty_db_url, seed_dir)
    assert result.changes["destinations"].removed == 1
    with psycopg.connect(_plain(empty_db_url)) as conn:
        assert conn.execute("SELECT count(*) FROM destinations WHERE id = 'syn-d0004'").fetchone() == (0,)


def test_a_reader_reads_the_old_data_unhindered_until_the_swap(empty_db_url: str, tmp_path: Path) -> None:
    load_seed(empty_db_url, synthetic.write_seed(tmp_path / "a", 20))
    seen: dict[str, tuple[Any, ...]] = {}

    def read(name: str) -> None:
        # A reader that would rather fail than wait: any lock the load holds against it would show.
        if name == "swap":  # swapped, not yet committed: from here to the commit, readers wait
            with pytest.raises(psycopg.errors.LockNotAvailable):
                read("waits")
            return
        with psycopg.connect(_plain(empty_db_url), autocommit=True) as reader:
            reader.execute("SET lock_timeout = '50ms'")
            row = reader.execute(
                "SELECT (SELECT count(*) FROM metrics WHERE id LIKE 'syn-%'), "
                "(SELECT count(*) FROM metric_representations), (SELECT count(*) FROM metric_search WHERE "
                "lower(text) LIKE '%synthetic%'), (SELECT count(*) FROM citations), (SELECT signature FROM dataset)"
            ).fetchone()
            assert row is not None
            seen[name] = row

    read("before")
    dataset = read_seed(synthetic.write_seed(tmp_path / "b", 25))
    for engine in _engine(empty_db_url):
        load(engine, dataset, after_table=read)
    read("after")
    old, new = seen.pop("before"), seen.pop("after")
    assert old[0] == 20 and new[0] == 25 and old[-1] != new[-1]
    stages = ["metrics", "citations", "check_metrics", "metric_representations", "value_counts"]
    assert {name: seen[name] for name in stages} == dict.fromkeys(stages, old)


def test_the_swap_waits_for_a_reader_in_the_middle_of_a_request(empty_db_url: str, tmp_path: Path) -> None:
    load_seed(empty_db_url, synthetic.write_seed(tmp_path / "a", 20))
    engine = make_engine(empty_db_url, read_only=True)  # the API's: one REPEATABLE READ snapshot per request
    dataset = read_seed(synthetic.write_seed(tmp_path / "b", 25))
    swapping = threading.Event()
    loaded: list[BaseException | None] = []

    def run_load() -> None:
        def after_table(name: str) -> None:
            if name == "value_counts":  # the last stage before the swap
                swapping.set()

        try:
            for writer in _engine(empty_db_url):
                load(writer, dataset, after_table=after_table)
            loaded.append(None)
        except BaseException as exc:  # the thread's failure, asserted below
            loaded.append(exc)

    try:
        with engine.connect() as conn:
            first = conn.exec_driver_sql("SELECT signature FROM dataset").scalar()
            loader = threading.Thread(target=run_load)
            loader.start()
            assert swapping.wait(60)
            loader.join(1.0)  # the swap tries for its locks meanwhile, and gives way
            assert loader.is_alive()
            count = conn.exec_driver_sql("SELECT count(*) FROM metrics WHERE id LIKE 'syn-%%'").scalar()
            assert (first, count) == (conn.exec_driver_sql("SELECT signature FROM dataset").scalar(), 20)
            conn.rollback()  # the request ends: the swap goes ahead
            loader.join(60)
            assert loaded == [None]
            after = conn.exec_driver_sql("SELECT count(*) FROM metrics WHERE id LIKE 'syn-%%'").scalar()
            assert after == 25
    finally:
        engine.dispose()


def test_a_request_that_begins_during_the_swap_reads_the_new_data(empty_db_url: str, tmp_path: Path) -> None:
    # Its snapshot must be taken after the swap commits: one taken before (a SELECT takes it before its locks,
    # then waits on them) would find the new tables empty. The API's engine locks `dataset` first (app.db).
    load_seed(empty_db_url, synthetic.write_seed(tmp_path / "a", 20))
    engine = make_engine(empty_db_url, read_only=True)
    seen: list[tuple[Any, ...]] = []

    def request() -> None:
        with engine.connect() as conn:
            row = conn.exec_driver_sql(
                "SELECT (SELECT signature FROM dataset), (SELECT count(*) FROM metrics WHERE id LIKE 'syn-%%')"
            ).one()
            seen.append(tuple(row))

    try:
        result = _load_with_a_request_at_the_swap(
            empty_db_url, read_seed(synthetic.write_seed(tmp_path / "b", 25)), request
        )
        assert seen == [(result.signature, 25)]
    finally:
        engine.dispose()


def _load_with_a_request_at_the_swap(url: str, dataset: SeedDataset, request: Callable[[], None]) -> LoadResult:
    """Load `dataset`; once its tables are swapped in, before the commit, start `request` in a thread and check
    that it waits (for the commit); return when the load and the request are done."""
    reader = threading.Thread(target=request)

    def after_table(name: str) -> None:
        if name == "swap":  # swapped, not yet committed
            reader.start()
            reader.join(0.5)
            assert reader.is_alive()  # waiting for the commit

    for writer in _engine(url):
        result = load(writer, dataset, after_table=after_table)
    reader.join(10)
    assert not reader.is_alive()
    return result


@pytest.mark.parametrize("first", [True, False], ids=["in-a-transaction", "one-statement"])
def test_the_hot_path_reads_the_new_data_when_it_begins_during_the_swap(
    empty_db_url: str, tmp_path: Path, first: bool
) -> None:
    # The hot path (app.api.fastpath) reads without the engine's `begin` event: in a transaction (the first
    # request, or after a reload) it locks `dataset` itself; a page in one autocommit statement takes its snapshot
    # after the statement's locks. Either way: the new data, never the old signature over empty tables.
    load_seed(empty_db_url, synthetic.write_seed(tmp_path / "a", 20))
    app = create_app(Settings(database_url=empty_db_url, response_cache=False))
    seen: list[tuple[int, int, str]] = []
    with TestClient(app) as client:
        if not first:
            client.get("/v1/metrics?limit=1")  # the signature is known: the next page is one statement
        answered = app.state.hot_path.answered

        def request() -> None:
            response = client.get("/v1/metrics?limit=1&value_min=1")
            seen.append((response.status_code, response.json()["total"], response.headers["ETag"]))

        _load_with_a_request_at_the_swap(empty_db_url, read_seed(synthetic.write_seed(tmp_path / "b", 25)), request)
        assert app.state.hot_path.answered == answered + 1
        after = client.get("/v1/metrics?limit=1&value_min=1")
    assert seen == [(200, after.json()["total"], after.headers["ETag"])]
    assert seen[0][1] >= 25


def test_an_owner_that_may_not_create_a_schema_loads_in_place(empty_db_url: str, tmp_path: Path) -> None:
    owner = "cadre_swap_owner"  # owns the tables, not the database: no CREATE on it
    with psycopg.connect(_plain(empty_db_url), autocommit=True) as admin:
        if admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (owner,)).fetchone() is None:
            admin.execute(f"CREATE ROLE {owner} LOGIN")
        admin.execute(f"ALTER SCHEMA public OWNER TO {owner}")
        for (table,) in admin.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall():
            admin.execute(f"ALTER TABLE public.{table} OWNER TO {owner}")
    url = _plain(empty_db_url, owner)
    load_seed(url, synthetic.write_seed(tmp_path / "a", 20))
    table = oid_of(url, "metrics")
    load_seed(url, synthetic.write_seed(tmp_path / "b", 25))
    assert oid_of(url, "metrics") == table  # written in place
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM metrics WHERE id LIKE 'syn-%'").fetchone() == (25,)


def test_old_tables_left_by_a_load_stopped_after_its_commit_go_with_the_next_load(
    empty_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    migrated = catalog(empty_db_url)
    load_seed(empty_db_url, synthetic.write_seed(tmp_path / "a", 20))
    with monkeypatch.context() as patched:
        patched.setattr(postgres_swap, "drop_retired", lambda conn: None)  # as if stopped right after the commit
        load_seed(empty_db_url, synthetic.write_seed(tmp_path / "b", 25))
    assert postgres_swap.RETIRED in {name for (name,) in catalog(empty_db_url)["schemas"]}
    load_seed(empty_db_url, synthetic.write_seed(tmp_path / "c", 30))
    assert catalog(empty_db_url) == migrated
