"""read_seed rejects a broken seed, naming file, line, entry and field with a reason, and reports every
problem in one run; `cadre-data seed` on a broken seed writes nothing.

Each case copies seed/ and breaks it one way: the text `old` (the first occurrence after `after`) becomes
`new`, and the expected error sits on the line of `line_at` (again the first occurrence after `after`).
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.db import normalize_url, sqlite_path
from app.loader.seed import SeedError, SeedInvalid, read_seed
from tests.conftest import dump_database, load_seed


@dataclass(frozen=True)
class Defect:
    file: str
    old: str
    new: str
    after: str = ""


@dataclass(frozen=True)
class Expected:
    file: str
    entry: str | None
    field: str | None
    reason: str
    line_at: str | None  # text on the error's line, first occurrence after the defect's `after`


def break_seed(seed: Path, defect: Defect) -> None:
    path = seed / defect.file
    text = path.read_text(encoding="utf-8")
    at = text.index(defect.old, text.index(defect.after))
    path.write_text(text[:at] + defect.new + text[at + len(defect.old) :], encoding="utf-8")


def line_of(seed: Path, file: str, needle: str, after: str = "") -> int:
    text = (seed / file).read_text(encoding="utf-8")
    return text.count("\n", 0, text.index(needle, text.index(after))) + 1


def seed_errors(seed: Path) -> list[SeedError]:
    with pytest.raises(SeedInvalid) as caught:
        read_seed(seed)
    assert caught.value.errors, "SeedInvalid without errors"
    return caught.value.errors


def assert_reported(errors: list[SeedError], seed: Path, expected: Expected, after: str = "") -> None:
    line = None if expected.line_at is None else line_of(seed, expected.file, expected.line_at, after)
    listing = "\n".join(str(e) for e in errors)
    matching = [
        e
        for e in errors
        if (e.file, e.entry, e.field) == (expected.file, expected.entry, expected.field) and expected.reason in e.reason
    ]
    assert matching, f"expected {expected} (line {line}) among:\n{listing}"
    assert line in [e.line for e in matching], f"expected line {line} for {expected}, got:\n{listing}"


CANADA = "id: canada-emigrated-1985-2005"
TOTAL = "id: spouses-children-settled-overseas-2005"
TRADE_VOLUME = "id: import-export-trade-volume"
EMIGRATED_1985 = "id: emigrated-1985-1990"
METRICS_YAML = "metrics.yaml"

# name -> (defect, expected error); line_at is looked up after the defect's `after`.
CASES: dict[str, tuple[Defect, Expected]] = {
    "unknown field": (
        Defect("periods.yaml", "    kind: interval", "    colour: red\n    kind: interval", after="id: 1985-1990"),
        Expected("periods.yaml", "1985-1990", "colour", "Extra inputs are not permitted", "    colour: red"),
    ),
    "missing required field": (
        Defect("periods.yaml", "    label: Between 1985 and 1990\n", "", after="id: 1985-1990"),
        Expected("periods.yaml", "1985-1990", "label", "Field required", "id: 1985-1990"),
    ),
    "wrong type: integer": (
        Defect(METRICS_YAML, "    lower: 225000", "    lower: lots", after=CANADA),
        Expected(METRICS_YAML, "canada-emigrated-1985-2005", "lower", "valid integer", "    lower: lots"),
    ),
    "wrong type: date": (
        Defect("source.yaml", "    published: 2006-05-03", "    published: May 2006"),
        Expected("source.yaml", "epoch-times-2006-05-03", "published", "valid date", "    published: May 2006"),
    ),
    "wrong type: list": (
        Defect("source.yaml", "    sources: [epoch-times-2006-05-03]", "    sources: {a: b}"),
        Expected("source.yaml", "ccp-org-dept-mps-2006-02", "sources", "valid list", "    sources: {a: b}"),
    ),
    "unknown destination": (
        Defect(METRICS_YAML, "    destination: canada", "    destination: kanada", after=CANADA),
        Expected(
            METRICS_YAML,
            "canada-emigrated-1985-2005",
            "destination",
            "unknown destination 'kanada'",
            "destination: kanada",
        ),
    ),
    "unknown period": (
        Defect(METRICS_YAML, "    period: 1985-2005", "    period: 1985-2006", after=CANADA),
        Expected(
            METRICS_YAML, "canada-emigrated-1985-2005", "period", "unknown period '1985-2006'", "period: 1985-2006"
        ),
    ),
    "unknown measure": (
        Defect(METRICS_YAML, "    measure: emigrated", "    measure: emigrate", after=CANADA),
        Expected(
            METRICS_YAML, "canada-emigrated-1985-2005", "measure", "unknown measure 'emigrate'", "measure: emigrate"
        ),
    ),
    "unknown population": (
        Defect(METRICS_YAML, "    population: cadre_spouses_children", "    population: cadre_kids", after=CANADA),
        Expected(
            METRICS_YAML,
            "canada-emigrated-1985-2005",
            "population",
            "unknown population 'cadre_kids'",
            "population: cadre_kids",
        ),
    ),
    "unknown report on an entry": (
        Defect(
            METRICS_YAML, "    measure: emigrated", "    report: no-such-report\n    measure: emigrated", after=CANADA
        ),
        Expected(
            METRICS_YAML, "canada-emigrated-1985-2005", "report", "unknown report 'no-such-report'", "report: no-such"
        ),
    ),
    "unknown default report": (
        Defect(METRICS_YAML, "report: ccp-org-dept-mps-2006-02", "report: no-such-report"),
        Expected(METRICS_YAML, None, "report", "unknown report 'no-such-report'", "report: no-such-report"),
    ),
    "unknown source on a citation": (
        Defect(
            METRICS_YAML,
            "        location: body",
            "        location: body\n        source: no-such-source",
            after=CANADA,
        ),
        Expected(
            METRICS_YAML,
            "canada-emigrated-1985-2005",
            "citations.0.source",
            "unknown source 'no-such-source'",
            '      - quote: "Canada, 225,000',
        ),
    ),
    "unknown default source": (
        Defect(METRICS_YAML, "source: epoch-times-2006-05-03", "source: no-such-source"),
        Expected(METRICS_YAML, None, "source", "unknown source 'no-such-source'", "source: no-such-source"),
    ),
    "unknown source of a report": (
        Defect("source.yaml", "    sources: [epoch-times-2006-05-03]", "    sources: [epoch-times-2006-05-04]"),
        Expected(
            "source.yaml",
            "ccp-org-dept-mps-2006-02",
            "sources.0",
            "unknown source 'epoch-times-2006-05-04'",
            "    sources: [epoch-times-2006-05-04]",
        ),
    ),
    "unknown parent population": (
        Defect("vocabulary.yaml", "    part_of: cadre_spouses_children", "    part_of: cadre_spouses"),
        Expected(
            "vocabulary.yaml",
            "senior_cadre_spouses_children",
            "part_of",
            "unknown population 'cadre_spouses'",
            "    part_of: cadre_spouses",
        ),
    ),
    "lower > upper": (
        Defect(
            METRICS_YAML, "    lower: 120000", "    lower: 160000", after="id: spouses-children-in-import-export-trade"
        ),
        Expected(
            METRICS_YAML,
            "spouses-children-in-import-export-trade",
            "lower",
            "lower 160000 is greater than upper 150000",
            "    lower: 160000",
        ),
    ),
    "more_than with an upper bound": (
        Defect(
            METRICS_YAML,
            "    upper: null\n    upper_inclusive: null",
            "    upper: 2000000\n    upper_inclusive: false",
            after=TOTAL,
        ),
        Expected(
            METRICS_YAML,
            "spouses-children-settled-overseas-2005",
            "upper",
            "more_than states no upper bound, but upper is 2000000",
            "    upper: 2000000",
        ),
    ),
    "between without two bounds": (
        Defect(
            METRICS_YAML,
            "    upper: 120000000000\n    upper_inclusive: true",
            "    upper: null\n    upper_inclusive: null",
            after=TRADE_VOLUME,
        ),
        Expected(
            METRICS_YAML,
            "import-export-trade-volume",
            "upper",
            "between needs both a lower and an upper bound",
            "    upper: null",
        ),
    ),
    "exact with lower != upper": (
        Defect(METRICS_YAML, "    upper: 233000", "    upper: 233001", after=EMIGRATED_1985),
        Expected(METRICS_YAML, "emigrated-1985-1990", "upper", "exact needs lower == upper", "    upper: 233001"),
    ),
    "inclusive flag without a bound": (
        Defect(METRICS_YAML, "    upper_inclusive: null", "    upper_inclusive: true", after=TOTAL),
        Expected(
            METRICS_YAML,
            "spouses-children-settled-overseas-2005",
            "upper_inclusive",
            "upper_inclusive must be set exactly when upper is",
            "    upper_inclusive: true",
        ),
    ),
    "bound without an inclusive flag": (
        Defect(METRICS_YAML, "    lower_inclusive: true", "    lower_inclusive: null", after=CANADA),
        Expected(
            METRICS_YAML,
            "canada-emigrated-1985-2005",
            "lower_inclusive",
            "lower_inclusive must be set exactly when lower is",
            "    lower_inclusive: null",
        ),
    ),
    "qualifier contradicting value_text": (
        Defect(METRICS_YAML, "    qualifier: exact", "    qualifier: approximately", after=EMIGRATED_1985),
        Expected(
            METRICS_YAML,
            "emigrated-1985-1990",
            "qualifier",
            "value_text '233,000' reads as exact, not approximately",
            "    qualifier: approximately",
        ),
    ),
    "bounds contradicting value_text": (
        Defect(
            METRICS_YAML,
            "    lower: 225000\n    lower_inclusive: true\n    upper: 225000",
            "    lower: 225001\n    lower_inclusive: true\n    upper: 225001",
            after=CANADA,
        ),
        Expected(
            METRICS_YAML,
            "canada-emigrated-1985-2005",
            "lower",
            "value_text '225,000' gives lower = 225000, not 225001",
            "    lower: 225001",
        ),
    ),
    "inclusive flag contradicting value_text": (
        Defect(METRICS_YAML, "    lower_inclusive: false", "    lower_inclusive: true", after=TOTAL),
        Expected(
            METRICS_YAML,
            "spouses-children-settled-overseas-2005",
            "lower_inclusive",
            "gives lower_inclusive = false, not true",
            "    lower_inclusive: true",
        ),
    ),
    "unit USD without US$": (
        Defect(METRICS_YAML, "    unit: persons", "    unit: USD", after=CANADA),
        Expected(
            METRICS_YAML,
            "canada-emigrated-1985-2005",
            "unit",
            "value_text '225,000' does not match unit 'USD'",
            "    unit: USD",
        ),
    ),
    "US$ without unit USD": (
        Defect(METRICS_YAML, "    unit: USD", "    unit: persons", after=TRADE_VOLUME),
        Expected(
            METRICS_YAML, "import-export-trade-volume", "unit", "does not match unit 'persons'", "    unit: persons"
        ),
    ),
    "unreadable value_text": (
        Defect(METRICS_YAML, '    value_text: "225,000"', '    value_text: "lots"', after=CANADA),
        Expected(
            METRICS_YAML, "canada-emigrated-1985-2005", "value_text", "cannot read 'lots'", '    value_text: "lots"'
        ),
    ),
    "quote not containing value_text": (
        Defect(METRICS_YAML, "233,000 people [spouses", "233,001 people [spouses", after=EMIGRATED_1985),
        Expected(
            METRICS_YAML,
            "emigrated-1985-1990",
            "citations.0.quote",
            "quote does not contain the figure as written ('233,000')",
            "      - quote: ",
        ),
    ),
    "period iso mismatch": (
        Defect("periods.yaml", '    iso: "1985/1990"', '    iso: "1985/1991"'),
        Expected(
            "periods.yaml",
            "1985-1990",
            "iso",
            "iso '1985/1991' does not match the dates (expected '1985/1990')",
            '    iso: "1985/1991"',
        ),
    ),
    "instant with start != end": (
        Defect("periods.yaml", "    start_date: 2005-12-31", "    start_date: 2005-01-01", after="id: end-2005"),
        Expected(
            "periods.yaml", "end-2005", "end_date", "an instant must have start_date == end_date", "    end_date:"
        ),
    ),
    "period starting after its end": (
        Defect("periods.yaml", "    start_date: 1991-01-01", "    start_date: 1999-01-01", after="id: 1991-1998"),
        Expected(
            "periods.yaml",
            "1991-1998",
            "start_date",
            "start_date 1999-01-01 is after end_date 1998-12-31",
            "    start_date: 1999",
        ),
    ),
    "report issued after its end": (
        Defect("source.yaml", "    issued_start: 2006-02-15", "    issued_start: 2006-03-01"),
        Expected(
            "source.yaml",
            "ccp-org-dept-mps-2006-02",
            "issued_start",
            "issued_start 2006-03-01 is after issued_end 2006-02-28",
            "    issued_start: 2006-03-01",
        ),
    ),
    "population part_of cycle": (
        Defect(
            "vocabulary.yaml",
            "    label: spouses and children of CCP cadres\n",
            "    label: spouses and children of CCP cadres\n    part_of: senior_cadre_spouses_children\n",
            after="id: cadre_spouses_children",
        ),
        Expected(
            "vocabulary.yaml",
            "cadre_spouses_children",
            "part_of",
            "part_of forms a cycle",
            "    part_of: senior_cadre_spouses_children",
        ),
    ),
    "alias naming another destination": (
        Defect("destinations.yaml", "    code: CA\n", "    code: CA\n    aliases: [usa]\n", after="id: canada"),
        Expected("destinations.yaml", "canada", "aliases", "alias 'usa' also names united-states", "aliases: [usa]"),
    ),
    "country without code": (
        Defect("destinations.yaml", "    code: CA\n", "", after="id: canada"),
        Expected("destinations.yaml", "canada", "code", "a country needs an ISO 3166-1 code", "id: canada"),
    ),
    "group with a code": (
        Defect(
            "destinations.yaml", "    membership: closed", "    code: SE\n    membership: closed", after="id: nordic"
        ),
        Expected("destinations.yaml", "nordic", "code", "a region has members, not a code", "    code: SE"),
    ),
    "duplicate member": (
        Defect(
            "destinations.yaml",
            "      - {code: SE, name: Sweden, basis: interpretation}",
            "      - {code: SE, name: Sweden, basis: interpretation}\n"
            "      - {code: DK, name: Denmark, basis: interpretation}",
            after="id: nordic",
        ),
        Expected("destinations.yaml", "nordic", "members", "member DK listed 2 times", "    members:"),
    ),
    "malformed YAML": (
        Defect(METRICS_YAML, "    unit: persons", "    unit: persons: people", after=CANADA),
        Expected(
            METRICS_YAML, None, None, "invalid YAML: mapping values are not allowed here", "    unit: persons: people"
        ),
    ),
}


@pytest.mark.parametrize(("defect", "expected"), CASES.values(), ids=CASES.keys())
def test_each_defect_is_reported_with_its_place_and_reason(seed_copy: Path, defect: Defect, expected: Expected) -> None:
    read_seed(seed_copy)  # the untouched copy is valid: the error below comes from the defect alone
    break_seed(seed_copy, defect)
    assert_reported(seed_errors(seed_copy), seed_copy, expected, defect.after)


def test_malformed_yaml_is_the_only_error_of_its_file(seed_copy: Path) -> None:
    defect, _ = CASES["malformed YAML"]
    break_seed(seed_copy, defect)
    errors = seed_errors(seed_copy)
    assert [(e.file, e.entry, e.field) for e in errors] == [(METRICS_YAML, None, None)]


def test_duplicate_id_is_reported_on_both_entries(seed_copy: Path) -> None:
    break_seed(seed_copy, Defect("vocabulary.yaml", "  - id: living_overseas", "  - id: settled_overseas"))
    errors = seed_errors(seed_copy)
    duplicates = [e for e in errors if e.reason == "duplicate id 'settled_overseas' in 'measures'"]
    assert {(e.file, e.entry, e.field) for e in duplicates} == {("vocabulary.yaml", "settled_overseas", "id")}
    text = (seed_copy / "vocabulary.yaml").read_text(encoding="utf-8").splitlines()
    assert sorted(e.line or 0 for e in duplicates) == [
        n for n, line in enumerate(text, start=1) if line == "  - id: settled_overseas"
    ]


def test_missing_file_is_reported(seed_copy: Path) -> None:
    (seed_copy / "periods.yaml").unlink()
    errors = seed_errors(seed_copy)
    assert SeedError("periods.yaml", None, None, None, "file not found") in errors


def test_error_text_names_file_line_entry_field_and_reason(seed_copy: Path) -> None:
    defect, _ = CASES["exact with lower != upper"]
    break_seed(seed_copy, defect)
    line = line_of(seed_copy, METRICS_YAML, "    upper: 233001", EMIGRATED_1985)
    texts = [str(e) for e in seed_errors(seed_copy)]
    assert f"metrics.yaml:{line}: entry 'emigrated-1985-1990' field 'upper': exact needs lower == upper" in texts


# Defects in all five files at once; a validator that stops at the first file or entry misses some.
MANY = [
    (
        Defect("source.yaml", "    issued_start: 2006-02-15", "    issued_start: 2006-03-01"),
        Expected("source.yaml", "ccp-org-dept-mps-2006-02", "issued_start", "is after issued_end", "issued_start:"),
    ),
    (CASES["unknown parent population"][0], CASES["unknown parent population"][1]),
    (CASES["period iso mismatch"][0], CASES["period iso mismatch"][1]),
    (CASES["duplicate member"][0], CASES["duplicate member"][1]),
    (CASES["exact with lower != upper"][0], CASES["exact with lower != upper"][1]),
    (CASES["unit USD without US$"][0], CASES["unit USD without US$"][1]),
    (CASES["quote not containing value_text"][0], CASES["quote not containing value_text"][1]),
]


def break_many(seed: Path) -> None:
    for defect, _ in MANY:
        break_seed(seed, defect)


def test_every_error_is_reported_in_one_run(seed_copy: Path) -> None:
    break_many(seed_copy)
    errors = seed_errors(seed_copy)
    for defect, expected in MANY:
        assert_reported(errors, seed_copy, expected, defect.after)
    # Nothing but the planted defects: each error is about one of the places broken above.
    assert {(e.file, e.entry, e.field) for e in errors} == {(x.file, x.entry, x.field) for _, x in MANY}


# --- the CLI -------------------------------------------------------------------------------


def cadre_data() -> list[str]:
    script = Path(sys.executable).with_name("cadre-data")
    return [str(script)] if script.exists() else [sys.executable, "-m", "app.cli"]


def file_digest(url: str) -> str | None:
    normalized = normalize_url(url)
    if normalized.get_backend_name() != "sqlite":
        return None
    return hashlib.sha256(sqlite_path(normalized).read_bytes()).hexdigest()


def test_cli_refuses_a_broken_seed_and_writes_nothing(seed_copy: Path, empty_db_url: str) -> None:
    load_seed(empty_db_url)  # a loaded database: the broken seed changes some of its rows, if it gets written
    before, before_bytes = dump_database(empty_db_url), file_digest(empty_db_url)
    break_many(seed_copy)
    expected = [str(e) for e in seed_errors(seed_copy)]

    run = subprocess.run(
        [*cadre_data(), "seed", "--seed-dir", str(seed_copy), "--database-url", empty_db_url],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert run.returncode != 0
    assert f"{len(expected)} error(s); nothing was written" in run.stderr
    for error in expected:
        assert error in run.stderr
    assert "loaded" not in run.stdout
    assert dump_database(empty_db_url) == before
    assert file_digest(empty_db_url) == before_bytes


def test_cli_check_validates_without_writing(seed_copy: Path, tmp_path: Path) -> None:
    database = tmp_path / "never-created.db"
    run = subprocess.run(
        [*cadre_data(), "seed", "--check", "--seed-dir", str(seed_copy), "--database-url", f"sqlite:///{database}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert f"seed {seed_copy}: valid" in run.stdout
    assert not database.exists()
