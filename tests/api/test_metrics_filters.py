"""Every /v1/metrics filter, alone and combined, against answers worked out by hand from the article."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import ids

CASES = [
    "australia-immigration-cases-1985-2005",
    "canada-immigration-cases-1985-2005",
    "europe-west-europe-immigration-cases-1985-2005",
    "hong-kong-immigration-cases-1985-2005",
    "macau-immigration-cases-1985-2005",
    "new-zealand-immigration-cases-1985-2005",
    "nordic-immigration-cases-1985-2005",
    "south-east-asia-immigration-cases-1985-2005",
    "united-states-immigration-cases-1985-2005",
]
DEST_PEOPLE = [c.replace("immigration-cases", "emigrated") for c in CASES]
OPEN_ENDED = [  # more_than / at_least: no upper bound
    "senior-cadre-family-asset-owners",
    "senior-cadre-family-assets",
    "senior-cadre-spouses-children-settled-overseas-2005",
    "spouses-children-doing-business-overseas-2005",
    "spouses-children-living-overseas",
    "spouses-children-settled-overseas-2005",
    "spouses-children-studying-overseas-2005",
]


def get_ids(client: TestClient, query: str) -> list[str]:
    return ids(client.get("/v1/metrics?limit=1000&" + query))


def test_all_metrics_sorted_by_id(client: TestClient) -> None:
    body = client.get("/v1/metrics?limit=1000").json()
    assert body["total"] == 31
    assert [r["id"] for r in body["data"]] == sorted(r["id"] for r in body["data"])


def test_country_sg_finds_south_east_asia_via_group(client: TestClient) -> None:
    rows = client.get("/v1/metrics?country=SG").json()["data"]
    assert sorted(r["id"] for r in rows) == [
        "south-east-asia-emigrated-1985-2005",
        "south-east-asia-immigration-cases-1985-2005",
    ]
    assert {r["country_match"] for r in rows} == {"group"}


def test_country_hk_exact_and_via_the_overseas_aggregate(client: TestClient) -> None:
    rows = {r["id"]: r["country_match"] for r in client.get("/v1/metrics?country=hk").json()["data"]}
    assert rows == {
        "hong-kong-emigrated-1985-2005": "exact",
        "hong-kong-immigration-cases-1985-2005": "exact",
        "spouses-children-settled-overseas-2005": "group",
        "senior-cadre-spouses-children-settled-overseas-2005": "group",
        "spouses-children-doing-business-overseas-2005": "group",
        "spouses-children-living-overseas": "group",
        "spouses-children-in-import-export-trade": "group",
    }


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("CA", ["canada-emigrated-1985-2005", "canada-immigration-cases-1985-2005"]),
        ("NO", ["nordic-emigrated-1985-2005", "nordic-immigration-cases-1985-2005"]),
        ("FR", ["europe-west-europe-emigrated-1985-2005", "europe-west-europe-immigration-cases-1985-2005"]),
        ("ZZ", []),
        ("CN", []),
    ],
)
def test_country(client: TestClient, code: str, expected: list[str]) -> None:
    assert get_ids(client, f"country={code}") == expected


def test_from_to_overlap(client: TestClient) -> None:
    # 1985-1990 and 1991-1998 overlap 1990..1995, as does 1985-2005 (18 destination figures); 1999-2005
    # and the end-2005 instant do not.
    assert get_ids(client, "from=1990&to=1995") == sorted(
        ["emigrated-1985-1990", "emigrated-1991-1998", *DEST_PEOPLE, *CASES]
    )


def test_from_only_includes_instants_and_late_periods(client: TestClient) -> None:
    got = get_ids(client, "from=2005-12-31")
    assert len(got) == 1 + 18 + 4
    assert "emigrated-1999-2005" in got and "spouses-children-studying-overseas-2005" in got
    assert "emigrated-1991-1998" not in got


def test_to_before_every_period_and_dates(client: TestClient) -> None:
    assert get_ids(client, "to=1984") == []
    assert get_ids(client, "from=1991-01-01&to=1991-01-01") == sorted(["emigrated-1991-1998", *DEST_PEOPLE, *CASES])
    assert get_ids(client, "from=1990-12-31&to=1990-12-31") == sorted(["emigrated-1985-1990", *DEST_PEOPLE, *CASES])


def test_value_min_within(client: TestClient) -> None:
    assert get_ids(client, "value_min=150000&match=within") == sorted(
        [
            "spouses-children-settled-overseas-2005",
            "senior-cadre-spouses-children-settled-overseas-2005",
            "spouses-children-doing-business-overseas-2005",
            "emigrated-1985-1990",
            "emigrated-1991-1998",
            "emigrated-1999-2005",
            "hong-kong-emigrated-1985-2005",
            "europe-west-europe-emigrated-1985-2005",
            "nordic-emigrated-1985-2005",
            "australia-emigrated-1985-2005",
            "canada-emigrated-1985-2005",
            "spouses-children-living-overseas",
            "headline-cadre-family-members-emigrated",
            "import-export-trade-volume",
            "senior-cadre-family-asset-owners",
            "senior-cadre-family-assets",
        ]
    )


def test_value_min_overlaps_counts_open_upper_as_infinite(client: TestClient) -> None:
    within = set(get_ids(client, "value_min=150000&match=within"))
    overlaps = set(get_ids(client, "value_min=150000"))
    # 'more than 138,300' can exceed 150,000; 'between 120,000 and 150,000' reaches it (inclusive).
    assert overlaps - within == {"spouses-children-studying-overseas-2005", "spouses-children-in-import-export-trade"}


def test_value_max_within_needs_a_closed_upper_bound(client: TestClient) -> None:
    assert get_ids(client, "value_max=150000&match=within") == sorted(
        [
            "macau-emigrated-1985-2005",
            "united-states-emigrated-1985-2005",
            "new-zealand-emigrated-1985-2005",
            "south-east-asia-emigrated-1985-2005",
            *CASES,
            "spouses-children-in-import-export-trade",
        ]
    )


def test_exclusive_lower_bound_respected(client: TestClient) -> None:
    # 'more than 200,750' cannot be 200,750 or less; 'more than 200,000', '>153,000', '>138,300' can.
    assert get_ids(client, "value_min=200000&value_max=200750") == [
        "senior-cadre-family-asset-owners",
        "spouses-children-doing-business-overseas-2005",
        "spouses-children-studying-overseas-2005",
    ]
    assert "senior-cadre-spouses-children-settled-overseas-2005" in get_ids(client, "value_min=200000&value_max=200751")


def test_unit_cases_sorted_by_lower_descending(client: TestClient) -> None:
    rows = client.get("/v1/metrics?unit=cases&sort=-lower").json()["data"]
    assert [(r["destination"]["id"], r["lower"]) for r in rows] == [
        ("canada", 54000),
        ("hong-kong", 43500),
        ("australia", 35000),
        ("united-states", 26000),
        ("europe-west-europe", 20000),
        ("macau", 8400),
        ("nordic", 6000),
        ("south-east-asia", 2800),
        ("new-zealand", 2000),
    ]


def test_sort_upper_puts_nulls_last_both_ways(client: TestClient) -> None:
    for sort in ("upper", "-upper"):
        rows = client.get(f"/v1/metrics?limit=1000&sort={sort}").json()["data"]
        uppers = [r["upper"] for r in rows]
        assert uppers[-len(OPEN_ENDED) :] == [None] * len(OPEN_ENDED)
        assert sorted(r["id"] for r in rows[-len(OPEN_ENDED) :]) == OPEN_ENDED
        closed = uppers[: -len(OPEN_ENDED)]
        assert closed == sorted(closed, reverse=sort.startswith("-"))


def test_sort_period_and_destination(client: TestClient) -> None:
    rows = client.get("/v1/metrics?limit=1000&sort=period").json()["data"]
    starts = [r["period"]["start_date"] if r["period"] else None for r in rows]
    assert starts[0] == "1985-01-01" and starts[-1] is None
    dated = [s for s in starts if s]
    assert dated == sorted(dated)
    rows = client.get("/v1/metrics?limit=1000&sort=-destination,id").json()["data"]
    dests = [r["destination"]["id"] if r["destination"] else None for r in rows]
    named = [d for d in dests if d]
    assert named == sorted(named, reverse=True) and dests[-1] is None


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("unit=USD", ["import-export-trade-volume", "senior-cadre-family-assets"]),
        ("qualifier=between", ["import-export-trade-volume", "spouses-children-in-import-export-trade"]),
        ("qualifier=at_least", ["senior-cadre-family-assets"]),
        ("qualifier=more_than&qualifier=at_least", OPEN_ENDED),
        ("measure=immigration_cases", CASES),
        ("population=senior_cadre_spouses_children", ["senior-cadre-spouses-children-settled-overseas-2005"]),
        (
            "destination=canada,hong-kong",
            [
                "canada-emigrated-1985-2005",
                "canada-immigration-cases-1985-2005",
                "hong-kong-emigrated-1985-2005",
                "hong-kong-immigration-cases-1985-2005",
            ],
        ),
        (
            "destination=canada&destination=nordic",
            [
                "canada-emigrated-1985-2005",
                "canada-immigration-cases-1985-2005",
                "nordic-emigrated-1985-2005",
                "nordic-immigration-cases-1985-2005",
            ],
        ),
        ("period=1985-1990", ["emigrated-1985-1990"]),
        ("report=ccp-org-dept-mps-2006-02&unit=USD", ["import-export-trade-volume", "senior-cadre-family-assets"]),
        ("q=nordic", ["nordic-emigrated-1985-2005", "nordic-immigration-cases-1985-2005"]),
        ("q=NORDIC", ["nordic-emigrated-1985-2005", "nordic-immigration-cases-1985-2005"]),
        ("q=US%24600", ["senior-cadre-family-asset-owners", "senior-cadre-family-assets"]),
        ("q=cadres%E2%80%99", ["spouses-children-settled-overseas-2005"]),  # typographic apostrophe, in a quote
        ("q=100%25", []),  # % is literal, not a wildcard
        ("measure=emigrated&unit=persons&country=AU&from=2000", ["australia-emigrated-1985-2005"]),
        (
            "unit=cases&value_min=20000&value_max=40000&match=within",
            [
                "australia-immigration-cases-1985-2005",
                "europe-west-europe-immigration-cases-1985-2005",
                "united-states-immigration-cases-1985-2005",
            ],
        ),
    ],
)
def test_filters(client: TestClient, query: str, expected: list[str]) -> None:
    assert get_ids(client, query) == sorted(expected)


def test_every_row_satisfies_its_filters(client: TestClient) -> None:
    for row in client.get("/v1/metrics?limit=1000&unit=persons&qualifier=exact&period=1985-2005").json()["data"]:
        assert row["unit"] == "persons" and row["qualifier"] == "exact" and row["period"]["id"] == "1985-2005"
        assert row["lower"] == row["upper"] and row["lower_inclusive"] and row["upper_inclusive"]


def test_metric_by_id_carries_everything_to_read_it_alone(client: TestClient) -> None:
    body = client.get("/v1/metrics/canada-emigrated-1985-2005").json()
    assert body["value_text"] == "225,000" and body["lower"] == body["upper"] == 225000
    assert body["unit"] == "persons" and body["qualifier"] == "exact"
    assert body["destination"] == {
        "id": "canada",
        "name": "Canada",
        "label": "Canada",
        "kind": "country",
        "code": "CA",
        "note": None,
    }
    assert body["period"]["iso"] == "1985/2005" and body["period"]["label"] == "from 1985 to 2005"
    assert "inclusive" in body["period"]["note"]
    assert (body["attributed_to"], body["attribution_kind"], body["attribution_basis"]) == (
        "following-survey",
        "survey",
        "explicit",
    )
    assert body["attribution_quote"].startswith("The following survey shows statistical highlights")
    assert body["as_reported_by"] == {
        "source_id": "epoch-times-2006-05-03",
        "publisher": "The Epoch Times",
        "title": "1 Million Chinese Cadre Family Members Jump Communist Ship to Emigrate Overseas",
        "published": "2006-05-03",
        "url": "https://www.theepochtimes.com/1-million-chinese-cadre-family-members-jump-communist-ship-to-emigrate-overseas_1728175.html",
    }
    (cite,) = body["citations"]
    assert cite["quote"] == "Canada, 225,000 people (54,000 cases)"
    assert cite["section"] == "Immigration Information about Families of CCP Cadres in Recent Years"
    assert cite["url"].startswith("https://www.theepochtimes.com/1-million-chinese-cadre-family-members-jump")
    assert "#:~:text=" in cite["url"] and "Canada%2C%20225%2C000%20people" in cite["url"]


def test_total_has_one_metric_with_two_citations(client: TestClient) -> None:
    body = client.get("/v1/metrics/spouses-children-settled-overseas-2005").json()
    assert body["qualifier"] == "more_than" and body["lower"] == 1187700 and body["lower_inclusive"] is False
    assert body["upper"] is None and body["upper_inclusive"] is None
    assert [c["location"] for c in body["citations"]] == ["lead", "body"]
    assert all("more than 1,187,700" in c["quote"] for c in body["citations"])
