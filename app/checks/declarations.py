"""What seed/checks.yaml may declare, one model per section, and the cross-checks against the figures
(unknown metric, unit mismatch, ...) that make a declaration invalid. The seed reader turns each
`Problem` into a SeedError with file, entry, line and field."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence, Set
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=100)]
Text = Annotated[str, StringConstraints(min_length=1)]

SECTIONS = ("sums", "subsets", "ratios", "coverage", "restatements")


class _Declaration(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Slug
    statement: Text


class SumCheck(_Declaration):
    """The parts, summed, against a total (one figure, or several summed).

    relation `equal`: the parts make up the total; `at_most`: the parts are within it (a selection)."""

    relation: Literal["equal", "at_most"]
    parts: list[Slug] = Field(min_length=2)
    total: list[Slug] = Field(min_length=1)
    parts_label: Text = "the parts"
    total_label: Text = "the total"


class SubsetCheck(_Declaration):
    """A sub-population can not exceed the population it is part of."""

    subset: Slug
    superset: Slug
    subset_label: Text = "the subset"
    superset_label: Text = "the total"


class RatioPair(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Slug
    numerator: Slug
    denominator: Slug
    label: Text | None = Field(default=None, description="Name of what the pair describes; default: its destination.")


class RatioCheck(_Declaration):
    """One check per pair (numerator / denominator), judged against a minimum and against the other pairs;
    the declaration's own id is the check on the ratio of the summed numerators to the summed denominators."""

    unit: Text
    pair_statement: Text | None = Field(default=None, description="Each pair's statement; {label} = the pair's name.")
    minimum: Decimal | None = Field(default=None, ge=0)
    outlier_factor: Decimal | None = Field(default=None, gt=1)
    pairs: list[RatioPair] = Field(min_length=1)


class CoverageCheck(_Declaration):
    """The periods of `parts` tile the period `span`: no gap, no overlap, same ends."""

    parts: list[Slug] = Field(min_length=1)
    span: Slug


class RestatementCheck(_Declaration):
    """A figure stated again (`restated`, usually coarser) agrees with `stated`: every value of `stated` lies
    within what `restated` allows, an exact or approximate `restated` read at its printed precision."""

    stated: Slug
    restated: Slug


@dataclass
class Declarations:
    sums: list[SumCheck] = field(default_factory=list)
    subsets: list[SubsetCheck] = field(default_factory=list)
    ratios: list[RatioCheck] = field(default_factory=list)
    coverage: list[CoverageCheck] = field(default_factory=list)
    restatements: list[RestatementCheck] = field(default_factory=list)

    def all(self) -> Iterator[_Declaration]:
        yield from self.sums
        yield from self.subsets
        yield from self.ratios
        yield from self.coverage
        yield from self.restatements


SECTION_MODELS: dict[str, type[_Declaration]] = {
    "sums": SumCheck,
    "subsets": SubsetCheck,
    "ratios": RatioCheck,
    "coverage": CoverageCheck,
    "restatements": RestatementCheck,
}


@dataclass(frozen=True)
class Problem:
    check_id: str
    loc: tuple[str | int, ...]
    reason: str


def problems(
    declarations: Declarations,
    metrics: Mapping[str, Mapping[str, Any]],
    periods: Mapping[str, Mapping[str, Any]],
    invalid_metrics: Set[str] = frozenset(),
) -> list[Problem]:
    """Everything that makes a declaration unusable, given the seed's valid metric and period rows by id.

    References to `invalid_metrics` (declared, but with errors of their own) are not reported again."""
    out: list[Problem] = []

    def metric(check_id: str, loc: tuple[str | int, ...], metric_id: str) -> Mapping[str, Any] | None:
        row = metrics.get(metric_id)
        if row is None and metric_id not in invalid_metrics:
            out.append(Problem(check_id, loc, f"unknown metric {metric_id!r}"))
        return row

    def same_unit(
        check_id: str, rows: Sequence[tuple[tuple[str | int, ...], Mapping[str, Any] | None]], what: str
    ) -> None:
        known = [(loc, row) for loc, row in rows if row is not None]
        if not known:
            return
        unit = known[0][1]["unit"]
        for loc, row in known[1:]:
            if row["unit"] != unit:
                out.append(
                    Problem(check_id, loc, f"unit mismatch: {row['id']!r} is in {row['unit']}, {what} in {unit}")
                )

    def no_repeats(check_id: str, field_ids: Sequence[tuple[tuple[str | int, ...], str]]) -> None:
        seen: set[str] = set()
        for loc, metric_id in field_ids:
            if metric_id in seen:
                out.append(Problem(check_id, loc, f"metric {metric_id!r} appears more than once in this check"))
            seen.add(metric_id)

    for s in declarations.sums:
        parts = [(("parts", i), metric(s.id, ("parts", i), m)) for i, m in enumerate(s.parts)]
        totals = [(("total", i), metric(s.id, ("total", i), m)) for i, m in enumerate(s.total)]
        same_unit(s.id, parts + totals, "the first part is")
        no_repeats(
            s.id,
            [(("parts", i), m) for i, m in enumerate(s.parts)] + [(("total", i), m) for i, m in enumerate(s.total)],
        )

    for sub in declarations.subsets:
        rows = [
            (("subset",), metric(sub.id, ("subset",), sub.subset)),
            (("superset",), metric(sub.id, ("superset",), sub.superset)),
        ]
        same_unit(sub.id, rows[::-1], "the superset is")
        no_repeats(sub.id, [(("subset",), sub.subset), (("superset",), sub.superset)])

    for r in declarations.ratios:
        nums: list[tuple[tuple[str | int, ...], Mapping[str, Any] | None]] = []
        dens: list[tuple[tuple[str | int, ...], Mapping[str, Any] | None]] = []
        for i, pair in enumerate(r.pairs):
            for role, bucket in (("numerator", nums), ("denominator", dens)):
                loc: tuple[str | int, ...] = ("pairs", i, role)
                row = metric(r.id, loc, getattr(pair, role))
                bucket.append((loc, row))
                if row is not None and (row["lower"] is None or row["upper"] is None):
                    out.append(Problem(r.id, loc, f"a ratio needs figures with both bounds; {row['id']!r} is open"))
                if row is not None and role == "denominator" and row["lower"] is not None and row["lower"] <= 0:
                    out.append(Problem(r.id, loc, f"denominator {row['id']!r} can be zero or less"))
                if row is not None and role == "numerator" and row["lower"] is not None and row["lower"] < 0:
                    out.append(Problem(r.id, loc, f"numerator {row['id']!r} can be negative"))
        same_unit(r.id, nums, "the first numerator is")
        same_unit(r.id, dens, "the first denominator is")
        no_repeats(
            r.id,
            [(("pairs", i, "numerator"), p.numerator) for i, p in enumerate(r.pairs)]
            + [(("pairs", i, "denominator"), p.denominator) for i, p in enumerate(r.pairs)],
        )
        if r.outlier_factor is not None and len(r.pairs) < 3:
            out.append(Problem(r.id, ("outlier_factor",), "an outlier test needs at least 3 pairs"))

    for c in declarations.coverage:
        if c.span not in periods:
            out.append(Problem(c.id, ("span",), f"unknown period {c.span!r}"))
        for i, metric_id in enumerate(c.parts):
            row = metric(c.id, ("parts", i), metric_id)
            if row is not None and row["period_id"] is None:
                out.append(Problem(c.id, ("parts", i), f"metric {metric_id!r} has no period"))
        no_repeats(c.id, [(("parts", i), m) for i, m in enumerate(c.parts)])

    for rs in declarations.restatements:
        rows = [
            (("stated",), metric(rs.id, ("stated",), rs.stated)),
            (("restated",), metric(rs.id, ("restated",), rs.restated)),
        ]
        same_unit(rs.id, rows, "the stated figure is")
        no_repeats(rs.id, [(("stated",), rs.stated), (("restated",), rs.restated)])

    # ids are one namespace across sections and ratio pairs (duplicates within a section the reader reports)
    where: dict[str, list[tuple[str, str, tuple[str | int, ...]]]] = {}
    for section in SECTIONS:
        for d in getattr(declarations, section):
            where.setdefault(d.id, []).append((section, d.id, ("id",)))
    for r in declarations.ratios:
        for i, pair in enumerate(r.pairs):
            where.setdefault(pair.id, []).append(("pairs", r.id, ("pairs", i, "id")))
    for check_id, places in where.items():
        sections = {section for section, _, _ in places}
        if len(places) > 1 and (len(sections) > 1 or "pairs" in sections):
            for _, owner, loc in places:
                out.append(Problem(owner, loc, f"check id {check_id!r} is declared {len(places)} times"))
    return out
