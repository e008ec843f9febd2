"""An API client per backend over the session's shared, deterministic database (see tests/conftest.py)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app

REGEX_SYNTAX = re.compile(r"\^|\$|\[a-z|\[A-Z|\[0-9|\\d|\\w|\(\?|\{\d+(,\d*)?\}|\.\*|\)\*|\)\+")
"""What a regular expression looks like in a message: anchors, classes, escapes, groups, quantifiers."""


def regex_in_problem(response: httpx.Response) -> list[str]:
    """The texts of a 400 problem (detail, each reason) that quote regular-expression syntax."""
    body = response.json()
    texts = [body.get("detail", ""), *(e.get("reason", "") for e in body.get("errors", []))]
    return [text for text in texts if REGEX_SYNTAX.search(text)]


def no_regex_in_400s(response: httpx.Response) -> None:
    """Every 400 any API test provokes is checked: a person reads words, never a pattern (issue 14)."""
    if response.status_code == 400 and response.request.method != "HEAD":
        response.read()
        found = regex_in_problem(response)
        assert not found, f"{response.request.url}: a 400 quotes a regular expression: {found}"


@pytest.fixture(scope="session")
def client(db_url: str) -> Iterator[TestClient]:
    app = create_app(Settings(database_url=db_url))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        test_client.event_hooks = {"request": [], "response": [no_regex_in_400s]}
        yield test_client


def ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [row["id"] for row in response.json()["data"]]
