"""Bound-aware arithmetic (app.checks.intervals) on synthetic ranges, and a figure's printed precision."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
from app.figures import printed_step
from app.models import Holds
from tests.checks_support import at_least, between, exact, more_than

ALWAYS, SOMETIMES, NEVER = Holds.always, Holds.sometimes, Holds.never

# === 1. bound-aware arithmetic on synthetic ranges =============================================


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
