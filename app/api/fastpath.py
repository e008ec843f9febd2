"""The hot path of `/v1/metrics` (issue 17): the JSON pages an app asks for most, filtered by value range,
country or text, in id order, answered under FastAPI's routing with a few precompiled statements on the pool's own
connection. The same bytes, headers and status as the route (app.api.routes.metrics), which answers everything
else.

A request comes here after every middleware (request limits, concurrency limit, CORS, gzip, security headers), so
only routing, dependency resolution, the worker thread and SQLAlchemy's statement building are skipped: about
2 ms of Python per request, most of an uncached request's cost. What it serves:

- `GET /v1/metrics` with no parameters but `value_min`, `value_max`, `match`, `country`, `q`, `limit`,
  `offset`, `after`, `sort=id` and `format=json`, each at most once, each value in the plain form the route's model
  accepts (anything else, valid or not, goes to the route: its errors are the route's);
- JSON only (no `Accept`, `*/*` or `application/json`), and only while what the route keeps per dataset
  (app.api.representation.per_dataset: country names and matches, the loaded count) is kept for the dataset the
  request reads: a first request after a reload goes to the route, which keeps them.

SQLite runs the route's statements in turn, in one transaction, on the event loop (each is an index read of a
local file). PostgreSQL, where each statement is a round trip, reads a page in one statement (`one_statement`:
the signature, the bounded total and the rows, cursor and `prev` ids included, from one snapshot) and `q=` in one
more (its lists, with the signature), in a worker thread, on connections of the hot path's own
(app.db.Connections: autocommit, never pinged, none opened under a steady load); each statement checks that it
read the dataset the lists were built for, else the page is read again in a transaction, on a connection of the
engine's pool (as is an `offset` page, and the first request).

With a SQLAlchemy `before_cursor_execute` listener on the engine (tracing, the tests that count statements or
inject failures) every request goes to the route, so that each statement is seen. Any error here does too: the
route then answers it, or reports it as it always does (a statement timeout is a 503 from the route).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import anyio
import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from app.api import pagination
from app.api.deps import _undecodable
from app.api.filters import BIG
from app.api.formats import JSON_TYPE, Payload, render_json
from app.api.names import normal
from app.api.pagination import keyset_links, page_document, page_links
from app.api.representation import NOT_KEPT, ResponseCache, cache_key, kept, rendered_payload, send_rendered
from app.api.search import LABEL_ROWS, SELECTIVE, labelled_in, like_pattern
from app.api.stored import json_fragment, json_page
from app.db import LOCK_DATASET, Connections
from app.vocabulary import SLUG_PATTERN

log = logging.getLogger(__name__)

PATH = "/v1/metrics"
_INT = re.compile(r"(0|-?[1-9][0-9]{0,18})")
_PAGE = re.compile(r"[1-9][0-9]{0,3}")
_OFFSET = re.compile(r"(0|[1-9][0-9]{0,9})")
_SLUG = re.compile(SLUG_PATTERN)
_ACCEPTED = frozenset((b"", b"*/*", b"application/json"))


@dataclass(frozen=True, slots=True)
class Plan:
    """A request the hot path answers: its validated parameters."""

    value_min: int | None = None
    value_max: int | None = None
    within: bool = False
    country: str | None = None
    limit: int = 100
    offset: int = 0
    after: str | None = None
    q: str | None = None


def _amount(value: str) -> int | None:
    if not _INT.fullmatch(value):
        return None
    number = int(value)
    return number if -BIG <= number <= BIG else None


def _read(name: str, value: str, into: dict[str, Any]) -> bool:
    """Put the parameter in `into` if it is in a form the route's model takes as is; False if not (or unknown)."""
    if name in ("value_min", "value_max"):
        number = _amount(value)
        into[name] = number
        return number is not None
    if name == "match":
        into["within"] = value == "within"
        return value in ("overlaps", "within")
    if name == "country":
        into[name] = value
        return 1 <= len(value) <= 100
    if name == "limit":
        ok = _PAGE.fullmatch(value) is not None and int(value) <= 1000
        into[name] = int(value) if ok else 0
        return ok
    if name == "offset":
        ok = _OFFSET.fullmatch(value) is not None and int(value) <= 10**9
        into[name] = int(value) if ok else 0
        return ok
    if name == "after":
        into[name] = value
        return len(value) <= 100 and _SLUG.fullmatch(value) is not None
    if name == "q":
        into[name] = value
        return 1 <= len(value) <= 200
    if name == "sort":
        return value == "id"
    if name == "format":
        return value == "json"
    return False


def plan_of(scope: Scope, request: Request) -> Plan | None:
    """The request's Plan, or None when the route must answer it."""
    if scope.get("raw_path", b"/v1/metrics") != b"/v1/metrics":
        return None
    for name, value in scope["headers"]:
        if name == b"accept" and value.strip() not in _ACCEPTED:
            return None
    raw: bytes = scope.get("query_string", b"")
    if b"%" in raw or not raw.isascii():  # what strict_query refuses: not UTF-8, or a NUL
        for part in raw.split(b"&"):
            name, _, value = part.partition(b"=")
            if _undecodable(name) or _undecodable(value):
                return None
    values: dict[str, Any] = {}
    seen: set[str] = set()
    for name, value in request.query_params.multi_items():
        if name in seen or not _read(name, value, values):
            return None
        seen.add(name)
    plan = Plan(**values)
    if plan.value_min is not None and plan.value_max is not None and plan.value_min > plan.value_max:
        return None
    return plan


@dataclass(frozen=True)
class Dialect:
    """How a statement is written for one backend."""

    sqlite: bool
    true: str
    false: str

    def sql(self, statement: str) -> str:
        return statement if self.sqlite else statement.replace("?", "%s")


SQLITE = Dialect(True, "1", "0")
POSTGRESQL = Dialect(False, "true", "false")
DOCUMENT = (
    "(SELECT metric_representations.document FROM metric_representations "
    "WHERE metric_representations.metric_id = metrics.id)"
)


class NotHere(Exception):
    """The route answers this request (something it keeps per dataset is not kept yet, or no dataset)."""


Execute = Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]


def _conditions(
    plan: Plan, signature: str, dialect: Dialect, execute: Execute, searched: tuple[str, list[Any]] | None = None
) -> tuple[list[str], list[Any], dict[str, Any]]:
    """The filters' SQL (as app.api.filters writes them), their parameters, and how destinations matched
    `country`."""
    conds: list[str] = []
    params: list[Any] = []
    matched: dict[str, Any] = {}
    if plan.value_min is not None:
        if plan.within:
            conds.append("metrics.lower IS NOT NULL AND metrics.lower >= ?")
            params.append(plan.value_min)
        else:
            conds.append(
                "(metrics.upper IS NULL OR metrics.upper >= ? AND (metrics.upper > ? OR metrics.upper_inclusive IS "
                f"{dialect.true}))"
            )
            params += [plan.value_min, plan.value_min]
    if plan.value_max is not None:
        if plan.within:
            conds.append("metrics.upper IS NOT NULL AND metrics.upper <= ?")
            params.append(plan.value_max)
        else:
            conds.append(
                "(metrics.lower IS NULL OR metrics.lower <= ? AND (metrics.lower < ? OR metrics.lower_inclusive IS "
                f"{dialect.true}))"
            )
            params += [plan.value_max, plan.value_max]
    if plan.country is not None:
        names = kept(signature, "country_names")
        if names is NOT_KEPT:
            raise NotHere
        places = names[0]  # type: ignore[index]
        key = normal(plan.country)
        if key in places:
            code = places[key]
        elif len(key) == 2 and key.isascii() and key.isalpha():
            code = key.upper()
        else:
            raise NotHere  # a group's name, or unknown: the route's 400
        found = kept(signature, ("country_match", code))
        if found is NOT_KEPT:
            raise NotHere
        matched = found  # type: ignore[assignment]
        ids = sorted(matched)
        if not ids:
            conds.append(dialect.false)
        elif len(ids) == 1:
            conds.append("metrics.destination_id = ?")
            params.append(ids[0])
        else:
            conds.append(f"metrics.destination_id IN ({', '.join('?' * len(ids))})")
            params += ids
    if plan.q is not None:
        condition, values = searched or _search(plan.q, signature, dialect, execute)
        conds.append(condition)
        params += values
    return conds, params, matched


LIKE = "LIKE ? ESCAPE '\\'"


def _labelled(q: str, signature: str) -> dict[str, list[str]]:
    """app.api.search._labelled: the small tables' rows whose text contains q, from the rows the route keeps for
    the dataset (app.api.search.LABEL_ROWS)."""
    rows = kept(signature, LABEL_ROWS)
    if rows is NOT_KEPT:
        raise NotHere
    return labelled_in(rows, q)  # type: ignore[arg-type]


def _in_list(column: str, ids: Sequence[str]) -> tuple[str, list[Any]]:
    if len(ids) == 1:
        return f"{column} = ?", [ids[0]]
    return f"{column} IN ({', '.join('?' * len(ids))})", list(ids)


def _any_of(lists: dict[str, list[str]], prefix: str = "") -> tuple[str, list[Any]]:
    parts = [_in_list(f"{prefix}metrics.{name}", ids) for name, ids in lists.items()]
    return "(" + " OR ".join(sql for sql, _ in parts) + ")", [p for _, ps in parts for p in ps]


def _search(q: str, signature: str, dialect: Dialect, execute: Execute) -> tuple[str, list[Any]]:
    """app.api.search.search_condition, statement for statement: the same lists, the same per-row test."""
    pattern = like_pattern(q)
    lists = _labelled(q, signature)
    own = _indexed_matches(q, pattern, signature, dialect, execute) if "\n" not in q else None
    return _searched(pattern, lists, own, dialect, execute)


def searched_at_once(q: str, signature: str, execute: Execute) -> tuple[str, list[Any]] | None:
    """PostgreSQL: what _search reads (the trigram index's matches) in one statement with the dataset's signature;
    the condition, or None when the signature is not `signature`."""
    pattern = like_pattern(q)
    lists = _labelled(q, signature)
    statement = "SELECT 'signature' AS column_name, dataset.signature AS id FROM dataset WHERE dataset.id = 1"
    params: list[Any] = []
    if "\n" not in q:
        statement += (
            " UNION ALL (SELECT '.matched' AS column_name, metric_search.metric_id AS id FROM metric_search "
            f"WHERE lower(metric_search.text) {LIKE} LIMIT ?)"
        )
        params += [pattern, SELECTIVE + 1]
    matched: list[str] = []
    read = ""
    for column, key in execute(statement, params):
        if column == "signature":
            read = key
        else:
            matched.append(key)
    if read != signature:
        return None
    own = sorted(matched) if "\n" not in q and len(matched) <= SELECTIVE else None
    return _searched(pattern, lists, own, POSTGRESQL, execute)


def _searched(
    pattern: str, lists: dict[str, list[str]], own: list[str] | None, dialect: Dialect, execute: Execute
) -> tuple[str, list[Any]]:
    """The condition app.api.search.search_condition builds from the lists and the text index's matches (None: a
    per-row test)."""
    if own is None:  # a per-row test: no index serves the OR anyway
        per_row = (
            f"(lower(metrics.value_text) {LIKE} OR (SELECT 1 FROM citations WHERE citations.metric_id = metrics.id "
            f"AND lower(citations.quote) {LIKE} LIMIT 1) IS NOT NULL)"
        )
        listed = [_in_list(f"metrics.{name}", ids) for name, ids in lists.items()]
        sql = "(" + " OR ".join([*(s for s, _ in listed), per_row]) + ")"
        return sql, [*(p for _, ps in listed for p in ps), pattern, pattern]
    if own:
        lists["id"] = own
    if not lists:
        return dialect.false, []
    indexed, params = _any_of(lists)
    if not dialect.sqlite or set(lists) == {"id"}:
        return indexed, params
    counted = execute(
        f"SELECT count(*) FROM (SELECT 1 FROM metrics WHERE {indexed} LIMIT ?) AS counted",
        [*params, pagination.TOTAL_BOUND + 1],
    )
    if int(counted[0][0]) <= pagination.TOTAL_BOUND:
        return indexed, params
    return _any_of(lists, prefix="+")  # most rows match: test each row while the sort's index is walked


def _indexed_matches(q: str, pattern: str, signature: str, dialect: Dialect, execute: Execute) -> list[str] | None:
    """app.api.search._indexed_matches: the ids the trigram index finds (None: it cannot narrow q)."""
    if dialect.sqlite:
        if len(q) < 3:
            return None
        trigrams = {q[i : i + 3] for i in range(len(q) - 2)}
        match = " ".join('"' + t.replace('"', '""') + '"' for t in sorted(trigrams))
        loaded = kept(signature, ("loaded_count", "metrics"))
        if not isinstance(loaded, int):  # NOT_KEPT
            raise NotHere
        if loaded > SELECTIVE:  # (else the candidates, one row per metric at most, cannot be more)
            few = execute(
                "SELECT count(*) FROM (SELECT rowid FROM metric_search WHERE metric_search MATCH ? LIMIT ?) AS few",
                [match, SELECTIVE + 1],
            )
            if int(few[0][0]) > SELECTIVE:
                return None
        rows = execute(
            f"SELECT metric_search.metric_id, lower(metric_search.text) {LIKE} FROM metric_search "
            "WHERE metric_search MATCH ?",
            [pattern, match],
        )
    else:
        rows = execute(
            f"SELECT metric_search.metric_id, true FROM metric_search WHERE lower(metric_search.text) {LIKE} LIMIT ?",
            [pattern, SELECTIVE + 1],
        )
    if len(rows) > SELECTIVE:
        return None
    return sorted(metric_id for metric_id, matched in rows if matched)


def _once_each(execute: Execute) -> Execute:
    """`execute` that runs a statement with the same parameters once: in one transaction its rows are the same (a
    text search's count is the page's own when q is the only filter)."""
    done: dict[tuple[str, tuple[Any, ...]], list[tuple[Any, ...]]] = {}

    def once(statement: str, parameters: Sequence[Any]) -> list[tuple[Any, ...]]:
        key = (statement, tuple(parameters))
        if key not in done:
            done[key] = execute(statement, parameters)
        return done[key]

    return once


def page_body(
    request: Request, plan: Plan, signature: str, dialect: Dialect, execute: Execute
) -> tuple[bytes, dict[str, str | None]]:
    """The page's JSON and its links, from the statements the route runs for the same request."""
    execute = _once_each(execute)
    conds, params, matched = _conditions(plan, signature, dialect, execute)
    where = " AND ".join(conds) if conds else dialect.true
    if conds:
        counted = execute(
            f"SELECT count(*) FROM (SELECT 1 FROM metrics WHERE {where} LIMIT ?) AS counted",
            [*params, pagination.TOTAL_BOUND + 1],
        )
        count = int(counted[0][0])
        bound = pagination.TOTAL_BOUND  # read here: a test may lower it
        total, exact = min(count, bound), count <= bound
    else:
        loaded = kept(signature, ("loaded_count", "metrics"))
        if loaded is NOT_KEPT:
            raise NotHere
        total, exact = loaded, True  # type: ignore[assignment]
    # Few rows match (counted): found by the filters' indexes and sorted (app.api.filters.order_by).
    order = "+metrics.id" if conds and exact and dialect.sqlite else "metrics.id"
    limit, offset, after = plan.limit, plan.offset, plan.after
    rows: list[tuple[Any, ...]]
    earlier: list[str] = []
    held = True
    if after is not None:
        held = bool(execute(f"SELECT metrics.id FROM metrics WHERE {where} AND metrics.id = ?", [*params, after]))
        back = f"SELECT metrics.id FROM metrics WHERE {where}" + (" AND metrics.id <= ?" if held else "")
        back_params = [*params, after] if held else list(params)
    if not held:
        rows = []
    elif offset:  # the ids first, then their documents (as the route's deep page)
        beyond = " AND metrics.id > ?" if after is not None else ""
        ids = execute(
            f"SELECT metrics.id, metrics.destination_id FROM metrics WHERE {where}{beyond} ORDER BY {order} "
            "LIMIT ? OFFSET ?",
            [*params, *([after] if after is not None else []), limit + 1, offset],
        )
        documents: dict[str, str] = {}
        if ids:
            marks = ", ".join("?" * len(ids))
            found = execute(
                "SELECT metric_representations.metric_id, metric_representations.document FROM metric_representations "
                f"WHERE metric_representations.metric_id IN ({marks})",
                [row[0] for row in ids],
            )
            documents = dict(found)
        rows = [(metric_id, destination, documents[metric_id]) for metric_id, destination in ids]
    elif order == "+metrics.id":  # the page's ids sorted and cut first, then its rows (as the route's sorted page)
        beyond = " AND metrics.id > ?" if after is not None else ""
        rows = execute(
            "SELECT metrics.id, metrics.destination_id, "
            f"{DOCUMENT} FROM metrics JOIN (SELECT metrics.id AS page_id FROM metrics WHERE {where}{beyond} "
            "ORDER BY +metrics.id LIMIT ?) AS page ON page.page_id = metrics.id ORDER BY metrics.id",
            [*params, *([after] if after is not None else []), limit + 1],
        )
    else:
        beyond = " AND metrics.id > ?" if after is not None else ""
        rows = execute(
            f"SELECT metrics.id, metrics.destination_id, {DOCUMENT} FROM metrics WHERE {where}{beyond} "
            f"ORDER BY {order} LIMIT ?",
            [*params, *([after] if after is not None else []), limit + 1],
        )
    more, rows = len(rows) > limit, rows[:limit]
    links: dict[str, str | None]
    if after is None:
        links = page_links(request, total, limit, offset, more)
    else:
        earlier = [row[0] for row in execute(f"{back} ORDER BY {order} DESC LIMIT ?", [*back_params, limit + 1])]
        links = keyset_links(request, earlier, after, limit, offset, rows[-1][0] if more else None)
    fragments = (
        json_fragment(document, matched.get(destination) if destination else None) for _, destination, document in rows
    )
    envelope = render_json(page_document([], total, limit, offset, links, exact))
    return json_page(fragments, envelope), links


def at_once(plan: Plan) -> bool:
    """Whether one statement can read the whole page (PostgreSQL): no skipped rows. (A text search reads its lists
    in one more, searched_at_once.)"""
    return not plan.offset


ROW = "metrics.id AS id, metrics.destination_id AS destination_id, {document} AS document, '{kind}' AS kind"


def one_statement(
    request: Request, plan: Plan, signature: str, execute: Execute
) -> tuple[bytes, dict[str, str | None]] | None:
    """The page in one statement that also reads the dataset's signature, built with what the route keeps for
    `signature`; None when the statement read another dataset (a reload: the caller reads it again, in a
    transaction). A PostgreSQL statement sees one snapshot, so the signature, the total and the rows agree. With
    `after`, the rows are those the route reads in three statements: whether the cursor is among the filtered
    rows, the rows after it (kind p), and the ids back from it for `prev` (kind b)."""
    searched = None
    if plan.q is not None:
        searched = searched_at_once(plan.q, signature, execute)
        if searched is None:
            return None
    conds, params, matched = _conditions(plan, signature, POSTGRESQL, execute, searched)
    where = " AND ".join(conds) if conds else POSTGRESQL.true
    limit, after = plan.limit, plan.after
    loaded = kept(signature, ("loaded_count", "metrics"))
    if not conds and loaded is NOT_KEPT:
        return None
    forward = ROW.format(document=DOCUMENT, kind="p")
    backward = ROW.format(document="NULL::text", kind="b").replace("metrics.destination_id AS", "NULL::text AS")
    if after is None:
        rows_sql = f"page AS (SELECT {forward} FROM metrics WHERE {where} ORDER BY metrics.id LIMIT ?)"
        rows_params = [*params, limit + 1]
    else:
        held = "(SELECT held.found FROM held)"
        rows_sql = (
            f"held AS (SELECT EXISTS (SELECT 1 FROM metrics WHERE {where} AND metrics.id = ?) AS found), "
            f"ahead AS (SELECT {forward} FROM metrics WHERE {where} AND metrics.id > ? AND {held} "
            "ORDER BY metrics.id LIMIT ?), "
            f"back AS (SELECT {backward} FROM metrics WHERE {where} AND metrics.id <= ? AND {held} "
            "ORDER BY metrics.id DESC LIMIT ?), "
            f"back_all AS (SELECT {backward} FROM metrics WHERE {where} AND NOT {held} "
            "ORDER BY metrics.id DESC LIMIT ?), "
            "page AS (SELECT * FROM ahead UNION ALL SELECT * FROM back UNION ALL SELECT * FROM back_all)"
        )
        rows_params = [*params, after, *params, after, limit + 1, *params, after, limit + 1, *params, limit + 1]
    counted = "NULL"
    if conds:
        counted = f"(SELECT count(*) FROM (SELECT 1 FROM metrics WHERE {where} LIMIT ?) AS counted)"
    rows = execute(
        f"WITH {rows_sql} SELECT (SELECT dataset.signature FROM dataset WHERE dataset.id = 1), {counted}, page.id, "
        "page.destination_id, page.document, page.kind FROM (SELECT 1) AS one LEFT JOIN page ON true "
        "ORDER BY page.kind DESC, CASE WHEN page.kind = 'p' THEN page.id END, page.id DESC",
        [*rows_params, *([*params, pagination.TOTAL_BOUND + 1] if conds else [])],
    )
    if not rows or rows[0][0] != signature:
        return None
    if conds:
        bound = pagination.TOTAL_BOUND
        total, exact = min(int(rows[0][1]), bound), int(rows[0][1]) <= bound
    else:
        total, exact = loaded, True  # type: ignore[assignment]
    page = [(metric_id, destination, document) for _, _, metric_id, destination, document, kind in rows if kind == "p"]
    more, page = len(page) > limit, page[:limit]
    if after is None:
        links = page_links(request, total, limit, 0, more)
    else:
        earlier = [metric_id for _, _, metric_id, _, _, kind in rows if kind == "b"]
        links = keyset_links(request, earlier, after, limit, 0, page[-1][0] if more else None)
    fragments = (json_fragment(document, matched.get(dest) if dest else None) for _, dest, document in page)
    envelope = render_json(page_document([], total, limit, 0, links, exact))
    return json_page(fragments, envelope), links


class InTransaction(Exception):
    """The page is read in a transaction: the statement read another dataset than the one assumed, or something the
    route keeps per dataset is not kept for that one."""


class HotPath:
    """What the middleware answers with: the app's state (engine, pool slots, settings, render cache), and on
    PostgreSQL connections of its own for the pages read in one statement."""

    def __init__(self, state: Any, enabled: bool = True) -> None:
        self.state = state
        self.enabled = enabled
        self.answered = 0
        self.statements: list[tuple[str, tuple[Any, ...]]] | None = None
        """Set to a list to record each statement run here, with its parameters (tests, bench/profile_request.py)."""
        self.signature: str | None = None
        """The dataset the last answer read: what a PostgreSQL page asked in one statement assumes (and checks)."""
        settings, engine = state.settings, state.engine
        self.connections = (
            Connections(
                engine,
                keep=settings.pool_size,
                statement_timeout_ms=settings.statement_timeout_ms,
                connect_timeout_s=settings.connect_timeout_s,
            )
            if engine.dialect.name == "postgresql"
            else None
        )

    def close(self) -> None:
        if self.connections is not None:
            self.connections.close()

    def _executor(self, cursor: Any, dialect: Dialect) -> Execute:
        recorded = self.statements

        def execute(statement: str, parameters: Sequence[Any]) -> list[tuple[Any, ...]]:
            written = dialect.sql(statement)
            if recorded is not None:
                recorded.append((written, tuple(parameters)))
            cursor.execute(written, tuple(parameters))
            return list(cursor.fetchall())

        return execute

    def answer_at_once(self, request: Request, plan: Plan) -> Response | None:
        """PostgreSQL: the page in one statement (two with q) on one of the hot path's own connections; None: the
        route answers (any error, a database that is down included). Raises InTransaction."""
        assert self.connections is not None and self.signature is not None
        try:
            connection = self.connections.get()
        except Exception:  # the database is unreachable: the route answers 503, as it always does
            log.debug("fast path: no connection, handing over to the route", exc_info=True)
            return None
        try:
            answered = one_statement(request, plan, self.signature, self._executor(connection.cursor(), POSTGRESQL))
        except NotHere:
            raise InTransaction from None
        except Exception:  # the route runs the request again and reports it as it always does
            log.debug("fast path: handing over to the route", exc_info=True)
            return None
        finally:
            self.connections.put(connection)
        if answered is None:
            raise InTransaction
        body, links = answered
        return send_rendered(request, rendered_payload(Payload(None, links=links), body, JSON_TYPE, []))

    def answer(self, request: Request, plan: Plan) -> Response | None:
        """The response, or None: the route answers (NotHere, or any error, which the route then reports)."""
        engine = self.state.engine
        if self.connections is not None and self.signature is not None and at_once(plan):
            try:
                return self.answer_at_once(request, plan)
            except InTransaction:  # another dataset, or nothing kept for it: read the signature first, as below
                pass
        dialect = SQLITE if engine.dialect.name == "sqlite" else POSTGRESQL
        try:
            pooled = engine.raw_connection()
        except Exception:  # the database is unreachable: the route answers 503, as it always does
            log.debug("fast path: no connection, handing over to the route", exc_info=True)
            return None
        try:
            cursor = pooled.driver_connection.cursor()
            execute = self._executor(cursor, dialect)
            # One snapshot: the signature and the rows it describes agree. On PostgreSQL, taken after `dataset`'s
            # lock (app.db._lock_dataset): a load that swaps tables in holds it until it commits.
            cursor.execute("BEGIN" if dialect.sqlite else LOCK_DATASET)
            found = execute("SELECT dataset.signature FROM dataset WHERE dataset.id = ?", [1])
            if not found:
                return None  # no dataset: the route's 503
            signature = self.signature = str(found[0][0])
            cache: ResponseCache = self.state.response_cache
            key = cache_key(request, signature, "json")
            rendered = cache.get(key)
            if rendered is None:
                body, links = page_body(request, plan, signature, dialect, execute)
                rendered = rendered_payload(Payload(document=None, links=links), body, JSON_TYPE, [])
                cache.put(key, rendered)
            return send_rendered(request, rendered)
        except NotHere:
            return None
        except Exception:  # the route runs the request again and reports it as it always does
            log.debug("fast path: handing over to the route", exc_info=True)
            return None
        finally:
            try:
                pooled.rollback()
            finally:
                pooled.close()


class FastMetrics:
    """Pure ASGI middleware, the innermost: answers the requests plan_of() accepts, passes on every other."""

    def __init__(self, app: ASGIApp, hot: HotPath) -> None:
        self.app = app
        self.hot = hot

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        hot = self.hot
        if not hot.enabled or scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        state = hot.state
        engine = state.engine
        if engine.dispatch.before_cursor_execute:  # instrumented: every statement through SQLAlchemy
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        plan = plan_of(scope, request)
        response: Response | None = None
        if plan is not None:
            try:
                with anyio.fail_after(state.settings.pool_timeout_s):
                    await state.db_slots.acquire()
            except TimeoutError:
                plan = None  # the route waits, and answers 503 if the pool stays full
        if plan is not None:
            try:
                if engine.dialect.name == "sqlite":  # a few index reads, in-process: no thread needed
                    response = hot.answer(request, plan)
                else:
                    response = await anyio.to_thread.run_sync(hot.answer, request, plan)
            finally:
                state.db_slots.release()
        if response is None:
            await self.app(scope, receive, send)
            return
        hot.answered += 1
        await response(scope, receive, send)
