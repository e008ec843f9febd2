"""Attribution and readings as the API serves them (issue 12): every figure says who states it and which
publication reports it, in JSON and in its CSV row; group matches say their basis; the wording of the README,
the OpenAPI description and `/` does not state the report's authorship as fact."""

from __future__ import annotations

import csv
import html
import io
import re
from pathlib import Path

from fastapi.testclient import TestClient

from tests.api.conftest import ids

ROOT = Path(__file__).resolve().parents[2]
URL = "https://www.theepochtimes.com/1-million-chinese-cadre-family-members-jump-communist-ship-to-emigrate-overseas_1728175.html"


def test_filter_by_who_states_the_figure(client: TestClient) -> None:
    report = ids(client.get("/v1/metrics?attributed_to=ccp-org-dept-mps-2006-02"))
    assert report == [
        "senior-cadre-spouses-children-settled-overseas-2005",
        "spouses-children-doing-business-overseas-2005",
        "spouses-children-settled-overseas-2005",
        "spouses-children-studying-overseas-2005",
    ]
    assert client.get("/v1/metrics?attributed_to=following-survey").json()["total"] == 18
    both = client.get("/v1/metrics?attributed_to=following-survey,ccp-org-dept-mps-2006-02").json()["total"]
    assert both == 22
    assert client.get("/v1/metrics?attributed_to=epoch-times-2006-05-03").json()["total"] == 9
    unknown = client.get("/v1/metrics?attributed_to=nobody")  # a typo is a 400 naming the ids, not "no data"
    assert unknown.status_code == 400
    assert "following-survey" in unknown.json()["detail"]


def test_attributions_are_a_collection_with_their_counts(client: TestClient) -> None:
    counts = {a["id"]: (a["kind"], a["metric_count"]) for a in client.get("/v1/attributions").json()["data"]}
    assert counts == {
        "ccp-org-dept-mps-2006-02": ("report", 4),
        "epoch-times-2006-05-03": ("article", 9),
        "following-survey": ("survey", 18),
    }
    survey = client.get("/v1/attributions/following-survey").json()
    assert survey["quote"].startswith("The following survey shows statistical highlights")


def test_a_group_match_says_its_basis_and_links_the_note(client: TestClient) -> None:
    body = client.get("/v1/metrics?country=DE").json()
    assert body["total"] == 2
    for row in body["data"]:
        assert (row["country_match"], row["country_match_basis"]) == ("group", "interpretation")
        assert row["country_match_href"] == "/v1/destinations/europe-west-europe"
        assert "EFTA" in row["destination"]["note"]
    note = client.get(body["data"][0]["country_match_href"]).json()["note"]
    assert note == body["data"][0]["destination"]["note"]
    for row in client.get("/v1/metrics?country=SG").json()["data"]:
        assert (row["country_match"], row["country_match_basis"]) == ("group", "source")
    for row in client.get("/v1/metrics?country=CA").json()["data"]:
        assert (row["country_match"], row["country_match_basis"]) == ("exact", "source")
    assert client.get("/v1/metrics?country=MC").json()["total"] == 0  # no longer a hand-made member
    assert client.get("/v1/metrics").json()["data"][0]["country_match_basis"] is None


def test_one_csv_row_cut_out_still_says_who_states_it_and_where_it_is_reported(client: TestClient) -> None:
    text = client.get("/v1/metrics?destination=canada&measure=emigrated", headers={"accept": "text/csv"}).text
    (row,) = list(csv.DictReader(io.StringIO(text)))
    assert (row["attributed_to"], row["attribution_kind"], row["attribution_basis"]) == (
        "following-survey",
        "survey",
        "explicit",
    )
    assert row["as_reported_by_publisher"] == "The Epoch Times"
    assert row["as_reported_by_published"] == "2006-05-03"
    assert row["as_reported_by_url"] == URL
    assert "inclusive" in row["period_note"] and "section heading" in row["note"]
    total = client.get("/v1/metrics?measure=settled_overseas&format=csv").text
    first = next(r for r in csv.DictReader(io.StringIO(total)) if r["id"] == "spouses-children-settled-overseas-2005")
    assert "stock at a date" in first["measure_note"]
    assert first["attribution_quote"].startswith("The report indicates that")


def test_checks_serve_their_assumptions_in_json_and_csv(client: TestClient) -> None:
    body = client.get("/v1/checks/sum-periods-vs-settled-2005").json()
    assert body["status"] == "info" and len(body["assumptions"]) == 4
    rows = list(csv.DictReader(io.StringIO(client.get("/v1/checks", headers={"accept": "text/csv"}).text)))
    assert all(r["assumptions"] for r in rows)


def test_the_report_carries_its_written_instructions_and_the_source_its_byline_note(client: TestClient) -> None:
    report = client.get("/v1/reports/ccp-org-dept-mps-2006-02").json()
    assert report["instructions_by"] == ["CCPCC", "State Council"]
    assert "written instructions by the CCPCC and the State Council" in report["instructions_quote"]
    source = client.get("/v1/sources/epoch-times-2006-05-03").json()
    assert source["byline"] == "Myadmin" and "account name" in source["note"]


AUTHORSHIP = re.compile(r"report (by|from|of) the Organization Department", re.IGNORECASE)


def _texts(client: TestClient) -> dict[str, str]:
    doc = client.get("/openapi.json").json()
    return {
        "README.md": (ROOT / "README.md").read_text(encoding="utf-8"),
        "seed/README.md": (ROOT / "seed" / "README.md").read_text(encoding="utf-8"),
        "OpenAPI description": doc["info"]["description"],
        "/": client.get("/").json()["description"],
        # The home page a person reads, its text without the markup.
        "/ (page)": html.unescape(re.sub(r"<[^>]+>", " ", client.get("/?format=html").text)),
    }


def test_the_wording_attributes_the_report_before_naming_its_authors(client: TestClient) -> None:
    for name, text in _texts(client).items():
        flat = " ".join(text.split())
        assert "documented report" not in flat.lower(), name
        assert "internal report" not in flat.lower(), name
        assert not AUTHORSHIP.search(flat), name
        assert "settled abroad" not in flat.lower(), name
        assert "a report that The Epoch Times says was issued by" in flat, name
        # The first mention of the issuers comes after the attribution to the newspaper.
        assert flat.index("The Epoch Times says") < flat.index("Organization Department"), name
