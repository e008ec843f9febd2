"""What each seed entry may hold: one Pydantic model per kind of entry, its own rules (bounds against the
printed figure, dates in order, ...) as validators. Rules across entries live in app.loader.references."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, ValidationInfo, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from app.figures import FigureSyntaxError, parse_figure
from app.vocabulary import (
    AttributionBasis,
    AttributionKind,
    CitationLocation,
    DestinationKind,
    MemberBasis,
    Membership,
    PeriodKind,
    Qualifier,
    Slug,
    Unit,
)

Text = Annotated[str, StringConstraints(min_length=1)]
CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]

RULE = "seed_rule"
"""The error type of an entry's own rules: the reader reports them, then still checks the entry against others."""
SKIP_RULES = {"skip_rules": True}
"""Validation context that validates the fields only."""

Loc = tuple[str | int, ...]
Broken = tuple[str, Loc] | tuple[str, Loc, Loc]
"""A broken rule: (reason, field) or (reason, field, where): `where` is the path whose line the error takes
(the entry's own line for ()); by default the field's."""


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def broken_rules(self) -> Iterator[Broken]:
        """This entry's own rules that it breaks; none by default."""
        return iter(())

    @model_validator(mode="after")
    def _check_rules(self, info: ValidationInfo) -> Any:
        if info.context and info.context.get("skip_rules"):
            return self
        details = [
            InitErrorDetails(
                type=PydanticCustomError(RULE, "{reason}", {"reason": reason, "line_at": where[0] if where else None}),
                loc=loc,
                input=None,
            )
            for reason, loc, *where in self.broken_rules()
        ]
        if details:
            raise ValidationError.from_exception_data(type(self).__name__, details)
        return self


class SourceEntry(_Entry):
    id: Slug
    title: Text
    publisher: Text
    byline: Text | None = None
    url: Annotated[str, StringConstraints(pattern=r"^https?://\S+$")]
    published: dt.date
    updated: dt.date | None = None
    language: Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]+)*$")]
    note: Text | None = None


class ReportEntry(_Entry):
    id: Slug
    description: Text
    issuers: list[Text] = Field(min_length=1)
    recipients: list[Text] = Field(default_factory=list)
    issued_text: Text | None = None
    issued_start: dt.date | None = None
    issued_end: dt.date | None = None
    transmitted_text: Text | None = None
    transmitted_start: dt.date | None = None
    transmitted_end: dt.date | None = None
    transmitted_to: list[Text] = Field(default_factory=list)
    note: Text | None = None
    sources: list[Slug] = Field(min_length=1)
    quote: Text | None = None
    instructions_by: list[Text] = Field(default_factory=list)
    instructions_quote: Text | None = None

    def broken_rules(self) -> Iterator[Broken]:
        if bool(self.instructions_by) != (self.instructions_quote is not None):
            yield (
                "instructions_by and instructions_quote go together (the quote says who wrote them)",
                ("instructions_quote",),
            )
        for label, start, end in (
            ("issued", self.issued_start, self.issued_end),
            ("transmitted", self.transmitted_start, self.transmitted_end),
        ):
            if start and end and start > end:
                yield f"{label}_start {start} is after {label}_end {end}", (f"{label}_start",)


class AttributionEntry(_Entry):
    """Who states figures, as the source presents them; metrics name it in `attributed_to`."""

    id: Slug
    kind: AttributionKind
    label: Text
    source: Slug
    report: Slug | None = None
    quote: Text | None = None
    note: Text | None = None

    def broken_rules(self) -> Iterator[Broken]:
        if (self.kind is AttributionKind.report) != (self.report is not None):
            yield "an attribution names a report exactly when its kind is report", ("report",), ()
        if self.kind is not AttributionKind.article and self.quote is None:
            yield f"a {self.kind.value} needs the quote by which the source introduces it", ("quote",), ()


class MeasureEntry(_Entry):
    id: Slug
    label: Text
    note: Text | None = None


class PopulationEntry(_Entry):
    id: Slug
    label: Text
    part_of: Slug | None = None


def iso_interval(start: dt.date, end: dt.date) -> str:
    if (start.month, start.day, end.month, end.day) == (1, 1, 12, 31):
        return f"{start.year}/{end.year}"
    return f"{start.isoformat()}/{end.isoformat()}"


class PeriodEntry(_Entry):
    id: Slug
    label: Text
    kind: PeriodKind
    start_date: dt.date
    end_date: dt.date
    iso: Text
    note: Text | None = None

    def broken_rules(self) -> Iterator[Broken]:
        if self.start_date > self.end_date:
            yield f"start_date {self.start_date} is after end_date {self.end_date}", ("start_date",)
        instant = self.kind is PeriodKind.instant
        if instant and self.start_date != self.end_date:
            yield "an instant must have start_date == end_date", ("end_date",)
        expected = self.end_date.isoformat() if instant else iso_interval(self.start_date, self.end_date)
        if self.iso != expected:
            yield f"iso {self.iso!r} does not match the dates (expected {expected!r})", ("iso",)


class MemberEntry(_Entry):
    code: CountryCode
    name: Text
    basis: MemberBasis


class DestinationEntry(_Entry):
    id: Slug
    name: Text
    label: Text
    kind: DestinationKind
    code: CountryCode | None = None
    membership: Membership | None = None
    note: Text | None = None
    aliases: list[Text] = Field(default_factory=list)
    members: list[MemberEntry] = Field(default_factory=list)

    def broken_rules(self) -> Iterator[Broken]:
        kind = self.kind.value
        is_place = self.kind in (DestinationKind.country, DestinationKind.territory)
        if is_place and self.code is None:
            yield f"a {kind} needs an ISO 3166-1 code", ("code",), ()
        if not is_place and self.code is not None:
            yield f"a {kind} has members, not a code", ("code",)
        if is_place and (self.members or self.membership):
            yield f"a {kind} cannot have members", ("members",)
        if not is_place and self.membership is None:
            yield "a group needs membership: closed or open", ("membership",), ()
        if self.membership is Membership.closed and not self.members:
            yield "a closed group needs at least one member", ("members",), ()
        for code, times in Counter(member.code for member in self.members).items():
            if times > 1:
                yield f"member {code} listed {times} times", ("members",)


class CitationEntry(_Entry):
    quote: Text
    prefix: Text | None = None
    suffix: Text | None = None
    section: Text | None = None
    location: CitationLocation
    source: Slug | None = None


class MetricEntry(_Entry):
    id: Slug
    report: Slug | None = None
    measure: Slug
    population: Slug
    destination: Slug | None
    period: Slug | None
    unit: Unit
    value_text: Text
    qualifier: Qualifier
    lower: int | None
    lower_inclusive: bool | None
    upper: int | None
    upper_inclusive: bool | None
    attributed_to: Slug
    attribution_basis: AttributionBasis
    attribution_quote: Text | None = None
    attribution_note: Text | None = None
    note: Text | None = None
    citations: list[CitationEntry] = Field(min_length=1)

    def broken_rules(self) -> Iterator[Broken]:
        """The bounds against each other, the qualifier and the printed figure; each quote holds the figure;
        the attribution has its quote (explicit, section) or says why there is none."""
        for reason, field in self._bound_problems():
            yield reason, (field,)
        basis = self.attribution_basis
        if basis is AttributionBasis.none and self.attribution_quote is not None:
            yield (
                "attribution_basis none: nothing attributes the figure, so there is no attribution_quote",
                ("attribution_quote",),
            )
        if basis is not AttributionBasis.none and self.attribution_quote is None:
            yield (
                f"attribution_basis {basis.value} needs the attributing words (attribution_quote)",
                ("attribution_basis",),
            )
        if basis is not AttributionBasis.explicit and self.attribution_note is None:
            yield (
                f"attribution_basis {basis.value} needs an attribution_note saying how it was read",
                ("attribution_basis",),
            )
        for index, citation in enumerate(self.citations):
            if self.value_text not in citation.quote:
                reason = f"quote does not contain the figure as written ({self.value_text!r})"
                yield reason, ("citations", index, "quote"), ("citations", index)

    def _bound_problems(self) -> Iterator[tuple[str, str]]:
        lower, upper, qualifier = self.lower, self.upper, self.qualifier
        if lower is not None and upper is not None and lower > upper:
            yield f"lower {lower} is greater than upper {upper}", "lower"
        for side in ("lower", "upper"):
            if (getattr(self, side) is None) != (getattr(self, f"{side}_inclusive") is None):
                yield f"{side}_inclusive must be set exactly when {side} is (open bound = null)", f"{side}_inclusive"
        if qualifier in (Qualifier.more_than, Qualifier.at_least) and upper is not None:
            yield f"{qualifier.value} states no upper bound, but upper is {upper}", "upper"
        if qualifier in (Qualifier.more_than, Qualifier.at_least) and lower is None:
            yield f"{qualifier.value} needs a lower bound", "lower"
        if qualifier is Qualifier.between and (lower is None or upper is None):
            yield "between needs both a lower and an upper bound", "lower" if lower is None else "upper"
        if qualifier in (Qualifier.exact, Qualifier.approximately) and (lower is None or lower != upper):
            yield f"{qualifier.value} needs lower == upper", "upper"
        try:
            stated = parse_figure(self.value_text)
        except FigureSyntaxError as exc:
            yield str(exc), "value_text"
            return
        text = self.value_text
        if stated.qualifier is not qualifier:
            yield f"value_text {text!r} reads as {stated.qualifier.value}, not {qualifier.value}", "qualifier"
        for side in ("lower", "lower_inclusive", "upper", "upper_inclusive"):
            expected, actual = getattr(stated, side), getattr(self, side)
            if expected != actual:
                yield f"value_text {text!r} gives {side} = {_printed(expected)}, not {_printed(actual)}", side
        if (stated.currency == "USD") != (self.unit is Unit.USD):
            yield f"value_text {text!r} does not match unit {self.unit.value!r}", "unit"


def _printed(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)
