"""The loader renders metrics.jsonl's stored rows in parts (app.loader.representations): what depends on one
joined record alone (a destination, a period, a measure, the publication) once per record, the rest per metric.
The rows must be byte for byte those the API's builder gives (stored_row of metric_document), whatever the
metric's own values and whichever records it refers to, in any order (the parts rendered for earlier metrics
are reused)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from app.api.queries import METRIC_COLUMNS, citation_document_of, document_inputs, metric_document
from app.api.stored import stored_row
from app.db import make_engine
from app.loader.representations import Joined
from app.models import metadata

_metrics, _citations = metadata.tables["metrics"], metadata.tables["citations"]


@dataclass(frozen=True)
class Seeded:
    """The seed's joined records, its metrics' rows and each metric's citations' rows."""

    joined: Joined
    metrics: list[dict[str, Any]]
    citations: list[list[dict[str, Any]]]

    def __repr__(self) -> str:  # Hypothesis prints the test's arguments
        return f"Seeded({len(self.metrics)} metrics)"


@pytest.fixture(scope="module")
def seeded(sqlite_url: str) -> Seeded:
    engine = make_engine(sqlite_url, read_only=True)
    try:
        with engine.connect() as conn:
            joined = Joined.read(conn)
            metrics = [dict(row) for row in conn.execute(select(_metrics).order_by(_metrics.c.id)).mappings()]
            citations = [
                [
                    dict(row)
                    for row in conn.execute(
                        select(_citations).where(_citations.c.metric_id == m["id"]).order_by(_citations.c.position)
                    ).mappings()
                ]
                for m in metrics
            ]
    finally:
        engine.dispose()
    return Seeded(joined, metrics, citations)


_text = st.one_of(
    st.none(),
    st.text(max_size=12),
    st.sampled_from(['a "quoted", comma', "line\nbreak", "tab\there", "é 中文 🙂", "\\", "", ",", '"']),
)
_OWN_TEXT = ("note", "attribution_note", "attribution_quote")
_OWN_NUMBER = ("lower", "upper")
_OWN_FLAG = ("lower_inclusive", "upper_inclusive")
_JOINS = ("destination_id", "period_id", "measure", "population", "attributed_to")


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_stored_rows_rendered_in_parts_are_the_builders_bytes(seeded: Seeded, data: st.DataObject) -> None:
    joined, metrics, citations = seeded.joined, seeded.metrics, seeded.citations
    for _ in range(data.draw(st.integers(1, 4))):
        index = data.draw(st.integers(0, len(metrics) - 1))
        metric = dict(metrics[index])
        for column in data.draw(st.sets(st.sampled_from(_OWN_TEXT))):
            metric[column] = data.draw(_text)
        if data.draw(st.booleans()):
            metric["value_text"] = data.draw(st.text(max_size=12))
        for column in data.draw(st.sets(st.sampled_from(_OWN_NUMBER))):
            metric[column] = data.draw(st.one_of(st.none(), st.integers(-(2**53), 2**53)))
        for column in data.draw(st.sets(st.sampled_from(_OWN_FLAG))):
            metric[column] = data.draw(st.one_of(st.none(), st.booleans()))
        for column in data.draw(st.sets(st.sampled_from(_JOINS))):
            known = [key for key in joined.values[column] if column in ("destination_id", "period_id") or key]
            metric[column] = data.draw(st.sampled_from(known))
        cited = [dict(c) for c in citations[index]]
        for citation in cited:
            citation["quote"] = data.draw(st.one_of(st.just(citation["quote"]), st.text(min_size=1, max_size=12)))
        expected = stored_row(joined.document(metric, [_cited(joined, c) for c in cited]))
        assert joined.stored(metric, cited) == expected


def _cited(joined: Joined, citation: dict[str, Any]) -> dict[str, Any]:
    return citation_document_of(citation, joined.source_urls[citation["source_id"]])


def test_document_inputs_name_every_column_a_key_is_built_from(seeded: Seeded) -> None:
    """Change one column of a joined row at a time: every document key that changes must list it."""
    joined, metrics = seeded.joined, seeded.metrics
    row = dict(metrics[0])
    for key, by_value in joined.values.items():
        row.update(by_value[metrics[0][key]])
    labels = [column.key for column in METRIC_COLUMNS]
    assert set(labels) <= set(row)
    before = metric_document(row, [], [])
    inputs = document_inputs()
    for label in labels:
        changed = metric_document({**row, label: f"changed {row[label]!r}"}, [], [])
        moved = {key for key in before if before[key] != changed[key]}
        assert moved, label
        assert all(label in inputs[key] for key in moved), (label, moved)
