"""The front door measured: wrk through the compose stack's nginx, cache on and off, beside the replica direct;
and what a fair client sends, which sizes the rate limits (README.md, "Rate limits and the proxy cache").

Run by hand (not in CI) on a machine with a Docker engine, docker-compose and wrk:

    .venv/bin/python -m bench.proxy                   # ~4 minutes: brings a stack up, measures, `down -v`
    .venv/bin/python -m bench.proxy --duration 5 --connections 32

One stack of its own (project `cadrebench<pid>`, a free 127.0.0.1 port, base images from
scripts/base-images.sh), one `api` replica, its access log off (as in bench/run.py), the proxy's limits
raised out of the way; always removed. wrk runs on the host; "direct" is wrk against the replica's address
on the compose network, so all three modes load the same replica. Every run is bounded (wrk `--duration`).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.load_wrk import WrkResult, wrk

ROOT = Path(__file__).resolve().parent.parent
METRIC = "/v1/metrics/canada-emigrated-1985-2005"
# Every request a URL not asked before (random page size and offset): a miss in every cache on the way.
MISS_MIX = """
math.randomseed(os.time())
request = function()
  return wrk.format(nil, "/v1/metrics?limit=" .. math.random(1, 100) .. "&offset=" .. math.random(0, 999999))
end
"""
SCENARIOS = [("all metrics", "/v1/metrics"), ("one metric", METRIC), ("miss mix", "/v1/metrics?<random>")]
CHROMIUM = Path("/usr/bin/chromium")


def compose(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> str:
    result = subprocess.run(
        ["docker-compose", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )
    if result.returncode != 0:
        raise RuntimeError(f"docker-compose {' '.join(args)}: {result.stderr[-1500:]}")
    return result.stdout


def get(port: int, path: str, conn: http.client.HTTPConnection | None = None) -> tuple[int, bytes, dict[str, str]]:
    own = conn is None
    conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read(), {k.lower(): v for k, v in response.getheaders()}
    finally:
        if own:
            conn.close()


def wait_ready(port: int, bound_s: float = 300) -> None:
    deadline = time.monotonic() + bound_s
    while time.monotonic() < deadline:
        try:
            if get(port, "/health/ready")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"the stack was not ready within {bound_s:.0f} s")


@contextmanager
def stack() -> Iterator[int]:
    images = subprocess.run(["bash", "scripts/base-images.sh"], cwd=ROOT, capture_output=True, text=True, check=True)
    for assignment in images.stdout.split("export", 1)[-1].split():
        name, _, value = assignment.partition("=")
        os.environ[name] = value
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    os.environ.update(
        COMPOSE_PROJECT_NAME=f"cadrebench{os.getpid()}",
        CADRE_HTTP_PORT=str(port),
        CADRE_HTTP_BIND="127.0.0.1",
        DOCKER_BUILDKIT="0",
        COMPOSE_DOCKER_CLI_BUILD="0",
        CADRE_ACCESS_LOG="off",
        CADRE_RATE_LIMIT="100000r/s",
        CADRE_RATE_BURST="100000",
        CADRE_CONN_LIMIT="1000",
        CADRE_PROXY_CACHE="on",
    )
    try:
        compose("up", "--build", "-d")
        wait_ready(port)
        yield port
    finally:
        compose("down", "-v", "--remove-orphans", "--timeout", "5", timeout=120)


def proxy_cache(port: int, state: str) -> None:
    compose("up", "-d", "--no-deps", "proxy", env={"CADRE_PROXY_CACHE": state})
    wait_ready(port, 60)


def replica_address() -> str:
    (cid,) = compose("ps", "-q", "api").split()
    inspect = subprocess.run(["docker", "inspect", cid], capture_output=True, text=True, check=True, timeout=30)
    networks = json.loads(inspect.stdout)[0]["NetworkSettings"]["Networks"]
    return f"http://{next(iter(networks.values()))['IPAddress']}:8000"


def load(base: str, duration_s: int, connections: int, script: Path) -> list[WrkResult]:
    results = []
    for name, path in SCENARIOS:
        lua = script if path.endswith("<random>") else None
        target = "/v1/metrics" if lua else path
        wrk(base, target, duration_s=2, connections=connections, threads=1, script=lua)  # warm-up, discarded
        result = wrk(base, target, duration_s=duration_s, connections=connections, threads=1, script=lua)
        result.path = name
        results.append(result)
    return results


# --- what a fair client sends ----------------------------------------------------------------


def page_load(port: int, path: str) -> tuple[int, int, float]:
    """(requests, most in flight at once, seconds) of one page load in headless Chromium, cache empty."""
    from playwright.sync_api import sync_playwright

    in_flight = peak = count = 0

    def started(_: object) -> None:
        nonlocal in_flight, peak, count
        count += 1
        in_flight += 1
        peak = max(peak, in_flight)

    def ended(_: object) -> None:
        nonlocal in_flight
        in_flight -= 1

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_context().new_page()
            page.on("request", started)
            page.on("requestfinished", ended)
            page.on("requestfailed", ended)
            started_at = time.monotonic()
            page.goto(f"http://127.0.0.1:{port}{path}", wait_until="networkidle", timeout=30000)
            return count, peak, time.monotonic() - started_at
        finally:
            browser.close()


def pager(port: int, seconds: float, distinct: bool) -> float:
    """Requests a second of one client paging (limit=100-sized pages) over one keep-alive connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    done, started = 0, time.monotonic()
    try:
        while time.monotonic() - started < seconds:
            # The seed's 31 metrics make one page of 100: pages of 100, 99, ... at each offset are new URLs.
            query = f"limit={100 - done // 31 % 100}&offset={done % 31}" if distinct else "limit=100"
            status, _, _ = get(port, f"/v1/metrics?{query}", conn)
            if status != 200:
                raise RuntimeError(f"pager: {status}")
            done += 1
    finally:
        conn.close()
    return done / (time.monotonic() - started)


def fair_client(port: int) -> list[str]:
    lines = []
    if CHROMIUM.exists():
        for path in ("/docs", "/redoc"):
            count, peak, seconds = page_load(port, path)
            lines.append(f"page load {path:<8} {count} requests, at most {peak} at once, {seconds:.2f} s (Chromium)")
    else:
        lines.append("page loads: skipped (no /usr/bin/chromium)")
    lines.append(f"pager, cache hits    {pager(port, 5, distinct=False):7.0f} req/s (one keep-alive connection)")
    lines.append(f"pager, cache misses  {pager(port, 5, distinct=True):7.0f} req/s (every page a new URL)")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds of wrk per scenario and mode")
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    for tool in ("docker", "docker-compose", "wrk"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} not found")
    with tempfile.TemporaryDirectory() as tmp, stack() as port:
        script = Path(tmp) / "miss.lua"
        script.write_text(MISS_MIX)
        fair = fair_client(port)
        rows: dict[str, list[WrkResult]] = {
            "proxy, cache on": load(f"http://127.0.0.1:{port}", args.duration, args.connections, script)
        }
        proxy_cache(port, "off")
        rows["proxy, cache off"] = load(f"http://127.0.0.1:{port}", args.duration, args.connections, script)
        rows["direct to the replica"] = load(replica_address(), args.duration, args.connections, script)
    print(
        f"wrk -t1 -c{args.connections} -d{args.duration}s (2 s warm-up discarded); one replica; {os.cpu_count()} cores"
    )
    print(f"{'mode':<24}{'scenario':<14}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
    for mode, results in rows.items():
        for result in results:
            errors = result.socket_errors + result.non_2xx
            print(
                f"{mode:<24}{result.path:<14}{result.rate:>9.0f}{result.p50_ms:>9.2f}{result.p99_ms:>9.2f}{errors:>8}"
            )
    print("\nwhat a fair client sends (through the proxy, cache on):")
    for line in fair:
        print("  " + line)


if __name__ == "__main__":
    main()
