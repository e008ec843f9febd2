"""Migrations are the only schema path: on a fresh database of each backend they build exactly the models'
schema (`alembic check`), and downgrade to nothing and back."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from app import migrations
from app.db import is_sqlite, make_engine
from app.models import metadata
from tests.conftest import load_seed

ENUM_TYPES = {"unit", "qualifier", "citationlocation", "memberbasis", "membership", "destinationkind", "periodkind"}


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
