"""One error shape (RFC 9457 problem+json) on every error path, with nothing unsafe echoed back."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

HUGE = str(2**63)
ERROR_PATHS = [
    # (method, url, status, offending parameter or None)
    ("POST", "/v1/metrics", 405, None),
    ("DELETE", "/v1/metrics/canada-emigrated-1985-2005", 405, None),
    ("PUT", "/", 405, None),
    ("GET", "/v1/metrics/no-such-metric", 404, None),
    ("GET", "/v1/sources/nope", 404, None),
    ("GET", "/v1/reports/nope", 404, None),
    ("GET", "/v1/periods/nope", 404, None),
    ("GET", "/v1/destinations/nope", 404, None),
    ("GET", "/v1/citations/nope", 404, None),
    ("GET", "/v2/metrics", 404, None),
    ("GET", "/v1/metrics?limit=0", 400, "limit"),
    ("GET", "/v1/metrics?limit=-1", 400, "limit"),
    ("GET", "/v1/metrics?limit=1001", 400, "limit"),
    ("GET", "/v1/metrics?limit=abc", 400, "limit"),
    ("GET", "/v1/metrics?limit=", 400, "limit"),
    ("GET", f"/v1/metrics?limit={HUGE}", 400, "limit"),
    ("GET", "/v1/metrics?offset=-1", 400, "offset"),
    ("GET", f"/v1/metrics?offset={HUGE}", 400, "offset"),
    ("GET", "/v1/metrics?limt=5", 400, "limt"),
    ("GET", "/v1/sources?unit=cases", 400, "unit"),
    ("GET", "/v1/metrics?limit=5&limit=6", 400, "limit"),
    ("GET", "/v1/metrics?unit=kg", 400, "unit"),
    ("GET", "/v1/metrics?qualifier=roughly", 400, "qualifier"),
    ("GET", "/v1/metrics?value_min=1e3", 400, "value_min"),
    ("GET", "/v1/metrics?value_min=NaN", 400, "value_min"),
    ("GET", f"/v1/metrics?value_max=1{'0' * 30}", 400, "value_max"),
    ("GET", "/v1/metrics?value_min=10&value_max=5", 400, "value_min"),
    ("GET", "/v1/metrics?match=maybe", 400, "match"),
    ("GET", "/v1/metrics?from=90", 400, "from"),
    ("GET", "/v1/metrics?from=1990-02-30", 400, "from"),
    ("GET", "/v1/metrics?from=2000&to=1990", 400, "from"),
    ("GET", "/v1/metrics?to=", 400, "to"),
    ("GET", "/v1/metrics?country=SGP", 400, "country"),
    ("GET", "/v1/metrics?country=", 400, "country"),
    ("GET", "/v1/metrics?sort=value", 400, "sort"),
    ("GET", "/v1/metrics?sort=", 400, "sort"),
    ("GET", "/v1/metrics?q=", 400, "q"),
    ("GET", f"/v1/metrics?q={'x' * 201}", 400, "q"),
    ("GET", "/v1/metrics?destination=", 400, "destination"),
    ("GET", "/v1/metrics?destination=Canada", 400, "destination"),
    ("GET", "/v1/metrics?destination=a,,b", 400, "destination"),
    ("GET", "/v1/metrics?format=xml", 400, "format"),
    ("GET", f"/v1/metrics/{'x' * 101}", 400, "metric_id"),
]


@pytest.mark.parametrize(
    ("method", "url", "status", "param"), ERROR_PATHS, ids=[f"{m} {u[:60]}" for m, u, *_ in ERROR_PATHS]
)
def test_problem_shape(client: TestClient, method: str, url: str, status: int, param: str | None) -> None:
    response = client.request(method, url)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert set(body) >= {"type", "title", "status", "detail", "errors"}
    assert body["status"] == status and body["type"].startswith("/problems/") and body["title"] and body["detail"]
    if param is not None:
        assert param in [e["name"] for e in body["errors"]], body
        assert all(set(e) == {"name", "in", "reason"} for e in body["errors"])
    if status == 405:
        assert response.headers["allow"] == "GET, HEAD"
    text = response.text
    assert "Traceback" not in text and "/work/" not in text and "site-packages" not in text


@pytest.mark.parametrize(
    "url",
    [
        "/v1/metrics?%3Cscript%3Ealert(1)%3C%2Fscript%3E=1",
        "/v1/metrics?q=%3Cscript%3E&limit=0",
        "/v1/metrics?country=%3Cb%3E",
        "/v1/metrics/%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        "/v1/%3Cimg%20src%3Dx%3E",
    ],
)
def test_nothing_reflected_a_browser_could_run(client: TestClient, url: str) -> None:
    response = client.get(url)
    assert 400 <= response.status_code < 500
    assert "<" not in response.text and ">" not in response.text
    assert response.headers["content-type"] == "application/problem+json"


def test_unknown_parameter_is_named_and_known_ones_listed(client: TestClient) -> None:
    body = client.get("/v1/metrics?destinaton=canada").json()
    assert body["errors"] == [{"name": "destinaton", "in": "query", "reason": "unknown parameter"}]
    assert "destination" in body["detail"]
