"""Crash-safe loads: `cadre-data seed` is SIGKILLed at random moments (fixed seed), at least 50 times per
backend, alternating between two datasets. After each kill the database is integral and holds exactly the
old dataset or the new one (compared by a content signature over every row of every table), and API
readers running meanwhile get no error and only ever see one dataset or the other.

Each loader process starts warm (imports done, waiting on stdin) so the random delay counts from the
moment the load itself starts; delays are drawn uniformly over [0, 1.2 x] the measured load duration.
"""

from __future__ import annotations

import hashlib
import json
import random
import select
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from app import migrations
from app.config import Settings
from app.loader.load import signature_of
from app.loader.seed import read_seed
from app.main import create_app
from tests.conftest import (
    BACKENDS,
    SEED_DIR,
    create_postgres_database,
    drop_postgres_database,
    dump_database,
    load_seed,
)
from tests.reliability.conftest import base_env
from tests.test_loader import edit, removable_metric, remove_metric

KILLS = 50
RANDOM_SEED = 6
WARM_LOADER = (
    "import sys\n"
    "import app.cli, app.db, app.loader.load, app.loader.seed, app.checks, app.migrations\n"
    "app.migrations.head_revision()\n"
    "print('ready', flush=True)\n"
    "seed_dir = sys.stdin.readline().strip()\n"
    "sys.exit(app.cli.main([*sys.argv[1:], '--seed-dir', seed_dir]))\n"
)


def content_signature(url: str) -> str:
    """SHA-256 over every row of every table, but the time of the load."""
    dump = dump_database(url)
    dump["dataset"] = sorted(
        json.dumps({k: v for k, v in json.loads(row).items() if k != "loaded_at"}, sort_keys=True)
        for row in dump["dataset"]
    )
    return hashlib.sha256(json.dumps(dump, sort_keys=True).encode()).hexdigest()


class WarmLoader:
    """`cadre-data seed` in a subprocess with its imports done, started by a line on stdin."""

    def __init__(self, url: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", WARM_LOADER, "seed", "--database-url", url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=base_env(),
            cwd=Path(__file__).resolve().parents[2],
        )

    def wait_warm(self, timeout_s: float = 30) -> None:
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], timeout_s)
        assert ready, "the loader did not start in time"
        assert self.process.stdout.readline() == b"ready\n", self.process.stderr.read() if self.process.stderr else ""

    def go(self, seed_dir: Path) -> float:
        assert self.process.stdin is not None
        self.process.stdin.write(f"{seed_dir}\n".encode())
        self.process.stdin.flush()
        return time.monotonic()

    def finish(self, timeout_s: float = 60) -> int:
        try:
            returncode = self.process.wait(timeout=timeout_s)
            if returncode not in (0, -signal.SIGKILL) and self.process.stderr is not None:
                raise AssertionError(f"the loader failed ({returncode}): {self.process.stderr.read()[-2000:]!r}")
            return returncode
        finally:
            for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
                if stream is not None:
                    stream.close()

    def kill(self) -> bool:
        """SIGKILL; True if the process was still running (its load interrupted)."""
        running = self.process.poll() is None
        if running:
            self.process.send_signal(signal.SIGKILL)
        returncode = self.finish(10)
        return running and returncode == -signal.SIGKILL


class Readers:
    """A thread reading the API (index, a page of metrics, citations as CSV) in a loop until stopped."""

    def __init__(self, url: str, signatures: set[str]) -> None:
        self.app = create_app(Settings(database_url=url))
        self.signatures = signatures
        self.requests = 0
        self.errors: list[str] = []
        self.seen: Counter[str] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with TestClient(self.app, raise_server_exceptions=False) as client:
            while not self._stop.is_set():
                for url in ("/", "/v1/metrics?limit=1000", "/v1/citations?format=csv", "/v1/checks?limit=5"):
                    response = client.get(url)
                    self.requests += 1
                    if response.status_code != 200:
                        self.errors.append(f"{url}: {response.status_code} {response.text[:200]}")
                    elif url == "/":
                        signature = response.json()["dataset_signature"]
                        self.seen[signature[:12]] += 1
                        if signature not in self.signatures:
                            self.errors.append(f"unknown dataset signature {signature}")
                self._stop.wait(0.005)  # leave the loader some CPU

    def __enter__(self) -> Readers:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        assert not self._thread.is_alive()


def _integral(backend: str, url: str) -> None:
    if backend == "sqlite":
        path = make_url(url).database
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert conn.execute("PRAGMA foreign_key_check").fetchall() == []


def _wait_writers_gone(backend: str, url: str) -> None:
    """PostgreSQL ends a killed client's transaction when it notices the closed socket: wait for that."""
    if backend != "postgres":
        return
    engine = create_engine(make_url(url).set(drivername="postgresql+psycopg"), poolclass=NullPool)
    try:
        deadline = time.monotonic() + 10
        with engine.connect() as conn:
            while conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL"
                )
            ).scalar():
                assert time.monotonic() < deadline, "a killed loader's transaction is still open"
                time.sleep(0.02)
                conn.rollback()
    finally:
        engine.dispose()


@pytest.fixture(params=BACKENDS)
def loaded_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A database of this test's own, migrated and loaded with seed/."""
    backend = str(request.param)
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'figures.db'}"
        migrations.upgrade(url)
        load_seed(url)
        yield backend, url
        return

    admin_url = request.getfixturevalue("postgres_admin_url")
    url = create_postgres_database(admin_url, template=request.getfixturevalue("postgres_template"))
    try:
        load_seed(url)
        yield backend, url
    finally:
        drop_postgres_database(admin_url, url)


def test_sigkill_during_loads_leaves_the_old_dataset_or_the_new(loaded_db: tuple[str, str], tmp_path: Path) -> None:
    backend, url = loaded_db
    old_seed = tmp_path / "old"
    new_seed = tmp_path / "new"
    shutil.copytree(SEED_DIR, old_seed)
    shutil.copytree(SEED_DIR, new_seed)
    remove_metric(new_seed, removable_metric(new_seed))
    edit(new_seed, "periods.yaml", "label: from 1985 to 2005", "label: 1985 to 2005")
    seeds = {"old": old_seed, "new": new_seed}
    dataset_signatures = {name: signature_of(read_seed(path)) for name, path in seeds.items()}

    content = {"old": content_signature(url)}
    rng = random.Random(RANDOM_SEED)
    outcomes: Counter[str] = Counter()
    durations: list[float] = []
    held = "old"
    kills = iterations = 0
    started = time.monotonic()
    with Readers(url, set(dataset_signatures.values())) as readers:
        loader = WarmLoader(url)
        while kills < KILLS:
            iterations += 1
            assert iterations <= 4 * KILLS, f"only {kills} kills landed in {iterations} loads"
            target = "new" if held == "old" else "old"
            loader.wait_warm()
            upcoming = WarmLoader(url)  # warms up while this one runs
            go = loader.go(seeds[target])
            if len(durations) < 3:  # three full loads first: the delays are drawn from their duration
                assert loader.finish() == 0
                durations.append(time.monotonic() - go)
                killed = False
            else:
                delay = rng.uniform(0, 1.1 * sorted(durations)[len(durations) // 2])
                time.sleep(max(0.0, go + delay - time.monotonic()))
                killed = loader.kill()
                kills += killed
                if not killed:
                    durations.append(time.monotonic() - go)  # an upper bound: it had finished by then
            _wait_writers_gone(backend, url)
            _integral(backend, url)
            signature = content_signature(url)
            if not killed:
                content.setdefault(target, signature)
            holds = [name for name, value in content.items() if value == signature]
            assert holds, f"after kill {kills}: the database holds neither dataset"
            held = holds[0]
            outcomes[f"{'killed' if killed else 'completed'}, {'new' if held == target else 'old'} dataset"] += 1
            loader = upcoming
        loader.kill()
    elapsed = time.monotonic() - started
    load_ms = sorted(durations)[len(durations) // 2] * 1000
    print(
        f"\n{backend}: {kills} SIGKILLs in {iterations} loads (load ~{load_ms:.0f} ms) "
        f"in {elapsed:.1f} s; after each: {dict(outcomes)}; readers: {readers.requests} requests, "
        f"{len(readers.errors)} errors, datasets seen {dict(readers.seen)}"
    )
    assert kills >= KILLS
    assert not readers.errors, readers.errors[:5]
    assert readers.requests > 0
    assert {"old", "new"} <= set(content)
    # Kills landed before and after the commit: both outcomes occurred.
    assert any(key.startswith("killed, new") for key in outcomes) or any(
        key.startswith("killed, old") for key in outcomes
    )
