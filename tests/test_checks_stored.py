"""The audit stored by the loader and recomputed on every load, on SQLite and, with TEST_POSTGRES_URL,
PostgreSQL. Self-contained: fixtures build their own databases with the migrations and the real loader."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from app import migrations
from app.db import make_engine, normalize_url
from app.loader.load import LoadResult, load
from app.loader.seed import read_seed
from app.models import metadata
from tests.checks_support import SEED, copy_seed, replace_in_checks

# === 4. stored by the loader, recomputed on every load (SQLite; PostgreSQL with TEST_POSTGRES_URL) ===


@pytest.fixture
def checks_seed(tmp_path: Path) -> Path:
    return copy_seed(tmp_path)


def _pg_admin() -> str | None:
    return os.environ.get("TEST_POSTGRES_URL") or None


BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param(
        "postgres",
        id="postgres",
        marks=[
            pytest.mark.postgres,
            pytest.mark.skipif(_pg_admin() is None, reason="TEST_POSTGRES_URL is not set"),
        ],
    ),
]


@pytest.fixture(params=BACKENDS)
def checks_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database of this test's own, migrated to head and empty."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'checks.db'}"
        migrations.upgrade(url)
        yield url
        return
    admin_url = _pg_admin()
    assert admin_url is not None
    name = f"checks_{uuid.uuid4().hex[:12]}"
    admin = create_engine(normalize_url(admin_url), isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = normalize_url(admin_url).set(database=name).render_as_string(hide_password=False)
        migrations.upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _load(url: str, seed: Path = SEED, **kwargs: Any) -> LoadResult:
    engine = make_engine(url, read_only=False)
    try:
        return load(engine, read_seed(seed), **kwargs)
    finally:
        engine.dispose()


def _rows(url: str, sql: str, **params: Any) -> list[Any]:
    engine = make_engine(url, read_only=True)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(sql), params))
    finally:
        engine.dispose()


def test_the_load_stores_the_audit_and_prints_it(checks_db: str) -> None:
    result = _load(checks_db)
    assert (result.changes["checks"].added, result.changes["check_metrics"].added) == (23, 227)
    summary = result.summary()
    assert "consistency audit: 23 checks, 16 pass, 2 warn, 2 fail, 3 info" in summary
    assert "The three periods sum to 1,187,000, 700 below the reported total of more than 1,187,700." in summary
    stored = dict(_rows(checks_db, "SELECT status, count(*) FROM checks GROUP BY status"))
    assert stored == {"pass": 16, "warn": 2, "fail": 2, "info": 3}
    row = _rows(
        checks_db,
        "SELECT observed_value, expected_value, abs_difference, holds FROM checks WHERE id = :id",
        id="sum-periods-vs-settled-2005",
    )
    assert tuple(row[0]) == (1_187_000, 1_187_700, 700, "never")


def test_a_metric_finds_its_checks_in_one_query(checks_db: str) -> None:
    _load(checks_db)
    found = _rows(
        checks_db,
        "SELECT check_id, role FROM check_metrics WHERE metric_id = :m AND role <> 'reference' ORDER BY check_id",
        m="united-states-immigration-cases-1985-2005",
    )
    assert [tuple(r) for r in found] == [
        ("people-per-case-all-destinations", "denominator"),
        ("people-per-case-united-states", "denominator"),
    ]
    indexes = {ix["name"] for ix in inspect(make_engine(checks_db, read_only=True)).get_indexes("check_metrics")}
    assert "ix_check_metrics_metric_id" in indexes
    checks_indexes = {ix["name"] for ix in inspect(make_engine(checks_db, read_only=True)).get_indexes("checks")}
    assert {"ix_checks_status", "ix_checks_kind"} <= checks_indexes


def test_a_second_load_of_the_same_seed_changes_nothing(checks_db: str) -> None:
    first = _load(checks_db)
    second = _load(checks_db)
    assert not second.changed
    assert second.signature == first.signature
    assert "consistency audit: 23 checks" in second.summary()


def test_the_audit_is_recomputed_on_every_load(checks_db: str, checks_seed: Path) -> None:
    _load(checks_db)
    # a wider outlier band: the Nordic countries (6.15 times) and South East Asia (7.14) are no longer flagged
    replace_in_checks(checks_seed, "    outlier_factor: 3\n", "    outlier_factor: 8\n")
    # and a check removed from the declarations disappears with its links
    replace_in_checks(
        checks_seed,
        "  - id: restatement-headline\n",
        "  - id: restatement-headline-gone\n",
    )
    result = _load(checks_db, checks_seed)
    assert result.changes["checks"].changed >= 2 and result.changes["checks"].removed == 1
    statuses = dict(_rows(checks_db, "SELECT id, status FROM checks"))
    assert statuses["people-per-case-nordic"] == statuses["people-per-case-south-east-asia"] == "pass"
    assert statuses["people-per-case-united-states"] == "fail"  # below 1 whatever the band
    assert "restatement-headline" not in statuses and "restatement-headline-gone" in statuses
    assert not _rows(checks_db, "SELECT 1 FROM check_metrics WHERE check_id = 'restatement-headline'")


def test_a_failed_load_keeps_the_old_audit(checks_db: str, checks_seed: Path) -> None:
    _load(checks_db)
    before = _rows(checks_db, "SELECT id, status, explanation FROM checks ORDER BY id")
    replace_in_checks(checks_seed, "    outlier_factor: 3\n", "    outlier_factor: 8\n")

    def fail_after_checks(name: str) -> None:
        if name == "check_metrics":
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        _load(checks_db, checks_seed, after_table=fail_after_checks)
    assert _rows(checks_db, "SELECT id, status, explanation FROM checks ORDER BY id") == before


def test_migration_0002_downgrades_and_upgrades_without_drift(checks_db: str) -> None:
    script = ScriptDirectory.from_config(migrations.alembic_config())
    checks_revision = script.get_revision("9d3376c8a132")  # 0002_checks (no longer the head)
    assert checks_revision is not None and isinstance(checks_revision.down_revision, str)
    migrations.downgrade(checks_db, checks_revision.down_revision)
    engine = make_engine(checks_db, read_only=False)
    try:
        tables = set(inspect(engine).get_table_names())
        assert not {"checks", "check_metrics"} & tables and "metrics" in tables
    finally:
        engine.dispose()
    migrations.upgrade(checks_db)
    _load(checks_db)
    engine = make_engine(checks_db, read_only=False)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
        assert diff == []
        with engine.connect() as conn:
            assert conn.execute(select(metadata.tables["checks"].c.id)).first() is not None
    finally:
        engine.dispose()


def test_the_database_refuses_an_unknown_status(checks_db: str) -> None:
    _load(checks_db)
    engine = make_engine(checks_db, read_only=False)
    try:
        with pytest.raises(Exception, match=r"(?i)check"), engine.begin() as conn:
            conn.execute(text("UPDATE checks SET status = 'maybe' WHERE id = 'restatement-headline'"))
    finally:
        engine.dispose()


def test_url_helper_keeps_the_database_name() -> None:
    # guard for the PostgreSQL fixture above: the per-test database name replaces the server's
    url = normalize_url("postgresql://u:p@h:5432/postgres").set(database="checks_x")
    assert make_url(url.render_as_string(hide_password=False)).database == "checks_x"
