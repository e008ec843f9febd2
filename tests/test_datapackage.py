"""The Data Package, read by the tools its users read it with: `frictionless` validates what `cadre-data export`
writes and the zip the API serves (foreign keys included, and a broken copy is refused); every CSV value equals
the API's JSON; pandas reads every CSV with the declared types. On SQLite and PostgreSQL (db_url)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import shutil
import zipfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from fastapi.testclient import TestClient
from frictionless import Package, validate
from sqlmodel import SQLModel

from app.cli import main as cli
from app.config import PROJECT_ROOT, Settings
from app.datapackage import RESOURCES as SPECS
from app.main import create_app
from app.models import DERIVED_TABLES
from app.vocabulary import CheckStatus

RESOURCES = [
    "sources",
    "reports",
    "report_sources",
    "attributions",
    "periods",
    "destinations",
    "destination_members",
    "destination_aliases",
    "measures",
    "populations",
    "metrics",
    "citations",
    "checks",
    "check_metrics",
]


@pytest.fixture(scope="module")
def client(db_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(database_url=db_url)), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def exported(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("export") / "package"
    assert cli(["export", str(target), "--database-url", db_url]) == 0
    return target


@pytest.fixture(scope="module")
def package(exported: Path) -> Package:
    return Package(str(exported / "datapackage.json"))


def errors(report: Any) -> list[list[Any]]:
    return report.flatten(["type", "rowNumber", "fieldName", "note"])  # type: ignore[no-any-return]


def every(client: TestClient, url: str) -> list[dict[str, Any]]:
    body = client.get(url, params={"limit": 1000}).json()
    assert body["total"] == len(body["data"]), url
    return body["data"]  # type: ignore[no-any-return]


# --- frictionless validate ------------------------------------------------------------------


def test_the_exported_package_is_valid_with_foreign_keys_declared(exported: Path) -> None:
    report = validate(str(exported / "datapackage.json"))
    assert report.valid, errors(report)
    assert report.stats["tasks"] == len(RESOURCES) and report.stats["errors"] == 0
    descriptor = json.loads((exported / "datapackage.json").read_text())
    assert [r["name"] for r in descriptor["resources"]] == RESOURCES
    keys = {r["name"]: r["schema"].get("foreignKeys", []) for r in descriptor["resources"]}
    citation_refs = {(fk["fields"][0], fk["reference"]["resource"]) for fk in keys["citations"]}
    assert citation_refs == {("metric_id", "metrics"), ("source_id", "sources")}
    metric_refs = {fk["reference"]["resource"] for fk in keys["metrics"]}
    assert metric_refs == {"reports", "attributions", "measures", "populations", "destinations", "periods"}
    assert {"fields": ["part_of"], "reference": {"resource": "", "fields": ["id"]}} in keys["populations"]


def _rewrite(path: Path, row_id: str, column: str, value: str) -> None:
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    hits = [row for row in rows if row[next(iter(row))] == row_id]
    assert len(hits) == 1
    hits[0][column] = value
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(rows)


def test_a_dangling_foreign_key_is_reported(exported: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(exported, broken)
    _rewrite(broken / "citations.csv", "canada-emigrated-1985-2005.1", "metric_id", "no-such-metric")
    report = validate(str(broken / "datapackage.json"))
    assert not report.valid
    assert [e[0] for e in errors(report)] == ["foreign-key"]
    assert "no-such-metric" in errors(report)[0][3]


def test_a_non_integer_in_an_integer_column_is_reported(exported: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(exported, broken)
    _rewrite(broken / "metrics.csv", "senior-cadre-family-assets", "lower", "600000000000.5")
    report = validate(str(broken / "datapackage.json"))
    assert not report.valid
    assert [(e[0], e[2]) for e in errors(report)] == [("type-error", "lower")]


def test_a_value_outside_an_enum_is_reported(exported: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(exported, broken)
    _rewrite(broken / "metrics.csv", "senior-cadre-family-assets", "qualifier", "roughly")
    report = validate(str(broken / "datapackage.json"))
    assert [(e[0], e[2]) for e in errors(report)] == [("constraint-error", "qualifier")]


def test_the_zip_the_api_serves_is_valid_and_equals_the_cli_export(
    client: TestClient, db_url: str, exported: Path, tmp_path: Path
) -> None:
    response = client.get("/v1/datapackage.zip")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    assert response.headers["content-disposition"] == 'attachment; filename="cadre-families-data.zip"'
    served = tmp_path / "served.zip"
    served.write_bytes(response.content)
    report = validate(str(served))
    assert report.valid, errors(report)
    assert report.stats["tasks"] == len(RESOURCES)
    # the CLI's zip is the same bytes, and so is each file of the exported directory
    assert cli(["export", str(tmp_path / "cli.zip"), "--zip", "--database-url", db_url]) == 0
    assert (tmp_path / "cli.zip").read_bytes() == response.content
    with zipfile.ZipFile(served) as archive:
        assert archive.namelist() == ["datapackage.json", *(f"{name}.csv" for name in RESOURCES)]
        for name in archive.namelist():
            assert archive.read(name) == (exported / name).read_bytes(), name
            assert archive.getinfo(name).date_time == (1980, 1, 1, 0, 0, 0)


def test_the_zip_is_byte_reproducible_so_its_etag_is_stable(client: TestClient) -> None:
    first = client.get("/v1/datapackage.zip")
    # A second app on the same database: its own (empty) caches, so the zip is rendered again.
    with TestClient(create_app(client.app.state.settings)) as fresh:  # type: ignore[attr-defined]
        second = fresh.get("/v1/datapackage.zip")
    assert first.content == second.content
    assert first.headers["etag"] == second.headers["etag"]
    assert client.get("/v1/datapackage.zip", headers={"if-none-match": first.headers["etag"]}).status_code == 304


# --- the served descriptor -------------------------------------------------------------------


def test_served_descriptor_points_at_the_csv_endpoints_by_relative_url(client: TestClient, exported: Path) -> None:
    served = client.get("/v1/datapackage.json", headers={"host": "evil.example"}).json()
    on_disk = json.loads((exported / "datapackage.json").read_text())
    paths = [r["path"] for r in served["resources"]]
    assert paths == [f"datapackage/{name}.csv" for name in RESOURCES]
    for resource, path in zip(on_disk["resources"], paths, strict=True):
        resource["path"] = path
    assert served == on_disk  # the same descriptor, whatever the Host header says
    for name in RESOURCES:
        # relative to /v1/datapackage.json: /v1/datapackage/<name>.csv, the exported file's bytes
        response = client.get(f"/v1/datapackage/{name}.csv")
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/csv; charset=utf-8; header=present"
        assert response.content == (exported / f"{name}.csv").read_bytes(), name


def test_public_base_url_makes_every_resource_path_absolute(db_url: str) -> None:
    settings = Settings(database_url=db_url, public_base_url="https://data.example.org/cadre/")
    with TestClient(create_app(settings)) as other:
        served = other.get("/v1/datapackage.json").json()
    assert [r["path"] for r in served["resources"]] == [
        f"https://data.example.org/cadre/v1/datapackage/{name}.csv" for name in RESOURCES
    ]


def test_public_base_url_must_be_an_absolute_http_url() -> None:
    for wrong in ("data.example.org", "ftp://data.example.org", "https://data.example.org/?x=1"):
        with pytest.raises(ValueError, match="absolute http"):
            Settings(public_base_url=wrong)


def test_package_metadata_attributes_the_report_to_the_article(client: TestClient, package: Package) -> None:
    index = client.get("/").json()
    descriptor = package.to_descriptor()
    assert descriptor["version"] == index["dataset_signature"]
    assert dt.datetime.fromisoformat(descriptor["created"]) == dt.datetime.fromisoformat(index["loaded_at"])
    assert descriptor["sources"] == [
        {
            "title": "1 Million Chinese Cadre Family Members Jump Communist Ship to Emigrate Overseas "
            "(The Epoch Times, 2006-05-03)",
            "path": index["source_url"],
        }
    ]
    assert descriptor["description"].startswith(
        "Figures from a report that The Epoch Times says was issued by Organization Department of the CCP "
        "Central Committee (CCPCC) and Ministry of Public Security"
    )
    assert descriptor["licenses"][0]["name"] == "MIT"
    assert {c["role"] for c in descriptor["contributors"]} == {"contributor", "wrangler"}


def test_schemas_carry_the_model_enums_descriptions_and_keys(package: Package) -> None:
    metrics = package.get_resource("metrics").schema
    assert metrics.primary_key == ["id"]
    assert metrics.get_field("qualifier").constraints["enum"] == [
        "exact",
        "more_than",
        "at_least",
        "between",
        "approximately",
    ]
    assert metrics.get_field("unit").constraints["enum"] == ["persons", "cases", "USD"]
    assert metrics.get_field("value_text").description == "The figure as printed, with its qualifying words."
    assert metrics.get_field("lower").type == "integer"
    assert metrics.get_field("lower").constraints == {"minimum": 0}
    assert metrics.get_field("lower_inclusive").type == "boolean"
    assert metrics.get_field("id").constraints == {"required": True, "unique": True, "maxLength": 100}
    checks = package.get_resource("checks").schema
    assert (
        checks.get_field("status").constraints["enum"]
        == [s.value for s in CheckStatus]
        == ["pass", "warn", "fail", "info"]
    )
    assert checks.get_field("rel_difference").type == "number"
    assert package.get_resource("check_metrics").schema.primary_key == ["check_id", "metric_id"]
    assert package.get_resource("sources").schema.get_field("url").format == "uri"
    assert package.get_resource("reports").schema.get_field("issuers").type == "array"


# --- round trip: CSV values = API JSON -------------------------------------------------------


def typed_rows(package: Package, name: str) -> dict[Any, dict[str, Any]]:
    """Rows as frictionless types them (int, bool, date, Decimal, list, None), by primary key."""
    resource = package.get_resource(name)
    key = resource.schema.primary_key
    return {tuple(row[k] for k in key) if len(key) > 1 else row[key[0]]: row.to_dict() for row in resource.read_rows()}


def same(csv_value: Any, json_value: Any) -> bool:
    """Equal, type for type: integers as exact ints, booleans as booleans, nulls as nulls, dates as ISO text,
    numbers to the last digit the JSON gives."""
    if json_value is None or csv_value is None:
        return csv_value is None and json_value is None
    if isinstance(json_value, bool):
        return csv_value is json_value
    if isinstance(json_value, int):
        return type(csv_value) is int and csv_value == json_value
    if isinstance(json_value, float):
        return isinstance(csv_value, Decimal) and csv_value == Decimal(repr(json_value))
    if isinstance(csv_value, dt.date):
        return csv_value.isoformat() == json_value
    return bool(csv_value == json_value)


def assert_rows_match(package: Package, name: str, expected: dict[Any, dict[str, Any]]) -> None:
    rows = typed_rows(package, name)
    assert set(rows) == set(expected), name
    for key, api_row in expected.items():
        for column, value in api_row.items():
            assert same(rows[key][column], value), (name, key, column, rows[key][column], value)


def test_metrics_and_citations_round_trip_with_exact_bounds(client: TestClient, package: Package) -> None:
    metrics = every(client, "/v1/metrics")
    plain = ("report_id", "measure", "population", "unit", "value_text", "qualifier", "note")
    bounds = ("lower", "lower_inclusive", "upper", "upper_inclusive")
    assert_rows_match(
        package,
        "metrics",
        {
            m["id"]: {
                "id": m["id"],
                **{k: m[k] for k in (*plain, *bounds)},
                "destination_id": (m["destination"] or {}).get("id"),
                "period_id": (m["period"] or {}).get("id"),
            }
            for m in metrics
        },
    )
    rows = typed_rows(package, "metrics")
    assert rows["senior-cadre-family-assets"]["lower"] == 600_000_000_000  # "US$600 billion or more"
    assert rows["senior-cadre-family-assets"]["upper"] is None
    assert rows["import-export-trade-volume"]["upper"] == 120_000_000_000
    assert any(row["destination_id"] is None for row in rows.values())
    measures = typed_rows(package, "measures")
    populations = typed_rows(package, "populations")
    for m in metrics:
        assert measures[m["measure"]]["label"] == m["measure_label"]
        assert populations[m["population"]]["label"] == m["population_label"]

    citations = every(client, "/v1/citations")
    assert_rows_match(package, "citations", {c["id"]: {k: v for k, v in c.items() if k != "url"} for c in citations})


def test_sources_reports_and_periods_round_trip(client: TestClient, package: Package) -> None:
    sources = every(client, "/v1/sources")
    drop = ("report_ids", "citation_count", "source_ids", "metric_count")
    assert_rows_match(package, "sources", {s["id"]: {k: v for k, v in s.items() if k not in drop} for s in sources})
    reports = every(client, "/v1/reports")
    assert_rows_match(package, "reports", {r["id"]: {k: v for k, v in r.items() if k not in drop} for r in reports})
    assert_rows_match(
        package,
        "report_sources",
        {(r["id"], s): {"report_id": r["id"], "source_id": s} for r in reports for s in r["source_ids"]},
    )
    periods = every(client, "/v1/periods")
    assert_rows_match(
        package, "periods", {p["id"]: {k: v for k, v in p.items() if k != "metric_count"} for p in periods}
    )


def test_destination_aliases_are_the_seed_s(package: Package) -> None:
    seed = yaml.safe_load((PROJECT_ROOT / "seed" / "destinations.yaml").read_text(encoding="utf-8"))
    expected = {alias: d["id"] for d in seed["destinations"] for alias in d.get("aliases", [])}
    rows = typed_rows(package, "destination_aliases")
    assert expected and {key: row["destination_id"] for key, row in rows.items()} == expected


def test_destinations_and_their_members_round_trip(client: TestClient, package: Package) -> None:
    destinations = every(client, "/v1/destinations")
    drop = ("members", "groups", "metric_count")
    assert_rows_match(
        package, "destinations", {d["id"]: {k: v for k, v in d.items() if k not in drop} for d in destinations}
    )
    assert_rows_match(
        package,
        "destination_members",
        {
            (d["id"], m["code"]): {"group_id": d["id"], "code": m["code"], "name": m["name"], "basis": m["basis"]}
            for d in destinations
            for m in d["members"]
        },
    )
    members = typed_rows(package, "destination_members")
    for d in destinations:  # positions give the API's order
        ordered = sorted((row for row in members.values() if row["group_id"] == d["id"]), key=lambda r: r["position"])
        assert [row["code"] for row in ordered] == [m["code"] for m in d["members"]]


def test_checks_and_their_figures_round_trip(client: TestClient, package: Package) -> None:
    checks = every(client, "/v1/checks")
    assert_rows_match(package, "checks", {c["id"]: {k: v for k, v in c.items() if k != "metrics"} for c in checks})
    assert [c["id"] for c in checks] == [
        row["id"] for row in sorted(typed_rows(package, "checks").values(), key=lambda r: r["position"])
    ]
    assert_rows_match(
        package,
        "check_metrics",
        {
            (c["id"], m["metric_id"]): {
                "check_id": c["id"],
                "metric_id": m["metric_id"],
                "role": m["role"],
                "position": i,
            }
            for c in checks
            for i, m in enumerate(c["metrics"], start=1)
        },
    )


# --- pandas --------------------------------------------------------------------------------

PANDAS_DTYPE = {"integer": "Int64", "number": "Float64", "boolean": "boolean", "string": "string", "array": "string"}


def test_pandas_reads_every_csv_with_the_declared_types(package: Package, exported: Path) -> None:
    for resource in package.resources:
        fields = resource.schema.fields
        dates = [f.name for f in fields if f.type == "date"]
        dtypes = {f.name: PANDAS_DTYPE[f.type] for f in fields if f.type != "date"}
        assert set(dtypes) | set(dates) == {f.name for f in fields}, resource.name  # no type left unmapped
        frame = pd.read_csv(
            exported / resource.path,
            dtype=dtypes,
            parse_dates=dates,
            date_format="%Y-%m-%d",
            keep_default_na=False,
            na_values=[""],
        )
        assert list(frame.columns) == [f.name for f in fields]
        for name, dtype in dtypes.items():
            assert str(frame[name].dtype) == str(pd.api.types.pandas_dtype(dtype)), (resource.name, name)
        for name in dates:
            assert pd.api.types.is_datetime64_dtype(frame[name]), (resource.name, name)
        rows = typed_rows(package, resource.name)
        assert len(frame) == len(rows), resource.name
        for record in frame.to_dict("records"):
            key = tuple(record[k] for k in resource.schema.primary_key)
            row = rows[key if len(key) > 1 else key[0]]
            for field in fields:
                value, expected = record[field.name], row[field.name]
                if expected is None:
                    assert pd.isna(value), (resource.name, field.name)
                elif field.type == "date":
                    assert value.date() == expected
                elif field.type == "array":
                    assert json.loads(value) == expected
                elif field.type == "number":
                    assert value == float(expected)
                else:
                    assert value == expected and not pd.isna(value), (resource.name, field.name)
    metrics = pd.read_csv(exported / "metrics.csv", dtype={"lower": "Int64", "upper": "Int64"})
    assert metrics.set_index("id").loc["senior-cadre-family-assets", "lower"] == 600_000_000_000


def test_the_csvs_quote_and_terminate_as_rfc_4180(exported: Path) -> None:
    for name in RESOURCES:
        raw = (exported / f"{name}.csv").read_bytes()
        assert raw.endswith(b"\r\n")
        rows = list(csv.reader(io.StringIO(raw.decode(), newline="")))
        assert len({len(row) for row in rows}) == 1, name


def test_every_table_of_the_dataset_is_a_resource() -> None:
    # A new table must join the package (or its foreign keys would point at a resource that is not there).
    tables = {name for name in SQLModel.metadata.tables if name != "dataset" and name not in DERIVED_TABLES}
    assert {spec.name for spec in SPECS} == tables == set(RESOURCES)
