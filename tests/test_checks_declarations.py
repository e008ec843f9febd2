"""Invalid declarations in checks.yaml are seed errors, with file, entry, line and field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app.loader.seed import SeedInvalid, read_seed
from tests.checks_support import copy_seed, replace_in_checks

# === 3. invalid declarations are seed errors ==================================================


@pytest.fixture
def checks_seed(tmp_path: Path) -> Path:
    return copy_seed(tmp_path)


def _errors(seed: Path) -> list[Any]:
    with pytest.raises(SeedInvalid) as caught:
        read_seed(seed)
    return caught.value.errors


def test_an_unknown_metric_names_file_entry_line_and_field(checks_seed: Path) -> None:
    line = replace_in_checks(
        checks_seed,
        "    parts: [emigrated-1985-1990, emigrated-1991-1998, emigrated-1999-2005]\n    total: [spouses",
        "    parts: [emigrated-1985-1990, emigrated-1991-1999, emigrated-1999-2005]\n    total: [spouses",
    )
    errors = _errors(checks_seed)
    assert [str(e) for e in errors] == [
        f"checks.yaml:{line}: entry 'sum-periods-vs-settled-2005' field 'parts.1': unknown metric 'emigrated-1991-1999'"
    ]


def test_a_unit_mismatch_between_parts_and_total_is_an_error(checks_seed: Path) -> None:
    replace_in_checks(
        checks_seed,
        "    total: [emigrated-1985-1990, emigrated-1991-1998, emigrated-1999-2005]",
        "    total: [canada-immigration-cases-1985-2005]",
    )
    errors = _errors(checks_seed)
    assert [(e.file, e.entry, e.field) for e in errors] == [
        ("checks.yaml", "sum-destinations-vs-periods-1985-2005", "total.0")
    ]
    assert "unit mismatch" in errors[0].reason and "cases" in errors[0].reason


def test_a_subset_in_another_unit_is_an_error(checks_seed: Path) -> None:
    replace_in_checks(
        checks_seed,
        "    superset: headline-cadre-family-members-emigrated",
        "    superset: senior-cadre-family-assets",
    )
    errors = _errors(checks_seed)
    assert [(e.entry, e.field) for e in errors] == [("subset-asset-owners-in-headline", "subset")]
    assert "USD" in errors[0].reason


def test_a_check_id_is_unique_across_sections(checks_seed: Path) -> None:
    replace_in_checks(checks_seed, "  - id: coverage-flow-periods-1985-2005", "  - id: people-per-case-canada")
    errors = _errors(checks_seed)
    assert {(e.entry, e.field) for e in errors} == {
        ("people-per-case-canada", "id"),
        ("people-per-case-all-destinations", "pairs.7.id"),
    }


def test_an_unknown_span_is_an_error(checks_seed: Path) -> None:
    line = replace_in_checks(checks_seed, "    span: 1985-2005", "    span: 1985-2006")
    assert [(e.line, e.entry, e.field, e.reason) for e in _errors(checks_seed)] == [
        (line, "coverage-flow-periods-1985-2005", "span", "unknown period '1985-2006'")
    ]


def test_an_unknown_key_is_an_error(checks_seed: Path) -> None:
    line = replace_in_checks(checks_seed, "    span: 1985-2005", "    span: 1985-2005\n    note: extra") + 1
    assert [(e.line, e.entry, e.field, e.reason) for e in _errors(checks_seed)] == [
        (line, "coverage-flow-periods-1985-2005", "note", "Extra inputs are not permitted")
    ]


def test_a_missing_checks_file_is_an_error(checks_seed: Path) -> None:
    (checks_seed / "checks.yaml").unlink()
    assert [(e.file, e.reason) for e in _errors(checks_seed)] == [("checks.yaml", "file not found")]
