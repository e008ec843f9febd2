"""`/`: what this dataset is, its attribution, and links to every collection and to the docs."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from sqlalchemy import Connection, select
from starlette.responses import Response

from app.api.deps import ConnDep
from app.api.formats import Payload, negotiate
from app.api.queries import source_table
from app.api.representation import dataset_signature, respond
from app.api.routes import API_PREFIX, COLLECTIONS
from app.api.routes.datapackage import INDEX_LINKS as DATAPACKAGE_LINKS
from app.errors import problem_responses
from app.schemas import IndexPublic

router = APIRouter(tags=["index"])
IndexFormat = Annotated[
    Literal["json", "html"] | None,
    Query(alias="format", description="Output format; overrides the Accept header (`html`: the page). No CSV here."),
]

DESCRIPTION = (
    "Figures The Epoch Times gives in its account of a report that The Epoch Times says was issued by the "
    "Organization Department of the CCP Central Committee and the Ministry of Public Security (February 2006) "
    "regarding families of cadres who had settled overseas, including in Hong Kong and Macau. Each figure is a "
    "claim as reported, with its verbatim quote and who states it as the article presents it (attributed_to)."
)
ATTRIBUTION = (
    "Source: \u201c1 Million Chinese Cadre Family Members Jump Communist Ship to Emigrate Overseas\u201d, "
    "The Epoch Times, 3 May 2006 (updated 11 September 2015). Quotes are short citations; read the "
    "article at its URL."
)
DOCUMENTS = {
    "openapi": {"href": "/openapi.json", "title": "OpenAPI 3.1 document"},
    "docs": {"href": "/docs", "title": "Interactive documentation (Swagger UI)"},
    "redoc": {"href": "/redoc", "title": "Reference documentation (ReDoc)"},
}


@router.get(
    "/",
    summary="About this dataset",
    operation_id="get_index",
    response_model=IndexPublic,
    responses=problem_responses(400, 503),
)
def read_index(request: Request, conn: ConnDep, format: IndexFormat = None) -> Response:
    """What this dataset is, its attribution, and links to every collection and to the docs."""

    def build(conn: Connection) -> Payload:
        signature, loaded_at = dataset_signature(conn)
        source = conn.execute(select(source_table.c.url).order_by(source_table.c.id).limit(1)).scalar()
        links = {c.name: {"href": f"{API_PREFIX}/{c.name}", "title": c.title} for c in COLLECTIONS}
        return Payload(
            document={
                "title": request.app.title,
                "description": DESCRIPTION,
                "attribution": ATTRIBUTION,
                "source_url": source,
                "dataset_signature": signature,
                # The loader stores UTC; SQLite (and a `timestamp` column) give it back without the offset,
                # which RFC 3339 (`format: date-time`) requires.
                "loaded_at": loaded_at if loaded_at.tzinfo else loaded_at.replace(tzinfo=dt.UTC),
                "links": {**links, **DATAPACKAGE_LINKS, **DOCUMENTS},
            }
        )

    fmt = negotiate(request, format)
    # No CSV here: an Accept that prefers it gets the JSON, as before pages existed (`format=csv` gets 406).
    return respond(request, conn, build, fmt="json" if fmt == "csv" and format is None else fmt)
