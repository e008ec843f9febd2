"""Parse a figure as printed ("more than 1,187,700", "between US$85 billion and US$120 billion")
into the qualifier and bounds it states, so the loader can check a seed entry against its own words, and
the audit can read a figure at its printed precision."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from app.vocabulary import Qualifier

_MULTIPLIERS = {
    "": 1,
    "thousand": 10**3,
    "million": 10**6,
    "billion": 10**9,
    "trillion": 10**12,
}
_NUMBER = (
    r"(?P<cur{n}>US\$)?(?P<num{n}>\d{{1,3}}(?:,\d{{3}})+|\d+(?:\.\d+)?)"
    r"(?:\s+(?P<mul{n}>thousand|million|billion|trillion))?"
)
_ONE = _NUMBER.format(n=1)
_TWO = _NUMBER.format(n=2)
_PATTERNS: list[tuple[Qualifier, re.Pattern[str]]] = [
    (Qualifier.between, re.compile(rf"between\s+{_ONE}\s+and\s+{_TWO}", re.IGNORECASE)),
    (Qualifier.more_than, re.compile(rf"more\s+than\s+{_ONE}", re.IGNORECASE)),
    (Qualifier.at_least, re.compile(rf"at\s+least\s+{_ONE}", re.IGNORECASE)),
    (Qualifier.at_least, re.compile(rf"{_ONE}\s+or\s+more", re.IGNORECASE)),
    (Qualifier.approximately, re.compile(rf"(?:about|approximately|around|some)\s+{_ONE}", re.IGNORECASE)),
    (Qualifier.exact, re.compile(_ONE, re.IGNORECASE)),
]


_PLAIN = re.compile(r"\d{1,3}(?:,\d{3})+|\d+")
"""A bare whole number (what _PATTERNS' last, exact, pattern reads as itself): read without them."""


@dataclass(frozen=True)
class Bounds:
    qualifier: Qualifier
    lower: int | None
    lower_inclusive: bool | None
    upper: int | None
    upper_inclusive: bool | None
    currency: str | None  # "USD" when the text prints US$, else None


class FigureSyntaxError(ValueError):
    pass


def _amount(match: re.Match[str], n: int) -> int:
    digits = match.group(f"num{n}").replace(",", "")
    multiplier = _MULTIPLIERS[(match.group(f"mul{n}") or "").lower()]
    try:
        value = Decimal(digits) * multiplier
    except InvalidOperation as exc:  # pragma: no cover - the regex only admits digits
        raise FigureSyntaxError(f"not a number: {digits!r}") from exc
    if value != value.to_integral_value():
        raise FigureSyntaxError(f"{match.group(0)!r} is not a whole number of base units")
    return int(value)


def parse_figure(text: str) -> Bounds:
    """The qualifier and bounds that a printed figure states.

    >>> parse_figure("more than 1,187,700").lower
    1187700
    >>> parse_figure("between US$85 billion and US$120 billion").upper
    120000000000
    """
    stripped = text.strip()
    if _PLAIN.fullmatch(stripped):  # most printed figures: a bare whole number, stated exactly
        value = int(stripped.replace(",", ""))
        return Bounds(Qualifier.exact, value, True, value, True, None)
    return _read_patterns(text, stripped)


def _read_patterns(text: str, stripped: str) -> Bounds:
    for qualifier, pattern in _PATTERNS:
        match = pattern.fullmatch(stripped)
        if not match:
            continue
        currencies = {match.group(g) for g in ("cur1", "cur2") if g in pattern.groupindex and match.group(g)}
        currency = "USD" if currencies else None
        low = _amount(match, 1)
        if qualifier is Qualifier.between:
            high = _amount(match, 2)
            if bool(match.group("cur1")) != bool(match.group("cur2")):
                raise FigureSyntaxError(f"{text!r} gives a currency for one bound only")
            return Bounds(qualifier, low, True, high, True, currency)
        if qualifier is Qualifier.more_than:
            return Bounds(qualifier, low, False, None, None, currency)
        if qualifier is Qualifier.at_least:
            return Bounds(qualifier, low, True, None, None, currency)
        return Bounds(qualifier, low, True, low, True, currency)
    raise FigureSyntaxError(
        f"cannot read {text!r} as a figure (expected e.g. '1,187,700', 'more than 1 million', "
        "'between X and Y', 'X or more', 'US$85 billion')"
    )


_FIRST_NUMBER = re.compile(_ONE, re.IGNORECASE)


def printed_step(value_text: str) -> Fraction:
    """The place value of a figure's last printed digit: '1 Million' -> 1,000,000; '1,187,700' -> 100."""
    match = _FIRST_NUMBER.search(value_text)
    if match is None:
        raise ValueError(f"no number in {value_text!r}")
    digits = match.group("num1").replace(",", "")
    multiplier = _MULTIPLIERS[(match.group("mul1") or "").lower()]
    if "." in digits:
        return Fraction(multiplier, 10 ** len(digits.split(".")[1]))
    stripped = digits.rstrip("0")
    zeros = len(digits) - len(stripped) if stripped else 0
    return Fraction(multiplier * 10**zeros)
