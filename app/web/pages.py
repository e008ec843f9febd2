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


def cell(value: Any) -> str:
    """A JSON value in a table cell: lists joined, objects by their id or label, nulls empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return str(value.get("id") or value.get("label") or value.get("href") or "")
    if isinstance(value, list):
        return ", ".join(cell(v) for v in value)
    return str(value)


def _generic_list(collection: Any, path: str) -> Context:
    def context(request: Request, conn: Connection, doc: Any) -> dict[str, Any]:
        rows = doc.get("data") or []
        columns = [k for k in (rows[0] if rows else {"id": None}) if k != "links"]
        return {"title": collection.title, "name": collection.name, "path": path, "columns": columns}

    return context


def _generic_item(collection: Any, path: str) -> Context:
    def context(request: Request, conn: Connection, doc: Any) -> dict[str, Any]:
        return {"title": collection.title, "parent": path}

    return context


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
        env.filters["cell"] = cell
        env.globals["attribution"] = ATTRIBUTION

    def page_for(self, request: Request) -> Page | None:
        route = request.scope.get("route")
        return self.pages.get(getattr(route, "operation_id", None) or "")

    @classmethod
    def with_generic(cls, pages: dict[str, Page], settings: Any) -> Pages:
        """Every collection of the registry gets a page: its own where views.PAGES has one, else a generic
        table (list) or list of facts (item) drawn from its JSON document, so no `format=html` is refused."""
        from app.api.routes import API_PREFIX, COLLECTIONS

        every = dict(pages)
        for collection in COLLECTIONS:
            path = f"{API_PREFIX}/{collection.name}"
            every.setdefault(f"list_{collection.name}", Page("collection.html", _generic_list(collection, path)))
            every.setdefault(f"get_{collection.item}", Page("item.html", _generic_item(collection, path)))
        return cls(every, settings)

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

    app.state.pages = pages = Pages.with_generic(PAGES, settings)
    app.mount("/assets", StaticFiles(directory=STATIC), name="assets")
    app.router.add_route("/explore/metrics", filter_redirect, methods=["GET"], include_in_schema=False)
    original = app.openapi

    def openapi() -> dict[str, Any]:
        schema = original()
        for item in schema.get("paths", {}).values():
            for operation in item.values():
                if operation.get("operationId") in pages.pages:
                    content = operation["responses"]["200"].setdefault("content", {})
                    content.setdefault("text/html", {"schema": {"type": "string"}})
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
