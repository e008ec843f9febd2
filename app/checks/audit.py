"""Compute the consistency audit from the declarations in seed/checks.yaml and the seed's figures.

Every figure is taken as its stated range (app.checks.intervals), so a part-sum compared with a
"more than" total is judged against that bound, never as an equality with the bound's number.

Statuses, for every kind:
  fail  the figures, as printed, cannot all hold under the relation the check declares (holds = never);
  warn  they can, but a plausibility rule flags them: a ratio far from the other pairs' ratios, or a
        ratio range that straddles the minimum;
  pass  otherwise.
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

import datetime as dt
import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

from app.checks.declarations import (
    CoverageCheck,
    Declarations,
    RatioCheck,
    RatioPair,
    RestatementCheck,
    SubsetCheck,
    SumCheck,
)
from app.checks.intervals import (
    Number,
    Range,
    at_most,
    entirely_below,
    equal,
    gap,
    intersection,
    less_than,
    median_range,
    nearest_bounds,
    quotient,
    total,
    within,
)
from app.vocabulary import CheckKind, CheckRole, CheckStatus, Holds, Qualifier

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
            f"{counts['fail']} fail (a fail is a finding about the source's figures, not a load error)"
        )
        if not self.checks:
            return head
        width = max(len(c["id"]) for c in self.checks)
        lines = [head]
        for c in self.checks:
            lines.append(f"  {c['status']:<4}  {c['kind']:<11}  {c['id'].ljust(width)}  {c['explanation']}")
        return "\n".join(lines)


# --- formatting ----------------------------------------------------------------------------


def fmt(value: Number | int | Decimal, places: int = 2) -> str:
    """1187000 -> '1,187,000'; Fraction(3, 4) -> '0.75'."""
    if value == int(value):
        return f"{int(value):,}"
    return f"{float(value):,.{places}f}"


def range_text(r: Range) -> str:
    if r.is_point:
        assert r.lower is not None
        return fmt(r.lower)
    if r.lower is not None and r.upper is not None and r.lower_inclusive and r.upper_inclusive:
        return f"between {fmt(r.lower)} and {fmt(r.upper)}"
    sides = []
    if r.lower is not None:
        sides.append(("at least " if r.lower_inclusive else "more than ") + fmt(r.lower))
    if r.upper is not None:
        sides.append(("at most " if r.upper_inclusive else "less than ") + fmt(r.upper))
    return " and ".join(sides) or "any value"


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


_PRINTED = re.compile(r"(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)(?:\s+(thousand|million|billion|trillion))?", re.IGNORECASE)
_MULTIPLIER = {"": 1, "thousand": 10**3, "million": 10**6, "billion": 10**9, "trillion": 10**12}


def printed_step(value_text: str) -> Number:
    """The place value of a figure's last printed digit: '1 Million' -> 1,000,000; '1,187,700' -> 100."""
    match = _PRINTED.search(value_text)
    if match is None:
        raise ValueError(f"no number in {value_text!r}")
    digits, word = match.group(1).replace(",", ""), (match.group(2) or "").lower()
    multiplier = _MULTIPLIER[word]
    if "." in digits:
        return Fraction(multiplier, 10 ** len(digits.split(".")[1]))
    stripped = digits.rstrip("0")
    zeros = len(digits) - len(stripped) if stripped else 0
    return Fraction(multiplier * 10**zeros)


# --- the computation -----------------------------------------------------------------------


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


def _status(holds: Holds, flagged: bool = False) -> CheckStatus:
    if holds is Holds.never:
        return CheckStatus.fail
    if flagged:
        return CheckStatus.warn
    return CheckStatus.passed


class _Auditor:
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
            }
        )
        for position, (metric_id, role) in enumerate(links, start=1):
            self.audit.links.append(
                {"check_id": check_id, "metric_id": metric_id, "role": role.value, "position": position}
            )

    def _text(self, ids: Sequence[str]) -> tuple[Range, str, str]:
        """The range of the summed figures, its text, and the addition that gives it."""
        rows = [self.metrics[i] for i in ids]
        summed = total(metric_range(r) for r in rows)
        if len(rows) == 1:
            return summed, rows[0]["value_text"], rows[0]["value_text"]
        text = range_text(summed)
        return summed, text, " + ".join(r["value_text"] for r in rows) + f" = {text}"

    # sums ------------------------------------------------------------------------------------

    def sum(self, s: SumCheck) -> None:
        parts, parts_text, parts_sum = self._text(s.parts)
        whole, whole_text, whole_sum = self._text(s.total)
        holds = equal(parts, whole) if s.relation == "equal" else at_most(parts, whole)
        pair = nearest_bounds(parts, whole)
        steps = [parts_sum]
        if len(s.total) > 1:
            steps.append(whole_sum)
        reading = "the parts make up the total" if s.relation == "equal" else "the parts are within the total"
        steps.append(f"compared: {parts_text} against {whole_text} ({reading})")
        if pair is not None:
            steps.append(f"{fmt(pair[0])} - {fmt(pair[1])} = {fmt(pair[0] - pair[1])}")
        label, whole_label = _capital(s.parts_label), s.total_label
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
                if s.relation == "at_most" and parts.lower is not None:
                    allowed = range_text(Range(parts.lower, parts.lower_inclusive, None, False))
                explanation += f", which allows a total of {allowed}"
            explanation += "."
        self.add(
            s.id,
            CheckKind.sum,
            s.statement,
            holds,
            _status(holds),
            self.metrics[s.parts[0]]["unit"],
            whole_text if s.relation == "equal" else f"at most {whole_label} ({whole_text})",
            parts_text,
            (pair[0], pair[1]) if pair else (None, None),
            "; ".join(steps),
            explanation,
            [(m, CheckRole.part) for m in s.parts] + [(m, CheckRole.total) for m in s.total],
        )

    # subsets ---------------------------------------------------------------------------------

    def subset(self, s: SubsetCheck) -> None:
        sub_row, sup_row = self.metrics[s.subset], self.metrics[s.superset]
        sub, sup = metric_range(sub_row), metric_range(sup_row)
        sub_text, sup_text = sub_row["value_text"], sup_row["value_text"]
        holds = at_most(sub, sup)
        compared = f"{_capital(s.subset_label)} ({sub_text}) against {s.superset_label} ({sup_text})"
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
        self.add(
            s.id,
            CheckKind.subset,
            s.statement,
            holds,
            _status(holds),
            sub_row["unit"],
            f"at most {s.superset_label} ({sup_text})",
            sub_text,
            values,
            "; ".join(steps),
            explanation,
            [(s.subset, CheckRole.subset), (s.superset, CheckRole.superset)],
        )

    # ratios ----------------------------------------------------------------------------------

    def _pair_label(self, pair: RatioPair) -> str:
        if pair.label:
            return pair.label
        destination = self.metrics[pair.numerator]["destination_id"]
        return str(self.destinations[destination]["label"]) if destination in self.destinations else pair.id

    def ratio(self, r: RatioCheck) -> None:
        ratios = {
            p.id: quotient(metric_range(self.metrics[p.numerator]), metric_range(self.metrics[p.denominator]))
            for p in r.pairs
        }
        num_unit = self.metrics[r.pairs[0].numerator]["unit"]
        den_unit = self.metrics[r.pairs[0].denominator]["unit"]
        minimum = None if r.minimum is None else Range.point(Fraction(r.minimum))
        factor = None if r.outlier_factor is None else Fraction(r.outlier_factor)

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

        expected_min = f"at least {fmt(r.minimum)}" if r.minimum is not None else None

        # the declaration's own check: summed numerators over summed denominators
        nums, nums_text, nums_sum = self._text([p.numerator for p in r.pairs])
        dens, dens_text, dens_sum = self._text([p.denominator for p in r.pairs])
        q = quotient(nums, dens)
        holds, verdict = against_minimum(q)
        steps = [nums_sum, dens_sum, f"{nums_text} / {dens_text} = {range_text(q)}"]
        explanation = (
            f"{nums_text} {num_unit} over {dens_text} {den_unit} across the {len(r.pairs)} pairs "
            f"is {range_text(q)} {r.unit}" + (f", {verdict}." if verdict else ".")
        )
        ref = nearest_bounds(q, minimum) if minimum is not None else None
        self.add(
            r.id,
            CheckKind.ratio,
            r.statement,
            holds,
            _status(holds, flagged=holds is Holds.sometimes),
            r.unit,
            expected_min or "a ratio",
            range_text(q),
            (ref[0], ref[1]) if ref else (q.lower, None),
            "; ".join(steps),
            explanation,
            [(p.numerator, CheckRole.numerator) for p in r.pairs]
            + [(p.denominator, CheckRole.denominator) for p in r.pairs],
        )

        for pair in r.pairs:
            q = ratios[pair.id]
            num_row, den_row = self.metrics[pair.numerator], self.metrics[pair.denominator]
            label = self._pair_label(pair)
            holds, verdict = against_minimum(q)
            clauses = [verdict] if verdict else []
            steps = [f"{num_row['value_text']} / {den_row['value_text']} = {range_text(q)}"]
            flagged = holds is Holds.sometimes
            expected = [expected_min] if expected_min else []
            values: tuple[Number | None, Number | None] = (q.lower, None)
            others = [p for p in r.pairs if p.id != pair.id]
            if factor is not None and others:
                others_q = [ratios[p.id] for p in others]
                reference = median_range(others_q)
                listed = ", ".join(
                    f"{self._pair_label(p)} {range_text(ratios[p.id])}"
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
                f"{_capital(label)}: {num_row['value_text']} {num_unit} over {den_row['value_text']} {den_unit} is "
                f"{range_text(q)} {r.unit}" + (", " + ", and ".join(clauses) if clauses else "") + "."
            )
            links = [(pair.numerator, CheckRole.numerator), (pair.denominator, CheckRole.denominator)]
            if factor is not None:
                links += [(p.numerator, CheckRole.reference) for p in others]
                links += [(p.denominator, CheckRole.reference) for p in others]
            self.add(
                pair.id,
                CheckKind.ratio,
                r.pair_statement.replace("{label}", label) if r.pair_statement else pair_statement(r, label),
                holds,
                _status(holds, flagged=flagged),
                r.unit,
                "; ".join(expected) or "a ratio",
                range_text(q),
                values,
                "; ".join(steps),
                explanation,
                links,
            )

    # coverage --------------------------------------------------------------------------------

    def coverage(self, c: CoverageCheck) -> None:
        span = self.periods[c.span]
        periods = sorted(
            ((self.periods[self.metrics[m]["period_id"]], m) for m in c.parts),
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
        self.add(
            c.id,
            CheckKind.coverage,
            c.statement,
            holds,
            _status(holds),
            "days",
            f"{span['iso']}, {span_days:,} days, no gap or overlap",
            f"{listed}, {sum(days):,} days",
            (sum(days), span_days),
            "; ".join(steps),
            explanation,
            [(m, CheckRole.part) for _, m in periods],
        )

    # restatements ----------------------------------------------------------------------------

    def restatement(self, s: RestatementCheck) -> None:
        stated_row, restated_row = self.metrics[s.stated], self.metrics[s.restated]
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
                f"{_capital(restated_text)}{reading}, agrees with {stated_text} only for values "
                f"{range_text(intersection(stated, allowed))}"
            )
        else:
            explanation = (
                f"{_capital(stated_text)} lies outside {restated_text}{reading}, {fmt(gap(stated, allowed))} apart"
            )
        if pair is not None and pair[0] != pair[1]:
            o, e = pair
            as_printed = "as an exact figure, " if reading else "its bound "
            explanation += f"; {as_printed}{fmt(e)} is {fmt(abs(o - e))} {'below' if e < o else 'above'} {fmt(o)}"
        explanation += "."
        self.add(
            s.id,
            CheckKind.restatement,
            s.statement,
            holds,
            _status(holds),
            stated_row["unit"],
            f"{restated_text}: {range_text(allowed)}" if reading else restated_text,
            stated_text,
            pair if pair else (None, None),
            "; ".join(steps),
            explanation,
            [(s.stated, CheckRole.stated), (s.restated, CheckRole.restated)],
        )


def _median_steps(ranges: Sequence[Range], median: Range) -> str:
    """'(4.44 + 6.57) / 2 = 5.50' for an even number of points; the median alone otherwise."""
    if len(ranges) % 2 or not all(r.is_point for r in ranges):
        return range_text(median)
    ordered = sorted(r.lower for r in ranges if r.lower is not None)
    mid = len(ordered) // 2
    return f"({fmt(ordered[mid - 1])} + {fmt(ordered[mid])}) / 2 = {range_text(median)}"


def pair_statement(r: RatioCheck, label: str) -> str:
    parts = [f"{_capital(r.unit)} for {label}"]
    if r.minimum is not None:
        parts.append(f"against the minimum of {fmt(r.minimum)}")
    if r.outlier_factor is not None:
        parts.append(f"and against the median of the other pairs (flagged beyond {fmt(r.outlier_factor)} times)")
    return " ".join(parts) + "."


def compute(declarations: Declarations, tables: Mapping[str, Sequence[Row]]) -> Audit:
    """Every declared check, computed from the seed's rows (declarations already validated)."""
    auditor = _Auditor(tables)
    for s in declarations.sums:
        auditor.sum(s)
    for sub in declarations.subsets:
        auditor.subset(sub)
    for r in declarations.ratios:
        auditor.ratio(r)
    for c in declarations.coverage:
        auditor.coverage(c)
    for rs in declarations.restatements:
        auditor.restatement(rs)
    return auditor.audit
