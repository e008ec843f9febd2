"""Subsets: a sub-population can not exceed the population it is part of."""

from __future__ import annotations

from typing import ClassVar

from app.checks.audit import Auditor, metric_range, status_of
from app.checks.declarations import Declaration, Figures, Loc, Text
from app.checks.intervals import Number, at_most, gap, nearest_bounds
from app.checks.wording import capital, fmt
from app.vocabulary import CheckKind, CheckRole, Holds, Slug


class SubsetCheck(Declaration):
    """A sub-population can not exceed the population it is part of."""

    section: ClassVar[str] = "subsets"
    kind: ClassVar[CheckKind] = CheckKind.subset

    subset: Slug
    superset: Slug
    subset_label: Text = "the subset"
    superset_label: Text = "the total"

    def check(self, figures: Figures) -> None:
        named: list[tuple[Loc, str]] = [(("subset",), self.subset), (("superset",), self.superset)]
        figures.same_unit(self.id, figures.metrics_at(self.id, named)[::-1], "the superset is")
        figures.no_repeats(self.id, named)

    def audit(self, auditor: Auditor) -> None:
        sub_row, sup_row = auditor.metrics[self.subset], auditor.metrics[self.superset]
        sub, sup = metric_range(sub_row), metric_range(sup_row)
        sub_text, sup_text = sub_row["value_text"], sup_row["value_text"]
        holds = at_most(sub, sup)
        compared = f"{capital(self.subset_label)} ({sub_text}) against {self.superset_label} ({sup_text})"
        steps = [f"compared: {sub_text} <= {sup_text}"]
        values: tuple[Number | None, Number | None]
        if holds is Holds.always:
            assert sub.upper is not None and sup.lower is not None
            values = (sub.upper, sup.lower)
            steps.append(f"upper bound {fmt(sub.upper)} <= lower bound {fmt(sup.lower)}")
            explanation = (
                f"{compared}: within it for every value the bounds allow; the subset's upper bound "
                f"{fmt(sub.upper)} is {fmt(sup.lower - sub.upper)} below the total's lower bound {fmt(sup.lower)}."
            )
        elif holds is Holds.sometimes:
            pair = nearest_bounds(sub, sup)
            values = pair if pair else (None, None)
            explanation = f"{compared}: within it for some of the values the bounds allow"
            if sub.lower is not None and sup.lower is not None:
                steps.append(f"lower bounds: {fmt(sub.lower)} against {fmt(sup.lower)}")
                side = "below" if sub.lower <= sup.lower else "above"
                explanation += (
                    f"; the subset's lower bound {fmt(sub.lower)} is {fmt(abs(sup.lower - sub.lower))} {side} "
                    f"the total's {fmt(sup.lower)}"
                )
            if sub.upper is None:
                steps.append("upper bounds: none stated for the subset")
                explanation += ", and the subset states no upper bound"
            explanation += "."
        else:
            assert sub.lower is not None and sup.upper is not None
            values = (sub.lower, sup.upper)
            steps.append(f"lower bound {fmt(sub.lower)} > upper bound {fmt(sup.upper)}")
            explanation = (
                f"{compared}: larger for every value the bounds allow, by at least {fmt(gap(sub, sup))} "
                f"(the subset's lower bound {fmt(sub.lower)} against the total's upper bound {fmt(sup.upper)})."
            )
        auditor.add(
            self.id,
            CheckKind.subset,
            self.statement,
            holds,
            status_of(holds),
            sub_row["unit"],
            f"at most {self.superset_label} ({sup_text})",
            sub_text,
            values,
            "; ".join(steps),
            explanation,
            [(self.subset, CheckRole.subset), (self.superset, CheckRole.superset)],
        )
