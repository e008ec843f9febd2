"""Shared helpers of the reliability suite: the one error shape, free ports, and an API server process."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from tests.api.conftest import no_regex_in_400s

PROBLEM_JSON = "application/problem+json"
# What a problem body must never carry: a traceback, a source path, markup a browser would run.
LEAKS = re.compile(r"Traceback|File \"|\.py\b|/work/|site-packages|/usr/|/tmp/|<|>")


def problem_violations(status: int, content_type: str, body: bytes) -> list[str]:
    """Why a >= 400 response is not a safe problem+json document (empty when it is one)."""
    if content_type.split(";")[0].strip() != PROBLEM_JSON:
        return [f"content-type {content_type!r}, not {PROBLEM_JSON}"]
    try:
        document: Any = json.loads(body)
    except ValueError:
        return ["body is not JSON"]
    problems = []
    if not isinstance(document, dict) or not {"type", "title", "status", "detail"} <= document.keys():
        return ["body lacks type, title, status or detail"]
    if document["status"] != status:
        problems.append(f"status member {document['status']!r} differs from the HTTP status {status}")
    leak = LEAKS.search(body.decode("utf-8", "replace"))
    if leak:
        problems.append(f"body carries {leak.group(0)!r}")
    return problems


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cadre_data() -> list[str]:
    script = Path(sys.executable).parent / "cadre-data"
    return [str(script)] if script.exists() else [sys.executable, "-m", "app.cli"]


def base_env() -> dict[str, str]:
    """This environment without any of the app's settings (a developer's shell may set some)."""
    names = set(Settings.model_fields) | {"LOADER_DATABASE_URL"}
    return {k: v for k, v in os.environ.items() if k.lower() not in names}


class Server:
    """`cadre-data serve` on a free 127.0.0.1 port; every wait bounded, stopped with SIGTERM then SIGKILL."""

    def __init__(self, database_url: str, log_dir: Path, *args: str, **settings: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {**base_env(), "DATABASE_URL": database_url, **{k.upper(): v for k, v in settings.items()}}
        self.log_path = log_dir / f"server-{self.port}.log"
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [*cadre_data(), "serve", "--host", "127.0.0.1", "--port", str(self.port), "--no-access-log", *args],
            env=env,
            cwd=log_dir,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout_s: float = 30) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            assert self.process.poll() is None, self.output()
            try:
                if httpx.get(self.base + "/health/ready", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"not ready after {timeout_s} s\n{self.output()}"
            time.sleep(0.05)

    def output(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-4000:]

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self._log.close()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@pytest.fixture(scope="session")
def client(db_url: str) -> Iterator[TestClient]:
    """An in-process client per backend over the session's loaded database (see tests/conftest.py)."""
    with TestClient(create_app(Settings(database_url=db_url)), raise_server_exceptions=False) as test_client:
        test_client.event_hooks = {"request": [], "response": [no_regex_in_400s]}
        yield test_client
