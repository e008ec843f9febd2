"""The dataset's controlled vocabulary: every enum and the slug type, shared by the tables, the API,
the loader and the audit without importing the ORM."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import StringConstraints

SLUG = r"[a-z0-9][a-z0-9_-]*"
"""A stable id: a lower-case ASCII letter or digit, then also `_` and `-`."""
SLUG_PATTERN = f"^{SLUG}$"
Slug = Annotated[str, StringConstraints(pattern=SLUG_PATTERN, max_length=100)]


class Unit(StrEnum):
    persons = "persons"
    cases = "cases"
    USD = "USD"


class Qualifier(StrEnum):
    """How the source bounds a figure.

    exact: printed as a single number with no qualifying words (lower = upper, both inclusive).
    more_than: "more than X" (lower = X exclusive, no upper bound).
    at_least: "X or more", "at least X" (lower = X inclusive, no upper bound).
    between: "between X and Y" (lower = X, upper = Y, both inclusive).
    approximately: "about X" (lower = upper = X; the figure is stated as approximate).
    """

    exact = "exact"
    more_than = "more_than"
    at_least = "at_least"
    between = "between"
    approximately = "approximately"


class PeriodKind(StrEnum):
    instant = "instant"
    interval = "interval"


class DestinationKind(StrEnum):
    territory = "territory"
    country = "country"
    region = "region"
    aggregate = "aggregate"


class Membership(StrEnum):
    closed = "closed"
    open = "open"


class MemberBasis(StrEnum):
    source = "source"
    interpretation = "interpretation"


class CountryMatch(StrEnum):
    """How a figure's destination matched `country=`: it is that country, or a group that lists it."""

    exact = "exact"
    group = "group"


class AttributionKind(StrEnum):
    """Who states a figure, as the article presents it: a report it describes, a survey it introduces without
    naming whose it is, or the article itself (nothing in the text attributes the figure further)."""

    report = "report"
    survey = "survey"
    article = "article"


class AttributionBasis(StrEnum):
    """How the text ties a figure to whom `attributed_to` names.

    explicit: the figure's own sentence names it ("The report indicates that ...", "The following survey shows");
    section: the figure continues a paragraph that names it, but its own sentence does not;
    none: nothing attributes the figure; it stands in the article's own voice.
    """

    explicit = "explicit"
    section = "section"
    none = "none"


class CitationLocation(StrEnum):
    headline = "headline"
    lead = "lead"
    body = "body"


class CheckKind(StrEnum):
    sum = "sum"
    subset = "subset"
    ratio = "ratio"
    coverage = "coverage"
    restatement = "restatement"


class CheckStatus(StrEnum):
    """pass: consistent; warn: consistent, but a plausibility rule flags it; fail: the figures as printed
    cannot all hold under the relation the check declares (a finding about the source, not a load error);
    info: the relation is our reading only (the text states none), so the outcome, in `holds`, describes the
    reading as much as the source and is never a finding about the source."""

    passed = "pass"
    warn = "warn"
    fail = "fail"
    info = "info"


class Holds(StrEnum):
    """Whether the checked relation holds for every, some or none of the values the stated bounds allow."""

    always = "always"
    sometimes = "sometimes"
    never = "never"


class CheckRole(StrEnum):
    part = "part"
    total = "total"
    subset = "subset"
    superset = "superset"
    numerator = "numerator"
    denominator = "denominator"
    reference = "reference"
    stated = "stated"
    restated = "restated"
