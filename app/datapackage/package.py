"""The loaded database as a Frictionless Data Package: one CSV per table, `datapackage.json`, and a zip of both.

Read-only SQL over the tables; the same functions serve `cadre-data export` and the API, so the files
written, the CSVs served and the zip served are the same bytes. Rows are sorted by primary key in Python
(not by the database's collation), so SQLite and PostgreSQL give identical files for the same dataset.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile
from collections.abc import Callable, Iterable
from enum import Enum
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select

from app.datapackage.schema import BY_NAME, MISSING, RESOURCES, ResourceSpec, table_schema
from app.models import Dataset, Report, Source

NAME = "cadre-families-data"
TITLE = "Cadre families overseas: figures as reported"
DESCRIPTOR = "datapackage.json"
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
"""Every zip entry's timestamp (the earliest a zip can hold): the zip's bytes depend on the data alone."""
LICENSE = {
    "name": "MIT",
    "path": "https://opensource.org/licenses/MIT",
    "title": "MIT License, for the dataset's structure and readings; the quotes are short citations of the "
    "source, which keeps its own rights",
}


class DatasetNotLoaded(LookupError):
    """The database has no `dataset` row: nothing was loaded yet."""


def _cell(value: Any) -> str:
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _rows(conn: Connection, spec: ResourceSpec) -> list[tuple[Any, ...]]:
    table = spec.table
    positions = [spec.columns.index(column) for column in table.primary_key.columns]
    rows = [tuple(row) for row in conn.execute(select(*spec.columns))]
    return sorted(rows, key=lambda row: tuple(row[i] for i in positions))


def write_csv(conn: Connection, name: str, out: io.TextIOBase | Any) -> int:
    """Write resource `name` as RFC 4180 CSV (header row, CRLF) to a text stream; returns the row count."""
    spec = BY_NAME[name]
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([column.name for column in spec.columns])
    rows = _rows(conn, spec)
    writer.writerows([_cell(value) for value in row] for row in rows)
    return len(rows)


def resource_csv(conn: Connection, name: str, counts: dict[str, int] | None = None) -> bytes:
    """Resource `name` as CSV bytes; its row count goes into `counts` when given."""
    out = io.StringIO(newline="")
    rows = write_csv(conn, name, out)
    if counts is not None:
        counts[name] = rows
    return out.getvalue().encode()


def _dataset(conn: Connection) -> tuple[str, dt.datetime]:
    table = Dataset.__table__  # type: ignore[attr-defined]
    row = conn.execute(select(table.c.signature, table.c.loaded_at).where(table.c.id == 1)).first()
    if row is None:
        raise DatasetNotLoaded("no dataset is loaded yet; run `cadre-data seed`")
    loaded_at = row.loaded_at if isinstance(row.loaded_at, dt.datetime) else dt.datetime.fromisoformat(row.loaded_at)
    return str(row.signature), loaded_at if loaded_at.tzinfo else loaded_at.replace(tzinfo=dt.UTC)


def _and(items: Iterable[str]) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def describe(conn: Connection) -> dict[str, Any]:
    """Package-level metadata: what the figures are, attributed to the article that reports them."""
    signature, loaded_at = _dataset(conn)
    sources = conn.execute(select(Source.__table__).order_by(Source.__table__.c.id)).mappings().all()  # type: ignore[attr-defined]
    reports = conn.execute(select(Report.__table__).order_by(Report.__table__.c.id)).mappings().all()  # type: ignore[attr-defined]
    articles = [f"\u201c{s['title']}\u201d ({s['publisher']}, {s['published'].isoformat()})" for s in sources]
    publishers = _and(sorted({s["publisher"] for s in sources}))
    said = [
        f"a report that {publishers} says was issued by {_and(r['issuers'])} to {_and(r['recipients'])}"
        + (f" (\u201c{r['issued_text']}\u201d)" if r["issued_text"] else "")
        + f": {r['description']}"
        for r in reports
    ]
    return {
        "profile": "tabular-data-package",
        "name": NAME,
        "title": TITLE,
        "description": (
            f"Figures from {'; and '.join(said)}. As reported in {_and(articles)}. Every figure is a claim as "
            "reported, never stated as fact: the source's wording (value_text), the qualifier and bounds it "
            "implies (lower, upper, each inclusive or not; empty = open), unit, period, destination, and the "
            "verbatim quote it comes from (citations). Values are in base units: persons, cases, US dollars."
        ),
        "version": signature,
        "created": loaded_at.isoformat(),
        "licenses": [LICENSE],
        "sources": [
            {"title": f"{s['title']} ({s['publisher']}, {s['published'].isoformat()})", "path": s["url"]}
            for s in sources
        ],
        "contributors": [
            *({"title": s["publisher"], "role": "contributor", "path": s["url"]} for s in sources),
            {"title": f"{NAME} (readings, bounds and consistency checks)", "role": "wrangler"},
        ],
        "keywords": ["as reported", "citations", "emigration", "Chinese Communist Party", "cadres"],
    }


def descriptor(conn: Connection, path: Callable[[str], str] = lambda name: f"{name}.csv") -> dict[str, Any]:
    """`datapackage.json`; `path(name)` says where each resource's CSV is (a file name, or a URL)."""
    resources = []
    for spec in RESOURCES:
        doc = spec.model.__doc__
        resources.append(
            {
                "profile": "tabular-data-resource",
                "name": spec.name,
                "path": path(spec.name),
                "title": spec.title,
                **({"description": " ".join(doc.split())} if doc else {}),
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "schema": table_schema(spec),
            }
        )
    return {**describe(conn), "resources": resources}


def package_files(conn: Connection, counts: dict[str, int] | None = None) -> dict[str, bytes]:
    """Every file of the package, descriptor first. Read in one transaction of a read-only engine (one
    snapshot: app.db), the descriptor's version and the rows always agree."""
    files = {DESCRIPTOR: (json.dumps(descriptor(conn), ensure_ascii=False, indent=2) + "\n").encode()}
    for spec in RESOURCES:
        files[f"{spec.name}.csv"] = resource_csv(conn, spec.name, counts)
    return files


def zip_bytes(files: dict[str, bytes]) -> bytes:
    """A zip with fixed entry timestamps and modes: the same files always give the same bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, body in files.items():
            entry = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.create_system = 3
            entry.external_attr = 0o100644 << 16
            archive.writestr(entry, body, compresslevel=9)
    return out.getvalue()


def export(conn: Connection, target: Path, *, as_zip: bool = False) -> dict[str, int]:
    """Write the package into directory `target` (or, with `as_zip`, as the zip file `target`).

    Returns the rows of each resource."""
    counts: dict[str, int] = {}
    files = package_files(conn, counts)
    if as_zip:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(zip_bytes(files))
    else:
        target.mkdir(parents=True, exist_ok=True)
        for name, body in files.items():
            (target / name).write_bytes(body)
    return counts
