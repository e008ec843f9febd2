"""Table Schemas of the package's resources, derived from the tables and models (nothing is declared twice).

Types and `required` come from the columns, `enum` from the StrEnum a model field is typed with, titles from
the column names, descriptions from the SQLModel `Field(description=...)` (or the enum's docstring), keys
from the tables' primary and foreign keys. Only what no table states is declared here: a few minimums and
string formats.
"""

from __future__ import annotations

import types
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Union, get_args, get_origin

from sqlalchemy import JSON, Boolean, Column, Date, DateTime, Float, Integer, String, Table, TypeDecorator
from sqlmodel import SQLModel

from app.models import (
    DERIVED_COLUMNS,
    Attribution,
    Check,
    CheckMetric,
    Citation,
    Destination,
    DestinationAlias,
    DestinationMember,
    Measure,
    Metric,
    Period,
    Population,
    Report,
    ReportSource,
    Source,
)

MISSING = ""
"""How a null is written in the CSVs (and the only `missingValues` entry)."""

# What the data guarantees but no column constraint states.
MINIMUM = {"position": 1, "lower": 0, "upper": 0, "abs_difference": 0, "rel_difference": 0}
FORMAT = {"url": "uri"}


@dataclass(frozen=True)
class ResourceSpec:
    """One resource: a table, the model that types it, and its title."""

    model: type[SQLModel]
    title: str

    @property
    def table(self) -> Table:
        table: Table = self.model.__table__  # type: ignore[attr-defined]
        return table

    @property
    def name(self) -> str:
        return self.table.name

    @property
    def columns(self) -> list[Column[Any]]:
        """The table's columns but those the loader copies from another table (app.models.DERIVED_COLUMNS)."""
        derived = DERIVED_COLUMNS.get(self.name, ())
        return [column for column in self.table.columns if column.name not in derived]


# Parents before children, as the loader writes them.
RESOURCES = (
    ResourceSpec(Source, "Sources: the publication the figures are quoted from"),
    ResourceSpec(Report, "Reports: the report the article describes, as it describes it"),
    ResourceSpec(ReportSource, "Which sources describe which report"),
    ResourceSpec(Attribution, "Attributions: who states each figure, as the article presents it"),
    ResourceSpec(Period, "Periods: instants and inclusive date intervals"),
    ResourceSpec(Destination, "Destinations: places as the source names them"),
    ResourceSpec(DestinationMember, "Members of the destination groups"),
    ResourceSpec(DestinationAlias, "Other names people give a destination (country= and q= accept them)"),
    ResourceSpec(Measure, "Measures: what a figure counts"),
    ResourceSpec(Population, "Populations: whom a figure counts"),
    ResourceSpec(Metric, "Metrics: the figures as reported, with their bounds"),
    ResourceSpec(Citation, "Citations: the verbatim quote behind each figure"),
    ResourceSpec(Check, "Consistency checks between the figures"),
    ResourceSpec(CheckMetric, "Figures taking part in each consistency check, with their roles"),
)
BY_NAME = {spec.name: spec for spec in RESOURCES}


def field_type(column: Column[Any]) -> str:
    """The Table Schema type of a column (JSON columns hold lists: `array`, a JSON array in the cell)."""
    kind = column.type
    if isinstance(kind, TypeDecorator):  # SQLModel's AutoString
        kind = kind.impl_instance
    if isinstance(kind, Boolean):
        return "boolean"
    if isinstance(kind, Integer):  # BigInteger too
        return "integer"
    if isinstance(kind, Float):
        return "number"
    if isinstance(kind, DateTime):
        return "datetime"
    if isinstance(kind, Date):
        return "date"
    if isinstance(kind, JSON):
        return "array"
    if isinstance(kind, String):
        return "string"
    raise TypeError(f"{column.table.name}.{column.name}: no Table Schema type for {kind!r}")


def _enum_of(annotation: Any) -> type[StrEnum] | None:
    candidates = get_args(annotation) if get_origin(annotation) in (Union, types.UnionType) else (annotation,)
    for candidate in candidates:
        if isinstance(candidate, type) and issubclass(candidate, StrEnum):
            return candidate
    return None


def _description(model: type[SQLModel], name: str, enum: type[StrEnum] | None) -> str | None:
    info = model.model_fields.get(name)
    if info is not None and info.description:
        return info.description
    doc = enum.__dict__.get("__doc__") if enum is not None else None
    return " ".join(doc.split()) if doc else None


def table_field(spec: ResourceSpec, column: Column[Any]) -> dict[str, Any]:
    info = spec.model.model_fields.get(column.name)
    enum = _enum_of(info.annotation) if info is not None else None
    field: dict[str, Any] = {
        "name": column.name,
        "title": column.name.replace("_", " ").capitalize(),
        "type": field_type(column),
    }
    description = _description(spec.model, column.name, enum)
    if description:
        field["description"] = description
    if column.name in FORMAT:
        field["format"] = FORMAT[column.name]
    constraints: dict[str, Any] = {}
    if not column.nullable:
        constraints["required"] = True
    if column.unique or (column.primary_key and len(spec.table.primary_key.columns) == 1):
        constraints["unique"] = True
    if enum is not None:
        constraints["enum"] = [member.value for member in enum]
    else:
        length = getattr(column.type, "length", None)
        if field["type"] == "string" and length:
            constraints["maxLength"] = length
    if column.name in MINIMUM and field["type"] in ("integer", "number"):
        constraints["minimum"] = MINIMUM[column.name]
    if constraints:
        field["constraints"] = constraints
    return field


def table_schema(spec: ResourceSpec) -> dict[str, Any]:
    table = spec.table
    schema: dict[str, Any] = {
        "fields": [table_field(spec, column) for column in spec.columns],
        "missingValues": [MISSING],
        "primaryKey": [column.name for column in table.primary_key.columns],
    }
    foreign_keys = [
        {
            "fields": [fk.parent.name],
            # "" names this resource itself (populations.part_of)
            "reference": {
                "resource": "" if fk.column.table is table else fk.column.table.name,
                "fields": [fk.column.name],
            },
        }
        for fk in sorted(table.foreign_keys, key=lambda fk: list(table.columns).index(fk.parent))
        if fk.column.table.name in BY_NAME
    ]
    if foreign_keys:
        schema["foreignKeys"] = foreign_keys
    return schema
