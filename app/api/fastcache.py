"""An in-process HTTP cache in front of the application, for SQLite deployments.

A hit answers from stored bytes without entering FastAPI: the cost of a request is then a dict
lookup and one `PRAGMA data_version` (a few microseconds). SQLite changes that number whenever
another connection commits, so the first request after a reload empties the cache: a cached
response is always byte-identical to what the application would answer now.

Only complete 200 responses that carry an ETag (the data resources) are stored; their key holds
every request header the response varies on (Accept, Accept-Encoding, Origin).
"""

from __future__ import annotations

import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from starlette.types import ASGIApp, Message, Receive, Scope, Send

Key = tuple[str, bytes, bytes, bool, bytes]
Stored = tuple[list[tuple[bytes, bytes]], bytes, bytes]  # headers, body, etag


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


def _header(scope: Scope, name: bytes) -> bytes:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return b""


def _etag_matches(if_none_match: bytes, etag: bytes) -> bool:
    if if_none_match.strip() == b"*":
        return True
    return any(tag.strip().removeprefix(b"W/") == etag for tag in if_none_match.split(b","))


class FastCache:
    def __init__(self, app: ASGIApp, version: Callable[[], int] | None, max_entries: int = 2048) -> None:
        self.app = app
        self.version = version
        self.max_entries = max_entries
        self._entries: OrderedDict[Key, Stored] = OrderedDict()
        self._token: int | None = None
        self.hits = 0

    def clear(self) -> None:
        self._entries.clear()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.version is None or scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        try:
            token = self.version()
        except sqlite3.Error:
            await self.app(scope, receive, send)  # let the application answer (and report) the problem
            return
        if token != self._token:
            self._entries.clear()
            self._token = token
        key: Key = (
            scope["path"],
            scope["query_string"],
            _header(scope, b"accept"),
            b"gzip" in _header(scope, b"accept-encoding"),
            _header(scope, b"origin"),
        )
        stored = self._entries.get(key)
        if stored is not None:
            self.hits += 1
            self._entries.move_to_end(key)
            headers, body, etag = stored
            inm = _header(scope, b"if-none-match")
            if inm and _etag_matches(inm, etag):
                kept = [
                    (k, v) for k, v in headers if k not in (b"content-length", b"content-type", b"content-encoding")
                ]
                await send({"type": "http.response.start", "status": 304, "headers": kept})
                await send({"type": "http.response.body", "body": b""})
                return
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return

        start: Message | None = None
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False) and start is not None and start["status"] == 200:
                    headers = [(bytes(k), bytes(v)) for k, v in start.get("headers", [])]
                    etag = next((v for k, v in headers if k.lower() == b"etag"), None)
                    # Store only if nothing was committed while the response was made: then the data it
                    # was made from is the data the token names.
                    if etag is not None and self._token == token and self._current(token):
                        self._store(key, headers, b"".join(chunks), etag)
            await send(message)

        await self.app(scope, receive, capture)

    def _current(self, token: int) -> bool:
        try:
            return self.version is not None and self.version() == token
        except sqlite3.Error:
            return False

    def _store(self, key: Key, headers: list[tuple[bytes, bytes]], body: bytes, etag: bytes) -> None:
        self._entries[key] = (headers, body, etag)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
