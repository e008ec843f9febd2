"""One entry per page: its template and what it adds to the route's document (charts, related rows, forms)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from sqlalchemy import Connection
from starlette.responses import RedirectResponse, Response

from app.models import Qualifier, Unit
from app.web import cite, data
from app.web.charts import paired_bars, row_range, span_of
from app.web.check_charts import chart, destination_ratios
from app.web.pages import Page

Doc = Any


def _source_and_loaded(conn: Connection) -> tuple[dict[str, Any], Any]:
    return data.source(conn) or {}, data.dataset(conn).get("loaded_at")


def _scales(metrics: list[dict[str, Any]]) -> dict[str, float]:
    """Per unit, the axis end of the table's range bars: the largest stated bound, plus room for open arrows."""
    out: dict[str, float] = {}
    for m in metrics:
        out[m["unit"]] = max(out.get(m["unit"], 0.0), span_of(m).finite_max * 1.25)
    return out


def _with_bars(metrics: list[dict[str, Any]]) -> list[dict[str, Any]]:
    scales = _scales(metrics)
    return [{**m, "bar": row_range(span_of(m), scales[m["unit"]])} for m in metrics]


# --- / -------------------------------------------------------------------------------------------------------


def destination_rows(metrics: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Persons and cases per destination (same destination and period), sorted by persons, largest first."""
    by_dest: dict[str, dict[str, Any]] = {}
    for m in metrics:
        dest = m.get("destination")
        if (
            not dest
            or not m.get("period")
            or m["unit"] not in ("persons", "cases")
            or m["measure"] == "settled_overseas"
        ):
            continue
        row = by_dest.setdefault(dest["id"], {"destination": dest})
        row[m["unit"]] = m
    rows = [r for r in by_dest.values() if "persons" in r and "cases" in r]
    rows.sort(key=lambda r: -(r["persons"]["lower"] or 0))
    ratios = {d: v for d, _, v in destination_ratios([(r[u], "") for r in rows for u in ("persons", "cases")])}
    for r in rows:
        r["ratio"] = ratios.get(r["destination"]["id"])
    return rows


def flows_check(checks: list[dict[str, Any]], by_id: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """The sum check whose parts are period flows with no destination: the three periods against the total."""
    for check in checks:
        parts = [by_id[m["metric_id"]] for m in check["metrics"] if m["role"] == "part" and m["metric_id"] in by_id]
        if check["kind"] == "sum" and parts and all(p["period"] and not p["destination"] for p in parts):
            return check
    return None


def destination_chart(dest_rows: list[dict[str, Any]]) -> Any:
    """Persons and cases per destination as paired bars, one scale for both."""
    return paired_bars(
        [
            (
                r["destination"]["name"].split(" (")[0],
                span_of(r["persons"]),
                r["persons"]["value_text"],
                span_of(r["cases"]),
                r["cases"]["value_text"],
            )
            for r in dest_rows
        ],
        ("persons", "immigration cases"),
        "Persons who emigrated and immigration cases, by destination, 1985-2005",
        "; ".join(
            f"{r['destination']['name']}: {r['persons']['value_text']} persons, {r['cases']['value_text']} cases"
            for r in dest_rows
        ),
    )


CARDS = 24
"""The home page's cards: at most this many figures (persons first, largest lower bound first)."""
CHART_ROWS = 12
"""The home page's destination chart: at most this many destinations, ..."""
CHART_CANDIDATES = 50
"""... drawn from the destinations of this many of the largest persons figures."""


def index_context(request: Request, conn: Connection, doc: Doc) -> dict[str, Any]:
    """What / shows, each part loaded on its own with a bound: the checks and their figures (the seed's), the
    destination chart's pairs, then the cards (the largest figures outside the charts)."""
    checks = data.checks(conn)
    by_id = {m["id"]: m for m in data.metrics(conn, [m["metric_id"] for c in checks for m in c["metrics"]])}
    pairs = data.destination_pairs(conn, CHART_CANDIDATES)
    dest_rows = destination_rows(data.metrics(conn, [i for pair in pairs[:CHART_ROWS] for i in pair]))
    in_charts = {r[u]["id"] for r in dest_rows for u in ("persons", "cases")}
    flows = flows_check(checks, by_id)
    flow_chart = None
    flow_rows: list[dict[str, Any]] = []
    if flows is not None:
        flow_chart, flow_rows = chart(flows, by_id)
        in_charts |= {m["metric_id"] for m in flows["metrics"] if m["role"] == "part"}
    cards = data.metrics_in_order(conn, data.largest_cards(conn, in_charts, CARDS))
    counts = data.dataset(conn).get("counts") or {}
    outside_charts = max(int(counts.get("metrics", 0)) - len(in_charts), len(cards))
    source, loaded_at = _source_and_loaded(conn)
    base = request.app.state.pages.base_url
    periods = data.periods(conn)
    temporal = f"{min(p['start_date'] for p in periods)}/{max(p['end_date'] for p in periods)}" if periods else ""
    places = [d["name"] for d in data.destinations(conn)]
    return {
        "title": doc["title"],
        "report": data.report(conn),
        "source": source,
        "cards": cards,
        "dest_rows": dest_rows,
        "dest_chart": destination_chart(dest_rows),
        "flows": flows,
        "flow_chart": flow_chart,
        "flow_rows": flow_rows,
        "counts": counts,
        "cards_of": outside_charts if outside_charts > len(cards) else None,
        "dest_rows_cut": len(pairs) > CHART_ROWS,
        "chart_candidates": CHART_CANDIDATES,
        "cite": cite.citation(source, base, "/", loaded_at) if source else None,
        "jsonld": cite.dataset_jsonld(base, doc["description"], source, places, temporal, doc["loaded_at"])
        if source
        else None,
    }


# --- metrics -------------------------------------------------------------------------------------------------

SORTS = {
    "": "id (default)",
    "-lower": "lower bound, largest first",
    "lower": "lower bound, smallest first",
    "destination": "destination",
    "period": "period",
    "unit": "unit",
    "measure": "measure",
}


def metrics_context(request: Request, conn: Connection, doc: Doc) -> dict[str, Any]:
    params = request.query_params
    rows = _with_bars(doc["data"])
    first = doc["offset"] + 1 if rows else 0
    return {
        "title": "Figures",
        "rows": rows,
        "shown": (first, doc["offset"] + len(rows)),
        "form": {
            "destinations": data.destinations(conn),
            "periods": data.periods(conn),
            "units": [u.value for u in Unit],
            "qualifiers": [q.value for q in Qualifier],
            "sorts": SORTS,
            "value": {
                k: params.get(k, "")
                for k in ("country", "from", "to", "value_min", "value_max", "q", "sort", "match", "limit")
            },
            "many": {k: set(params.getlist(k)) for k in ("unit", "qualifier", "destination", "period")},
        },
    }


FILTERS = (
    "destination",
    "period",
    "country",
    "unit",
    "qualifier",
    "from",
    "to",
    "value_min",
    "value_max",
    "match",
    "q",
    "sort",
    "limit",
)


async def filter_redirect(request: Request) -> Response:
    """The filter form's target: its fields without the empty ones (a form sends every field; the API refuses an
    empty `country=`), as the /v1/metrics URL that answers them (303; a relative Location, never the Host)."""
    kept = [(k, v) for k, v in request.query_params.multi_items() if k in FILTERS and v.strip()]
    if not any(k in ("value_min", "value_max") for k, _ in kept):
        kept = [(k, v) for k, v in kept if k != "match"]  # `match` only qualifies a value range
    query = urlencode(kept)
    return RedirectResponse("/v1/metrics" + ("?" + query if query else ""), status_code=303)


def metric_context(request: Request, conn: Connection, doc: Doc) -> dict[str, Any]:
    source, loaded_at = _source_and_loaded(conn)
    checks = data.checks(conn, doc["checks"])
    members = data.members(conn, doc["destination"]["id"]) if doc["destination"] else []
    membership = data.destination(conn, doc["destination"]["id"]) if doc["destination"] else None
    base = request.app.state.pages.base_url
    span = span_of(doc)
    return {
        "title": f"{doc['measure_label']}: {doc['value_text']}",
        "bar": row_range(span, span.finite_max * 1.25 or 1.0, width=360, height=22),
        "checks": checks,
        "members": members,
        "destination": membership,
        "cite": cite.citation(source, base, f"/v1/metrics/{doc['id']}", loaded_at, doc) if source else None,
        "source": source,
    }


# --- checks --------------------------------------------------------------------------------------------------


def _check_view(conn: Connection, check: dict[str, Any]) -> dict[str, Any]:
    full = data.checks(conn, [check["id"]])
    if not full:
        return {"chart": None, "rows": []}
    by_id = {m["id"]: m for m in data.metrics(conn, [m["metric_id"] for m in full[0]["metrics"]])}
    svg, rows = chart(full[0], by_id)
    return {"chart": svg, "rows": rows}


def checks_context(request: Request, conn: Connection, doc: Doc) -> dict[str, Any]:
    first_of_kind: dict[str, dict[str, Any]] = {}
    for check in doc["data"]:
        first_of_kind.setdefault(check["kind"], check)
    statuses: dict[str, int] = {}
    for check in doc["data"]:
        statuses[check["status"]] = statuses.get(check["status"], 0) + 1
    return {
        "title": "Consistency checks",
        "statuses": statuses,
        "examples": [{"check": c, **_check_view(conn, c)} for c in first_of_kind.values()],
    }


def check_context(request: Request, conn: Connection, doc: Doc) -> dict[str, Any]:
    return {"title": f"Check: {doc['id']}", **_check_view(conn, doc)}


# --- the small collections -----------------------------------------------------------------------------------


def plain(title: str) -> Any:
    return lambda request, conn, doc: {"title": title}


ITEM_FIGURES = 100
"""A report, destination or period page lists at most this many of its figures (id order), then links the list."""


def figures_of(conn: Connection, doc: Doc, column: str, filter_name: str) -> dict[str, Any]:
    """The first ITEM_FIGURES figures with `column` = this item (one more is read, to know whether more exist),
    and when more exist, how many (the document's metric_count) and the filtered, paged /v1/metrics URL."""
    count, table = doc.get("metric_count"), (data.dataset(conn).get("counts") or {}).get("metrics")
    # Walking the id order finds the first rows after about limit * table / count rows; the index, after count.
    dense = bool(count and table) and (ITEM_FIGURES + 1) * int(table or 0) < int(count or 0) ** 2
    rows = data.metrics(conn, limit=ITEM_FIGURES + 1, dense=dense, **{column: doc["id"]})
    more = None
    if len(rows) > ITEM_FIGURES:
        href = "/v1/metrics?" + urlencode({filter_name: doc["id"]})
        more = {"shown": ITEM_FIGURES, "total": doc.get("metric_count"), "href": href}
    return {"metrics": _with_bars(rows[:ITEM_FIGURES]), "more": more}


def destination_context(request: Request, conn: Connection, doc: Doc) -> dict[str, Any]:
    return {"title": doc["label"], **figures_of(conn, doc, "destination_id", "destination")}


def period_context(request: Request, conn: Connection, doc: Doc) -> dict[str, Any]:
    return {"title": doc["label"], **figures_of(conn, doc, "period_id", "period")}


def report_context(request: Request, conn: Connection, doc: Doc) -> dict[str, Any]:
    return {"title": "The report, as the article describes it", **figures_of(conn, doc, "report_id", "report")}


def citation_context(request: Request, conn: Connection, doc: Doc) -> dict[str, Any]:
    return {"title": f"Quote {doc['id']}", "metrics": data.metrics(conn, [doc["metric_id"]])}


def citations_context(request: Request, conn: Connection, doc: Doc) -> dict[str, Any]:
    values = {m["id"]: m["value_text"] for m in data.metrics(conn, [c["metric_id"] for c in doc["data"]])}
    return {"title": "Quotes", "values": values}


PAGES: dict[str, Page] = {
    "get_index": Page("index.html", index_context, csv=False),
    "list_metrics": Page("metrics.html", metrics_context),
    "get_metric": Page("metric.html", metric_context),
    "list_checks": Page("checks.html", checks_context),
    "get_check": Page("check.html", check_context),
    "list_destinations": Page("destinations.html", plain("Destinations")),
    "get_destination": Page("destination.html", destination_context),
    "list_periods": Page("periods.html", plain("Periods")),
    "get_period": Page("period.html", period_context),
    "list_citations": Page("citations.html", citations_context),
    "get_citation": Page("citation.html", citation_context),
    "list_sources": Page("sources.html", plain("Sources")),
    "get_source": Page("source.html", lambda request, conn, doc: {"title": doc["title"]}),
    "list_reports": Page("reports.html", plain("Reports")),
    "get_report": Page("report.html", report_context),
}
