"""Coverage: the periods of some figures tile a span, with no gap and no overlap."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import ClassVar

from pydantic import Field

from app.checks.audit import Auditor, status_of
from app.checks.declarations import Declaration, Figures, at
from app.vocabulary import CheckKind, CheckRole, Holds, Slug


class CoverageCheck(Declaration):
    """The periods of `parts` tile the period `span`: no gap, no overlap, same ends."""

    section: ClassVar[str] = "coverage"
    kind: ClassVar[CheckKind] = CheckKind.coverage

    parts: list[Slug] = Field(min_length=1)
    span: Slug

    def check(self, figures: Figures) -> None:
        if self.span not in figures.periods:
            figures.add(self.id, ("span",), f"unknown period {self.span!r}")
        for loc, row in figures.metrics_at(self.id, at("parts", self.parts)):
            if row is not None and row["period_id"] is None:
                figures.add(self.id, loc, f"metric {row['id']!r} has no period")
        figures.no_repeats(self.id, at("parts", self.parts))

    def audit(self, auditor: Auditor) -> None:
        span = auditor.periods[self.span]
        periods = sorted(
            ((auditor.periods[auditor.metrics[m]["period_id"]], m) for m in self.parts),
            key=lambda pm: (pm[0]["start_date"], pm[0]["end_date"]),
        )
        gaps: list[str] = []
        overlaps: list[str] = []
        beyond: list[str] = []
        days = [(p["end_date"] - p["start_date"]).days + 1 for p, _ in periods]
        span_days = (span["end_date"] - span["start_date"]).days + 1
        start = periods[0][0]["start_date"]
        if start > span["start_date"]:
            gaps.append(
                f"{span['start_date']} to {start - dt.timedelta(days=1)}: {(start - span['start_date']).days} days"
            )
        if start < span["start_date"]:
            beyond.append(f"from {start}, before the span starts")
        reach = periods[0][0]["end_date"]
        for _, (nxt, _) in itertools.pairwise(periods):
            step = (nxt["start_date"] - reach).days
            if step > 1:
                first_missing = reach + dt.timedelta(days=1)
                gaps.append(f"{first_missing} to {nxt['start_date'] - dt.timedelta(days=1)}: {step - 1} days")
            elif step < 1:
                overlap_end = min(reach, nxt["end_date"])
                overlaps.append(
                    f"{nxt['start_date']} to {overlap_end}: {(overlap_end - nxt['start_date']).days + 1} days"
                )
            reach = max(reach, nxt["end_date"])
        if reach < span["end_date"]:
            gaps.append(f"{reach + dt.timedelta(days=1)} to {span['end_date']}: {(span['end_date'] - reach).days} days")
        if reach > span["end_date"]:
            beyond.append(f"to {reach}, after the span ends")
        holds = Holds.never if gaps or overlaps or beyond else Holds.always
        names = [p["iso"] for p, _ in periods]
        listed = ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else names[0]
        steps = [
            " + ".join(
                f"{p['start_date']}..{p['end_date']} ({d:,} days)" for (p, _), d in zip(periods, days, strict=True)
            )
            + f" = {sum(days):,} days",
            f"span {span['start_date']}..{span['end_date']} = {span_days:,} days",
            "gaps: " + ("; ".join(gaps) or "none"),
            "overlaps: " + ("; ".join(overlaps) or "none"),
        ]
        if beyond:
            steps.append("outside the span: " + "; ".join(beyond))
        if holds is Holds.always:
            explanation = (
                f"{listed} tile {span['iso']}: each period starts the day after the previous one ends, "
                f"with no gap and no overlap ({sum(days):,} of {span_days:,} days)."
            )
        else:
            found = [f"gaps: {'; '.join(gaps)}"] if gaps else []
            found += [f"overlaps: {'; '.join(overlaps)}"] if overlaps else []
            found += [f"outside the span: {'; '.join(beyond)}"] if beyond else []
            explanation = f"{listed} do not tile {span['iso']}: " + "; ".join(found) + "."
        auditor.add(
            self.id,
            CheckKind.coverage,
            self.statement,
            holds,
            status_of(holds),
            "days",
            f"{span['iso']}, {span_days:,} days, no gap or overlap",
            f"{listed}, {sum(days):,} days",
            (sum(days), span_days),
            "; ".join(steps),
            explanation,
            [(m, CheckRole.part) for _, m in periods],
        )
