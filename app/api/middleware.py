"""The pure ASGI middlewares: request limits, a concurrency limit, HEAD answered as GET, and security headers on
every response."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import ALLOWED_METHODS, problem_response

API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
# The explorer's pages (text/html on the data URLs): one stylesheet and inline SVG, no script at all.
PAGE_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'"
)
# Swagger UI and ReDoc bootstrap with an inline script and ReDoc runs a blob: worker; nothing leaves this origin.
DOCS_CSP = (
    "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
DOCS_PATHS = ("/docs", "/redoc")

MAX_URL_BYTES = 8192
"""Longest request target (path and query) served; longer gets 414. `cadre-data serve` lets uvicorn read
requests up to 64 KiB (line and headers) so that these limits, not the server's plain-text 400, answer."""
MAX_HEADER_BYTES = 8192
"""Most header bytes (names and values) a request may carry; more gets 431."""


class SecurityHeaders:
    """Add security headers to every response (and drop `Server`); the docs get a CSP that lets them run, the
    explorer's pages (any text/html answer on an API path) one that lets their stylesheet and SVG load."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        csp = DOCS_CSP if path in DOCS_PATHS or path.startswith("/static/") else API_CSP

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"server"]
                is_page = any(k.lower() == b"content-type" and v.startswith(b"text/html") for k, v in headers)
                headers += [
                    (b"x-content-type-options", b"nosniff"),
                    (b"content-security-policy", (PAGE_CSP if is_page and csp == API_CSP else csp).encode()),
                    (b"referrer-policy", b"no-referrer"),
                    (b"x-frame-options", b"DENY"),
                    (b"cross-origin-resource-policy", b"cross-origin"),
                ]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


class HeadAsGet:
    """Answer HEAD as GET, without the body (the headers, Content-Length included, are the GET's)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, without_body)


class RequestLimits:
    """Refuse over-long URLs (414), oversized headers (431) and any request body (405 with another method, else
    413: every operation is a GET or HEAD), with a problem+json answer, before routing or any database work."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        target = len(scope.get("raw_path") or scope["path"].encode()) + len(scope.get("query_string", b""))
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        problem: tuple[int, str, str] | None = None
        if target > MAX_URL_BYTES:
            problem = (414, "uri-too-long", f"The request target is longer than {MAX_URL_BYTES} bytes.")
        elif sum(len(k) + len(v) for k, v in headers) > MAX_HEADER_BYTES:
            problem = (431, "headers-too-large", f"The request headers exceed {MAX_HEADER_BYTES} bytes.")
        elif any(
            (name == b"content-length" and value.strip() not in (b"", b"0")) or name == b"transfer-encoding"
            for name, value in headers
        ):
            # The method is the first thing wrong with a POST (PUT, DELETE...) that has a body: 405, as without one.
            if scope["method"] not in ("GET", "HEAD", "OPTIONS"):
                problem = (405, "method-not-allowed", f"This API is read-only: use {ALLOWED_METHODS}.")
            else:
                problem = (413, "content-too-large", "This read-only API takes no request body.")
        if problem is None:
            await self.app(scope, receive, send)
            return
        status, slug, detail = problem
        # The request is not read: close the connection rather than leave a body unread on it.
        extra = {"Allow": ALLOWED_METHODS} if status == 405 else {}
        response = problem_response(None, status, slug, detail, headers={"Connection": "close", **extra})
        await response(scope, receive, send)


class ConcurrencyLimit:
    """At most `limit` requests in the application at once (per process); one more is answered at once with 503
    problem+json and Retry-After, like every other error, instead of queueing. It replaces uvicorn's
    `--limit-concurrency`, whose 503 is text/plain and which counts idle keep-alive connections too.
    `/health/live` is not counted: an overloaded server is still alive. A fast-cache hit (app.api.fastcache)
    answers before this and costs no work, so it is not counted either."""

    def __init__(self, app: ASGIApp, limit: int, retry_after_s: int) -> None:
        self.app = app
        self.limit = limit
        self.retry_after_s = retry_after_s
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] == "/health/live":
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.limit:  # one event loop: nothing runs between this test and the increment
            detail = f"The server is answering {self.limit} requests already; retry after {self.retry_after_s} s."
            headers = {"Retry-After": str(self.retry_after_s)}
            await problem_response(None, 503, "overloaded", detail, headers=headers)(scope, receive, send)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
