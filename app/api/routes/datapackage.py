"""The whole dataset as a Frictionless Data Package: its descriptor, each resource's CSV, and one zip.

The CSVs here are the tables as stored (one row per row, keys and all), the shape the descriptor's Table
Schemas describe; the collections' own CSVs (`/v1/metrics?format=csv`, ...) are flattened views for reading.
Bodies come from app.datapackage, the code `cadre-data export` runs: the files are the same bytes.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Path, Request
from sqlalchemy import Connection
from starlette.responses import Response

from app import datapackage
from app.api.deps import ConnDep
from app.api.formats import CSV_TYPE, Payload
from app.api.representation import respond
from app.errors import problem_responses

router = APIRouter(tags=["datapackage"])
"""Included under /v1 by app.api.routes.api_router, after the collections."""
ResourceName = StrEnum("ResourceName", {spec.name: spec.name for spec in datapackage.RESOURCES})  # type: ignore[misc]
ZIP_TYPE = "application/zip"
INDEX_LINKS = {
    "datapackage": {"href": "/v1/datapackage.json", "title": "Frictionless Data Package descriptor"},
    "datapackage_zip": {"href": "/v1/datapackage.zip", "title": "The Data Package as one zip"},
}
"""Its entries in the index (`/`), after the collections'."""


@router.get(
    "/datapackage.json",
    summary="Data Package descriptor",
    operation_id="get_datapackage",
    responses={
        200: {"description": "Frictionless Data Package descriptor (datapackage.json)."},
        **problem_responses(400, 503),
    },
)
def read_datapackage(request: Request, conn: ConnDep) -> Response:
    """`datapackage.json`: package metadata (version = dataset signature), and for every resource its CSV
    (`path`: relative to this document, or absolute under PUBLIC_BASE_URL) and Table Schema (types,
    constraints, primary and foreign keys). Validate with `frictionless validate <this URL>`."""
    base = request.app.state.settings.public_base_url

    def path(name: str) -> str:
        return f"{base}/v1/datapackage/{name}.csv" if base else f"datapackage/{name}.csv"

    return respond(request, conn, lambda conn: Payload(datapackage.descriptor(conn, path)))


@router.get(
    "/datapackage.zip",
    summary="Data Package as one zip",
    operation_id="get_datapackage_zip",
    response_class=Response,
    responses={
        200: {"content": {ZIP_TYPE: {"schema": {"type": "string", "format": "binary"}}}},
        **problem_responses(400, 503),
    },
)
def read_datapackage_zip(request: Request, conn: ConnDep) -> Response:
    """`datapackage.json` and every CSV in one zip, as `cadre-data export --zip` writes it: byte-identical for
    a given dataset (fixed entry timestamps), so its ETag is stable across reloads of the same data."""

    def build(conn: Connection) -> Payload:
        body = datapackage.zip_bytes(datapackage.package_files(conn))
        return Payload(None, body=body, media_type=ZIP_TYPE, extension="zip")

    return respond(request, conn, build, filename="cadre-families-data")


@router.get(
    "/datapackage/{resource}.csv",
    summary="One resource of the Data Package",
    operation_id="get_datapackage_resource",
    response_class=Response,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}, **problem_responses(400, 404, 503)},
)
def read_datapackage_resource(
    request: Request,
    conn: ConnDep,
    resource: Annotated[ResourceName, Path(description="Resource name, as the descriptor lists it.")],
) -> Response:
    """One table of the dataset as CSV, every row, sorted by primary key: the file the descriptor's
    resource of this name points at."""

    def build(conn: Connection) -> Payload:
        return Payload(None, body=datapackage.resource_csv(conn, resource.value), media_type=CSV_TYPE, extension="csv")

    return respond(request, conn, build, filename=resource.value)
