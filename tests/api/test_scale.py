"""Issue 18 at test scale: a 20,000-metric synthetic seed (bench/synthetic.py), loaded once per backend.

- the answers (rows, order, total or its documented bound) equal a straightforward reference query;
- the query plan of each filter kind uses an index (asserted on the plan, never on time);
- on the real seed, the trigram search finds exactly what a LIKE over each field finds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Connection, and_, event, func, literal, or_, select, true
from sqlalchemy.engine import Engine

from app import migrations
from app.api.filters import FilterContext, MetricQuery, conditions, order_by
from app.api.pagination import TOTAL_BOUND
from app.api.queries import (
    citation_table,
    destination_alias_table,
    destination_member_table,
    destination_table,
    measure_table,
    metric_table,
    period_table,
    population_table,
)
from app.api.routes.metrics import bounded_total, listing
from app.api.search import labelled_in, like_pattern
from app.config import Settings
from app.db import make_engine
from app.loader.seed import read_seed
from app.main import create_app
from bench.synthetic import write_seed
from tests.conftest import create_postgres_database, drop_postgres_database, load_seed
from tests.reliability.test_properties import SETTINGS
from tests.test_migrations import period_dates_that_differ

N = 20_000


def _load(url: str, seed_dir: Path) -> None:
    migrations.upgrade(url)
    engine = make_engine(url, read_only=False, statement_timeout_ms=120_000)
    try:
        from app.loader.load import load

        load(engine, read_seed(seed_dir))
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def synthetic_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_seed(tmp_path_factory.mktemp("synthetic") / "seed", N)


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def scale_url(
    request: pytest.FixtureRequest, synthetic_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('scale') / 'scale.db'}"
        _load(url, synthetic_dir)
        yield url
        return
    admin = request.getfixturevalue("postgres_admin_url")
    url = create_postgres_database(admin, prefix="cadre_scale")
    try:
        _load(url, synthetic_dir)
        yield url
    finally:
        drop_postgres_database(admin, url)


@pytest.fixture(scope="session")
def scale_client(scale_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(database_url=scale_url, response_cache=False))) as client:
        yield client


# --- answers equal a reference query --------------------------------------------------------------------

WORDS = ["synthetic", "figure 12", "more than", "1,2", "Emigrated", "overseas", "children", "benchmark", "zz", "7)"]
SORTS = [
    *(sign + key for key in ("lower", "upper", "destination", "unit", "measure", "period") for sign in ("", "-")),
    *("period,-lower", "-unit,upper", "-destination,-period", "measure,lower,-id"),
]
scale_filters = st.fixed_dictionaries(
    {},
    optional={
        "value_min": st.integers(0, 10_500_000),
        "value_max": st.integers(0, 10_500_000),
        "match": st.sampled_from(["overlaps", "within"]),
        "unit": st.sampled_from(["persons", "cases", "USD"]),
        "q": st.sampled_from(WORDS),
        "destination": st.integers(0, 999).map(lambda d: f"syn-d{d:04d}"),
        "from": st.integers(1900, 2010).map(str),
        "sort": st.sampled_from(SORTS),
        "limit": st.integers(1, 50),
    },
)


def _reference(conn: Connection, query: dict[str, Any]) -> list[str]:
    """The matching ids in order: the filters as plain SQL (LIKE over each field, OR of open bounds), no index
    in mind, no stored representation."""
    m = metric_table.c
    where: list[Any] = []
    if "value_min" in query:
        v = query["value_min"]
        if query.get("match") == "within":
            where.append(and_(m.lower.is_not(None), m.lower >= v))
        else:
            where.append(or_(m.upper.is_(None), m.upper > v, and_(m.upper == v, m.upper_inclusive.is_(True))))
    if "value_max" in query:
        v = query["value_max"]
        if query.get("match") == "within":
            where.append(and_(m.upper.is_not(None), m.upper <= v))
        else:
            where.append(or_(m.lower.is_(None), m.lower < v, and_(m.lower == v, m.lower_inclusive.is_(True))))
    if "unit" in query:
        where.append(m.unit == query["unit"])
    if "destination" in query:
        where.append(m.destination_id == query["destination"])
    if "from" in query:
        where.append(period_table.c.end_date >= dt.date(int(query["from"]), 1, 1))
    if "q" in query:
        escaped = query["q"].lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = "%" + escaped + "%"
        fields = (measure_table.c.label, population_table.c.label, m.value_text, m.measure, m.population)
        quoted = select(citation_table.c.id).where(
            citation_table.c.metric_id == m.id, func.lower(citation_table.c.quote).like(pattern, escape="\\")
        )
        # The destination's name, label, aliases and member names (issue 14: `q=usa`, `q=germany`).
        places = [
            select(destination_table.c.id).where(
                destination_table.c.id == m.destination_id, func.lower(column).like(pattern, escape="\\")
            )
            for column in (destination_table.c.name, destination_table.c.label)
        ]
        places += [
            select(table.c[key]).where(
                table.c[key] == m.destination_id, func.lower(table.c[name]).like(pattern, escape="\\")
            )
            for table, key, name in (
                (destination_alias_table, "destination_id", "alias"),
                (destination_member_table, "group_id", "name"),
            )
        ]
        where.append(
            or_(
                *(func.lower(f).like(pattern, escape="\\") for f in fields),
                quoted.exists(),
                *(place.exists() for place in places),
            )
        )
    statement = (
        select(m.id)
        .select_from(metric_table)
        .join(measure_table, measure_table.c.id == m.measure)
        .join(population_table, population_table.c.id == m.population)
        .outerjoin(period_table, period_table.c.id == m.period_id)
        .where(and_(true(), *where))
        .order_by(*_reference_order(query.get("sort")))
    )
    return list(conn.execute(statement).scalars())


REFERENCE_KEYS = {
    "id": (metric_table.c.id,),
    "lower": (metric_table.c.lower,),
    "upper": (metric_table.c.upper,),
    "destination": (metric_table.c.destination_id,),
    "period": (period_table.c.start_date, period_table.c.end_date),  # the period's own dates, not the copy
    "unit": (metric_table.c.unit,),
    "measure": (metric_table.c.measure,),
}


def _reference_order(sort: str | None) -> list[Any]:
    """The documented order, spelled out: each key ascending or (`-`) descending, nulls last either way, then id."""
    keys: list[Any] = []
    for item in (sort or "id").split(","):
        for column in REFERENCE_KEYS[item.lstrip("-")]:
            keys += [column.is_(None), column.desc() if item.startswith("-") else column.asc()]
    return [*keys, metric_table.c.id]


def _ordered(query: dict[str, Any]) -> dict[str, Any]:
    if "value_min" in query and "value_max" in query and query["value_min"] > query["value_max"]:
        query["value_min"], query["value_max"] = query["value_max"], query["value_min"]
    return query


@SETTINGS.__class__(SETTINGS, max_examples=80)
@given(query=scale_filters.map(_ordered), cursor_at=st.integers(0, 30), skip=st.integers(0, 30))
def test_answers_at_scale_equal_the_reference_query(
    scale_client: TestClient, scale_url: str, query: dict[str, Any], cursor_at: int, skip: int
) -> None:
    engine = make_engine(scale_url, read_only=True)
    try:
        with engine.connect() as conn:
            expected = _reference(conn, query)
    finally:
        engine.dispose()
    limit = query.get("limit", 100)
    body = scale_client.get("/v1/metrics", params=query).json()
    assert [d["id"] for d in body["data"]] == expected[:limit]
    if set(query) <= {"sort", "limit", "match"}:  # no filter: the count the loader stored, exact
        assert body["total"] == len(expected) and body["total_is_exact"]
    else:
        assert body["total_is_exact"] == (len(expected) <= TOTAL_BOUND)
        assert body["total"] == min(len(expected), TOTAL_BOUND)
    assert (body["links"]["next"] is not None) == (len(expected) > limit)
    if len(expected) > cursor_at:  # keyset: the page after any row is the rows that follow it
        after = expected[cursor_at]
        page = scale_client.get("/v1/metrics", params={**query, "after": after}).json()
        assert [d["id"] for d in page["data"]] == expected[cursor_at + 1 : cursor_at + 1 + limit]
        # `prev` is the page that ends at the cursor (or the first page, when fewer than `limit` rows precede it)
        back = scale_client.get(page["links"]["prev"]).json()
        assert [d["id"] for d in back["data"]] == expected[max(cursor_at + 1 - limit, 0) :][:limit]
        # `offset` counts from the cursor (it may skip past every row equal to the cursor's sort values)
        skipped = scale_client.get("/v1/metrics", params={**query, "after": after, "offset": skip}).json()
        start = cursor_at + 1 + skip
        assert [d["id"] for d in skipped["data"]] == expected[start : start + limit]


# --- plans: every filter kind reads an index -----------------------------------------------------------

PLANS = {
    # parameters -> what the SQLite plan must show (and never a full scan of metrics in the PostgreSQL plan)
    "value_min=9999000&match=within": "(lower>?)",  # a range of an index on lower
    "value_max=500": "MULTI-INDEX OR",
    "value_min=9999000": "MULTI-INDEX OR",
    "q=figure 12345": "sqlite_autoindex_metrics_1 (id=?)",  # the text index's matches, as an id list
    "q=canada": "MULTI-INDEX OR",  # a destination and the quotes naming it: two index lookups, no scan
    "sort=-lower&limit=5": "ix_metrics_order_lower_desc",
    "sort=upper&limit=5": "ix_metrics_order_upper",
    "sort=-destination&limit=5": "ix_metrics_order_destination_id_desc",
    "sort=unit&limit=5": "ix_metrics_order_unit",
    "sort=-measure&limit=5": "ix_metrics_order_measure_desc",
    "sort=period&limit=5": "ix_metrics_order_period_dates",
    "sort=-period&limit=5": "ix_metrics_order_period_dates_desc",
    "unit=cases&limit=5": "ix_metrics_order_unit",
    "measure=emigrated&limit=5": "ix_metrics_order_measure",  # (measure, id): the filter and the id order (0010)
    "destination=syn-d0123": "ix_metrics_destination",
    "country=CA": "ix_metrics_destination",
}


def _statement(conn: Connection, params: str) -> Any:
    raw = dict(part.split("=", 1) for part in params.split("&"))
    query = MetricQuery.model_validate(
        {k: [v] if k in ("unit", "destination", "measure") else v for k, v in raw.items()}
    )
    where = and_(true(), *conditions(query, FilterContext(conn)))
    few = bounded_total(conn, where)[1] and conn.dialect.name == "sqlite"  # as the route decides
    return listing(metric_table.c.id).where(where).order_by(*order_by(query.sort, few)).limit(query.limit)


@pytest.mark.parametrize("params", list(PLANS))
def test_each_filter_kind_is_served_by_an_index(scale_url: str, params: str) -> None:
    engine = make_engine(scale_url, read_only=True)
    try:
        with engine.connect() as conn:
            compiled = _statement(conn, params).compile(conn, compile_kwargs={"literal_binds": True})
            if conn.dialect.name == "sqlite":
                plan = "\n".join(row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}"))
                assert PLANS[params] in plan, plan
            else:
                plan = "\n".join(row[0] for row in conn.exec_driver_sql(f"EXPLAIN {compiled}"))
                assert "Seq Scan on metrics" not in plan, plan
    finally:
        engine.dispose()


KEYSET_SORTS = {
    # sort -> the index its keyset pages read (a `(column, id)` or `(column DESC, id)` index, migration 0008)
    "lower": "ix_metrics_order_lower",
    "-lower": "ix_metrics_order_lower",
    "upper": "ix_metrics_order_upper",
    "-upper": "ix_metrics_order_upper",
    "destination": "ix_metrics_order_destination_id",
    "-destination": "ix_metrics_order_destination_id",
    "period": "ix_metrics_order_period_dates",
    "-period": "ix_metrics_order_period_dates",
    "unit": "ix_metrics_order_unit",
    "-measure": "ix_metrics_order_measure",
}


def _statements_run(client: TestClient, url: str, every: bool = False) -> list[tuple[str, Any]]:
    """The SELECTs over metrics (`every`: all statements) that answering `url` runs, with their parameters."""
    run: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if every or (statement.lstrip().upper().startswith("SELECT") and "FROM metrics" in statement):
            run.append((statement, parameters))

    event.listen(Engine, "before_cursor_execute", record)
    try:
        assert client.get(url).status_code == 200
    finally:
        event.remove(Engine, "before_cursor_execute", record)
    return run


FILTERED = ["", "unit=persons,cases&", "has_destination=true&", "value_min=1000&"]
"""Filters that keep more than TOTAL_BOUND of the 20,000 figures (fewer are found by the filters' indexes, then
sorted): none, an IN list, an IS NOT NULL, an OR of two ranges."""


@pytest.mark.parametrize("filtered", FILTERED)
@pytest.mark.parametrize("sort", list(KEYSET_SORTS))
def test_keyset_pages_in_each_order_are_index_range_scans(
    scale_client: TestClient, scale_url: str, sort: str, filtered: str
) -> None:
    """The page after a cursor deep in the order (and the walk back for `prev`) reads index ranges from the cursor:
    no full scan of metrics, no sort of the rows beyond it, whatever the backend."""
    cursor = scale_client.get(f"/v1/metrics?{filtered}offset=10500&limit=1").json()["data"][0]["id"]  # among them
    run = _statements_run(scale_client, f"/v1/metrics?{filtered}sort={sort}&after={cursor}&limit=5")
    run = [(s, p) for s, p in run if "count(" not in s]  # the total, counted up to TOTAL_BOUND
    assert len(run) >= 3  # the cursor's values, the page, the walk back
    engine = make_engine(scale_url, read_only=True)
    try:
        with engine.connect() as conn:
            for statement, parameters in run:
                if conn.dialect.name == "sqlite":
                    rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
                    plan = "\n".join(row[-1] for row in rows)
                    assert "SCAN metrics" not in plan and "TEMP B-TREE" not in plan, (statement, plan)
                else:
                    rows = conn.exec_driver_sql(f"EXPLAIN {statement}", parameters)
                    plan = "\n".join(row[0] for row in rows)
                    assert "Seq Scan on metrics" not in plan and "Sort" not in plan, (statement, plan)
                if "metrics.id = " not in statement:  # past the cursor's own row: the order's keyset index, or
                    # (rows equal to the cursor's value, in id order) the primary key from the cursor on
                    from_cursor = "pk_metrics" in plan and "Index Cond" in plan
                    assert KEYSET_SORTS[sort] in plan or from_cursor, (statement, plan)
    finally:
        engine.dispose()


# --- q= costs what it returns: a common word walks the order index, a rare one reads index entries --------

COMMON_WORDS = ("spouses", "cadres", "synthetic")  # a population label, or every synthetic destination and quote


@pytest.mark.parametrize("sort", [None, "-lower"])
@pytest.mark.parametrize("word", COMMON_WORDS)
def test_a_common_word_walks_the_sort_index_and_stops_at_the_page(scale_url: str, word: str, sort: str | None) -> None:
    """Most rows match: the page reads the order index with a per-row test, never gathering every match to
    sort them (SQLite: no temporary B-tree; PostgreSQL: no Sort node)."""
    params = f"q={word}&limit=20" + (f"&sort={sort}" if sort else "")
    index = (
        "ix_metrics_order_lower_desc"
        if sort
        else ("sqlite_autoindex_metrics_1" if "sqlite" in scale_url else "pk_metrics")
    )
    engine = make_engine(scale_url, read_only=True)
    try:
        with engine.connect() as conn:
            compiled = _statement(conn, params).compile(conn, compile_kwargs={"literal_binds": True})
            if conn.dialect.name == "sqlite":
                plan = "\n".join(row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}"))
                assert "TEMP B-TREE" not in plan and f"SCAN metrics USING INDEX {index}" in plan, plan
                assert "metric_search" not in plan, plan  # no subquery gathers every text match first
            else:
                plan = "\n".join(row[0] for row in conn.exec_driver_sql(f"EXPLAIN {compiled}"))
                assert "Sort" not in plan and f"Index Scan using {index} on metrics" in plan, plan
                assert "metric_search" not in plan and "hashed SubPlan" not in plan, plan
    finally:
        engine.dispose()


def test_the_bulk_load_copies_each_figures_period_dates(scale_url: str) -> None:
    """sort=period reads metrics.period_dates: the loader writes the period's own dates there (metrics.jsonl)."""
    assert period_dates_that_differ(scale_url) == []


def test_the_seed_load_copies_each_figures_period_dates(db_url: str) -> None:
    """The same, from metrics.yaml (the real seed, some figures without a period)."""
    assert period_dates_that_differ(db_url) == []


SEARCH_WORDS = {
    "spouses": "population label, every row",
    "emigrated": "measure id and label, a third of the rows",
    "flow over a period": "measure labels only",
    "canada": "a destination's name and the quotes naming it",
    "usa": "an alias only",
    "the states": "an alias only",
    "hong kong": "names, aliases, members and quotes",
    "benchmark data": "every synthetic quote, no label",
    "figure 1234": "a few synthetic quotes",
    "1985": "quotes, values and ids of the real seed",
    "7,": "shorter than a trigram (a per-row test on SQLite)",
    "Canada, 225": "a phrase across words of one quote",
    "zzq": "nothing",
}


@pytest.mark.parametrize("sort", [None, "-lower"])
@pytest.mark.parametrize("word", list(SEARCH_WORDS))
def test_q_finds_what_like_over_each_field_finds_at_scale(
    scale_client: TestClient, scale_url: str, word: str, sort: str | None
) -> None:
    """Common, rare, label-only, alias-only and quote-only words: the first 1,000 rows, in order, and the total
    are the reference query's; the kind of each word is what SEARCH_WORDS says (it matches, or nothing does)."""
    query = {"q": word, **({"sort": sort} if sort else {})}
    engine = make_engine(scale_url, read_only=True)
    try:
        with engine.connect() as conn:
            expected = _reference(conn, query)
    finally:
        engine.dispose()
    assert bool(expected) == (word != "zzq")
    body = scale_client.get("/v1/metrics", params={**query, "limit": 1000}).json()
    assert [d["id"] for d in body["data"]] == expected[:1000]
    assert (body["total"], body["total_is_exact"]) == (min(len(expected), TOTAL_BOUND), len(expected) <= TOTAL_BOUND)


# --- the trigram search finds what LIKE finds, on the real seed ---------------------------------------


def test_search_finds_exactly_what_like_over_each_field_finds_on_the_seed(client: TestClient, db_url: str) -> None:
    engine = make_engine(db_url, read_only=True)
    try:
        with engine.connect() as conn:
            texts = list(conn.execute(select(citation_table.c.quote)).scalars())
            texts += list(conn.execute(select(metric_table.c.value_text)).scalars())
            texts += list(conn.execute(select(measure_table.c.label)).scalars())
            # every word, every 3- and 5-character slice of the first words, and misses
            words = {w for t in texts for w in t.split()}
            words |= {w[i : i + n] for w in sorted(words)[:200] for n in (1, 2, 3, 5) for i in range(len(w))}
            words |= {"zzq", "Canada, the", "1,187,700", "%", "_", "\\", '"'}
            for word in sorted(words)[:1500]:
                expected = _reference(conn, {"q": word})
                got = [d["id"] for d in client.get("/v1/metrics", params={"q": word, "limit": 1000}).json()["data"]]
                assert got == expected, word
    finally:
        engine.dispose()


LABEL_TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12)
"""Any text a label may hold (PostgreSQL's text holds no NUL), mixed with the characters where lower() and LIKE
could part: ASCII and non-ASCII case, LIKE's wildcards and escape, letters whose lower case is ASCII or longer."""
LABEL_PARTS = st.sampled_from(["A", "a", "É", "é", "K", "\u212a", "İ", "ß", "ẞ", "%", "_", "\\", "Σ", "ς", "香港"])


@SETTINGS.__class__(SETTINGS, max_examples=150)
@given(
    label=st.lists(st.one_of(LABEL_PARTS, LABEL_TEXT), max_size=4).map("".join),
    q=st.lists(st.one_of(LABEL_PARTS, LABEL_TEXT), min_size=1, max_size=3).map("".join).filter(bool),
)
def test_a_label_contains_q_exactly_when_lower_like_says_so(read_engine: Engine, label: str, q: str) -> None:
    """app.api.search.labelled_in tests the small tables' labels in Python, lowered by the database: it keeps a
    row exactly when `lower(label) LIKE like_pattern(q)` does, on each backend (SQLite folds ASCII case only)."""
    with read_engine.connect() as conn:
        lowered, liked = conn.execute(
            select(func.lower(literal(label)), func.lower(literal(label)).like(like_pattern(q), escape="\\"))
        ).one()
    rows = (("measure", "m", lowered),)
    assert (labelled_in(rows, q) == {"measure": ["m"]}) == bool(liked), (label, q, lowered)


@pytest.fixture(scope="module")
def read_engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url, read_only=True)
    yield engine
    engine.dispose()


def _every_statement(client: TestClient, url: str) -> list[str]:
    return [statement for statement, _ in _statements_run(client, url, every=True)]


def _q_statements(client: TestClient) -> tuple[list[str], list[str]]:
    """The statements of a q= request once the dataset's labels and count are kept, and those among them that
    count the trigram index's candidates."""
    client.get("/v1/metrics?q=canada&limit=3")  # keeps the labels and the loaded count for the dataset
    run = _every_statement(client, "/v1/metrics?q=figure 12345&limit=2")
    assert not [s for s in run if "FROM measures" in s or "FROM destination_aliases" in s], run
    return run, [s for s in run if "count(" in s and "metric_search" in s]


def test_q_on_the_seed_reads_no_small_table_and_counts_no_candidate(client: TestClient) -> None:
    """Once kept for the dataset, the small tables' labels are not read again; with at most SELECTIVE metrics, the
    trigram index's candidates cannot be more, so they are not counted."""
    run, counted = _q_statements(client)
    assert not counted, run


def test_q_at_scale_counts_the_candidates_on_sqlite(scale_client: TestClient) -> None:
    """20,000 metrics: SQLite counts the trigram candidates (up to SELECTIVE + 1) before reading their texts;
    PostgreSQL's GIN statement stops at SELECTIVE + 1 itself."""
    run, counted = _q_statements(scale_client)
    sqlite = scale_client.app.state.engine.dialect.name == "sqlite"  # type: ignore[attr-defined]
    assert len(counted) == (1 if sqlite else 0), run


def test_seed_load_helper_still_loads(empty_db_url: str) -> None:
    """The search table is written with the representations (the crash-safe load tests cover the rest)."""
    load_seed(empty_db_url)
    engine = make_engine(empty_db_url, read_only=True)
    try:
        with engine.connect() as conn:
            count = conn.exec_driver_sql("SELECT count(*) FROM metric_search").scalar()
    finally:
        engine.dispose()
    assert count == 31


def test_a_deep_offset_skips_rows_not_documents(scale_client: TestClient) -> None:
    """An offset page reads its ids, then their documents: the statement that skips rows reads no stored document
    (PostgreSQL evaluated the document subquery for every skipped row); the page is the one a cursor gives."""
    run = _statements_run(scale_client, "/v1/metrics?offset=15000&limit=5")
    skipping = [statement for statement, _ in run if "OFFSET" in statement.upper()]
    assert skipping and all("metric_representations" not in statement for statement in skipping), skipping
    deep = scale_client.get("/v1/metrics?offset=15000&limit=5").json()["data"]
    before = scale_client.get("/v1/metrics?offset=14999&limit=1").json()["data"][0]["id"]
    assert deep == scale_client.get(f"/v1/metrics?after={before}&limit=5").json()["data"]


HOT_PLANS = {
    p: PLANS[p]
    for p in ("value_min=9999000&match=within", "value_max=500", "value_min=9999000", "q=canada", "q=figure 12345")
}
HOT_PLANS["country=CA"] = "(destination_id=?)"  # an index on destination_id: ix_metrics_destination or the keyset one


@pytest.mark.parametrize("params", list(HOT_PLANS))
def test_the_hot_path_reads_the_same_indexes(scale_client: TestClient, scale_url: str, params: str) -> None:
    """The hot path's statements (app.api.fastpath), run with their parameters, read the indexes the route's do."""
    hot = scale_client.app.state.hot_path  # type: ignore[attr-defined]
    scale_client.get(f"/v1/metrics?{params}")  # what the route keeps per dataset, kept
    answered, hot.statements = hot.answered, []
    try:
        assert scale_client.get(f"/v1/metrics?{params}").status_code == 200
        run = [(s, p) for s, p in hot.statements if "FROM metrics" in s]
    finally:
        hot.statements = None
    # SQLite: the bounded total(s), then the page; PostgreSQL: both in one statement (with the signature)
    assert hot.answered == answered + 1 and len(run) >= (2 if scale_url.startswith("sqlite") else 1)
    engine = make_engine(scale_url, read_only=True)
    try:
        with engine.connect() as conn:
            for statement, parameters in run:
                if conn.dialect.name == "sqlite":
                    plan = "\n".join(r[-1] for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters))
                    assert HOT_PLANS[params] in plan, (statement, plan)
                else:
                    plan = "\n".join(r[0] for r in conn.exec_driver_sql(f"EXPLAIN {statement}", parameters))
                    assert "Seq Scan on metrics" not in plan, (statement, plan)
    finally:
        engine.dispose()


# --- a filter that matches a few thousand figures reads the documents of its page only -------------------

FEW = 2_000
"""Matches: more than a page, fewer than TOTAL_BOUND, so the filters' index finds them and they are sorted."""


def _documents_read_per_statement(conn: Connection, statement: str, parameters: Any) -> int:
    """How many stored documents `statement` reads at most: PostgreSQL counts the lookups (EXPLAIN ANALYZE's
    loops); on SQLite, without per-row counts, a lookup nested under the part of the plan that reads and sorts
    the matches is one per match (counted), one outside it is one per page row (0 here)."""
    if conn.dialect.name == "postgresql":
        (explained,) = conn.exec_driver_sql(f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}", parameters).one()
        loops = 0
        nodes = [explained[0]["Plan"]]
        while nodes:
            node = nodes.pop()
            if node.get("Relation Name") == "metric_representations":
                loops = max(loops, int(node["Actual Loops"]))
            nodes.extend(node.get("Plans", []))
        return loops
    rows = list(conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters))
    levels: dict[int, list[str]] = {}
    for _, up, _, text in rows:
        levels.setdefault(up, []).append(text)
    for node, up, _, text in rows:
        if text.startswith("CORRELATED SCALAR SUBQUERY") and any(
            "metric_representations" in child for child in levels.get(node, [])
        ):
            here = levels[up]
            reads_matches = any(t.startswith(("SEARCH metrics", "SCAN metrics")) and "(id=?)" not in t for t in here)
            if reads_matches and any("TEMP B-TREE FOR ORDER BY" in t for t in here):
                return FEW  # one lookup per match, before the sort
    return 0


@pytest.mark.parametrize(
    "params",
    [
        "value_min={n}&match=within",
        "value_min={n}&match=within&after={cursor}",
        "value_min={n}&match=within&sort=-upper",
    ],
)
@pytest.mark.parametrize("hot", [True, False], ids=["hot path", "route"])
def test_a_few_thousand_matches_read_their_pages_documents_only(
    scale_client: TestClient, scale_url: str, params: str, hot: bool
) -> None:
    """With the stored document in the statement that sorts the matches, SQLite read one per match before
    sorting (14 ms for 10,000 matches of 1,000,000, not 3): the page's ids are sorted and cut first. The rows back
    from a cursor (`prev`) are found the same way, not by walking the id index back past every row the filter
    drops (15 ms at 1,000,000, not 0.7)."""
    engine = make_engine(scale_url, read_only=True)
    try:
        with engine.connect() as conn:
            lowers = select(metric_table.c.lower).where(metric_table.c.lower.is_not(None))
            n = conn.execute(lowers.order_by(metric_table.c.lower.desc()).offset(FEW).limit(1)).scalar_one() + 1
            ids = select(metric_table.c.id).where(metric_table.c.lower >= n).order_by(metric_table.c.id)
            cursor = conn.execute(ids.offset(FEW // 2).limit(1)).scalar_one()
            url = "/v1/metrics?" + params.format(n=n, cursor=cursor)
            if hot:
                state = scale_client.app.state  # type: ignore[attr-defined]
                scale_client.get(url)
                answered, state.hot_path.statements = state.hot_path.answered, []
                try:
                    assert scale_client.get(url).status_code == 200
                    run = list(state.hot_path.statements)
                finally:
                    state.hot_path.statements = None
                if "sort=" in params:
                    assert state.hot_path.answered == answered  # the route's
                    return
                assert state.hot_path.answered == answered + 1
            else:
                run = _statements_run(scale_client, url)
            body = scale_client.get(url).json()
            assert body["total"] > 100 and body["total_is_exact"], body["total"]
            reading = [(s, p) for s, p in run if "metric_representations" in s]
            assert reading, run
            for statement, parameters in reading:
                assert _documents_read_per_statement(conn, statement, parameters) <= 101, statement
            if conn.dialect.name == "sqlite":  # each statement reads the filter's index, or rows by id: no walk
                for statement, parameters in run:
                    plan = [r[-1] for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)]
                    reads = [p for p in plan if p.startswith(("SCAN metrics", "SEARCH metrics"))]
                    assert all("(lower>?)" in p or "(id=?)" in p for p in reads), (statement, plan)
    finally:
        engine.dispose()
