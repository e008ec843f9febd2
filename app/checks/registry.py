"""Every kind of check, in the order checks.yaml lists its sections and the audit computes them. A new kind
is one class in app.checks.kinds (a Declaration: section, kind, check, audit) and one line here."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence, Set
from typing import Any

from app.checks.audit import Audit, Auditor, Row
from app.checks.declarations import Declaration, Figures, Problem
from app.checks.kinds.coverage import CoverageCheck
from app.checks.kinds.ratios import RatioCheck
from app.checks.kinds.restatements import RestatementCheck
from app.checks.kinds.subsets import SubsetCheck
from app.checks.kinds.sums import SumCheck

KINDS: tuple[type[Declaration], ...] = (SumCheck, SubsetCheck, RatioCheck, CoverageCheck, RestatementCheck)
SECTION_MODELS: dict[str, type[Declaration]] = {kind.section: kind for kind in KINDS}
SECTIONS = tuple(SECTION_MODELS)


class Declarations:
    """The declarations of checks.yaml, by section: `Declarations(sums=[...], coverage=[...])`."""

    def __init__(self, **sections: Sequence[Declaration]) -> None:
        unknown = set(sections) - set(SECTION_MODELS)
        if unknown:
            raise TypeError(f"unknown sections {sorted(unknown)} (expected {list(SECTIONS)})")
        self.sections = {name: list(sections.get(name, ())) for name in SECTIONS}

    def __getattr__(self, name: str) -> list[Any]:
        sections = self.__dict__.get("sections", {})
        if name in sections:
            return list(sections[name])
        raise AttributeError(name)

    def all(self) -> Iterator[Declaration]:
        for declarations in self.sections.values():
            yield from declarations


def problems(
    declarations: Declarations,
    metrics: Mapping[str, Row],
    periods: Mapping[str, Row],
    invalid_metrics: Set[str] = frozenset(),
) -> list[Problem]:
    """Everything that makes a declaration unusable, given the seed's valid metric and period rows by id.

    References to `invalid_metrics` (declared, but with errors of their own) are not reported again."""
    figures = Figures(metrics, periods, invalid_metrics)
    for declaration in declarations.all():
        declaration.check(figures)
    # ids are one namespace across sections and nested ids (duplicates within a section the reader reports)
    where: dict[str, list[tuple[str, str, tuple[str | int, ...]]]] = {}
    for declaration in declarations.all():
        for check_id, loc in declaration.ids():
            tag = declaration.section if loc == ("id",) else f".{loc[0]}"
            where.setdefault(check_id, []).append((tag, declaration.id, loc))
    for check_id, places in where.items():
        tags = {tag for tag, _, _ in places}
        if len(places) > 1 and (len(tags) > 1 or any(tag.startswith(".") for tag in tags)):
            for _, owner, loc in places:
                figures.add(owner, loc, f"check id {check_id!r} is declared {len(places)} times")
    return figures.problems


def compute(declarations: Declarations, tables: Mapping[str, Sequence[Row]]) -> Audit:
    """Every declared check, computed from the seed's rows (declarations already validated)."""
    auditor = Auditor(tables)
    for declaration in declarations.all():
        start = len(auditor.audit.checks)
        declaration.audit(auditor)
        for row in auditor.audit.checks[start:]:
            declaration.declared(row)
    return auditor.audit
