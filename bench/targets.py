"""The two other ASGI apps the benchmark serves with uvicorn, as `uvicorn --factory bench.targets:NAME`.

- `ceiling`: a bare ASGI callable answering each path with bytes our API sent for it (BENCH_CEILING_FILE, JSON
  {"path?query": [content-type, base64 body]}): the most a Python ASGI service can do on this machine.
- `ceiling_miss`: a bare ASGI callable for cache misses: it reads `value_min` (and `match`), `country`, `q`, `after`
  and `limit` from the query string, runs one SQLite query over our database (BENCH_CEILING_DB) returning the
  metric documents the loader stored (`metric_representations`), and joins them into a page: the most a Python
  ASGI service can do with one query per request. The same conditions as our filters, without validation,
  totals, links or the `country_match` keys.
- `datasette`: Datasette over the flat export (BENCH_DATASETTE_DB), immutable (`-i`), with its inspect file
  (BENCH_DATASETTE_INSPECT) and without facet suggestions (they cost each first page tens of milliseconds at
  31 rows, seconds at a million): what `datasette serve -i DB --inspect-file FILE --setting suggest_facets off`
  runs, under the same uvicorn. BENCH_DATASETTE_SUGGEST_FACETS=1 keeps Datasette's default (suggestions on).
"""

from __future__ import annotations

import base64
import json
import os
import sqlite3
from typing import Any
from urllib.parse import parse_qs

Scope = dict[str, Any]


def ceiling() -> Any:
    with open(os.environ["BENCH_CEILING_FILE"], encoding="utf-8") as f:
        stored = json.load(f)
    responses: dict[bytes, tuple[list[tuple[bytes, bytes]], bytes]] = {}
    for target, (content_type, body64) in stored.items():
        body = base64.b64decode(body64)
        headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
        responses[target.encode()] = (headers, body)
    not_found = ([(b"content-length", b"0")], b"")

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        qs = scope["query_string"]
        key = scope["raw_path"] + (b"?" + qs if qs else b"")
        headers, body = responses.get(key, not_found)
        await send({"type": "http.response.start", "status": 200 if body else 404, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


def _in(column: str, table: str, key: str, *searched: str, first: str = "") -> str:
    likes = " OR ".join(f"lower({c}) LIKE ? ESCAPE '\\'" for c in searched)
    return f"{column} IN (SELECT {key} FROM {table} WHERE {first}{likes})"


TEXT_CONDITION = " OR ".join(
    [
        _in("m.id", "metric_search", "metric_id", "text", first="{match}"),
        _in("m.measure", "measures", "id", "id", "label"),
        _in("m.population", "populations", "id", "id", "label"),
        _in("m.destination_id", "destinations", "id", "name", "label"),
        _in("m.destination_id", "destination_aliases", "destination_id", "alias"),
        _in("m.destination_id", "destination_members", "group_id", "name"),
    ]
)
"""`q=` as app.api.filters._text writes it: the FTS5 trigram index finds candidates, LIKE keeps the matches."""


def miss_query(query_string: bytes) -> tuple[str, list[Any]]:
    """The SQL and its parameters for one request's filters (the subset the cache-miss scenarios use)."""
    params = {k: v[-1] for k, v in parse_qs(query_string.decode()).items()}
    where: list[str] = []
    args: list[Any] = []
    if "value_min" in params:
        value = int(params["value_min"])
        if params.get("match") == "within":
            where.append("+m.lower >= ?")  # `+`: walk the id order, most rows match
            args.append(value)
        else:
            where.append("(m.upper IS NULL OR +m.upper > ? OR (+m.upper = ? AND m.upper_inclusive))")
            args += [value, value]
    if "country" in params:
        code = params["country"].upper()
        where.append(
            "m.destination_id IN (SELECT id FROM destinations WHERE code = ? "
            "UNION ALL SELECT group_id FROM destination_members WHERE code = ?)"
        )
        args += [code, code]
    if "q" in params:
        q = params["q"]
        pattern = "%" + q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        trigrams = sorted({q[i : i + 3] for i in range(len(q) - 2)})
        match = " ".join('"' + t.replace('"', '""') + '"' for t in trigrams)
        where.append("(" + TEXT_CONDITION.format(match="metric_search MATCH ? AND " if trigrams else "") + ")")
        args += ([match] if trigrams else []) + [pattern] * TEXT_CONDITION.count("LIKE")
    if "after" in params:
        where.append("m.id > ?")
        args.append(params["after"])
    sql = (
        "SELECT r.document FROM metrics m JOIN metric_representations r ON r.metric_id = m.id "
        f"WHERE {' AND '.join(where) or '1'} ORDER BY m.id LIMIT ?"
    )
    return sql, [*args, int(params.get("limit", 100))]


def ceiling_miss() -> Any:
    path = os.environ["BENCH_CEILING_DB"]
    db = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True, check_same_thread=False)
    headers = [(b"content-type", b"application/json")]

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        sql, args = miss_query(scope["query_string"])
        body = b'{"data":[' + ",".join(row[0] for row in db.execute(sql, args)).encode() + b"]}"
        response_headers = [*headers, (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": response_headers})
        await send({"type": "http.response.body", "body": body})

    return app


def datasette() -> Any:
    from datasette.app import Datasette  # type: ignore[import-untyped]

    with open(os.environ["BENCH_DATASETTE_INSPECT"], encoding="utf-8") as f:
        inspect_data = json.load(f)
    suggest = os.environ.get("BENCH_DATASETTE_SUGGEST_FACETS") == "1"
    ds = Datasette(
        immutables=[os.environ["BENCH_DATASETTE_DB"]], inspect_data=inspect_data, settings={"suggest_facets": suggest}
    )
    return ds.app()
