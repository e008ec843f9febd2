"""/v1/checks serves the stored audit: filters, links between checks and metrics, JSON and CSV agree.

The expected ids and statuses are worked out by hand from the article's figures (see tests/test_checks.py for
the arithmetic); here they only pin what the HTTP layer selects and how it links.
"""

from __future__ import annotations

import csv
import io

from fastapi.testclient import TestClient

from tests.api.conftest import ids

# The three findings about the source: the periods do not reach "more than 1,187,700" (233,000 + 565,000 +
# 389,000 = 1,187,000); the nine destinations (193,000 + 25,000 + 19,500 + 164,000 + 203,000 + 230,000 + 29,000
# + 225,000 + 110,000 = 1,198,500) exceed the summed periods; the United States has fewer people (19,500) than
# cases (26,000): 0.75 people per case.
FAILS = ["sum-destinations-vs-periods-1985-2005", "people-per-case-united-states"]
# Relations the text does not state (our reading only): informative, whatever the arithmetic gives.
INFOS = ["sum-periods-vs-settled-2005", "subset-asset-owners-in-senior-level-2005", "coverage-flow-periods-1985-2005"]
# People per case far from the other destinations' median: Nordic (203,000 / 6,000 = 33.8) and South East Asia
# (110,000 / 2,800 = 39.3).
WARNS = ["people-per-case-nordic", "people-per-case-south-east-asia"]


def test_filter_by_status(client: TestClient) -> None:
    assert ids(client.get("/v1/checks?status=fail")) == FAILS
    assert ids(client.get("/v1/checks?status=warn")) == WARNS
    both = ids(client.get("/v1/checks?status=warn&status=fail"))
    assert sorted(both) == sorted(FAILS + WARNS)
    assert ids(client.get("/v1/checks?status=info")) == INFOS
    assert client.get("/v1/checks").json()["total"] == 23


def test_filter_by_kind_and_metric(client: TestClient) -> None:
    assert ids(client.get("/v1/checks?kind=coverage")) == ["coverage-flow-periods-1985-2005"]
    assert len(ids(client.get("/v1/checks?kind=ratio"))) == 10  # nine destinations and their sum
    # A figure's checks are those it is compared in; being a reference for another ratio does not count.
    canada = ids(client.get("/v1/checks?metric=canada-emigrated-1985-2005"))
    assert sorted(canada) == [
        "people-per-case-all-destinations",
        "people-per-case-canada",
        "sum-destinations-vs-periods-1985-2005",
        "sum-destinations-vs-settled-2005",
    ]
    metric = client.get("/v1/metrics/canada-emigrated-1985-2005").json()
    assert metric["checks"] == sorted(canada)
    combined = ids(client.get("/v1/checks?metric=emigrated-1985-1990,canada-emigrated-1985-2005&kind=sum"))
    assert sorted(combined) == sorted(
        ["sum-periods-vs-settled-2005", "sum-destinations-vs-periods-1985-2005", "sum-destinations-vs-settled-2005"]
    )
    assert ids(client.get("/v1/checks?metric=no-such-metric")) == []


def test_one_check_links_its_metrics(client: TestClient) -> None:
    body = client.get("/v1/checks/sum-periods-vs-settled-2005").json()
    assert body["status"] == "info" and body["holds"] == "never"
    assert any("does not say so" in assumption for assumption in body["assumptions"])
    assert body["observed_value"] == 1_187_000 and body["expected_value"] == 1_187_700
    assert body["abs_difference"] == 700
    assert [(m["metric_id"], m["role"]) for m in body["metrics"]] == [
        ("emigrated-1985-1990", "part"),
        ("emigrated-1991-1998", "part"),
        ("emigrated-1999-2005", "part"),
        ("spouses-children-settled-overseas-2005", "total"),
    ]
    for m in body["metrics"]:
        assert client.get(m["href"]).status_code == 200
    ratio = client.get("/v1/checks/people-per-case-nordic").json()
    references = [m["metric_id"] for m in ratio["metrics"] if m["role"] == "reference"]
    assert len(references) == 16  # the eight other destinations, people and cases
    assert "people-per-case-nordic" not in client.get(f"/v1/metrics/{references[0]}").json()["checks"]


def test_unknown_check_and_bad_filters(client: TestClient) -> None:
    missing = client.get("/v1/checks/no-such-check")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    for query in ("status=maybe", "kind=average", "statu=fail"):
        response = client.get(f"/v1/checks?{query}")
        assert response.status_code == 400, query
        assert response.headers["content-type"] == "application/problem+json"


def test_csv_matches_json(client: TestClient) -> None:
    page = client.get("/v1/checks?limit=1000").json()["data"]
    rows = list(csv.DictReader(io.StringIO(client.get("/v1/checks?format=csv").text)))
    assert [r["id"] for r in rows] == [c["id"] for c in page]
    for row, check in zip(rows, page, strict=True):
        assert row["status"] == check["status"] and row["arithmetic"] == check["arithmetic"]
        assert row["metrics"].split(" | ") == [f"{m['metric_id']}:{m['role']}" for m in check["metrics"]]
