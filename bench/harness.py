"""What every benchmark mode shares: the databases it prepares (SQLite files, their Datasette export, a throwaway
PostgreSQL cluster), the servers it starts (one process each, pinned to core 0), and wrk (on core 1)."""

from __future__ import annotations

import csv
import io
import json
import os
import re
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

from bench import export, synthetic

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SERVER_CPU, LOAD_CPU = "0", "1"
Load = tuple[str, str, float, int]
"""(database, backend, wall time s, peak RSS bytes) of one `cadre-data seed`."""

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
def serve(target: str, paths: dict[str, Path], probe: str, pg_url: str | None = None) -> Iterator[Server]:
    """Start one target alone on 127.0.0.1, pinned to core 0; stop it (SIGTERM, then SIGKILL) afterwards.
    `api-pg` serves the PostgreSQL database at `pg_url`, uncached."""
    port = free_port()
    uvicorn = [str(BIN / "uvicorn"), "--host", "127.0.0.1", "--port", str(port), "--no-access-log"]
    uvicorn += ["--log-level", "warning", "--app-dir", str(ROOT)]
    if target in ("api", "api-uncached"):
        cmd = [str(BIN / "cadre-data"), "serve", "--port", str(port), "--no-access-log"]
        env = _env(DATABASE_URL=f"sqlite:///{paths['db']}", RESPONSE_CACHE=str(target == "api").lower())
    elif target == "api-route":  # api-uncached without its hot path (app.api.fastpath): the route answers each
        cmd = [str(BIN / "cadre-data"), "serve", "--port", str(port), "--no-access-log"]
        env = _env(DATABASE_URL=f"sqlite:///{paths['db']}", RESPONSE_CACHE="false", FAST_PATH="false")
    elif target == "api-pg":
        assert pg_url is not None, "api-pg needs a PostgreSQL database"
        cmd = [str(BIN / "cadre-data"), "serve", "--port", str(port), "--no-access-log"]
        env = _env(DATABASE_URL=pg_url, RESPONSE_CACHE="false")
    elif target == "ceiling-miss":
        cmd = [*uvicorn, "--factory", "bench.targets:ceiling_miss"]
        env = _env(BENCH_CEILING_DB=str(paths["db"]))
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


def wrk(url: str, duration: int, connections: int, script: Path | None = None) -> Sample:
    """`script`: a Lua script choosing each request's path (bench.misses.lua_script)."""
    options = ["-t1", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "10s"]
    options += ["-s", str(script)] if script else []
    out = subprocess.run(
        ["taskset", "-c", LOAD_CPU, "wrk", *options, url],
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


# --- databases -----------------------------------------------------------------------------


def prepare(work: Path, n: int) -> tuple[dict[str, dict[str, Path]], list[Load], Path]:
    """The seed and `n` synthetic metrics loaded into SQLite, each exported for Datasette; and the synthetic seed."""
    loads: list[Load] = []
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
        t = time.perf_counter()
        export.export(f"sqlite:///{db}", flat)
        export.inspect(flat, folder / "inspect.json")
        print(f"exported {name} for Datasette: {time.perf_counter() - t:.1f} s", flush=True)
        dbs[name] = {"db": db, "flat": flat, "inspect": folder / "inspect.json", "ceiling": folder / "ceiling.json"}
    return dbs, loads, synthetic_dir


@contextmanager
def postgres_cluster() -> Iterator[str]:
    """A throwaway cluster (scripts/pg-throwaway.sh) for the length of the block: its superuser URL."""
    pgdir = Path(tempfile.mkdtemp(prefix="bench-pg."))
    script = ROOT / "scripts" / "pg-throwaway.sh"
    try:
        url = subprocess.run([str(script), "start", str(pgdir)], capture_output=True, text=True, check=True).stdout
        yield url.strip().splitlines()[-1]
    finally:
        subprocess.run([str(script), "stop", str(pgdir)], capture_output=True, check=False)


def load_postgres(url: str, synthetic_dir: Path) -> tuple[dict[str, str], list[Load]]:
    """The seed and the synthetic seed, each into a new database of the cluster at `url`: their URLs, the loads."""
    from sqlalchemy import create_engine, text

    urls: dict[str, str] = {}
    loads: list[Load] = []
    admin = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    try:
        for name, seed_dir in (("seed", ROOT / "seed"), ("big", synthetic_dir)):
            with admin.connect() as conn:
                conn.execute(text(f"CREATE DATABASE bench_{name}"))
            urls[name] = url.rsplit("/", 1)[0] + f"/bench_{name}"
            elapsed, peak = migrate_and_load(urls[name], seed_dir)
            loads.append((name, "PostgreSQL", elapsed, peak))
            print(f"loaded {name} into PostgreSQL: {elapsed:.1f} s, peak {peak / 2**20:.0f} MiB", flush=True)
    finally:
        admin.dispose()
    return urls, loads


def ratio(a: float, b: float | None) -> float:
    """a / b; nan when b is missing or 0 (a target that completed no request in the time: say so, not crash)."""
    return a / b if b else float("nan")


def server_stack() -> str:
    import importlib.util

    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    return f"uvicorn (http={http}, loop={loop}), one process each"
