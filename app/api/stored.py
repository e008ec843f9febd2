"""Stored representations: each metric's JSON document and CSV row, rendered once by the loader (inside its
transaction, with the API's own builder) and joined into pages per request.

The only per-request part of a metric is `country_match` (it depends on the `country` filter): the JSON
document is stored with `"country_match":null` and the CSV row split around that cell.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from app.api.queries import METRIC_CSV, METRIC_CSV_COLUMNS, search_text
from app.api.representation import _csv_cell, render_json

_NO_MATCH = b'"country_match":null'
_CSV_SPLIT = METRIC_CSV_COLUMNS.index("country_match")


def _csv_line(cells: Sequence[Any]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow([_csv_cell(cell) for cell in cells])
    return out.getvalue()


def stored_row(document: dict[str, Any]) -> tuple[str, str, str, str, str]:
    """(metric id, JSON document, CSV cells before country_match, CSV cells after it, searched text)."""
    assert document["country_match"] is None
    cells = [value(document) for value in METRIC_CSV.values()]
    return (
        document["id"],
        render_json(document).decode(),
        _csv_line(cells[:_CSV_SPLIT]),
        _csv_line(cells[_CSV_SPLIT + 1 :]),
        search_text(document),
    )


def json_fragment(document: str, country_match: str | None) -> bytes:
    body = document.encode()
    if country_match is None:
        return body
    # The first occurrence is the key: inside a JSON string the quotes would be escaped.
    return body.replace(_NO_MATCH, b'"country_match":"' + country_match.encode() + b'"', 1)


def json_page(fragments: Iterable[bytes], envelope: bytes) -> bytes:
    """The page `envelope` (rendered with `"data":[]` first) with the fragments as its data."""
    assert envelope.startswith(b'{"data":[]')
    return b'{"data":[' + b",".join(fragments) + b"]" + envelope[len(b'{"data":[]') :]


def csv_body(rows: Iterable[tuple[str, str, str | None]]) -> bytes:
    """CSV from stored (head, tail, country_match) rows, with the header line; what render_csv would give."""
    lines = [_csv_line(METRIC_CSV_COLUMNS)]
    lines.extend(f"{head},{match or ''},{tail}" for head, tail, match in rows)
    return ("\r\n".join(lines) + "\r\n").encode()
