"""The benchmark: this API against Datasette and a raw ASGI ceiling, side by side, in one run. See bench/README.md.

    .venv/bin/python -m bench.run [--rounds 2] [--duration 5] [--connections 16] [--metrics 1000000]
    .venv/bin/python -m bench.run --latency [--metrics 1000000]      # issue 18's table instead (bench.latency)
    .venv/bin/python -m bench.run --and-latency                      # both, on the same databases (one load)

Every server runs alone, one process, pinned to core 0 (`taskset -c 0`), access log off; wrk runs on core 1.
Targets are interleaved round by round; the table gives medians with the spread (min-max) over rounds.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import statistics
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path

from bench import misses, synthetic
from bench.export import HIDDEN
from bench.harness import (
    LOAD_CPU,
    SERVER_CPU,
    Load,
    Sample,
    get,
    load_postgres,
    postgres_cluster,
    prepare,
    ratio,
    row_ids,
    serve,
    server_stack,
    wrk,
)


@dataclass(frozen=True)
class Scenario:
    name: str
    db: str  # "seed" or "big"
    ours: str
    datasette: str
    kind: str = "list"  # list, item, csv or html (a page: the rows of its table)
    hot: bool = False


SCENARIOS: tuple[Scenario, ...] = (
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


# --- the run -------------------------------------------------------------------------------


@dataclass
class Results:
    samples: dict[tuple[str, str], list[Sample]] = field(default_factory=dict)
    rss: dict[str, int] = field(default_factory=dict)


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
                side = "datasette" if target == "datasette" else "ours"
                with serve(target, paths, getattr(scenarios[0], side)) as server:
                    for s in scenarios:
                        url = server.base + getattr(s, side)
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


def report(results: Results, loads: list[Load], args: argparse.Namespace) -> None:
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
            vs_ds = ratio(med[key], med[(s.name, "datasette")])
            vs_ceiling = 100 * ratio(med[key], med[(s.name, "ceiling")])
            print(
                f"{s.name:22} {target:12} {_spread([x.rps for x in samples], '.0f'):>22} "
                f"{_spread([x.p50_ms for x in samples], '.2f'):>20} {_spread([x.p99_ms for x in samples], '.2f'):>20} "
                f"{sum(x.errors for x in samples):>6} {vs_ds:>10.1f}x {vs_ceiling:>8.0f}% "
                f"{ratio(p99[key], p99[(s.name, 'datasette')]):>7.2f}"
            )
        print()
    print("1M metrics against the seed, the same query (req/s ratio, 1M / seed):")
    for target in ("api", "api-uncached", "datasette"):
        parts = []
        for what in ("indexed filter", "deep page of 20"):
            big, small = med.get((f"{what}, 1M", target)), med.get((f"{what}, seed", target))
            if big is not None and small is not None:
                parts.append(f"{what} {ratio(big, small):.2f}")
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--duration", type=int, default=5, help="seconds of wrk per scenario and round")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--metrics", type=int, default=1_000_000, help="synthetic metrics in the big database")
    parser.add_argument("--no-postgres", action="store_true", help="skip PostgreSQL (its loads and the api-pg target)")
    parser.add_argument("--latency", action="store_true", help="issue 18's one-at-a-time table (bench.latency) only")
    parser.add_argument(
        "--datasette-suggest-facets",
        action="store_true",
        help="run Datasette with its default facet suggestions (off by default: see bench/README.md)",
    )
    parser.add_argument(
        "--and-latency", action="store_true", help="issue 18's table too, after the wrk tables, on the same databases"
    )
    parser.add_argument("--work", type=Path, help="working directory (default: a temporary one, removed)")
    args = parser.parse_args()
    _adjust_scenarios(args.metrics)
    if args.datasette_suggest_facets:
        os.environ["BENCH_DATASETTE_SUGGEST_FACETS"] = "1"
    if shutil.which("wrk") is None and not args.latency:
        raise SystemExit("wrk not found: apt-get install wrk")
    started = time.perf_counter()
    work = args.work or Path(tempfile.mkdtemp(prefix="cadre-bench."))
    try:
        with ExitStack() as stack:
            print(f"server: {server_stack()}; work directory {work}", flush=True)
            dbs, loads, synthetic_dir = prepare(work, args.metrics)
            pg_urls: dict[str, str] = {}
            if not args.no_postgres:
                pg_urls, pg_loads = load_postgres(stack.enter_context(postgres_cluster()), synthetic_dir)
                loads += pg_loads
            if not args.latency:
                run_wrk(work, dbs, pg_urls, loads, args)
            if args.latency or args.and_latency:
                from bench import latency

                latency.run(dbs, pg_urls, args.metrics)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    print(f"the whole run took {(time.perf_counter() - started) / 60:.1f} min")


def run_wrk(
    work: Path, dbs: dict[str, dict[str, Path]], pg_urls: dict[str, str], loads: list[Load], args: argparse.Namespace
) -> None:
    """The fixed-URL scenarios, then the cache-miss ones (bench.misses); both tables."""
    verify_and_record(dbs)
    drawn = {
        db: {s: misses.draws(s, facts) for s in misses.SCENARIOS}
        for db, facts in ((db, misses.facts(paths["db"])) for db, paths in dbs.items())
    }
    scripts = {db: misses.write_scripts(work / db, drawn[db]) for db in dbs}
    misses.verify(dbs, pg_urls, drawn)
    results = measure(dbs, args.rounds, args.duration, args.connections)
    missed = misses.measure(dbs, pg_urls, scripts, args.rounds, args.duration, args.connections)
    report(results, loads, args)
    misses.report(missed)


def _adjust_scenarios(metrics: int) -> None:
    """The 1M scenarios use the middle metric of the big database, whatever its size (its id as the cursor, its
    destination and period as the indexed filter): a cursor that is not among the rows answers an empty page (as
    documented), a pair that holds no metric no rows, which would compare nothing. Datasette's table URLs
    leave out the export's extra columns (bench.export.HIDDEN), so that its rows hold what our CSV holds."""
    global SCENARIOS
    middle = synthetic.metric_id(metrics // 2)
    destination, period = synthetic.placement(metrics // 2)

    def moved(url: str) -> str:
        return url.replace("syn-0500000", middle).replace("syn-d0123", destination).replace("syn-p045", period)

    def datasette(s: Scenario) -> str:
        return (
            moved(s.datasette)
            if s.kind == "item"
            else moved(s.datasette) + ("&" if "?" in s.datasette else "?") + HIDDEN
        )

    SCENARIOS = tuple(replace(s, ours=moved(s.ours), datasette=datasette(s)) for s in SCENARIOS)


if __name__ == "__main__":
    main()
