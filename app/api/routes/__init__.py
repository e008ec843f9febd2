"""Every collection under /v1, in the order the index and the OpenAPI document list them."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.collections import Collection
from app.api.routes import datapackage
from app.api.routes.checks import CHECKS
from app.api.routes.citations import CITATIONS
from app.api.routes.collections import SIMPLE
from app.api.routes.metrics import METRICS

API_PREFIX = "/v1"
COLLECTIONS: tuple[Collection, ...] = (METRICS, CITATIONS, *SIMPLE, CHECKS)


def api_router() -> APIRouter:
    router = APIRouter(prefix=API_PREFIX)
    for collection in COLLECTIONS:
        collection.include_in(router)
    router.include_router(datapackage.router)
    return router
