"""Bound-aware arithmetic on figures as reported: each figure is a real interval ("more than 1,187,700"
is (1187700, +inf)), sums and quotients are interval sums and quotients, and every comparison answers in
three values: the relation holds for every pair of values the bounds allow, for some, or for none.

Pure and exact (Fractions, no floats). An open bound (None) is infinite on its side.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction

from app.vocabulary import Holds

Number = Fraction
Bound = int | Fraction


@dataclass(frozen=True)
class Range:
    """A non-empty real interval. `lower=None` is -inf, `upper=None` is +inf (never inclusive)."""

    lower: Number | None
    lower_inclusive: bool
    upper: Number | None
    upper_inclusive: bool

    def __post_init__(self) -> None:
        for side in ("lower", "upper"):
            value = getattr(self, side)
            if value is not None and not isinstance(value, Fraction):
                object.__setattr__(self, side, Fraction(value))
        if self.lower is None and self.lower_inclusive:
            raise ValueError("an infinite lower bound cannot be inclusive")
        if self.upper is None and self.upper_inclusive:
            raise ValueError("an infinite upper bound cannot be inclusive")
        if self.lower is not None and self.upper is not None:
            if self.lower > self.upper:
                raise ValueError(f"empty range: lower {self.lower} > upper {self.upper}")
            if self.lower == self.upper and not (self.lower_inclusive and self.upper_inclusive):
                raise ValueError(f"empty range: ({self.lower}, {self.upper}) with an open end")

    @classmethod
    def point(cls, value: Bound) -> Range:
        return cls(Fraction(value), True, Fraction(value), True)

    @classmethod
    def more_than(cls, value: Bound) -> Range:
        return cls(Fraction(value), False, None, False)

    @classmethod
    def at_least(cls, value: Bound) -> Range:
        return cls(Fraction(value), True, None, False)

    @classmethod
    def between(cls, lower: Bound, upper: Bound) -> Range:
        return cls(Fraction(lower), True, Fraction(upper), True)

    @classmethod
    def of_bounds(
        cls, lower: Bound | None, lower_inclusive: bool | None, upper: Bound | None, upper_inclusive: bool | None
    ) -> Range:
        """From a metric's stored bounds (a null flag goes with a null bound)."""
        return cls(
            None if lower is None else Fraction(lower),
            bool(lower_inclusive) and lower is not None,
            None if upper is None else Fraction(upper),
            bool(upper_inclusive) and upper is not None,
        )

    @property
    def is_point(self) -> bool:
        return self.lower is not None and self.lower == self.upper

    @property
    def bounded(self) -> bool:
        return self.lower is not None and self.upper is not None

    def __add__(self, other: Range) -> Range:
        lower = None if self.lower is None or other.lower is None else self.lower + other.lower
        upper = None if self.upper is None or other.upper is None else self.upper + other.upper
        return Range(
            lower,
            lower is not None and self.lower_inclusive and other.lower_inclusive,
            upper,
            upper is not None and self.upper_inclusive and other.upper_inclusive,
        )

    def scaled(self, factor: Bound) -> Range:
        """Multiplied by a positive constant."""
        if factor <= 0:
            raise ValueError("scale factor must be positive")
        return Range(
            None if self.lower is None else self.lower * factor,
            self.lower_inclusive,
            None if self.upper is None else self.upper * factor,
            self.upper_inclusive,
        )

    def contains(self, value: Bound) -> bool:
        above = self.lower is None or value > self.lower or (value == self.lower and self.lower_inclusive)
        below = self.upper is None or value < self.upper or (value == self.upper and self.upper_inclusive)
        return above and below

    def finite_bounds(self) -> tuple[Number, ...]:
        return tuple(b for b in (self.lower, self.upper) if b is not None)


def total(ranges: Iterable[Range]) -> Range:
    """The range of a sum: lowers add up, uppers add up; one open bound makes that side of the sum open."""
    out = Range.point(0)
    for r in ranges:
        out = out + r
    return out


def quotient(numerator: Range, denominator: Range) -> Range:
    """The range of n / d for non-negative n and positive d."""
    if numerator.lower is None or numerator.lower < 0:
        raise ValueError("the numerator must be non-negative")
    if denominator.lower is None or denominator.lower <= 0:
        raise ValueError("the denominator must be positive")
    if denominator.upper is None:
        lower = Fraction(0)
        lower_inclusive = numerator.lower == 0 and numerator.lower_inclusive
    else:
        lower = numerator.lower / denominator.upper
        lower_inclusive = numerator.lower_inclusive and denominator.upper_inclusive
    if numerator.upper is None:
        return Range(lower, lower_inclusive, None, False)
    upper = numerator.upper / denominator.lower
    return Range(lower, lower_inclusive, upper, numerator.upper_inclusive and denominator.lower_inclusive)


def entirely_below(a: Range, b: Range) -> bool:
    """Every value of `a` is less than every value of `b` (they share no value)."""
    if a.upper is None or b.lower is None:
        return False
    return a.upper < b.lower or (a.upper == b.lower and not (a.upper_inclusive and b.lower_inclusive))


def intersects(a: Range, b: Range) -> bool:
    return not (entirely_below(a, b) or entirely_below(b, a))


def intersection(a: Range, b: Range) -> Range:
    """The values both ranges allow (they must intersect)."""
    if not intersects(a, b):
        raise ValueError("the ranges share no value")
    if a.lower is None or (b.lower is not None and b.lower > a.lower):
        lower, lower_inclusive = b.lower, b.lower_inclusive
    elif b.lower is None or a.lower > b.lower:
        lower, lower_inclusive = a.lower, a.lower_inclusive
    else:
        lower, lower_inclusive = a.lower, a.lower_inclusive and b.lower_inclusive
    if a.upper is None or (b.upper is not None and b.upper < a.upper):
        upper, upper_inclusive = b.upper, b.upper_inclusive
    elif b.upper is None or a.upper < b.upper:
        upper, upper_inclusive = a.upper, a.upper_inclusive
    else:
        upper, upper_inclusive = a.upper, a.upper_inclusive and b.upper_inclusive
    return Range(lower, lower_inclusive, upper, upper_inclusive)


def at_most(a: Range, b: Range) -> Holds:
    """x <= y for x in a, y in b."""
    if a.upper is not None and b.lower is not None and a.upper <= b.lower:
        return Holds.always
    possible = (
        a.lower is None
        or b.upper is None
        or a.lower < b.upper
        or (a.lower == b.upper and a.lower_inclusive and b.upper_inclusive)
    )
    return Holds.sometimes if possible else Holds.never


def less_than(a: Range, b: Range) -> Holds:
    """x < y for x in a, y in b."""
    if entirely_below(a, b):
        return Holds.always
    possible = a.lower is None or b.upper is None or a.lower < b.upper
    return Holds.sometimes if possible else Holds.never


def equal(a: Range, b: Range) -> Holds:
    """x == y for x in a, y in b: always only for one and the same point."""
    if a.is_point and b.is_point and a.lower == b.lower:
        return Holds.always
    return Holds.sometimes if intersects(a, b) else Holds.never


def within(a: Range, b: Range) -> Holds:
    """x in b for x in a: always when a is contained in b."""

    def lower_ok() -> bool:
        if b.lower is None:
            return True
        if a.lower is None:
            return False
        return a.lower > b.lower or (a.lower == b.lower and (b.lower_inclusive or not a.lower_inclusive))

    def upper_ok() -> bool:
        if b.upper is None:
            return True
        if a.upper is None:
            return False
        return a.upper < b.upper or (a.upper == b.upper and (b.upper_inclusive or not a.upper_inclusive))

    if lower_ok() and upper_ok():
        return Holds.always
    return Holds.sometimes if intersects(a, b) else Holds.never


def gap(a: Range, b: Range) -> Number:
    """Distance between two ranges; 0 when they meet (or touch at an open end)."""
    if a.upper is not None and b.lower is not None and a.upper < b.lower:
        return b.lower - a.upper
    if b.upper is not None and a.lower is not None and b.upper < a.lower:
        return a.lower - b.upper
    return Fraction(0)


def nearest_bounds(observed: Range, expected: Range) -> tuple[Number, Number] | None:
    """The finite bounds, one of each range, that lie closest together: the numbers a comparison is judged
    at (a point is its own bound; "more than X" is judged at X). Ties prefer lower bounds."""
    pairs = [(o, e) for o in observed.finite_bounds() for e in expected.finite_bounds()]
    if not pairs:
        return None
    return min(pairs, key=lambda p: abs(p[0] - p[1]))


def median(values: Sequence[Bound]) -> Number:
    if not values:
        raise ValueError("median of nothing")
    ordered = sorted(Fraction(v) for v in values)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[mid]
    return (ordered[mid - 1] + ordered[mid]) / 2


def median_range(ranges: Sequence[Range]) -> Range:
    """Median of the lower bounds to median of the upper bounds (for points: the median point)."""
    lowers = [r.lower for r in ranges]
    uppers = [r.upper for r in ranges]
    if any(v is None for v in lowers) or any(v is None for v in uppers):
        raise ValueError("median_range needs bounded ranges")
    lo = median([v for v in lowers if v is not None])
    hi = median([v for v in uppers if v is not None])
    return Range(lo, True, hi, True)
