"""Issue 18's table: each request alone, one at a time (median of REPEATS sequential requests over one keep-alive
connection, response cache off), on the seed and on the big database, SQLite and PostgreSQL, with Datasette's
equivalent on its big table in the same run.

    .venv/bin/python -m bench.run --latency [--metrics 1000000] [--no-postgres]

A `random ...` request draws a new parameter for each of its requests (fixed seed). Rows are compared with our
SQLite answer on the same database; a Datasette figure whose rows differ is flagged, not hidden.
"""

from __future__ import annotations

import http.client
import random
import sqlite3
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from app.api.queries import METRIC_CSV_COLUMNS
from bench import misses
from bench.export import HIDDEN
from bench.harness import Server, row_ids, serve

REPEATS = 20
WARM_UP = 2
TABLE_URL = "/figures/metrics.json?"
SORTS = ("lower", "measure", "unit")
"""`sort=` keys the random sort draws use: never null, so Datasette's SQL needs no nulls-last term and can walk its
index (`_sort=` alone would not do: Datasette leaves ties in index order, which descending is not ours, by id)."""


@dataclass(frozen=True)
class Db:
    """What a request needs from one database: its size and a cursor in its middle (id, lower)."""

    rows: int
    middle: tuple[str, int]
    facts: misses.Facts


def db_facts(path: Path) -> Db:
    facts = misses.facts(path)
    middle = facts.ids[len(facts.ids) // 2]
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        lower = conn.execute("SELECT lower FROM metrics WHERE id = ?", (middle,)).fetchone()[0]
    return Db(len(facts.ids), (middle, lower), facts)


def _pair(ours: dict[str, object], datasette: dict[str, object]) -> tuple[str, str]:
    return f"/v1/metrics?{urlencode(ours)}", f"{TABLE_URL}{urlencode(datasette)}&{HIDDEN}"


def _overlaps(n: int) -> str:
    """Our default `match=overlaps` for value_min=n, as Datasette's `_where`."""
    return f"upper IS NULL OR upper > {n} OR (upper = {n} AND upper_inclusive = 1)"


def _sql(sql: str) -> str:
    return "/figures.json?" + urlencode({"sql": sql})


COLUMNS = ", ".join(f'"{c}"' for c in METRIC_CSV_COLUMNS)
Request = Callable[[Db, random.Random], tuple[str, str]]


def _random_value(db: Db, rng: random.Random) -> tuple[str, str]:
    n = rng.randint(1, 2_000_000)
    return _pair({"value_min": n}, {"_where": _overlaps(n)})


def _random_sort(db: Db, rng: random.Random) -> tuple[str, str]:
    key, desc = rng.choice(SORTS), rng.random() < 0.5
    ours = f"/v1/metrics?sort={'-' if desc else ''}{key}&limit=20"
    return ours, _sql(f"SELECT {COLUMNS} FROM metrics ORDER BY {key}{' DESC' if desc else ''}, id LIMIT 20")


REQUESTS: dict[str, Request] = {
    "value_min=1000": lambda db, rng: _pair({"value_min": 1000}, {"_where": _overlaps(1000)}),
    "value_min=500000&limit=10": lambda db, rng: _pair(
        {"value_min": 500000, "limit": 10}, {"_where": _overlaps(500000), "_size": 10}
    ),
    "q=canada": lambda db, rng: _pair({"q": "canada"}, {"search_text__contains": "canada"}),
    "sort=-lower&limit=5": lambda db, rng: _pair({"sort": "-lower", "limit": 5}, {"_sort_desc": "lower", "_size": 5}),
    "unit=cases&limit=5": lambda db, rng: _pair({"unit": "cases", "limit": 5}, {"unit": "cases", "_size": 5}),
    "offset=90%&limit=5": lambda db, rng: (
        f"/v1/metrics?offset={db.rows * 9 // 10}&limit=5",
        _sql(f"SELECT {COLUMNS} FROM metrics ORDER BY id LIMIT 5 OFFSET {db.rows * 9 // 10}"),
    ),
    "country=CA": lambda db, rng: _pair({"country": "CA"}, {"countries__contains": "|CA|"}),
    "sort=period&limit=5": lambda db, rng: _pair(
        {"sort": "period", "limit": 5}, {"_sort": "period_start", "period_start__notnull": 1, "_size": 5}
    ),
    "sort=-lower&after=middle&limit=20": lambda db, rng: _pair(
        {"sort": "-lower", "after": db.middle[0], "limit": 20},
        {"_sort_desc": "lower", "_next": f"{db.middle[1]},{db.middle[0]}", "_size": 20},
    ),
    "random value_min=N": _random_value,
    "random q=word": lambda db, rng: (lambda d: (d.ours, d.datasette))(misses.text_draw(rng, db.facts)),
    "random sort, limit 20": _random_sort,
}


def _draws(name: str, db: Db) -> list[tuple[str, str]]:
    rng = random.Random(f"{misses.SEED}:{name}")
    return [REQUESTS[name](db, rng) for _ in range(WARM_UP + REPEATS)]


def timed(server: Server, paths: list[str], target: str) -> tuple[float, list[list[str]]]:
    """Median wall time (ms) of the requests after the warm-up, one at a time; the rows of each."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    times, rows = [], []
    try:
        for path in paths:
            start = time.perf_counter()
            conn.request("GET", path)
            response = conn.getresponse()
            body = response.read()
            times.append(time.perf_counter() - start)
            rows.append(row_ids(target, "list", body) if response.status == 200 else [f"HTTP {response.status}"])
    finally:
        conn.close()
    return 1000 * statistics.median(times[WARM_UP:]), rows


def run(dbs: dict[str, dict[str, Path]], pg_urls: dict[str, str], metrics: int) -> None:
    facts = {name: db_facts(paths["db"]) for name, paths in dbs.items()}
    draws = {(name, db): _draws(name, facts[db]) for name in REQUESTS for db in dbs}
    ms: dict[tuple[str, str, str], float] = {}
    rows: dict[tuple[str, str, str], list[list[str]]] = {}
    backends = ["sqlite", *(["postgresql"] if pg_urls else [])]
    for db, paths in dbs.items():
        for backend in backends:
            target = "api-uncached" if backend == "sqlite" else "api-pg"
            with serve(target, paths, "/v1/metrics?limit=1", pg_urls.get(db)) as server:
                for name in REQUESTS:
                    key = (name, db, backend)
                    ms[key], rows[key] = timed(server, [o for o, _ in draws[(name, db)]], "api")
                    print(f"  {backend:10} {db:4} {name:36} {ms[key]:9.1f} ms", flush=True)
    with serve("datasette", dbs["big"], "/figures/metrics.json?_size=1") as server:
        for name in REQUESTS:
            key = (name, "big", "datasette")
            ms[key], rows[key] = timed(server, [d for _, d in draws[(name, "big")]], "datasette")
            print(f"  datasette  big  {name:36} {ms[key]:9.1f} ms", flush=True)
    _table(ms, rows, backends, metrics)


def _table(
    ms: dict[tuple[str, str, str], float],
    rows: dict[tuple[str, str, str], list[list[str]]],
    backends: list[str],
    n: int,
) -> None:
    print()
    print(
        f"one request at a time, median of {REPEATS} (after {WARM_UP} discarded), response cache off; seed = 31 "
        f"metrics, big = {n:,} synthetic + the seed; targets: big/seed <= 2, Datasette/ours >= 2"
    )
    for backend in backends:
        print()
        header = f"{backend:36} {'seed ms':>9} {'big ms':>9} {'big/seed':>8} {'ds ms':>9} {'ds/ours':>8}  rows"
        print(header)
        print("-" * len(header))
        for name in REQUESTS:
            seed, big, ds = ms[(name, "seed", backend)], ms[(name, "big", backend)], ms[(name, "big", "datasette")]
            ours_rows, sqlite_rows = rows[(name, "big", backend)], rows[(name, "big", "sqlite")]
            same = rows[(name, "big", "datasette")] == sqlite_rows
            note = (
                "same" if ours_rows == sqlite_rows and same else "DIFFER" if ours_rows != sqlite_rows else "ds differ"
            )
            print(f"{name:36} {seed:9.1f} {big:9.1f} {big / seed:8.2f} {ds:9.1f} {ds / big:8.2f}  {note}")
