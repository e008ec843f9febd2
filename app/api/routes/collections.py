"""The small collections (tens of rows each): sources, reports, attributions, periods and destinations. Each is one
documents function and one registry entry; app.api.collections makes their list and item routes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from app.api.collections import Collection, Document
from app.api.queries import (
    attribution_table,
    citation_table,
    count_by,
    destination_member_table,
    destination_table,
    measure_table,
    metric_table,
    period_table,
    population_table,
    report_source_table,
    report_table,
    source_table,
)
from app.schemas import (
    AttributionPublic,
    DestinationPublic,
    MeasurePublic,
    PeriodPublic,
    PopulationPublic,
    ReportPublic,
    SourcePublic,
)


def _links(conn: Connection, key: str, value: str) -> dict[str, list[str]]:
    """Report-source links grouped by `key`: the values of `value` for each, in order."""
    links = report_source_table
    grouped: dict[str, list[str]] = {}
    for row in conn.execute(select(links.c[key], links.c[value]).order_by(links.c[value])):
        grouped.setdefault(row[0], []).append(row[1])
    return grouped


def source_documents(conn: Connection, source_id: str | None) -> list[Document]:
    query = select(source_table).order_by(source_table.c.id)
    if source_id is not None:
        query = query.where(source_table.c.id == source_id)
    rows = conn.execute(query).mappings().all()
    reports = _links(conn, "source_id", "report_id")
    counts = count_by(conn, citation_table.c.source_id)
    return [
        {**row, "report_ids": reports.get(row["id"], []), "citation_count": counts.get(row["id"], 0)} for row in rows
    ]


def report_documents(conn: Connection, report_id: str | None) -> list[Document]:
    query = select(report_table).order_by(report_table.c.id)
    if report_id is not None:
        query = query.where(report_table.c.id == report_id)
    rows = conn.execute(query).mappings().all()
    sources = _links(conn, "report_id", "source_id")
    counts = count_by(conn, metric_table.c.report_id)
    return [{**row, "source_ids": sources.get(row["id"], []), "metric_count": counts.get(row["id"], 0)} for row in rows]


def attribution_documents(conn: Connection, attribution_id: str | None) -> list[Document]:
    query = select(attribution_table).order_by(attribution_table.c.id)
    if attribution_id is not None:
        query = query.where(attribution_table.c.id == attribution_id)
    counts = count_by(conn, metric_table.c.attributed_to)
    return [{**row, "metric_count": counts.get(row["id"], 0)} for row in conn.execute(query).mappings()]


def period_documents(conn: Connection, period_id: str | None) -> list[Document]:
    query = select(period_table).order_by(period_table.c.start_date, period_table.c.end_date, period_table.c.id)
    if period_id is not None:
        query = query.where(period_table.c.id == period_id)
    counts = count_by(conn, metric_table.c.period_id)
    return [{**row, "metric_count": counts.get(row["id"], 0)} for row in conn.execute(query).mappings()]


def destination_documents(conn: Connection, destination_id: str | None) -> list[Document]:
    members_t = destination_member_table
    every = conn.execute(select(destination_table).order_by(destination_table.c.id)).mappings().all()
    by_code = {d["code"]: d["id"] for d in every if d["code"]}
    by_id = {d["id"]: d for d in every}
    members: dict[str, list[dict[str, Any]]] = {}
    groups_of: dict[str, list[dict[str, Any]]] = {}
    for m in conn.execute(select(members_t).order_by(members_t.c.group_id, members_t.c.position)).mappings():
        members.setdefault(m["group_id"], []).append(
            {"code": m["code"], "name": m["name"], "basis": m["basis"], "destination_id": by_code.get(m["code"])}
        )
        group = by_id[m["group_id"]]
        groups_of.setdefault(m["code"], []).append(
            {"id": group["id"], "name": group["name"], "label": group["label"], "kind": group["kind"]}
        )
    counts = count_by(conn, metric_table.c.destination_id)
    return [
        {
            **d,
            "members": members.get(d["id"], []),
            "groups": groups_of.get(d["code"], []) if d["code"] else [],
            "metric_count": counts.get(d["id"], 0),
        }
        for d in every
        if destination_id is None or d["id"] == destination_id
    ]


def measure_documents(conn: Connection, measure_id: str | None) -> list[Document]:
    query = select(measure_table).order_by(measure_table.c.id)
    if measure_id is not None:
        query = query.where(measure_table.c.id == measure_id)
    counts = count_by(conn, metric_table.c.measure)
    return [{**row, "metric_count": counts.get(row["id"], 0)} for row in conn.execute(query).mappings()]


def population_documents(conn: Connection, population_id: str | None) -> list[Document]:
    every = conn.execute(select(population_table).order_by(population_table.c.id)).mappings().all()
    parts: dict[str, list[str]] = {}
    for row in every:
        if row["part_of"] is not None:
            parts.setdefault(row["part_of"], []).append(row["id"])
    counts = count_by(conn, metric_table.c.population)
    return [
        {**row, "parts": parts.get(row["id"], []), "metric_count": counts.get(row["id"], 0)}
        for row in every
        if population_id is None or row["id"] == population_id
    ]


def destination_csv_row(doc: Document) -> Document:
    return {
        **doc,
        "members": [m["code"] for m in doc["members"]],
        "member_basis": [m["basis"] for m in doc["members"]],
        "groups": [g["id"] for g in doc["groups"]],
    }


SOURCES = Collection(
    "sources",
    "source",
    "The publication",
    SourcePublic,
    source_documents,
    list_summary="List sources",
    list_description="The publications the dataset quotes, with the reports they describe.",
    item_summary="One source",
    item_description="One publication: title, publisher, byline as printed, URL and dates.",
    id_example="epoch-times-2006-05-03",
)
REPORTS = Collection(
    "reports",
    "report",
    "The report",
    ReportPublic,
    report_documents,
    list_summary="List reports",
    list_description=("Reports the figures belong to: issuers, recipients, dates as precise as the source gives them."),
    item_summary="One report",
    item_description="One report, the sources that describe it and how many figures it holds.",
    id_example="ccp-org-dept-mps-2006-02",
)
ATTRIBUTIONS = Collection(
    "attributions",
    "attribution",
    "Who states each figure",
    AttributionPublic,
    attribution_documents,
    list_summary="List attributions",
    list_description=(
        "Who states the figures, as the article presents them: the report it describes, the survey it introduces "
        "without saying whose, and the article itself. Each metric names one in `attributed_to`."
    ),
    item_summary="One attribution",
    item_description="One attribution: its kind, the sentence by which the article introduces it, its figure count.",
    id_example="following-survey",
)
PERIODS = Collection(
    "periods",
    "period",
    "Periods",
    PeriodPublic,
    period_documents,
    list_summary="List periods",
    list_description=(
        "Periods in time order. Year intervals include both years: `1985/1990` is 1985-01-01 to 1990-12-31."
    ),
    item_summary="One period",
    item_description="One period with its ISO 8601 form and first and last days.",
    id_example="1985-2005",
)
DESTINATIONS = Collection(
    "destinations",
    "destination",
    "Destinations",
    DestinationPublic,
    destination_documents,
    list_summary="List destinations",
    list_description=(
        "Every place the source names, with ISO codes, group members (and whether membership is our reading)."
    ),
    item_summary="One destination",
    item_description="One place: its codes, its members if it is a group, and the groups that list it.",
    id_example="south-east-asia",
    csv_columns=(
        "id",
        "name",
        "label",
        "kind",
        "code",
        "membership",
        "members",
        "member_basis",
        "groups",
        "note",
        "metric_count",
    ),
    csv_row=destination_csv_row,
)
MEASURES = Collection(
    "measures",
    "measure",
    "Measures: what a figure counts",
    MeasurePublic,
    measure_documents,
    list_summary="List measures",
    list_description="What the figures count (the `measure=` filter's ids), with how many figures use each.",
    item_summary="One measure",
    item_description="One measure: its label in the source's words and how many figures count it.",
    id_example="emigrated",
)
POPULATIONS = Collection(
    "populations",
    "population",
    "Populations: whose figures",
    PopulationPublic,
    population_documents,
    list_summary="List populations",
    list_description=(
        "Whose figures (the `population=` filter's ids); `part_of` names the population one is a subset of, "
        'as the source says ("Among them ...").'
    ),
    item_summary="One population",
    item_description="One population: its label, the population it is part of and its own parts.",
    id_example="senior_cadre_spouses_children",
)
SIMPLE = (SOURCES, REPORTS, ATTRIBUTIONS, PERIODS, DESTINATIONS, MEASURES, POPULATIONS)
"""Registered in app.api.routes, in this order: a new small collection is one entry here."""
