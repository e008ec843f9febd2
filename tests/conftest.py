"""Test databases, built only the way production builds them: Alembic migrations, then the real loader.

One deterministic, loaded database per backend per session (`db_url`, read by most tests), and a fresh
migrated but empty one per test (`empty_db_url`) for tests that write. PostgreSQL runs when
TEST_POSTGRES_URL names a server whose user may CREATE DATABASE (`make test` starts a throwaway one);
otherwise its tests are skipped, unless REQUIRE_POSTGRES=1 (CI), which makes them fail instead.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from app import migrations
from app.config import PROJECT_ROOT
from app.db import make_engine, normalize_url
from app.loader.load import TABLE_ORDER, LoadResult, load
from app.loader.seed import SeedDataset, read_seed
from app.models import metadata

SEED_DIR = PROJECT_ROOT / "seed"
BACKENDS = [pytest.param("sqlite", id="sqlite"), pytest.param("postgres", id="postgres", marks=pytest.mark.postgres)]

Dump = dict[str, list[str]]


# --- helpers -------------------------------------------------------------------------------


def dumped_tables() -> list[str]:
    """The loader's tables (TABLE_ORDER), `dataset`, then any other table of the models."""
    names = [*TABLE_ORDER, "dataset"]
    return names + sorted(set(metadata.tables) - set(names))


def dump_database(url: str) -> Dump:
    """Every row of every table of the models, as sorted canonical JSON: equal dumps mean equal content."""
    engine = make_engine(url, read_only=True)
    try:
        with engine.connect() as conn:
            return {
                name: sorted(
                    json.dumps(dict(row), sort_keys=True, default=str, ensure_ascii=False)
                    for row in conn.execute(select(metadata.tables[name])).mappings()
                )
                for name in dumped_tables()
            }
    finally:
        engine.dispose()


def load_seed(url: str, seed_dir: Path = SEED_DIR, **kwargs: Any) -> LoadResult:
    """Validate `seed_dir` and load it into `url` with the real loader; returns the LoadResult."""
    engine = make_engine(url, read_only=False)
    try:
        return load(engine, read_seed(seed_dir), **kwargs)
    finally:
        engine.dispose()


def _admin_engine(admin_url: str) -> Engine:
    return create_engine(normalize_url(admin_url), isolation_level="AUTOCOMMIT", poolclass=NullPool)


def create_postgres_database(admin_url: str, *, template: str | None = None, prefix: str = "cadre_test") -> str:
    """Create a uniquely named database on the admin URL's server; return its URL."""
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:10]}"
    engine = _admin_engine(admin_url)
    try:
        with engine.connect() as conn:
            statement = f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")
            if int(conn.execute(text("SHOW server_version_num")).scalar_one()) >= 150000:
                # PostgreSQL 15's default strategy WAL-logs every page: 20 times slower for a small database.
                statement += " STRATEGY FILE_COPY"
            conn.execute(text(statement))
    finally:
        engine.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_postgres_database(admin_url: str, url: str) -> None:
    name = make_url(url).database
    engine = _admin_engine(admin_url)
    try:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        engine.dispose()


def copy_sqlite(source: Path, target: Path) -> None:
    """Copy a SQLite database consistently (the backup API, whatever sits in its WAL)."""
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


# --- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def seed_dataset() -> SeedDataset:
    return read_seed(SEED_DIR)


@pytest.fixture
def seed_copy(tmp_path: Path) -> Path:
    """A private copy of seed/ that a test may edit."""
    target = tmp_path / "seed"
    shutil.copytree(SEED_DIR, target)
    return target


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    url = os.environ.get("TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail("REQUIRE_POSTGRES=1 but TEST_POSTGRES_URL is not set: the PostgreSQL tests cannot run")
        pytest.skip("TEST_POSTGRES_URL is not set (`make test` starts a throwaway PostgreSQL when it can)")
    return url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head and empty; copied for each test that needs a fresh database."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    migrations.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_template(postgres_admin_url: str) -> Iterator[str]:
    """A PostgreSQL database migrated to head and empty; the TEMPLATE of each per-test database."""
    url = create_postgres_database(postgres_admin_url, prefix="cadre_template")
    try:
        migrations.upgrade(url)
        yield str(make_url(url).database)
    finally:
        drop_postgres_database(postgres_admin_url, url)


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory, seed_dataset: SeedDataset) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'figures.db'}"
    migrations.upgrade(url)
    engine = make_engine(url, read_only=False)
    try:
        load(engine, seed_dataset)
    finally:
        engine.dispose()
    return url


@pytest.fixture(scope="session")
def postgres_url(postgres_admin_url: str, seed_dataset: SeedDataset) -> Iterator[str]:
    url = create_postgres_database(postgres_admin_url)
    try:
        migrations.upgrade(url)
        engine = make_engine(url, read_only=False)
        try:
            load(engine, seed_dataset)
        finally:
            engine.dispose()
        yield url
    finally:
        drop_postgres_database(postgres_admin_url, url)


@pytest.fixture(scope="session", params=BACKENDS)
def db_url(request: pytest.FixtureRequest) -> str:
    """The session's loaded database, once per backend. Read it; never write to it."""
    return str(request.getfixturevalue(f"{request.param}_url"))


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def empty_db_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database of this test's own, migrated to head and empty."""
    if backend == "sqlite":
        path = tmp_path / "empty.db"
        copy_sqlite(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    admin_url = request.getfixturevalue("postgres_admin_url")
    url = create_postgres_database(admin_url, template=request.getfixturevalue("postgres_template"))
    try:
        yield url
    finally:
        drop_postgres_database(admin_url, url)


@pytest.fixture
def blank_db_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database of this test's own with no schema at all (not even alembic_version)."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'blank.db'}"
        return
    admin_url = request.getfixturevalue("postgres_admin_url")
    url = create_postgres_database(admin_url)
    try:
        yield url
    finally:
        drop_postgres_database(admin_url, url)
