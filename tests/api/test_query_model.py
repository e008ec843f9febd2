"""QueryModel (app.api.deps): the metric filters validated in one call give what FastAPI's own resolution of
`Annotated[MetricQuery, Query()]` gives, values and errors alike, and document the same parameters."""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from fastapi import FastAPI, Query
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.requests import Request

from app.api.filters import MetricFilters, MetricQuery
from app.api.routes.metrics import METRIC_FILTERS, METRIC_QUERY, METRICS, read_metrics, read_metrics_csv

QUERIES = [
    "",
    "value_min=150000&value_max=2000000&match=within",
    "unit=persons,cases&unit=USD&qualifier=more_than",
    "report=a,b&report=c&measure=emigrated&population=x&period=p&destination=d&attributed_to=following-survey",
    "country=CA&has_destination=true&has_period=0&destination_kind=country,region",
    "from=1990&to=1995-06-30&q=canada&sort=-lower,id",
    "limit=5&offset=10&after=canada-emigrated-1985-2005&facet=unit,destination&facet=period&format=csv",
    # invalid, one way or several
    "value_min=x&limit=0&offset=-1",
    "value_min=9&value_max=1",
    "from=1996&to=1990",
    "from=0990&to=1990-13-01",
    "unit=people&qualifier=about,exact",
    "sort=lower,-size",
    "facet=colour&format=xml",
    "limit=1001&has_destination=maybe&match=near",
    "country=&q=",
    "value_min=1e30&value_max=1.5",
    "report=Not%20A%20Slug&after=..",
    "unknown=1&limit=3",
    "unit=&report=",
]


def _outcome(model: Any) -> dict[str, Any]:
    return {"ok": model.model_dump(mode="json")}


async def _errors(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return JSONResponse({"errors": [{**e, "loc": list(e["loc"])} for e in exc.errors()]}, status_code=400)


def _app() -> FastAPI:
    """FastAPI's resolution (/fastapi/...) next to the QueryModel's (/lean/...), for both models."""
    app = FastAPI()
    app.add_exception_handler(RequestValidationError, _errors)

    @app.get("/fastapi/query")
    def fastapi_query(query: Annotated[MetricQuery, Query()]) -> dict[str, Any]:
        return _outcome(query)

    @app.get("/lean/query")
    def lean_query(query: Annotated[MetricQuery, METRIC_QUERY.depends]) -> dict[str, Any]:
        return _outcome(query)

    @app.get("/fastapi/filters")
    def fastapi_filters(query: Annotated[MetricFilters, Query()]) -> dict[str, Any]:
        return _outcome(query)

    @app.get("/lean/filters")
    def lean_filters(query: Annotated[MetricFilters, METRIC_FILTERS.depends]) -> dict[str, Any]:
        return _outcome(query)

    return app


@pytest.fixture(scope="module")
def pair() -> TestClient:
    return TestClient(_app())


@pytest.mark.parametrize("model", ["query", "filters"])
@pytest.mark.parametrize("query", QUERIES)
def test_one_validation_gives_what_fastapi_gives(pair: TestClient, model: str, query: str) -> None:
    expected = pair.get(f"/fastapi/{model}?{query}")
    got = pair.get(f"/lean/{model}?{query}")
    assert (got.status_code, got.json()) == (expected.status_code, expected.json())


def test_some_queries_are_invalid_and_some_valid(pair: TestClient) -> None:
    """The comparison covers both outcomes (else it would compare nothing but successes)."""
    statuses = {pair.get(f"/lean/query?{q}").status_code for q in QUERIES}
    assert statuses == {200, 400}


@pytest.mark.parametrize("model, lean", [(MetricQuery, METRIC_QUERY), (MetricFilters, METRIC_FILTERS)])
def test_the_documented_parameters_are_fastapis(model: type[Any], lean: Any) -> None:
    def operation(query: Any) -> None: ...

    operation.__annotations__["query"] = Annotated[model, Query()]
    document = get_openapi(title="", version="", routes=[APIRoute("/", operation, methods=["GET"])])
    assert lean.openapi_extra == {"parameters": document["paths"]["/"]["get"]["parameters"]}
    assert [p["name"] for p in lean.openapi_extra["parameters"]] == [
        f.alias or n for n, f in model.model_fields.items()
    ]


def test_the_metric_routes_leave_no_query_parameter_to_fastapi() -> None:
    """Each /v1/metrics field resolved by FastAPI on its own was a third of an uncached request (issue 17)."""
    routes = [*METRICS.routes.routes, *METRICS.csv_routes.routes]
    found = {r.endpoint: r for r in routes if isinstance(r, APIRoute)}
    for endpoint in (read_metrics, read_metrics_csv):
        assert found[endpoint].dependant.query_params == [], endpoint
