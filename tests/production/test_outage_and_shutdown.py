"""PostgreSQL outage and graceful shutdown, with a throwaway cluster and an API process of our own.

The tests stop and start their own cluster and run the API on a free 127.0.0.1 port. Every wait is bounded.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
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
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from tests.production.helpers import (
    admin_engine,
    assert_problem_503,
    base_env,
    cadre_data,
    dockerfile_json,
    free_port,
)

# --- PostgreSQL outage and graceful shutdown, with a cluster and an API process of our own -------


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
        self.port = free_port()
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
        admin = admin_engine(cluster.url)
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
        env = {**base_env(), "LOADER_DATABASE_URL": stack.owner_url, "READER_PASSWORD": "reader"}
        for step in (
            ["migrate"],
            ["seed"],
            ["grant-readonly", "--role", "cadre_reader", "--password-env", "READER_PASSWORD"],
        ):
            subprocess.run([*cadre_data(), *step], env=env, check=True, capture_output=True, timeout=120)
        yield stack
    finally:
        cluster.remove()


class ApiProcess:
    """`cadre-data serve` in a subprocess on a free loopback port, as the read-only role."""

    def __init__(self, database_url: str, log_dir: Path, **settings: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {**base_env(), "DATABASE_URL": database_url, **{k.upper(): v for k, v in settings.items()}}
        self.log_path = log_dir / f"api-{self.port}.log"
        self.log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [*cadre_data(), "serve", "--host", "127.0.0.1", "--port", str(self.port), "--graceful-timeout", "10"],
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
    command = dockerfile_json("HEALTHCHECK.*CMD")
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
        body = assert_problem_503(ready, "7")
        assert body["type"].endswith("/database-unavailable")
        assert ready_s < 5, ready_s
        started = time.monotonic()
        data = api.client.get("/v1/metrics", params={"limit": 1})
        data_s = time.monotonic() - started
        assert_problem_503(data, "7")
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
