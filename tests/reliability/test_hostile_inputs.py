"""Hostile inputs, table-driven, on SQLite and PostgreSQL: every parameter and path segment.

Each case states the one status it must get: a 4xx problem+json, or a 2xx where the input is legitimately
valid (a text search for `<script>` or `' OR 1=1--` is a search, and finds nothing). Whatever the case:
no 5xx, no redirect (and so none to a foreign host), nothing of a foreign Host in the answer, and nothing
reflected that a browser would run (no HTML, no raw `<script`).
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.reliability.conftest import problem_violations

BIG = str(2**63)
HUGE = "1" + "0" * 30
KB20 = "x" * 20_000
SQLI = "%27%20OR%201%3D1--"
SCRIPT = "%3Cscript%3Ealert(1)%3C%2Fscript%3E"
EVIL = {"host": "evil.example"}
M = "/v1/metrics"

# (id, url, extra headers, expected status)
CASES: list[tuple[str, str, dict[str, str], int]] = [
    # --- numbers: limit, offset, value_min, value_max, from, to
    ("limit 2^63", f"{M}?limit={BIG}", {}, 400),
    ("limit 10^30", f"{M}?limit={HUGE}", {}, 400),
    ("limit -1", f"{M}?limit=-1", {}, 400),
    ("limit 0", f"{M}?limit=0", {}, 400),
    ("limit NaN", f"{M}?limit=NaN", {}, 400),
    ("limit 1e3", f"{M}?limit=1e3", {}, 400),
    ("limit empty", f"{M}?limit=", {}, 400),
    ("limit whitespace", f"{M}?limit=%20", {}, 400),
    ("limit 1000 (the cap)", f"{M}?limit=1000", {}, 200),
    ("offset 2^63", f"/v1/citations?offset={BIG}", {}, 400),
    ("offset 10^30", f"/v1/checks?offset={HUGE}", {}, 400),
    ("offset -1", "/v1/sources?offset=-1", {}, 400),
    ("offset 0", "/v1/reports?offset=0", {}, 200),
    ("offset NaN", "/v1/periods?offset=NaN", {}, 400),
    ("offset past the end", "/v1/destinations?offset=1000000", {}, 200),
    ("value_min 2^63", f"{M}?value_min={BIG}", {}, 400),
    ("value_min 10^30", f"{M}?value_min={HUGE}", {}, 400),
    ("value_min -1", f"{M}?value_min=-1", {}, 200),
    ("value_min 0", f"{M}?value_min=0", {}, 200),
    ("value_min NaN", f"{M}?value_min=NaN", {}, 400),
    ("value_min 1e3", f"{M}?value_min=1e3", {}, 400),
    ("value_max empty", f"{M}?value_max=", {}, 400),
    ("value_max -2^63", f"{M}?value_max=-{BIG}", {}, 400),
    ("value_max Infinity", f"{M}?value_max=Infinity", {}, 400),
    ("from 2^63", f"{M}?from={BIG}", {}, 400),
    ("from -1", f"{M}?from=-1", {}, 400),
    ("from 0", f"{M}?from=0", {}, 400),
    ("from empty", f"{M}?from=", {}, 400),
    ("to NaN", f"{M}?to=NaN", {}, 400),
    ("to 1e3", f"{M}?to=1e3", {}, 400),
    ("to 30 February", f"{M}?to=2005-02-30", {}, 400),
    # --- text: q, sort, enums, ids, codes
    ("q NUL", f"{M}?q=%00", {}, 400),
    ("q invalid UTF-8", f"{M}?q=%FF%FE", {}, 400),
    ("q overlong UTF-8 slash", f"{M}?q=%C0%AF", {}, 400),
    ("q control character (a search)", f"{M}?q=a%1Bb", {}, 200),
    ("q <script> (a search)", f"{M}?q={SCRIPT}", {}, 200),
    ("q ' OR 1=1-- (a search)", f"{M}?q={SQLI}", {}, 200),
    ("q ] (a search)", f"{M}?q=]", {}, 200),
    ("q whitespace (a search for a space)", f"{M}?q=%20", {}, 200),
    ("q LIKE wildcards (a search)", f"{M}?q=%25_%25", {}, 200),
    ("q empty", f"{M}?q=", {}, 400),
    ("q 20 KB", f"{M}?q={KB20}", {}, 414),
    ("sort unknown field", f"{M}?sort=value", {}, 400),
    ("sort ' OR 1=1--", f"{M}?sort={SQLI}", {}, 400),
    ("sort SQL", f"{M}?sort=lower;DROP%20TABLE%20metrics", {}, 400),
    ("sort ]", f"{M}?sort=]", {}, 400),
    ("sort empty", f"{M}?sort=", {}, 400),
    ("unit <script>", f"{M}?unit={SCRIPT}", {}, 400),
    ("qualifier ' OR 1=1--", f"{M}?qualifier={SQLI}", {}, 400),
    ("match ]", f"{M}?match=]", {}, 400),
    ("format NUL", f"{M}?format=%00", {}, 400),
    ("format xml", "/v1/sources?format=xml", {}, 400),
    ("country non-ASCII", f"{M}?country=%C3%A9%C3%A9", {}, 400),
    ("country ' OR 1=1--", f"{M}?country={SQLI}", {}, 400),
    ("destination ..%2f", f"{M}?destination=..%2f..%2fetc", {}, 400),
    ("has_destination maybe", f"{M}?has_destination=maybe", {}, 400),
    ("has_period <script>", f"{M}?has_period={SCRIPT}", {}, 400),
    ("destination_kind ' OR 1=1--", f"{M}?destination_kind={SQLI}", {}, 400),
    ("facet ]", f"{M}?facet=]", {}, 400),
    ("country unknown name <script>", f"{M}?country={SCRIPT}", {}, 400),
    ("report <script>", f"{M}?report={SCRIPT}", {}, 400),
    ("attributed_to <script>", f"{M}?attributed_to={SCRIPT}", {}, 400),
    ("attributed_to ' OR 1=1--", f"{M}?attributed_to={SQLI}", {}, 400),
    ("measure ]", f"{M}?measure=]", {}, 400),
    ("population whitespace", f"{M}?population=%20", {}, 400),
    ("period 20 KB", f"{M}?period={KB20}", {}, 414),
    ("period 8 KB of valid ids", f"{M}?period={'a,' * 2000}a", {}, 400),
    ("citations metric ' OR 1=1--", f"/v1/citations?metric={SQLI}", {}, 400),
    ("citations source NUL", "/v1/citations?source=%00", {}, 400),
    ("checks status NaN", "/v1/checks?status=NaN", {}, 400),
    ("checks kind <script>", f"/v1/checks?kind={SCRIPT}", {}, 400),
    ("checks metric -1", "/v1/checks?metric=-1", {}, 400),
    ("after NUL", f"{M}?after=%00", {}, 400),
    ("after ' OR 1=1--", f"{M}?after={SQLI}", {}, 400),
    # --- repeated and unknown parameters
    ("limit repeated", f"{M}?limit=5&limit=6", {}, 400),
    ("unit repeated (a list)", f"{M}?unit=cases&unit=persons", {}, 200),
    ("51 destinations", f"{M}?{'&'.join(['destination=a'] * 51)}", {}, 400),
    ("unknown parameter", f"{M}?foo=1", {}, 400),
    ("unknown parameter on /", "/?limit=1", {}, 400),
    ("unknown parameter on an item", f"{M}/canada-emigrated-1985-2005?limit=1", {}, 400),
    ("parameter name NUL", f"{M}?%00=1", {}, 400),
    ("parameter name <script>", f"{M}?{SCRIPT}=1", {}, 400),
    ("parameter name 20 KB", f"{M}?{KB20}=1", {}, 414),
    # --- path segments of every item route
    ("metric id NUL", f"{M}/%00", {}, 404),
    ("metric id -1", f"{M}/-1", {}, 404),
    ("metric id 2^63", f"{M}/{BIG}", {}, 404),
    ("metric id NaN", f"{M}/NaN", {}, 404),
    ("metric id 101 chars", f"{M}/{'x' * 101}", {}, 400),
    ("citation id invalid UTF-8", "/v1/citations/%FF", {}, 404),
    ("citation id ]", "/v1/citations/]", {}, 404),
    ("source id ..%2f", "/v1/sources/..%2f..%2fetc%2fpasswd", {}, 404),
    ("report id <script>", f"/v1/reports/{SCRIPT}", {}, 404),
    ("attribution id ' OR 1=1--", f"/v1/attributions/{SQLI}", {}, 404),
    ("attribution id NUL", "/v1/attributions/%00", {}, 404),
    ("period id ' OR 1=1--", f"/v1/periods/{SQLI}", {}, 404),
    ("measure id <script>", f"/v1/measures/{SCRIPT}", {}, 404),
    ("problem type ' OR 1=1--", f"/problems/{SQLI}", {}, 404),
    ("population id ..%2f", "/v1/populations/..%2f..%2fetc%2fpasswd", {}, 404),
    ("destination id 20 KB", f"/v1/destinations/{KB20}", {}, 414),
    ("check id whitespace", "/v1/checks/%20", {}, 404),
    ("check id empty (trailing slash)", "/v1/checks/", {}, 404),
    ("static ..%2f", "/static/..%2f..%2f..%2fetc%2fpasswd", {}, 404),
    ("unknown version", "/v2/metrics", {}, 404),
    # --- redirects and hosts
    ("//evil.example/", "http://testserver//evil.example/", {}, 404),
    ("//evil.example/v1/metrics", "http://testserver//evil.example/v1/metrics", {}, 404),
    ("/%2f%2fevil.example", "/%2f%2fevil.example", {}, 404),
    ("trailing slash, foreign Host", f"{M}/", EVIL, 404),
    ("/docs/ , foreign Host", "/docs/", EVIL, 404),
    ("foreign Host", f"{M}?limit=2", EVIL, 200),
    ("foreign Host, next page", f"{M}?limit=1&offset=1", EVIL, 200),
    ("foreign Host on the index", "/", EVIL, 200),
    ("foreign Host with a port", "/v1/sources", {"host": "evil.example:8443"}, 200),
    ("X-Forwarded-Host", f"{M}?limit=1", {"x-forwarded-host": "evil.example"}, 200),
]


@pytest.mark.parametrize(("url", "headers", "status"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_hostile_input(client: TestClient, url: str, headers: dict[str, str], status: int) -> None:
    response = client.get(url, headers=headers, follow_redirects=False)
    assert response.status_code == status, response.text[:500]
    assert "location" not in response.headers
    body = response.content
    content_type = response.headers.get("content-type", "")
    assert "html" not in content_type
    assert b"<script" not in body.lower()
    assert b"evil.example" not in body
    assert not any("evil.example" in value for value in response.headers.values())
    if status >= 400:
        assert problem_violations(response.status_code, content_type, body) == []


def test_at_least_sixty_cases_over_every_parameter_and_path_segment(client: TestClient) -> None:
    assert len(CASES) >= 60
    document = client.get("/openapi.json").json()
    parameters: set[str] = set()
    for item in document["paths"].values():
        for operation in item.values():
            parameters |= {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
    urls = " ".join(url for _, url, _, _ in CASES)
    missing = [name for name in sorted(parameters) if f"?{name}=" not in urls and f"&{name}=" not in urls]
    assert not missing, f"no hostile case for {missing}"
    item_routes = [path.rsplit("/", 1)[0] for path in document["paths"] if path.endswith("}")]
    assert all(any(url.startswith(route + "/") for url in urls.split()) for route in item_routes), item_routes
