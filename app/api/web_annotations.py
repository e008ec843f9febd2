"""Citations as W3C Web Annotations (JSON-LD, http://www.w3.org/ns/anno.jsonld): the quote is the target,
a TextQuoteSelector on the article; the body is the figure it supports. Lists are an AnnotationCollection
whose first page is embedded, as the Web Annotation Protocol pages a container; later pages are
AnnotationPages. Ids are relative to the API (resolved against the URL the document came from) unless
PUBLIC_BASE_URL is set: never built from the Host header.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import Request

CONTEXT = "http://www.w3.org/ns/anno.jsonld"


def base_url(request: Request) -> str:
    """PUBLIC_BASE_URL, or "" for ids relative to this API's root."""
    return request.app.state.settings.public_base_url or ""


def article_url(citation: dict[str, Any]) -> str:
    """The article's URL: the citation's `url` without its text fragment (app.api.queries.fragment_url)."""
    return str(citation["url"]).partition("#:~:")[0]


def annotation(citation: dict[str, Any], base: str) -> dict[str, Any]:
    """One citation (as /v1/citations/{id} gives it in JSON) as an Annotation, without @context."""
    selector: dict[str, Any] = {"type": "TextQuoteSelector", "exact": citation["quote"]}
    for key in ("prefix", "suffix"):
        if citation[key]:
            selector[key] = citation[key]
    return {
        "id": f"{base}/v1/citations/{citation['id']}",
        "type": "Annotation",
        "motivation": "linking",
        "body": {
            "id": f"{base}/v1/metrics/{citation['metric_id']}",
            "type": "Dataset",
            "format": "application/json",
        },
        "target": {
            "type": "SpecificResource",
            "source": article_url(citation),
            "selector": selector,
        },
    }


def annotation_document(citation: dict[str, Any], base: str) -> dict[str, Any]:
    return {"@context": CONTEXT, **annotation(citation, base)}


def _page_url(request: Request, base: str, *, limit: int | None = None, offset: int | None = None) -> str:
    kept = [(k, v) for k, v in request.query_params.multi_items() if k not in ("limit", "offset")]
    if limit is not None and offset is not None:
        kept += [("limit", str(limit)), ("offset", str(offset))]
    return base + request.url.path + ("?" + urlencode(kept) if kept else "")


def collection_document(
    request: Request, citations: list[dict[str, Any]], total: int, limit: int, offset: int
) -> dict[str, Any]:
    """This page of citations: the AnnotationCollection with its first page embedded (offset 0), else the
    AnnotationPage with the collection it is part of."""
    base = base_url(request)
    collection: dict[str, Any] = {
        "id": _page_url(request, base),
        "type": "AnnotationCollection",
        "label": "Verbatim quotes behind the figures, each anchored in the article",
        "total": total,
        "first": _page_url(request, base, limit=limit, offset=0),
        "last": _page_url(request, base, limit=limit, offset=max(total - 1, 0) // limit * limit),
    }
    page: dict[str, Any] = {
        "id": _page_url(request, base, limit=limit, offset=offset),
        "type": "AnnotationPage",
        "startIndex": offset,
        "items": [annotation(c, base) for c in citations],
    }
    if offset + limit < total:
        page["next"] = _page_url(request, base, limit=limit, offset=offset + limit)
    if offset > 0:
        page["prev"] = _page_url(request, base, limit=limit, offset=max(offset - limit, 0))
    if offset == 0:
        return {"@context": CONTEXT, **collection, "first": page}
    return {"@context": CONTEXT, **page, "partOf": collection}
