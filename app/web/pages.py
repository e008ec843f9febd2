"""The HTML representation: a registry of pages, one per operation, each a template and a function that adds
what the page needs to the JSON document its route built. respond() (app.api.representation) calls render()
for `format=html` or a browser's Accept; the bytes then take the same render cache and ETag path as JSON."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape
from sqlalchemy import Connection

from app.web import numbers

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
ATTRIBUTION = (
    "Figures as reported by The Epoch Times, 3 May 2006 (updated 11 September 2015), from a report that "
    "The Epoch Times says was issued by the Organization Department of the CCP Central Committee and the "
    "Ministry of Public Security in the second half of February 2006. The report itself is not public; "
    "quotes are short citations of the article."
)


def highlight(quote: str, figure: str) -> Markup:
    """The quote, escaped, with the figure as printed marked (its first occurrence, case-insensitive)."""
    at = quote.lower().find(figure.lower()) if figure else -1
    if at < 0:
        return escape(quote)
    end = at + len(figure)
    return Markup(  # noqa: S704 (every part escaped)
        f"{escape(quote[:at])}<mark>{escape(quote[at:end])}</mark>{escape(quote[end:])}"
    )


Context = Callable[[Request, Connection, Any], dict[str, Any]]


@dataclass(frozen=True)
class Page:
    template: str
    context: Context
    csv: bool = True  # the route also has a CSV representation


class Pages:
    """Operation id -> Page. `has_page` and `render` are what respond() needs (its PageRenderer)."""

    def __init__(self, pages: dict[str, Page], settings: Any) -> None:
        self.pages = pages
        self.base_url: str = settings.public_url.rstrip("/")
        self.templates = Jinja2Templates(directory=TEMPLATES)
        env = self.templates.env
        env.filters["grouped"] = numbers.grouped
        env.filters["bounds"] = numbers.bounds_words
        env.filters["unit_words"] = numbers.unit_words
        env.filters["highlight"] = highlight
        env.globals["attribution"] = ATTRIBUTION

    def page_for(self, request: Request) -> Page | None:
        route = request.scope.get("route")
        return self.pages.get(getattr(route, "operation_id", None) or "")

    def has_page(self, request: Request) -> bool:
        return self.page_for(request) is not None

    def render(self, request: Request, conn: Connection, document: Any) -> bytes:
        page = self.page_for(request)
        assert page is not None  # respond() asks has_page() first
        context = {**self.common(request, page), "doc": document, **page.context(request, conn, document)}
        return self.templates.env.get_template(page.template).render(context).encode()

    def common(self, request: Request, page: Page) -> dict[str, Any]:
        """Links to this resource's JSON and CSV twins and the curl lines that fetch them."""
        path = request.url.path
        kept = [(k, v) for k, v in request.query_params.multi_items() if k != "format"]

        def twin(fmt: str | None) -> str:
            query = urlencode([*kept, ("format", fmt)] if fmt else kept)
            return path + ("?" + query if query else "")

        json_url = twin("json")
        csv_url = twin("csv") if page.csv else None
        curls = [f"curl {shlex.quote(self.base_url + twin(None))}"]
        if csv_url:
            curls.append(f"curl -H 'Accept: text/csv' {shlex.quote(self.base_url + twin(None))}")
        return {
            "path": path,
            "json_url": json_url,
            "csv_url": csv_url,
            "curls": curls,
            "base_url": self.base_url,
            "query": dict(kept),
        }


def install(app: FastAPI, settings: Any) -> None:
    """Serve the pages: the registry on app.state (respond() finds it there), the stylesheet, the filter form's
    redirect, and `text/html` in the OpenAPI document for every operation that has a page."""
    from starlette.staticfiles import StaticFiles

    from app.web.views import PAGES, filter_redirect

    app.state.pages = Pages(PAGES, settings)
    app.mount("/assets", StaticFiles(directory=STATIC), name="assets")
    app.router.add_route("/explore/metrics", filter_redirect, methods=["GET"], include_in_schema=False)
    original = app.openapi

    def openapi() -> dict[str, Any]:
        schema = original()
        for item in schema.get("paths", {}).values():
            for operation in item.values():
                if operation.get("operationId") in PAGES:
                    content = operation["responses"]["200"].setdefault("content", {})
                    content.setdefault("text/html", {"schema": {"type": "string"}})
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
