"""`cadre-data`: migrate the schema, load the seed, serve the API."""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path
from typing import Any

import psycopg
import uvicorn
from psycopg import errors, sql
from pydantic import ValidationError
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from app import migrations
from app.config import get_settings
from app.db import is_sqlite, make_engine
from app.loader.load import SchemaNotReady, load
from app.loader.seed import SeedInvalid, read_seed

ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _migrate(args: argparse.Namespace) -> int:
    url = args.database_url or get_settings().writer_url
    if args.downgrade:
        migrations.downgrade(url, args.revision or "base")
    else:
        migrations.upgrade(url, args.revision or "head")
    return 0


LOAD_STATEMENT_TIMEOUT_MS = 600_000


def _seed(args: argparse.Namespace) -> int:
    settings = get_settings()
    seed_dir: Path = args.seed_dir or settings.seed_dir
    try:
        dataset = read_seed(seed_dir)
        if args.check:
            # metrics.jsonl is otherwise validated by the load, as it is written
            bulk = dataset.bulk.validate() if dataset.bulk is not None else (0, 0)
            print(f"seed {seed_dir}: valid ({sum(len(rows) for rows in dataset.tables.values()) + sum(bulk)} rows)")
            return 0
        # One statement of a bulk load (an index over a million rows) may run longer than a request may.
        timeout = max(settings.statement_timeout_ms, LOAD_STATEMENT_TIMEOUT_MS)
        engine = make_engine(args.database_url or settings.writer_url, read_only=False, statement_timeout_ms=timeout)
        try:
            result = load(engine, dataset)
        finally:
            engine.dispose()
    except SeedInvalid as exc:
        print(f"seed {seed_dir}: {len(exc.errors)} error(s); nothing was written:", file=sys.stderr)
        for error in exc.errors:
            print(f"  {error}", file=sys.stderr)
        return 1
    except SchemaNotReady as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(result.summary())
    return 0


def _serve(args: argparse.Namespace) -> int:
    # The app limits the requests it works on (app.api.middleware.ConcurrencyLimit: a 503 problem+json), read
    # from the environment by every worker's create_app(); uvicorn's own limit would answer text/plain.
    os.environ["MAX_CONCURRENT_REQUESTS"] = str(args.limit_concurrency)
    settings = get_settings()
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=settings.log_level,
        access_log=settings.access_log == "text" and not args.no_access_log,
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=args.graceful_timeout,
        # Room for a request line and headers up to 64 KiB: the app's own limits (8 KiB, app.main.RequestLimits)
        # then answer 414/431 problem+json; beyond 64 KiB uvicorn refuses the request itself (400).
        h11_max_incomplete_event_size=64 * 1024,
    )
    return 0


def _export(args: argparse.Namespace) -> int:
    from app.datapackage import DatasetNotLoaded, export
    from app.db import make_engine

    engine = make_engine(args.database_url or get_settings().database_url, read_only=True)
    try:
        with engine.connect() as conn:
            counts = export(conn, args.target, as_zip=args.zip)
    except DatasetNotLoaded as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    print(f"{args.target}: Data Package, {len(counts)} resources")
    for name, rows in counts.items():
        print(f"  {name:<20} {rows:>8} rows")
    return 0


class GrantError(RuntimeError):
    pass


def _one_row(cursor: psycopg.Cursor[Any]) -> tuple[Any, ...]:
    """The row a query that always returns one gave."""
    row = cursor.fetchone()
    assert row is not None
    return tuple(row)


def grant_readonly(engine: Engine, role: str, password: str | None) -> list[str]:
    """Make `role` a LOGIN role that reads every table of the schema and can write none; idempotent.

    Run as the role owning the tables (LOADER_DATABASE_URL): it grants CONNECT, USAGE and SELECT on
    every table, revokes everything else, and sets default privileges so tables that later migrations
    create are readable too. Creating the role, or setting its password, needs CREATEROLE.
    """
    if not ROLE_NAME.match(role):
        raise GrantError(f"role {role!r}: use lower-case letters, digits and _ (at most 63)")
    done: list[str] = []
    with engine.begin() as conn:
        raw = conn.connection.driver_connection
        assert isinstance(raw, psycopg.Connection)
        cur = raw.cursor()
        cur.execute("SELECT current_user, current_database(), current_schema()")
        me, database, schema = _one_row(cur)
        cur.execute(
            "SELECT tableowner FROM pg_tables WHERE schemaname = %s AND tablename = 'alembic_version'", (schema,)
        )
        found = cur.fetchone()
        if found is None:
            raise GrantError(f"no alembic_version table in schema {schema}: run `cadre-data migrate` first")
        owner = found[0]
        if role in (me, owner):
            raise GrantError(f"the read-only role must not be the role that owns the tables ({owner})")
        role_id, schema_id, owner_id = sql.Identifier(role), sql.Identifier(schema), sql.Identifier(owner)
        cur.execute("SELECT rolsuper, rolcanlogin FROM pg_roles WHERE rolname = %s", (role,))
        existing = cur.fetchone()
        if existing is not None and existing[0]:
            raise GrantError(f"role {role} is a superuser: it can write whatever is granted; use another role")
        try:
            if existing is None:
                cur.execute(
                    sql.SQL(
                        "CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"
                    ).format(role_id)
                )
                done.append(f"created role {role}")
            if password is not None or existing is None:
                if password is not None:
                    # libpq's SCRAM-SHA-256 verifier: the password never reaches the server or its logs in clear.
                    encrypted = raw.pgconn.encrypt_password(password.encode(), role.encode(), b"scram-sha-256")
                    verifier = sql.Literal(encrypted.decode())
                    cur.execute(sql.SQL("ALTER ROLE {} LOGIN PASSWORD {}").format(role_id, verifier))
                    done.append(f"set the password of {role}")
                # A second guard beside the API's own session setting: every transaction starts read-only.
                cur.execute(sql.SQL("ALTER ROLE {} SET default_transaction_read_only = on").format(role_id))
            elif not existing[1]:
                cur.execute(sql.SQL("ALTER ROLE {} LOGIN").format(role_id))
        except errors.InsufficientPrivilege as exc:
            raise GrantError(
                f"{me} may not create or alter role {role} ({exc}): connect as a role with CREATEROLE, or have an "
                f"administrator create it (CREATE ROLE {role} LOGIN PASSWORD '...'), then run this without "
                "--password-env"
            ) from exc
        cur.execute("SELECT pg_has_role(%s, %s, 'MEMBER')", (role, owner))
        if _one_row(cur)[0]:
            raise GrantError(f"role {role} is a member of {owner} and so holds its privileges; use another role")
        for statement in (
            sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(database), role_id),
            sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(schema_id, role_id),
            sql.SQL("REVOKE CREATE ON SCHEMA {} FROM {}").format(schema_id, role_id),
            sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA {} FROM {}").format(schema_id, role_id),
            sql.SQL("REVOKE ALL ON ALL SEQUENCES IN SCHEMA {} FROM {}").format(schema_id, role_id),
            sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA {} TO {}").format(schema_id, role_id),
            sql.SQL("ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA {} GRANT SELECT ON TABLES TO {}").format(
                owner_id, schema_id, role_id
            ),
        ):
            cur.execute(statement)
        done.append(f"granted {role} CONNECT on {database}, USAGE on {schema}, SELECT only on its tables")
        done.append(f"tables {owner} creates later in {schema} will be readable by {role}")
        # Check the outcome, whatever PUBLIC or role memberships add: SELECT on every table, nothing else.
        cur.execute(
            """
            SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = %(schema)s AND c.relkind IN ('r', 'p', 'v', 'm')
              AND (has_table_privilege(%(role)s, c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')
                   OR NOT has_table_privilege(%(role)s, c.oid, 'SELECT'))
            """,
            {"schema": schema, "role": role},
        )
        wrong = [name for (name,) in cur.fetchall()]
        if wrong:
            raise GrantError(f"role {role} can still write to, or cannot read, {', '.join(sorted(wrong))}")
        cur.execute(
            "SELECT has_schema_privilege(%(role)s, %(schema)s, 'CREATE'),"
            " has_database_privilege(%(role)s, current_database(), 'CREATE')",
            {"schema": schema, "role": role},
        )
        schema_create, database_create = _one_row(cur)
        if schema_create or database_create:
            raise GrantError(
                f"role {role} may still CREATE in {'schema ' + schema if schema_create else 'database ' + database}"
                " (granted to PUBLIC?): revoke it, e.g. REVOKE CREATE ON SCHEMA public FROM PUBLIC"
            )
    return done


def _grant_readonly(args: argparse.Namespace) -> int:
    url = args.database_url or get_settings().writer_url
    if is_sqlite(url):
        print("SQLite: no roles to grant; the API opens the database file read-only (mode=ro)")
        return 0
    password = None
    if args.password_env:
        password = os.environ.get(args.password_env)
        if not password:
            print(f"error: --password-env {args.password_env}: that environment variable is empty", file=sys.stderr)
            return 1
    engine = make_engine(url, read_only=False)
    try:
        for line in grant_readonly(engine, args.role, password):
            print(line)
    except GrantError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except DBAPIError as exc:
        print(f"error: {type(exc.orig).__name__}: {exc.orig}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cadre-data", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    migrate = sub.add_parser("migrate", help="upgrade the schema to the Alembic head (or --downgrade)")
    migrate.add_argument("--database-url", help="default: LOADER_DATABASE_URL, else DATABASE_URL")
    migrate.add_argument("--revision", help="target revision (default head, or base with --downgrade)")
    migrate.add_argument("--downgrade", action="store_true")
    migrate.set_defaults(func=_migrate)

    seed = sub.add_parser("seed", help="validate the seed and load it in one transaction")
    seed.add_argument("--database-url", help="default: LOADER_DATABASE_URL, else DATABASE_URL")
    seed.add_argument("--seed-dir", type=Path, help="default: SEED_DIR, else ./seed")
    seed.add_argument("--check", action="store_true", help="validate only; write nothing")
    seed.set_defaults(func=_seed)

    serve = sub.add_parser("serve", help="run the API with uvicorn")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--no-access-log", action="store_true", help="no uvicorn text log (with ACCESS_LOG=text)")
    serve.add_argument("--graceful-timeout", type=int, default=10, help="seconds to finish requests on SIGTERM")
    serve.add_argument(
        "--limit-concurrency",
        type=int,
        default=int(os.environ.get("MAX_CONCURRENT_REQUESTS", "200")),
        help="requests in progress above which the app answers 503 problem+json (MAX_CONCURRENT_REQUESTS)",
    )
    serve.set_defaults(func=_serve)

    export = sub.add_parser(
        "export", help="write the loaded dataset as a Frictionless Data Package (CSVs + datapackage.json)"
    )
    export.add_argument("target", type=Path, metavar="DIR", help="directory to write into (with --zip: the zip file)")
    export.add_argument(
        "--zip", action="store_true", help="write one zip file, byte-identical to GET /v1/datapackage.zip"
    )
    export.add_argument("--database-url", help="default: DATABASE_URL")
    export.set_defaults(func=_export)

    grant = sub.add_parser(
        "grant-readonly",
        help="create or update the API's PostgreSQL role: LOGIN, SELECT only on every table (idempotent)",
    )
    grant.add_argument("--role", required=True, help="the role DATABASE_URL connects as, e.g. cadre_reader")
    grant.add_argument("--password-env", help="environment variable holding the role's password (else unchanged)")
    grant.add_argument("--database-url", help="owner connection; default: LOADER_DATABASE_URL, else DATABASE_URL")
    grant.set_defaults(func=_grant_readonly)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        # Ctrl-C (on `make run`, say): stop quietly. A load interrupted midway leaves the previous dataset
        # (app.loader writes in one transaction); uvicorn has already shut down cleanly when serving.
        print(file=sys.stderr)
        return 130
    except ValidationError as exc:
        if exc.title != "Settings":
            raise
        print("error: invalid settings; nothing was started:", file=sys.stderr)
        for error in exc.errors():
            name = "_".join(str(part) for part in error["loc"]).upper() or "settings"
            print(f"  {name}: {error['msg']}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
