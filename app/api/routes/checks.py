"""The consistency audit: how the report's figures relate to each other, with the arithmetic shown.

Results are computed by the loader (app/checks) and stored; these routes only read them.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Annotated, Any

from fastapi import Query, Request
from sqlalchemy import Connection, and_, func, select, true
from starlette.responses import Response

from app.api.collections import Collection
from app.api.deps import ConnDep, FormatParam, IdList, OffsetParam, split_ids
from app.api.formats import Payload, negotiate
from app.api.pagination import offset_page
from app.api.queries import check_metric_table, check_table, in_list
from app.api.representation import respond
from app.schemas import CheckPublic
from app.vocabulary import CheckKind, CheckRole, CheckStatus

FIELDS = tuple(name for name in CheckPublic.model_fields if name != "metrics")


def taking_part(metric_ids: list[str]) -> Any:
    """Checks in which one of these figures is compared (not merely a reference for another's ratio)."""
    return check_table.c.id.in_(
        select(check_metric_table.c.check_id).where(
            in_list(check_metric_table.c.metric_id, metric_ids), check_metric_table.c.role != CheckRole.reference.value
        )
    )


def _documents(conn: Connection, rows: list[Any]) -> list[dict[str, Any]]:
    inputs: dict[str, list[dict[str, str]]] = defaultdict(list)
    if rows:
        links = conn.execute(
            select(check_metric_table.c.check_id, check_metric_table.c.metric_id, check_metric_table.c.role)
            .where(check_metric_table.c.check_id.in_([r.id for r in rows]))
            .order_by(check_metric_table.c.check_id, check_metric_table.c.position)
        )
        for link in links:
            inputs[link.check_id].append(
                {"metric_id": link.metric_id, "role": link.role, "href": f"/v1/metrics/{link.metric_id}"}
            )
    return [{**{f: getattr(r, f) for f in FIELDS}, "metrics": inputs[r.id]} for r in rows]


def _csv_row(doc: dict[str, Any]) -> dict[str, Any]:
    return {**doc, "metrics": [f"{m['metric_id']}:{m['role']}" for m in doc["metrics"]]}


def check_documents(conn: Connection, check_id: str | None) -> list[dict[str, Any]]:
    return _documents(conn, list(conn.execute(select(check_table).where(check_table.c.id == check_id))))


CHECKS = Collection(
    "checks",
    "check",
    "Consistency checks: where the figures add up and where they do not",
    CheckPublic,
    check_documents,
    list_summary="List consistency checks",
    item_summary="One consistency check",
    item_description=(
        "One check: the statement, the figures compared with their roles, expected and observed values, the\n"
        "absolute and relative difference, the arithmetic step by step, and the outcome."
    ),
    id_example="sum-periods-vs-settled-2005",
    csv_row=_csv_row,
)


StatusParam = Annotated[list[CheckStatus] | None, Query(description="pass, warn, fail or info; repeatable.")]
KindParam = Annotated[
    list[CheckKind] | None, Query(description="sum, subset, ratio, coverage or restatement; repeatable.")
]


def _selected(status: list[CheckStatus] | None, kind: list[CheckKind] | None, metric: list[str] | None) -> Any:
    """The checks the filters keep, in declaration order."""
    conds = []
    if status:
        conds.append(in_list(check_table.c.status, sorted({s.value for s in status})))
    if kind:
        conds.append(in_list(check_table.c.kind, sorted({k.value for k in kind})))
    metric_ids = split_ids(metric)
    if metric_ids:
        conds.append(taking_part(metric_ids))
    return select(check_table).where(and_(true(), *conds)).order_by(check_table.c.position, check_table.c.id)


def _every_check(conn: Connection, query: Any) -> Payload:
    docs = _documents(conn, list(conn.execute(query)))
    return Payload(document=None, csv_rows=lambda: (_csv_row(d) for d in docs), csv_columns=CHECKS.columns)


@CHECKS.list_route()
def read_checks(
    request: Request,
    conn: ConnDep,
    status: StatusParam = None,
    kind: KindParam = None,
    metric: IdList = None,
    limit: Annotated[
        int, Query(ge=1, le=1000, description="Page size (1-1000), JSON only: CSV is every check the filters keep.")
    ] = 100,
    offset: OffsetParam = 0,
    format: FormatParam = None,
) -> Response:
    """Each check compares figures of the report, as stated (ranges, not points), and shows the arithmetic.

    `metric=` selects the checks in which a figure is compared (as part, total, subset, superset, numerator,
    denominator, stated or restated), not those where it is only a reference for another figure's ratio.

    A `fail` means the figures as printed cannot all hold under the declared relation: information about the
    source, which the dataset reproduces faithfully. Ordered as declared in `seed/checks.yaml`.
    """
    fmt = negotiate(request, format)

    query = _selected(status, kind, metric)

    def build(conn: Connection) -> Payload:
        if fmt == "csv":
            return _every_check(conn, query)
        total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
        docs = _documents(conn, list(conn.execute(query.limit(limit).offset(offset))))
        return offset_page(request, docs, total, limit, offset)

    return respond(request, conn, build, fmt=fmt, filename="checks")


@CHECKS.csv_route("Every check the filters keep, as CSV, in declaration order (no page).")
def read_checks_csv(
    request: Request, conn: ConnDep, status: StatusParam = None, kind: KindParam = None, metric: IdList = None
) -> Response:
    """The same checks and columns as `/v1/checks?format=csv`."""
    query = _selected(status, kind, metric)
    return respond(request, conn, lambda conn: _every_check(conn, query), fmt="csv", filename="checks")
