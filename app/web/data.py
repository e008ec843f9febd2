"""Read-only queries for what a page shows beyond its route's document (the figures a chart needs, the checks a
figure is in, the figures of a destination). Nothing here writes; every query is a small SELECT, and a query
over the metrics is bounded by a LIMIT or a list of ids: a page costs what it shows, not what the table holds."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, func, literal_column, or_, select, true

from app.api.queries import (
    check_metric_table,
    check_table,
    destination_table,
    in_list,
    measure_table,
    metric_documents,
    metric_select,
    metric_table,
    period_table,
    source_table,
)
from app.models import metadata

CHECK_FIELDS = (
    "id",
    "kind",
    "statement",
    "status",
    "holds",
    "unit",
    "expected_text",
    "observed_text",
    "expected_value",
    "observed_value",
    "abs_difference",
    "arithmetic",
    "explanation",
)


def metrics(
    conn: Connection, ids: list[str] | None = None, *, limit: int | None = None, dense: bool = False, **where: str
) -> list[dict[str, Any]]:
    """Metric documents (as /v1/metrics serves them) in id order: the given ids, or the first `limit` of those
    with column = value (found on the metrics table alone, so no join leads the plan). Some bound is required: a
    page never loads every metric. `dense`: most rows match, so walk the id index until `limit` are found rather
    than sort every match (SQLite's planner cannot tell the two apart; `+column` keeps it off the column's
    index, as app.api.filters.order_by does)."""
    if ids is None:
        if limit is None:
            raise ValueError("metrics() needs ids or a limit")
        walk = dense and conn.dialect.name == "sqlite"  # PostgreSQL's statistics tell it
        query = select(metric_table.c.id).order_by(metric_table.c.id).limit(limit)
        for column, value in where.items():
            query = query.where((literal_column(f"+metrics.{column}") if walk else metric_table.c[column]) == value)
        ids = list(conn.execute(query).scalars())
    if not ids:
        return []
    query = metric_select().where(in_list(metric_table.c.id, sorted(set(ids))))
    return metric_documents(conn, conn.execute(query.order_by(metric_table.c.id)).all())


def metrics_in_order(conn: Connection, ids: list[str]) -> list[dict[str, Any]]:
    """Metric documents in the order of `ids`."""
    by_id = {m["id"]: m for m in metrics(conn, ids)}
    return [by_id[i] for i in ids if i in by_id]


def _walked(conn: Connection, name: str) -> Any:
    """A metrics column to filter on while walking another index: on SQLite `+metrics.name`, which its planner
    cannot serve from the column's own index (it has no histogram to see that most rows match)."""
    return literal_column(f"+metrics.{name}") if conn.dialect.name == "sqlite" else metric_table.c[name]


def largest(conn: Connection, condition: ColumnElement[bool], limit: int, *columns: Any) -> list[Any]:
    """Up to `limit` metric rows (id and `columns`) matching `condition`, the largest lower bound first (a missing
    bound counts as 0), ties in id order: a walk along migration 0007's `(lower IS NULL), lower DESC, id` index
    that stops at `limit` when most rows match (build `condition` from _walked columns)."""
    m = metric_table
    cols = (m.c.id, *columns)
    first = select(*cols).where(condition, m.c.lower > 0).order_by(m.c.lower.is_(None), m.c.lower.desc(), m.c.id)
    rows = list(conn.execute(first.limit(limit)))
    if len(rows) < limit:
        rest = select(*cols).where(condition, or_(m.c.lower.is_(None), m.c.lower <= 0))
        rest = rest.order_by(func.coalesce(m.c.lower, 0).desc(), m.c.id).limit(limit - len(rows))
        rows += conn.execute(rest).all()
    return rows


def destination_pairs(conn: Connection, candidates: int) -> list[tuple[str, str]]:
    """(persons id, cases id) per destination for the home page's chart, largest persons figure first: among the
    `candidates` largest persons figures with a destination and a period (not `settled_overseas`, a stock), each
    destination's largest, with the largest cases figure of the same destination and period (none: no pair)."""
    m = metric_table
    unit, measure = _walked(conn, "unit"), _walked(conn, "measure")
    placed = and_(_walked(conn, "destination_id").is_not(None), _walked(conn, "period_id").is_not(None))
    flows = and_(placed, measure != "settled_overseas")
    persons: dict[str, tuple[str, str]] = {}  # destination -> (period, persons id), largest first
    for row in largest(conn, and_(flows, unit == "persons"), candidates, m.c.destination_id, m.c.period_id):
        persons.setdefault(row.destination_id, (row.period_id, row.id))
    if not persons:
        return []
    # Few rows: each (destination, period) pair through its index.
    pairs = or_(*(and_(m.c.destination_id == d, m.c.period_id == p) for d, (p, _) in persons.items()))
    query = select(m.c.id, m.c.destination_id).where(pairs, m.c.unit == "cases", m.c.measure != "settled_overseas")
    cases: dict[str, str] = {}
    for row in conn.execute(query.order_by(func.coalesce(m.c.lower, 0).desc(), m.c.id)):
        cases.setdefault(row.destination_id, row.id)
    return [(persons_id, cases[d]) for d, (_, persons_id) in persons.items() if d in cases]


def largest_cards(conn: Connection, excluded: set[str], limit: int) -> list[str]:
    """Ids of the home page's cards: figures not in `excluded`, persons first, each unit group by largest lower
    bound (as the page sorts them), at most `limit`."""
    m = metric_table
    outside = m.c.id.not_in(sorted(excluded)) if excluded else true()
    unit = _walked(conn, "unit")
    ids = [r.id for r in largest(conn, and_(outside, unit == "persons"), limit)]
    if len(ids) < limit:
        ids += [r.id for r in largest(conn, and_(outside, unit != "persons"), limit - len(ids))]
    return ids


def checks(conn: Connection, ids: list[str] | None = None) -> list[dict[str, Any]]:
    """Check documents with their figures (metric_id, role), in declaration order."""
    query = select(check_table).order_by(check_table.c.position, check_table.c.id)
    if ids is not None:
        if not ids:
            return []
        query = query.where(in_list(check_table.c.id, sorted(set(ids))))
    rows = conn.execute(query).all()
    inputs: dict[str, list[dict[str, str]]] = {r.id: [] for r in rows}
    if rows:
        for link in conn.execute(
            select(check_metric_table.c.check_id, check_metric_table.c.metric_id, check_metric_table.c.role)
            .where(in_list(check_metric_table.c.check_id, list(inputs)))
            .order_by(check_metric_table.c.check_id, check_metric_table.c.position)
        ):
            inputs[link.check_id].append({"metric_id": link.metric_id, "role": link.role})
    return [{**{f: getattr(r, f) for f in CHECK_FIELDS}, "metrics": inputs[r.id]} for r in rows]


def source(conn: Connection) -> dict[str, Any] | None:
    row = conn.execute(select(source_table).order_by(source_table.c.id).limit(1)).mappings().first()
    return dict(row) if row is not None else None


def report(conn: Connection) -> dict[str, Any] | None:
    reports = metadata.tables["reports"]
    row = conn.execute(select(reports).order_by(reports.c.id).limit(1)).mappings().first()
    return dict(row) if row is not None else None


def destinations(conn: Connection) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(select(destination_table).order_by(destination_table.c.label)).mappings()]


def destination(conn: Connection, destination_id: str) -> dict[str, Any] | None:
    row = conn.execute(select(destination_table).where(destination_table.c.id == destination_id)).mappings().first()
    return dict(row) if row is not None else None


def periods(conn: Connection) -> list[dict[str, Any]]:
    query = select(period_table).order_by(period_table.c.start_date, period_table.c.end_date)
    return [dict(r) for r in conn.execute(query).mappings()]


def members(conn: Connection, destination_id: str) -> list[dict[str, Any]]:
    table = metadata.tables["destination_members"]
    query = select(table).where(table.c.group_id == destination_id).order_by(table.c.position)
    return [dict(r) for r in conn.execute(query).mappings()]


def measures(conn: Connection) -> dict[str, str]:
    return {r.id: r.label for r in conn.execute(select(measure_table.c.id, measure_table.c.label))}


def dataset(conn: Connection) -> dict[str, Any]:
    table = metadata.tables["dataset"]
    row = conn.execute(select(table).where(table.c.id == 1)).mappings().first()
    return dict(row) if row is not None else {}
