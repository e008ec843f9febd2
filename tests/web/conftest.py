"""The explorer's tests use the API tests' client (one per backend, on the session's shared database)."""

from tests.api.conftest import client  # noqa: F401
