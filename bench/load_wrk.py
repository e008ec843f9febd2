"""Load: wrk against `cadre-data serve` on 127.0.0.1, 64 connections, every main endpoint in turn.

    .venv/bin/python bench/load_wrk.py [--duration 5] [--connections 64] [--database-url URL]

Prints, per endpoint, requests/s, p50 and p99 latency, socket errors and non-2xx responses, and exits 1
unless there were 0 socket errors and 0 non-2xx. Without --database-url it builds a SQLite database
(migrate + seed) in a temporary directory. Needs `wrk` (Debian package wrk). Only loopback traffic.
"""

from __future__ import annotations

import argparse
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
if str(PROJECT) not in sys.path:
    sys.path.insert(0, str(PROJECT))

ENDPOINTS = (
    "/",
    "/v1/metrics",
    "/v1/metrics?country=SG&sort=-lower",
    "/v1/metrics?value_min=150000&match=within&format=csv",
    "/v1/metrics/canada-emigrated-1985-2005",
    "/v1/citations",
    "/v1/citations/canada-emigrated-1985-2005.1",
    "/v1/checks",
    "/v1/checks/sum-periods-vs-settled-2005",
    "/v1/sources",
    "/v1/reports",
    "/v1/periods",
    "/v1/destinations",
    "/v1/destinations/canada",
    "/health/ready",
)


@dataclass
class WrkResult:
    path: str
    requests: int
    seconds: float
    rate: float
    p50_ms: float
    p99_ms: float
    socket_errors: int
    non_2xx: int

    def line(self) -> str:
        return (
            f"{self.path:<56} {self.rate:>9.0f} req/s  p50 {self.p50_ms:>7.2f} ms  p99 {self.p99_ms:>7.2f} ms  "
            f"socket errors {self.socket_errors}  non-2xx {self.non_2xx}"
        )


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def parse_wrk(path: str, output: str) -> WrkResult:
    requests, seconds = re.search(r"(\d+) requests in ([\d.]+)(m?s)", output).groups()[:2]  # type: ignore[union-attr]
    unit = re.search(r"\d+ requests in [\d.]+(m?s)", output).group(1)  # type: ignore[union-attr]
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    percentiles = dict(re.findall(r"^\s+(\d+)%\s+(\S+)\s*$", output, re.MULTILINE))  # wrk pads "1.01s "
    return WrkResult(
        path=path,
        requests=int(requests),
        seconds=float(seconds) / (1000 if unit == "ms" else 1),
        rate=float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),  # type: ignore[union-attr]
        p50_ms=_ms(percentiles["50"]),
        p99_ms=_ms(percentiles["99"]),
        socket_errors=sum(int(n) for n in errors.groups()) if errors else 0,
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
    )


def wrk(
    base: str, path: str, *, duration_s: float, connections: int, threads: int = 2, script: Path | None = None
) -> WrkResult:
    command = [
        "wrk",
        "--latency",
        "-t",
        str(threads),
        "-c",
        str(connections),
        "-d",
        f"{duration_s:g}s",
        "--timeout",
        "10s",
    ]
    if script is not None:
        command += ["-s", str(script)]
    result = subprocess.run([*command, base + path], capture_output=True, text=True, timeout=duration_s + 60)
    if result.returncode != 0:
        raise RuntimeError(f"wrk failed: {result.stderr or result.stdout}")
    return parse_wrk(path, result.stdout)


def build_database(directory: Path) -> str:
    """A SQLite database made as production makes it: migrate, then seed."""
    url = f"sqlite:///{directory / 'figures.db'}"
    env = _env(LOADER_DATABASE_URL=url, DATABASE_URL=url)
    for step in (["migrate"], ["seed"]):
        subprocess.run([*_cadre_data(), *step], env=env, check=True, capture_output=True, timeout=120)
    return url


def _cadre_data() -> list[str]:
    script = Path(sys.executable).parent / "cadre-data"
    return [str(script)] if script.exists() else [sys.executable, "-m", "app.cli"]


def _env(**settings: str) -> dict[str, str]:
    import os

    from app.config import Settings

    names = set(Settings.model_fields) | {"LOADER_DATABASE_URL"}
    return {**{k: v for k, v in os.environ.items() if k.lower() not in names}, **settings}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Served:
    base: str
    pid: int


@contextmanager
def serve(database_url: str, log_dir: Path, *args: str) -> Iterator[Served]:
    """`cadre-data serve` (one process: uvicorn runs in it) on a free loopback port, until the block ends."""
    port = free_port()
    log = (log_dir / f"server-{port}.log").open("wb")
    process = subprocess.Popen(
        [*_cadre_data(), "serve", "--host", "127.0.0.1", "--port", str(port), "--no-access-log", *args],
        # No access log (on by default: ACCESS_LOG=json): the figures measure serving, not logging.
        env=_env(DATABASE_URL=database_url, LOG_LEVEL="warning", ACCESS_LOG="off"),
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=log_dir,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError((log_dir / f"server-{port}.log").read_text(errors="replace"))
            try:
                with urllib.request.urlopen(base + "/health/ready", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the server was not ready within 30 s")
            time.sleep(0.05)
        yield Served(base, process.pid)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        log.close()


def run(base: str, *, duration_s: float, connections: int) -> list[WrkResult]:
    results = []
    for path in ENDPOINTS:
        result = wrk(base, path, duration_s=duration_s, connections=connections)
        print(result.line(), flush=True)
        results.append(result)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per endpoint (default 5)")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--database-url", help="default: a fresh SQLite database in a temporary directory")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed (Debian: apt-get install wrk)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="cadre-load-") as tmp:
        url = args.database_url or build_database(Path(tmp))
        with serve(url, Path(tmp)) as server:
            print(f"wrk, {args.connections} connections, {args.duration:g} s per endpoint, against {server.base}")
            results = run(server.base, duration_s=args.duration, connections=args.connections)
    bad = [r for r in results if r.socket_errors or r.non_2xx]
    worst = max(results, key=lambda r: r.p99_ms)
    print(
        f"total: {sum(r.requests for r in results)} requests, socket errors {sum(r.socket_errors for r in results)}, "
        f"non-2xx {sum(r.non_2xx for r in results)}; worst p99 {worst.p99_ms:.2f} ms ({worst.path})"
    )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
