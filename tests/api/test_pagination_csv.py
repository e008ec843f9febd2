"""Pagination walks every row exactly once; CSV carries the same values as JSON."""

from __future__ import annotations

import csv
import io
import itertools
import re

import pytest
from fastapi.testclient import TestClient

COLLECTIONS = [
    "/v1/metrics",
    "/v1/citations",
    "/v1/sources",
    "/v1/reports",
    "/v1/periods",
    "/v1/destinations",
    "/v1/checks",
]


def _link_header(value: str) -> dict[str, str]:
    return {rel: url for url, rel in re.findall(r'<([^>]*)>; rel="([a-z]+)"', value)}


@pytest.mark.parametrize("limit", [1, 3, 7, 31, 1000])
def test_walking_next_links_visits_every_metric_once(client: TestClient, limit: int) -> None:
    url: str | None = f"/v1/metrics?unit=persons&limit={limit}"
    seen: list[str] = []
    pages = 0
    while url is not None:
        response = client.get(url)
        body = response.json()
        assert body["limit"] == limit and body["total"] == 20
        assert _link_header(response.headers["link"]) == {k: v for k, v in body["links"].items() if v is not None}
        seen += [row["id"] for row in body["data"]]
        url = body["links"]["next"]
        pages += 1
        assert pages <= 20
    assert len(seen) == len(set(seen)) == 20
    assert pages == -(-20 // limit)


@pytest.mark.parametrize("limit", [1, 3, 7, 31])
def test_keyset_pages_walk_the_offset_order_both_ways(client: TestClient, limit: int) -> None:
    everything = [row["id"] for row in client.get("/v1/metrics?unit=persons&limit=1000").json()["data"]]
    url: str | None = f"/v1/metrics?unit=persons&limit={limit}&after={everything[0]}"
    seen, pages = [everything[0]], []
    while url is not None:
        response = client.get(url)
        body = response.json()
        assert body["total"] == 20 and len(body["data"]) <= limit
        assert _link_header(response.headers["link"]) == {k: v for k, v in body["links"].items() if v is not None}
        seen += [row["id"] for row in body["data"]]
        pages.append(body)
        url = body["links"]["next"]
        assert url is None or "after=" in url
    assert seen == everything
    # prev goes back one page at a time, to the offset page before the first cursor
    for before, page in itertools.pairwise(pages):
        assert client.get(page["links"]["prev"]).json()["data"] == before["data"]
    assert client.get(pages[0]["links"]["prev"]).json()["data"][0]["id"] == everything[0]


def test_keyset_page_with_offset_and_errors(client: TestClient) -> None:
    everything = [row["id"] for row in client.get("/v1/metrics").json()["data"]]
    body = client.get(f"/v1/metrics?after={everything[3]}&offset=2&limit=4").json()
    assert [row["id"] for row in body["data"]] == everything[6:10]
    assert (
        client.get(body["links"]["prev"]).json()["data"]
        == client.get(f"/v1/metrics?after={everything[3]}&limit=4").json()["data"][:4]
    )
    assert client.get(f"/v1/metrics?after={everything[-1]}").json()["data"] == []
    by_lower = [row["id"] for row in client.get("/v1/metrics?sort=-lower,unit").json()["data"]]
    page = client.get(f"/v1/metrics?after={by_lower[4]}&sort=-lower,unit&limit=3").json()
    assert [row["id"] for row in page["data"]] == by_lower[5:8]
    assert [row["id"] for row in client.get(page["links"]["next"]).json()["data"]] == by_lower[8:11]
    assert [row["id"] for row in client.get(page["links"]["prev"]).json()["data"]] == by_lower[2:5]
    assert client.get("/v1/metrics?after=not-a-metric&sort=-lower").json()["data"] == []
    assert client.get("/v1/metrics?after=Not%20an%20id").status_code == 400


def test_links_keep_filters_and_are_relative(client: TestClient) -> None:
    body = client.get("/v1/metrics?unit=cases&sort=-lower&limit=2&offset=4", headers={"host": "evil.example"}).json()
    links = body["links"]
    assert links["self"].startswith("/v1/metrics?") and "evil" not in str(links)
    assert "unit=cases" in links["next"] and "sort=-lower" in links["next"] and "offset=6" in links["next"]
    assert "offset=2" in links["prev"] and "offset=0" in links["first"]
    last = client.get("/v1/metrics?unit=cases&limit=2&offset=8").json()
    assert last["links"]["next"] is None and len(last["data"]) == 1


def test_offset_past_the_end_is_an_empty_page(client: TestClient) -> None:
    body = client.get("/v1/metrics?offset=500").json()
    assert body["data"] == [] and body["total"] == 31 and body["links"]["next"] is None


@pytest.mark.parametrize("path", COLLECTIONS)
def test_every_collection_pages_and_has_csv(client: TestClient, path: str) -> None:
    body = client.get(path + "?limit=1000").json()
    assert (
        set(body) == {"data", "total", "total_is_exact", "limit", "offset", "links"}
        and body["total"] == len(body["data"]) > 0
    )
    response = client.get(path, headers={"accept": "text/csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv; charset=utf-8")
    assert re.match(r'attachment; filename="[a-z]+\.csv"', response.headers["content-disposition"])
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["id"] for r in rows] == [d["id"] for d in body["data"]]


def _json_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def test_metrics_csv_round_trips_to_the_json_values(client: TestClient) -> None:
    data = client.get("/v1/metrics?limit=1000&sort=-lower").json()["data"]
    text = client.get("/v1/metrics?format=csv&sort=-lower").text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == len(data) == 31
    for row, doc in zip(rows, data, strict=True):
        for key in (
            "id",
            "unit",
            "value_text",
            "qualifier",
            "lower",
            "lower_inclusive",
            "upper",
            "upper_inclusive",
            "measure",
            "population",
            "note",
        ):
            assert row[key] == _json_cell(doc[key]), (doc["id"], key)
        assert row["destination_id"] == _json_cell(doc["destination"] and doc["destination"]["id"])
        assert row["period_iso"] == _json_cell(doc["period"] and doc["period"]["iso"])
        assert row["quote"].split(" | ") == [c["quote"] for c in doc["citations"]]
        assert int(row["citation_count"]) == len(doc["citations"])
        if row["lower"]:
            assert int(row["lower"]) == doc["lower"]


def test_csv_by_accept_equals_csv_by_format(client: TestClient) -> None:
    by_accept = client.get("/v1/metrics?unit=USD", headers={"accept": "text/csv"})
    by_format = client.get("/v1/metrics?unit=USD&format=csv")
    assert by_accept.content == by_format.content
    assert (
        client.get("/v1/metrics?unit=USD", headers={"accept": "application/json, text/csv;q=0.5"}).headers[
            "content-type"
        ]
        == "application/json"
    )


def test_single_metric_csv(client: TestClient) -> None:
    response = client.get("/v1/metrics/canada-emigrated-1985-2005?format=csv")
    (row,) = list(csv.DictReader(io.StringIO(response.text)))
    assert row["lower"] == row["upper"] == "225000" and row["destination_code"] == "CA"
    assert 'filename="metric-canada-emigrated-1985-2005.csv"' in response.headers["content-disposition"]
