"""Soak: the main endpoints at half the measured maximum rate for a few minutes, RSS and open file
descriptors of the server sampled every second.

    .venv/bin/python bench/soak.py [--duration 180] [--warmup 30] [--connections 16] [--database-url URL]

First measures the maximum rate (wrk, 64 connections, every endpoint in turn, a few seconds), then runs
wrk at about half of it (a Lua `delay()` per request spaces each connection's requests), and prints the
figures. Exits 1 unless: 0 socket errors and 0 non-2xx, RSS at the end within 10% of RSS after the
warm-up, and as many file descriptors open at the end as after the warm-up (within 2). Loopback only.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
if str(PROJECT) not in sys.path:
    sys.path.insert(0, str(PROJECT))

from bench.load_wrk import ENDPOINTS, WrkResult, build_database, parse_wrk, serve  # noqa: E402

RSS_GROWTH_MAX = 0.10
FD_DRIFT_MAX = 2


def lua_script(directory: Path, delay_ms: float | None) -> Path:
    """Round-robin over every endpoint; with `delay_ms`, each connection waits that long between requests."""
    paths = ", ".join(f'"{path}"' for path in ENDPOINTS)
    script = f"local paths = {{ {paths} }}\nlocal counter = 0\n"
    script += "request = function()\n  counter = counter + 1\n"
    script += '  return wrk.format("GET", paths[(counter % #paths) + 1])\nend\n'
    if delay_ms is not None:
        script += f"delay = function()\n  return {delay_ms:.3f}\nend\n"
    path = directory / ("soak.lua" if delay_ms is not None else "max.lua")
    path.write_text(script)
    return path


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def open_fds(pid: int) -> int:
    return len(list(Path(f"/proc/{pid}/fd").iterdir()))


@dataclass
class SoakResult:
    max_rate: float
    target_rate: float
    run: WrkResult
    samples: list[tuple[float, int, int]] = field(default_factory=list)  # (seconds, RSS KiB, fds)
    warmup_s: float = 0.0

    @property
    def warm(self) -> tuple[float, int, int]:
        return next(s for s in self.samples if s[0] >= self.warmup_s)

    @property
    def end(self) -> tuple[float, int, int]:
        return self.samples[-1]

    @property
    def rss_growth(self) -> float:
        return (self.end[1] - self.warm[1]) / self.warm[1]

    @property
    def fd_drift(self) -> int:
        return self.end[2] - self.warm[2]

    @property
    def errors(self) -> int:
        return self.run.socket_errors + self.run.non_2xx

    @property
    def ok(self) -> bool:
        return self.errors == 0 and abs(self.rss_growth) <= RSS_GROWTH_MAX and abs(self.fd_drift) <= FD_DRIFT_MAX

    def report(self) -> str:
        rss = [s[1] for s in self.samples]
        return "\n".join(
            [
                f"maximum rate {self.max_rate:.0f} req/s (64 connections); soak target {self.target_rate:.0f} req/s",
                f"soak: {self.run.requests} requests in {self.run.seconds:.1f} s = {self.run.rate:.0f} req/s, "
                f"p50 {self.run.p50_ms:.2f} ms, p99 {self.run.p99_ms:.2f} ms, socket errors {self.run.socket_errors}, "
                f"non-2xx {self.run.non_2xx} (error rate {self.errors / max(self.run.requests, 1):.6f})",
                f"RSS: {self.warm[1] / 1024:.1f} MiB after the {self.warmup_s:g} s warm-up, "
                f"{self.end[1] / 1024:.1f} MiB at the end ({self.rss_growth * 100:+.2f}%), "
                f"min {min(rss) / 1024:.1f}, max {max(rss) / 1024:.1f} MiB, {len(self.samples)} samples",
                f"open fds: {self.warm[2]} after the warm-up, {self.end[2]} at the end ({self.fd_drift:+d})",
            ]
        )


def soak(
    base: str, pid: int, workdir: Path, *, duration_s: float, warmup_s: float, connections: int, max_rate_s: float
) -> SoakResult:
    max_run = subprocess.run(
        [
            "wrk",
            "-t",
            "2",
            "-c",
            "64",
            "-d",
            f"{max_rate_s:g}s",
            "--latency",
            "-s",
            str(lua_script(workdir, None)),
            base,
        ],
        capture_output=True,
        text=True,
        timeout=max_rate_s + 60,
    )
    max_rate = parse_wrk("max", max_run.stdout).rate
    target = max_rate / 2
    delay_ms = connections * 1000 / target
    samples: list[tuple[float, int, int]] = []
    started = time.monotonic()
    with subprocess.Popen(
        [
            "wrk",
            "-t",
            "2",
            "-c",
            str(connections),
            "-d",
            f"{duration_s:g}s",
            "--latency",
            "--timeout",
            "10s",
            "-s",
            str(lua_script(workdir, delay_ms)),
            base,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as run:
        # Sampled only while wrk runs: its connections are open the whole time.
        while run.poll() is None and time.monotonic() - started < duration_s + 60:
            sample = (time.monotonic() - started, rss_kib(pid), open_fds(pid))
            if run.poll() is None and sample[0] < duration_s - 0.5:
                samples.append(sample)
            time.sleep(1.0 - (time.monotonic() - started) % 1.0)  # on the second
        output, _ = run.communicate(timeout=30)
    return SoakResult(max_rate, target, parse_wrk("soak", output), samples, warmup_s)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=180.0, help="seconds at half the maximum rate")
    parser.add_argument("--warmup", type=float, default=30.0, help="seconds before the RSS baseline")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--max-rate-seconds", type=float, default=5.0)
    parser.add_argument("--database-url", help="default: a fresh SQLite database in a temporary directory")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed (Debian: apt-get install wrk)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="cadre-soak-") as tmp:
        workdir = Path(tmp)
        url = args.database_url or build_database(workdir)
        with serve(url, workdir) as server:
            result = soak(
                server.base,
                server.pid,
                workdir,
                duration_s=args.duration,
                warmup_s=args.warmup,
                connections=args.connections,
                max_rate_s=args.max_rate_seconds,
            )
    print(result.report())
    print("PASS" if result.ok else "FAIL")
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
