"""Content negotiation: JSON unless CSV (or, for a browser, the page) is preferred; an Accept header nothing
served can satisfy is a 406 problem naming what is served, while `*/*` and no Accept get JSON."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
NEGOTIATED = [
    "/v1/metrics",
    "/v1/metrics/canada-emigrated-1985-2005",
    "/v1/checks",
    "/v1/destinations/canada",
    "/v1/citations",
]


@pytest.mark.parametrize("path", NEGOTIATED)
@pytest.mark.parametrize("accept", ["application/xml", "image/png", "text/csv;q=0", "nonsense"])
def test_an_accept_nothing_served_satisfies_is_a_406_listing_what_is(
    client: TestClient, path: str, accept: str
) -> None:
    response = client.get(path, headers={"accept": accept})
    assert response.status_code == 406
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 406 and body["type"] == "/problems/not-acceptable"
    assert "application/json" in body["detail"] and "text/csv" in body["detail"] and "format=" in body["detail"]


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        (None, "application/json"),
        ("*/*", "application/json"),
        (BROWSER, "text/html"),  # the page (tests/web); where a route has none, JSON through */*
        ("application/*", "application/json"),
        ("application/json, text/csv;q=0.5", "application/json"),
        ("text/csv", "text/csv"),
        ("text/csv, */*;q=0.1", "text/csv"),
        ("text/*", "text/csv"),
    ],
)
def test_what_is_served_for_each_accept(client: TestClient, accept: str | None, media_type: str) -> None:
    headers = {} if accept is None else {"accept": accept}
    response = client.get("/v1/metrics?unit=USD", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(media_type)


def test_format_wins_over_an_unsatisfiable_accept(client: TestClient) -> None:
    for fmt, media_type in (("json", "application/json"), ("csv", "text/csv")):
        response = client.get(f"/v1/metrics?unit=USD&format={fmt}", headers={"accept": "application/xml"})
        assert response.status_code == 200 and response.headers["content-type"].startswith(media_type)


def test_the_406_is_declared(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/v1/metrics", "/v1/metrics/{metric_id}", "/v1/checks", "/v1/destinations/{destination_id}"):
        assert "application/problem+json" in paths[path]["get"]["responses"]["406"]["content"], path
