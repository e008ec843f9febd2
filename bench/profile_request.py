"""Profile uncached requests (RESPONSE_CACHE=false): ms per request, SQL statements, and cProfile's top entries.

The ASGI app is called in-process (no server, no socket), one request at a time, so CPU is the application's own
work: routing, parameter validation, SQL (the client side; PostgreSQL's CPU is another process, in wall time
only), rendering. Statements are counted by SQLAlchemy's before_cursor_execute (SQLite's BEGIN among them).

    python -m bench.profile_request DATABASE_URL [--n 200] [--rounds 5] [--profile] [--top 25]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import statistics
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import anyio.to_thread
from sqlalchemy import event, text

from app.config import Settings
from app.main import create_app

METRIC = "canada-emigrated-1985-2005"


def requests(after: str) -> dict[str, str]:
    """Name -> request target: the uncached requests of issue 17."""
    return {
        "value_min": "/v1/metrics?value_min=150000",
        "country": "/v1/metrics?country=CA",
        "q": "/v1/metrics?q=canada",
        "q-common": "/v1/metrics?q=spouses",
        "after": f"/v1/metrics?after={after}",
        "one": f"/v1/metrics/{METRIC}",
    }


def _scope(target: str) -> dict[str, Any]:
    url = urlsplit(target)
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": url.path,
        "raw_path": url.path.encode(),
        "query_string": url.query.encode(),
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), (b"accept", b"application/json")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }


def caller(app: Any) -> Callable[[str, int], None]:
    """call(target, n): n GETs through the whole ASGI stack, one event loop run; raises unless each answers 200."""
    loop = asyncio.new_event_loop()

    async def once(target: str) -> int:
        status = 0

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        await app(_scope(target), receive, send)
        return status

    async def repeat(target: str, n: int) -> None:
        for _ in range(n):
            status = await once(target)
            if status != 200:
                raise SystemExit(f"{target}: {status}")

    return lambda target, n: loop.run_until_complete(repeat(target, n))


def inline_threads() -> None:
    """Run what FastAPI sends to worker threads (sync routes, the connection's checkout) in the event loop's
    thread: cProfile sees one thread only."""

    async def run_sync(func: Callable[..., Any], *args: Any, **_: Any) -> Any:
        return func(*args)

    anyio.to_thread.run_sync = run_sync  # type: ignore[assignment]


def count_statements(app: Any, call: Callable[[str, int], None], target: str) -> tuple[int, str]:
    """The statements one request runs, and which path answered it: the hot path (app.api.fastpath, which records
    its own), or the route (counted by SQLAlchemy's before_cursor_execute, which turns the hot path off)."""
    hot = app.state.hot_path
    answered, hot.statements = hot.answered, []
    try:
        call(target, 1)
        if hot.answered > answered:
            return len(hot.statements), "hot path"
    finally:
        hot.statements = None
    statements = 0

    def count(*_: Any) -> None:
        nonlocal statements
        statements += 1

    event.listen(app.state.engine, "before_cursor_execute", count)
    try:
        call(target, 1)
    finally:
        event.remove(app.state.engine, "before_cursor_execute", count)
    return statements, "route"


def middle_id(app: Any) -> str:
    with app.state.engine.connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM metrics")).scalar_one()
        middle = conn.execute(text("SELECT id FROM metrics ORDER BY id LIMIT 1 OFFSET :n"), {"n": count // 2})
        return str(middle.scalar())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database_url")
    parser.add_argument("--n", type=int, default=200, help="requests per round (each kind)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="cProfile one round of every kind; print the top")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--only", help="profile only this request kind")
    args = parser.parse_args()

    app = create_app(Settings(database_url=args.database_url, response_cache=False, access_log="off"))
    call = caller(app)
    targets = requests(middle_id(app))
    if args.only:
        targets = {args.only: targets[args.only]}
    print(f"{args.database_url.split('://')[0]}: {args.n} requests x {args.rounds} rounds, median ms per request")
    for name, target in targets.items():
        call(target, 1)  # warm: imports, pool, statement caches, what is kept per dataset
        trips, path = count_statements(app, call, target)
        cpu, wall = [], []
        for _ in range(args.rounds):
            start, started = time.process_time(), time.perf_counter()
            call(target, args.n)
            cpu.append((time.process_time() - start) * 1000 / args.n)
            wall.append((time.perf_counter() - started) * 1000 / args.n)
        print(
            f"  {name:10} {statistics.median(cpu):6.2f} ms CPU {statistics.median(wall):6.2f} ms wall "
            f"({trips} statements, {path})  {target}"
        )
    if args.profile:
        inline_threads()
        profiler = cProfile.Profile()
        profiler.enable()
        for target in targets.values():
            call(target, args.n)
        profiler.disable()
        stats = pstats.Stats(profiler)
        for key in ("cumulative", "tottime"):
            print(f"\n--- top {args.top} by {key} ---")
            stats.sort_stats(key).print_stats(args.top)


if __name__ == "__main__":
    main()
