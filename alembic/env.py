"""Migrations run against the writer database (LOADER_DATABASE_URL, else DATABASE_URL)."""

from __future__ import annotations

import warnings
from logging.config import fileConfig

import app.models  # noqa: F401 - registers every table on the metadata
from alembic import context
from app.cli import LOAD_STATEMENT_TIMEOUT_MS
from app.config import get_settings
from app.db import is_sqlite, make_engine
from app.migrations import include_object
from app.models import metadata

config = context.config
if config.config_file_name is not None and not config.attributes.get("skip_logging"):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = metadata
# SQLite's reflection cannot read expression indexes; include_object leaves them out of the comparison anyway.
warnings.filterwarnings("ignore", message="Skipped unsupported reflection of expression-based index")


def run_migrations_offline() -> None:
    url = config.attributes.get("database_url") or get_settings().writer_url
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=is_sqlite(url),
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    url = config.attributes.get("database_url") or get_settings().writer_url
    # A migration of a loaded database (0008 fills a column of every metric, builds indexes over them, and SQLite's
    # foreign_key_check reads them all) may run as long as one statement of a load, not a request's 5 s.
    engine = make_engine(url, read_only=False, statement_timeout_ms=LOAD_STATEMENT_TIMEOUT_MS)
    sqlite = is_sqlite(url)
    try:
        with engine.connect() as connection:
            if sqlite:
                # A batch migration recreates a table (copy, drop, rename): with foreign keys enforced, dropping a
                # parent of stored rows fails. Off outside the transaction (SQLite ignores it inside one), and every
                # reference is checked before the migration commits.
                connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                render_as_batch=sqlite,
                compare_type=True,
                include_object=include_object,
            )
            with context.begin_transaction():
                context.run_migrations()
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"the migration leaves rows with broken references: {broken[:5]}")
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
