"""The two other ASGI apps the benchmark serves with uvicorn, as `uvicorn --factory bench.targets:NAME`.

- `ceiling`: a bare ASGI callable answering each path with bytes our API sent for it (BENCH_CEILING_FILE, JSON
  {"path?query": [content-type, base64 body]}): the most a Python ASGI service can do on this machine.
- `datasette`: Datasette over the flat export (BENCH_DATASETTE_DB), immutable (`-i`), with its inspect file
  (BENCH_DATASETTE_INSPECT): what `datasette serve -i DB --inspect-file FILE` runs, under the same uvicorn.
"""

from __future__ import annotations

import base64
import json
import os
from typing import Any

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


def datasette() -> Any:
    from datasette.app import Datasette

    with open(os.environ["BENCH_DATASETTE_INSPECT"], encoding="utf-8") as f:
        inspect_data = json.load(f)
    ds = Datasette(immutables=[os.environ["BENCH_DATASETTE_DB"]], inspect_data=inspect_data)
    return ds.app()
