"""The consistency audit: bound-aware arithmetic on synthetic ranges, the known results on the real
data (every expected number computed here from the article's figures, never copied from the code's
output), declaration errors, and the stored audit on SQLite and, with TEST_POSTGRES_URL, PostgreSQL.

Self-contained: fixtures below build their own databases with the migrations and the real loader.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import shutil
import statistics
import uuid
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from app import migrations
from app.checks.intervals import (
    Range,
    at_most,
    equal,
    gap,
    intersection,
    less_than,
    median,
    median_range,
    nearest_bounds,
    quotient,
    total,
    within,
)
from app.checks.kinds.coverage import CoverageCheck
from app.checks.kinds.sums import SumCheck
from app.checks.registry import Declarations, compute
from app.config import PROJECT_ROOT
from app.db import make_engine, normalize_url
from app.figures import printed_step
from app.loader.load import LoadResult, audit_of, load
from app.loader.seed import SeedDataset, SeedInvalid, read_seed
from app.models import Holds, metadata

SEED = PROJECT_ROOT / "seed"
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


# === 1. bound-aware arithmetic on synthetic ranges =============================================

exact = Range.point
more_than = Range.more_than
at_least = Range.at_least
between = Range.between


def test_a_sum_of_exact_figures_is_exact() -> None:
    assert total([exact(233_000), exact(565_000), exact(389_000)]) == exact(1_187_000)


def test_one_open_bound_makes_that_side_of_the_sum_open() -> None:
    s = total([exact(100), more_than(50), between(10, 20)])
    assert (s.lower, s.lower_inclusive, s.upper) == (Fraction(160), False, None)


def test_a_sum_of_closed_ranges_adds_lowers_and_uppers() -> None:
    assert total([between(120, 150), exact(3), between(0, 1)]) == between(123, 154)
    assert total([]) == exact(0)


def test_an_empty_range_is_refused() -> None:
    with pytest.raises(ValueError):
        Range.of_bounds(5, False, 5, True)
    with pytest.raises(ValueError):
        between(6, 5)
    with pytest.raises(ValueError):
        Range(None, True, Fraction(5), True)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        # exact against more_than: the sum must exceed the bound, equality with the bound's number fails
        (exact(1_187_000), more_than(1_187_700), NEVER),
        (exact(1_187_700), more_than(1_187_700), NEVER),
        (exact(1_198_500), more_than(1_187_700), SOMETIMES),
        (exact(1_187_700), at_least(1_187_700), SOMETIMES),
        # exact against between: inside, at an inclusive end, outside
        (exact(130_000), between(120_000, 150_000), SOMETIMES),
        (exact(150_000), between(120_000, 150_000), SOMETIMES),
        (exact(150_001), between(120_000, 150_000), NEVER),
        # more_than against between
        (more_than(150_000), between(120_000, 150_000), NEVER),
        (more_than(149_999), between(120_000, 150_000), SOMETIMES),
        # two exact figures
        (exact(5), exact(5), ALWAYS),
        (exact(5), exact(6), NEVER),
        # open ends that touch share no value
        (Range.of_bounds(0, True, 5, False), Range.of_bounds(5, True, 9, True), NEVER),
    ],
)
def test_equality_is_judged_against_the_bounds(a: Range, b: Range, expected: Holds) -> None:
    assert equal(a, b) is expected
    assert equal(b, a) is expected


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        # a subset as a range against its population as a range
        (between(120_000, 150_000), more_than(153_000), ALWAYS),
        (between(120_000, 150_000), more_than(150_000), ALWAYS),
        (between(120_000, 150_000), at_least(150_000), ALWAYS),
        (between(120_000, 160_000), more_than(153_000), SOMETIMES),
        (more_than(200_750), more_than(1_187_700), SOMETIMES),  # neither states an upper bound
        (more_than(200_000), exact(1_000_000), SOMETIMES),
        (more_than(1_000_000), exact(1_000_000), NEVER),
        (at_least(1_000_000), exact(1_000_000), SOMETIMES),
        (exact(1_198_500), exact(1_187_000), NEVER),
        (exact(1_187_000), more_than(1_187_700), ALWAYS),
        (between(5, 10), between(1, 4), NEVER),
        (Range.of_bounds(4, False, 6, True), Range.of_bounds(1, True, 4, True), NEVER),
        (Range.of_bounds(4, True, 6, True), Range.of_bounds(1, True, 4, True), SOMETIMES),
    ],
)
def test_at_most_compares_lower_with_upper_and_upper_with_lower(a: Range, b: Range, expected: Holds) -> None:
    assert at_most(a, b) is expected


def test_less_than_is_strict_at_a_shared_bound() -> None:
    assert less_than(exact(5), exact(5)) is NEVER
    assert at_most(exact(5), exact(5)) is ALWAYS
    assert less_than(exact(5), more_than(5)) is ALWAYS
    assert less_than(between(1, 5), between(5, 9)) is SOMETIMES


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (more_than(1_187_700), more_than(1_000_000), ALWAYS),
        (more_than(1_000_000), more_than(1_187_700), SOMETIMES),
        (more_than(1_187_700), Range.of_bounds(500_000, True, 1_500_000, False), SOMETIMES),
        (exact(1_000_000), Range.of_bounds(500_000, True, 1_500_000, False), ALWAYS),
        (exact(1_500_000), Range.of_bounds(500_000, True, 1_500_000, False), NEVER),
        (between(120_000, 150_000), at_least(120_000), ALWAYS),
        (between(120_000, 150_000), more_than(120_000), SOMETIMES),
        (Range.of_bounds(120_000, False, 150_000, True), more_than(120_000), ALWAYS),
    ],
)
def test_within_asks_whether_every_value_of_one_range_lies_in_the_other(a: Range, b: Range, expected: Holds) -> None:
    assert within(a, b) is expected


def test_quotient_of_ranges() -> None:
    assert quotient(exact(19_500), exact(26_000)) == exact(Fraction(3, 4))
    q = quotient(between(100, 200), between(10, 20))
    assert (q.lower, q.upper) == (Fraction(5), Fraction(20))
    assert quotient(more_than(100), exact(10)) == more_than(10)
    assert quotient(exact(100), at_least(10)) == Range.of_bounds(0, False, 10, True)
    with pytest.raises(ValueError):
        quotient(exact(1), between(0, 2))


def test_gap_and_the_bounds_a_comparison_is_judged_at() -> None:
    assert gap(exact(1_187_000), more_than(1_187_700)) == 700
    assert gap(exact(1_198_500), exact(1_187_000)) == 11_500
    assert gap(exact(1_198_500), more_than(1_187_700)) == 0
    assert nearest_bounds(between(120_000, 150_000), more_than(153_000)) == (Fraction(150_000), Fraction(153_000))
    assert nearest_bounds(more_than(200_750), more_than(1_187_700)) == (Fraction(200_750), Fraction(1_187_700))
    assert nearest_bounds(Range.of_bounds(None, False, None, False), exact(1)) is None


def test_intersection_and_medians() -> None:
    assert intersection(more_than(1_187_700), Range.of_bounds(500_000, True, 1_500_000, False)) == Range.of_bounds(
        1_187_700, False, 1_500_000, False
    )
    assert median([3, 1, 2]) == 2
    assert median([4, 1, 3, 2]) == Fraction(5, 2)
    assert median_range([between(1, 3), exact(2), between(0, 10)]) == between(1, 3)


def test_printed_precision() -> None:
    assert printed_step("1 Million") == 1_000_000
    assert printed_step("more than 1,187,700") == 100
    assert printed_step("233,000") == 1_000
    assert printed_step("19,500") == 100
    assert printed_step("1.5 million") == 100_000


# Brute force on a grid of quarter units: the three-valued answers agree with the values themselves.
_bound = st.one_of(st.none(), st.integers(0, 8))


@st.composite
def ranges(draw: st.DrawFn) -> Range:
    lower, upper = draw(_bound), draw(_bound)
    if lower is not None and upper is not None and lower > upper:
        lower, upper = upper, lower
    lower_inc = lower is not None and draw(st.booleans())
    upper_inc = upper is not None and draw(st.booleans())
    if lower is not None and lower == upper:
        lower_inc = upper_inc = True
    return Range.of_bounds(lower, lower_inc, upper, upper_inc)


GRID = [Fraction(n, 4) for n in range(-8, 4 * 10 + 1)]


def brute(a: Range, b: Range, relation: Any) -> Holds:
    outcomes = {relation(x, y) for x in GRID if a.contains(x) for y in GRID if b.contains(y)}
    return ALWAYS if outcomes == {True} else NEVER if outcomes == {False} else SOMETIMES


@settings(max_examples=300, deadline=None, derandomize=True)
@given(ranges(), ranges())
def test_comparisons_agree_with_brute_force(a: Range, b: Range) -> None:
    assert at_most(a, b) is brute(a, b, lambda x, y: x <= y)
    assert less_than(a, b) is brute(a, b, lambda x, y: x < y)
    assert equal(a, b) is brute(a, b, lambda x, y: x == y)
    inside = {b.contains(x) for x in GRID if a.contains(x)}
    assert within(a, b) is (ALWAYS if inside == {True} else NEVER if inside == {False} else SOMETIMES)
    s = a + b
    sums = {x + y for x in GRID if a.contains(x) for y in GRID if b.contains(y)}
    assert all(s.contains(v) for v in sums)


# --- the same comparisons through the audit, on synthetic figures ---------------------------


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
    sums = [SumCheck(id="s", statement="x", relation=relation, parts=["p0", "p1", "p2"], total=["t"])]
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
    coverage = [CoverageCheck(id="c", statement="x", parts=["ma", "mb", "mc"], span="span")]
    (row,) = compute(Declarations(coverage=coverage), {"metrics": metrics, "periods": periods}).checks
    assert (row["status"], row["holds"]) == ("fail", "never")
    assert "gaps: 1991-01-01 to 1991-12-31: 365 days" in row["explanation"]
    assert "overlaps: 1998-07-01 to 1998-12-31: 184 days" in row["explanation"]
    assert "outside the span: to 2006-06-30" in row["explanation"]
    tiled = [periods[0], _period("b", dt.date(1991, 1, 1), dt.date(2005, 12, 31)), periods[3]]
    (row,) = compute(
        Declarations(coverage=[CoverageCheck(id="c", statement="x", parts=["ma", "mb"], span="span")]),
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
    assert (c["status"], c["holds"]) == ("fail", "never")  # not more than 1,187,700
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
    assert (c["status"], c["holds"]) == ("pass", "always")
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
    assert by_status["fail"] == {
        "sum-periods-vs-settled-2005",
        "sum-destinations-vs-periods-1985-2005",
        "people-per-case-united-states",
    }
    assert by_status["warn"] == {"people-per-case-nordic", "people-per-case-south-east-asia"}
    assert len(by_status["pass"]) == 17
    assert [c["position"] for c in real_checks.values()] == list(range(1, 23))
    for c in real_checks.values():
        assert c["statement"] and c["explanation"] and c["arithmetic"] and c["expected_text"] and c["observed_text"]


def test_links_name_each_figure_and_its_role(real_links: list[dict[str, Any]]) -> None:
    roles = {(x["metric_id"], x["role"]) for x in real_links if x["check_id"] == "sum-periods-vs-settled-2005"}
    assert roles == {(m, "part") for m in FLOWS} | {("spouses-children-settled-overseas-2005", "total")}
    us = {x["role"] for x in real_links if x["check_id"] == "people-per-case-united-states"}
    assert us == {"numerator", "denominator", "reference"}
    assert sum(1 for x in real_links if x["check_id"] == "people-per-case-united-states") == 2 * 9
    assert len({(x["check_id"], x["metric_id"]) for x in real_links}) == len(real_links)


# === 3. invalid declarations are seed errors ==================================================


@pytest.fixture
def checks_seed(tmp_path: Path) -> Path:
    target = tmp_path / "seed"
    shutil.copytree(SEED, target)
    return target


def _replace(seed: Path, old: str, new: str) -> int:
    path = seed / "checks.yaml"
    content = path.read_text(encoding="utf-8")
    assert content.count(old) == 1, old
    path.write_text(content.replace(old, new), encoding="utf-8")
    return content[: content.index(old)].count("\n") + 1  # line of the replaced text


def _errors(seed: Path) -> list[Any]:
    with pytest.raises(SeedInvalid) as caught:
        read_seed(seed)
    return caught.value.errors


def test_an_unknown_metric_names_file_entry_line_and_field(checks_seed: Path) -> None:
    line = _replace(
        checks_seed,
        "    parts: [emigrated-1985-1990, emigrated-1991-1998, emigrated-1999-2005]\n    total: [spouses",
        "    parts: [emigrated-1985-1990, emigrated-1991-1999, emigrated-1999-2005]\n    total: [spouses",
    )
    errors = _errors(checks_seed)
    assert [str(e) for e in errors] == [
        f"checks.yaml:{line}: entry 'sum-periods-vs-settled-2005' field 'parts.1': unknown metric 'emigrated-1991-1999'"
    ]


def test_a_unit_mismatch_between_parts_and_total_is_an_error(checks_seed: Path) -> None:
    _replace(
        checks_seed,
        "    total: [emigrated-1985-1990, emigrated-1991-1998, emigrated-1999-2005]",
        "    total: [canada-immigration-cases-1985-2005]",
    )
    errors = _errors(checks_seed)
    assert [(e.file, e.entry, e.field) for e in errors] == [
        ("checks.yaml", "sum-destinations-vs-periods-1985-2005", "total.0")
    ]
    assert "unit mismatch" in errors[0].reason and "cases" in errors[0].reason


def test_a_subset_in_another_unit_is_an_error(checks_seed: Path) -> None:
    _replace(
        checks_seed,
        "    superset: headline-cadre-family-members-emigrated",
        "    superset: senior-cadre-family-assets",
    )
    errors = _errors(checks_seed)
    assert [(e.entry, e.field) for e in errors] == [("subset-asset-owners-in-headline", "subset")]
    assert "USD" in errors[0].reason


def test_a_check_id_is_unique_across_sections(checks_seed: Path) -> None:
    _replace(checks_seed, "  - id: coverage-flow-periods-1985-2005", "  - id: people-per-case-canada")
    errors = _errors(checks_seed)
    assert {(e.entry, e.field) for e in errors} == {
        ("people-per-case-canada", "id"),
        ("people-per-case-all-destinations", "pairs.7.id"),
    }


def test_an_unknown_span_is_an_error(checks_seed: Path) -> None:
    line = _replace(checks_seed, "    span: 1985-2005", "    span: 1985-2006")
    assert [(e.line, e.entry, e.field, e.reason) for e in _errors(checks_seed)] == [
        (line, "coverage-flow-periods-1985-2005", "span", "unknown period '1985-2006'")
    ]


def test_an_unknown_key_is_an_error(checks_seed: Path) -> None:
    line = _replace(checks_seed, "    span: 1985-2005", "    span: 1985-2005\n    note: extra") + 1
    assert [(e.line, e.entry, e.field, e.reason) for e in _errors(checks_seed)] == [
        (line, "coverage-flow-periods-1985-2005", "note", "Extra inputs are not permitted")
    ]


def test_a_missing_checks_file_is_an_error(checks_seed: Path) -> None:
    (checks_seed / "checks.yaml").unlink()
    assert [(e.file, e.reason) for e in _errors(checks_seed)] == [("checks.yaml", "file not found")]


# === 4. stored by the loader, recomputed on every load (SQLite; PostgreSQL with TEST_POSTGRES_URL) ===


def _pg_admin() -> str | None:
    return os.environ.get("TEST_POSTGRES_URL") or None


BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param(
        "postgres",
        id="postgres",
        marks=[
            pytest.mark.postgres,
            pytest.mark.skipif(_pg_admin() is None, reason="TEST_POSTGRES_URL is not set"),
        ],
    ),
]


@pytest.fixture(params=BACKENDS)
def checks_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database of this test's own, migrated to head and empty."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'checks.db'}"
        migrations.upgrade(url)
        yield url
        return
    admin_url = _pg_admin()
    assert admin_url is not None
    name = f"checks_{uuid.uuid4().hex[:12]}"
    admin = create_engine(normalize_url(admin_url), isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = normalize_url(admin_url).set(database=name).render_as_string(hide_password=False)
        migrations.upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _load(url: str, seed: Path = SEED, **kwargs: Any) -> LoadResult:
    engine = make_engine(url, read_only=False)
    try:
        return load(engine, read_seed(seed), **kwargs)
    finally:
        engine.dispose()


def _rows(url: str, sql: str, **params: Any) -> list[Any]:
    engine = make_engine(url, read_only=True)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(sql), params))
    finally:
        engine.dispose()


def test_the_load_stores_the_audit_and_prints_it(checks_db: str) -> None:
    result = _load(checks_db)
    assert (result.changes["checks"].added, result.changes["check_metrics"].added) == (22, 225)
    summary = result.summary()
    assert "consistency audit: 22 checks, 17 pass, 2 warn, 3 fail" in summary
    assert "The three periods sum to 1,187,000, 700 below the reported total of more than 1,187,700." in summary
    stored = dict(_rows(checks_db, "SELECT status, count(*) FROM checks GROUP BY status"))
    assert stored == {"pass": 17, "warn": 2, "fail": 3}
    row = _rows(
        checks_db,
        "SELECT observed_value, expected_value, abs_difference, holds FROM checks WHERE id = :id",
        id="sum-periods-vs-settled-2005",
    )
    assert tuple(row[0]) == (1_187_000, 1_187_700, 700, "never")


def test_a_metric_finds_its_checks_in_one_query(checks_db: str) -> None:
    _load(checks_db)
    found = _rows(
        checks_db,
        "SELECT check_id, role FROM check_metrics WHERE metric_id = :m AND role <> 'reference' ORDER BY check_id",
        m="united-states-immigration-cases-1985-2005",
    )
    assert [tuple(r) for r in found] == [
        ("people-per-case-all-destinations", "denominator"),
        ("people-per-case-united-states", "denominator"),
    ]
    indexes = {ix["name"] for ix in inspect(make_engine(checks_db, read_only=True)).get_indexes("check_metrics")}
    assert "ix_check_metrics_metric_id" in indexes
    checks_indexes = {ix["name"] for ix in inspect(make_engine(checks_db, read_only=True)).get_indexes("checks")}
    assert {"ix_checks_status", "ix_checks_kind"} <= checks_indexes


def test_a_second_load_of_the_same_seed_changes_nothing(checks_db: str) -> None:
    first = _load(checks_db)
    second = _load(checks_db)
    assert not second.changed
    assert second.signature == first.signature
    assert "consistency audit: 22 checks" in second.summary()


def test_the_audit_is_recomputed_on_every_load(checks_db: str, checks_seed: Path) -> None:
    _load(checks_db)
    # a wider outlier band: the Nordic countries (6.15 times) and South East Asia (7.14) are no longer flagged
    _replace(checks_seed, "    outlier_factor: 3\n", "    outlier_factor: 8\n")
    # and a check removed from the declarations disappears with its links
    _replace(
        checks_seed,
        "  - id: restatement-headline\n",
        "  - id: restatement-headline-gone\n",
    )
    result = _load(checks_db, checks_seed)
    assert result.changes["checks"].changed >= 2 and result.changes["checks"].removed == 1
    statuses = dict(_rows(checks_db, "SELECT id, status FROM checks"))
    assert statuses["people-per-case-nordic"] == statuses["people-per-case-south-east-asia"] == "pass"
    assert statuses["people-per-case-united-states"] == "fail"  # below 1 whatever the band
    assert "restatement-headline" not in statuses and "restatement-headline-gone" in statuses
    assert not _rows(checks_db, "SELECT 1 FROM check_metrics WHERE check_id = 'restatement-headline'")


def test_a_failed_load_keeps_the_old_audit(checks_db: str, checks_seed: Path) -> None:
    _load(checks_db)
    before = _rows(checks_db, "SELECT id, status, explanation FROM checks ORDER BY id")
    _replace(checks_seed, "    outlier_factor: 3\n", "    outlier_factor: 8\n")

    def fail_after_checks(name: str) -> None:
        if name == "check_metrics":
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        _load(checks_db, checks_seed, after_table=fail_after_checks)
    assert _rows(checks_db, "SELECT id, status, explanation FROM checks ORDER BY id") == before


def test_migration_0002_downgrades_and_upgrades_without_drift(checks_db: str) -> None:
    script = ScriptDirectory.from_config(migrations.alembic_config())
    checks_revision = script.get_revision("9d3376c8a132")  # 0002_checks (no longer the head)
    assert checks_revision is not None and isinstance(checks_revision.down_revision, str)
    migrations.downgrade(checks_db, checks_revision.down_revision)
    engine = make_engine(checks_db, read_only=False)
    try:
        tables = set(inspect(engine).get_table_names())
        assert not {"checks", "check_metrics"} & tables and "metrics" in tables
    finally:
        engine.dispose()
    migrations.upgrade(checks_db)
    _load(checks_db)
    engine = make_engine(checks_db, read_only=False)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
        assert diff == []
        with engine.connect() as conn:
            assert conn.execute(select(metadata.tables["checks"].c.id)).first() is not None
    finally:
        engine.dispose()


def test_the_database_refuses_an_unknown_status(checks_db: str) -> None:
    _load(checks_db)
    engine = make_engine(checks_db, read_only=False)
    try:
        with pytest.raises(Exception, match=r"(?i)check"), engine.begin() as conn:
            conn.execute(text("UPDATE checks SET status = 'maybe' WHERE id = 'restatement-headline'"))
    finally:
        engine.dispose()


def test_url_helper_keeps_the_database_name() -> None:
    # guard for the PostgreSQL fixture above: the per-test database name replaces the server's
    url = normalize_url("postgresql://u:p@h:5432/postgres").set(database="checks_x")
    assert make_url(url.render_as_string(hide_password=False)).database == "checks_x"
