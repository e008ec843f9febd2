"""What the production tests share: the writes a read-only connection must refuse, and the 503 shape."""

from __future__ import annotations

import json
import os
import re
import socket
import sys
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from app.config import PROJECT_ROOT, Settings

WRITES = (
    "INSERT INTO measures (id, label) VALUES ('intruder', 'x')",
    "UPDATE measures SET label = 'changed'",
    "DELETE FROM dataset",
    "CREATE TABLE intruder (id INTEGER)",
    "DROP TABLE citations",
)
PROBLEM_KEYS = {"type", "title", "status", "detail"}


def assert_problem_503(response: httpx.Response, retry_after: str) -> dict[str, Any]:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["retry-after"] == retry_after
    assert response.headers["cache-control"] == "no-store"
    body: dict[str, Any] = response.json()
    assert body.keys() >= PROBLEM_KEYS and body["status"] == 503
    return body


def admin_engine(url: str) -> Any:
    return create_engine(make_url(url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")


def dockerfile_json(instruction: str) -> list[str]:
    """The exec-form (JSON) argument list closing the first line that starts with `instruction`."""
    match = re.search(rf"^{instruction}\b.*?(\[.*\])\s*$", dockerfile_text(), re.MULTILINE)
    assert match, instruction
    value: list[str] = json.loads(match.group(1))
    return value


def dockerfile_text() -> str:
    """The Dockerfile with continuation lines joined: one instruction a line."""
    return re.sub(r"\\\n\s*", " ", (PROJECT_ROOT / "Dockerfile").read_text())


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
