"""Finding figures the way people ask (issue 14): names and aliases for `country=`, a wider `q=`, shape
filters, and a 400 (never an empty 200) for a name or id the dataset does not know."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import ids

US = ["united-states-emigrated-1985-2005", "united-states-immigration-cases-1985-2005"]


def get_ids(client: TestClient, query: str) -> list[str]:
    return ids(client.get("/v1/metrics?limit=1000&" + query))


def problem(client: TestClient, query: str) -> dict[str, object]:
    response = client.get("/v1/metrics?" + query)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, object] = response.json()
    return body


# --- the three questions of the issue, one request each -------------------------------------------


@pytest.mark.parametrize("query", ["country=united states", "country=USA", "country=U.S.", "q=united states"])
def test_how_many_went_to_the_united_states(client: TestClient, query: str) -> None:
    # seed: the U.S. has two figures (19,500 persons, 26,000 cases); no group lists US as a member.
    assert get_ids(client, query) == US


@pytest.mark.parametrize("query", ["q=usa", "q=america"])
def test_q_finds_a_destination_by_its_aliases(client: TestClient, query: str) -> None:
    assert get_ids(client, query) == US


def test_which_destinations_had_more_than_200000_people(client: TestClient) -> None:
    # Places (not "overseas") with a persons figure that can exceed 200,000: Australia 230,000, Canada
    # 225,000, Nordic 203,000. Hong Kong (193,000) and West Europe (164,000) stay out.
    query = "destination_kind=country,territory,region&unit=persons&value_min=200000"
    assert get_ids(client, query) == [
        "australia-emigrated-1985-2005",
        "canada-emigrated-1985-2005",
        "nordic-emigrated-1985-2005",
    ]
    # Without the shape filter the same range also keeps the aggregates and the undestined figures.
    assert len(get_ids(client, "unit=persons&value_min=200000")) > 3


def test_the_total(client: TestClient) -> None:
    # The cumulative total of spouses and children settled overseas (more than 1,187,700) and its subset
    # for senior cadres (more than 200,750); the trade volume (USD) is not a count of people.
    assert get_ids(client, "q=total&unit=persons") == [
        "senior-cadre-spouses-children-settled-overseas-2005",
        "spouses-children-settled-overseas-2005",
    ]


# --- names for country= ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "code"),
    [("Canada", "CA"), ("canada", "CA"), ("HONG KONG", "HK"), ("hong  kong sar", "HK"), ("Macao", "MO")],
)
def test_country_accepts_names_and_aliases_case_insensitively(client: TestClient, name: str, code: str) -> None:
    assert get_ids(client, f"country={name}") == get_ids(client, f"country={code}") != []


def test_country_accepts_a_group_members_name(client: TestClient) -> None:
    # Singapore is named only as a member of South East Asia.
    rows = client.get("/v1/metrics?country=singapore").json()["data"]
    assert {r["destination"]["id"] for r in rows} == {"south-east-asia"}
    assert {r["country_match"] for r in rows} == {"group"}


def test_an_unknown_country_name_suggests_the_closest(client: TestClient) -> None:
    body = problem(client, "country=Canadaa")
    assert "CA (canada)" in str(body["detail"])
    assert body["errors"] == [{"name": "country", "in": "query", "reason": str(body["detail"]).split(": ", 1)[1]}]


def test_a_group_name_in_country_points_at_destination(client: TestClient) -> None:
    assert "destination=nordic" in str(problem(client, "country=the nordics")["detail"])


def test_q_searches_member_names(client: TestClient) -> None:
    # Germany appears only as an (interpreted) member of West Europe.
    assert get_ids(client, "q=germany") == [
        "europe-west-europe-emigrated-1985-2005",
        "europe-west-europe-immigration-cases-1985-2005",
    ]


# --- shape filters ---------------------------------------------------------------------------------


def test_has_destination_and_has_period_split_the_figures(client: TestClient) -> None:
    everything = set(get_ids(client, ""))
    with_destination = set(get_ids(client, "has_destination=true"))
    without = set(get_ids(client, "has_destination=false"))
    assert with_destination.isdisjoint(without) and with_destination | without == everything
    # seed: five figures have no destination (three period flows, trade volume, two senior-family figures).
    assert "emigrated-1985-1990" in without and "canada-emigrated-1985-2005" in with_destination
    dated, undated = set(get_ids(client, "has_period=true")), set(get_ids(client, "has_period=false"))
    assert dated.isdisjoint(undated) and dated | undated == everything
    assert "import-export-trade-volume" in undated and "emigrated-1985-1990" in dated


def test_destination_kind_repeated_or_comma_separated(client: TestClient) -> None:
    both = get_ids(client, "destination_kind=territory,aggregate")
    assert both == get_ids(client, "destination_kind=territory&destination_kind=aggregate")
    assert set(get_ids(client, "destination_kind=territory")) < set(both)
    rows = client.get("/v1/metrics?limit=1000&destination_kind=region").json()["data"]
    assert rows and {r["destination"]["kind"] for r in rows} == {"region"}


# --- unknown ids: a 400 that says what to type, never an empty 200 ---------------------------------


@pytest.mark.parametrize(
    ("query", "listed"),
    [
        ("measure=emigration", "emigrated"),
        ("destination=canadaa", "canada"),
        ("period=1990", "1985-1990"),
        ("population=cadres", "cadre_spouses_children"),
        ("report=no-such-report", "ccp-org-dept-mps-2006-02"),
    ],
)
def test_an_unknown_id_is_a_400_listing_the_valid_ones(client: TestClient, query: str, listed: str) -> None:
    body = problem(client, query)
    name, value = query.split("=")
    assert str(body["detail"]).startswith(f'{name}: no {name} "{value}"')
    assert listed in str(body["detail"])


def test_known_ids_beside_an_unknown_one_still_fail(client: TestClient) -> None:
    detail = str(problem(client, "measure=emigrated,emigration")["detail"])
    assert '"emigration"' in detail and '"emigrated"' not in detail


def test_after_an_id_not_in_the_result_set_is_an_empty_page(client: TestClient) -> None:
    # Documented: "none if it is not among them". `nope` sorts among the ids, so a plain `id > after`
    # would return rows; an id outside the filter does too.
    assert client.get("/v1/metrics?after=nope").json()["data"] == []
    assert client.get("/v1/metrics?unit=cases&after=canada-emigrated-1985-2005").json()["data"] == []
