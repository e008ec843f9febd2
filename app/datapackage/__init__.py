"""The dataset as a Frictionless Data Package (datapackage.json, Table Schemas, CSVs, zip): used by
`cadre-data export` and by the API's /v1/datapackage routes alike."""

from app.datapackage.package import (
    DESCRIPTOR,
    DatasetNotLoaded,
    descriptor,
    export,
    package_files,
    resource_csv,
    zip_bytes,
)
from app.datapackage.schema import RESOURCES, table_schema

__all__ = [
    "DESCRIPTOR",
    "RESOURCES",
    "DatasetNotLoaded",
    "descriptor",
    "export",
    "package_files",
    "resource_csv",
    "table_schema",
    "zip_bytes",
]
