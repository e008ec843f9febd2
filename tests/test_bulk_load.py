"""metrics.jsonl is read once, inside the load's transaction (app.loader.bulk): a bad line anywhere fails the
load with its file, line, entry and reason, and leaves the database as it was; so does a worker process that
dies; the stored representations built from the rows as they are written are those the API's builder gives
from the rows read back."""

from __future__ import annotations

import json
import os
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest
from sqlalchemy import select

from app.api.queries import metric_documents, metric_select, metric_table, representation_table
from app.api.stored import stored_row
from app.db import is_sqlite, make_engine
from app.loader import bulk
from app.loader.load import load
from app.loader.seed import SeedInvalid, read_seed
from bench import synthetic
from tests.conftest import dump_database, load_seed


def _bad_file(seed_dir: Path) -> None:
    path = seed_dir / "metrics.jsonl"
    lines = path.read_text().splitlines()
    bad_quote = json.loads(lines[1])
    bad_quote["citations"][0]["quote"] = "no figure here"
    unknown = json.loads(lines[2])
    unknown["destination"] = "atlantis"
    lines[1], lines[2] = json.dumps(bad_quote), json.dumps(unknown)
    lines[4] = lines[3]  # a repeated id: ids must increase
    lines.append('{"id": "syn-9", "unit": "litres"}')
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("workers", ["0", "1"])
def test_bulk_metrics_errors_name_file_line_and_entry_and_nothing_is_written(
    empty_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: str
) -> None:
    monkeypatch.setenv("LOADER_WORKERS", workers)
    monkeypatch.setattr(bulk, "CHUNK_LINES", 2)  # several chunks: lines 1-2 are written before line 3 is read
    load_seed(empty_db_url, synthetic.write_seed(tmp_path / "good", 3))
    before = dump_database(empty_db_url)
    seed_dir = synthetic.write_seed(tmp_path / "syn", 5)
    _bad_file(seed_dir)
    with pytest.raises(SeedInvalid) as caught:
        load_seed(empty_db_url, seed_dir)
    found = {(e.file, e.line, e.entry, e.field) for e in caught.value.errors}
    assert ("metrics.jsonl", 2, "syn-0000001", "citations.0.quote") in found
    assert ("metrics.jsonl", 3, "syn-0000002", "destination") in found
    assert ("metrics.jsonl", 5, "syn-0000003", None) in found  # the repeat, across a chunk boundary (lines 5-6)
    assert ("metrics.jsonl", 6, "syn-9", "unit") in found
    assert dump_database(empty_db_url) == before


def test_check_validates_metrics_jsonl_without_a_database(tmp_path: Path) -> None:
    seed_dir = synthetic.write_seed(tmp_path / "syn", 5)
    dataset = read_seed(seed_dir)
    assert dataset.bulk is not None and dataset.bulk.validate() == (5, 5)
    _bad_file(seed_dir)
    dataset = read_seed(seed_dir)
    assert dataset.bulk is not None
    with pytest.raises(SeedInvalid) as caught:
        dataset.bulk.validate()
    assert ("metrics.jsonl", 3, "syn-0000002") in {(e.file, e.line, e.entry) for e in caught.value.errors}


def test_a_file_changed_while_it_is_loaded_fails_the_load(empty_db_url: str, tmp_path: Path) -> None:
    seed_dir = synthetic.write_seed(tmp_path / "syn", 5)
    dataset = read_seed(seed_dir)
    synthetic.write_seed(seed_dir, 6)  # after it was read, before it is loaded
    engine = make_engine(empty_db_url, read_only=False)
    try:
        with pytest.raises(SeedInvalid, match="1 error"):
            load(engine, dataset)
    finally:
        engine.dispose()


def _die_at_the_second_chunk(context: object, first_line: int, lines: list[bytes]) -> bulk.ReadChunk:
    if first_line > 1:
        os._exit(3)
    return _real_read_chunk(context, first_line, lines)  # type: ignore[arg-type]


_real_read_chunk = bulk.read_chunk


def test_a_worker_that_dies_fails_the_load_and_writes_nothing(
    empty_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_seed(empty_db_url)
    before = dump_database(empty_db_url)
    monkeypatch.setenv("LOADER_WORKERS", "1")
    monkeypatch.setattr(bulk, "CHUNK_LINES", 2)
    monkeypatch.setattr(bulk, "read_chunk", _die_at_the_second_chunk)  # the forked worker inherits it
    with pytest.raises(BrokenProcessPool):
        load_seed(empty_db_url, synthetic.write_seed(tmp_path / "syn", 7))
    assert dump_database(empty_db_url) == before


@pytest.mark.parametrize("workers", ["0", "1"])
def test_stored_rows_built_as_written_are_those_the_api_builds_from_the_rows_read_back(
    empty_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: str
) -> None:
    monkeypatch.setenv("LOADER_WORKERS", workers)
    monkeypatch.setattr(bulk, "CHUNK_LINES", 40)
    load_seed(empty_db_url, synthetic.write_seed(tmp_path / "syn", 150))
    engine = make_engine(empty_db_url, read_only=True)
    try:
        with engine.connect() as conn:
            rows = conn.execute(metric_select().order_by(metric_table.c.id)).all()
            expected = [stored_row(document) for document in metric_documents(conn, rows)]
            stored = {row[0]: tuple(row) for row in conn.execute(select(representation_table))}
            searched = dict(conn.exec_driver_sql("SELECT metric_id, text FROM metric_search").all())
    finally:
        engine.dispose()
    assert len(expected) == 181 == len(stored) == len(searched)
    for row in expected:
        assert stored[row[0]] == row[:4], row[0]
        assert searched[row[0]] == row[4], row[0]


def test_postgresql_compresses_the_stored_documents_with_lz4_where_it_can(empty_db_url: str, tmp_path: Path) -> None:
    if is_sqlite(empty_db_url):
        pytest.skip("TOAST compression is PostgreSQL's")
    load_seed(empty_db_url, synthetic.write_seed(tmp_path / "syn", 20))
    engine = make_engine(empty_db_url, read_only=True)
    try:
        with engine.connect() as conn:
            lz4 = conn.exec_driver_sql(
                "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"
            ).scalar()
            methods = conn.exec_driver_sql(
                "SELECT DISTINCT pg_column_compression(document) FROM metric_representations "
                "WHERE metric_id LIKE 'syn-%%'"
            ).scalars()
            assert set(methods) == ({"lz4"} if lz4 else {"pglz"})
            # only the load's transaction: the server's default is left as it was
            assert conn.exec_driver_sql("SHOW default_toast_compression").scalar() == "pglz"
    finally:
        engine.dispose()
