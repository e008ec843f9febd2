"""The OpenAPI document is the contract: a snapshot notices any change; its content is checked too."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from app.api.docs import EXAMPLES_FILE

SNAPSHOT = Path(__file__).parent / "openapi.snapshot.json"


def test_openapi_matches_snapshot(client: TestClient) -> None:
    current = client.get("/openapi.json").json()
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(json.dumps(current, indent=2, ensure_ascii=False, sort_keys=True) + "\n")
    assert SNAPSHOT.exists(), f"{SNAPSHOT} is missing: run with UPDATE_SNAPSHOTS=1 to write it, then review it"
    expected = json.loads(SNAPSHOT.read_text())
    assert current == expected, "OpenAPI changed: review, then run with UPDATE_SNAPSHOTS=1 to accept"


def test_every_operation_is_documented(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    operation_ids = set()
    for path, item in doc["paths"].items():
        for method, op in item.items():
            assert method == "get", (path, method)
            assert op["summary"] and op["description"] and op["tags"], path
            operation_ids.add(op["operationId"])
            assert "400" in op["responses"] and "503" in op["responses"], path
            assert "422" not in op["responses"], path
            for status, response in op["responses"].items():
                if status.startswith(("4", "5")):
                    assert "application/problem+json" in response["content"], (path, status)
            for param in op.get("parameters", []):
                assert param.get("description"), (path, param["name"])
    assert len(operation_ids) == sum(len(item) for item in doc["paths"].values())
    metric_params = {p["name"] for p in doc["paths"]["/v1/metrics"]["get"]["parameters"]}
    assert metric_params == {
        "report",
        "attributed_to",
        "measure",
        "population",
        "unit",
        "qualifier",
        "period",
        "destination",
        "country",
        "has_destination",
        "destination_kind",
        "has_period",
        "from",
        "to",
        "value_min",
        "value_max",
        "match",
        "q",
        "sort",
        "limit",
        "offset",
        "after",
        "facet",
        "format",
    }


def test_response_examples_are_real_responses(client: TestClient) -> None:
    """Each documented example is what the API answers to its example request, byte for value."""

    examples = json.loads(EXAMPLES_FILE.read_text())
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        for example in examples.values():
            if "example" in example:  # the CSV-only operations have none
                kept = {k: example["example"][k] for k in example.get("ignore", [])}  # volatile: keep as documented
                example["example"] = {**client.get(example["url"]).json(), **kept}
            if "csv" in example:
                example["csv"] = client.get(example["url"], headers={"accept": "text/csv"}).text
            if "jsonld" in example:
                example["jsonld"] = client.get(example["url"], headers={"accept": "application/ld+json"}).json()
        EXAMPLES_FILE.write_text(json.dumps(examples, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    doc = client.get("/openapi.json").json()
    documented = {op["operationId"] for item in doc["paths"].values() for op in item.values()}
    assert documented == set(examples)
    for operation_id, example in examples.items():
        live = client.get(example["url"])
        assert live.status_code == 200, example["url"]
        assert live.headers["content-type"].startswith(example.get("media_type", "application/json")), operation_id
        if "example" in example:  # else a body no JSON example shows (a zip; CSV only)
            body = live.json()
            for key in example.get("ignore", []):
                body.pop(key, None)
            expected = {k: v for k, v in example["example"].items() if k not in example.get("ignore", [])}
            assert body == expected, f"{operation_id}: regenerate app/api/openapi_examples.json"
        if "csv" in example:
            assert client.get(example["url"], headers={"accept": "text/csv"}).text == example["csv"], operation_id
        if "jsonld" in example:
            jsonld = client.get(example["url"], headers={"accept": "application/ld+json"}).json()
            assert jsonld == example["jsonld"], operation_id


def test_document_names_relative_server_no_security_and_the_license(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    assert doc["servers"] == [{"url": "/"}]
    assert doc["security"] == []
    assert doc["info"]["license"]["identifier"] == "MIT"


def _schema(doc: dict[str, Any], ref: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = doc["components"]["schemas"][ref["$ref"].rsplit("/", 1)[1]]
    return schema


def test_every_field_served_is_declared(client: TestClient) -> None:
    """Each item of every list carries exactly the properties its schema declares (a field served but not
    declared reaches a generated client only as an untyped extra; Redocly flags the example too)."""
    doc = client.get("/openapi.json").json()
    checked = 0
    for path, item in doc["paths"].items():
        if not path.startswith("/v1/") or "{" in path or path.endswith(".csv"):
            continue
        listed = item["get"]["responses"]["200"].get("content", {}).get("application/json", {}).get("schema", {})
        if "$ref" not in listed or "data" not in _schema(doc, listed).get("properties", {}):
            continue  # not a page of items (the data package's descriptor)
        page = _schema(doc, listed)
        declared = set(_schema(doc, page["properties"]["data"]["items"])["properties"])
        for document in client.get(f"{path}?limit=1000").json()["data"]:
            assert set(document) == declared, (path, set(document) ^ declared)
            checked += 1
    assert checked > 100
