"""What `q=` costs: milliseconds per uncached request (median of --repeat) for common, rare and label-only words,
alone, sorted and with another filter, and optionally the plan of every statement a request runs.

    DATABASE_URL=sqlite:////tmp/big.db .venv/bin/python -m bench.search [--repeat 20] [--plans] [--params q=x ...]

The database is one `cadre-data seed --seed-dir` loaded (a bench/synthetic.py seed). The app runs in-process
(TestClient, RESPONSE_CACHE=false, no server): the figures are the query and rendering cost, not HTTP's.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import time
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event

from app.config import Settings
from app.main import create_app

WORDS = ("spouses", "cadres", "emigrated", "canada", "usa", "1985")
VARIANTS = ("", "&sort=-lower", "&unit=persons")


def _explain(conn: Any, statement: str, parameters: Any) -> str:
    if conn.dialect.name == "sqlite":
        rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
        return "\n".join(f"  {row[-1]}" for row in rows)
    rows = conn.exec_driver_sql(f"EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) {statement}", parameters)
    return "\n".join(f"  {row[0]}" for row in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--plans", action="store_true", help="print the plan of each statement of one request")
    parser.add_argument("--params", nargs="*", help="query strings (default: every word x variant)")
    args = parser.parse_args()
    logging.getLogger("httpx").setLevel(logging.WARNING)
    url = os.environ["DATABASE_URL"]
    app = create_app(Settings(database_url=url, response_cache=False, access_log="off", statement_timeout_ms=60_000))
    queries = args.params or [f"q={word}{variant}&limit=20" for word in WORDS for variant in VARIANTS]
    with TestClient(app) as client:
        engine = app.state.engine
        for query in queries:
            seen: list[tuple[str, Any]] = []

            def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
                seen.append((statement, parameters))  # noqa: B023 (read before the next query replaces it)

            event.listen(engine, "before_cursor_execute", record)
            first = client.get(f"/v1/metrics?{query}")
            event.remove(engine, "before_cursor_execute", record)
            body = first.json()
            times = []
            for _ in range(args.repeat):
                start = time.perf_counter()
                client.get(f"/v1/metrics?{query}")
                times.append((time.perf_counter() - start) * 1000)
            shown = f"total={body.get('total')} exact={body.get('total_is_exact')}" if first.is_success else ""
            print(f"{statistics.median(times):9.1f} ms  {first.status_code} {shown:24} {query}", flush=True)
            if args.plans:
                with engine.connect() as conn:
                    for statement, parameters in seen:
                        if "metrics" in statement and "LIMIT" in statement.upper():
                            print(" ".join(statement.split())[:400])
                            print(_explain(conn, statement, parameters), flush=True)


if __name__ == "__main__":
    main()
