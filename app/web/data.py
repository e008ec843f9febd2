"""Read-only queries for what a page shows beyond its route's document (the figures a chart needs, the checks a
figure is in, the figures of a destination). Nothing here writes; every query is a small SELECT."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from app.api.queries import ME, M, P, in_list, metric_documents, metric_select
from app.models import Check, CheckMetric, Destination, Source, metadata

K = Check.__table__  # type: ignore[attr-defined]
KM = CheckMetric.__table__  # type: ignore[attr-defined]
D = Destination.__table__  # type: ignore[attr-defined]
S = Source.__table__  # type: ignore[attr-defined]
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
        query = query.where(in_list(M.c.id, sorted(set(ids))))
    for column, value in where.items():
        query = query.where(M.c[column] == value)
    return metric_documents(conn, conn.execute(query.order_by(M.c.id)).all())


def checks(conn: Connection, ids: list[str] | None = None) -> list[dict[str, Any]]:
    """Check documents with their figures (metric_id, role), in declaration order."""
    query = select(K).order_by(K.c.position, K.c.id)
    if ids is not None:
        if not ids:
            return []
        query = query.where(in_list(K.c.id, sorted(set(ids))))
    rows = conn.execute(query).all()
    inputs: dict[str, list[dict[str, str]]] = {r.id: [] for r in rows}
    if rows:
        for link in conn.execute(
            select(KM.c.check_id, KM.c.metric_id, KM.c.role)
            .where(in_list(KM.c.check_id, list(inputs)))
            .order_by(KM.c.check_id, KM.c.position)
        ):
            inputs[link.check_id].append({"metric_id": link.metric_id, "role": link.role})
    return [{**{f: getattr(r, f) for f in CHECK_FIELDS}, "metrics": inputs[r.id]} for r in rows]


def source(conn: Connection) -> dict[str, Any] | None:
    row = conn.execute(select(S).order_by(S.c.id).limit(1)).mappings().first()
    return dict(row) if row is not None else None


def report(conn: Connection) -> dict[str, Any] | None:
    reports = metadata.tables["reports"]
    row = conn.execute(select(reports).order_by(reports.c.id).limit(1)).mappings().first()
    return dict(row) if row is not None else None


def destinations(conn: Connection) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(select(D).order_by(D.c.label)).mappings()]


def periods(conn: Connection) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(select(P).order_by(P.c.start_date, P.c.end_date)).mappings()]


def members(conn: Connection, destination_id: str) -> list[dict[str, Any]]:
    table = metadata.tables["destination_members"]
    query = select(table).where(table.c.group_id == destination_id).order_by(table.c.position)
    return [dict(r) for r in conn.execute(query).mappings()]


def measures(conn: Connection) -> dict[str, str]:
    return {r.id: r.label for r in conn.execute(select(ME.c.id, ME.c.label))}


def dataset(conn: Connection) -> dict[str, Any]:
    table = metadata.tables["dataset"]
    row = conn.execute(select(table).where(table.c.id == 1)).mappings().first()
    return dict(row) if row is not None else {}
