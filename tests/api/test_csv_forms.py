"""CSV for people and for generated clients: `/v1/metrics.csv` and `/v1/checks.csv` are operations of their own
(text/csv only), carry the same rows as `format=csv`, never page, and every CSV writes lists one way."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.api.formats import CSV_LIST_SEPARATOR

LISTS = [
    "/v1/metrics",
    "/v1/citations",
    "/v1/sources",
    "/v1/reports",
    "/v1/attributions",
    "/v1/periods",
    "/v1/destinations",
    "/v1/measures",
    "/v1/populations",
    "/v1/checks",
]


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.mark.parametrize(
    ("path_form", "format_form"),
    [
        ("/v1/metrics.csv", "/v1/metrics?format=csv"),
        ("/v1/metrics.csv?country=United%20States&sort=-lower", "/v1/metrics?country=US&sort=-lower&format=csv"),
        (
            "/v1/metrics.csv?has_destination=true&unit=persons",
            "/v1/metrics?has_destination=true&unit=persons&limit=2&format=csv",
        ),
        ("/v1/checks.csv", "/v1/checks?format=csv"),
        ("/v1/checks.csv?status=fail&status=warn", "/v1/checks?status=fail&status=warn&limit=1&format=csv"),
    ],
)
def test_the_path_form_is_the_format_form(client: TestClient, path_form: str, format_form: str) -> None:
    by_path = client.get(path_form)
    assert by_path.status_code == 200
    assert by_path.headers["content-type"].startswith("text/csv")
    assert by_path.text == client.get(format_form).text
    assert len(_rows(by_path.text)) > 1


def test_csv_is_the_whole_filtered_set_and_the_path_form_refuses_page_parameters(client: TestClient) -> None:
    # 20 figures in persons (tests/api/test_pagination_csv.py walks them); a JSON page of 3, a CSV of all 20.
    assert client.get("/v1/metrics?unit=persons&limit=3").json()["total"] == 20
    assert len(_rows(client.get("/v1/metrics?unit=persons&limit=3&format=csv").text)) == 20
    assert len(_rows(client.get("/v1/metrics.csv?unit=persons").text)) == 20
    for query in ("limit=3", "offset=1", "after=canada-emigrated-1985-2005", "facet=unit", "format=json"):
        response = client.get(f"/v1/metrics.csv?{query}")
        assert response.status_code == 400, query
        assert response.headers["content-type"] == "application/problem+json"
    assert client.get("/v1/checks.csv?limit=1").status_code == 400
    assert client.get("/v1/checks.csv?status=maybe").status_code == 400


def test_the_csv_operations_declare_text_csv_only(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path, operation_id in (("/v1/metrics.csv", "list_metrics_csv"), ("/v1/checks.csv", "list_checks_csv")):
        operation = paths[path]["get"]
        assert operation["operationId"] == operation_id
        assert list(operation["responses"]["200"]["content"]) == ["text/csv"]
        assert operation["responses"]["400"]["content"]["application/problem+json"]
    names = {p["name"] for p in paths["/v1/metrics.csv"]["get"]["parameters"]}
    assert {"country", "q", "sort"} <= names and not names & {"limit", "offset", "after", "facet", "format"}
    limit = next(p for p in paths["/v1/metrics"]["get"]["parameters"] if p["name"] == "limit")
    assert "CSV" in limit["description"] and "every figure the filters select" in limit["description"]


def test_lower_is_never_null_and_country_match_is_an_enum(client: TestClient) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    metric = schemas["MetricPublic"]["properties"]
    assert metric["lower"]["type"] == "integer" and "anyOf" not in metric["lower"]
    assert metric["lower_inclusive"]["type"] == "boolean"
    assert "lower" in schemas["MetricPublic"]["required"]
    assert metric["country_match"]["anyOf"][0] == {"$ref": "#/components/schemas/CountryMatch"}
    assert schemas["CountryMatch"]["enum"] == ["exact", "group"]
    every = client.get("/v1/metrics?limit=1000").json()["data"]
    assert every and all(isinstance(doc["lower"], int) for doc in every)


def _list_items(value: Any) -> list[str] | None:
    if isinstance(value, list) and all(isinstance(item, str | int) for item in value):
        return [str(item) for item in value]
    return None


@pytest.mark.parametrize("path", LISTS)
def test_every_list_in_a_csv_cell_is_joined_one_way(client: TestClient, path: str) -> None:
    """A JSON array of values is, in CSV, its items joined by CSV_LIST_SEPARATOR, and no item contains it."""
    documents = client.get(f"{path}?limit=1000").json()["data"]
    rows = _rows(client.get(f"{path}?format=csv").text)
    assert len(rows) == len(documents)
    lists_seen = 0
    for document, row in zip(documents, rows, strict=True):
        for column, cell in row.items():
            items = _list_items(document.get(column))
            if items is None:
                continue
            lists_seen += len(items) > 1
            assert all(CSV_LIST_SEPARATOR not in item for item in items), (path, column)
            assert cell == CSV_LIST_SEPARATOR.join(items), (path, column)
            assert (cell.split(CSV_LIST_SEPARATOR) if cell else []) == items
    if path in ("/v1/metrics", "/v1/reports", "/v1/populations", "/v1/checks"):
        assert lists_seen, f"{path}: no cell of several values to check"


def test_derived_lists_use_the_same_separator(client: TestClient) -> None:
    metrics = {d["id"]: d for d in client.get("/v1/metrics?limit=1000").json()["data"]}
    several = [r for r in _rows(client.get("/v1/metrics.csv").text) if int(r["citation_count"]) > 1]
    assert several, "a figure with several citations"
    for row in several:
        citations = metrics[row["id"]]["citations"]
        assert row["quote"].split(CSV_LIST_SEPARATOR) == [c["quote"] for c in citations]
        assert row["citation_url"].split(CSV_LIST_SEPARATOR) == [c["url"] for c in citations]
    checks = client.get("/v1/checks?limit=1000").json()["data"]
    for check, row in zip(checks, _rows(client.get("/v1/checks.csv").text), strict=True):
        assert row["metrics"].split(CSV_LIST_SEPARATOR) == [f"{m['metric_id']}:{m['role']}" for m in check["metrics"]]
    destinations = client.get("/v1/destinations?limit=1000").json()["data"]
    for place, row in zip(destinations, _rows(client.get("/v1/destinations?format=csv").text), strict=True):
        codes = row["members"].split(CSV_LIST_SEPARATOR) if row["members"] else []
        assert codes == [m["code"] for m in place["members"]]
