"""The resource registry: a collection under /v1 declared once (its index entry, its item route and, for
the small tables, its list route), instead of one hand-written route module per resource."""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel
from sqlalchemy import Connection
from starlette.responses import Response

from app.api.deps import ConnDep, FormatParam, LimitParam, OffsetParam
from app.api.formats import Payload, format_param, negotiate, response_content
from app.api.pagination import offset_page
from app.api.representation import respond
from app.errors import ApiProblem, problem_responses
from app.schemas import Page

Document = dict[str, Any]
Documents = Callable[[Connection, str | None], list[Document]]
"""Every document of a collection in order (`None`), or the one with this id (zero or one)."""
Endpoint = Callable[..., Response]


class CSVResponse(Response):
    """Declares an operation's 200 as text/csv only (what `/v1/<name>.csv` answers); respond() sends the body."""

    media_type = "text/csv"


def _same(document: Document) -> Document:
    return document


@dataclass(frozen=True)
class Collection:
    """One collection: `/v1/<name>` (list) and `/v1/<name>/{<item>_id}` (item).

    With `documents`, the item route is generated, and the list route too unless `routes` declares its own
    (a filtered list); without it `routes` declares both. `csv_columns` default to the Public model's fields.
    """

    name: str
    """Path segment, tag, list operation id and CSV filename: `sources`."""
    item: str
    """One item: operation id, path parameter, CSV filename and 404 wording: `source`."""
    title: str
    """Its entry in the index."""
    public: type[BaseModel] | None = None
    documents: Documents | None = None
    page: type[BaseModel] | None = None
    """The list's JSON shape when it is more than a Page of `public` (the metrics' facets)."""
    list_summary: str = ""
    list_description: str = ""
    item_summary: str = ""
    item_description: str = ""
    id_example: str = ""
    id_max_length: int = 100
    csv_columns: tuple[str, ...] = ()
    csv_row: Callable[[Document], Document] = _same
    jsonld: Callable[[Request, Document], Any] | None = None
    """An item's JSON-LD document (`Accept: application/ld+json`, `format=jsonld`), where it has one."""
    routes: APIRouter = field(default_factory=APIRouter)
    """Routes the module declares itself (a filtered list, another shape), under the same prefix."""
    csv_routes: APIRouter = field(default_factory=APIRouter)
    """`/<name>.csv`, when the module declares it (csv_route)."""

    @property
    def columns(self) -> tuple[str, ...]:
        if self.csv_columns or self.public is None:
            return self.csv_columns
        return tuple(self.public.model_fields)

    @property
    def ok(self) -> dict[str, Any]:
        """The 200 response's extra media types: CSV, and JSON-LD where the collection has it."""
        return {"content": response_content(*self.formats)}

    @property
    def formats(self) -> tuple[str, ...]:
        """The formats it offers besides every route's (app.api.formats.EVERY_ROUTE)."""
        return ("jsonld",) if self.jsonld is not None else ()

    def include_in(self, parent: APIRouter) -> None:
        """Add this collection's routes to `parent` under `/<name>`: the module's own, then the generated."""
        generated = APIRouter()
        if self.documents is not None:
            if not any(getattr(route, "path", None) == "" for route in self.routes.routes):
                self._add_list_route(generated)
            self._add_item_route(generated)
        for router in (self.routes, generated):
            if router.routes:
                parent.include_router(router, prefix=f"/{self.name}", tags=[self.name])
        if self.csv_routes.routes:
            parent.include_router(self.csv_routes, tags=[self.name])

    def csv_route(
        self, description: str, openapi_extra: dict[str, Any] | None = None
    ) -> Callable[[Endpoint], Endpoint]:
        """Declare `/<name>.csv` (`list_<name>_csv`): the list's CSV as an operation of its own, whose 200 is
        text/csv only, so a generated client fetches CSV without parsing it as JSON."""
        return self.csv_routes.get(
            f"/{self.name}.csv",
            summary=f"{self.list_summary} as CSV",
            description=description,
            operation_id=f"list_{self.name}_csv",
            response_class=CSVResponse,
            responses={
                200: {
                    "description": "CSV with a header row (RFC 4180); a cell of several values joins them with ` | `."
                },
                **problem_responses(400, 503),
            },
            openapi_extra=openapi_extra,
        )

    def list_route(
        self,
        description: str | None = None,
        router: APIRouter | None = None,
        openapi_extra: dict[str, Any] | None = None,
    ) -> Callable[[Endpoint], Endpoint]:
        """Declare the list operation (`list_<name>`, a Page of the Public model, or CSV)."""
        ok = {**self.ok, "description": description} if description else self.ok
        return (router or self.routes).get(
            "",
            summary=self.list_summary,
            description=self.list_description or None,
            operation_id=f"list_{self.name}",
            response_model=self.page or Page[self.public],  # type: ignore[name-defined]
            responses={200: ok, **problem_responses(400, 406, 503)},
            openapi_extra=openapi_extra,
        )

    def _add_list_route(self, router: APIRouter) -> None:
        documents = self._documents()

        def read_list(
            request: Request,
            conn: ConnDep,
            limit: LimitParam = 100,
            offset: OffsetParam = 0,
            format: FormatParam = None,
        ) -> Response:
            fmt = negotiate(request, format)

            def build(conn: Connection) -> Payload:
                docs = documents(conn, None)
                if fmt == "csv":
                    return self._csv(docs)
                return offset_page(request, docs[offset : offset + limit], len(docs), limit, offset)

            return respond(request, conn, build, fmt=fmt, filename=self.name)

        self.list_route(router=router)(read_list)

    def _add_item_route(self, router: APIRouter) -> None:
        documents = self._documents()
        ItemId = Annotated[
            str,
            Path(
                alias=f"{self.item}_id",
                title=f"{self.item.title()} Id",
                max_length=self.id_max_length,
                description="Stable id (slug), as listed by the collection.",
                examples=[self.id_example],
            ),
        ]

        Format = format_param(*self.formats)
        jsonld, formats = self.jsonld, self.formats

        def read_item(
            request: Request,
            conn: ConnDep,
            item_id: ItemId,
            format: Format = None,  # type: ignore[valid-type]
        ) -> Response:
            fmt = negotiate(request, format, formats)

            def build(conn: Connection) -> Payload:
                docs = documents(conn, item_id)
                if not docs:
                    raise ApiProblem(404, "not-found", f"No {self.item} with this id.", title="Not found")
                payload = self._csv(docs, document=docs[0])
                if jsonld is not None:
                    payload.jsonld = jsonld(request, docs[0])
                return payload

            return respond(request, conn, build, fmt=fmt, filename=self.item)

        router.add_api_route(
            f"/{{{self.item}_id}}",
            read_item,
            methods=["GET"],
            summary=self.item_summary,
            description=self.item_description,
            operation_id=f"get_{self.item}",
            response_model=self.public,
            responses={200: self.ok, **problem_responses(400, 404, 406, 503)},
        )

    def _documents(self) -> Documents:
        assert self.documents is not None
        return self.documents

    def _csv(self, docs: list[Document], document: Any = None) -> Payload:
        return Payload(document=document, csv_rows=lambda: (self.csv_row(d) for d in docs), csv_columns=self.columns)
