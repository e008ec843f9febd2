"""Store each metric's representations (app.api.stored) and its searched text, inside the load's transaction, with
the API's own builder (app.api.queries.metric_document), so a page joined from them is byte for byte what a
per-request render gives. Two inputs, one builder: the rows of metrics.jsonl as they are written (`Joined`: the
labels and embedded records a metric's joins give, read once), and, for the few others, the rows read back."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Column, Connection, Table, delete, func, select

from app.api.formats import json_text
from app.api.queries import (
    COUNTRY_MATCH_KEYS,
    METRIC_COLUMNS,
    METRIC_CSV,
    METRIC_KEYS,
    attribution_table,
    citation_document_of,
    destination_table,
    document_inputs,
    measure_table,
    metric_document,
    metric_documents,
    metric_links,
    metric_select,
    metric_table,
    period_table,
    population_table,
    representation_table,
    search_text,
    source_table,
)
from app.api.stored import CSV_HEAD, CSV_TAIL, csv_cells, stored_row

CHUNK = 5000
REPRESENTATION_COLUMNS = tuple(representation_table.columns.keys())
SEARCH_COLUMNS = ("metric_id", "text")
StoredRow = tuple[str, str, str, str, str]
"""(metric id, JSON document, CSV head, CSV tail, searched text): app.api.stored.stored_row."""

_JOIN_KEYS: dict[str, Column[Any]] = {
    "measure": measure_table.c.id,
    "population": population_table.c.id,
    "attributed_to": attribution_table.c.id,
    "destination_id": destination_table.c.id,
    "period_id": period_table.c.id,
}
"""The metric column each joined table of metric_select() is found by (the source through the attribution)."""
_THROUGH = {source_table.name: "attributed_to"}


def _joined_by(column: Any) -> str | None:
    table: Table = getattr(column, "element", column).table
    if table is metric_table:
        return None
    return _THROUGH.get(table.name) or next(key for key, id_ in _JOIN_KEYS.items() if id_.table is table)


@dataclass(frozen=True)
class Joined:
    """What metric_select()'s joins add to a metric's own columns, by the metric column that selects it, and
    each source's URL (a citation's link): read from the tables already written, in the load's transaction.

    `stored` renders the parts of a metric's representations that depend on one joined record alone (its
    destination, period, measure, publication...) once per record, and only the rest per metric: a million
    metrics refer to a few thousand records."""

    values: Mapping[str, Mapping[Any, Mapping[str, Any]]]
    source_urls: Mapping[str, str]
    _template: _Template = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_template", _Template.of(self.values))

    @classmethod
    def read(cls, conn: Connection) -> Joined:
        values: dict[str, dict[Any, dict[str, Any]]] = {}
        for key, id_ in _JOIN_KEYS.items():
            columns = [column for column in METRIC_COLUMNS if _joined_by(column) == key]
            joined: Any = id_.table
            if key == "attributed_to":
                joined = joined.join(source_table, source_table.c.id == attribution_table.c.source_id)
            rows = conn.execute(select(id_.label("joined_key"), *columns).select_from(joined)).mappings()
            values[key] = {row["joined_key"]: {c.key: row[c.key] for c in columns} for row in rows}
            values[key][None] = {column.key: None for column in columns}  # an outer join that finds nothing
        urls = {id_: url for id_, url in conn.execute(select(source_table.c.id, source_table.c.url))}
        return cls(values, urls)

    def stored(self, metric: Mapping[str, Any], citations: Sequence[Mapping[str, Any]]) -> StoredRow:
        """The stored row of a metric not yet written, from its row and its citations' rows (metrics.jsonl's
        figures are in no check: checks.yaml refers only to metrics.yaml): stored_row(metric_document(...)) of
        the row joined as metric_select() would, byte for byte."""
        cited = [citation_document_of(c, self.source_urls[c["source_id"]]) for c in citations]
        return self._template.render(self, metric, cited)

    def document(self, metric: Mapping[str, Any], cited: list[dict[str, Any]]) -> dict[str, Any]:
        """The metric's whole document, from its row joined with the records it refers to."""
        row = dict(metric)
        for key, by_value in self.values.items():
            row.update(by_value[metric[key]])
        return metric_document(row, cited, [])


CONSTANT = ""
"""Where a part of a stored row comes from when it is the same for every metric (the country match, null)."""
_COMPUTED = ("citations", "checks", "links")
"""A metric's own document keys that are not its columns."""


@dataclass
class _Part:
    """Consecutive keys (or CSV columns) of a stored row that come from the same place, `source`: a join key of
    Joined.values (rendered once per value of it), CONSTANT, or None: the metric itself (rendered per metric;
    from its document when `whole`, else from its own columns)."""

    names: tuple[str, ...]
    source: str | None
    whole: bool = False
    rendered: dict[Any, str] = field(default_factory=dict)


@dataclass
class _Template:
    """A stored row in parts: the JSON document's keys, the CSV head's and tail's columns."""

    json: list[_Part]
    head: list[_Part]
    tail: list[_Part]

    @classmethod
    def of(cls, joined: Mapping[str, Any]) -> _Template:
        label_source = {column.key: _joined_by(column) for column in METRIC_COLUMNS}
        label_source.update({key: key for key in joined})  # a join key's own value selects its record
        sources: dict[str, str | None] = dict.fromkeys(METRIC_KEYS)
        own = set(_COMPUTED)
        for key, labels in document_inputs().items():
            found = {label_source[label] for label in labels}
            sources[key] = found.pop() if len(found) == 1 else None
            own.update(key for label in labels if label == key and key in metric_table.c)
        sources.update(dict.fromkeys(COUNTRY_MATCH_KEYS, CONSTANT))
        sample: dict[str, Any] = {key: None for key in METRIC_KEYS} | {"citations": []}
        csv_sources: dict[str, str | None] = {}
        csv_own: set[str] = set()
        for column, getter in METRIC_CSV.items():
            read = _read_keys(getter, sample)
            found = {sources[key] for key in read}
            csv_sources[column] = found.pop() if len(found) == 1 else None
            if read <= own:
                csv_own.add(column)
        return cls(
            _parts(METRIC_KEYS, sources, own),
            _parts(CSV_HEAD, csv_sources, csv_own),
            _parts(CSV_TAIL, csv_sources, csv_own),
        )

    def render(self, joined: Joined, metric: Mapping[str, Any], cited: list[dict[str, Any]]) -> StoredRow:
        """stored_row(joined.document(metric, cited)), rendering per metric only the parts that are its own; the
        whole document only where a part needs it (the first metric that refers to a record, for one)."""
        if len(CSV_HEAD) < 2 or len(CSV_TAIL) < 2:  # a lone empty cell is quoted: csv_cells does not quote it
            return stored_row(joined.document(metric, cited))
        own = {**metric, "citations": cited, "checks": [], "links": metric_links(metric)}
        whole: list[dict[str, Any]] = []

        def document() -> dict[str, Any]:
            if not whole:
                whole.append(joined.document(metric, cited))
            return whole[0]

        def cells() -> dict[str, Any]:
            return {column: getter(document()) for column, getter in METRIC_CSV.items()}

        return (
            own["id"],
            "{" + ",".join([_part_text(part, metric, own, document, _json_part) for part in self.json]) + "}",
            ",".join([_part_text(part, metric, own, cells, _csv_part) for part in self.head]),
            ",".join([_part_text(part, metric, own, cells, _csv_part) for part in self.tail]),
            search_text(own),
        )


def _part_text(
    part: _Part,
    metric: Mapping[str, Any],
    own: dict[str, Any],
    whole: Callable[[], Mapping[str, Any]],
    render: Callable[[_Part, Mapping[str, Any]], str],
) -> str:
    if part.source is None:
        return render(part, whole() if part.whole else own)
    key = None if part.source == CONSTANT else metric[part.source]
    text = part.rendered.get(key)
    if text is None:
        text = part.rendered[key] = render(part, whole())
    return text


def _json_part(part: _Part, document: Mapping[str, Any]) -> str:
    """The part's keys and values as they are written in the document (an object's text without its braces)."""
    return json_text({name: document[name] for name in part.names})[1:-1]


def _csv_part(part: _Part, values: Mapping[str, Any]) -> str:
    """Cells from the CSV cells by column (`whole`, or a joined part), or from the metric's own values."""
    if part.whole or part.source is not None:
        return csv_cells([values[name] for name in part.names])
    return csv_cells([METRIC_CSV[name](values) for name in part.names])  # type: ignore[arg-type]


def _read_keys(getter: Callable[[dict[str, Any]], Any], document: dict[str, Any]) -> set[str]:
    """The document keys a CSV column's getter reads (from a sample document)."""
    read: set[str] = set()

    class Recording(dict[str, Any]):
        def __getitem__(self, key: str) -> Any:
            read.add(key)
            return super().__getitem__(key)

    getter(Recording(document))
    return read


def _parts(names: Sequence[str], sources: Mapping[str, str | None], own: set[str]) -> list[_Part]:
    """`names` in runs of one source; a run of the metric's own that reads more than its own values is `whole`."""
    parts: list[_Part] = []
    for name in names:
        source = sources[name]
        whole = source is None and name not in own
        if parts and parts[-1].source == source and parts[-1].whole == whole:
            parts[-1].names += (name,)
        else:
            parts.append(_Part((name,), source, whole))
    return parts


def current(conn: Connection) -> bool:
    """Every metric has its stored representation (false after the migration that adds them, for one)."""
    stored = conn.execute(select(func.count()).select_from(representation_table)).scalar_one()
    return bool(stored == conn.execute(select(func.count()).select_from(metric_table)).scalar_one())


def clear(conn: Connection) -> None:
    """Empty both tables. On SQLite the FTS5 table is dropped and made again as the migration made it: deleting
    its rows one by one would cost as much as writing them."""
    if conn.dialect.name == "sqlite":
        made = conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = 'metric_search'").scalar_one()
        conn.exec_driver_sql("DROP TABLE metric_search")
        conn.exec_driver_sql(made)
    else:
        conn.exec_driver_sql("DELETE FROM metric_search")
    conn.execute(delete(representation_table))


def _rendered(conn: Connection, only: Sequence[str] | None) -> Iterator[list[StoredRow]]:
    """Stored rows of every metric (or of the metrics `only` names), read back, a chunk at a time (keyset over
    the primary key)."""
    if only is not None:
        for start in range(0, len(only), CHUNK):
            rows = conn.execute(metric_select().where(metric_table.c.id.in_(only[start : start + CHUNK]))).all()
            yield [stored_row(document) for document in metric_documents(conn, rows)]
        return
    last = ""
    while True:
        page = metric_select().where(metric_table.c.id > last).order_by(metric_table.c.id).limit(CHUNK)
        rows = conn.execute(page).all()
        if not rows:
            return
        yield [stored_row(document) for document in metric_documents(conn, rows)]
        last = rows[-1].id


def write(conn: Connection, rows: list[StoredRow]) -> None:
    """Insert stored rows: executemany on SQLite, COPY on PostgreSQL."""
    cursor: Any = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        if conn.dialect.name == "sqlite":
            cursor.executemany(f"INSERT INTO {_REPRESENTATION} VALUES (?, ?, ?, ?)", [row[:4] for row in rows])
            cursor.executemany(f"INSERT INTO {_SEARCH} VALUES (?, ?)", [(row[0], row[4]) for row in rows])
            return
        with cursor.copy(f"COPY {_REPRESENTATION} FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row[:4])
        with cursor.copy(f"COPY {_SEARCH} FROM STDIN") as copy:
            for row in rows:
                copy.write_row((row[0], row[4]))
    finally:
        cursor.close()


_REPRESENTATION = f"metric_representations ({', '.join(REPRESENTATION_COLUMNS)})"
_SEARCH = f"metric_search ({', '.join(SEARCH_COLUMNS)})"


def fill(conn: Connection, only: Sequence[str] | None = None) -> int:
    """Store the representation of every metric, or of those `only` names (read back by SQL); returns how many.
    The metrics must have none yet."""
    count = 0
    for chunk in _rendered(conn, only):
        count += len(chunk)
        write(conn, chunk)
    return count


def rebuild(conn: Connection) -> int:
    """Replace every stored representation and search row; returns how many metrics were rendered."""
    clear(conn)
    return fill(conn)
