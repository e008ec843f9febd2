"""Citations as W3C Web Annotations: negotiated (Accept or format=jsonld) without changing JSON or CSV, and, once
expanded by pyld against the bundled Web Annotation context (nothing fetched), made of the oa: and as: terms the
model defines. Each `exact` is a substring of the article where the source text is present."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pyld import jsonld

from app.config import Settings
from app.main import create_app

CONTEXT_URL = "http://www.w3.org/ns/anno.jsonld"
CONTEXT = json.loads((Path(__file__).parent / "fixtures" / "anno.jsonld").read_text(encoding="utf-8"))
JSONLD_TYPE = 'application/ld+json; profile="http://www.w3.org/ns/anno.jsonld"'
SOURCE_TEXT = Path(
    os.environ.get("SOURCE_TEXT")
    or Path(__file__).resolve().parents[2] / "shared" / "source" / "epoch-times-2006-05-03.txt"
)
BASE = "http://testserver"
OA = "http://www.w3.org/ns/oa#"
AS = "http://www.w3.org/ns/activitystreams#"
DC = "http://purl.org/dc/elements/1.1/"
DCTYPES = "http://purl.org/dc/dcmitype/"


def offline_loader(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """pyld's document loader: the bundled Web Annotation context, and nothing else (no network)."""
    if url.replace("https://", "http://", 1) != CONTEXT_URL:
        raise jsonld.JsonLdError(
            f"offline: will not fetch {url}", "jsonld.LoadDocumentError", code="loading document failed"
        )
    return {"contentType": "application/ld+json", "contextUrl": None, "documentUrl": url, "document": CONTEXT}


def expand(document: dict[str, Any], url: str) -> list[dict[str, Any]]:
    """Expanded JSON-LD, relative ids resolved against the URL the document was fetched from."""
    return jsonld.expand(document, {"documentLoader": offline_loader, "base": BASE + url})  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def client(db_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(database_url=db_url)), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def citations(client: TestClient) -> list[dict[str, Any]]:
    body = client.get("/v1/citations?limit=1000").json()
    assert body["total"] == len(body["data"]) == 32
    return body["data"]  # type: ignore[no-any-return]


def value(node: dict[str, Any], term: str) -> Any:
    (item,) = node[term]
    return item.get("@value", item.get("@id"))


def assert_annotation(node: dict[str, Any], citation: dict[str, Any], article: str) -> None:
    """One expanded annotation says: this quote, in this article, is where this figure comes from."""
    assert node["@type"] == [OA + "Annotation"]
    assert node["@id"] == f"{BASE}/v1/citations/{citation['id']}"
    assert value(node, OA + "motivatedBy") == OA + "linking"
    (body,) = node[OA + "hasBody"]
    assert body["@id"] == f"{BASE}/v1/metrics/{citation['metric_id']}"
    assert body["@type"] == [DCTYPES + "Dataset"]
    assert value(body, DC + "format") == "application/json"
    (target,) = node[OA + "hasTarget"]
    assert target["@type"] == [OA + "SpecificResource"]
    assert value(target, OA + "hasSource") == article
    (selector,) = target[OA + "hasSelector"]
    assert selector["@type"] == [OA + "TextQuoteSelector"]
    assert value(selector, OA + "exact") == citation["quote"]
    for key in ("prefix", "suffix"):
        if citation[key] is None:
            assert OA + key not in selector
        else:
            assert value(selector, OA + key) == citation[key]


def test_one_citation_as_an_annotation(client: TestClient, citations: list[dict[str, Any]]) -> None:
    article = citations[0]["url"].split("#")[0]
    for citation in citations:
        url = f"/v1/citations/{citation['id']}"
        response = client.get(url, headers={"accept": "application/ld+json"})
        assert response.status_code == 200
        assert response.headers["content-type"] == JSONLD_TYPE
        document = response.json()
        assert document["@context"] == CONTEXT_URL
        assert document == client.get(url, params={"format": "jsonld"}).json()
        (node,) = expand(document, url)
        assert_annotation(node, citation, article)


def test_json_and_csv_clients_see_no_change(client: TestClient, citations: list[dict[str, Any]]) -> None:
    url = f"/v1/citations/{citations[0]['id']}"
    for accept in (None, "application/json", "*/*", "application/json, application/ld+json;q=0.5"):
        response = client.get(url, headers={"accept": accept} if accept else {})
        assert response.headers["content-type"] == "application/json"
        assert response.json() == citations[0]
    assert client.get(url, headers={"accept": "text/csv"}).headers["content-type"].startswith("text/csv")
    # another resource does not answer JSON-LD it does not have
    assert client.get("/v1/metrics", headers={"accept": "application/ld+json"}).headers["content-type"] == (
        "application/json"
    )
    assert client.get("/v1/metrics", params={"format": "jsonld"}).status_code == 400


def test_the_json_ld_representation_has_its_own_etag(client: TestClient, citations: list[dict[str, Any]]) -> None:
    url = f"/v1/citations/{citations[0]['id']}"
    as_json = client.get(url)
    as_jsonld = client.get(url, headers={"accept": "application/ld+json"})
    assert as_json.headers["etag"] != as_jsonld.headers["etag"]
    assert "Accept" in as_jsonld.headers["vary"]
    again = client.get(url, headers={"accept": "application/ld+json", "if-none-match": as_jsonld.headers["etag"]})
    assert again.status_code == 304


def test_the_collection_embeds_its_first_page(client: TestClient, citations: list[dict[str, Any]]) -> None:
    url = "/v1/citations?format=jsonld&limit=1000"
    response = client.get(url)
    assert response.headers["content-type"] == JSONLD_TYPE
    (collection,) = expand(response.json(), url)
    assert collection["@type"] == [AS + "OrderedCollection"]
    assert collection["@id"] == f"{BASE}/v1/citations?format=jsonld"
    assert value(collection, AS + "totalItems") == 32
    (page,) = collection[AS + "first"]
    assert page["@type"] == [AS + "OrderedCollectionPage"]
    assert value(page, AS + "startIndex") == 0
    (items,) = page[AS + "items"]
    article = citations[0]["url"].split("#")[0]
    assert len(items["@list"]) == 32
    for node, citation in zip(items["@list"], citations, strict=True):
        assert_annotation(node, citation, article)


def test_later_pages_are_annotation_pages_of_the_collection(
    client: TestClient, citations: list[dict[str, Any]]
) -> None:
    url = "/v1/citations?limit=10&offset=10"
    (page,) = expand(client.get(url, headers={"accept": "application/ld+json"}).json(), url)
    assert page["@type"] == [AS + "OrderedCollectionPage"]
    assert value(page, AS + "startIndex") == 10
    assert value(page, AS + "next") == f"{BASE}/v1/citations?limit=10&offset=20"
    assert value(page, AS + "prev") == f"{BASE}/v1/citations?limit=10&offset=0"
    (part_of,) = page[AS + "partOf"]
    assert part_of["@id"] == f"{BASE}/v1/citations"
    assert value(part_of, AS + "totalItems") == 32
    assert value(part_of, AS + "last") == f"{BASE}/v1/citations?limit=10&offset=30"
    (items,) = page[AS + "items"]
    assert [node["@id"] for node in items["@list"]] == [f"{BASE}/v1/citations/{c['id']}" for c in citations[10:20]]


def test_filters_carry_into_the_collection(client: TestClient, citations: list[dict[str, Any]]) -> None:
    metric = "spouses-children-settled-overseas-2005"
    url = f"/v1/citations?metric={metric}&format=jsonld"
    (collection,) = expand(client.get(url).json(), url)
    assert value(collection, AS + "totalItems") == len([c for c in citations if c["metric_id"] == metric]) == 2


def test_public_base_url_makes_ids_absolute_whatever_the_host(db_url: str, citations: list[dict[str, Any]]) -> None:
    settings = Settings(database_url=db_url, public_base_url="https://data.example.org")
    with TestClient(create_app(settings)) as other:
        document = other.get(
            f"/v1/citations/{citations[0]['id']}?format=jsonld", headers={"host": "evil.example"}
        ).json()
    assert document["id"] == f"https://data.example.org/v1/citations/{citations[0]['id']}"
    assert document["body"]["id"] == f"https://data.example.org/v1/metrics/{citations[0]['metric_id']}"


def test_the_offline_loader_fetches_nothing() -> None:
    with pytest.raises(jsonld.JsonLdError):
        jsonld.expand({"@context": "http://example.org/other.jsonld", "x": 1}, {"documentLoader": offline_loader})


def test_each_exact_quote_is_in_the_article_with_its_prefix_and_suffix(client: TestClient) -> None:
    if not SOURCE_TEXT.is_file():
        pytest.skip(f"source text not found at {SOURCE_TEXT} (set SOURCE_TEXT to check the selectors against it)")
    article = SOURCE_TEXT.read_text(encoding="utf-8")
    items = client.get("/v1/citations?format=jsonld&limit=1000").json()["first"]["items"]
    assert len(items) == 32
    for annotation in items:
        selector = annotation["target"]["selector"]
        assert selector["exact"] in article, annotation["id"]
        run = selector.get("prefix", "") + selector["exact"] + selector.get("suffix", "")
        assert run in article, f"{annotation['id']}: prefix + exact + suffix is not a run of the article"
