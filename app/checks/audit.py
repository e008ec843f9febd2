"""Compute the consistency audit from the declarations in seed/checks.yaml and the seed's figures.

Every figure is taken as its stated range (app.checks.intervals), so a part-sum compared with a
"more than" total is judged against that bound, never as an equality with the bound's number.

Statuses, for every kind:
  fail  the figures, as printed, cannot all hold under the relation the check declares (holds = never);
  warn  they can, but a plausibility rule flags them: a ratio far from the other pairs' ratios, or a
        ratio range that straddles the minimum;
  pass  otherwise;
  info  whatever the outcome, when the declaration is `informative`: the text states no relation between the
        figures, so the comparison rests on our reading alone and says nothing against the source.
Every check carries the `assumptions` its declaration lists (app.checks.declarations.Declaration.declared).
A fail is information about the source; the loader reports it and loads the dataset all the same.

Ratio outliers: a pair's ratio is compared with the median of the *other* pairs' ratios (leave-one-out,
so an extreme value does not pull its own reference) and flagged when it is more than `outlier_factor`
times that median or less than the median divided by it. Ratios are multiplicative, so the band is
symmetric on a log scale. The seed sets the factor (3 for people per case: a ratio three times or a third
of the typical one is what a reader would call out of line; the nine destinations run from 2.98 to 14.5
people per case before the three values outside that band). A robust z-score (median absolute deviation
on log ratios, cut-off 3.5) was considered and rejected: with nine values this spread it flags nothing,
and a fixed factor is a rule a reader can recompute by hand from the `arithmetic` column.

Restatements: an exact or approximate restated figure ("1 Million") is read at its printed precision,
half a unit of its last printed digit either way (from 500,000 up to, not including, 1,500,000).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.checks.intervals import Number, Range, total
from app.checks.wording import range_text
from app.vocabulary import CheckKind, CheckRole, CheckStatus, Holds

Row = Mapping[str, Any]


@dataclass
class Audit:
    """The computed checks and their links to metrics, as rows of `checks` and `check_metrics`."""

    checks: list[dict[str, Any]] = field(default_factory=list)
    links: list[dict[str, Any]] = field(default_factory=list)

    def tables(self) -> dict[str, list[dict[str, Any]]]:
        return {"checks": self.checks, "check_metrics": self.links}

    def counts(self) -> dict[str, int]:
        return {s.value: sum(1 for c in self.checks if c["status"] == s.value) for s in CheckStatus}

    def summary(self) -> str:
        counts = self.counts()
        head = (
            f"consistency audit: {len(self.checks)} checks, {counts['pass']} pass, {counts['warn']} warn, "
            f"{counts['fail']} fail, {counts['info']} info (a fail is a finding about the source's figures, not a "
            "load error; info compares figures under our reading only)"
        )
        if not self.checks:
            return head
        width = max(len(c["id"]) for c in self.checks)
        lines = [head]
        for c in self.checks:
            lines.append(f"  {c['status']:<4}  {c['kind']:<11}  {c['id'].ljust(width)}  {c['explanation']}")
        return "\n".join(lines)


def metric_range(row: Row) -> Range:
    return Range.of_bounds(row["lower"], row["lower_inclusive"], row["upper"], row["upper_inclusive"])


def _differences(observed: Number | None, expected: Number | None) -> dict[str, float | None]:
    out: dict[str, float | None] = {
        "observed_value": None if observed is None else float(observed),
        "expected_value": None if expected is None else float(expected),
        "abs_difference": None,
        "rel_difference": None,
    }
    if observed is not None and expected is not None:
        diff = abs(observed - expected)
        out["abs_difference"] = float(diff)
        out["rel_difference"] = float(diff / abs(expected)) if expected else None
    return out


def status_of(holds: Holds, flagged: bool = False) -> CheckStatus:
    if holds is Holds.never:
        return CheckStatus.fail
    if flagged:
        return CheckStatus.warn
    return CheckStatus.passed


class Auditor:
    """Computes checks into an Audit; each kind of check (app.checks.kinds) adds its rows through `add`."""

    def __init__(self, tables: Mapping[str, Sequence[Row]]) -> None:
        self.metrics = {m["id"]: m for m in tables.get("metrics", ())}
        self.periods = {p["id"]: p for p in tables.get("periods", ())}
        self.destinations = {d["id"]: d for d in tables.get("destinations", ())}
        self.audit = Audit()

    def add(
        self,
        check_id: str,
        kind: CheckKind,
        statement: str,
        holds: Holds,
        status: CheckStatus,
        unit: str,
        expected_text: str,
        observed_text: str,
        values: tuple[Number | None, Number | None],
        arithmetic: str,
        explanation: str,
        links: Sequence[tuple[str, CheckRole]],
    ) -> None:
        self.audit.checks.append(
            {
                "id": check_id,
                "kind": kind.value,
                "position": len(self.audit.checks) + 1,
                "statement": statement,
                "status": status.value,
                "holds": holds.value,
                "unit": unit,
                "expected_text": expected_text,
                "observed_text": observed_text,
                **_differences(*values),
                "arithmetic": arithmetic,
                "explanation": explanation,
                "assumptions": [],
            }
        )
        for position, (metric_id, role) in enumerate(links, start=1):
            self.audit.links.append(
                {"check_id": check_id, "metric_id": metric_id, "role": role.value, "position": position}
            )

    def summed(self, ids: Sequence[str]) -> tuple[Range, str, str]:
        """The range of the summed figures, its text, and the addition that gives it."""
        rows = [self.metrics[i] for i in ids]
        summed = total(metric_range(r) for r in rows)
        if len(rows) == 1:
            return summed, rows[0]["value_text"], rows[0]["value_text"]
        text = range_text(summed)
        return summed, text, " + ".join(r["value_text"] for r in rows) + f" = {text}"
