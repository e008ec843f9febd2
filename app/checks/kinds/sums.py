"""Sums: the parts, summed, against a total (one figure, or several summed)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from app.checks.audit import Auditor, status_of
from app.checks.declarations import Declaration, Figures, Text, at
from app.checks.intervals import Range, at_most, entirely_below, equal, gap, nearest_bounds
from app.checks.wording import capital, fmt, range_text
from app.vocabulary import CheckKind, CheckRole, Holds, Slug


class SumCheck(Declaration):
    """The parts, summed, against a total (one figure, or several summed).

    relation `equal`: the parts make up the total; `at_most`: the parts are within it (a selection)."""

    section: ClassVar[str] = "sums"
    kind: ClassVar[CheckKind] = CheckKind.sum

    relation: Literal["equal", "at_most"]
    parts: list[Slug] = Field(min_length=2)
    total: list[Slug] = Field(min_length=1)
    parts_label: Text = "the parts"
    total_label: Text = "the total"

    def check(self, figures: Figures) -> None:
        named = at("parts", self.parts) + at("total", self.total)
        figures.same_unit(self.id, figures.metrics_at(self.id, named), "the first part is")
        figures.no_repeats(self.id, named)

    def audit(self, auditor: Auditor) -> None:
        parts, parts_text, parts_sum = auditor.summed(self.parts)
        whole, whole_text, whole_sum = auditor.summed(self.total)
        holds = equal(parts, whole) if self.relation == "equal" else at_most(parts, whole)
        pair = nearest_bounds(parts, whole)
        steps = [parts_sum]
        if len(self.total) > 1:
            steps.append(whole_sum)
        reading = "the parts make up the total" if self.relation == "equal" else "the parts are within the total"
        steps.append(f"compared: {parts_text} against {whole_text} ({reading})")
        if pair is not None:
            steps.append(f"{fmt(pair[0])} - {fmt(pair[1])} = {fmt(pair[0] - pair[1])}")
        label, whole_label = capital(self.parts_label), self.total_label
        if holds is Holds.never:
            distance = gap(parts, whole)
            side = "below" if entirely_below(parts, whole) else "above"
            explanation = f"{label} sum to {parts_text}, {fmt(distance)} {side} {whole_label} of {whole_text}."
        else:
            assert pair is not None
            o, e = pair
            if whole.is_point:
                at = f"{whole_label} of {whole_text}"
            else:
                at = f"the {'lower' if e == whole.lower else 'upper'} bound of {whole_label} of {whole_text}"
            where = "equal to" if o == e else f"{fmt(abs(o - e))} {'above' if o > e else 'below'}"
            explanation = f"{label} sum to {parts_text}, {where} {at}"
            if holds is Holds.sometimes:
                allowed = parts_text
                if self.relation == "at_most" and parts.lower is not None:
                    allowed = range_text(Range(parts.lower, parts.lower_inclusive, None, False))
                explanation += f", which allows a total of {allowed}"
            explanation += "."
        auditor.add(
            self.id,
            CheckKind.sum,
            self.statement,
            holds,
            status_of(holds),
            auditor.metrics[self.parts[0]]["unit"],
            whole_text if self.relation == "equal" else f"at most {whole_label} ({whole_text})",
            parts_text,
            (pair[0], pair[1]) if pair else (None, None),
            "; ".join(steps),
            explanation,
            [(m, CheckRole.part) for m in self.parts] + [(m, CheckRole.total) for m in self.total],
        )
