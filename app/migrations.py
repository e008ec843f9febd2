"""Alembic, driven from code: migrations are the only way the schema is created or changed."""

from __future__ import annotations

from functools import lru_cache

from alembic.config import Config
from alembic.script import ScriptDirectory

from alembic import command
from app.config import PROJECT_ROOT


def alembic_config(database_url: str | None = None) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "alembic"))
    # Driven from code, the caller owns logging: alembic.ini's [loggers] would reset it (the `alembic`
    # command line, which has no caller, still reads them).
    config.attributes["skip_logging"] = True
    if database_url is not None:
        config.attributes["database_url"] = database_url
    return config


@lru_cache
def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(database_url), revision)


def include_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    """Leave out of `alembic check` what migrations 0007 and 0008 create outside the models: the order and keyset
    indexes (expressions, descending columns) and the backend-specific search table (FTS5 on SQLite, with its
    shadow tables)."""
    if type_ == "index" and (name or "").startswith(("ix_metrics_order_", "ix_metric_search_")):
        return False
    return not (type_ == "table" and (name or "").startswith(SEARCH_TABLE))


SEARCH_TABLE = "metric_search"
