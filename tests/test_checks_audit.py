"""The audit's results: on synthetic figures, then the known results on the real data (every expected number
computed here from the article's figures, never copied from the code's output)."""

from __future__ import annotations

import datetime as dt
import itertools
import statistics
from fractions import Fraction
from typing import Any

import pytest

from app.checks.intervals import (
    Range,
)
from app.checks.kinds.coverage import CoverageCheck
from app.checks.kinds.sums import SumCheck
from app.checks.registry import Declarations, compute
from app.loader.load import audit_of
from app.loader.seed import SeedDataset, read_seed
from app.models import Holds
from tests.checks_support import SEED, between, exact, more_than

ALWAYS, SOMETIMES, NEVER = Holds.always, Holds.sometimes, Holds.never

# --- the article's figures, typed in from the source text --------------------------------------

SETTLED_BY_END_2005 = 1_187_700  # "more than 1,187,700"
FLOWS = {"emigrated-1985-1990": 233_000, "emigrated-1991-1998": 565_000, "emigrated-1999-2005": 389_000}
FLOW_YEARS = [(1985, 1990), (1991, 1998), (1999, 2005)]
PEOPLE_AND_CASES = {  # destination: (people, cases), 1985-2005
    "hong-kong": (193_000, 43_500),
    "macau": (25_000, 8_400),
    "united-states": (19_500, 26_000),
    "europe-west-europe": (164_000, 20_000),
    "nordic": (203_000, 6_000),
    "australia": (230_000, 35_000),
    "new-zealand": (29_000, 2_000),
    "canada": (225_000, 54_000),
    "south-east-asia": (110_000, 2_800),
}


def _metric(metric_id: str, r: Range, text: str, unit: str = "persons", period: str | None = None) -> dict[str, Any]:
    return {
        "id": metric_id,
        "unit": unit,
        "value_text": text,
        "qualifier": "exact" if r.is_point else "between",
        "lower": r.lower,
        "lower_inclusive": r.lower_inclusive if r.lower is not None else None,
        "upper": r.upper,
        "upper_inclusive": r.upper_inclusive if r.upper is not None else None,
        "destination_id": None,
        "period_id": period,
    }


def _period(period_id: str, start: dt.date, end: dt.date) -> dict[str, Any]:
    return {"id": period_id, "start_date": start, "end_date": end, "iso": f"{start}/{end}"}


@pytest.mark.parametrize(
    ("total", "text", "relation", "status", "explanation"),
    [
        (more_than(1_187_700), "more than 1,187,700", "equal", "fail", "700 below the total of more than 1,187,700"),
        (more_than(1_186_000), "more than 1,186,000", "equal", "pass", "1,000 above the lower bound of the total"),
        (between(1_100_000, 1_150_000), "between 1,100,000 and 1,150,000", "equal", "fail", "37,000 above the total"),
        (between(1_100_000, 1_200_000), "between 1,100,000 and 1,200,000", "equal", "pass", "13,000 below the upper"),
        (exact(1_187_000), "1,187,000", "equal", "pass", "equal to the total of 1,187,000"),
        (exact(1_100_000), "1,100,000", "at_most", "fail", "87,000 above the total of 1,100,000"),
        (more_than(1_187_700), "more than 1,187,700", "at_most", "pass", "700 below the lower bound of the total"),
    ],
)
def test_a_sum_is_judged_against_the_totals_bounds(
    total: Range, text: str, relation: str, status: str, explanation: str
) -> None:
    parts = [_metric(f"p{i}", exact(v), f"{v:,}") for i, v in enumerate(FLOWS.values())]
    tables = {"metrics": [*parts, _metric("t", total, text)]}
    sums = [
        SumCheck(id="s", statement="x", assumptions=["y"], relation=relation, parts=["p0", "p1", "p2"], total=["t"])
    ]
    (row,) = compute(Declarations(sums=sums), tables).checks
    assert row["status"] == status
    assert explanation in row["explanation"]


def test_coverage_finds_gaps_overlaps_and_periods_outside_the_span() -> None:
    periods = [
        _period("a", dt.date(1985, 1, 1), dt.date(1990, 12, 31)),
        _period("b", dt.date(1992, 1, 1), dt.date(1998, 12, 31)),  # a gap: 1991
        _period("c", dt.date(1998, 7, 1), dt.date(2006, 6, 30)),  # overlaps b by half of 1998, ends after the span
        _period("span", dt.date(1985, 1, 1), dt.date(2005, 12, 31)),
    ]
    metrics = [_metric(f"m{p}", exact(1), "1", period=p) for p in "abc"]
    coverage = [CoverageCheck(id="c", statement="x", assumptions=["y"], parts=["ma", "mb", "mc"], span="span")]
    (row,) = compute(Declarations(coverage=coverage), {"metrics": metrics, "periods": periods}).checks
    assert (row["status"], row["holds"]) == ("fail", "never")
    assert "gaps: 1991-01-01 to 1991-12-31: 365 days" in row["explanation"]
    assert "overlaps: 1998-07-01 to 1998-12-31: 184 days" in row["explanation"]
    assert "outside the span: to 2006-06-30" in row["explanation"]
    tiled = [periods[0], _period("b", dt.date(1991, 1, 1), dt.date(2005, 12, 31)), periods[3]]
    (row,) = compute(
        Declarations(
            coverage=[CoverageCheck(id="c", statement="x", assumptions=["y"], parts=["ma", "mb"], span="span")]
        ),
        {"metrics": metrics[:2], "periods": tiled},
    ).checks
    assert (row["status"], row["observed_value"], row["expected_value"]) == ("pass", 7670, 7670)


# === 2. known results on the real data ========================================================


@pytest.fixture(scope="module")
def real_seed() -> SeedDataset:
    return read_seed(SEED)


@pytest.fixture(scope="module")
def real_checks(real_seed: SeedDataset) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in audit_of(real_seed).checks}


@pytest.fixture(scope="module")
def real_links(real_seed: SeedDataset) -> list[dict[str, Any]]:
    return audit_of(real_seed).links


def test_the_three_periods_sum_below_the_reported_total(real_checks: dict[str, dict[str, Any]]) -> None:
    flows = sum(FLOWS.values())
    assert flows == 233_000 + 565_000 + 389_000 == 1_187_000
    c = real_checks["sum-periods-vs-settled-2005"]
    # The article never says the total is made of the flows: the comparison is informative (`info`), its outcome
    # in `holds` (the flows cannot add up to more than 1,187,700), never a `fail` of the source.
    assert (c["status"], c["holds"]) == ("info", "never")
    assert (c["observed_value"], c["expected_value"]) == (flows, SETTLED_BY_END_2005)
    assert c["abs_difference"] == SETTLED_BY_END_2005 - flows == 700
    assert c["rel_difference"] == pytest.approx(700 / 1_187_700)
    assert c["explanation"] == (
        "The three periods sum to 1,187,000, 700 below the reported total of more than 1,187,700."
    )
    assert "233,000 + 565,000 + 389,000 = 1,187,000" in c["arithmetic"]


def test_the_destinations_sum_within_the_reported_total(real_checks: dict[str, dict[str, Any]]) -> None:
    people = sum(p for p, _ in PEOPLE_AND_CASES.values())
    assert people == 1_198_500
    c = real_checks["sum-destinations-vs-settled-2005"]
    # 1,198,500 is more than 1,187,700: a total of more than 1,187,700 can hold the nine destinations
    assert (c["status"], c["holds"]) == ("pass", "sometimes")
    assert (c["observed_value"], c["abs_difference"]) == (people, people - SETTLED_BY_END_2005)
    assert people - SETTLED_BY_END_2005 == 10_800


def test_the_destinations_sum_above_the_three_periods(real_checks: dict[str, dict[str, Any]]) -> None:
    people, flows = sum(p for p, _ in PEOPLE_AND_CASES.values()), sum(FLOWS.values())
    c = real_checks["sum-destinations-vs-periods-1985-2005"]
    assert (c["status"], c["holds"]) == ("fail", "never")
    assert (c["observed_value"], c["expected_value"], c["abs_difference"]) == (people, flows, people - flows)
    assert people - flows == 11_500
    assert "11,500 above" in c["explanation"]


def test_the_cases_summed_over_destinations(real_checks: dict[str, dict[str, Any]]) -> None:
    cases = sum(c for _, c in PEOPLE_AND_CASES.values())
    people = sum(p for p, _ in PEOPLE_AND_CASES.values())
    assert cases == 197_700
    c = real_checks["people-per-case-all-destinations"]
    assert (c["status"], c["holds"]) == ("pass", "always")
    assert c["observed_value"] == pytest.approx(people / cases)  # 6.06
    assert "= 197,700" in c["arithmetic"] and "= 1,198,500" in c["arithmetic"]


@pytest.mark.parametrize(
    ("check_id", "sub", "sup", "holds"),
    [
        # more than 200,750 against more than 1,187,700: neither has an upper bound, so it can hold
        ("subset-senior-level-in-settled-2005", more_than(200_750), more_than(SETTLED_BY_END_2005), SOMETIMES),
        ("subset-doing-business-in-settled-2005", more_than(153_000), more_than(SETTLED_BY_END_2005), SOMETIMES),
        ("subset-studying-in-settled-2005", more_than(138_300), more_than(SETTLED_BY_END_2005), SOMETIMES),
        # 150,000 (the top of the range) is below both lower bounds: holds whatever the values
        ("subset-import-export-in-living-overseas", between(120_000, 150_000), more_than(1_000_000), ALWAYS),
        ("subset-import-export-in-doing-business", between(120_000, 150_000), more_than(153_000), ALWAYS),
        ("subset-asset-owners-in-headline", more_than(200_000), exact(1_000_000), SOMETIMES),
    ],
)
def test_each_subset_relation(
    real_checks: dict[str, dict[str, Any]], check_id: str, sub: Range, sup: Range, holds: Holds
) -> None:
    c = real_checks[check_id]
    assert c["holds"] == holds.value
    assert c["status"] == "pass"
    if holds is ALWAYS:
        assert sub.upper is not None and sup.lower is not None
        assert sub.upper <= sup.lower
        assert c["abs_difference"] == sup.lower - sub.upper
    else:
        assert sub.lower is not None and sup.lower is not None
        assert sub.lower < sup.lower and sub.upper is None


def test_people_per_case_for_each_destination(real_checks: dict[str, dict[str, Any]]) -> None:
    ratios = {d: Fraction(p, c) for d, (p, c) in PEOPLE_AND_CASES.items()}
    flagged = set()
    for destination, ratio in ratios.items():
        others = statistics.median(r for d, r in ratios.items() if d != destination)
        c = real_checks[f"people-per-case-{destination}"]
        assert c["observed_value"] == pytest.approx(float(ratio))
        assert c["expected_value"] == pytest.approx(float(others))
        out_of_line = ratio > 3 * others or ratio < others / 3
        if out_of_line:
            flagged.add(destination)
        expected_status = "fail" if ratio < 1 else "warn" if out_of_line else "pass"
        assert c["status"] == expected_status, destination
        assert c["holds"] == ("never" if ratio < 1 else "always")
    assert flagged == {"united-states", "nordic", "south-east-asia"}
    assert ratios["united-states"] == Fraction(3, 4)  # 19,500 people, 26,000 cases: more cases than people
    assert "more cases than persons" in real_checks["people-per-case-united-states"]["explanation"]
    assert {d for d, r in ratios.items() if r < 1} == {"united-states"}


def test_the_flow_periods_tile_1985_to_2005(real_checks: dict[str, dict[str, Any]]) -> None:
    spans = [(dt.date(a, 1, 1), dt.date(b, 12, 31)) for a, b in FLOW_YEARS]
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert start - end == dt.timedelta(days=1)  # no gap, no overlap
    assert spans[0][0] == dt.date(1985, 1, 1) and spans[-1][1] == dt.date(2005, 12, 31)
    days = sum((end - start).days + 1 for start, end in spans)
    c = real_checks["coverage-flow-periods-1985-2005"]
    # It follows from reading the years as inclusive, so it is informative only: `info`, never `pass`.
    assert (c["status"], c["holds"]) == ("info", "always")
    assert c["observed_value"] == c["expected_value"] == days == (dt.date(2005, 12, 31) - dt.date(1985, 1, 1)).days + 1
    assert "gaps: none; overlaps: none" in c["arithmetic"]


def test_the_restatements_agree_at_their_precision(real_checks: dict[str, dict[str, Any]]) -> None:
    coarse = real_checks["restatement-more-than-1-million"]
    assert (coarse["status"], coarse["holds"]) == ("pass", "always")  # more than 1,187,700 is more than 1 million
    headline = real_checks["restatement-headline"]
    # "1 Million" to the nearest million is 500,000 up to 1,500,000: more than 1,187,700 fits only below 1,500,000
    assert (headline["status"], headline["holds"]) == ("pass", "sometimes")
    assert headline["expected_text"] == "1 Million: at least 500,000 and less than 1,500,000"
    assert headline["abs_difference"] == SETTLED_BY_END_2005 - 1_000_000


def test_the_whole_audit(real_checks: dict[str, dict[str, Any]]) -> None:
    by_status: dict[str, set[str]] = {}
    for c in real_checks.values():
        by_status.setdefault(c["status"], set()).add(c["id"])
    assert by_status["fail"] == {"sum-destinations-vs-periods-1985-2005", "people-per-case-united-states"}
    assert by_status["warn"] == {"people-per-case-nordic", "people-per-case-south-east-asia"}
    assert by_status["info"] == {
        "sum-periods-vs-settled-2005",
        "subset-asset-owners-in-senior-level-2005",
        "coverage-flow-periods-1985-2005",
    }
    assert len(by_status["pass"]) == 16
    assert [c["position"] for c in real_checks.values()] == list(range(1, 24))
    for c in real_checks.values():
        assert c["statement"] and c["explanation"] and c["arithmetic"] and c["expected_text"] and c["observed_text"]
        assert c["assumptions"] and all(isinstance(a, str) and a for a in c["assumptions"])


def test_links_name_each_figure_and_its_role(real_links: list[dict[str, Any]]) -> None:
    roles = {(x["metric_id"], x["role"]) for x in real_links if x["check_id"] == "sum-periods-vs-settled-2005"}
    assert roles == {(m, "part") for m in FLOWS} | {("spouses-children-settled-overseas-2005", "total")}
    us = {x["role"] for x in real_links if x["check_id"] == "people-per-case-united-states"}
    assert us == {"numerator", "denominator", "reference"}
    assert sum(1 for x in real_links if x["check_id"] == "people-per-case-united-states") == 2 * 9
    assert len({(x["check_id"], x["metric_id"]) for x in real_links}) == len(real_links)
