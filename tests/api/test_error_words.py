"""Errors that say what to type (issue 14): no 400 quotes a regular expression. tests/api/conftest.py checks
every 400 the API tests provoke; this file provokes one per parameter on purpose, and checks the check."""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import regex_in_problem

BAD = [
    ("/v1/metrics?country=Canadaa", "try CA"),
    ("/v1/metrics?sort=value", 'sort: "value" is not a sort key; use one of id, lower, upper'),
    ("/v1/metrics?value_min=200,000", 'value_min: "200,000" is not a whole number; write 200000'),
    ("/v1/metrics?value_max=1.5", "is not a whole number"),
    ("/v1/metrics?from=199", 'from: "199" is not a year or a date; write 1990 or 1990-06-30'),
    ("/v1/metrics?to=1990-13-01", "is not a year or a date"),
    ("/v1/metrics?measure=Emigrated", "is not an id: ids are lower-case letters, digits, - and _"),
    ("/v1/metrics?measure=emigration", 'no measure "emigration"; use one of'),
    ("/v1/metrics?unit=people", 'unit: "people" is not one of persons, cases, USD'),
    ("/v1/metrics?match=inside", "is not one of overlaps, within"),
    ("/v1/metrics?has_period=maybe", '"maybe" is not true or false'),
    ("/v1/metrics?after=Not%20an%20id", "is not an id"),
    ("/v1/metrics?limit=0", "limit"),
    ("/v1/metrics?format=xml", "is not one of json, csv"),
    ("/v1/citations?metric=A", "is not an id"),
    ("/v1/checks?status=NaN", "is not one of"),
    ("/v1/sources?nope=1", "Invalid query parameters: nope. Known parameters: format, limit, offset."),
]


@pytest.mark.parametrize(("url", "words"), BAD, ids=[url for url, _ in BAD])
def test_a_400_says_in_words_what_to_type(client: TestClient, url: str, words: str) -> None:
    response = client.get(url)
    assert response.status_code == 400, response.text
    assert words in response.json()["detail"]
    assert regex_in_problem(response) == []


@pytest.mark.parametrize(
    "text", ["String should match pattern '^[a-z0-9][a-z0-9_-]*$'", "use [A-Za-z]{2}", "digits \\d+", "(?:x)"]
)
def test_the_check_recognises_a_pattern(text: str) -> None:
    response = httpx.Response(400, json={"detail": "x", "errors": [{"reason": text}]})
    assert regex_in_problem(response) == [text]


def test_every_problem_type_can_be_followed(client: TestClient) -> None:
    """Each `type` an error carries (the app's, the documented examples' and the proxy's) is served."""
    import json
    import re
    from pathlib import Path

    provoked = [client.get(url).json()["type"] for url, _ in BAD]
    provoked += [client.get("/nope").json()["type"], client.post("/v1/metrics").json()["type"]]
    doc = client.get("/openapi.json").json()
    documented = [
        response["content"]["application/problem+json"]["example"]["type"]
        for item in doc["paths"].values()
        for operation in item.values()
        for status, response in operation["responses"].items()
        if status.startswith(("4", "5"))
    ]
    nginx = Path(__file__).parents[2] / "deploy" / "nginx.conf"
    proxied = [json.loads(body)["type"] for body in re.findall(r"return \d+ '(\{.*?\})';", nginx.read_text())]
    assert proxied, "no problem bodies found in deploy/nginx.conf"
    for type_uri in {*provoked, *documented, *proxied}:
        assert type_uri.startswith("/problems/"), type_uri
        described = client.get(type_uri)
        assert described.status_code == 200, type_uri
        assert described.json()["type"] == type_uri and described.json()["description"]
    plain = client.get("/problems/not-found", headers={"accept": "text/plain"})
    assert plain.headers["content-type"].startswith("text/plain") and "Not found (404)" in plain.text
    assert client.get("/problems/nope").status_code == 404


def test_a_404_on_a_near_path_names_the_route(client: TestClient) -> None:
    body = client.get("/v1/metric/canada-emigrated-1985-2005").json()
    assert body["status"] == 404
    assert "Did you mean /v1/metrics/canada-emigrated-1985-2005?" in body["detail"]
    assert "Did you mean /v1/populations?" in client.get("/v1/population").json()["detail"]
    assert "Did you mean" not in client.get("/completely/elsewhere").json()["detail"]


def test_an_unknown_metric_id_suggests_close_ids(client: TestClient) -> None:
    body = client.get("/v1/metrics/canada-emigrated-1985-2006").json()
    assert body["status"] == 404 and "Did you mean canada-emigrated-1985-2005" in body["detail"]
    assert "Did you mean" not in client.get("/v1/metrics/zzzz-nothing-like-it").json()["detail"]
