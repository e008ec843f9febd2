"""Places the source names: countries, territories, regions and aggregates, with group members."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from sqlalchemy import Connection, select
from starlette.responses import Response

from app.api.deps import ConnDep, FormatParam, LimitParam, OffsetParam
from app.api.queries import count_by, destination_member_table, destination_table, metric_table
from app.api.representation import negotiate
from app.api.routes._listing import item_response, list_response
from app.errors import problem_responses
from app.schemas import DestinationPublic, Page

router = APIRouter(prefix="/v1/destinations", tags=["destinations"])
CSV_COLUMNS = (
    "id",
    "name",
    "label",
    "kind",
    "code",
    "membership",
    "members",
    "member_basis",
    "groups",
    "note",
    "metric_count",
)
CSV_200 = {"content": {"text/csv": {"schema": {"type": "string"}}}}


def _documents(conn: Connection, destination_id: str | None = None) -> list[dict[str, Any]]:
    members_t = destination_member_table
    every = conn.execute(select(destination_table).order_by(destination_table.c.id)).mappings().all()
    by_code = {d["code"]: d["id"] for d in every if d["code"]}
    by_id = {d["id"]: d for d in every}
    members: dict[str, list[dict[str, Any]]] = {}
    groups_of: dict[str, list[dict[str, Any]]] = {}
    for m in conn.execute(select(members_t).order_by(members_t.c.group_id, members_t.c.position)).mappings():
        members.setdefault(m["group_id"], []).append(
            {"code": m["code"], "name": m["name"], "basis": m["basis"], "destination_id": by_code.get(m["code"])}
        )
        group = by_id[m["group_id"]]
        groups_of.setdefault(m["code"], []).append(
            {"id": group["id"], "name": group["name"], "label": group["label"], "kind": group["kind"]}
        )
    counts = count_by(conn, metric_table.c.destination_id)
    return [
        {
            **d,
            "members": members.get(d["id"], []),
            "groups": groups_of.get(d["code"], []) if d["code"] else [],
            "metric_count": counts.get(d["id"], 0),
        }
        for d in every
        if destination_id is None or d["id"] == destination_id
    ]


def _csv_row(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        **doc,
        "members": [m["code"] for m in doc["members"]],
        "member_basis": [m["basis"] for m in doc["members"]],
        "groups": [g["id"] for g in doc["groups"]],
    }


@router.get(
    "",
    summary="List destinations",
    operation_id="list_destinations",
    response_model=Page[DestinationPublic],
    responses={200: CSV_200, **problem_responses(400, 503)},
)
def read_destinations(
    request: Request, conn: ConnDep, limit: LimitParam = 100, offset: OffsetParam = 0, format: FormatParam = None
) -> Response:
    """Every place the source names, with ISO codes, group members (and whether membership is our reading)."""
    return list_response(
        request,
        conn,
        _documents,
        limit=limit,
        offset=offset,
        fmt=negotiate(request, format),
        filename="destinations",
        csv_columns=CSV_COLUMNS,
        csv_row=_csv_row,
    )


@router.get(
    "/{destination_id}",
    summary="One destination",
    operation_id="get_destination",
    response_model=DestinationPublic,
    responses={200: CSV_200, **problem_responses(400, 404, 503)},
)
def read_destination(
    request: Request,
    conn: ConnDep,
    destination_id: Annotated[
        str,
        Path(
            max_length=100, description="Stable id (slug), as listed by the collection.", examples=["south-east-asia"]
        ),
    ],
    format: FormatParam = None,
) -> Response:
    """One place: its codes, its members if it is a group, and the groups that list it."""
    return item_response(
        request,
        conn,
        lambda c: _documents(c, destination_id),
        what="destination",
        fmt=negotiate(request, format),
        filename="destination",
        csv_columns=CSV_COLUMNS,
        csv_row=_csv_row,
    )
