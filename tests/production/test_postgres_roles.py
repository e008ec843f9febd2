"""PostgreSQL: the API's role can read everything and write nothing; grant-readonly sets it up.

Needs TEST_POSTGRES_URL (skipped without it unless REQUIRE_POSTGRES=1).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from app import migrations
from app.cli import main as cli_main
from app.config import Settings
from app.db import make_engine
from app.main import create_app
from tests.production.helpers import (
    WRITES,
    admin_engine,
)

# --- PostgreSQL: the API's role can read everything and write nothing -------------------------


@dataclass
class Roles:
    admin_url: str
    owner_url: str
    reader_url: str
    owner: str
    reader: str


@pytest.fixture
def pg_roles(postgres_admin_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Roles]:
    """A database owned by a fresh non-superuser owner role, migrated and loaded as that owner."""
    suffix = secrets.token_hex(5)
    owner, reader, database = f"cadre_owner_{suffix}", f"cadre_reader_{suffix}", f"cadre_prod_{suffix}"
    owner_password, reader_password = secrets.token_hex(12), secrets.token_hex(12)
    admin = admin_engine(postgres_admin_url)
    with admin.connect() as conn:
        conn.execute(text(f"CREATE ROLE {owner} LOGIN CREATEROLE PASSWORD '{owner_password}'"))
        conn.execute(text(f"CREATE DATABASE {database} OWNER {owner}"))
    base = make_url(postgres_admin_url).set(database=database)
    roles = Roles(
        admin_url=postgres_admin_url,
        owner_url=base.set(username=owner, password=owner_password).render_as_string(hide_password=False),
        reader_url=base.set(username=reader, password=reader_password).render_as_string(hide_password=False),
        owner=owner,
        reader=reader,
    )
    try:
        migrations.upgrade(roles.owner_url)
        assert cli_main(["seed", "--database-url", roles.owner_url]) == 0
        monkeypatch.setenv("CADRE_TEST_READER_PASSWORD", reader_password)
        assert (
            cli_main(
                [
                    "grant-readonly",
                    "--role",
                    reader,
                    "--password-env",
                    "CADRE_TEST_READER_PASSWORD",
                    "--database-url",
                    roles.owner_url,
                ]
            )
            == 0
        )
        yield roles
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
            conn.execute(text(f"DROP ROLE IF EXISTS {reader}"))
            conn.execute(text(f"DROP ROLE IF EXISTS {owner}"))
        admin.dispose()


@pytest.mark.postgres
def test_postgres_read_only_role_can_read_but_never_write(pg_roles: Roles) -> None:
    engine = make_engine(pg_roles.reader_url, read_only=True)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == migrations.head_revision()
            assert conn.execute(text("SELECT count(*) FROM dataset")).scalar() == 1
            assert conn.execute(text("SELECT count(*) FROM metrics")).scalar_one() > 0
        for statement in (*WRITES, "TRUNCATE dataset"):
            # The session is read-only ...
            with pytest.raises(DBAPIError, match="read-only transaction"), engine.begin() as conn:
                conn.execute(text(statement))
            # ... and a transaction that asks to write is refused by the grants.
            with pytest.raises(DBAPIError, match=r"permission denied|must be owner"), engine.begin() as conn:
                conn.exec_driver_sql("SET TRANSACTION READ WRITE")
                conn.execute(text(statement))
    finally:
        engine.dispose()
    # Even a client that does not ask for read-only sessions gets them: the role's own default.
    plain = create_engine(make_url(pg_roles.reader_url).set(drivername="postgresql+psycopg"), poolclass=NullPool)
    try:
        with plain.connect() as conn:
            assert conn.execute(text("SHOW default_transaction_read_only")).scalar() == "on"
    finally:
        plain.dispose()


@pytest.mark.postgres
def test_grant_readonly_is_idempotent_and_covers_later_tables(
    pg_roles: Roles, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_main(["grant-readonly", "--role", pg_roles.reader, "--database-url", pg_roles.owner_url]) == 0
    assert "created" not in capsys.readouterr().out
    owner = create_engine(make_url(pg_roles.owner_url).set(drivername="postgresql+psycopg"), poolclass=NullPool)
    reader = make_engine(pg_roles.reader_url, read_only=True, pool_size=1)
    try:
        with owner.begin() as conn:
            conn.execute(text("CREATE TABLE later_migration (id INTEGER PRIMARY KEY)"))
        with reader.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM later_migration")).scalar() == 0
        with pytest.raises(DBAPIError, match="permission denied"), reader.begin() as conn:
            conn.exec_driver_sql("SET TRANSACTION READ WRITE")
            conn.execute(text("INSERT INTO later_migration VALUES (1)"))
    finally:
        reader.dispose()
        owner.dispose()


@pytest.mark.postgres
def test_grant_readonly_refuses_roles_that_could_write(pg_roles: Roles, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["grant-readonly", "--role", pg_roles.owner, "--database-url", pg_roles.owner_url]) == 1
    assert "owns the tables" in capsys.readouterr().err
    superuser = make_url(pg_roles.admin_url).username or "postgres"
    assert cli_main(["grant-readonly", "--role", superuser, "--database-url", pg_roles.owner_url]) == 1
    assert "superuser" in capsys.readouterr().err


@pytest.mark.postgres
def test_api_serves_through_the_read_only_role(pg_roles: Roles) -> None:
    with TestClient(create_app(Settings(database_url=pg_roles.reader_url))) as client:
        assert client.get("/health/ready").status_code == 200
        assert client.get("/v1/metrics", params={"limit": 2}).status_code == 200
