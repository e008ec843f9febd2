"""Seed errors (file, line, entry, field, reason) and the list that collects them while the seed is read."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class SeedError:
    file: str
    line: int | None
    entry: str | None
    field: str | None
    reason: str

    def __str__(self) -> str:
        where = self.file + (f":{self.line}" if self.line else "")
        entry = f" entry {self.entry!r}" if self.entry else ""
        field = f" field {self.field!r}" if self.field else ""
        return f"{where}:{entry}{field}: {self.reason}"


class SeedInvalid(Exception):
    def __init__(self, errors: list[SeedError]) -> None:
        self.errors = sorted(set(errors), key=lambda e: (e.file, e.line or 0, e.entry or "", e.field or ""))
        super().__init__(f"{len(self.errors)} error(s) in the seed")


class Problems(list[SeedError]):
    """Every problem found so far; reading goes on after one, so that a run reports them all."""

    def add(
        self, file: str, reason: str, *, line: int | None = None, entry: str | None = None, field: str | None = None
    ) -> None:
        self.append(SeedError(file, line, entry, field, reason))

    def in_file(self, file: str) -> set[str]:
        """The entries of `file` with a problem of their own."""
        return {e.entry for e in self if e.file == file and e.entry is not None}

    def raise_any(self) -> None:
        if self:
            raise SeedInvalid(list(self))
