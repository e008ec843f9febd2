"""Schemathesis (4.x) against the app's own OpenAPI document, in process over ASGI, on each backend.

Every operation, valid and invalid inputs (mode=all), the examples, coverage and fuzzing phases, a fixed
seed and a bounded number of examples: 0 failures on every built-in check, every operation answers a 2xx
at least once, and every >= 400 answer is a safe problem+json document (the custom check below).

Rules the schema cannot say (JSON Schema has no cross-parameter constraints) are documented in the
parameter descriptions and answered 400 by the API: `value_min` <= `value_max`, `from` <= `to`, a date
must exist (2005-02-30 matches the pattern), `after` (keyset paging) goes with the default order
only, and an id in report/measure/population/period/destination, or a name in `country`, must be one the
loaded dataset holds (else a 400 that says which are: a typo must not look like "no data"). Schema-valid
requests that break them are not valid requests, so the `before_call` hook below repairs them in
generated *positive* cases only (unknown ids and names become the first known one, the ids taken from the
document's own `examples`); negative cases are untouched.
"""

from __future__ import annotations

import collections
import datetime as dt
import time
from typing import Any

import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import events, from_schema
from schemathesis.generation import GenerationMode

from app.config import Settings
from app.main import create_app
from tests.reliability.conftest import problem_violations

SEED = 20060201
MAX_EXAMPLES = 25
CONFIG = {
    "seed": SEED,
    # NUL: PostgreSQL text cannot hold it and the API answers 400 before any query (tests/reliability/
    # test_hostile_inputs.py checks that); generated strings leave it out.
    "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "deterministic": True, "allow-x00": False},
    "phases": {
        "examples": {"enabled": True},
        "coverage": {"enabled": True},
        "fuzzing": {"enabled": True},
        "stateful": {"enabled": False},  # a read-only API has no links between operations to follow
    },
    "checks": {
        "enabled": True,
        # Schemathesis's default list of rejections, plus the request limits (declared on every operation):
        # a list of 147 long ids within maxLength is a URL over 8 KiB, refused with 414 before validation.
        "negative_data_rejection": {
            "expected-statuses": [400, 401, 403, 404, 405, 406, 409, 413, 414, 415, 422, 428, 429, 431, "5xx"]
        },
    },
}


@schemathesis.check
def problem_json_errors(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every >= 400 answer: application/problem+json, `status` = the HTTP status, no trace, path or markup."""
    if response.status_code < 400:
        return None
    violations = problem_violations(
        response.status_code, response.headers.get("content-type", [""])[0], response.content
    )
    if violations:
        raise AssertionError("; ".join(violations))
    return True


def _real_date(value: str, *, end: bool) -> dt.date | None:
    try:
        if len(value) == 4:
            return dt.date(int(value), 12, 31) if end else dt.date(int(value), 1, 1)
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def _integer(value: Any) -> int | None:
    """The coverage phase sends query values as strings, the fuzzing phase as numbers."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


KNOWN_IDS: dict[str, list[str]] = {}
"""Per id-valued parameter of /v1/metrics, the ids its OpenAPI `examples` list (the loaded ones)."""


def _repair_ids(query: dict[str, Any]) -> None:
    for name, known in KNOWN_IDS.items():
        value = query.get(name)
        if value is None or not known:
            continue
        values = value if isinstance(value, list) else [value]
        if any(part not in known for v in values for part in str(v).split(",") if part):
            query[name] = [known[0]] if isinstance(value, list) else known[0]
    country = query.get("country")
    if isinstance(country, str) and not (len(country) == 2 and country.isascii() and country.isalpha()):
        query["country"] = "SG"


@schemathesis.hook("before_call")
def _repair_positive(context: Any, case: Any, kwargs: Any) -> None:
    meta = case.meta
    if meta is None or meta.generation.mode != GenerationMode.POSITIVE or not isinstance(case.query, dict):
        return
    query = case.query
    if case.path in ("/v1/metrics", "/v1/metrics.csv"):
        _repair_ids(query)
    for name in ("from", "to"):
        value = query.get(name)
        if isinstance(value, str) and len(value) == 10 and _real_date(value, end=False) is None:
            query[name] = value[:8] + "28"  # the pattern allows day 29-31 in any month
    low, high = _integer(query.get("value_min")), _integer(query.get("value_max"))
    if low is not None and high is not None and low > high:
        query["value_min"], query["value_max"] = query["value_max"], query["value_min"]
    if "after" in query and "sort" in query:  # keyset paging follows the default order only
        del query["sort"]
    start, end = query.get("from"), query.get("to")
    if isinstance(start, str) and isinstance(end, str):
        first, last = _real_date(start, end=False), _real_date(end, end=True)
        if first is not None and last is not None and first > last:
            query["from"], query["to"] = end, start
            first, last = _real_date(end, end=False), _real_date(start, end=True)
            if first is not None and last is not None and first > last:  # same year, dates reversed
                query["to"] = start[:4]


def test_schemathesis_finds_no_failure(db_url: str) -> None:
    app = create_app(Settings(database_url=db_url))
    for param in app.openapi()["paths"]["/v1/metrics"]["get"]["parameters"]:
        if "examples" in param and isinstance(param["examples"], dict):
            KNOWN_IDS[param["name"]] = sorted(param["examples"])
    assert set(KNOWN_IDS) == {"report", "attributed_to", "measure", "population", "period", "destination"}, KNOWN_IDS
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=SchemathesisConfig.from_dict(CONFIG))
    operations = {f"{method.upper()} {path}" for path, item in app.openapi()["paths"].items() for method in item}

    statuses: dict[str, collections.Counter[int]] = collections.defaultdict(collections.Counter)
    phases: collections.Counter[str] = collections.Counter()
    failures: list[str] = []
    errors: list[str] = []
    checks_run: collections.Counter[str] = collections.Counter()
    started = time.monotonic()
    finished: events.EngineFinished | None = None
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            recorder = event.recorder
            for interaction in recorder.interactions.values():
                phases[str(event.phase.value)] += 1
                if interaction.response is not None:
                    statuses[recorder.label][interaction.response.status_code] += 1
            for case_id, nodes in recorder.checks.items():
                for node in nodes:
                    checks_run[node.name] += 1
                    if node.failure_info is not None:
                        request = recorder.interactions.get(case_id)
                        uri = request.request.uri if request is not None else "?"
                        failures.append(f"{recorder.label} {node.name}: {node.failure_info.failure.title} ({uri})")
        elif isinstance(event, events.NonFatalError | events.FatalError):
            errors.append(repr(event))
        elif isinstance(event, events.EngineFinished):
            finished = event
    elapsed = time.monotonic() - started

    total = sum(sum(c.values()) for c in statuses.values())
    print(
        f"\nschemathesis {schemathesis.__version__}, seed {SEED}, max-examples {MAX_EXAMPLES}, mode all: "
        f"{len(statuses)} operations, {total} requests ({dict(phases)}) in {elapsed:.1f} s"
    )
    by_class: collections.Counter[str] = collections.Counter()
    for counter in statuses.values():
        for status, count in counter.items():
            by_class[f"{status}"] += count
    print(f"  statuses: {dict(sorted(by_class.items()))}")
    print(f"  checks run: {dict(sorted(checks_run.items()))}")
    errors_checked = sum(count for status, count in by_class.items() if int(status) >= 400)
    print(f"  problem_json_errors checked {errors_checked} responses >= 400; failures: {len(failures)}")
    assert finished is not None and finished.stop_reason.value == "completed", finished
    assert not errors, errors
    assert not failures, "\n".join(sorted(set(failures))[:20])
    assert set(statuses) == operations, operations ^ set(statuses)
    no_2xx = [op for op, counter in statuses.items() if not any(200 <= s < 300 for s in counter)]
    assert not no_2xx, f"never answered 2xx: {no_2xx}"
    assert not any(s >= 500 for counter in statuses.values() for s in counter)
    assert "problem_json_errors" in checks_run
