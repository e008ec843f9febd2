"""Migrations are the only schema path: on a fresh database of each backend they build exactly the models'
schema (`alembic check`), and downgrade to nothing and back."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import IntegrityError

from app import migrations
from app.api.queries import metric_table, period_table
from app.db import SQLITE_PAGE_SIZE, is_sqlite, make_engine
from app.models import metadata
from tests.conftest import load_seed

ENUM_TYPES = {"qualifier", "citationlocation", "memberbasis", "membership", "destinationkind", "periodkind"}
"""PostgreSQL enum types at the head (`unit` became text in 0009: an enum sorts in declared order, not as text)."""


def schema_of(url: str) -> tuple[set[str], set[str]]:
    """(tables, PostgreSQL enum types) in the database; the search table (outside the models, an FTS5 table
    with its shadow tables on SQLite) counts as one."""
    engine = make_engine(url, read_only=False)
    try:
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
            if any(t.startswith(migrations.SEARCH_TABLE) for t in tables):
                tables = {t for t in tables if not t.startswith(migrations.SEARCH_TABLE)} | {migrations.SEARCH_TABLE}
            enums: set[str] = set()
            if not is_sqlite(url):
                enums = set(
                    conn.execute(
                        text(
                            "SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
                            "WHERE t.typtype = 'e' AND n.nspname = current_schema()"
                        )
                    ).scalars()
                )
            return tables, enums
    finally:
        engine.dispose()


def model_diffs(url: str) -> list[object]:
    """What `alembic check` reports: differences between the models and the migrated database."""
    engine = make_engine(url, read_only=False)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn,
                opts={
                    "compare_type": True,
                    "render_as_batch": is_sqlite(url),
                    "target_metadata": metadata,
                    "include_object": migrations.include_object,
                },
            )
            return list(compare_metadata(context, metadata))
    finally:
        engine.dispose()


def head_of(url: str) -> str | None:
    engine = make_engine(url, read_only=False)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    finally:
        engine.dispose()


def test_upgrade_builds_every_table(blank_db_url: str) -> None:
    migrations.upgrade(blank_db_url)
    tables, enums = schema_of(blank_db_url)
    assert tables == set(metadata.tables) | {"alembic_version", migrations.SEARCH_TABLE}
    assert head_of(blank_db_url) == migrations.head_revision()
    if not is_sqlite(blank_db_url):
        assert enums >= ENUM_TYPES


def test_migrated_schema_matches_the_models(blank_db_url: str) -> None:
    migrations.upgrade(blank_db_url)
    assert model_diffs(blank_db_url) == []


def test_downgrade_to_base_removes_everything_and_upgrade_works_again(blank_db_url: str) -> None:
    migrations.upgrade(blank_db_url)
    load_seed(blank_db_url)

    migrations.downgrade(blank_db_url, "base")
    tables, enums = schema_of(blank_db_url)
    assert tables <= {"alembic_version"}
    assert enums == set()

    migrations.upgrade(blank_db_url)
    tables, _ = schema_of(blank_db_url)
    assert tables == set(metadata.tables) | {"alembic_version", migrations.SEARCH_TABLE}
    assert model_diffs(blank_db_url) == []
    assert load_seed(blank_db_url).changes["metrics"].added == 31


def period_dates_that_differ(url: str) -> list[tuple[str, str | None, str | None]]:
    """(metric, its period_dates, its period's `start/end`) for every metric where the two differ: the copy the
    loader (and migration 0008) makes must always be the period's dates, null without a period."""
    engine = make_engine(url, read_only=True)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(
                    metric_table.c.id, metric_table.c.period_dates, period_table.c.start_date, period_table.c.end_date
                )
                .select_from(metric_table)
                .outerjoin(period_table, period_table.c.id == metric_table.c.period_id)
            ).all()
    finally:
        engine.dispose()
    expected = {
        r.id: None if r.start_date is None else f"{r.start_date.isoformat()}/{r.end_date.isoformat()}" for r in rows
    }
    return [(r.id, r.period_dates, expected[r.id]) for r in rows if r.period_dates != expected[r.id]]


def test_0008_gives_the_stored_figures_their_period_dates_and_keeps_0007s_indexes(blank_db_url: str) -> None:
    """Upgrading a loaded database fills metrics.period_dates (sort=period reads it) for the rows already there;
    the downgrade drops the column without copying the table, which would lose 0007's expression indexes."""
    migrations.upgrade(blank_db_url)
    load_seed(blank_db_url)
    migrations.downgrade(blank_db_url, "9d4a7e2b6c05")
    engine = make_engine(blank_db_url, read_only=True)
    try:
        with engine.connect() as conn:
            assert "period_dates" not in {c["name"] for c in inspect(conn).get_columns("metrics")}
            if is_sqlite(blank_db_url):
                found = "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'metrics'"
            else:
                found = "SELECT indexname FROM pg_indexes WHERE tablename = 'metrics'"
            indexes = set(conn.execute(text(found)).scalars())
    finally:
        engine.dispose()
    assert {"ix_metrics_order_lower", "ix_metrics_order_destination_id_desc"} <= indexes
    assert not {i for i in indexes if "period_dates" in i or i.endswith("_keyset")}
    migrations.upgrade(blank_db_url)
    assert period_dates_that_differ(blank_db_url) == []
    assert model_diffs(blank_db_url) == []


def test_unit_is_text_on_both_backends_and_sort_unit_agrees(blank_db_url: str) -> None:
    """0009: `sort=unit` orders the unit as text on SQLite and PostgreSQL alike (a PostgreSQL enum sorted in its
    declared order); PostgreSQL still refuses a unit outside the vocabulary, and the downgrade restores the enum."""
    migrations.upgrade(blank_db_url)
    load_seed(blank_db_url)
    engine = make_engine(blank_db_url, read_only=False)
    try:
        with engine.connect() as conn:
            units = list(conn.exec_driver_sql("SELECT DISTINCT unit FROM metrics ORDER BY unit").scalars())
            assert units == sorted(units) and len(units) >= 2
            if not is_sqlite(blank_db_url):
                with pytest.raises(IntegrityError):
                    conn.exec_driver_sql("UPDATE metrics SET unit = 'acres' WHERE id = (SELECT min(id) FROM metrics)")
                conn.rollback()
    finally:
        engine.dispose()
    migrations.downgrade(blank_db_url, "8b2f6c1d3e58")
    if not is_sqlite(blank_db_url):
        assert "unit" in schema_of(blank_db_url)[1]
    migrations.upgrade(blank_db_url)
    assert head_of(blank_db_url) == migrations.head_revision()


def page_size_of(path: Path) -> int:
    with closing(sqlite3.connect(path)) as conn:
        size: int = conn.execute("PRAGMA page_size").fetchone()[0]
        return size


def test_a_fresh_sqlite_file_gets_large_pages_and_an_existing_one_keeps_its_own(tmp_path: Path) -> None:
    # Rows of several KB (the stored representations) waste most of a 4 KiB page; the page size is fixed by the
    # first table, so only a file created by the read-write engine gets SQLITE_PAGE_SIZE.
    migrations.upgrade(f"sqlite:///{tmp_path / 'fresh.db'}")
    assert page_size_of(tmp_path / "fresh.db") == SQLITE_PAGE_SIZE != 4096

    with closing(sqlite3.connect(tmp_path / "old.db")) as conn:
        conn.execute("PRAGMA page_size = 4096")
        conn.execute("CREATE TABLE before_the_engine (x)")
    migrations.upgrade(f"sqlite:///{tmp_path / 'old.db'}")
    assert page_size_of(tmp_path / "old.db") == 4096
    assert head_of(f"sqlite:///{tmp_path / 'old.db'}") == migrations.head_revision()
