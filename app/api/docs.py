"""The OpenAPI document's text and its patches (Problem schema, no 422, real examples), and the offline docs."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError
from starlette.responses import HTMLResponse, Response

from app.api.formats import JSONLD_TYPE
from app.api.queries import (
    attribution_table,
    destination_table,
    measure_table,
    period_table,
    population_table,
    report_table,
)
from app.errors import Problem

DOCS_ASSETS = Path(fastapi_offline.__file__).parent / "static"
DESCRIPTION = """
Figures that *The Epoch Times* gives (3 May 2006, updated 11 September 2015) in its account of a report that
The Epoch Times says was issued by the Organization Department of the CCP Central Committee and the Ministry of
Public Security ("in the second half of February", 2006 by the article's date) regarding families of cadres who
had settled overseas, including in Hong Kong and Macau. The report is not public; it exists here as the article
describes it.

Who states each figure, as the article presents it, is data: `attributed_to` (the report, "the following
survey" the article introduces without saying whose, or the article itself), with `attribution_basis`
(`explicit`, `section`, `none`) and the attributing words. Readings the data makes are shown where they
apply: notes on periods, measures, destinations and metrics, the basis of every group match (`country=`),
and the `assumptions` of every consistency check.

Every figure is a claim as reported, never restated as fact: it keeps the source's words (`value_text`),
its qualifier (`exact`, `more_than`, `at_least`, `between`) and the bounds they imply (`lower`, `upper`,
each inclusive or not; `null` = open), its unit, period and destination, and the verbatim quote it comes
from, with a link that opens the article at that quote.

Read-only: GET and HEAD only. JSON by default; CSV with `Accept: text/csv` or `format=csv`.
Errors are RFC 9457 `application/problem+json`.
"""
TAGS = [
    {"name": "metrics", "description": "The figures, with bounds, destination, period and citations."},
    {"name": "citations", "description": "Verbatim quotes, each linked to its place in the article."},
    {"name": "sources", "description": "The publication the figures are quoted from."},
    {"name": "reports", "description": "The report the article describes, as the article describes it."},
    {"name": "attributions", "description": "Who states each figure, as the article presents it."},
    {"name": "periods", "description": "Instants and year intervals, read as inclusive (see each period's note)."},
    {"name": "destinations", "description": "Places as the source names them, with ISO codes and members."},
    {"name": "measures", "description": "What a figure counts: the vocabulary of `measure=`."},
    {"name": "populations", "description": "Whose figures, and which population is part of which."},
    {"name": "datapackage", "description": "The whole dataset as a Frictionless Data Package: CSVs, schemas, zip."},
    {"name": "index", "description": "What this dataset is, and where everything is."},
    {"name": "problems", "description": "What each error `type` means and how to fix it."},
]


def mount_docs(app: FastAPI) -> None:
    """Swagger UI and ReDoc, served from this host (no CDN)."""
    # ReDoc's sidebar footer always shows its logo from a CDN (no option turns it off): DOCS_CSP blocks it, but
    # every view then logs a CSP error and tries to leave the host. Serve the bundle with that URL replaced by an
    # empty data: image, which ReDoc hides (its onError); the rest of the bundle is unchanged. Registered before
    # the /static mount, so it answers that path. tests/api/test_docs_browser.py fails on any outside request.
    redoc_js = (DOCS_ASSETS / "redoc.standalone.js").read_bytes()
    redoc_js = redoc_js.replace(b'src:"https://cdn.redoc.ly/redoc/logo-mini.svg"', b'src:"data:,"')
    redoc_etag = f'"{hashlib.sha256(redoc_js).hexdigest()[:32]}"'

    @app.get("/static/redoc.standalone.js", include_in_schema=False)
    def redoc_bundle(request: Request) -> Response:
        headers = {"ETag": redoc_etag}
        if_none_match = request.headers.get("if-none-match", "")
        if any(tag.strip().removeprefix("W/") in (redoc_etag, "*") for tag in if_none_match.split(",")):
            return Response(status_code=304, headers=headers)
        return Response(redoc_js, media_type="text/javascript; charset=utf-8", headers=headers)

    app.mount("/static", StaticFiles(directory=DOCS_ASSETS), name="static")

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title=app.title + " - Swagger UI",
            swagger_js_url="/static/swagger-ui-bundle.js",
            swagger_css_url="/static/swagger-ui.css",
            swagger_favicon_url="/static/favicon.png",
            swagger_ui_parameters={"tryItOutEnabled": True, "displayRequestDuration": True},
        )

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url="/openapi.json",
            title=app.title + " - ReDoc",
            redoc_js_url="/static/redoc.standalone.js",
            redoc_favicon_url="/static/favicon.png",
            with_google_fonts=False,
        )


EXAMPLES_FILE = Path(__file__).parent / "openapi_examples.json"


def _add_examples(schema: dict[str, Any]) -> None:
    """Attach to each operation's 200 the real response to an example request (tests keep them current)."""
    examples = json.loads(EXAMPLES_FILE.read_text(encoding="utf-8"))
    for item in schema.get("paths", {}).values():
        for operation in item.values():
            example = examples.get(operation.get("operationId"))
            if example is None:
                continue
            content = operation["responses"]["200"].setdefault("content", {})
            if "example" in example:  # not for the CSV-only operations (`/v1/metrics.csv`)
                content.setdefault("application/json", {})["example"] = example["example"]
            if "csv" in example:
                content.setdefault("text/csv", {"schema": {"type": "string"}})["example"] = example["csv"]
            if "jsonld" in example:
                content.setdefault(JSONLD_TYPE, {"schema": {"type": "object"}})["example"] = example["jsonld"]
            operation["responses"]["200"]["description"] += f" Example: `GET {example['url']}`."


ID_PARAMETERS = {
    "measure": measure_table,
    "population": population_table,
    "period": period_table,
    "destination": destination_table,
    "report": report_table,
    "attributed_to": attribution_table,
}
"""Query parameters taking ids of a vocabulary table: the OpenAPI lists the loaded ids as their `examples`."""


def _add_id_examples(schema: dict[str, Any], engine: Engine) -> None:
    """Give each id-valued parameter the known ids as named examples (Swagger UI offers them in a list).
    Read once from the loaded dataset; without one (not loaded yet) the parameters keep their text only."""
    try:
        with engine.connect() as conn:
            known = {
                name: [(row[0], row[1]) for row in conn.execute(_labelled(table))]
                for name, table in ID_PARAMETERS.items()
            }
    except SQLAlchemyError:
        return
    for item in schema.get("paths", {}).values():
        for operation in item.values():
            for param in operation.get("parameters", []):
                ids = known.get(param["name"]) if param.get("in") == "query" else None
                if not ids:
                    continue
                array = param.get("schema", {}).get("anyOf", [{}])[0].get("type") == "array"
                param["examples"] = {
                    key: {"summary": f"{key}: {label}"[:120], "value": [key] if array else key} for key, label in ids
                }


def _labelled(table: Any) -> Any:
    label = table.c.label if "label" in table.c else table.c.description
    return select(table.c.id, label).order_by(table.c.id)


def _parameters_first(operation: dict[str, Any]) -> dict[str, Any]:
    """The operation with `parameters` where FastAPI puts them, before `responses`: a QueryModel's come from
    `openapi_extra`, which FastAPI appends last (the same document, the same bytes)."""
    if "parameters" not in operation or "responses" not in operation:
        return operation
    keys = [k for k in operation if k != "parameters"]
    keys.insert(keys.index("responses"), "parameters")
    return {k: operation[k] for k in keys}


def patch_openapi(app: FastAPI) -> None:
    """Add the Problem schema the `responses` entries refer to, drop FastAPI's 422, attach the examples."""
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = original()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}", by_alias=True)
        for name, definition in problem.pop("$defs", {}).items():
            components.setdefault(name, definition)
        components["Problem"] = problem
        # Validation errors answer 400 problem+json, not FastAPI's default 422.
        for path in schema.get("paths", {}).values():
            for method, operation in path.items():
                operation.get("responses", {}).pop("422", None)
                path[method] = _parameters_first(operation)
        for name in ("HTTPValidationError", "ValidationError"):
            components.pop(name, None)
        # Open data: no operation needs credentials (said explicitly, as linters and generated clients expect).
        schema["security"] = []
        _add_examples(schema)
        _add_id_examples(schema, app.state.engine)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
