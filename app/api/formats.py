"""The output formats, one registry entry each: its `format=` value, the Accept media types that choose it, its
media type and how it renders a route's Payload. negotiate() and respond() (app.api.representation) read it;
adding a format is one entry here (and, where a route offers it, its name in that route's `format_param`)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Protocol

from fastapi import Query, Request
from sqlalchemy import Connection

from app.errors import ApiProblem, shown

Format = str
"""A registry key: `json`, `csv`, `jsonld`, `html`."""
JSON_TYPE = "application/json"
CSV_TYPE = "text/csv; charset=utf-8; header=present"
JSONLD_TYPE = 'application/ld+json; profile="http://www.w3.org/ns/anno.jsonld"'
HTML_TYPE = "text/html; charset=utf-8"
CSV_LIST_SEPARATOR = " | "
"""Every CSV representation's cell that holds several values (a JSON array) joins them with this, in the array's
order; no value the dataset holds contains it (tests/api/test_csv_forms.py checks), so `cell.split(" | ")` gives
the array back. (The Data Package's table CSVs follow Table Schema instead: an `array` column holds JSON.)"""
Headers = list[tuple[str, str]]


@dataclass
class Payload:
    """What a route computed: the JSON document, the rows a CSV rendering is made of, the JSON-LD document
    (Web Annotations) where the resource has one; or a body the route rendered itself (`body`, `media_type`,
    `extension`: a data package's zip and CSVs), sent whatever the format."""

    document: Any
    csv_rows: Callable[[], Iterable[dict[str, Any]]] | None = None
    csv_columns: Sequence[str] = ()
    links: dict[str, str | None] = field(default_factory=dict)
    jsonld: Any = None
    body: bytes | None = None
    media_type: str = JSON_TYPE
    extension: str | None = None
    # The JSON and CSV bodies already rendered (joined from stored representations, app.api.stored).
    json_body: bytes | None = None
    csv_body: Callable[[], bytes] | None = None

    def json_document(self) -> Any:
        """The JSON document, for a renderer that needs it rather than its bytes."""
        return json.loads(self.json_body) if self.json_body is not None else self.document


class PageRenderer(Protocol):
    """The HTML representation (app.web): a page made from the document a route built. Set on
    `app.state.pages` by create_app; this module never imports it."""

    def has_page(self, request: Request) -> bool: ...

    def render(self, request: Request, conn: Connection, document: Any) -> bytes: ...


Render = Callable[[Request, Connection, Payload, str], tuple[bytes, Headers]]
"""(request, connection, payload, filename) -> body and the headers it adds; raises 406 when the payload has
no such representation."""


@dataclass(frozen=True)
class Renderer:
    name: str
    """Its `format=` value."""
    media_type: str
    accepts: tuple[tuple[str, float], ...]
    """Accept media types that choose it, each with the weight its q counts for (`*/*` counts a little less
    for JSON, so a format named outright wins over it). The first is the one that must appear at all."""
    render: Render
    hint: str = ""
    """How the Accept header asks for it, in the `format` parameter's description."""
    for_people: bool = False
    """A page: chosen by Accept only when strictly preferred over JSON (a browser's), and only where the route
    has one."""
    content: dict[str, Any] | None = None
    """Its entries in a 200's OpenAPI `content`, where routes declare it (None: added elsewhere or implied)."""


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__}")


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=_json_default)
"""Made once: json.dumps with options makes one per call (a fifth of a small document's time)."""


def render_json(document: Any) -> bytes:
    return json_text(document).encode()


def json_text(document: Any) -> str:
    """The document as compact JSON text (not ASCII-escaped): render_json's, before it is encoded."""
    text: str = _ENCODER.encode(document)
    return text


def _csv_cell(value: Any) -> str:
    if type(value) is str:  # most cells (the loader renders a million rows of them)
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return CSV_LIST_SEPARATOR.join(_csv_cell(v) for v in value)
    return str(value)


def render_csv(columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_csv_cell(row.get(c)) for c in columns])
    return out.getvalue().encode()


def _not_acceptable(what: str) -> ApiProblem:
    return ApiProblem(406, "not-acceptable", f"This resource has no {what} representation.")


def _json(request: Request, conn: Connection, payload: Payload, filename: str) -> tuple[bytes, Headers]:
    return (payload.json_body if payload.json_body is not None else render_json(payload.document)), []


def _csv(request: Request, conn: Connection, payload: Payload, filename: str) -> tuple[bytes, Headers]:
    if payload.csv_body is not None:
        body = payload.csv_body()
    elif payload.csv_rows is None:
        raise _not_acceptable("CSV")
    else:
        body = render_csv(payload.csv_columns, payload.csv_rows())
    return body, [("Content-Disposition", f'attachment; filename="{filename}.csv"')]


def _jsonld(request: Request, conn: Connection, payload: Payload, filename: str) -> tuple[bytes, Headers]:
    if payload.jsonld is None:
        raise _not_acceptable("JSON-LD")
    return render_json(payload.jsonld), []


def _pages(request: Request) -> PageRenderer | None:
    pages: PageRenderer | None = getattr(request.app.state, "pages", None)
    return pages if pages is not None and pages.has_page(request) else None


def _html(request: Request, conn: Connection, payload: Payload, filename: str) -> tuple[bytes, Headers]:
    pages = _pages(request)
    if pages is None:
        raise _not_acceptable("HTML")
    return pages.render(request, conn, payload.json_document()), []


def _own_body(request: Request, conn: Connection, payload: Payload, filename: str) -> tuple[bytes, Headers]:
    assert payload.body is not None
    disposition = f'attachment; filename="{filename}.{payload.extension}"'
    return payload.body, [("Content-Disposition", disposition)] if payload.extension else []


JSON = Renderer("json", JSON_TYPE, (("application/json", 1.0), ("application/*", 1.0), ("*/*", 0.99)), _json)
FORMATS: dict[Format, Renderer] = {
    r.name: r
    for r in (
        JSON,
        Renderer(
            "csv",
            CSV_TYPE,
            (("text/csv", 1.0),),
            _csv,
            hint="`text/csv` gives CSV",
            content={"text/csv": {"schema": {"type": "string"}}},
        ),
        Renderer(
            "jsonld",
            JSONLD_TYPE,
            (("application/ld+json", 1.0),),
            _jsonld,
            hint="`application/ld+json` W3C Web Annotations",
            content={JSONLD_TYPE: {"schema": {"type": "object", "description": "W3C Web Annotation (JSON-LD)."}}},
        ),
        Renderer(
            "html",
            HTML_TYPE,
            (("text/html", 1.0), ("application/xhtml+xml", 1.0)),
            _html,
            hint="a browser's `text/html`, the page",
            for_people=True,
        ),
    )
}
"""Between equal q the later (more specific) entry wins, except that a page never wins a tie with JSON."""
OWN_BODY = Renderer("body", JSON_TYPE, (), _own_body)
"""Not negotiated: a body the route rendered itself (Payload.body), with the Payload's media type."""
EVERY_ROUTE = ("json", "csv", "html")
"""What every data route offers (a route without CSV rows or a page answers 406 when asked by `format=`)."""


def offered(extra: Sequence[Format] = ()) -> tuple[Format, ...]:
    """The formats a route offers, in registry order: every route's, and its `extra` ones (`jsonld`)."""
    return tuple(name for name in FORMATS if name in EVERY_ROUTE or name in extra)


def format_literal(*extra: Format) -> Any:
    """`Literal[...]` of the `format=` values a route offering `extra` takes."""
    return Literal[offered(extra)]


def format_description(*extra: Format) -> str:
    names = offered(extra)
    hints = ", ".join(FORMATS[n].hint for n in names if FORMATS[n].hint and not FORMATS[n].for_people)
    hints += "".join(f"; {FORMATS[n].hint}" for n in names if FORMATS[n].for_people)
    return f"Output format; overrides the Accept header ({hints})."


def format_param(*extra: Format) -> Any:
    """The `format` query parameter of a route offering `extra` besides every route's formats."""
    return Annotated[format_literal(*extra) | None, Query(alias="format", description=format_description(*extra))]


def response_content(*extra: Format) -> dict[str, Any]:
    """The 200's `content` entries a route declares for its formats (CSV; JSON-LD where offered)."""
    content: dict[str, Any] = {}
    for name in offered(extra):
        content.update(FORMATS[name].content or {})
    return content


def _accept_q(accept: str) -> dict[str, float]:
    best: dict[str, float] = {}
    for part in accept.split(","):
        media, _, params = part.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        best[media.strip().lower()] = max(q, best.get(media.strip().lower(), 0.0))
    return best


def negotiate(request: Request, format_param: str | None, extra: Sequence[Format] = ()) -> Format:
    """`format=` wins (an unoffered value: JSON); else the offered format the Accept header gives the highest q,
    the later in FORMATS on a tie, a page only when strictly above JSON and where the route has one; JSON when
    the header names none of them (`*/*` included: it counts 0.99), or no header is sent. A header that admits
    none of them, not even through a wildcard (`application/xml` alone), is a 406 naming what is served."""
    names = offered(extra)
    if format_param is not None:
        return format_param if format_param in names else "json"
    accept = request.headers.get("accept", "").strip()
    if not accept:
        return "json"
    best = _accept_q(accept)

    def q(renderer: Renderer) -> float:
        return max(best.get(media, 0.0) * weight for media, weight in renderer.accepts)

    chosen, chosen_q = JSON, q(JSON)
    for renderer in (FORMATS[n] for n in names if n != "json" and FORMATS[n].accepts[0][0] in accept):
        rq = q(renderer)
        if renderer.for_people:
            if rq > chosen_q and _pages(request) is not None:
                chosen, chosen_q = renderer, rq
        elif rq > 0 and rq >= chosen_q:
            chosen, chosen_q = renderer, rq
    if chosen_q > 0:
        return chosen.name
    servable = [FORMATS[n] for n in names if not FORMATS[n].for_people or _pages(request) is not None]
    if any(media.endswith("+json") and weight > 0 for media, weight in best.items()):
        return "json"  # a JSON flavour not offered here (`application/ld+json` on a list): plain JSON serves it
    for renderer in servable:  # only a wildcard range admits it (`text/*`): the first such format
        if best.get(renderer.media_type.split("/")[0] + "/*", 0.0) > 0:
            return renderer.name
    served = ", ".join(r.media_type.split(";")[0] for r in servable)
    raise ApiProblem(
        406,
        "not-acceptable",
        f"Nothing here matches Accept: {shown(accept, 100)}. Served: {served} (errors: application/problem+json); "
        f"or choose with format= ({', '.join(r.name for r in servable)}).",
        title="Not acceptable",
    )
