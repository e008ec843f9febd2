"""The loader: a first load adds everything, a second changes nothing, an edit changes exactly what was
edited, and a failure at any point leaves the database exactly as it was (on SQLite and PostgreSQL)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import text

from app.cli import main as cli_main
from app.db import make_engine
from app.loader.load import TABLE_ORDER, SchemaNotReady, load, signature_of
from app.loader.seed import SeedDataset, read_seed
from tests.conftest import dump_database, load_seed

EXPECTED_ROWS = {
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
}


class Boom(RuntimeError):
    pass


def edit(seed: Path, file: str, old: str, new: str) -> None:
    path = seed / file
    content = path.read_text(encoding="utf-8")
    assert content.count(old) == 1, f"{old!r} is not unique in {file}"
    path.write_text(content.replace(old, new), encoding="utf-8")


def remove_metric(seed: Path, metric_id: str) -> None:
    """Delete one entry (from its `- id:` line to the next entry) from metrics.yaml."""
    path = seed / "metrics.yaml"
    content = path.read_text(encoding="utf-8")
    pattern = re.compile(rf"^  - id: {re.escape(metric_id)}\n.*?(?=^  - id: |\Z)", re.MULTILINE | re.DOTALL)
    content, n = pattern.subn("", content)
    assert n == 1
    path.write_text(content, encoding="utf-8")


def removable_metric(seed: Path) -> str:
    """A metric that no consistency check in checks.yaml names (removing a named one makes the seed invalid)."""
    declared = (seed / "checks.yaml").read_text(encoding="utf-8") if (seed / "checks.yaml").exists() else ""
    ids: list[str] = re.findall(r"^  - id: (\S+)$", (seed / "metrics.yaml").read_text(encoding="utf-8"), re.MULTILINE)
    free = [metric_id for metric_id in ids if not re.search(rf"(?<![\w-]){re.escape(metric_id)}(?![\w-])", declared)]
    assert free, "every metric is named by a check: no metric can be removed from the seed"
    return free[-1]


def citations_of(dataset: SeedDataset, metric_id: str) -> int:
    return sum(1 for row in dataset.tables["citations"] if row["metric_id"] == metric_id)


def row_counts(url: str) -> dict[str, int]:
    return {name: len(rows) for name, rows in dump_database(url).items()}


def test_first_load_adds_every_row(empty_db_url: str, seed_dataset: SeedDataset) -> None:
    result = load_seed(empty_db_url)

    assert result.changed
    changes = {name: (c.total, c.added, c.changed, c.removed) for name, c in result.changes.items()}
    assert {name: changes[name] for name in EXPECTED_ROWS} == {name: (n, n, 0, 0) for name, n in EXPECTED_ROWS.items()}
    counts = row_counts(empty_db_url)
    assert {name: counts[name] for name in EXPECTED_ROWS} == EXPECTED_ROWS
    assert counts["dataset"] == 1
    assert result.signature == signature_of(seed_dataset)
    summary = result.summary()
    assert f"loaded; dataset signature {result.signature[:16]}" in summary
    for name, n in EXPECTED_ROWS.items():  # the summary's table: rows, added, changed, removed
        assert re.search(rf"^{name}\s+{n}\s+{n}\s+0\s+0$", summary, re.MULTILINE), summary


def test_second_load_changes_nothing(empty_db_url: str) -> None:
    first = load_seed(empty_db_url)
    before = dump_database(empty_db_url)

    second = load_seed(empty_db_url)

    assert not second.changed
    assert all((c.added, c.changed, c.removed) == (0, 0, 0) for c in second.changes.values())
    assert second.signature == first.signature
    assert "no changes: the database already holds this dataset" in second.summary()
    assert dump_database(empty_db_url) == before  # not even the dataset row's loaded_at


def test_editing_one_note_changes_exactly_one_row(empty_db_url: str, seed_copy: Path) -> None:
    first = load_seed(empty_db_url)
    before = dump_database(empty_db_url)
    edit(
        seed_copy,
        "metrics.yaml",
        '    note: "Stated twice: in the lead and in the body."',
        '    note: "Stated twice (lead and body)."',
    )

    result = load_seed(empty_db_url, seed_copy)

    assert result.changed
    assert result.signature != first.signature
    touched = {name: (c.added, c.changed, c.removed) for name, c in result.changes.items() if c.touched}
    assert touched == {"metrics": (0, 1, 0)}
    after = dump_database(empty_db_url)
    assert [name for name in after if after[name] != before[name]] == ["metrics", "dataset", "metric_representations"]
    for name in ("metrics", "metric_representations"):  # the figure, and the representation the API sends
        changed = set(after[name]) - set(before[name])
        assert len(changed) == 1
        assert "Stated twice (lead and body)." in changed.pop()
    assert result.signature in after["dataset"][0]


def test_removing_a_metric_removes_it_and_its_citations(
    empty_db_url: str, seed_copy: Path, seed_dataset: SeedDataset
) -> None:
    load_seed(empty_db_url)
    gone = removable_metric(seed_copy)
    cited = citations_of(seed_dataset, gone)
    remove_metric(seed_copy, gone)

    result = load_seed(empty_db_url, seed_copy)

    touched = {name: (c.added, c.changed, c.removed) for name, c in result.changes.items() if c.touched}
    assert touched == {"metrics": (0, 0, 1), "citations": (0, 0, cited)}
    counts = row_counts(empty_db_url)
    assert (counts["metrics"], counts["citations"]) == (31 - 1, 32 - cited)
    engine = make_engine(empty_db_url, read_only=True)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM metrics WHERE id = :id"), {"id": gone}).scalar() == 0
            remaining = conn.execute(text("SELECT count(*) FROM citations WHERE metric_id = :id"), {"id": gone})
            assert remaining.scalar() == 0
    finally:
        engine.dispose()


def test_loading_the_original_seed_again_restores_it(
    empty_db_url: str, seed_copy: Path, seed_dataset: SeedDataset
) -> None:
    load_seed(empty_db_url)
    original = dump_database(empty_db_url)
    gone = removable_metric(seed_copy)
    remove_metric(seed_copy, gone)
    edit(seed_copy, "periods.yaml", "label: from 1985 to 2005", "label: 1985 to 2005")
    load_seed(empty_db_url, seed_copy)

    result = load_seed(empty_db_url)

    touched = {name: (c.added, c.changed, c.removed) for name, c in result.changes.items() if c.touched}
    assert touched == {
        "periods": (0, 1, 0),
        "metrics": (1, 0, 0),
        "citations": (citations_of(seed_dataset, gone), 0, 0),
    }
    restored = dump_database(empty_db_url)
    assert {name: rows for name, rows in restored.items() if name != "dataset"} == {
        name: rows for name, rows in original.items() if name != "dataset"
    }


# --- schema guard --------------------------------------------------------------------------


def test_loader_refuses_a_database_without_schema(blank_db_url: str, seed_dataset: SeedDataset) -> None:
    engine = make_engine(blank_db_url, read_only=False)
    try:
        with pytest.raises(SchemaNotReady, match=r"no schema: run `cadre-data migrate` first"):
            load(engine, seed_dataset)
    finally:
        engine.dispose()


def test_loader_refuses_a_schema_not_at_head(empty_db_url: str, seed_dataset: SeedDataset) -> None:
    engine = make_engine(empty_db_url, read_only=False)
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = 'not-the-head'"))
        with pytest.raises(SchemaNotReady, match=r"at revision not-the-head, not the head .*cadre-data migrate"):
            load(engine, seed_dataset)
    finally:
        engine.dispose()


def test_cli_seed_on_an_unmigrated_database_says_migrate_first(
    blank_db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_main(["seed", "--database-url", blank_db_url]) == 1
    err = capsys.readouterr().err
    assert "error: the database has no schema: run `cadre-data migrate` first" in err


def test_cli_seed_loads_then_reports_no_changes(empty_db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["seed", "--database-url", empty_db_url]) == 0
    assert "loaded; dataset signature" in capsys.readouterr().out
    assert cli_main(["seed", "--database-url", empty_db_url]) == 0
    assert "no changes" in capsys.readouterr().out


# --- atomicity -----------------------------------------------------------------------------


def modify_everywhere(seed: Path) -> None:
    """Changes in tables before and after every failure point below, and a removal (deletes run first)."""
    edit(seed, "source.yaml", "    publisher: The Epoch Times", "    publisher: Epoch Times")
    edit(seed, "destinations.yaml", "    note: The source names the three members.", "    note: Named by the source.")
    edit(seed, "vocabulary.yaml", "    label: living overseas", "    label: living abroad")
    edit(seed, "metrics.yaml", '    note: "Stated twice: in the lead and in the body."', '    note: "Twice."')
    remove_metric(seed, removable_metric(seed))


STAGES = (*TABLE_ORDER, "metric_representations")
"""What the load writes, in order: the tables, then every metric's stored representation and search text."""


# The first table, two in the middle, the last, and the stored representations: after them only the dataset
# row is left to write.
@pytest.mark.parametrize(
    "failing_after",
    list(dict.fromkeys(["sources", "destinations", "metrics", TABLE_ORDER[-1], "metric_representations"])),
)
def test_a_failed_load_leaves_the_old_data(empty_db_url: str, seed_copy: Path, failing_after: str) -> None:
    load_seed(empty_db_url)
    before = dump_database(empty_db_url)
    modify_everywhere(seed_copy)
    dataset = read_seed(seed_copy)
    written: list[str] = []

    def after_table(name: str) -> None:
        written.append(name)
        if name == failing_after:
            raise Boom(f"injected failure after {name}")

    engine = make_engine(empty_db_url, read_only=False)
    try:
        with pytest.raises(Boom):
            load(engine, dataset, after_table=after_table)
    finally:
        engine.dispose()

    assert written == list(STAGES[: STAGES.index(failing_after) + 1])
    assert dump_database(empty_db_url) == before
    # And the same modified seed, without the failure, does load: the dump above was not unchanged by luck.
    load_seed(empty_db_url, seed_copy)
    assert dump_database(empty_db_url) != before


@pytest.mark.parametrize("failing_after", ["destinations", "metrics"])
def test_a_failed_first_load_leaves_every_table_empty(
    empty_db_url: str, seed_dataset: SeedDataset, failing_after: str
) -> None:
    def after_table(name: str) -> None:
        if name == failing_after:
            raise Boom(f"injected failure after {name}")

    engine = make_engine(empty_db_url, read_only=False)
    try:
        with pytest.raises(Boom):
            load(engine, seed_dataset, after_table=after_table)
    finally:
        engine.dispose()
    after = dump_database(empty_db_url)
    assert set(after) >= {*TABLE_ORDER, "dataset"}
    assert after == {name: [] for name in after}
