"""The benchmark: this API against Datasette and a raw ASGI ceiling, side by side, in one run. See bench/README.md.

    .venv/bin/python -m bench.run [--rounds 2] [--duration 5] [--connections 16] [--metrics 1000000]

Every server runs alone, one process, pinned to core 0 (`taskset -c 0`), access log off; wrk runs on core 1.
Targets are interleaved round by round; the table gives medians with the spread (min-max) over rounds.
"""

from __future__ import annotations

import argparse
import base64
import csv
import io
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from bench import export, synthetic

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SERVER_CPU, LOAD_CPU = "0", "1"


@dataclass(frozen=True)
class Scenario:
    name: str
    db: str  # "seed" or "big"
    ours: str
    datasette: str
    kind: str = "list"  # list, item, csv or html (a page: the rows of its table)
    hot: bool = False


SCENARIOS = (
    Scenario("all metrics", "seed", "/v1/metrics", "/figures/metrics.json", hot=True),
    Scenario(
        "destination + unit",
        "seed",
        "/v1/metrics?destination=overseas-incl-hk-macau&unit=persons",
        "/figures/metrics.json?destination_id=overseas-incl-hk-macau&unit=persons",
        hot=True,
    ),
    Scenario(
        "value >= 150,000",
        "seed",
        "/v1/metrics?value_min=150000&match=within",
        "/figures/metrics.json?lower__gte=150000",
        hot=True,
    ),
    Scenario(
        "one metric by id",
        "seed",
        "/v1/metrics/canada-emigrated-1985-2005",
        "/figures/metrics/canada-emigrated-1985-2005.json",
        kind="item",
        hot=True,
    ),
    Scenario("CSV export", "seed", "/v1/metrics?format=csv", "/figures/metrics.csv", kind="csv"),
    # The same table as a page people read: our explorer's HTML against Datasette's table page.
    Scenario("metrics page (HTML)", "seed", "/v1/metrics?format=html", "/figures/metrics", kind="html", hot=True),
    # The 1M scenarios, and the same kind of query on the seed: two indexed columns, about ten rows; a page
    # after a cursor. The seed holds 31 metrics, so the comparison uses pages of 20 on both.
    Scenario(
        "indexed filter, seed",
        "seed",
        "/v1/metrics?measure=immigration_cases&unit=cases",
        "/figures/metrics.json?measure=immigration_cases&unit=cases",
    ),
    Scenario(
        "deep page of 20, seed",
        "seed",
        "/v1/metrics?limit=20&after=hong-kong-emigrated-1985-2005",
        "/figures/metrics.json?_next=hong-kong-emigrated-1985-2005&_size=20",
    ),
    Scenario(
        "indexed filter, 1M",
        "big",
        "/v1/metrics?destination=syn-d0123&period=syn-p045",
        "/figures/metrics.json?destination_id=syn-d0123&period_id=syn-p045",
    ),
    Scenario(
        "deep page of 20, 1M",
        "big",
        "/v1/metrics?limit=20&after=syn-0500000",
        "/figures/metrics.json?_next=syn-0500000&_size=20",
    ),
    Scenario(
        "deep page of 100, 1M",
        "big",
        "/v1/metrics?limit=100&after=syn-0500000",
        "/figures/metrics.json?_next=syn-0500000&_size=100",
    ),
)
TARGETS = ("api", "api-uncached", "datasette", "ceiling")


# --- child processes -----------------------------------------------------------------------


def measured(cmd: list[str], env: dict[str, str]) -> tuple[float, int]:
    """Run `cmd`; its wall time (s) and peak RSS (bytes), from wait4's rusage of that child."""
    start = time.perf_counter()
    process = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {process.stderr.read().decode() if process.stderr else ''}")
    return elapsed, usage.ru_maxrss * 1024


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "LOADER_DATABASE_URL", "SEED_DIR")}
    env.update(extra)
    env["LOG_LEVEL"] = "warning"
    # No access log: the figures measure serving, as they did before the JSON log existed (ACCESS_LOG=json).
    env["ACCESS_LOG"] = "off"
    return env


def migrate_and_load(url: str, seed_dir: Path) -> tuple[float, int]:
    env = _env(DATABASE_URL=url)
    subprocess.run([str(BIN / "cadre-data"), "migrate"], env=env, check=True, capture_output=True)
    return measured([str(BIN / "cadre-data"), "seed", "--seed-dir", str(seed_dir)], env)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str) -> tuple[int, bytes, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read(), response.headers.get("content-type", "")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), ""


@dataclass
class Server:
    target: str
    port: int
    process: subprocess.Popen[bytes]

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rss(self) -> tuple[int, int]:
        """(current, peak) resident set size of the server process, bytes."""
        fields = {}
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            fields[name] = value.strip()
        return int(fields["VmRSS"].split()[0]) * 1024, int(fields["VmHWM"].split()[0]) * 1024


@contextmanager
def serve(target: str, paths: dict[str, Path], probe: str) -> Iterator[Server]:
    """Start one target alone on 127.0.0.1, pinned to core 0; stop it (SIGTERM, then SIGKILL) afterwards."""
    port = free_port()
    uvicorn = [str(BIN / "uvicorn"), "--host", "127.0.0.1", "--port", str(port), "--no-access-log"]
    uvicorn += ["--log-level", "warning", "--app-dir", str(ROOT)]
    if target in ("api", "api-uncached"):
        cmd = [str(BIN / "cadre-data"), "serve", "--port", str(port), "--no-access-log"]
        env = _env(DATABASE_URL=f"sqlite:///{paths['db']}", RESPONSE_CACHE=str(target == "api").lower())
    elif target == "datasette":
        cmd = [*uvicorn, "--factory", "bench.targets:datasette"]
        env = _env(BENCH_DATASETTE_DB=str(paths["flat"]), BENCH_DATASETTE_INSPECT=str(paths["inspect"]))
    else:
        cmd = [*uvicorn, "--factory", "bench.targets:ceiling"]
        env = _env(BENCH_CEILING_FILE=str(paths["ceiling"]))
    process = subprocess.Popen(["taskset", "-c", SERVER_CPU, *cmd], env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
    server = Server(target, port, process)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if get(server.base + probe)[0] == 200:
                    break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{target} did not start (exit {process.poll()})")
            time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- rows each target returns --------------------------------------------------------------


def row_ids(target: str, kind: str, body: bytes) -> list[str]:
    if kind == "html":  # our table rows carry data-id; Datasette links the primary key in its col-id cells
        pattern = r'<tr data-id="([^"]+)"' if target != "datasette" else r'<td class="col-id[^"]*"><a [^>]*>([^<]+)</a>'
        return re.findall(pattern, body.decode())
    if kind == "csv":
        return [row["id"] for row in csv.DictReader(io.StringIO(body.decode()))]
    document = json.loads(body)
    if target == "datasette":
        index = document["columns"].index("id")
        return [row[index] for row in document["rows"]]
    return [document["id"]] if kind == "item" else [row["id"] for row in document["data"]]


# --- wrk -----------------------------------------------------------------------------------


@dataclass
class Sample:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def wrk(url: str, duration: int, connections: int) -> Sample:
    out = subprocess.run(
        [
            "taskset",
            "-c",
            LOAD_CPU,
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{duration}s",
            "--latency",
            "--timeout",
            "10s",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if socket_errors:
        errors += sum(int(n) for n in socket_errors.groups())
    return Sample(rps, p50, p99, errors)


# --- the run -------------------------------------------------------------------------------


@dataclass
class Results:
    samples: dict[tuple[str, str], list[Sample]] = field(default_factory=dict)
    rss: dict[str, int] = field(default_factory=dict)


def prepare(work: Path, n: int, postgres: bool) -> tuple[dict[str, dict[str, Path]], list[tuple[str, str, float, int]]]:
    loads: list[tuple[str, str, float, int]] = []
    dbs: dict[str, dict[str, Path]] = {}
    synthetic_dir = work / "synthetic-seed"
    t = time.perf_counter()
    synthetic.write_seed(synthetic_dir, n)
    print(f"generated {n:,} synthetic metrics in {time.perf_counter() - t:.1f} s", flush=True)
    for name, seed_dir in (("seed", ROOT / "seed"), ("big", synthetic_dir)):
        folder = work / name
        folder.mkdir(parents=True, exist_ok=True)
        db = folder / "data.db"
        elapsed, peak = migrate_and_load(f"sqlite:///{db}", seed_dir)
        loads.append((name, "SQLite", elapsed, peak))
        print(f"loaded {name} into SQLite: {elapsed:.1f} s, peak {peak / 2**20:.0f} MiB", flush=True)
        flat = folder / "figures.db"
        export.export(f"sqlite:///{db}", flat)
        export.inspect(flat, folder / "inspect.json")
        dbs[name] = {"db": db, "flat": flat, "inspect": folder / "inspect.json", "ceiling": folder / "ceiling.json"}
    if postgres:
        loads += load_postgres(work, synthetic_dir)
    return dbs, loads


def load_postgres(work: Path, synthetic_dir: Path) -> list[tuple[str, str, float, int]]:
    from sqlalchemy import create_engine, text

    pgdir = Path(tempfile.mkdtemp(prefix="bench-pg."))
    script = ROOT / "scripts" / "pg-throwaway.sh"
    out: list[tuple[str, str, float, int]] = []
    try:
        url = subprocess.run([str(script), "start", str(pgdir)], capture_output=True, text=True, check=True).stdout
        url = url.strip().splitlines()[-1]
        admin = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
        for name, seed_dir in (("seed", ROOT / "seed"), ("big", synthetic_dir)):
            with admin.connect() as conn:
                conn.execute(text(f"CREATE DATABASE bench_{name}"))
            db_url = url.rsplit("/", 1)[0] + f"/bench_{name}"
            elapsed, peak = migrate_and_load(db_url, seed_dir)
            out.append((name, "PostgreSQL", elapsed, peak))
            print(f"loaded {name} into PostgreSQL: {elapsed:.1f} s, peak {peak / 2**20:.0f} MiB", flush=True)
        admin.dispose()
    finally:
        subprocess.run([str(script), "stop", str(pgdir)], capture_output=True, check=False)
    return out


def verify_and_record(dbs: dict[str, dict[str, Path]]) -> None:
    """Every scenario returns the same rows from our API and Datasette; the ceiling gets our exact bytes."""
    for db, paths in dbs.items():
        scenarios = [s for s in SCENARIOS if s.db == db]
        stored: dict[str, tuple[str, str]] = {}
        with serve("api", paths, scenarios[0].ours) as api:
            ours = {}
            for s in scenarios:
                status, body, content_type = get(api.base + s.ours)
                assert status == 200, (s.name, status)
                ours[s.name] = row_ids("api", s.kind, body)
                stored[s.ours] = (content_type, base64.b64encode(body).decode())
        paths["ceiling"].write_text(json.dumps(stored))
        with serve("datasette", paths, scenarios[0].datasette) as ds:
            for s in scenarios:
                status, body, _ = get(ds.base + s.datasette)
                assert status == 200, (s.name, status)
                theirs = row_ids("datasette", s.kind, body)
                if theirs != ours[s.name]:
                    raise SystemExit(f"{s.name}: Datasette returns other rows ({theirs[:3]}...) than ours")
                print(f"  {s.name}: {len(theirs)} row(s), the same from every target", flush=True)


def measure(dbs: dict[str, dict[str, Path]], rounds: int, duration: int, connections: int) -> Results:
    results = Results()
    for r in range(rounds):
        order = TARGETS[r % len(TARGETS) :] + TARGETS[: r % len(TARGETS)]  # interleaved, a new first each round
        for db, paths in dbs.items():
            scenarios = [s for s in SCENARIOS if s.db == db]
            for target in order:
                path_of = (lambda s: s.datasette) if target == "datasette" else (lambda s: s.ours)
                with serve(target, paths, path_of(scenarios[0])) as server:
                    for s in scenarios:
                        url = server.base + path_of(s)
                        wrk(url, 1, connections)  # warm-up, discarded
                        sample = wrk(url, duration, connections)
                        results.samples.setdefault((s.name, target), []).append(sample)
                        print(f"round {r + 1} {target:12} {s.name:22} {sample.rps:9.0f} req/s", flush=True)
                    if target.startswith("api"):
                        label = f"{target}, {'seed' if db == 'seed' else 'synthetic'} database"
                        results.rss[label] = max(results.rss.get(label, 0), server.rss()[1])
    return results


def _spread(values: list[float], fmt: str) -> str:
    med = statistics.median(values)
    return f"{med:{fmt}} ({min(values):{fmt}}-{max(values):{fmt}})" if len(values) > 1 else f"{med:{fmt}}"


def report(results: Results, loads: list[tuple[str, str, float, int]], args: argparse.Namespace) -> None:
    med = {key: statistics.median(x.rps for x in samples) for key, samples in results.samples.items()}
    p99 = {key: statistics.median(x.p99_ms for x in samples) for key, samples in results.samples.items()}
    print()
    print(
        f"wrk -t1 -c{args.connections} -d{args.duration}s, {args.rounds} rounds; server on core {SERVER_CPU}, wrk on "
        f"core {LOAD_CPU}; medians (min-max over rounds)"
    )
    header = (
        f"{'scenario':22} {'target':12} {'req/s':>22} {'p50 ms':>20} {'p99 ms':>20} {'errors':>6} "
        f"{'x datasette':>11} {'% ceiling':>9} {'p99/ds':>7}"
    )
    print(header)
    print("-" * len(header))
    for s in SCENARIOS:
        for target in TARGETS:
            samples = results.samples.get((s.name, target))
            if not samples:
                continue
            key = (s.name, target)
            vs_ds = med[key] / med[(s.name, "datasette")]
            vs_ceiling = 100 * med[key] / med[(s.name, "ceiling")]
            print(
                f"{s.name:22} {target:12} {_spread([x.rps for x in samples], '.0f'):>22} "
                f"{_spread([x.p50_ms for x in samples], '.2f'):>20} {_spread([x.p99_ms for x in samples], '.2f'):>20} "
                f"{sum(x.errors for x in samples):>6} {vs_ds:>10.1f}x {vs_ceiling:>8.0f}% "
                f"{p99[key] / p99[(s.name, 'datasette')]:>7.2f}"
            )
        print()
    print("1M metrics against the seed, the same query (req/s ratio, 1M / seed):")
    for target in ("api", "api-uncached", "datasette"):
        parts = []
        for what in ("indexed filter", "deep page of 20"):
            big, small = med.get((f"{what}, 1M", target)), med.get((f"{what}, seed", target))
            if big and small:
                parts.append(f"{what} {big / small:.2f}")
        print(f"  {target:12} " + ", ".join(parts))
    print()
    print("loader (cadre-data seed, a fresh database): wall time, peak RSS of the process")
    for name, backend, elapsed, peak in loads:
        label = "seed (31 metrics)" if name == "seed" else f"{args.metrics:,} synthetic metrics"
        print(f"  {label:28} {backend:10} {elapsed:7.1f} s  {peak / 2**20:7.0f} MiB")
    print()
    for target, peak in results.rss.items():
        print(f"API RSS ({target}), peak under load: {peak / 2**20:.0f} MiB")
    print(f"server: {server_stack()}")


def server_stack() -> str:
    import importlib.util

    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    return f"uvicorn (http={http}, loop={loop}), one process each"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--duration", type=int, default=5, help="seconds of wrk per scenario and round")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--metrics", type=int, default=1_000_000, help="synthetic metrics in the big database")
    parser.add_argument("--no-postgres", action="store_true", help="skip the PostgreSQL load figures")
    parser.add_argument("--work", type=Path, help="working directory (default: a temporary one, removed)")
    args = parser.parse_args()
    _cursor_at_the_middle(args.metrics)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk not found: apt-get install wrk")
    work = args.work or Path(tempfile.mkdtemp(prefix="cadre-bench."))
    try:
        print(f"server: {server_stack()}; work directory {work}", flush=True)
        dbs, loads = prepare(work, args.metrics, postgres=not args.no_postgres)
        verify_and_record(dbs)
        results = measure(dbs, args.rounds, args.duration, args.connections)
        report(results, loads, args)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)


def _cursor_at_the_middle(metrics: int) -> None:
    """The deep-page scenarios page from the middle id of the big database, whatever its size: a cursor that is
    not among the rows answers an empty page (as documented), which would compare nothing."""
    global SCENARIOS
    middle = synthetic.metric_id(metrics // 2)
    SCENARIOS = tuple(
        replace(s, ours=s.ours.replace("syn-0500000", middle), datasette=s.datasette.replace("syn-0500000", middle))
        for s in SCENARIOS
    )


if __name__ == "__main__":
    main()
