"""One small chart per kind of consistency check, drawn from the figures the check compares (as stated), with
the table of the same numbers: a sum stacks its parts against the total's range; a ratio places persons per
case per destination against the minimum and the band; a subset or restatement sets the two ranges on one
axis; a coverage lays the periods against the span they should tile."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from markupsafe import Markup

from app.web import charts
from app.web.charts import Bar, Part, Span, span_of


def _span_sum(spans: list[Span]) -> Span:
    lower = sum(s.lower or 0 for s in spans)
    upper = None if any(s.upper is None for s in spans) else sum(s.upper or 0 for s in spans)
    return Span(lower, upper, all(s.lower_inclusive for s in spans), all(s.upper_inclusive for s in spans))


def _label(metric: dict[str, Any]) -> str:
    dest, period = metric.get("destination") or {}, metric.get("period") or {}
    return str(dest.get("name") or period.get("iso") or metric["measure_label"]).split(" (")[0]


def _row(metric: dict[str, Any], role: str) -> dict[str, Any]:
    return {
        "id": metric["id"],
        "role": role,
        "label": _label(metric),
        "value_text": metric["value_text"],
        "lower": metric["lower"],
        "upper": metric["upper"],
        "unit": metric["unit"],
    }


def chart(check: dict[str, Any], by_id: dict[str, dict[str, Any]]) -> tuple[Markup | None, list[dict[str, Any]]]:
    """The chart for `check` and the rows of its table (the figures it compares, with their roles)."""
    inputs = [(by_id[m["metric_id"]], m["role"]) for m in check["metrics"] if m["metric_id"] in by_id]
    rows = [_row(m, role) for m, role in inputs if role != "reference"]
    title = check["statement"]
    desc = f"{check['explanation']} Arithmetic: {check['arithmetic']}"
    kind = check["kind"]
    if kind == "sum":
        parts = [Part(_label(m), span_of(m)) for m, role in inputs if role == "part"]
        total = _span_sum([span_of(m) for m, role in inputs if role == "total"])
        totals = [m for m, role in inputs if role == "total"]
        total_label = "reported total" if len(totals) == 1 else f"{len(totals)} figures summed"
        parts_label = f"{len(parts)} parts summed"
        return charts.stacked_against_total(parts, total, parts_label, total_label, title, desc), rows
    if kind in ("subset", "restatement"):
        # Labelled by role alone: the two figures often share a destination; the table beside names them.
        bars = [
            Bar(role, span_of(m), m["value_text"], "bar" if i == 0 else "bar-alt") for i, (m, role) in enumerate(inputs)
        ]
        return charts.range_rows(bars, title, desc), rows
    if kind == "ratio":
        return _ratio(check, inputs, title, desc), rows
    if kind == "coverage":
        return _coverage(check, inputs, title, desc), rows
    return None, rows


def destination_ratios(inputs: list[tuple[dict[str, Any], str]]) -> list[tuple[str, str, float]]:
    """(destination id, name, persons per case) from exact persons and cases figures of the same destination."""
    persons: dict[str, tuple[str, float]] = {}
    cases: dict[str, float] = {}
    for metric, _ in inputs:
        dest, span = metric.get("destination"), span_of(metric)
        if not dest or not span.exact or not span.lower:
            continue
        if metric["unit"] == "persons":
            persons[dest["id"]] = (dest["name"].split(" (")[0], span.lower)
        elif metric["unit"] == "cases":
            cases[dest["id"]] = span.lower
    return [(d, name, value / cases[d]) for d, (name, value) in persons.items() if d in cases]


def _ratio(check: dict[str, Any], inputs: list[tuple[dict[str, Any], str]], title: str, desc: str) -> Markup | None:
    ratios = sorted(destination_ratios(inputs), key=lambda r: r[2])
    if not ratios:
        return None
    own = {m["destination"]["id"] for m, role in inputs if role == "numerator" and m.get("destination")}
    highlight_all = len(own) > 1  # the check over every destination: none stands out
    minimum_match = re.search(r"at least ([\d.]+)", check["expected_text"])
    minimum = float(minimum_match.group(1)) if minimum_match else None
    band = None
    band_match = re.search(r"to ([\d.]+) times the median", check["expected_text"])
    if band_match and check["expected_value"]:
        factor = float(band_match.group(1))
        band = (check["expected_value"] / factor, check["expected_value"] * factor)
    points = [(name, value, not highlight_all and d in own) for d, name, value in ratios]
    return charts.ratio_band(points, minimum, band, title, desc)


def _year(value: Any, end: bool) -> float:
    day = dt.date.fromisoformat(str(value)[:10])
    return day.year + ((day - dt.date(day.year, 1, 1)).days + (1 if end else 0)) / 365.25


def _coverage(check: dict[str, Any], inputs: list[tuple[dict[str, Any], str]], title: str, desc: str) -> Markup | None:
    periods = [m["period"] for m, _ in inputs if m.get("period")]
    if not periods:
        return None
    parts = [(p["iso"], _year(p["start_date"], False), _year(p["end_date"], True)) for p in periods]
    match = re.match(r"(\d{4})/(\d{4})", check["expected_text"])
    if match:
        span = (f"span {match.group(0)}", float(match.group(1)), float(match.group(2)) + 1)
    else:
        span = ("span", min(p[1] for p in parts), max(p[2] for p in parts))
    return charts.timeline(parts, span, title, desc)
