"""Hypothesis properties of /v1/metrics over any combination of filters, on SQLite and PostgreSQL:

- the rows returned are exactly those an independent reading of the filters selects (so every returned
  row satisfies its filters, and none is missed);
- paging through them with any limit returns every matching row exactly once, in the unpaged order;
- lower <= upper wherever both exist, and an `exact` figure is one point;
- the CSV rendering and the JSON rendering of the same query agree, row for row.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from functools import cache
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SETTINGS = settings(
    max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
UNITS = ["persons", "cases", "USD"]
QUALIFIERS = ["exact", "more_than", "at_least", "between"]
SORT_KEYS = ["id", "lower", "upper", "destination", "period", "unit", "measure"]
# Values near and at the bounds the dataset states, and far from them.
VALUES = [0, 1, 3000, 29000, 120000, 150000, 153000, 225000, 1000000, 1187700, 85 * 10**9, 600 * 10**9, 10**15]
WORDS = ["canada", "CASES", "settled", "000", "more than", "united", "%", "_", "zz-none"]


@cache
def _all_metrics(client: TestClient) -> list[dict[str, Any]]:
    body = client.get("/v1/metrics", params={"limit": 1000}).json()
    assert body["total"] == len(body["data"])
    return list(body["data"])


@cache
def _country_codes(client: TestClient) -> dict[str, set[str]]:
    """Destination id -> the ISO codes it stands for (its own, and its members')."""
    codes: dict[str, set[str]] = {}
    for destination in client.get("/v1/destinations", params={"limit": 1000}).json()["data"]:
        own = {destination["code"]} if destination["code"] else set()
        codes[destination["id"]] = own | {member["code"] for member in destination["members"] if member["code"]}
    return codes


def _ordered(query: dict[str, Any]) -> dict[str, Any]:
    """value_min <= value_max and from <= to: the other way round is a documented 400."""
    for low, high in (("value_min", "value_max"), ("from", "to")):
        if low in query and high in query and int(query[low]) > int(query[high]):
            query[low], query[high] = query[high], query[low]
    return query


filters = st.fixed_dictionaries(
    {},
    optional={
        "unit": st.lists(st.sampled_from(UNITS), min_size=1, max_size=3, unique=True),
        "qualifier": st.lists(st.sampled_from(QUALIFIERS), min_size=1, max_size=4, unique=True),
        "value_min": st.one_of(st.sampled_from(VALUES), st.integers(0, 10**12)),
        "value_max": st.one_of(st.sampled_from(VALUES), st.integers(0, 10**12)),
        "match": st.sampled_from(["overlaps", "within"]),
        "from": st.integers(1980, 2010).map(str),
        "to": st.integers(1980, 2010).map(str),
        "country": st.sampled_from(["CA", "US", "SG", "NO", "AT", "GB", "NZ", "ZZ", "sg"]),
        "q": st.sampled_from(WORDS),
        "sort": st.lists(
            st.sampled_from(SORT_KEYS).flatmap(lambda k: st.sampled_from([k, "-" + k])),
            min_size=1,
            max_size=3,
            unique_by=lambda k: k.lstrip("-"),
        ).map(",".join),
    },
).map(_ordered)


def _selected(metric: dict[str, Any], query: dict[str, Any], codes: dict[str, set[str]]) -> bool:
    """The filters, read independently of the SQL that implements them."""
    lower, upper = metric["lower"], metric["upper"]
    if "unit" in query and metric["unit"] not in query["unit"]:
        return False
    if "qualifier" in query and metric["qualifier"] not in query["qualifier"]:
        return False
    within = query.get("match") == "within"
    if "value_min" in query:
        v = query["value_min"]
        if within and (lower is None or lower < v):
            return False
        if not within and not (upper is None or upper > v or (upper == v and metric["upper_inclusive"])):
            return False
    if "value_max" in query:
        v = query["value_max"]
        if within and (upper is None or upper > v):
            return False
        if not within and not (lower is None or lower < v or (lower == v and metric["lower_inclusive"])):
            return False
    period = metric["period"]
    if "from" in query and (period is None or dt.date.fromisoformat(period["end_date"]).year < int(query["from"])):
        return False
    if "to" in query and (period is None or dt.date.fromisoformat(period["start_date"]).year > int(query["to"])):
        return False
    if "country" in query:
        destination = metric["destination"]
        if destination is None or query["country"].upper() not in codes[destination["id"]]:
            return False
    if "q" in query:
        needle = query["q"].lower()
        texts = [metric[k] for k in ("measure", "measure_label", "population", "population_label", "value_text")]
        texts += [citation["quote"] for citation in metric["citations"]]
        if not any(needle in (text or "").lower() for text in texts):
            return False
    return True


def _pages(client: TestClient, query: dict[str, Any], limit: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    offset = 0
    while True:
        body = client.get("/v1/metrics", params={**query, "limit": limit, "offset": offset}).json()
        assert len(body["data"]) <= limit
        rows += body["data"]
        offset += limit
        if offset >= body["total"]:
            assert len(rows) == body["total"]
            assert body["links"]["next"] is None
            return rows
        assert body["links"]["next"] is not None


@SETTINGS
@given(query=filters, limit=st.integers(1, 40))
def test_filters_select_exactly_the_matching_rows_and_pages_return_each_once(
    client: TestClient, query: dict[str, Any], limit: int
) -> None:
    response = client.get("/v1/metrics", params={**query, "limit": 1000})
    assert response.status_code == 200, response.text
    everything = response.json()["data"]
    expected = {m["id"] for m in _all_metrics(client) if _selected(m, query, _country_codes(client))}
    assert {m["id"] for m in everything} == expected
    paged = _pages(client, query, limit)
    ids = [m["id"] for m in paged]
    assert len(ids) == len(set(ids)), "a row came twice"
    assert ids == [m["id"] for m in everything], "pages differ from the unpaged order"


@SETTINGS
@given(query=filters)
def test_csv_and_json_agree(client: TestClient, query: dict[str, Any]) -> None:
    rows = client.get("/v1/metrics", params={**query, "limit": 1000}).json()["data"]
    response = client.get("/v1/metrics", params={**query, "format": "csv"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    records = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["id"] for r in records] == [m["id"] for m in rows]
    for record, metric in zip(records, rows, strict=True):
        for key in ("unit", "qualifier", "value_text", "measure", "population", "report_id"):
            assert record[key] == (metric[key] or ""), key
        for key in ("lower", "upper"):
            assert record[key] == ("" if metric[key] is None else str(metric[key])), key
        for key in ("lower_inclusive", "upper_inclusive"):
            expected = "" if metric[key] is None else str(metric[key]).lower()
            assert record[key] == expected, key
        assert record["destination_id"] == (metric["destination"]["id"] if metric["destination"] else "")
        assert record["period_id"] == (metric["period"]["id"] if metric["period"] else "")
        assert int(record["citation_count"]) == len(metric["citations"])


def test_lower_never_exceeds_upper(client: TestClient) -> None:
    metrics = _all_metrics(client)
    both = [m for m in metrics if m["lower"] is not None and m["upper"] is not None]
    assert both, "no figure states both bounds"
    for metric in both:
        assert metric["lower"] <= metric["upper"], metric["id"]
        if metric["lower"] == metric["upper"]:
            assert metric["lower_inclusive"] and metric["upper_inclusive"], metric["id"]
    for metric in metrics:
        if metric["qualifier"] == "exact":
            assert metric["lower"] == metric["upper"] is not None, metric["id"]
    print(f"\n{len(metrics)} figures, {len(both)} with both bounds: lower <= upper in every one")
