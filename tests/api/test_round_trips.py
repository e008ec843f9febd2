"""SQL statements per uncached request (issue 17): counted at the driver (SQLAlchemy's before_cursor_execute), each
at most what it is now, so a regression fails. What depends on the loaded dataset alone (country names, the ids
a table holds, the loaded count) is kept per dataset signature, and a reload is seen at once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from app.config import Settings
from app.main import create_app
from tests.conftest import load_seed

METRIC = "canada-emigrated-1985-2005"
STATEMENTS = {
    # the dataset signature (respond), the bounded total, the page
    "/v1/metrics?value_min=150000": 3,
    "/v1/metrics?country=CA": 3,
    "/v1/metrics?country=Hong%20Kong&value_max=100000": 3,
    # q= first finds the small tables' matches (one statement) and asks the text index (SQLite: how many
    # candidates, then which match; PostgreSQL: which match), and SQLite whether more than 10,000 rows match
    # (issue 18: q= costs what it returns; the lists are what make the count and the page index lookups)
    "/v1/metrics?q=canada": 7,
    "/v1/metrics?report=ccp-org-dept-mps-2006-02&destination=canada,hong-kong&period=1985-2005": 3,
    # the signature, whether the cursor is among the filtered rows, the page, the rows before it (the total is
    # the loaded count, kept)
    f"/v1/metrics?after={METRIC}": 4,
    # outside the id order a keyset page is index ranges read in turn until full (issue 18, app/api/keyset.py): the
    # signature, the cursor's values, up to 3 ranges forward (equal value and greater id, beyond, the nulls), 2 back
    "/v1/metrics?sort=-lower&after=hong-kong-emigrated-1985-2005": 7,
    # the signature, the stored rows
    "/v1/metrics.csv?country=CA": 2,
    "/v1/metrics?country=CA&format=csv": 2,
    # the signature, the stored document
    f"/v1/metrics/{METRIC}": 2,
    f"/v1/metrics/{METRIC}?format=csv": 2,
}
"""At most this many statements, besides SQLite's explicit BEGIN (PostgreSQL's psycopg sends its own) and, on
PostgreSQL, the LOCK of `dataset` that begins every transaction (app.db: before the snapshot, so that a request
never reads a table a bulk load swaps in as empty): one more round trip per request there, ~65 us."""
TRANSACTION_START = {"BEGIN", "LOCK TABLE dataset IN ACCESS SHARE MODE"}


class Counter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        self.statements.append(statement)

    def queries(self) -> list[str]:
        return [s for s in self.statements if s not in TRANSACTION_START]


@pytest.fixture(scope="module")
def counted(db_url: str) -> Iterator[tuple[TestClient, Counter]]:
    app = create_app(Settings(database_url=db_url, response_cache=False))
    counter = Counter()
    event.listen(app.state.engine, "before_cursor_execute", counter)
    with TestClient(app) as client:
        yield client, counter


@pytest.mark.parametrize("url", list(STATEMENTS))
def test_an_uncached_request_takes_few_statements(counted: tuple[TestClient, Counter], url: str) -> None:
    client, counter = counted
    first = client.get(url)  # fills what is kept per dataset
    assert first.status_code == 200, first.text
    counter.statements.clear()
    again = client.get(url)
    assert again.status_code == 200 and again.content == first.content
    queries = counter.queries()
    assert len(queries) <= STATEMENTS[url], "\n".join(queries)


def test_what_is_kept_per_dataset_follows_a_reload(empty_db_url: str, seed_copy: Path) -> None:
    """An alias added to a place is a country name the same app knows once the new dataset is loaded."""
    load_seed(empty_db_url)
    app = create_app(Settings(database_url=empty_db_url, response_cache=False))
    with TestClient(app) as client:
        assert client.get("/v1/metrics?country=Dominion").status_code == 400
        assert client.get("/v1/metrics?destination=canada").status_code == 200
        before = client.get("/v1/metrics").json()["total"]
        path = seed_copy / "destinations.yaml"
        text = path.read_text(encoding="utf-8")
        entry = "  - id: canada\n    name: Canada\n"
        assert entry in text
        path.write_text(text.replace(entry, entry + "    aliases: [Dominion]\n", 1), encoding="utf-8")
        assert load_seed(empty_db_url, seed_copy).changed
        found = client.get("/v1/metrics?country=Dominion")
        assert found.status_code == 200, found.text
        assert found.json()["data"] == client.get("/v1/metrics?country=CA").json()["data"]
        assert client.get("/v1/metrics").json()["total"] == before
