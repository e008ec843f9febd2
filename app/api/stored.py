"""Stored representations: each metric's JSON document and CSV row, rendered once by the loader (inside its
transaction, with the API's own builder) and joined into pages per request.

The only per-request part of a metric is how it matched the `country` filter (COUNTRY_MATCH_KEYS, consecutive
in the document and the CSV row): the JSON document is stored with those keys null, the CSV row split around
their cells.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from app.api.formats import _csv_cell, render_json
from app.api.queries import COUNTRY_MATCH_KEYS, METRIC_CSV, METRIC_CSV_COLUMNS, METRIC_KEYS, search_text


def _span(keys: tuple[str, ...]) -> tuple[int, int]:
    start = keys.index(COUNTRY_MATCH_KEYS[0])
    assert keys[start : start + len(COUNTRY_MATCH_KEYS)] == COUNTRY_MATCH_KEYS, "the match keys must be consecutive"
    return start, start + len(COUNTRY_MATCH_KEYS)


_span(METRIC_KEYS)
_CSV_START, _CSV_END = _span(METRIC_CSV_COLUMNS)
CSV_HEAD, CSV_TAIL = METRIC_CSV_COLUMNS[:_CSV_START], METRIC_CSV_COLUMNS[_CSV_END:]
"""The CSV columns stored before the match cells, and after them."""
_NO_MATCH = render_json(dict.fromkeys(COUNTRY_MATCH_KEYS))[1:-1]


def _csv_line(cells: Sequence[Any]) -> str:
    """What csv.writer(lineterminator="") writes for the cells (the loader renders a million rows: 5x faster).
    With no line terminator only a comma or a quote makes the excel dialect quote a cell; a lone empty cell
    is quoted. tests/api/test_stored_representations.py compares it with csv.writer."""
    line = csv_cells(cells)
    return '""' if len(cells) == 1 and not line else line


def csv_cells(cells: Sequence[Any]) -> str:
    """The cells as _csv_line writes them among others (as part of a line of two cells or more, where no empty
    cell is quoted)."""
    texts = [cell if type(cell) is str else _csv_cell(cell) for cell in cells]
    return ",".join([_quoted(text) if "," in text or '"' in text else text for text in texts])


def _quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def stored_row(document: dict[str, Any]) -> tuple[str, str, str, str, str]:
    """(metric id, JSON document, CSV cells before the match cells, CSV cells after them, searched text)."""
    assert all(document[key] is None for key in COUNTRY_MATCH_KEYS)
    cells = [value(document) for value in METRIC_CSV.values()]
    return (
        document["id"],
        render_json(document).decode(),
        _csv_line(cells[:_CSV_START]),
        _csv_line(cells[_CSV_END:]),
        search_text(document),
    )


Match = Mapping[str, Any] | None
"""How a metric's destination matched `country`: its COUNTRY_MATCH_KEYS (app.api.filters), or None."""


def json_fragment(document: str, match: Match) -> bytes:
    body = document.encode()
    if not match:
        return body
    # The first occurrence is the keys': inside a JSON string the quotes would be escaped.
    return body.replace(_NO_MATCH, render_json({key: match.get(key) for key in COUNTRY_MATCH_KEYS})[1:-1], 1)


def json_page(fragments: Iterable[bytes], envelope: bytes) -> bytes:
    """The page `envelope` (rendered with `"data":[]` first) with the fragments as its data."""
    assert envelope.startswith(b'{"data":[]')
    return b'{"data":[' + b",".join(fragments) + b"]" + envelope[len(b'{"data":[]') :]


def csv_body(rows: Iterable[tuple[str, str, Match]]) -> bytes:
    """CSV from stored (head, tail, match) rows, with the header line; what render_csv would give."""
    empty = _csv_line([None] * len(COUNTRY_MATCH_KEYS))
    lines = [_csv_line(METRIC_CSV_COLUMNS)]
    for head, tail, match in rows:
        middle = _csv_line([match.get(key) for key in COUNTRY_MATCH_KEYS]) if match else empty
        lines.append(f"{head},{middle},{tail}")
    return ("\r\n".join(lines) + "\r\n").encode()
