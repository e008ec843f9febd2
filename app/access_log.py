"""One JSON line per request (ACCESS_LOG=json), and a request id on every response.

The id is the request's `X-Request-ID` when it is a plain token (what nginx in deploy/ sends: its own
`$request_id`, or the client's when that was one), otherwise one generated here; the response carries it
back in `X-Request-ID`, and the log line names it, so a line in the proxy's log and one in a replica's
belong together. The line: ts, method, path, query, status, duration_ms, bytes, request_id, client,
host (the replica: its container's hostname). Pure ASGI, outermost: the status and duration are what
the client got, errors answered by inner middleware included.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import sys
import time
import uuid
from datetime import UTC, datetime

from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = b"x-request-id"
_VALID_ID = re.compile(rb"[A-Za-z0-9._-]{1,64}")
_MAX_LOGGED = 1024
"""Path and query are cut to this many characters in the log (the app refuses targets over 8 KiB)."""

logger = logging.getLogger("cadre.access")


def _default_handler() -> None:
    """Bare JSON lines on stdout, whatever the root logger's format or level; the handler is added once."""
    logger.setLevel(logging.INFO)
    logger.propagate = False
    if not any(getattr(handler, "cadre_access", False) for handler in logger.handlers):
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(message)s"))
        handler.cadre_access = True  # type: ignore[attr-defined]
        logger.addHandler(handler)


def request_id_of(headers: list[tuple[bytes, bytes]]) -> str:
    """The request's own id when it is a plain token of at most 64 characters, else a new one."""
    for name, value in headers:
        if name == REQUEST_ID_HEADER and _VALID_ID.fullmatch(value):
            return value.decode()
    return uuid.uuid4().hex


class AccessLog:
    """Pure ASGI: echo (or assign) X-Request-ID on every HTTP response; log it when `enabled`."""

    def __init__(self, app: ASGIApp, enabled: bool = True) -> None:
        self.app = app
        self.enabled = enabled
        self.host = socket.gethostname()
        if enabled:
            _default_handler()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(scope["headers"])
        started = time.perf_counter()
        status = 0
        sent = 0

        async def wrapped(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != REQUEST_ID_HEADER]
                headers.append((REQUEST_ID_HEADER, request_id.encode()))
                message = {**message, "headers": headers}
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, wrapped)
        finally:
            if self.enabled:
                self._log(scope, request_id, status or 500, sent, time.perf_counter() - started)

    def _log(self, scope: Scope, request_id: str, status: int, sent: int, seconds: float) -> None:
        client = scope.get("client")
        line = {
            "ts": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "method": scope["method"],
            "path": scope["path"][:_MAX_LOGGED],
            "query": scope.get("query_string", b"").decode("latin-1")[:_MAX_LOGGED],
            "status": status,
            "duration_ms": round(seconds * 1000, 2),
            "bytes": sent,
            "request_id": request_id,
            "client": client[0] if client else None,
            "host": self.host,
        }
        logger.info(json.dumps(line, ensure_ascii=True, separators=(",", ":")))
