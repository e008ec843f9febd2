"""The benchmark's pieces, fast, so they cannot rot: the synthetic seed is deterministic and loads through the
loader's bulk path (metrics.jsonl) on both backends, the Datasette export holds our rows, the ceiling replays
our bytes. The benchmark itself (`python -m bench.run`, minutes) is not part of the test suite."""

from __future__ import annotations

import asyncio
import base64
import csv
import hashlib
import io
import json
import random
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.api.queries import METRIC_CSV_COLUMNS
from app.config import Settings
from app.main import create_app
from bench import export, harness, latency, misses, synthetic, targets
from tests.conftest import SEED_DIR, copy_sqlite, dump_database, load_seed

N = 300


def _digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.iterdir()):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()


def test_the_generator_is_deterministic(tmp_path: Path) -> None:
    first = synthetic.write_seed(tmp_path / "a", N)
    second = synthetic.write_seed(tmp_path / "b", N)
    assert _digest(first) == _digest(second)
    lines = (first / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == N and json.loads(lines[0])["id"] == "syn-0000000"


def test_bulk_metrics_load_validate_and_serve(empty_db_url: str, tmp_path: Path) -> None:
    seed_dir = synthetic.write_seed(tmp_path / "syn", N)
    first = load_seed(empty_db_url, seed_dir)
    assert first.changes["metrics"].total == N + 31 and first.changes["citations"].added == N + 32
    assert not load_seed(empty_db_url, seed_dir).changed  # same file: nothing written
    dump = dump_database(empty_db_url)
    assert len(dump["metrics"]) == N + 31 and len(dump["citations"]) == N + 32

    with TestClient(create_app(Settings(database_url=empty_db_url, response_cache=False))) as client:
        one = client.get("/v1/metrics/syn-0000007").json()
        assert one["destination"]["id"] == "syn-d0007" and one["period"]["id"] == "syn-p000"
        assert one["value_text"] in one["citations"][0]["quote"]
        page = client.get("/v1/metrics?destination=syn-d0007&period=syn-p000").json()
        assert [m["id"] for m in page["data"]] == ["syn-0000007"] and page["total"] == 1
        assert client.get("/v1/metrics?limit=1").json()["total"] == N + 31

    # Back to the real seed: the synthetic rows go, the database equals a plain seed load.
    load_seed(empty_db_url, SEED_DIR)
    assert len(dump_database(empty_db_url)["metrics"]) == 31


def test_export_for_datasette_holds_our_rows(sqlite_url: str, tmp_path: Path) -> None:
    flat = tmp_path / "figures.db"
    assert export.export(sqlite_url, flat, chunk=7) == 31  # several chunks
    with TestClient(create_app(Settings(database_url=sqlite_url))) as client:
        ours = list(csv.DictReader(io.StringIO(client.get("/v1/metrics?format=csv").text)))
    with sqlite3.connect(flat) as conn:
        columns = [*METRIC_CSV_COLUMNS, *export.EXTRA_COLUMNS]
        theirs = [dict(zip(columns, row, strict=True)) for row in conn.execute("SELECT * FROM metrics")]
    assert len(theirs) == len(ours)
    for mine, flat_row in zip(ours, theirs, strict=True):
        for column in METRIC_CSV_COLUMNS:
            value = flat_row[column]
            shown = "" if value is None else ("true" if value else "false") if column.endswith("_inclusive") else value
            assert str(shown) == mine[column], (mine["id"], column)


def test_ceiling_replays_our_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    body = b'{"data":[]}'
    stored = tmp_path / "ceiling.json"
    stored.write_text(json.dumps({"/v1/metrics?unit=USD": ["application/json", base64.b64encode(body).decode()]}))
    monkeypatch.setenv("BENCH_CEILING_FILE", str(stored))
    app = targets.ceiling()
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "raw_path": b"/v1/metrics", "query_string": b"unit=USD"}
    asyncio.run(app(scope, None, send))
    assert sent[0]["status"] == 200 and sent[1]["body"] == body


def test_row_ids_read_every_target() -> None:
    datasette = json.dumps({"columns": ["x", "id"], "rows": [[1, "a"], [2, "b"]]}).encode()
    assert harness.row_ids("datasette", "list", datasette) == ["a", "b"]
    assert harness.row_ids("api", "list", b'{"data": [{"id": "a"}]}') == ["a"]
    assert harness.row_ids("api", "item", b'{"id": "a"}') == ["a"]
    assert harness.row_ids("api", "csv", b"id,x\r\na,1\r\n") == ["a"]
    assert harness._ms("547.00us") == pytest.approx(0.547) and harness._ms("1.25s") == 1250


@pytest.fixture(scope="module")
def bench_db(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> tuple[str, Path, Path]:
    """The seed plus N synthetic metrics in SQLite, and its Datasette export (`figures.db`)."""
    folder = tmp_path_factory.mktemp("bench")
    db = folder / "data.db"
    copy_sqlite(sqlite_template, db)
    url = f"sqlite:///{db}"
    load_seed(url, synthetic.write_seed(folder / "syn", N))
    export.export(url, folder / "figures.db")
    return url, db, folder / "figures.db"


def _ceiling_rows(app: Any, path: str) -> list[str]:
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    raw, _, query = path.partition("?")
    asyncio.run(app({"type": "http", "raw_path": raw.encode(), "query_string": query.encode()}, None, send))
    assert sent[0]["status"] == 200
    return harness.row_ids("api", "list", sent[1]["body"])


def _datasette_rows(flat: Path, paths: list[str]) -> list[list[str]]:
    from datasette.app import Datasette

    async def fetch() -> list[list[str]]:
        ds = Datasette(immutables=[str(flat)], settings={"suggest_facets": False})
        out = []
        for path in paths:
            response = await ds.client.get(path)
            assert response.status_code == 200, (path, response.text[:200])
            out.append(harness.row_ids("datasette", "list", response.content))
        return out

    return asyncio.run(fetch())


def test_miss_draws_select_the_same_rows_from_ours_the_ceiling_and_datasette(
    bench_db: tuple[str, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, db, flat = bench_db
    monkeypatch.setenv("BENCH_CEILING_DB", str(db))
    ceiling = targets.ceiling_miss()
    facts = misses.facts(db)
    assert len(facts.ids) == N + 31 and "CA" in facts.codes and "SG" in facts.codes
    with TestClient(create_app(Settings(database_url=url, response_cache=False))) as client:
        for scenario in misses.SCENARIOS:
            all_drawn = misses.draws(scenario, facts, n=120)
            assert all_drawn == misses.draws(scenario, facts, n=120), "the same draws every run"
            drawn = misses.sample(all_drawn, k=8)
            assert len({d.ours for d in drawn}) > 4, "a new parameter per request (country and q from short lists)"
            ours = []
            for draw in drawn:
                response = client.get(draw.ours)
                assert response.status_code == 200, draw.ours
                ours.append([m["id"] for m in response.json()["data"]])
                assert _ceiling_rows(ceiling, draw.ours) == ours[-1], draw.ours
            assert _datasette_rows(flat, [d.datasette for d in drawn]) == ours, scenario
            assert any(ours), f"{scenario}: every sampled draw selects nothing"


def test_the_wrk_script_sends_each_path_in_turn() -> None:
    paths = ["/v1/metrics?q=hong+kong", '/v1/metrics?q=%22x%22&after=a"b']
    script = misses.lua_script(paths)
    quoted = re.findall(r'^  "((?:[^"\\]|\\.)*)"', script, flags=re.M)
    assert [q.replace('\\"', '"').replace("\\\\", "\\") for q in quoted] == paths
    assert "i = i % #paths + 1" in script and 'wrk.format("GET", paths[i])' in script


def test_latency_requests_ask_datasette_for_our_rows(bench_db: tuple[str, Path, Path]) -> None:
    url, db, flat = bench_db
    facts = latency.db_facts(db)
    assert facts.rows == N + 31
    rng = random.Random(1)
    pairs = {f"{name} {i}": latency.REQUESTS[name](facts, rng) for name in latency.REQUESTS for i in range(3)}
    with TestClient(create_app(Settings(database_url=url, response_cache=False))) as client:
        ours = {}
        for name, (path, _) in pairs.items():
            response = client.get(path)
            assert response.status_code == 200, path
            ours[name] = [m["id"] for m in response.json()["data"]]
    theirs = dict(zip(pairs, _datasette_rows(flat, [d for _, d in pairs.values()]), strict=True))
    assert {name: rows for name, rows in theirs.items() if rows != ours[name]} == {}
    assert all(ours.values())


def test_wrk_output_with_latencies_in_seconds_is_read() -> None:
    """wrk pads a latency in seconds with a trailing space ("1.01s "): still read, in ms."""
    from bench.load_wrk import parse_wrk

    output = (
        "Running 10s test @ http://127.0.0.1:8000/v1/metrics\n"
        "  Latency Distribution\n"
        "     50%  812.00ms\n"
        "     75%    1.01s \n"
        "     90%    1.50s \n"
        "     99%    2.00s \n"
        "  1200 requests in 10.01s, 3.00MB read\n"
        "Requests/sec:    119.88\n"
    )
    result = parse_wrk("/v1/metrics", output)
    assert (result.requests, result.p50_ms, result.p99_ms, result.rate) == (1200, 812.0, 2000.0, 119.88)
