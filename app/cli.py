"""`cadre-data`: migrate the schema, load the seed, serve the API."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.config import get_settings


def _migrate(args: argparse.Namespace) -> int:
    from app import migrations

    url = args.database_url or get_settings().writer_url
    if args.downgrade:
        migrations.downgrade(url, args.revision or "base")
    else:
        migrations.upgrade(url, args.revision or "head")
    return 0


def _seed(args: argparse.Namespace) -> int:
    from app.db import make_engine
    from app.loader.load import SchemaNotReady, load
    from app.loader.seed import SeedInvalid, read_seed

    settings = get_settings()
    seed_dir: Path = args.seed_dir or settings.seed_dir
    try:
        dataset = read_seed(seed_dir)
    except SeedInvalid as exc:
        print(f"seed {seed_dir}: {len(exc.errors)} error(s); nothing was written:", file=sys.stderr)
        for error in exc.errors:
            print(f"  {error}", file=sys.stderr)
        return 1
    if args.check:
        print(f"seed {seed_dir}: valid ({sum(len(rows) for rows in dataset.tables.values())} rows)")
        return 0
    engine = make_engine(args.database_url or settings.writer_url, read_only=False)
    try:
        result = load(engine, dataset)
    except SchemaNotReady as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    print(result.summary())
    return 0


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    settings = get_settings()
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=settings.log_level,
        access_log=not args.no_access_log,
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=args.graceful_timeout,
        limit_concurrency=args.limit_concurrency,
    )
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
    serve.add_argument("--no-access-log", action="store_true")
    serve.add_argument("--graceful-timeout", type=int, default=10, help="seconds to finish requests on SIGTERM")
    serve.add_argument(
        "--limit-concurrency", type=int, default=200, help="connections+tasks above which uvicorn answers 503"
    )
    serve.set_defaults(func=_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
