"""Restatements: a figure stated again, usually coarser, agrees with the first statement.

An exact or approximate restated figure ("1 Million") is read at its printed precision, half a unit of its
last printed digit either way (from 500,000 up to, not including, 1,500,000)."""

from __future__ import annotations

from fractions import Fraction
from typing import ClassVar

from app.checks.audit import Auditor, metric_range, status_of
from app.checks.declarations import Declaration, Figures, Loc
from app.checks.intervals import Range, gap, intersection, nearest_bounds, within
from app.checks.wording import capital, fmt, range_text
from app.figures import printed_step
from app.vocabulary import CheckKind, CheckRole, Holds, Qualifier, Slug


class RestatementCheck(Declaration):
    """A figure stated again (`restated`, usually coarser) agrees with `stated`: every value of `stated` lies
    within what `restated` allows, an exact or approximate `restated` read at its printed precision."""

    section: ClassVar[str] = "restatements"
    kind: ClassVar[CheckKind] = CheckKind.restatement

    stated: Slug
    restated: Slug

    def check(self, figures: Figures) -> None:
        named: list[tuple[Loc, str]] = [(("stated",), self.stated), (("restated",), self.restated)]
        figures.same_unit(self.id, figures.metrics_at(self.id, named), "the stated figure is")
        figures.no_repeats(self.id, named)

    def audit(self, auditor: Auditor) -> None:
        stated_row, restated_row = auditor.metrics[self.stated], auditor.metrics[self.restated]
        stated, printed = metric_range(stated_row), metric_range(restated_row)
        stated_text, restated_text = stated_row["value_text"], restated_row["value_text"]
        reading = ""
        allowed = printed
        steps = []
        if restated_row["qualifier"] in (Qualifier.exact.value, Qualifier.approximately.value):
            step = printed_step(restated_text)
            assert printed.lower is not None
            allowed = Range(printed.lower - Fraction(step, 2), True, printed.lower + Fraction(step, 2), False)
            reading = f", read at its printed precision (to the nearest {fmt(step)}: {range_text(allowed)})"
            steps.append(
                f"{restated_text} to the nearest {fmt(step)}: {fmt(printed.lower)} +/- {fmt(Fraction(step, 2))} "
                f"= {range_text(allowed)}"
            )
        holds = within(stated, allowed)
        steps.append(f"compared: every value of {stated_text} within {range_text(allowed)}")
        pair = nearest_bounds(stated, printed)
        if pair is not None:
            steps.append(f"{fmt(pair[0])} - {fmt(pair[1])} = {fmt(pair[0] - pair[1])}")
        if holds is Holds.always:
            explanation = f"Every value of {stated_text} lies within {restated_text}{reading}"
        elif holds is Holds.sometimes:
            explanation = (
                f"{capital(restated_text)}{reading}, agrees with {stated_text} only for values "
                f"{range_text(intersection(stated, allowed))}"
            )
        else:
            explanation = (
                f"{capital(stated_text)} lies outside {restated_text}{reading}, {fmt(gap(stated, allowed))} apart"
            )
        if pair is not None and pair[0] != pair[1]:
            o, e = pair
            as_printed = "as an exact figure, " if reading else "its bound "
            explanation += f"; {as_printed}{fmt(e)} is {fmt(abs(o - e))} {'below' if e < o else 'above'} {fmt(o)}"
        explanation += "."
        auditor.add(
            self.id,
            CheckKind.restatement,
            self.statement,
            holds,
            status_of(holds),
            stated_row["unit"],
            f"{restated_text}: {range_text(allowed)}" if reading else restated_text,
            stated_text,
            pair if pair else (None, None),
            "; ".join(steps),
            explanation,
            [(self.stated, CheckRole.stated), (self.restated, CheckRole.restated)],
        )
