"""The loaded dataset, on each backend: row counts, figures checked by hand against the article, bounds
that agree with the printed wording, and citations that are exact, correctly placed substrings of the
source text (when /work/shared/source is present; SOURCE_TEXT overrides its path)."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, text

from app.config import PROJECT_ROOT
from app.db import make_engine
from app.loader.figures import parse_figure
from app.loader.load import signature_of
from app.loader.seed import SeedDataset

SOURCE_TEXT = Path(
    os.environ.get("SOURCE_TEXT")
    or Path(__file__).resolve().parents[2] / "shared" / "source" / "epoch-times-2006-05-03.txt"
)
HEADINGS = (
    "Families of CCP Cadres That Settle Overseas",
    "The Impact of Emigration on Children of CCP Cadres",
    "Immigration Information about Families of CCP Cadres in Recent Years",
    "Information on Emigrating Members of CCP Cadres Doing Business Overseas",
    "Editorial Note:",
)
EDITORIAL_NOTE = "Editorial Note:"


@pytest.fixture(scope="module")
def conn(db_url: str) -> Iterator[Connection]:
    engine = make_engine(db_url, read_only=True)
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


def rows(conn: Connection, sql: str, **params: Any) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(text(sql), params).mappings()]


def metric(conn: Connection, metric_id: str) -> dict[str, Any]:
    (found,) = rows(conn, "SELECT * FROM metrics WHERE id = :id", id=metric_id)
    return found


def bounds(m: dict[str, Any]) -> tuple[Any, ...]:
    return (m["qualifier"], m["lower"], m["lower_inclusive"], m["upper"], m["upper_inclusive"])


# --- what is loaded ------------------------------------------------------------------------


def test_row_counts(conn: Connection) -> None:
    expected = {
        "sources": 1,
        "reports": 1,
        "report_sources": 1,
        "periods": 5,
        "destinations": 11,
        "destination_members": 24,
        "destination_aliases": 14,
        "attributions": 3,
        "measures": 10,
        "populations": 5,
        "metrics": 31,
        "citations": 32,
        "dataset": 1,
    }
    assert {name: conn.execute(text(f"SELECT count(*) FROM {name}")).scalar() for name in expected} == expected


def test_dataset_row_describes_the_seed(conn: Connection, seed_dataset: SeedDataset) -> None:
    (row,) = rows(conn, "SELECT signature, counts FROM dataset")
    assert row["signature"] == signature_of(seed_dataset)
    counts = row["counts"] if isinstance(row["counts"], dict) else json.loads(row["counts"])
    assert counts["metrics"] == 31
    assert counts["citations"] == 32


def test_canada_1985_2005(conn: Connection) -> None:
    found = rows(
        conn,
        "SELECT unit, qualifier, lower, upper FROM metrics WHERE destination_id = 'canada' AND period_id = '1985-2005'",
    )
    assert sorted((r["unit"], r["qualifier"], r["lower"], r["upper"]) for r in found) == [
        ("cases", "exact", 54_000, 54_000),
        ("persons", "exact", 225_000, 225_000),
    ]


def test_united_states_persons_and_cases(conn: Connection) -> None:
    found = rows(conn, "SELECT unit, lower, upper FROM metrics WHERE destination_id = 'united-states'")
    assert sorted((r["unit"], r["lower"], r["upper"]) for r in found) == [
        ("cases", 26_000, 26_000),
        ("persons", 19_500, 19_500),
    ]


def test_total_settled_overseas(conn: Connection) -> None:
    total = metric(conn, "spouses-children-settled-overseas-2005")
    assert bounds(total) == ("more_than", 1_187_700, False, None, None)
    assert (total["unit"], total["period_id"], total["destination_id"]) == (
        "persons",
        "end-2005",
        "overseas-incl-hk-macau",
    )
    citations = rows(
        conn, "SELECT position, location FROM citations WHERE metric_id = :id ORDER BY position", id=total["id"]
    )
    assert [(c["position"], c["location"]) for c in citations] == [(1, "lead"), (2, "body")]


def test_trade_volume(conn: Connection) -> None:
    volume = metric(conn, "import-export-trade-volume")
    assert volume["unit"] == "USD"
    assert bounds(volume) == ("between", 85_000_000_000, True, 120_000_000_000, True)


def test_assets(conn: Connection) -> None:
    assets = metric(conn, "senior-cadre-family-assets")
    assert assets["unit"] == "USD"
    assert bounds(assets) == ("at_least", 600_000_000_000, True, None, None)


def members(conn: Connection, group: str) -> list[tuple[str, str]]:
    found = rows(conn, "SELECT code, basis FROM destination_members WHERE group_id = :g ORDER BY position", g=group)
    return [(r["code"], r["basis"]) for r in found]


def test_south_east_asia_members_come_from_the_source(conn: Connection) -> None:
    assert members(conn, "south-east-asia") == [("SG", "source"), ("MY", "source"), ("TH", "source")]


def test_nordic_members_are_an_interpretation(conn: Connection) -> None:
    assert members(conn, "nordic") == [
        ("DK", "interpretation"),
        ("FI", "interpretation"),
        ("IS", "interpretation"),
        ("NO", "interpretation"),
        ("SE", "interpretation"),
    ]


def test_every_metric_bounds_match_its_printed_figure(conn: Connection) -> None:
    for m in rows(conn, "SELECT * FROM metrics"):
        stated = parse_figure(m["value_text"])
        assert bounds(m) == (
            stated.qualifier.value,
            stated.lower,
            stated.lower_inclusive,
            stated.upper,
            stated.upper_inclusive,
        ), m["id"]
        assert (m["unit"] == "USD") == (stated.currency == "USD"), m["id"]


# --- citations against the source text -----------------------------------------------------


@pytest.fixture(scope="module")
def article() -> str:
    if not SOURCE_TEXT.is_file():
        pytest.skip(f"source text not found at {SOURCE_TEXT} (set SOURCE_TEXT to check citations against it)")
    return SOURCE_TEXT.read_text(encoding="utf-8")


def heading_offsets(article: str) -> list[tuple[int, str]]:
    """(offset, heading) of every heading line, in order; each heading must be a line of its own."""
    found = []
    for heading in HEADINGS:
        match = re.search(rf"^{re.escape(heading)}$", article, re.MULTILINE)
        assert match, f"heading {heading!r} is not a line of its own in the source text"
        found.append((match.start(), heading))
    return sorted(found)


def locate(article: str, quote: str, prefix: str | None, suffix: str | None) -> int:
    """The offset of the one occurrence of `quote` that `prefix` precedes and `suffix` follows."""
    hits = [
        m.start()
        for m in re.finditer(re.escape(quote), article)
        if article[: m.start()].endswith(prefix or "") and article[m.end() :].startswith(suffix or "")
    ]
    assert len(hits) == 1, f"{quote!r} with prefix {prefix!r} and suffix {suffix!r}: {len(hits)} matches"
    return hits[0]


def where(article: str, offset: int) -> tuple[str, str | None]:
    """(location, section) of a text offset: headline (first line), lead (before any heading) or body."""
    headings = heading_offsets(article)
    if offset < article.index("\n"):
        return "headline", None
    above = [heading for start, heading in headings if start < offset]
    return ("body", above[-1]) if above else ("lead", None)


def test_every_citation_is_an_exact_correctly_placed_quote(conn: Connection, article: str) -> None:
    editorial = article.index(EDITORIAL_NOTE)
    citations = rows(conn, "SELECT * FROM citations ORDER BY id")
    assert len(citations) == 32
    for c in citations:
        assert c["quote"] in article, f"{c['id']}: quote is not an exact substring of the source"
        offset = locate(article, c["quote"], c["prefix"], c["suffix"])
        assert offset + len(c["quote"]) <= editorial, f"{c['id']}: quotes the Editorial Note"
        assert (c["location"], c["section"]) == where(article, offset), c["id"]


def test_every_citation_quote_contains_its_figure(conn: Connection) -> None:
    for c in rows(conn, "SELECT c.id, c.quote, m.value_text FROM citations c JOIN metrics m ON m.id = c.metric_id"):
        assert c["value_text"] in c["quote"], c["id"]


def test_report_quote_is_exact(conn: Connection, article: str) -> None:
    (report,) = rows(conn, "SELECT quote FROM reports")
    assert report["quote"] in article


def test_source_uses_typographic_apostrophes(conn: Connection, article: str) -> None:
    lead = rows(conn, "SELECT quote FROM citations WHERE location = 'lead'")
    assert len(lead) == 1
    assert "cadres\u2019 spouses" in lead[0]["quote"]
    assert "cadres' spouses" not in article


# --- the repository does not carry the article ---------------------------------------------

SKIPPED_DIRS = {".git", ".venv", "venv", "node_modules", "__pycache__", "data", "build", "dist"}


def repository_files() -> list[Path]:
    try:
        listed = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            check=True,
            timeout=30,
        ).stdout.decode()
        paths = [PROJECT_ROOT / name for name in listed.split("\0") if name]
    except (OSError, subprocess.CalledProcessError):
        paths = [
            p
            for p in PROJECT_ROOT.rglob("*")
            if not any(part in SKIPPED_DIRS or part.endswith(("_cache", ".egg-info")) for part in p.parts)
        ]
    return [p for p in paths if p.is_file()]


def normalized(value: str) -> str:
    return re.sub(r"\s+", " ", value)


def first_shared_run(content: str, windows: set[str], size: int) -> str | None:
    return next(
        (content[i : i + size] for i in range(len(content) - size + 1) if content[i : i + size] in windows), None
    )


def test_repository_does_not_carry_the_article(conn: Connection, article: str) -> None:
    """Only the cited quotes: nothing of the Editorial Note (no 40 characters in a row), and no run of the
    article longer than the longest quote."""
    quotes = [r["quote"] for r in rows(conn, "SELECT quote FROM citations UNION SELECT quote FROM reports")]
    limit = max(len(q) for q in quotes) + 10
    source = normalized(article)
    windows = {source[i : i + limit] for i in range(len(source) - limit + 1)}
    note = normalized(article[article.index(EDITORIAL_NOTE) :])
    note_windows = {note[i : i + 40] for i in range(len(note) - 40 + 1)}

    files = repository_files()
    assert any(p.name == "metrics.yaml" for p in files), "the repository's files were not found"
    for path in files:
        try:
            content = normalized(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, OSError):
            continue
        shared = first_shared_run(content, note_windows, 40)
        assert shared is None, f"{path} holds text of the Editorial Note: {shared!r}"
        shared = first_shared_run(content, windows, limit)
        assert shared is None, f"{path} holds more than {limit} consecutive characters of the article"
