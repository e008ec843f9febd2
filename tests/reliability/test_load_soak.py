"""Load and soak, short versions of bench/load_wrk.py and bench/soak.py, against a real `cadre-data serve`
on 127.0.0.1: wrk with 64 connections on every main endpoint (1 s each), then 10 s at half the measured
maximum rate with RSS and open file descriptors sampled every second.

Reliability assertions only (no speed assertion): 0 socket errors, 0 non-2xx, RSS at the end within 10%
of RSS after the warm-up, file descriptors stable. The figures are printed (`pytest -s`).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from bench.load_wrk import ENDPOINTS, serve, wrk
from bench.soak import soak


@pytest.fixture(scope="module")
def wrk_installed() -> None:
    if shutil.which("wrk") is None:
        if os.environ.get("REQUIRE_WRK") == "1":
            pytest.fail("REQUIRE_WRK=1 but wrk is not installed (Debian package wrk)", pytrace=False)
        pytest.skip("wrk is not installed (Debian package wrk)")


@pytest.mark.usefixtures("wrk_installed")
def test_every_endpoint_under_64_connections_without_an_error(sqlite_url: str, tmp_path: Path) -> None:
    with serve(sqlite_url, tmp_path) as server:
        results = [wrk(server.base, path, duration_s=1, connections=64) for path in ENDPOINTS]
    print()
    for result in results:
        print(result.line())
    assert all(r.requests > 0 for r in results)
    assert [r.path for r in results if r.socket_errors or r.non_2xx] == []


@pytest.mark.usefixtures("wrk_installed")
def test_short_soak_at_half_the_maximum_rate(sqlite_url: str, tmp_path: Path) -> None:
    with serve(sqlite_url, tmp_path) as server:
        result = soak(server.base, server.pid, tmp_path, duration_s=10, warmup_s=3, connections=16, max_rate_s=1)
    print("\n" + result.report())
    assert result.run.requests > 0
    assert result.errors == 0
    assert abs(result.rss_growth) <= 0.10, result.report()
    assert abs(result.fd_drift) <= 2, result.report()
