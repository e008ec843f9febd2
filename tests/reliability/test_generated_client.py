"""A client generated from the OpenAPI document by openapi-python-client (pinned in the dev extra) works
unmodified against a live server: generation must not warn, and a short script of what a newcomer does
(filter, page, get by id, a 404 read as a Problem, fetch CSV) must run through it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from tests.reliability.conftest import Server

SCRIPT = textwrap.dedent(
    """
    import csv, io, sys

    from cadre_client import Client
    from cadre_client.api.checks import list_checks_csv
    from cadre_client.api.metrics import get_metric, list_metrics, list_metrics_csv
    from cadre_client.models import CountryMatch, MetricPage, MetricPublic, Problem, Qualifier, Unit

    client = Client(base_url=sys.argv[1], raise_on_unexpected_status=True)

    # A filtered list: figures for the United States, by a name people type, in persons.
    page = list_metrics.sync(client=client, country="USA", unit=[Unit.PERSONS])
    assert isinstance(page, MetricPage), page
    assert [m.id for m in page.data] == ["united-states-emigrated-1985-2005"], [m.id for m in page.data]
    assert page.data[0].country_match == CountryMatch.EXACT and page.data[0].lower == 19500

    # Pages: two figures at a time, following `next` (a keyset cursor) until there is none.
    seen, after = [], None
    while True:
        kwargs = {"after": after} if after else {}
        page = list_metrics.sync(client=client, unit=[Unit.CASES], limit=2, **kwargs)
        assert isinstance(page, MetricPage), page
        seen += [m.id for m in page.data]
        if not isinstance(page.links.next_, str):
            break
        after = page.data[-1].id
    assert len(seen) == len(set(seen)) == page.total, seen

    # One figure by id, typed.
    metric = get_metric.sync(client=client, metric_id="canada-emigrated-1985-2005")
    assert isinstance(metric, MetricPublic), metric
    assert metric.qualifier == Qualifier.EXACT and metric.value_text and metric.citations

    # A 404 is a Problem, with its words.
    missing = get_metric.sync(client=client, metric_id="canada-emigrated-1985-2006")
    assert isinstance(missing, Problem) and missing.status == 404, missing
    assert "canada-emigrated-1985-2005" in missing.detail, missing.detail

    # CSV, as text: the whole filtered set.
    text = list_metrics_csv.sync(client=client, unit=[Unit.CASES])
    assert isinstance(text, str), type(text)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert sorted(r["id"] for r in rows) == sorted(seen), rows
    checks = list_checks_csv.sync(client=client)
    assert isinstance(checks, str) and checks.startswith("id,"), checks[:80]
    print("generated client: ok,", len(seen), "figures in cases over", -(-len(seen) // 2), "pages")
    """
)


def test_a_generated_client_works_against_a_live_server(sqlite_url: str, tmp_path: Path) -> None:
    with TestClient(create_app(Settings(database_url=sqlite_url))) as app_client:
        document = app_client.get("/openapi.json").json()
    spec = tmp_path / "openapi.json"
    spec.write_text(json.dumps(document))
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}  # its ruff post-hooks
    # The data package's zip is a file: read as application/octet-stream, the type the generator maps to a File.
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"content_type_overrides": {"application/zip": "application/octet-stream"}}))
    command = [str(bin_dir / "openapi-python-client"), "generate", "--path", str(spec), "--meta", "none"]
    command += ["--config", str(config)]
    generated = subprocess.run(
        [*command, "--output-path", str(tmp_path / "cadre_client")],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    output = generated.stdout + generated.stderr
    assert generated.returncode == 0, output
    assert "warning" not in output.lower() and "error" not in output.lower(), output
    (tmp_path / "script.py").write_text(SCRIPT)
    with Server(sqlite_url, tmp_path) as server:
        server.wait_ready()
        ran = subprocess.run(
            [sys.executable, str(tmp_path / "script.py"), server.base],
            capture_output=True,
            text=True,
            env={**env, "PYTHONPATH": str(tmp_path)},
            cwd=tmp_path,
            timeout=120,
        )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    print("\n" + ran.stdout.strip())
