"""Read-only queries for what a page shows beyond its route's document (the figures a chart needs, the checks a
figure is in, the figures of a destination). Nothing here writes; every query is a small SELECT."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

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


def metrics(conn: Connection, ids: list[str] | None = None, **where: str) -> list[dict[str, Any]]:
    """Metric documents (as /v1/metrics serves them), all or the given ids or those with column = value."""
    query = metric_select()
    if ids is not None:
        if not ids:
            return []
        query = query.where(in_list(metric_table.c.id, sorted(set(ids))))
    for column, value in where.items():
        query = query.where(metric_table.c[column] == value)
    return metric_documents(conn, conn.execute(query.order_by(metric_table.c.id)).all())


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
