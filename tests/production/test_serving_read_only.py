"""SQLite in production: read-only by construction, health and readiness in process, start-up validation."""

from __future__ import annotations

import re
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from app import migrations
from app.cli import main as cli_main
from app.config import Settings
from app.db import make_engine
from app.main import create_app
from tests.production.helpers import (
    WRITES,
    assert_problem_503,
    base_env,
    cadre_data,
    free_port,
)

# --- SQLite: read-only by construction, health and readiness in process -----------------------


def test_sqlite_api_engine_refuses_every_write(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url, read_only=True)
    try:
        for statement in WRITES:
            with pytest.raises(OperationalError, match="readonly database"), engine.begin() as conn:
                conn.execute(text(statement))
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM dataset")).scalar() == 1
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def sqlite_client(sqlite_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(database_url=sqlite_url, retry_after_s=7))) as client:
        yield client


def test_live_answers_without_the_database(tmp_path: Path, sqlite_template: Path) -> None:
    path = tmp_path / "figures.db"
    shutil.copy(sqlite_template, path)
    app = create_app(Settings(database_url=f"sqlite:///{path}"))
    path.unlink()  # the database goes away after the process started
    with TestClient(app) as client:
        response = client.get("/health/live")
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}
        assert response.headers["cache-control"] == "no-store"
        assert client.get("/health/ready").status_code == 503


def test_ready_when_schema_at_head_and_dataset_loaded(sqlite_client: TestClient) -> None:
    response = sqlite_client.get("/health/ready")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ok"
    assert body["revision"] == migrations.head_revision()
    assert re.fullmatch(r"[0-9a-f]{64}", body["dataset"])
    assert response.headers["cache-control"] == "no-store"


def test_data_answers_say_how_long_a_cache_may_serve_them_stale(sqlite_url: str) -> None:
    # The proxy (deploy/nginx.conf) serves stale only within what these say: its own config allows nothing more.
    settings = Settings(database_url=sqlite_url, cache_max_age=7, stale_if_error_s=11)
    with TestClient(create_app(settings)) as client:
        fresh = client.get("/v1/sources")
        cached = client.get("/v1/sources")  # answered by the fast cache: the same header
        not_modified = client.get("/v1/sources", headers={"If-None-Match": fresh.headers["etag"]})
    expected = "public, max-age=7, stale-while-revalidate=7, stale-if-error=11"
    assert fresh.headers["cache-control"] == cached.headers["cache-control"] == expected
    assert not_modified.status_code == 304 and not_modified.headers["cache-control"] == expected


def test_health_supports_head_and_stays_out_of_the_api_docs(sqlite_client: TestClient) -> None:
    for path in ("/health/live", "/health/ready"):
        response = sqlite_client.head(path)
        assert response.status_code == 200
        assert response.content == b""
        assert response.headers["cache-control"] == "no-store"
    paths = sqlite_client.get("/openapi.json").json()["paths"]
    assert not [path for path in paths if path.startswith("/health")]


@pytest.mark.parametrize(
    ("state", "slug", "detail"),
    [
        ("missing-file", "database-unavailable", "cannot be reached"),
        ("no-schema", "schema-not-ready", "alembic_version"),
        ("old-revision", "schema-not-ready", "not the head"),
        ("not-loaded", "dataset-not-loaded", "0 rows"),
    ],
)
def test_not_ready_is_503_problem_with_the_reason(
    state: str, slug: str, detail: str, tmp_path: Path, sqlite_template: Path
) -> None:
    path = tmp_path / "figures.db"
    if state == "no-schema":
        sqlite3.connect(path).close()
    else:
        shutil.copy(sqlite_template, path)
    if state == "old-revision":
        with sqlite3.connect(path) as conn:
            conn.execute("UPDATE alembic_version SET version_num = '0000older'")
    app = create_app(Settings(database_url=f"sqlite:///{path}", retry_after_s=9))
    if state == "missing-file":
        path.unlink()
    with TestClient(app) as client:
        response = client.get("/health/ready")
    body = assert_problem_503(response, "9")
    assert body["type"].endswith("/" + slug)
    assert detail in body["detail"]


def test_ready_answers_within_its_deadline_when_the_database_hangs(sqlite_url: str) -> None:
    """A connection that never comes (a black-holed host) still gets a 503 quickly, twice in a row."""
    app = create_app(Settings(database_url=sqlite_url, pool_timeout_s=1.0, retry_after_s=3))

    def hanging_connect() -> sqlite3.Connection:
        time.sleep(2.5)
        return sqlite3.connect(":memory:", check_same_thread=False)

    app.state.engine = create_engine("sqlite://", creator=hanging_connect, poolclass=NullPool)
    with TestClient(app) as client:
        for _ in range(2):
            started = time.monotonic()
            response = client.get("/health/ready")
            elapsed = time.monotonic() - started
            body = assert_problem_503(response, "3")
            assert elapsed < 2.0, elapsed
            assert body["type"].endswith("/database-unavailable")
        time.sleep(2.6)  # let the abandoned checks finish before the engine goes away


def test_invalid_settings_stop_the_process_with_a_clear_message(tmp_path: Path) -> None:
    for name, value in (("DATABASE_URL", "mysql://x"), ("POOL_SIZE", "0"), ("LOG_LEVEL", "loud")):
        env = {**base_env(), name: value}
        result = subprocess.run(
            [*cadre_data(), "serve", "--host", "127.0.0.1", "--port", str(free_port())],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode != 0
        assert f"{name}:" in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
        assert "Uvicorn running" not in result.stderr


def test_grant_readonly_on_sqlite_is_a_no_op(sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["grant-readonly", "--role", "cadre_reader", "--database-url", sqlite_url]) == 0
    assert "mode=ro" in capsys.readouterr().out
