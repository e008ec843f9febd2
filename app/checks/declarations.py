"""What seed/checks.yaml may declare: the base of every kind of check (app.checks.kinds), and the
cross-checks against the figures (unknown metric, unit mismatch, ...) that make a declaration invalid.
The seed reader turns each `Problem` into a SeedError with file, entry, line and field."""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.vocabulary import CheckKind, CheckStatus, Slug

if TYPE_CHECKING:
    from app.checks.audit import Auditor

Text = Annotated[str, StringConstraints(min_length=1)]
Loc = tuple[str | int, ...]
Row = Mapping[str, Any]


@dataclass(frozen=True)
class Problem:
    check_id: str
    loc: Loc
    reason: str


@dataclass
class Figures:
    """The seed's valid metric and period rows by id, and the problems found so far against them.

    References to `invalid_metrics` (declared, but with errors of their own) are not reported again."""

    metrics: Mapping[str, Row]
    periods: Mapping[str, Row]
    invalid_metrics: Set[str] = frozenset()
    problems: list[Problem] = field(default_factory=list)

    def add(self, check_id: str, loc: Loc, reason: str) -> None:
        self.problems.append(Problem(check_id, loc, reason))

    def metric(self, check_id: str, loc: Loc, metric_id: str) -> Row | None:
        row = self.metrics.get(metric_id)
        if row is None and metric_id not in self.invalid_metrics:
            self.add(check_id, loc, f"unknown metric {metric_id!r}")
        return row

    def metrics_at(self, check_id: str, named: Sequence[tuple[Loc, str]]) -> list[tuple[Loc, Row | None]]:
        """Each named metric's row (None, and a problem, if unknown)."""
        return [(loc, self.metric(check_id, loc, metric_id)) for loc, metric_id in named]

    def same_unit(self, check_id: str, rows: Sequence[tuple[Loc, Row | None]], what: str) -> None:
        known = [(loc, row) for loc, row in rows if row is not None]
        if not known:
            return
        unit = known[0][1]["unit"]
        for loc, row in known[1:]:
            if row["unit"] != unit:
                self.add(check_id, loc, f"unit mismatch: {row['id']!r} is in {row['unit']}, {what} in {unit}")

    def no_repeats(self, check_id: str, named: Sequence[tuple[Loc, str]]) -> None:
        seen: set[str] = set()
        for loc, metric_id in named:
            if metric_id in seen:
                self.add(check_id, loc, f"metric {metric_id!r} appears more than once in this check")
            seen.add(metric_id)


def at(name: str, ids: Sequence[str]) -> list[tuple[Loc, str]]:
    """[(("parts", 0), "a"), (("parts", 1), "b")] for the list field `parts`."""
    return [((name, index), metric_id) for index, metric_id in enumerate(ids)]


class Declaration(BaseModel):
    """One entry of a section of checks.yaml. A kind of check subclasses it, names its section and kind, says
    what makes an entry unusable (`check`) and computes it (`audit`); app.checks.registry lists the kinds."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    section: ClassVar[str]
    kind: ClassVar[CheckKind]

    id: Slug
    statement: Text
    assumptions: list[Text] = Field(min_length=1)
    """What makes the figures comparable that the text does not state: each a reading, served with the result."""
    informative: bool = False
    """The relation is ours alone (the text states none): the result is `info`, never a finding about the source."""

    def check(self, figures: Figures) -> None:
        """Add to `figures` every problem that makes this declaration unusable."""
        raise NotImplementedError

    def audit(self, auditor: Auditor) -> None:
        """Add the computed check(s) to `auditor` (the declaration has passed `check`)."""
        raise NotImplementedError

    def declared(self, row: dict[str, Any]) -> None:
        """What every check this declaration computes carries from it: its assumptions and, when the relation is
        informative only, the status `info` (the outcome stays in `holds` and the explanation)."""
        row["assumptions"] = list(self.assumptions)
        if self.informative:
            row["status"] = CheckStatus.info.value

    def ids(self) -> list[tuple[str, Loc]]:
        """The check ids this declaration defines, with where each is declared (one namespace for all)."""
        return [(self.id, ("id",))]
