"""The consistency audit: relations between the report's figures, declared in seed/checks.yaml and
computed by the loader with bound-aware arithmetic (`intervals`), stored in `checks` and `check_metrics`."""

from app.checks.audit import Audit, compute
from app.checks.declarations import Declarations

__all__ = ["Audit", "Declarations", "compute"]
