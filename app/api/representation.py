"""One path for every 200 the API sends: content negotiation (JSON or CSV), strong content ETags,
conditional GET, caching headers, and an in-process cache of rendered bodies.

The cache key starts with the loaded dataset's signature, so a reload (a new signature) makes every
cached body unreachable: a cached response is byte-identical to what a fresh render would produce.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from fastapi import Request
from sqlalchemy import Connection, text
from starlette.responses import Response

from app.errors import ApiProblem, shown

Format = Literal["json", "csv"]
JSON_TYPE = "application/json"
CSV_TYPE = "text/csv; charset=utf-8; header=present"
CSV_LIST_SEPARATOR = " | "
"""Every CSV cell that holds several values (a JSON array) joins them with this, in the array's order; no value
the dataset holds contains it (tests/api/test_csv_forms.py checks), so `cell.split(" | ")` gives the array back."""


@dataclass
class Payload:
    """What a route computed: the JSON document, and the rows a CSV rendering is made of."""

    document: Any
    csv_rows: Callable[[], Iterable[dict[str, Any]]] | None = None
    csv_columns: Sequence[str] = ()
    links: dict[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Rendered:
    body: bytes
    media_type: str
    etag: str
    headers: tuple[tuple[str, str], ...]


class ResponseCache:
    """A small thread-safe LRU of rendered bodies, bounded by entries and bytes."""

    def __init__(self, max_entries: int = 1024, max_bytes: int = 64 * 1024 * 1024) -> None:
        self._items: OrderedDict[tuple[str, ...], Rendered] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.max_entries = max_entries
        self.max_bytes = max_bytes

    def get(self, key: tuple[str, ...]) -> Rendered | None:
        with self._lock:
            item = self._items.get(key)
            if item is not None:
                self._items.move_to_end(key)
            return item

    def put(self, key: tuple[str, ...], item: Rendered) -> None:
        if self.max_entries == 0 or len(item.body) > self.max_bytes // 4:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= len(old.body)
            self._items[key] = item
            self._bytes += len(item.body)
            while len(self._items) > self.max_entries or self._bytes > self.max_bytes:
                _, evicted = self._items.popitem(last=False)
                self._bytes -= len(evicted.body)


def dataset_signature(conn: Connection) -> tuple[str, dt.datetime]:
    row = conn.execute(text("SELECT signature, loaded_at FROM dataset WHERE id = 1")).first()
    if row is None:
        raise ApiProblem(
            503,
            "dataset-not-loaded",
            "No dataset is loaded yet; run `cadre-data seed`.",
            title="Service unavailable",
            headers={"Retry-After": "30"},
        )
    loaded_at = row[1]
    if isinstance(loaded_at, str):
        loaded_at = dt.datetime.fromisoformat(loaded_at)
    return str(row[0]), loaded_at


def _accept_weights(accept: str) -> dict[str, float]:
    """Each media range of an Accept header with its highest q (RFC 9110 section 12.5.1)."""
    weights: dict[str, float] = {}
    for part in accept.split(","):
        media, _, params = part.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    q = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    q = 0.0
        media = media.strip().lower()
        if media:
            weights[media] = max(q, weights.get(media, 0.0))
    return weights


def negotiate(request: Request, format_param: str | None) -> Format:
    """`format=` wins; else CSV when the Accept header prefers text/csv over JSON; else JSON (`*/*` and no
    Accept too). An Accept header that admits neither is a 406 naming what is served."""
    if format_param is not None:
        return "csv" if format_param == "csv" else "json"
    accept = request.headers.get("accept", "").strip()
    if not accept:
        return "json"
    best = _accept_weights(accept)
    anything = best.get("*/*", 0.0) * 0.99  # a wildcard ranks below the same q given to a named type
    csv_q = max(best.get("text/csv", 0.0), best.get("text/*", 0.0) * 0.99, anything)
    json_q = max(best.get("application/json", 0.0), best.get("application/*", 0.0) * 0.99, anything)
    if "text/csv" in best and csv_q > 0 and csv_q >= json_q:
        return "csv"
    if json_q > 0:
        return "json"
    if csv_q > 0:
        return "csv"
    raise ApiProblem(
        406,
        "not-acceptable",
        f"Nothing here matches Accept: {shown(accept, 100)}. Served: {JSON_TYPE}, text/csv (errors: "
        "application/problem+json); or choose with format=json or format=csv.",
        title="Not acceptable",
    )


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def render_json(document: Any) -> bytes:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"), default=_json_default).encode()


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return CSV_LIST_SEPARATOR.join(_csv_cell(v) for v in value)
    return str(value)


def render_csv(columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_csv_cell(row.get(c)) for c in columns])
    return out.getvalue().encode()


def link_header(links: dict[str, str | None]) -> str:
    return ", ".join(f'<{url}>; rel="{rel}"' for rel, url in links.items() if url is not None)


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _etag_matches(if_none_match: str, etag: str) -> bool:
    """RFC 9110 weak comparison, as If-None-Match requires."""
    value = if_none_match.strip()
    if value == "*":
        return True
    bare = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == bare for tag in value.split(","))


def respond(
    request: Request,
    conn: Connection,
    build: Callable[[Connection], Payload],
    *,
    fmt: Format = "json",
    filename: str = "data",
) -> Response:
    """Render (or take from the cache) the representation `build` describes, with caching headers."""
    signature, _ = dataset_signature(conn)
    query = "&".join(f"{k}={v}" for k, v in sorted(request.query_params.multi_items()))
    key = (signature, request.url.path, query, fmt)
    cache: ResponseCache = request.app.state.response_cache
    rendered = cache.get(key)
    if rendered is None:
        payload = build(conn)
        headers: list[tuple[str, str]] = []
        if payload.links:
            headers.append(("Link", link_header(payload.links)))
        if fmt == "csv":
            if payload.csv_rows is None:
                raise ApiProblem(406, "not-acceptable", "This resource has no CSV representation.")
            body = render_csv(payload.csv_columns, payload.csv_rows())
            media_type = CSV_TYPE
            headers.append(("Content-Disposition", f'attachment; filename="{filename}.csv"'))
        else:
            body = render_json(payload.document)
            media_type = JSON_TYPE
        rendered = Rendered(body, media_type, _etag(body), tuple(headers))
        cache.put(key, rendered)

    settings = request.app.state.settings
    max_age = settings.cache_max_age
    common = {
        "ETag": rendered.etag,
        # RFC 5861: reuse for max-age; past it, while revalidating for as long again, and when the API fails
        # (5xx, unreachable) for stale-if-error (the proxy in deploy/ honours both, and nothing longer).
        "Cache-Control": (
            f"public, max-age={max_age}, stale-while-revalidate={max_age}, stale-if-error={settings.stale_if_error_s}"
        ),
        "Vary": "Accept",
    }
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None and _etag_matches(if_none_match, rendered.etag):
        return Response(status_code=304, headers=common)
    response = Response(rendered.body, media_type=rendered.media_type, headers=common)
    for name, value in rendered.headers:
        response.headers[name] = value
    return response
