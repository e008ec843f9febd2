"""HTTP conventions: ETags and 304, caching headers, HEAD, CORS, gzip, security headers, resources."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

RESOURCES = [
    "/",
    "/v1/metrics",
    "/v1/metrics/canada-emigrated-1985-2005",
    "/v1/citations",
    "/v1/citations/canada-emigrated-1985-2005.1",
    "/v1/sources",
    "/v1/sources/epoch-times-2006-05-03",
    "/v1/reports",
    "/v1/reports/ccp-org-dept-mps-2006-02",
    "/v1/periods",
    "/v1/periods/1985-2005",
    "/v1/destinations",
    "/v1/destinations/south-east-asia",
]


@pytest.mark.parametrize("path", RESOURCES)
def test_etag_and_conditional_get(client: TestClient, path: str) -> None:
    first = client.get(path)
    assert first.status_code == 200
    etag = first.headers["etag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    assert client.get(path).headers["etag"] == etag  # stable
    assert "max-age=" in first.headers["cache-control"] and first.headers["vary"].startswith("Accept")
    not_modified = client.get(path, headers={"if-none-match": etag})
    assert not_modified.status_code == 304 and not_modified.content == b""
    assert not_modified.headers["etag"] == etag
    assert client.get(path, headers={"if-none-match": '"other", W/' + etag}).status_code == 304
    assert client.get(path, headers={"if-none-match": '"other"'}).status_code == 200


def test_etag_differs_by_representation(client: TestClient) -> None:
    as_json = client.get("/v1/metrics").headers["etag"]
    as_csv = client.get("/v1/metrics?format=csv").headers["etag"]
    page = client.get("/v1/metrics?limit=5").headers["etag"]
    assert len({as_json, as_csv, page}) == 3


def test_head_has_headers_and_no_body(client: TestClient) -> None:
    get = client.get("/v1/metrics")
    head = client.head("/v1/metrics")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["etag"] == get.headers["etag"]
    assert client.head("/v1/metrics/nope").status_code == 404


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_writes_are_405_with_allow(client: TestClient, method: str) -> None:
    response = client.request(method, "/v1/metrics")
    assert response.status_code == 405 and response.headers["allow"] == "GET, HEAD"
    assert response.headers["content-type"] == "application/problem+json"


def test_cors_any_origin_exposes_link_and_etag(client: TestClient) -> None:
    response = client.get("/v1/metrics", headers={"origin": "https://example.org"})
    assert response.headers["access-control-allow-origin"] == "*"
    exposed = {h.strip().lower() for h in response.headers["access-control-expose-headers"].split(",")}
    assert {"link", "etag"} <= exposed
    preflight = client.options(
        "/v1/metrics", headers={"origin": "https://example.org", "access-control-request-method": "GET"}
    )
    assert preflight.status_code == 200 and "GET" in preflight.headers["access-control-allow-methods"]


def test_gzip_for_large_responses(client: TestClient) -> None:
    response = client.get("/v1/metrics?limit=1000", headers={"accept-encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert response.json()["total"] == 31


@pytest.mark.parametrize("path", ["/v1/metrics", "/v1/nope", "/docs", "/openapi.json"])
def test_security_headers_everywhere(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert "server" not in response.headers


def test_index_links_every_collection_and_the_docs(client: TestClient) -> None:
    body = client.get("/").json()
    for name in ("metrics", "citations", "sources", "reports", "periods", "destinations", "docs", "openapi"):
        href = body["links"][name]["href"]
        assert client.get(href).status_code == 200, href
    assert body["source_url"].startswith("https://www.theepochtimes.com/")
    assert "Epoch Times" in body["attribution"] and len(body["dataset_signature"]) == 64


def test_destination_members_and_groups(client: TestClient) -> None:
    sea = client.get("/v1/destinations/south-east-asia").json()
    assert [(m["code"], m["basis"]) for m in sea["members"]] == [("SG", "source"), ("MY", "source"), ("TH", "source")]
    nordic = client.get("/v1/destinations/nordic").json()
    assert {m["basis"] for m in nordic["members"]} == {"interpretation"} and "interpretation" in nordic["note"]
    hong_kong = client.get("/v1/destinations/hong-kong").json()
    assert [g["id"] for g in hong_kong["groups"]] == ["overseas-incl-hk-macau"] and hong_kong["metric_count"] == 2
    overseas = client.get("/v1/destinations/overseas-incl-hk-macau").json()
    assert [m["destination_id"] for m in overseas["members"]] == ["hong-kong", "macau"]


def test_report_and_source(client: TestClient) -> None:
    report = client.get("/v1/reports/ccp-org-dept-mps-2006-02").json()
    assert report["issued_start"] == "2006-02-15" and report["issued_end"] == "2006-02-28"
    assert report["issued_text"] == "In the second half of February" and report["metric_count"] == 31
    assert report["source_ids"] == ["epoch-times-2006-05-03"]
    source = client.get("/v1/sources/epoch-times-2006-05-03").json()
    assert source["byline"] == "Myadmin" and source["published"] == "2006-05-03" and source["updated"] == "2015-09-11"
    assert source["citation_count"] == 32 and source["report_ids"] == ["ccp-org-dept-mps-2006-02"]


def test_citations_filter(client: TestClient) -> None:
    body = client.get("/v1/citations?metric=canada-emigrated-1985-2005,spouses-children-settled-overseas-2005").json()
    assert [c["id"] for c in body["data"]] == [
        "canada-emigrated-1985-2005.1",
        "spouses-children-settled-overseas-2005.1",
        "spouses-children-settled-overseas-2005.2",
    ]
    assert client.get("/v1/citations?source=epoch-times-2006-05-03").json()["total"] == 32
    assert client.get("/v1/citations?source=other").json()["total"] == 0
