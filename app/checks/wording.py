"""How the audit prints numbers and ranges in its explanations."""

from __future__ import annotations

from decimal import Decimal

from app.checks.intervals import Number, Range


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


def capital(text: str) -> str:
    return text[:1].upper() + text[1:]
