"""`/problems/{slug}`: what each problem `type` this API (and its proxy) answers means and how to fix it, so
every problem's `type` URI can be followed. JSON by default; plain text with `Accept: text/plain`."""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, Field
from starlette.responses import JSONResponse, PlainTextResponse, Response

from app.errors import PROBLEM_BASE, ApiProblem, problem_responses

router = APIRouter(tags=["problems"])


class ProblemType(BaseModel):
    type: str = Field(examples=[PROBLEM_BASE + "invalid-parameter"])
    title: str
    status: int
    description: str = Field(description="What it means and what to do about it.")


PROBLEM_TYPES: dict[str, tuple[int, str, str]] = {
    "invalid-parameter": (
        400,
        "Invalid parameter",
        "A query parameter is unknown, repeated, or has a value the API does not take. `errors` lists each one "
        "with the reason in words; fix the value as it says (the valid ids and names are at /v1/measures, "
        "/v1/populations, /v1/periods, /v1/destinations and /v1/reports).",
    ),
    "bad-request": (400, "Bad Request", "The request could not be parsed as HTTP; send a well-formed GET."),
    "not-found": (
        404,
        "Not found",
        "Nothing is published at this path, or no item has this id. `detail` names the nearest route or ids.",
    ),
    "method-not-allowed": (405, "Method not allowed", "The API is read-only: use GET or HEAD (see `Allow`)."),
    "not-acceptable": (
        406,
        "Not acceptable",
        "The Accept header asks only for representations the API does not serve; `detail` lists what it serves "
        "(application/json, text/csv, application/problem+json). Ask for one of them, or use `format=`.",
    ),
    "content-too-large": (413, "Content Too Large", "A GET or HEAD carried a body; send none."),
    "uri-too-long": (414, "URI Too Long", "The request target exceeds 8192 bytes; use fewer or shorter values."),
    "too-many-requests": (429, "Too Many Requests", "Slow down: retry after the seconds in Retry-After."),
    "headers-too-large": (431, "Request Header Fields Too Large", "Send fewer or smaller headers (8192 bytes)."),
    "internal-error": (500, "Internal Server Error", "The server failed; retrying may help. Nothing was changed."),
    "database-unavailable": (
        503,
        "Service unavailable",
        "The database is unavailable or busy; retry after the seconds in Retry-After.",
    ),
    "dataset-not-loaded": (503, "Service unavailable", "No dataset is loaded yet; retry after Retry-After."),
    "overloaded": (
        503,
        "Service unavailable",
        "The server is answering as many requests as it can; retry after the seconds in Retry-After.",
    ),
    "service-unavailable": (503, "Service Unavailable", "No API replica answered; retry after Retry-After."),
    "gateway-timeout": (504, "Gateway Timeout", "The API did not answer the proxy in time; retry later."),
}
"""Every problem slug in use: the app's (app.errors and the routes) and the proxy's (deploy/nginx.conf)."""


def problem_type(slug: str) -> ProblemType | None:
    if slug in PROBLEM_TYPES:
        status, title, description = PROBLEM_TYPES[slug]
    elif slug.startswith("http-") and slug[5:].isdigit() and int(slug[5:]) in HTTPStatus._value2member_map_:
        status = int(slug[5:])
        title, description = HTTPStatus(status).phrase, HTTPStatus(status).description + "."
    else:
        return None
    return ProblemType(type=PROBLEM_BASE + slug, title=title, status=status, description=description)


@router.get(
    "/problems/{slug}",
    summary="One problem type",
    description="What a problem `type` means and how to fix it: every error's `type` URI points here.",
    operation_id="get_problem_type",
    response_model=ProblemType,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}, **problem_responses(400, 404, 503)},
)
def read_problem_type(
    request: Request,
    slug: Annotated[
        str, Path(max_length=40, description="The last segment of a problem's `type`.", examples=["invalid-parameter"])
    ],
) -> Response:
    found = problem_type(slug)
    if found is None:
        known = ", ".join(PROBLEM_TYPES)
        raise ApiProblem(404, "not-found", f"No problem type with this name; known: {known}.", title="Not found")
    headers = {"Cache-Control": "public, max-age=86400", "Vary": "Accept"}
    if "text/plain" in request.headers.get("accept", "") and "json" not in request.headers.get("accept", ""):
        text = f"{found.title} ({found.status})\n\n{found.description}\n"
        return PlainTextResponse(text, headers=headers)
    return JSONResponse(found.model_dump(), headers=headers)
