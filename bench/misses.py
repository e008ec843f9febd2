"""Cache-miss scenarios (issue 17): every request a new URL, drawn with a fixed seed, so no response cache answers.

Each scenario draws one parameter per request; wrk replays the draws from a generated Lua script (`lua_script`),
ours and Datasette's equivalent, request for request. A sample of draws is checked row for row on every target
before anything is timed.
"""

from __future__ import annotations

import random
import sqlite3
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bench.export import HIDDEN
from bench.harness import Sample, get, ratio, row_ids, serve, wrk

DRAWS = 4000
"""Paths per scenario and database: more than one wrk run sends to the slower targets; the Lua script wraps."""
SAMPLE = 12
"""Draws checked row for row on every target."""
SEED = 20060503
WORDS = (
    "canada",
    "hong kong",
    "macau",
    "australia",
    "new zealand",
    "usa",
    "europe",
    "nordic",
    "singapore",
    "germany",
    "emigrated",
    "settled",
    "spouses",
    "cadres",
    "cases",
    "more than",
)
"""`q=` draws: words of the real seed (in every database: the synthetic seed includes it); README says what
each selects."""
TARGETS = ("api-uncached", "api-route", "api-pg", "datasette", "ceiling-miss")


@dataclass(frozen=True)
class Draw:
    ours: str  # our API's path and query; the ceiling reads the same
    datasette: str


@dataclass(frozen=True)
class Facts:
    """What the draws are drawn from, read from our database."""

    ids: list[str]
    codes: list[str]


def facts(db: Path) -> Facts:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        ids = [row[0] for row in conn.execute("SELECT id FROM metrics ORDER BY id")]
        codes = conn.execute(
            "SELECT code FROM destinations WHERE code IS NOT NULL UNION SELECT code FROM destination_members"
        )
        return Facts(ids, sorted(row[0] for row in codes))


def _pair(ours: dict[str, Any], datasette: dict[str, Any]) -> Draw:
    return Draw(f"/v1/metrics?{urlencode(ours)}", f"/figures/metrics.json?{urlencode(datasette)}&{HIDDEN}")


def value_draw(rng: random.Random, facts: Facts) -> Draw:
    """`within`: the stated range is certainly >= N, i.e. lower >= N: exactly Datasette's `lower__gte`."""
    n = rng.randint(1, 2_000_000)
    return _pair({"value_min": n, "match": "within"}, {"lower__gte": n})


def country_draw(rng: random.Random, facts: Facts) -> Draw:
    code = rng.choice(facts.codes)
    return _pair({"country": code}, {"countries__contains": f"|{code}|"})


def text_draw(rng: random.Random, facts: Facts) -> Draw:
    word = rng.choice(WORDS)
    return _pair({"q": word}, {"search_text__contains": word})


def after_draw(rng: random.Random, facts: Facts) -> Draw:
    cursor = rng.choice(facts.ids)
    return _pair({"after": cursor, "limit": 20}, {"_next": cursor, "_size": 20})


SCENARIOS: dict[str, Callable[[random.Random, Facts], Draw]] = {
    "miss: value_min=N": value_draw,
    "miss: country=XX": country_draw,
    "miss: q=word": text_draw,
    "miss: after=id, 20": after_draw,
}


def draws(scenario: str, facts: Facts, n: int = DRAWS) -> list[Draw]:
    """The same scenario and database give the same draws, in the same order."""
    rng = random.Random(f"{SEED}:{scenario}")
    return [SCENARIOS[scenario](rng, facts) for _ in range(n)]


def sample(drawn: list[Draw], k: int = SAMPLE) -> list[Draw]:
    """k draws spread over the list (the first included)."""
    return drawn[:: max(1, len(drawn) // k)][:k]


def lua_script(paths: list[str]) -> str:
    """A wrk script sending `paths` in order, one per request, wrapping around."""
    quoted = ",\n".join('  "' + p.replace("\\", "\\\\").replace('"', '\\"') + '"' for p in paths)
    return (
        f"local paths = {{\n{quoted}\n}}\n"
        "local i = 0\n"
        "request = function()\n"
        "  i = i % #paths + 1\n"
        '  return wrk.format("GET", paths[i])\n'
        "end\n"
    )


def write_scripts(folder: Path, drawn: dict[str, list[Draw]]) -> dict[tuple[str, str], Path]:
    """(scenario, "ours" or "datasette") -> its Lua script, written under `folder`."""
    out: dict[tuple[str, str], Path] = {}
    for i, (scenario, pairs) in enumerate(drawn.items()):
        for side in ("ours", "datasette"):
            path = folder / f"miss-{i}-{side}.lua"
            path.write_text(lua_script([getattr(d, side) for d in pairs]))
            out[(scenario, side)] = path
    return out


def _side(target: str) -> str:
    return "datasette" if target == "datasette" else "ours"


def _targets(pg_urls: dict[str, str]) -> list[str]:
    return [t for t in TARGETS if t != "api-pg" or pg_urls]


def verify(dbs: dict[str, dict[str, Path]], pg_urls: dict[str, str], drawn: dict[str, dict[str, list[Draw]]]) -> None:
    """A sample of each scenario's draws returns the same rows, in the same order, from every target."""
    for db, paths in dbs.items():
        found: dict[str, dict[tuple[str, int], list[str]]] = {}
        for target in _targets(pg_urls):
            side = _side(target)
            probe = getattr(next(iter(drawn[db].values()))[0], side)
            with serve(target, paths, probe, pg_urls.get(db)) as server:
                rows = found.setdefault(target, {})
                for scenario, pairs in drawn[db].items():
                    for k, draw in enumerate(sample(pairs)):
                        status, body, _ = get(server.base + getattr(draw, side))
                        if status != 200:
                            raise SystemExit(f"{target} {getattr(draw, side)}: HTTP {status}")
                        rows[(scenario, k)] = row_ids("datasette" if side == "datasette" else "api", "list", body)
        for scenario, pairs in drawn[db].items():
            counts = []
            for k, draw in enumerate(sample(pairs)):
                ours = found["api-uncached"][(scenario, k)]
                for target, rows in found.items():
                    if rows[(scenario, k)] != ours:
                        raise SystemExit(f"{db} {draw.ours}: {target} returns other rows than api-uncached")
                counts.append(len(ours))
            print(f"  {db} {scenario}: {len(counts)} draws, rows {counts}, the same from every target", flush=True)


def measure(
    dbs: dict[str, dict[str, Path]],
    pg_urls: dict[str, str],
    scripts: dict[str, dict[tuple[str, str], Path]],
    rounds: int,
    duration: int,
    connections: int,
) -> dict[tuple[str, str], list[Sample]]:
    """(scenario, database) x target -> one wrk sample per round; targets interleaved as in bench.run."""
    samples: dict[tuple[str, str], list[Sample]] = {}
    targets = _targets(pg_urls)
    for r in range(rounds):
        order = targets[r % len(targets) :] + targets[: r % len(targets)]
        for db, paths in dbs.items():
            for target in order:
                side = _side(target)
                with serve(
                    target,
                    paths,
                    "/v1/metrics?limit=1" if side == "ours" else "/figures/metrics.json?_size=1",
                    pg_urls.get(db),
                ) as server:
                    for scenario in SCENARIOS:
                        script = scripts[db][(scenario, side)]
                        wrk(server.base + "/", 1, connections, script)  # warm-up, discarded
                        sample_ = wrk(server.base + "/", duration, connections, script)
                        samples.setdefault((f"{scenario}, {db}", target), []).append(sample_)
                        print(f"round {r + 1} {target:12} {db:4} {scenario:22} {sample_.rps:9.0f} req/s", flush=True)
    return samples


def report(samples: dict[tuple[str, str], list[Sample]]) -> None:
    rps, p99 = medians(samples, "rps"), medians(samples, "p99_ms")
    print()
    print("cache misses: every request a new draw (medians over rounds; x datasette and p99/ds: against Datasette;")
    print("% ceiling: share of the bare ASGI callable running one SQLite query per request)")
    header = (
        f"{'scenario':30} {'target':12} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6} "
        f"{'x datasette':>11} {'% ceiling':>9} {'p99/ds':>7}"
    )
    print(header)
    print("-" * len(header))
    for db in ("seed", "big"):
        for scenario in SCENARIOS:
            name = f"{scenario}, {db}"
            for target in TARGETS:
                values = samples.get((name, target))
                if not values:
                    continue
                vs_ds, vs_ceiling = ratios(rps, name, target)
                p50 = statistics.median(x.p50_ms for x in values)
                print(
                    f"{name:30} {target:12} {rps[(name, target)]:8.0f} {p50:8.2f} {p99[(name, target)]:8.2f} "
                    f"{sum(x.errors for x in values):6} {vs_ds:10.1f}x {100 * vs_ceiling:8.0f}% "
                    f"{ratio(p99[(name, target)], p99.get((name, 'datasette'))):7.2f}"
                )
            print()
    print("cache misses, big database against the seed (req/s ratio, big / seed; 1.0 = no cost growing with rows):")
    for target in TARGETS:
        big = {s: rps[(f"{s}, big", target)] for s in SCENARIOS if (f"{s}, big", target) in rps}
        seed = {s: rps.get((f"{s}, seed", target)) for s in SCENARIOS}
        parts = [f"{s.removeprefix('miss: ')} {ratio(big[s] or 0, seed[s]):.2f}" for s in SCENARIOS if s in big]
        if parts:
            print(f"  {target:12} " + ", ".join(parts))


def ratios(med: dict[tuple[str, str], float], scenario: str, target: str) -> tuple[float, float]:
    """(x Datasette, share of the ceiling) of a median req/s."""
    own = med[(scenario, target)]
    return ratio(own, med.get((scenario, "datasette"))), ratio(own, med.get((scenario, "ceiling-miss")))


def medians(samples: dict[tuple[str, str], list[Any]], attribute: str) -> dict[tuple[str, str], float]:
    return {key: statistics.median(getattr(x, attribute) for x in values) for key, values in samples.items()}
