"""Shared by the tests of the consistency audit (tests/test_checks_*.py): ranges named as the article
words them, and a copy of the seed whose checks.yaml a test may edit."""

from __future__ import annotations

import shutil
from pathlib import Path

from app.checks.intervals import Range
from app.config import PROJECT_ROOT

SEED = PROJECT_ROOT / "seed"

exact = Range.point
more_than = Range.more_than
at_least = Range.at_least
between = Range.between


def copy_seed(tmp_path: Path) -> Path:
    target = tmp_path / "seed"
    shutil.copytree(SEED, target)
    return target


def replace_in_checks(seed: Path, old: str, new: str) -> int:
    """Replace the one occurrence of `old` in the seed's checks.yaml; the line it was on."""
    path = seed / "checks.yaml"
    content = path.read_text(encoding="utf-8")
    assert content.count(old) == 1, old
    path.write_text(content.replace(old, new), encoding="utf-8")
    return content[: content.index(old)].count("\n") + 1
