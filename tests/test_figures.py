"""parse_figure: every form the article prints, read into the qualifier and bounds it states."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.figures import _read_patterns
from app.loader.figures import Bounds, FigureSyntaxError, parse_figure
from app.models import Qualifier

Q = Qualifier


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1,187,700", Bounds(Q.exact, 1_187_700, True, 1_187_700, True, None)),
        ("233,000", Bounds(Q.exact, 233_000, True, 233_000, True, None)),
        ("more than 1,187,700", Bounds(Q.more_than, 1_187_700, False, None, None, None)),
        ("More than 1 million", Bounds(Q.more_than, 1_000_000, False, None, None, None)),
        ("More than 200,000", Bounds(Q.more_than, 200_000, False, None, None, None)),
        ("1 Million", Bounds(Q.exact, 1_000_000, True, 1_000_000, True, None)),
        ("between 120,000 and 150,000", Bounds(Q.between, 120_000, True, 150_000, True, None)),
        (
            "between US$85 billion and US$120 billion",
            Bounds(Q.between, 85_000_000_000, True, 120_000_000_000, True, "USD"),
        ),
        ("US$600 billion or more", Bounds(Q.at_least, 600_000_000_000, True, None, None, "USD")),
        ("at least 5", Bounds(Q.at_least, 5, True, None, None, None)),
        ("about 3,000", Bounds(Q.approximately, 3_000, True, 3_000, True, None)),
        ("US$85 billion", Bounds(Q.exact, 85_000_000_000, True, 85_000_000_000, True, "USD")),
        ("1.5 million", Bounds(Q.exact, 1_500_000, True, 1_500_000, True, None)),
        ("  more than 138,300  ", Bounds(Q.more_than, 138_300, False, None, None, None)),
    ],
)
def test_parse_figure(text: str, expected: Bounds) -> None:
    assert parse_figure(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "lots",
        "1,23",
        "",
        "   ",
        "US$85 billion and",
        "between 120,000",
        "between 120,000 and",
        "more than",
        "1,2345",
        "12,34,567",
        "one million",
        "1.5",  # not a whole number of base units
        "between US$85 billion and 120 billion",  # currency on one bound only
        "more than 1,187,700 people",
        "€85 billion",
    ],
)
def test_parse_figure_rejects(text: str) -> None:
    with pytest.raises(FigureSyntaxError):
        parse_figure(text)


def test_rejection_says_what_it_expected() -> None:
    with pytest.raises(FigureSyntaxError, match=r"cannot read 'lots' as a figure \(expected e\.g\."):
        parse_figure("lots")


@settings(max_examples=300, derandomize=True, deadline=None)
@given(st.from_regex(r"\A\s?(\d{1,3}(,\d{3}){0,4}|\d{1,12}|[0-9,]{1,9})\s?\Z"))
def test_a_bare_number_reads_as_the_patterns_read_it(text: str) -> None:
    # parse_figure reads a bare whole number without its patterns: the same Bounds, or the same refusal
    try:
        expected: Bounds | str = _read_patterns(text, text.strip())
    except FigureSyntaxError as exc:
        expected = str(exc)
    try:
        assert parse_figure(text) == expected
    except FigureSyntaxError as exc:
        assert str(exc) == expected
