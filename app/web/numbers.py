"""Numbers and bounds in words, as the pages print them (never rounder than the source)."""

from __future__ import annotations

from typing import Any

UNIT_WORDS = {"persons": "persons", "cases": "cases", "USD": "US dollars"}


def grouped(value: float | int | None) -> str:
    """1187700 -> '1,187,700'; a fraction keeps two decimals; None -> ''."""
    if value is None:
        return ""
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.2f}"
    return f"{int(value):,}"


def bounds_words(metric: dict[str, Any]) -> str:
    """The stated range in words: 'more than 1,187,700; no upper bound stated', 'exactly 225,000 as printed'."""
    lower, upper = metric.get("lower"), metric.get("upper")
    if lower is None and upper is None:
        return "no bounds stated"
    if lower is not None and lower == upper:
        return f"{grouped(lower)}, stated as an exact figure"
    parts = []
    if lower is not None:
        parts.append(("at least " if metric.get("lower_inclusive") else "more than ") + grouped(lower))
    else:
        parts.append("no lower bound stated")
    if upper is not None:
        parts.append(("at most " if metric.get("upper_inclusive") else "less than ") + grouped(upper))
    else:
        parts.append("no upper bound stated")
    return "; ".join(parts)


def unit_words(unit: str | None) -> str:
    return UNIT_WORDS.get(unit or "", unit or "")
