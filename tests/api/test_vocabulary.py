"""Vocabulary as resources (/v1/measures, /v1/populations), linked from `/` and each metric; the known ids
as OpenAPI examples; facets on /v1/metrics (issue 14)."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_measures_list_every_measure_with_its_figures(client: TestClient) -> None:
    body = client.get("/v1/measures?limit=1000").json()
    by_id = {m["id"]: m for m in body["data"]}
    # seed/vocabulary.yaml declares 10 measures; emigrated is used by 3 period flows, 9 destinations (HK, Macau,
    # US, West Europe, Nordic, Australia, New Zealand, Canada, South East Asia) and the headline = 13 figures.
    assert body["total"] == 10 and len(by_id) == 10
    assert by_id["emigrated"]["metric_count"] == 13
    assert sum(m["metric_count"] for m in by_id.values()) == client.get("/v1/metrics").json()["total"]
    assert client.get("/v1/measures/emigrated").json() == by_id["emigrated"]


def test_populations_say_which_is_part_of_which(client: TestClient) -> None:
    by_id = {p["id"]: p for p in client.get("/v1/populations").json()["data"]}
    assert by_id["senior_cadre_spouses_children"]["part_of"] == "cadre_spouses_children"
    assert by_id["cadre_spouses_children"]["part_of"] is None
    assert by_id["cadre_spouses_children"]["parts"] == [
        "cadre_spouses_children_in_trade",
        "senior_cadre_spouses_children",
    ]
    assert client.get("/v1/populations/nope").status_code == 404


def test_index_and_each_metric_link_the_vocabulary(client: TestClient) -> None:
    links = client.get("/").json()["links"]
    assert links["measures"]["href"] == "/v1/measures" and links["populations"]["href"] == "/v1/populations"
    metric = client.get("/v1/metrics/canada-emigrated-1985-2005").json()
    assert metric["links"] == {
        "self": "/v1/metrics/canada-emigrated-1985-2005",
        "measure": "/v1/measures/emigrated",
        "population": "/v1/populations/cadre_spouses_children",
        "report": "/v1/reports/ccp-org-dept-mps-2006-02",
        "destination": "/v1/destinations/canada",
        "period": "/v1/periods/1985-2005",
    }
    for href in metric["links"].values():
        assert client.get(href).status_code == 200, href
    undated = client.get("/v1/metrics/import-export-trade-volume").json()["links"]
    assert undated["destination"] is None and undated["period"] is None


def test_id_parameters_offer_the_known_ids_as_examples(client: TestClient) -> None:
    params = {p["name"]: p for p in client.get("/openapi.json").json()["paths"]["/v1/metrics"]["get"]["parameters"]}
    for name, collection in [
        ("measure", "measures"),
        ("population", "populations"),
        ("period", "periods"),
        ("destination", "destinations"),
        ("report", "reports"),
    ]:
        known = {row["id"] for row in client.get(f"/v1/{collection}?limit=1000").json()["data"]}
        assert set(params[name]["examples"]) == known, name
        assert all(e["value"] == [key] for key, e in params[name]["examples"].items())


def test_facets_count_the_filtered_set_over_every_page(client: TestClient) -> None:
    body = client.get("/v1/metrics?unit=cases&facet=destination,unit&facet=qualifier&limit=1").json()
    assert len(body["data"]) == 1 and body["total"] == 9
    # seed: 9 immigration-case figures, one per destination, all printed as exact numbers.
    assert body["facets"]["unit"] == [{"value": "cases", "count": 9}]
    assert body["facets"]["qualifier"] == [{"value": "exact", "count": 9}]
    assert len(body["facets"]["destination"]) == 9
    assert {f["count"] for f in body["facets"]["destination"]} == {1}


def test_a_facet_counts_figures_without_a_value_as_null(client: TestClient) -> None:
    facets = client.get("/v1/metrics?facet=destination&facet=period").json()["facets"]
    total = client.get("/v1/metrics").json()["total"]
    for name in ("destination", "period"):
        assert sum(f["count"] for f in facets[name]) == total
    no_destination = [f["count"] for f in facets["destination"] if f["value"] is None]
    assert no_destination == [client.get("/v1/metrics?has_destination=false").json()["total"]]
    counts = [f["count"] for f in facets["destination"]]
    assert counts == sorted(counts, reverse=True)


def test_no_facets_unless_asked_and_an_unknown_facet_is_a_400(client: TestClient) -> None:
    assert "facets" not in client.get("/v1/metrics?limit=1").json()
    response = client.get("/v1/metrics?facet=colour")
    assert response.status_code == 400 and "destination" in response.json()["detail"]
