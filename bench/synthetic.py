"""A deterministic synthetic seed for benchmarks: the real seed plus N generated metrics in metrics.jsonl.

Never part of seed/. The same N gives the same bytes. Each generated metric has a destination out of
DESTINATIONS and a period out of PERIODS such that every (destination, period) pair holds N / 100,000
metrics (10 at 1,000,000): an indexed filter on both returns about ten rows. Each citation quotes its
figure as written, so the loader's checks pass (there is no source text to hold synthetic quotes to).

    python -m bench.synthetic OUT_DIR [N]
"""

from __future__ import annotations

import json
import random
import shutil
import sys
from pathlib import Path

SEED_DIR = Path(__file__).resolve().parent.parent / "seed"
DESTINATIONS = 1000
PERIODS = 100
MEASURES = ("settled_overseas", "emigrated", "living_overseas")
POPULATION = "cadre_spouses_children"


def metric_id(i: int) -> str:
    """Zero-padded, so that id order (the API's) is generation order."""
    return f"syn-{i:07d}"


def destination_id(d: int) -> str:
    return f"syn-d{d:04d}"


def period_id(p: int) -> str:
    return f"syn-p{p:03d}"


def placement(i: int) -> tuple[str, str]:
    """(destination, period) of metric i: i mod 1000, then (i div 1000) mod 100."""
    return destination_id(i % DESTINATIONS), period_id((i // DESTINATIONS) % PERIODS)


def _destinations_yaml() -> str:
    lines = []
    for d in range(DESTINATIONS):
        lines += [
            f"  - id: {destination_id(d)}",
            f"    name: synthetic region {d}",
            f"    label: Synthetic region {d}",
            "    kind: aggregate",
            "    membership: open",
        ]
    return "\n".join(lines) + "\n"


def _periods_yaml() -> str:
    lines = []
    for p in range(PERIODS):
        year = 1900 + p
        lines += [
            f"  - id: {period_id(p)}",
            f"    label: Synthetic year {year}",
            "    kind: interval",
            f"    start_date: {year}-01-01",
            f"    end_date: {year}-12-31",
            f'    iso: "{year}/{year}"',
        ]
    return "\n".join(lines) + "\n"


def metric_line(i: int, rng: random.Random) -> str:
    value = rng.randrange(1, 10_000_000)
    printed = f"{value:,}"
    more_than = rng.random() < 0.2
    destination, period = placement(i)
    entry = {
        "id": metric_id(i),
        "measure": MEASURES[i % len(MEASURES)],
        "population": POPULATION,
        "destination": destination,
        "period": period,
        "unit": "persons" if i % 2 else "cases",
        "value_text": f"more than {printed}" if more_than else printed,
        "qualifier": "more_than" if more_than else "exact",
        "lower": value,
        "lower_inclusive": not more_than,
        "upper": None if more_than else value,
        "upper_inclusive": None if more_than else True,
        "attributed_to": "epoch-times-2006-05-03",
        "attribution_basis": "none",
        "attribution_note": "Synthetic benchmark figure.",
        "citations": [
            {
                "quote": f"Synthetic figure {i}: {'more than ' if more_than else ''}{printed} (benchmark data).",
                "location": "body",
            }
        ],
    }
    return json.dumps(entry, separators=(",", ":")) + "\n"


def write_seed(out_dir: Path, n: int, *, seed: int = 20060503) -> Path:
    """Copy the real seed to `out_dir`, add the synthetic destinations and periods, write n metrics."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for path in SEED_DIR.glob("*.yaml"):
        shutil.copyfile(path, out_dir / path.name)
    # Both files are a single list section: entries appended at the end belong to it.
    with (out_dir / "destinations.yaml").open("a", encoding="utf-8") as f:
        f.write("\n" + _destinations_yaml())
    with (out_dir / "periods.yaml").open("a", encoding="utf-8") as f:
        f.write("\n" + _periods_yaml())
    rng = random.Random(seed)
    with (out_dir / "metrics.jsonl").open("w", encoding="utf-8") as f:
        batch: list[str] = []
        for i in range(n):
            batch.append(metric_line(i, rng))
            if len(batch) == 10_000:
                f.write("".join(batch))
                batch = []
        f.write("".join(batch))
    return out_dir


if __name__ == "__main__":
    target = Path(sys.argv[1])
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    write_seed(target, count)
    print(f"{count} synthetic metrics in {target / 'metrics.jsonl'}")
