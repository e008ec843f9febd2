"""Who states each figure and the readings the data makes (issue 12), pinned against the seed, with every
attributing quote checked against the article's text (SOURCE_TEXT), and the loader refusing what is missing."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from app.loader.seed import SeedDataset, SeedError, SeedInvalid, read_seed
from tests.test_data import SOURCE_TEXT

REPORT, SURVEY, ARTICLE = "ccp-org-dept-mps-2006-02", "following-survey", "epoch-times-2006-05-03"
DESTINATIONS = ("hong-kong", "macau", "united-states", "europe-west-europe", "nordic", "australia")
DESTINATIONS += ("new-zealand", "canada", "south-east-asia")
# Worked out by reading the article: who each figure's sentence (or its paragraph) says states it.
EXPECTED: dict[str, tuple[str, str]] = {
    "spouses-children-settled-overseas-2005": (REPORT, "explicit"),  # "The report indicates that by the end ..."
    "senior-cadre-spouses-children-settled-overseas-2005": (REPORT, "section"),  # "Among them, ..."
    "spouses-children-doing-business-overseas-2005": (REPORT, "section"),  # "In addition, ..."
    "spouses-children-studying-overseas-2005": (REPORT, "section"),  # "There were also ..."
    "emigrated-1985-1990": (ARTICLE, "none"),
    "emigrated-1991-1998": (ARTICLE, "none"),
    "emigrated-1999-2005": (ARTICLE, "none"),
    **{f"{d}-{m}-1985-2005": (SURVEY, "explicit") for d in DESTINATIONS for m in ("emigrated", "immigration-cases")},
    "spouses-children-living-overseas": (ARTICLE, "none"),
    "headline-cadre-family-members-emigrated": (ARTICLE, "none"),
    "spouses-children-in-import-export-trade": (ARTICLE, "none"),
    "import-export-trade-volume": (ARTICLE, "none"),
    "senior-cadre-family-asset-owners": (ARTICLE, "none"),
    "senior-cadre-family-assets": (ARTICLE, "none"),
}


@pytest.fixture(scope="module")
def seed() -> SeedDataset:
    return read_seed(Path(__file__).resolve().parent.parent / "seed")


@pytest.fixture(scope="module")
def metrics(seed: SeedDataset) -> dict[str, dict[str, Any]]:
    return {m["id"]: m for m in seed.tables["metrics"]}


@pytest.fixture(scope="module")
def article() -> str:
    if not SOURCE_TEXT.is_file():
        pytest.skip(f"source text not found at {SOURCE_TEXT} (set SOURCE_TEXT to check quotes against it)")
    return SOURCE_TEXT.read_text(encoding="utf-8")


def test_every_figure_says_who_states_it_as_the_article_presents_it(metrics: dict[str, dict[str, Any]]) -> None:
    assert {m: (row["attributed_to"], row["attribution_basis"]) for m, row in metrics.items()} == EXPECTED


def test_the_report_is_the_scope_of_every_figure_but_states_only_four(metrics: dict[str, dict[str, Any]]) -> None:
    assert {row["report_id"] for row in metrics.values()} == {REPORT}
    assert sum(row["attributed_to"] == REPORT for row in metrics.values()) == 4


def test_attributions_are_the_report_the_survey_and_the_article(seed: SeedDataset) -> None:
    kinds = {a["id"]: (a["kind"], a["report_id"], a["source_id"]) for a in seed.tables["attributions"]}
    assert kinds == {
        REPORT: ("report", REPORT, ARTICLE),
        SURVEY: ("survey", None, ARTICLE),
        ARTICLE: ("article", None, ARTICLE),
    }


def test_attributing_quotes_are_verbatim_and_precede_or_open_the_figure(
    seed: SeedDataset, metrics: dict[str, dict[str, Any]], article: str
) -> None:
    citations = {c["metric_id"]: c for c in seed.tables["citations"] if c["location"] == "body"}
    for metric_id, row in metrics.items():
        quote = row["attribution_quote"]
        if row["attribution_basis"] == "none":
            assert quote is None and row["attribution_note"], metric_id
            continue
        assert article.count(quote) == 1, (metric_id, quote)
        # The attributing words come before the figure's own quote, in the same section.
        figure_at = article.index(citations[metric_id]["quote"])
        assert article.index(quote) < figure_at, metric_id
    for attribution in seed.tables["attributions"]:
        if attribution["quote"] is not None:
            assert article.count(attribution["quote"]) == 1, attribution["id"]


def test_figures_attributed_to_no_one_sit_where_no_sentence_names_a_source(
    seed: SeedDataset, metrics: dict[str, dict[str, Any]], article: str
) -> None:
    """Between the start of a `none` figure's paragraph and the figure, the article names neither report nor survey."""
    for c in seed.tables["citations"]:
        if metrics[c["metric_id"]]["attribution_basis"] != "none":
            continue
        at = article.index(c["quote"])
        paragraph = article[article.rfind("\n", 0, at) + 1 : at + len(c["quote"])]
        assert not re.search(r"\b(report|survey)\b", paragraph, re.IGNORECASE), c["metric_id"]


def test_the_written_instructions_are_recorded_on_the_report(seed: SeedDataset, article: str) -> None:
    (report,) = seed.tables["reports"]
    assert report["instructions_by"] == ["CCPCC", "State Council"]
    assert report["instructions_quote"].startswith("The report with the written instructions by the CCPCC and")
    assert article.count(report["instructions_quote"]) == 1


def test_the_byline_is_kept_as_printed_with_its_note(seed: SeedDataset, article: str) -> None:
    (source,) = seed.tables["sources"]
    assert source["byline"] == "Myadmin" and "By Myadmin, Epoch Times" in article
    assert "account name, not an author" in source["note"]


# --- readings, each a note on the entity it affects ----------------------------------------------


def test_year_intervals_say_they_are_read_as_inclusive(seed: SeedDataset) -> None:
    for period in seed.tables["periods"]:
        if period["kind"] == "interval":
            assert "inclusive" in period["note"], period["id"]
            assert (period["start_date"].month, period["start_date"].day) == (1, 1)
            assert (period["end_date"].month, period["end_date"].day) == (12, 31)


def test_stock_and_flow_are_stated_on_the_measures(seed: SeedDataset) -> None:
    notes = {m["id"]: m["note"] for m in seed.tables["measures"]}
    assert "stock at a date" in notes["settled_overseas"] and "had reached" in notes["settled_overseas"]
    assert "flow" in notes["emigrated"]
    assert "spouses and children" in notes["doing_business_overseas"]


def test_metric_readings_are_in_their_notes(metrics: dict[str, dict[str, Any]]) -> None:
    assert "'There were also' is read like 'Among them'" in metrics["spouses-children-studying-overseas-2005"]["note"]
    assert "not the cadres" in metrics["spouses-children-doing-business-overseas-2005"]["note"]
    for d in DESTINATIONS:
        assert "section heading" in metrics[f"{d}-emigrated-1985-2005"]["note"], d


def test_west_europe_is_a_stated_definition_without_microstates(seed: SeedDataset) -> None:
    members = {
        m["code"]: m["basis"] for m in seed.tables["destination_members"] if m["group_id"] == "europe-west-europe"
    }
    eu15 = {"AT", "BE", "DE", "DK", "ES", "FI", "FR", "GB", "GR", "IE", "IT", "LU", "NL", "PT", "SE"}
    efta = {"CH", "IS", "LI", "NO"}
    nordic = {m["code"] for m in seed.tables["destination_members"] if m["group_id"] == "nordic"}
    assert nordic == {"DK", "FI", "IS", "NO", "SE"}
    assert set(members) == (eu15 | efta) - nordic
    assert set(members.values()) == {"interpretation"}
    (west,) = [d for d in seed.tables["destinations"] if d["id"] == "europe-west-europe"]
    assert "EFTA" in west["note"] and "M49" in west["note"]


def test_every_check_states_its_assumptions(seed: SeedDataset) -> None:
    declared = list(seed.checks.all())
    assert declared and all(d.assumptions for d in declared)
    informative = {d.id for d in declared if d.informative}
    assert informative == {
        "sum-periods-vs-settled-2005",
        "coverage-flow-periods-1985-2005",
        "subset-asset-owners-in-senior-level-2005",
    }


# --- the loader refuses what is missing -------------------------------------------------------------


def _errors(seed_dir: Path) -> list[SeedError]:
    with pytest.raises(SeedInvalid) as caught:
        read_seed(seed_dir)
    return caught.value.errors


def _edit(path: Path, old: str, new: str, after: str) -> int:
    text = path.read_text(encoding="utf-8")
    at = text.index(old, text.index(after))
    path.write_text(text[:at] + new + text[at + len(old) :], encoding="utf-8")
    return text.count("\n", 0, at) + 1


def test_a_metric_without_attributed_to_fails_the_load(seed_copy: Path) -> None:
    line = _edit(seed_copy / "metrics.yaml", "    attributed_to: following-survey\n", "", "id: canada-emigrated")
    found = [(e.file, e.entry, e.field, e.reason) for e in _errors(seed_copy)]
    assert ("metrics.yaml", "canada-emigrated-1985-2005", "attributed_to", "Field required") in found
    (error,) = [e for e in _errors(seed_copy) if e.field == "attributed_to"]
    assert error.line is not None and error.line <= line


def test_a_basis_that_does_not_fit_its_attribution_fails_the_load(seed_copy: Path) -> None:
    _edit(seed_copy / "metrics.yaml", "attributed_to: following-survey", f"attributed_to: {ARTICLE}", "id: canada-")
    (error,) = _errors(seed_copy)
    assert (error.entry, error.field) == ("canada-emigrated-1985-2005", "attribution_basis")
    assert "basis none is for the article's own voice" in error.reason


def test_a_section_attribution_without_its_note_fails_the_load(seed_copy: Path) -> None:
    after = "id: senior-cadre-spouses-children-settled-overseas-2005"
    text = (seed_copy / "metrics.yaml").read_text(encoding="utf-8")
    note = re.search(r"    attribution_note: .*\n", text[text.index(after) :])
    assert note is not None
    _edit(seed_copy / "metrics.yaml", note.group(0), "", after)
    (error,) = _errors(seed_copy)
    assert (error.entry, error.field) == ("senior-cadre-spouses-children-settled-overseas-2005", "attribution_basis")


def test_an_unknown_attribution_fails_the_load(seed_copy: Path) -> None:
    _edit(seed_copy / "metrics.yaml", "attributed_to: following-survey", "attributed_to: a-survey", "id: canada-")
    (error,) = _errors(seed_copy)
    assert (error.entry, error.field) == ("canada-emigrated-1985-2005", "attributed_to")
    assert "unknown attribution 'a-survey'" in error.reason


def test_a_group_member_without_a_basis_fails_the_load(seed_copy: Path) -> None:
    line = _edit(seed_copy / "destinations.yaml", ", basis: interpretation}", "}", "{code: DE,")
    # The group is refused (its figures then name an unknown destination, reported too).
    (error,) = [e for e in _errors(seed_copy) if e.file == "destinations.yaml"]
    assert error.line == line
    assert (error.file, error.entry, error.field) == ("destinations.yaml", "europe-west-europe", "members.3.basis")
    assert error.reason == "Field required"


def test_a_check_without_assumptions_fails_the_load(seed_copy: Path) -> None:
    text = (seed_copy / "checks.yaml").read_text(encoding="utf-8")
    start = text.index("    assumptions:\n", text.index("id: subset-senior-level-in-settled-2005"))
    end = text.index("    subset:", start)
    (seed_copy / "checks.yaml").write_text(text[:start] + text[end:], encoding="utf-8")
    (error,) = _errors(seed_copy)
    assert (error.entry, error.field) == ("subset-senior-level-in-settled-2005", "assumptions")
