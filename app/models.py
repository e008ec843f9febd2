"""Tables of the dataset, written only by the loader (the API's Public models are in app.schemas).

Every figure is a claim as reported: a metric stores the source's wording (`value_text`), its
qualifier and the bounds it implies, never a restated "true" value.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, Column, Index, MetaData, String, Table
from sqlmodel import Field, SQLModel

from app.vocabulary import (
    AttributionBasis,
    AttributionKind,
    CheckKind,
    CheckRole,
    CheckStatus,
    CitationLocation,
    DestinationKind,
    Holds,
    MemberBasis,
    Membership,
    PeriodKind,
    Qualifier,
    Unit,
)

# The enums are the vocabulary's (app.vocabulary); they stay importable from here too.
__all__ = [
    "AttributionBasis",
    "AttributionKind",
    "CheckKind",
    "CheckRole",
    "CheckStatus",
    "CitationLocation",
    "DestinationKind",
    "Holds",
    "MemberBasis",
    "Membership",
    "PeriodKind",
    "Qualifier",
    "Unit",
]

# Constraint names are deterministic so migrations and `alembic check` agree on both databases.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata: MetaData = SQLModel.metadata


def table_of(model: type[SQLModel]) -> Table:
    """The Core table behind a table model, for queries that select columns rather than objects."""
    table: Table = model.__table__  # type: ignore[attr-defined]
    return table


def _in(column: str, enum: type[StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(m.value) for m in enum)})"


# --- sources and reports -------------------------------------------------------------------


class Source(SQLModel, table=True):
    __tablename__ = "sources"
    id: str = Field(primary_key=True, max_length=100, description="Stable slug.")
    title: str = Field(description="Title as printed.")
    publisher: str
    byline: str | None = Field(default=None, description="Byline as printed.")
    url: str
    published: dt.date
    updated: dt.date | None = None
    language: str = Field(max_length=35, description="BCP 47 language tag.")
    note: str | None = Field(default=None, description="What a reader must know about the fields as printed.")


class ReportSource(SQLModel, table=True):
    """Which sources describe which report."""

    __tablename__ = "report_sources"
    report_id: str = Field(foreign_key="reports.id", primary_key=True, ondelete="CASCADE")
    source_id: str = Field(foreign_key="sources.id", primary_key=True, index=True)


class Report(SQLModel, table=True):
    __tablename__ = "reports"
    __table_args__ = (
        CheckConstraint(
            "issued_start IS NULL OR issued_end IS NULL OR issued_start <= issued_end", name="issued_range"
        ),
        CheckConstraint(
            "transmitted_start IS NULL OR transmitted_end IS NULL OR transmitted_start <= transmitted_end",
            name="transmitted_range",
        ),
    )
    id: str = Field(primary_key=True, max_length=100)
    description: str = Field(description="What the report is about; the source gives no title.")
    issuers: list[str] = Field(sa_column=Column(JSON, nullable=False))
    recipients: list[str] = Field(sa_column=Column(JSON, nullable=False))
    issued_text: str | None = Field(default=None, description="When it was issued, as printed.")
    issued_start: dt.date | None = None
    issued_end: dt.date | None = None
    transmitted_text: str | None = Field(default=None, description="When it was transmitted, as printed.")
    transmitted_start: dt.date | None = None
    transmitted_end: dt.date | None = None
    transmitted_to: list[str] = Field(sa_column=Column(JSON, nullable=False))
    quote: str | None = Field(default=None, description="Verbatim sentence describing the report.")
    instructions_by: list[str] = Field(
        sa_column=Column(JSON, nullable=False), description="Who wrote the instructions it was transmitted with."
    )
    instructions_quote: str | None = Field(default=None, description="Verbatim sentence on those instructions.")
    note: str | None = None


class Attribution(SQLModel, table=True):
    """Who states figures, as a source presents them: a report it describes, a survey it introduces, or the
    source itself. Each metric names one (`attributed_to`)."""

    __tablename__ = "attributions"
    __table_args__ = (
        CheckConstraint(_in("kind", AttributionKind), name="kind"),
        CheckConstraint("(kind = 'report') = (report_id IS NOT NULL)", name="report_for_report"),
    )
    id: str = Field(primary_key=True, max_length=100)
    kind: AttributionKind = Field(sa_type=String(16))
    label: str = Field(description="Who, in the source's words.")
    source_id: str = Field(foreign_key="sources.id", index=True, description="The publication that reports it.")
    report_id: str | None = Field(default=None, foreign_key="reports.id", description="The report, for kind report.")
    quote: str | None = Field(default=None, description="Verbatim sentence of the source that names it.")
    note: str | None = None


# --- periods, destinations, vocabulary -----------------------------------------------------


class Period(SQLModel, table=True):
    __tablename__ = "periods"
    __table_args__ = (CheckConstraint("start_date <= end_date", name="start_before_end"),)
    id: str = Field(primary_key=True, max_length=100)
    label: str = Field(description="As the source words it.")
    kind: PeriodKind
    start_date: dt.date = Field(description="First day covered (inclusive).")
    end_date: dt.date = Field(description="Last day covered (inclusive).")
    iso: str = Field(description="ISO 8601 form: a date for an instant, start/end years for an interval.")
    note: str | None = Field(default=None, description="How the source's wording was read into dates.")


class Destination(SQLModel, table=True):
    __tablename__ = "destinations"
    id: str = Field(primary_key=True, max_length=100)
    name: str = Field(description="As the source names it.")
    label: str = Field(description="Plain English name.")
    kind: DestinationKind
    code: str | None = Field(default=None, max_length=2, index=True, description="ISO 3166-1 alpha-2.")
    membership: Membership | None = Field(default=None, description="For groups: closed or open member list.")
    note: str | None = None


class DestinationMember(SQLModel, table=True):
    """A country or territory in a group, and whether the source or our reading puts it there."""

    __tablename__ = "destination_members"
    group_id: str = Field(foreign_key="destinations.id", primary_key=True, ondelete="CASCADE")
    code: str = Field(primary_key=True, max_length=2, index=True)
    name: str
    basis: MemberBasis
    position: int


class DestinationAlias(SQLModel, table=True):
    """Another name people give a destination (`USA`, `America`): `country=` and `q=` accept it."""

    __tablename__ = "destination_aliases"
    alias: str = Field(primary_key=True, max_length=100, description="As people type it; matched case-insensitively.")
    destination_id: str = Field(foreign_key="destinations.id", index=True, ondelete="CASCADE")


class Measure(SQLModel, table=True):
    __tablename__ = "measures"
    id: str = Field(primary_key=True, max_length=100)
    label: str
    note: str | None = Field(default=None, description="How the source's wording was read (a stock, a flow).")


class Population(SQLModel, table=True):
    __tablename__ = "populations"
    id: str = Field(primary_key=True, max_length=100)
    label: str
    part_of: str | None = Field(default=None, foreign_key="populations.id")


# --- metrics and citations -----------------------------------------------------------------


class Metric(SQLModel, table=True):
    __tablename__ = "metrics"
    __table_args__ = (
        # destination and period together (`?destination=...&period=...`): a few rows out of a million
        Index("ix_metrics_destination_id_period_id", "destination_id", "period_id"),
        CheckConstraint("lower IS NULL OR upper IS NULL OR lower <= upper", name="lower_le_upper"),
        CheckConstraint("(lower IS NULL) = (lower_inclusive IS NULL)", name="lower_flag"),
        CheckConstraint("(upper IS NULL) = (upper_inclusive IS NULL)", name="upper_flag"),
        CheckConstraint("lower IS NOT NULL OR upper IS NOT NULL", name="has_bound"),
        CheckConstraint(_in("attribution_basis", AttributionBasis), name="attribution_basis"),
    )
    id: str = Field(primary_key=True, max_length=100)
    report_id: str = Field(foreign_key="reports.id", index=True)
    # measure, unit: no index of their own; migration 0007's order indexes `(column, id)` lead with them (0010)
    measure: str = Field(foreign_key="measures.id")
    population: str = Field(foreign_key="populations.id", index=True)
    # destination_id, lower, upper: no index of their own; migration 0008's keyset indexes `(column, id)` lead with them
    destination_id: str | None = Field(default=None, foreign_key="destinations.id")
    period_id: str | None = Field(default=None, foreign_key="periods.id", index=True)
    # Text, not a PostgreSQL enum type: `sort=unit` is then the same order on both backends (an enum sorts in
    # its declared order); migration 0009 converts it, with a CHECK that keeps the values to Unit's.
    unit: Unit = Field(sa_type=String(7))
    value_text: str = Field(description="The figure as printed, with its qualifying words.")
    qualifier: Qualifier = Field(index=True)
    lower: int | None = Field(default=None, sa_type=BigInteger, description="Lower bound, base units.")
    lower_inclusive: bool | None = None
    upper: int | None = Field(default=None, sa_type=BigInteger, description="Upper bound, base units.")
    upper_inclusive: bool | None = None
    attributed_to: str = Field(foreign_key="attributions.id", index=True, description="Who states it, per the source.")
    attribution_basis: AttributionBasis = Field(sa_type=String(8))
    attribution_quote: str | None = Field(default=None, description="The verbatim words that attribute it.")
    attribution_note: str | None = None
    note: str | None = None
    period_dates: str | None = Field(
        default=None,
        description=(
            "The period's `start_date/end_date` (ISO 8601), copied from periods by the loader: `sort=period` reads "
            "an index of metrics (text order is the dates' order). Derived, so not in the Data Package."
        ),
    )


class Citation(SQLModel, table=True):
    __tablename__ = "citations"
    id: str = Field(primary_key=True, max_length=120, description="Metric id and position: `<metric>.<n>`.")
    metric_id: str = Field(foreign_key="metrics.id", index=True, ondelete="CASCADE")
    source_id: str = Field(foreign_key="sources.id", index=True)
    position: int = Field(description="1-based order among the metric's citations.")
    quote: str = Field(description="Exact substring of the source text.")
    prefix: str | None = Field(default=None, description="Text just before the quote (TextQuoteSelector).")
    suffix: str | None = Field(default=None, description="Text just after the quote (TextQuoteSelector).")
    section: str | None = Field(default=None, description="Heading the quote sits under; null before any heading.")
    location: CitationLocation


class MetricRepresentation(SQLModel, table=True):
    """A metric as the API sends it, rendered by the loader (app.loader.representations) in the load's
    transaction: a listing joins these instead of rebuilding each document per request."""

    __tablename__ = "metric_representations"
    metric_id: str = Field(foreign_key="metrics.id", primary_key=True, ondelete="CASCADE")
    document: str = Field(description='The JSON document, with `"country_match":null` (filled per request).')
    csv_head: str = Field(description="The CSV cells before country_match, comma-separated.")
    csv_tail: str = Field(description="The CSV cells after country_match.")


class ValueCount(SQLModel, table=True):
    """How many rows of a table hold each value of one of its columns (metrics per destination, per period, ...;
    citations per source), counted by the loader (app.loader.counts) in the load's transaction: a collection's
    `metric_count` and an unfiltered `facet=` read these instead of counting a million rows per request."""

    __tablename__ = "value_counts"
    table_name: str = Field(primary_key=True, description="The counted table, e.g. `metrics`.")
    column_name: str = Field(primary_key=True, description="The counted column, e.g. `destination_id`.")
    counts: list[list[Any]] = Field(
        sa_column=Column(JSON, nullable=False), description="[value, rows] pairs, null values included, by value."
    )


DERIVED_TABLES = ("metric_representations", "value_counts")
"""Rendered by the loader from the other tables (the API's own bytes): not data of their own, so not in the
Data Package."""
DERIVED_COLUMNS = {"metrics": ("period_dates",)}
"""Columns the loader copies from another table (for an index): not in the Data Package either."""


class Dataset(SQLModel, table=True):
    """One row describing what is loaded: the content signature behind every ETag."""

    __tablename__ = "dataset"
    id: int = Field(default=1, primary_key=True)
    signature: str = Field(max_length=64)
    loaded_at: dt.datetime
    counts: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))


# --- consistency audit (computed by the loader from seed/checks.yaml; see app/checks) ----------


class Check(SQLModel, table=True):
    __tablename__ = "checks"
    # `kind` is not constrained: the kinds are app.checks.registry's, and a new one needs no migration.
    __table_args__ = (
        CheckConstraint(_in("status", CheckStatus), name="status"),
        CheckConstraint(_in("holds", Holds), name="holds"),
    )
    id: str = Field(primary_key=True, max_length=100, description="Stable slug, declared in seed/checks.yaml.")
    kind: CheckKind = Field(sa_type=String(16), index=True)
    position: int = Field(description="Order of declaration in seed/checks.yaml.")
    statement: str = Field(description="What is compared with what, in plain language.")
    status: CheckStatus = Field(sa_type=String(4), index=True)
    holds: Holds = Field(sa_type=String(9))
    unit: str = Field(description="Unit of the values compared: persons, cases, persons per case, days.")
    expected_text: str = Field(description="What the relation expects, as a figure or range.")
    observed_text: str = Field(description="What the figures give, as a figure or range.")
    expected_value: float | None = Field(default=None, description="The number the expectation is judged at.")
    observed_value: float | None = Field(default=None, description="The number the observation is judged at.")
    abs_difference: float | None = Field(default=None, description="|observed_value - expected_value|.")
    rel_difference: float | None = Field(default=None, description="abs_difference / |expected_value| (a fraction).")
    arithmetic: str = Field(description="The computation, step by step.")
    explanation: str = Field(description="The outcome, neutrally worded.")
    assumptions: list[str] = Field(
        sa_column=Column(JSON, nullable=False), description="What makes the figures comparable: readings, not text."
    )


class CheckMetric(SQLModel, table=True):
    """A figure taking part in a check, and its role there (one indexed lookup from a metric to its checks)."""

    __tablename__ = "check_metrics"
    __table_args__ = (CheckConstraint(_in("role", CheckRole), name="role"),)
    check_id: str = Field(foreign_key="checks.id", primary_key=True, ondelete="CASCADE")
    metric_id: str = Field(foreign_key="metrics.id", primary_key=True, index=True)
    role: CheckRole = Field(sa_type=String(11))
    position: int = Field(description="1-based order within the check.")
