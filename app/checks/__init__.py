"""The consistency audit: relations between the report's figures, declared in seed/checks.yaml and
computed by the loader with bound-aware arithmetic (`intervals`), stored in `checks` and `check_metrics`.
The kinds of check are listed in `registry`."""

from app.checks.audit import Audit
from app.checks.registry import Declarations, compute

__all__ = ["Audit", "Declarations", "compute"]
