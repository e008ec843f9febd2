"""An in-process HTTP cache in front of the application, for SQLite deployments.

A hit answers from stored bytes without entering FastAPI or any middleware: the cost of a request is
then a header scan, a dict lookup and one `PRAGMA data_version` (a few microseconds). SQLite changes
that number whenever another connection commits, so the first request after a reload empties the
cache: a cached response is always byte-identical to what the application would answer now.

Only complete 200 responses that carry an ETag (the data resources) are stored, as sent; their key
holds the raw target and every request header the response varies on (Accept, Accept-Encoding, Origin).
"""

from __future__ import annotations

import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.access_log import AccessLog

Key = tuple[bytes, bytes, bytes, bool, bytes]  # raw path, query, Accept, gzip accepted, Origin
Stored = tuple[list[tuple[bytes, bytes]], bytes]  # headers, body


class SQLiteDataVersion:
    """`PRAGMA data_version` on a private read-only connection: changes when anyone commits.

    The connection opens on first use, not at start: the API may start before the loader has made the
    file (readiness says so); until it exists every call raises `sqlite3.Error` and nothing is cached.
    """

    def __init__(self, path: Path) -> None:
        self._uri = f"file:{quote(str(path.resolve()))}?mode=ro"
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def __call__(self) -> int:
        with self._lock:
            if self._conn is None:
                self._conn = sqlite3.connect(self._uri, uri=True, check_same_thread=False, isolation_level=None)
            row = self._conn.execute("PRAGMA data_version").fetchone()
        return int(row[0])

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


# A request the cache answers must be one the application's own request limits (app.api.middleware.RequestLimits,
# 8 KiB) let through: anything larger, or with a body, or conditional, goes through the whole stack.
MAX_CACHED_TARGET = 4096
MAX_CACHED_HEADERS = 4096
_BYPASS = frozenset((b"if-none-match", b"content-length", b"transfer-encoding"))


class FastCache:
    """Complete 200 responses as sent (security and CORS headers included), replayed for the same GET.

    It runs in front of the whole application (`CachingFastAPI`), so a hit costs a header scan, a dict lookup
    and one `PRAGMA data_version`. Conditional requests (If-None-Match), HEAD, and requests with a body or
    large heads are never answered from here: the application answers them, from its own render cache."""

    def __init__(self, version: Callable[[], int] | None, max_entries: int = 2048) -> None:
        self.version = version
        self.max_entries = max_entries
        self._entries: OrderedDict[Key, Stored] = OrderedDict()
        self._token: int | None = None
        self.hits = 0

    async def handle(self, scope: Scope, receive: Receive, send: Send, app: ASGIApp) -> None:
        if self.version is None or scope["type"] != "http" or scope["method"] != "GET":
            await app(scope, receive, send)
            return
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
        query: bytes = scope["query_string"]
        accept = encoding = origin = None
        size = 0
        for name, value in scope["headers"]:
            size += len(name) + len(value)
            if name == b"accept":
                accept = value if accept is None else accept
            elif name == b"accept-encoding":
                encoding = value if encoding is None else encoding
            elif name == b"origin":
                origin = value if origin is None else origin
            elif name in _BYPASS:
                size = MAX_CACHED_HEADERS + 1
                break
        if size > MAX_CACHED_HEADERS or len(raw_path) + len(query) > MAX_CACHED_TARGET:
            await app(scope, receive, send)
            return
        try:
            token = self.version()
        except sqlite3.Error:
            await app(scope, receive, send)  # let the application answer (and report) the problem
            return
        if token != self._token:
            self._entries.clear()
            self._token = token
        key: Key = (raw_path, query, accept or b"", encoding is not None and b"gzip" in encoding, origin or b"")
        stored = self._entries.get(key)
        if stored is not None:
            self.hits += 1
            self._entries.move_to_end(key)
            headers, body = stored
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return

        start: Message | None = None
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body" and start is not None and start["status"] == 200:
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    headers = [(bytes(k), bytes(v)) for k, v in start.get("headers", [])]
                    # Store only data resources (an ETag), and only if nothing was committed while the response
                    # was made: then the data it was made from is the data the token names.
                    if any(k.lower() == b"etag" for k, _ in headers) and self._token == token and self._current(token):
                        self._store(key, headers, b"".join(chunks))
            await send(message)

        await app(scope, receive, capture)

    def _current(self, token: int) -> bool:
        try:
            return self.version is not None and self.version() == token
        except sqlite3.Error:
            return False

    def _store(self, key: Key, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        self._entries[key] = (headers, body)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)


class CachingFastAPI(FastAPI):
    """FastAPI with `FastCache` in front of everything, middleware included (None: no cache), and the access
    log (`log_access`) in front of that: a fast-cache hit is logged and carries X-Request-ID like any answer."""

    fast_cache: FastCache | None = None
    access_log: AccessLog | None = None

    def log_access(self, enabled: bool) -> None:
        self.access_log = AccessLog(self._cached, enabled=enabled)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.access_log is None:
            await self._cached(scope, receive, send)
        else:
            await self.access_log(scope, receive, send)

    async def _cached(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.fast_cache is None:
            await super().__call__(scope, receive, send)
        else:
            await self.fast_cache.handle(scope, receive, send, super().__call__)
