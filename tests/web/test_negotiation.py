"""HTML is one more representation on the same URLs: a browser's Accept (or `format=html`) gets the page, while
`*/*` and `application/json` keep getting the JSON bytes; each representation has its own ETag, and `Vary: Accept`
tells caches so. Pages load nothing but the app's own stylesheet: no script, no inline style."""

from __future__ import annotations

import re

import pytest

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
PAGED = [
    "/",
    "/v1/metrics",
    "/v1/metrics/canada-emigrated-1985-2005",
    "/v1/checks",
    "/v1/checks/people-per-case-united-states",
    "/v1/destinations",
    "/v1/destinations/south-east-asia",
    "/v1/periods",
    "/v1/periods/end-2005",
    "/v1/citations",
    "/v1/citations/canada-emigrated-1985-2005.1",
    "/v1/sources",
    "/v1/sources/epoch-times-2006-05-03",
    "/v1/reports",
    "/v1/reports/ccp-org-dept-mps-2006-02",
]


@pytest.mark.parametrize("path", PAGED)
def test_a_browser_gets_the_page_and_a_program_the_unchanged_json(client, path: str) -> None:  # type: ignore[no-untyped-def]
    page = client.get(path, headers={"Accept": BROWSER_ACCEPT})
    assert page.status_code == 200, page.text
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.text.startswith("<!doctype html>")
    plain = client.get(path)  # httpx sends */*
    assert plain.headers["content-type"] == "application/json"
    for accept in ("*/*", "application/json", "application/json, text/html", "text/html;q=0.5, application/json"):
        other = client.get(path, headers={"Accept": accept})
        assert other.content == plain.content, accept
        assert other.headers["etag"] == plain.headers["etag"], accept
    forced = client.get(path, params={"format": "html"}, headers={"Accept": "*/*"})
    assert forced.headers["content-type"] == "text/html; charset=utf-8"
    as_json = client.get(path, params={"format": "json"}, headers={"Accept": BROWSER_ACCEPT}).json()
    assert {k: v for k, v in as_json.items() if k != "links"} == {k: v for k, v in plain.json().items() if k != "links"}
    for response in (page, plain, forced):
        assert response.headers["vary"].startswith("Accept")
    assert page.headers["etag"] != plain.headers["etag"]


def test_each_representation_revalidates_against_its_own_etag(client) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/v1/metrics", headers={"Accept": BROWSER_ACCEPT})
    json_tag = client.get("/v1/metrics").headers["etag"]
    again = client.get("/v1/metrics", headers={"Accept": BROWSER_ACCEPT, "If-None-Match": page.headers["etag"]})
    assert again.status_code == 304
    # The page's ETag does not validate the JSON (nor the other way round).
    assert client.get("/v1/metrics", headers={"If-None-Match": page.headers["etag"]}).status_code == 200
    crossed = client.get("/v1/metrics", headers={"Accept": BROWSER_ACCEPT, "If-None-Match": json_tag})
    assert crossed.status_code == 200
    assert crossed.content == page.content  # the cached page: byte-identical to the first render


def test_pages_run_no_script_and_take_styles_from_the_stylesheet_only(client) -> None:  # type: ignore[no-untyped-def]
    for path in PAGED:
        page = client.get(path, headers={"Accept": BROWSER_ACCEPT})
        csp = page.headers["content-security-policy"]
        assert "script-src" not in csp and "default-src 'none'" in csp and "style-src 'self'" in csp
        html = page.text
        scripts = re.findall(r"<script\b([^>]*)>", html)
        assert all('type="application/ld+json"' in attrs for attrs in scripts), path  # a data block, never run
        assert not re.search(r"<style\b|\sstyle=|\son[a-z]+=", html), path
        assert re.findall(r'<link rel="stylesheet" href="([^"]+)"', html) == ["/assets/explorer.css"]
        assert not re.search(
            r'(src|href|action)="(https?:)?//(?!www\.theepochtimes\.com/)',
            html.replace('href="http://127.0.0.1', 'href="/'),
        ), path  # links out only to the article
    css = client.get("/assets/explorer.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert "@media print" in css.text


def test_json_clients_keep_the_api_csp_and_routes_without_pages_stay_json(client) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/v1/metrics").headers["content-security-policy"] == (
        "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
    )
    live = client.get("/health/live", headers={"Accept": BROWSER_ACCEPT})
    assert not live.headers["content-type"].startswith("text/html")


def test_the_filter_form_redirects_to_the_api_url_without_its_empty_fields(client) -> None:  # type: ignore[no-untyped-def]
    query = "q=&destination=&country=SG&unit=persons&unit=cases&match=overlaps&value_min=&sort=&limit=&evil=x"
    response = client.get("/explore/metrics?" + query, follow_redirects=False)
    assert response.status_code == 303
    # `match` qualifies a value range only; unknown names are dropped; the Location is relative.
    assert response.headers["location"] == "/v1/metrics?country=SG&unit=persons&unit=cases"
    ranged = client.get("/explore/metrics?value_min=150000&match=within", follow_redirects=False)
    assert ranged.headers["location"] == "/v1/metrics?value_min=150000&match=within"


def test_openapi_lists_html_for_every_operation_with_a_page(client) -> None:  # type: ignore[no-untyped-def]
    from app.web.views import PAGES

    pages = client.app.state.pages.pages
    operations = {
        op["operationId"]: op for item in client.get("/openapi.json").json()["paths"].values() for op in item.values()
    }
    assert set(PAGES) <= set(pages) <= set(operations)
    for operation_id, operation in operations.items():
        has_html = "text/html" in operation["responses"]["200"].get("content", {})
        assert has_html == (operation_id in pages), operation_id
        formats = [p for p in operation.get("parameters", []) if p["name"] == "format"]
        # Every `format=` that offers html has a page to serve (schemathesis sends each enum value).
        offers_html = bool(formats) and "html" in formats[0]["schema"]["anyOf"][0]["enum"]
        assert offers_html == (operation_id in pages), operation_id


def test_a_collection_without_a_page_of_its_own_gets_the_generic_one(client) -> None:  # type: ignore[no-untyped-def]
    listing = client.get("/v1/attributions", headers={"Accept": "text/html"})
    assert listing.status_code == 200 and listing.headers["content-type"].startswith("text/html")
    assert 'href="/v1/attributions/following-survey"' in listing.text
    item = client.get("/v1/attributions/following-survey?format=html")
    assert item.status_code == 200 and "the following survey" in item.text.lower()
    assert '<a href="/v1/attributions">' in item.text


def test_the_home_page_describes_the_dataset_in_schema_org_json_ld(client) -> None:  # type: ignore[no-untyped-def]
    import json
    from pathlib import Path

    from pyld import jsonld

    context = json.loads((Path(__file__).parent / "fixtures" / "schemaorg-context.jsonld").read_text())

    def offline_loader(url: str, options: dict | None = None) -> dict:  # type: ignore[type-arg]
        if url.rstrip("/") in ("https://schema.org", "http://schema.org"):
            return {"contentType": "application/ld+json", "contextUrl": None, "documentUrl": url, "document": context}
        raise AssertionError(f"the JSON-LD loads {url}: nothing may be fetched")

    html = client.get("/", headers={"Accept": BROWSER_ACCEPT}).text
    blocks = re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    assert len(blocks) == 1
    expanded = jsonld.expand(json.loads(blocks[0]), {"documentLoader": offline_loader})
    assert len(expanded) == 1
    dataset = expanded[0]
    s = "https://schema.org/"
    assert dataset["@type"] == [s + "Dataset"]
    index = client.get("/").json()
    assert dataset[s + "name"][0]["@value"] == index["title"]
    assert dataset[s + "description"][0]["@value"] == index["description"]
    article = dataset[s + "isBasedOn"][0]
    assert article["@type"] == [s + "NewsArticle"]
    assert article[s + "url"][0]["@id"] == index["source_url"]
    assert article[s + "datePublished"][0]["@value"] == "2006-05-03"
    assert dataset[s + "temporalCoverage"][0]["@value"] == "1985-01-01/2005-12-31"
    places = {p[s + "name"][0]["@value"] for p in dataset[s + "spatialCoverage"]}
    destinations = client.get("/v1/destinations").json()["data"]
    assert places == {d["name"] for d in destinations}
    downloads = {
        d[s + "encodingFormat"][0]["@value"]: d[s + "contentUrl"][0]["@id"] for d in dataset[s + "distribution"]
    }
    assert downloads == {
        "application/json": "http://127.0.0.1:8000/v1/metrics",
        "text/csv": "http://127.0.0.1:8000/v1/metrics?format=csv",
    }
    assert dataset[s + "license"][0][s + "name"][0]["@value"].startswith("Code: MIT")
    assert dataset[s + "dateModified"][0]["@value"] == index["loaded_at"]


@pytest.mark.parametrize(
    ("path", "accept", "expected"),
    [
        ("/v1/metrics", "text/csv, application/json", "text/csv"),  # a tie with JSON: the named format
        ("/v1/metrics", "text/html, application/json", "application/json"),  # a page never wins a tie with JSON
        ("/v1/metrics", "text/html, text/csv;q=0.9", "text/html"),  # the highest q among the offered formats
        ("/v1/metrics", "text/csv, text/html;q=0.9", "text/csv"),
        ("/v1/metrics", "application/ld+json", "application/json"),  # not offered here: JSON
        ("/v1/citations", "application/ld+json, text/csv", "application/ld+json"),  # tie: the later entry
        ("/v1/citations", "application/ld+json;q=0.5, */*", "application/json"),  # */* counts 0.99
    ],
)
def test_accept_picks_the_offered_format_with_the_highest_q(client, path, accept, expected) -> None:  # type: ignore[no-untyped-def]
    response = client.get(path, headers={"accept": accept})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(expected), (accept, response.headers["content-type"])


def test_a_figure_page_says_who_states_the_figure(client) -> None:  # type: ignore[no-untyped-def]
    document = client.get("/v1/metrics/canada-emigrated-1985-2005").json()
    page = client.get("/v1/metrics/canada-emigrated-1985-2005?format=html").text
    assert document["attributed_to"] == "following-survey"
    assert 'id="stated-by"><a href="/v1/attributions/following-survey">' in page
    assert document["attribution_quote"] in page.replace("&#39;", "'")
