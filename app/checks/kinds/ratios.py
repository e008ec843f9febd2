"""Ratios: one check per pair (numerator / denominator), against a minimum and against the other pairs.

Outliers: a pair's ratio is compared with the median of the *other* pairs' ratios (leave-one-out, so an
extreme value does not pull its own reference) and flagged when it is more than `outlier_factor` times that
median or less than the median divided by it. Ratios are multiplicative, so the band is symmetric on a log
scale. The seed sets the factor (3 for people per case: a ratio three times or a third of the typical one is
what a reader would call out of line; the nine destinations run from 2.98 to 14.5 people per case before the
three values outside that band). A robust z-score (median absolute deviation on log ratios, cut-off 3.5) was
considered and rejected: with nine values this spread it flags nothing, and a fixed factor is a rule a reader
can recompute by hand from the `arithmetic` column."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from app.checks.audit import Auditor, metric_range, status_of
from app.checks.declarations import Declaration, Figures, Loc, Row, Text
from app.checks.intervals import Number, Range, at_most, less_than, median_range, nearest_bounds, quotient
from app.checks.wording import capital, fmt, range_text
from app.vocabulary import CheckKind, CheckRole, Holds, Slug


class RatioPair(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Slug
    numerator: Slug
    denominator: Slug
    label: Text | None = Field(default=None, description="Name of what the pair describes; default: its destination.")


class RatioCheck(Declaration):
    """One check per pair (numerator / denominator), judged against a minimum and against the other pairs;
    the declaration's own id is the check on the ratio of the summed numerators to the summed denominators."""

    section: ClassVar[str] = "ratios"
    kind: ClassVar[CheckKind] = CheckKind.ratio

    unit: Text
    pair_statement: Text | None = Field(default=None, description="Each pair's statement; {label} = the pair's name.")
    minimum: Decimal | None = Field(default=None, ge=0)
    outlier_factor: Decimal | None = Field(default=None, gt=1)
    pairs: list[RatioPair] = Field(min_length=1)

    def ids(self) -> list[tuple[str, Loc]]:
        return [(self.id, ("id",)), *((pair.id, ("pairs", i, "id")) for i, pair in enumerate(self.pairs))]

    def check(self, figures: Figures) -> None:
        numerators: list[tuple[Loc, Row | None]] = []
        denominators: list[tuple[Loc, Row | None]] = []
        for i, pair in enumerate(self.pairs):
            for role, bucket in (("numerator", numerators), ("denominator", denominators)):
                loc: Loc = ("pairs", i, role)
                row = figures.metric(self.id, loc, getattr(pair, role))
                bucket.append((loc, row))
                if row is None:
                    continue
                if row["lower"] is None or row["upper"] is None:
                    figures.add(self.id, loc, f"a ratio needs figures with both bounds; {row['id']!r} is open")
                if role == "denominator" and row["lower"] is not None and row["lower"] <= 0:
                    figures.add(self.id, loc, f"denominator {row['id']!r} can be zero or less")
                if role == "numerator" and row["lower"] is not None and row["lower"] < 0:
                    figures.add(self.id, loc, f"numerator {row['id']!r} can be negative")
        figures.same_unit(self.id, numerators, "the first numerator is")
        figures.same_unit(self.id, denominators, "the first denominator is")
        figures.no_repeats(
            self.id,
            [(("pairs", i, "numerator"), p.numerator) for i, p in enumerate(self.pairs)]
            + [(("pairs", i, "denominator"), p.denominator) for i, p in enumerate(self.pairs)],
        )
        if self.outlier_factor is not None and len(self.pairs) < 3:
            figures.add(self.id, ("outlier_factor",), "an outlier test needs at least 3 pairs")

    def audit(self, auditor: Auditor) -> None:
        ratios = {
            p.id: quotient(metric_range(auditor.metrics[p.numerator]), metric_range(auditor.metrics[p.denominator]))
            for p in self.pairs
        }
        num_unit = auditor.metrics[self.pairs[0].numerator]["unit"]
        den_unit = auditor.metrics[self.pairs[0].denominator]["unit"]
        minimum = None if self.minimum is None else Range.point(Fraction(self.minimum))
        factor = None if self.outlier_factor is None else Fraction(self.outlier_factor)

        def against_minimum(q: Range) -> tuple[Holds, str | None]:
            if minimum is None:
                return Holds.always, None
            holds = at_most(minimum, q)
            if holds is Holds.always:
                return holds, f"at least the minimum of {fmt(minimum.lower or 0)}"
            fewer = f" (more {den_unit} than {num_unit})" if minimum.lower == 1 else ""
            if holds is Holds.never:
                return holds, f"below the minimum of {fmt(minimum.lower or 0)}{fewer}"
            return holds, f"partly below the minimum of {fmt(minimum.lower or 0)}{fewer}"

        expected_min = f"at least {fmt(self.minimum)}" if self.minimum is not None else None

        # the declaration's own check: summed numerators over summed denominators
        nums, nums_text, nums_sum = auditor.summed([p.numerator for p in self.pairs])
        dens, dens_text, dens_sum = auditor.summed([p.denominator for p in self.pairs])
        q = quotient(nums, dens)
        holds, verdict = against_minimum(q)
        steps = [nums_sum, dens_sum, f"{nums_text} / {dens_text} = {range_text(q)}"]
        explanation = (
            f"{nums_text} {num_unit} over {dens_text} {den_unit} across the {len(self.pairs)} pairs "
            f"is {range_text(q)} {self.unit}" + (f", {verdict}." if verdict else ".")
        )
        ref = nearest_bounds(q, minimum) if minimum is not None else None
        auditor.add(
            self.id,
            CheckKind.ratio,
            self.statement,
            holds,
            status_of(holds, flagged=holds is Holds.sometimes),
            self.unit,
            expected_min or "a ratio",
            range_text(q),
            (ref[0], ref[1]) if ref else (q.lower, None),
            "; ".join(steps),
            explanation,
            [(p.numerator, CheckRole.numerator) for p in self.pairs]
            + [(p.denominator, CheckRole.denominator) for p in self.pairs],
        )

        for pair in self.pairs:
            q = ratios[pair.id]
            num_row, den_row = auditor.metrics[pair.numerator], auditor.metrics[pair.denominator]
            label = _pair_label(auditor, pair)
            holds, verdict = against_minimum(q)
            clauses = [verdict] if verdict else []
            steps = [f"{num_row['value_text']} / {den_row['value_text']} = {range_text(q)}"]
            flagged = holds is Holds.sometimes
            expected = [expected_min] if expected_min else []
            values: tuple[Number | None, Number | None] = (q.lower, None)
            others = [p for p in self.pairs if p.id != pair.id]
            if factor is not None and others:
                others_q = [ratios[p.id] for p in others]
                reference = median_range(others_q)
                listed = ", ".join(
                    f"{_pair_label(auditor, p)} {range_text(ratios[p.id])}"
                    for p in sorted(others, key=lambda p: (ratios[p.id].lower or 0, p.id))
                )
                steps.append(f"the other {len(others)}: {listed}; median {_median_steps(others_q, reference)}")
                high = less_than(reference.scaled(factor), q) is Holds.always
                low = less_than(q, reference.scaled(1 / factor)) is Holds.always
                flagged = flagged or high or low
                pair_values = nearest_bounds(q, reference)
                assert pair_values is not None
                values = pair_values
                times = Fraction(values[0]) / values[1] if values[1] else None
                times_text = f"{fmt(times)} times" if times is not None else "a multiple of"
                if times is not None:
                    steps.append(f"{fmt(values[0])} / {fmt(values[1])} = {fmt(times)}")
                band = f"{fmt(1 / factor)} to {fmt(factor)} times"
                expected.append(f"{band} the median of the other {len(others)} ({range_text(reference)})")
                position = "outside" if high or low else "within"
                clauses.append(
                    f"{times_text} the median of the other {len(others)} ({range_text(reference)}), "
                    f"{position} the band of {band}"
                )
            explanation = (
                f"{capital(label)}: {num_row['value_text']} {num_unit} over {den_row['value_text']} {den_unit} is "
                f"{range_text(q)} {self.unit}" + (", " + ", and ".join(clauses) if clauses else "") + "."
            )
            links = [(pair.numerator, CheckRole.numerator), (pair.denominator, CheckRole.denominator)]
            if factor is not None:
                links += [(p.numerator, CheckRole.reference) for p in others]
                links += [(p.denominator, CheckRole.reference) for p in others]
            auditor.add(
                pair.id,
                CheckKind.ratio,
                self.pair_statement.replace("{label}", label) if self.pair_statement else pair_statement(self, label),
                holds,
                status_of(holds, flagged=flagged),
                self.unit,
                "; ".join(expected) or "a ratio",
                range_text(q),
                values,
                "; ".join(steps),
                explanation,
                links,
            )


def _pair_label(auditor: Auditor, pair: RatioPair) -> str:
    if pair.label:
        return pair.label
    destination = auditor.metrics[pair.numerator]["destination_id"]
    return str(auditor.destinations[destination]["label"]) if destination in auditor.destinations else pair.id


def _median_steps(ranges: Sequence[Range], median: Range) -> str:
    """'(4.44 + 6.57) / 2 = 5.50' for an even number of points; the median alone otherwise."""
    if len(ranges) % 2 or not all(r.is_point for r in ranges):
        return range_text(median)
    ordered = sorted(r.lower for r in ranges if r.lower is not None)
    mid = len(ordered) // 2
    return f"({fmt(ordered[mid - 1])} + {fmt(ordered[mid])}) / 2 = {range_text(median)}"


def pair_statement(r: RatioCheck, label: str) -> str:
    parts = [f"{capital(r.unit)} for {label}"]
    if r.minimum is not None:
        parts.append(f"against the minimum of {fmt(r.minimum)}")
    if r.outlier_factor is not None:
        parts.append(f"and against the median of the other pairs (flagged beyond {fmt(r.outlier_factor)} times)")
    return " ".join(parts) + "."
