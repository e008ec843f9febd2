"""One path for every 200 the API sends: the representation negotiated (app.api.formats renders it), strong
content ETags, conditional GET, caching headers, and an in-process cache of rendered bodies.

The cache key starts with the loaded dataset's signature, so a reload (a new signature) makes every
cached body unreachable: a cached response is byte-identical to what a fresh render would produce.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TypeVar

from fastapi import Request
from sqlalchemy import Connection, text
from starlette.responses import Response

from app.api.formats import FORMATS, OWN_BODY, Format, Payload
from app.errors import ApiProblem


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


T = TypeVar("T")
_request_signature: ContextVar[str | None] = ContextVar("dataset_signature", default=None)
_per_dataset: dict[tuple[str, Hashable], object] = {}
PER_DATASET_ENTRIES = 1024


def per_dataset(key: Hashable, compute: Callable[[], T]) -> T:
    """`compute()` (a function of the loaded dataset alone: country names, the ids a table holds), kept for the
    dataset whose signature respond() read in this request's transaction; a reload changes the signature, so a
    kept value never outlives its data. Outside respond() it is computed every time."""
    signature = _request_signature.get()
    if signature is None:
        return compute()
    memo_key = (signature, key)
    if memo_key in _per_dataset:
        return _per_dataset[memo_key]  # type: ignore[return-value]
    value = compute()
    if len(_per_dataset) >= PER_DATASET_ENTRIES:  # a reload's old entries, or many keys: start again
        _per_dataset.clear()
    _per_dataset[memo_key] = value
    return value


NOT_KEPT = object()


def kept(signature: str, key: Hashable) -> object:
    """What per_dataset() keeps for `key` in the dataset `signature`, or NOT_KEPT (nothing computes it here: a
    caller without a SQLAlchemy connection, app.api.fastpath, leaves the computing to the routes)."""
    return _per_dataset.get((signature, key), NOT_KEPT)


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


def cache_key(request: Request, signature: str, fmt: Format) -> tuple[str, ...]:
    """The render cache's key: the dataset, the path, the query (parameters sorted) and the format."""
    query = "&".join(f"{k}={v}" for k, v in sorted(request.query_params.multi_items()))
    return (signature, request.url.path, query, fmt)


def rendered_payload(payload: Payload, body: bytes, media_type: str, added: list[tuple[str, str]]) -> Rendered:
    """A rendered body with its ETag, the payload's Link header first, then the renderer's headers."""
    headers = [("Link", link_header(payload.links))] if payload.links else []
    return Rendered(body, media_type, _etag(body), tuple(headers + added))


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
    key = cache_key(request, signature, fmt)
    cache: ResponseCache = request.app.state.response_cache
    rendered = cache.get(key)
    if rendered is None:
        token = _request_signature.set(signature)
        try:
            payload = build(conn)
        finally:
            _request_signature.reset(token)
        renderer = OWN_BODY if payload.body is not None else FORMATS[fmt]
        body, added = renderer.render(request, conn, payload, filename)
        media_type = payload.media_type if renderer is OWN_BODY else renderer.media_type
        rendered = rendered_payload(payload, body, media_type, added)
        cache.put(key, rendered)
    return send_rendered(request, rendered)


def send_rendered(request: Request, rendered: Rendered) -> Response:
    """The response for a rendered body: caching headers, and 304 when If-None-Match names its ETag."""
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
