"""Getting started: `make run` installs the runtime dependencies only (the dev extra is for `make test`),
serves on HOST and PORT, and stops quietly on Ctrl-C."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from app.config import PROJECT_ROOT
from tests.reliability.conftest import base_env, free_port

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def _dry_run(target: str, tmp_path: Path) -> list[str]:
    """The pip lines `make -n <target>` would run for a virtual environment that does not exist yet."""
    out = subprocess.run(
        ["make", "-n", target, f"VENV={tmp_path / 'venv'}"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    return [line for line in out.splitlines() if "pip install" in line]


def test_make_run_installs_only_the_runtime_and_make_test_the_dev_extra(tmp_path: Path) -> None:
    run = _dry_run("run", tmp_path)
    assert len(run) == 1 and "--constraint requirements.lock" in run[0]
    assert run[0].rstrip().endswith("-e .") and "[dev" not in run[0], run
    test = _dry_run("test", tmp_path)
    assert test and all("--constraint requirements.lock" in line for line in test)
    # the dev extra, and the bench extra whose Datasette tests/test_bench.py runs in-process
    assert any(line.rstrip().endswith("-e '.[dev,bench]'") for line in test), test


def test_make_run_serves_on_host_and_port_and_ctrl_c_exits_quietly(tmp_path: Path) -> None:
    """`make run HOST=127.0.0.1 PORT=<free>` over a fresh database, then SIGINT to its process group, as a
    terminal's Ctrl-C does: the server stops, nothing prints a traceback and make reports no error."""
    port = free_port()
    env = {**base_env(), "DATABASE_URL": f"sqlite:///{tmp_path / 'run.db'}"}
    venv = Path(os.environ.get("VIRTUAL_ENV") or PROJECT_ROOT / ".venv")
    process = subprocess.Popen(
        ["make", "run", "HOST=127.0.0.1", f"PORT={port}", f"VENV={venv}"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, which a terminal's Ctrl-C signals as a whole
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, process.communicate()[0][-3000:]
            try:
                if httpx.get(f"http://127.0.0.1:{port}/v1/sources", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "make run did not serve within 120 s"
            time.sleep(0.2)
        os.killpg(process.pid, signal.SIGINT)
        output = process.communicate(timeout=30)[0]
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    assert "Traceback" not in output and "KeyboardInterrupt" not in output, output[-3000:]
    assert "Error" not in output and "***" not in output, output[-3000:]  # make prints "*** ... Interrupt"
    assert "Finished server process" in output, output[-3000:]
