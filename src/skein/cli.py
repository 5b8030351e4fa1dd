"""The `skein` command line: serve, and manage keys."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from skein import __version__
from skein.cli_db import add_db_commands, serving
from skein.cli_demo import add_demo_command
from skein.cli_doctor import add_doctor_command
from skein.cli_export import add_export_command
from skein.cli_sessions import add_sessions_command
from skein.projects import KeyConflict, bootstrap, create_key, default_project
from skein.services import open_settings_store
from skein.settings import Settings
from skein.store.base import Store

Command = Callable[[argparse.Namespace, Settings], int]


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    settings = Settings(**_overrides(args))
    command: Command = args.run
    try:
        return command(args, settings)
    except KeyConflict as error:
        print(f"skein: {error}", file=sys.stderr)
        return 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="skein", description="LLM observability for sessions.")
    parser.add_argument("--version", action="version", version=f"skein {__version__}")
    commands = parser.add_subparsers(title="commands")
    serve = commands.add_parser("serve", help="run the server")
    serve.add_argument("--host", help="address to listen on (SKEIN_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (SKEIN_PORT, default 3000)")
    serve.add_argument(
        "--workers", type=int, help="server processes (SKEIN_WORKERS, default 1; PostgreSQL)"
    )
    _add_database_flags(serve)
    serve.set_defaults(run=run_serve)
    keys = commands.add_parser("keys", help="manage API keys").add_subparsers(title="keys")
    create = keys.add_parser("create", help="create a key pair for a project")
    create.add_argument("--project", help="project id (default: the default project)")
    create.add_argument("--note", default="", help="what the key is for")
    _add_database_flags(create)
    create.set_defaults(run=run_keys_create)
    listing = keys.add_parser("list", help="list keys")
    _add_database_flags(listing)
    listing.set_defaults(run=run_keys_list)
    revoke = keys.add_parser("revoke", help="revoke a key; it stops working at once")
    revoke.add_argument("public_key")
    _add_database_flags(revoke)
    revoke.set_defaults(run=run_keys_revoke)
    add_export_command(commands)
    add_sessions_command(commands)
    add_doctor_command(commands)
    add_demo_command(commands)
    add_db_commands(commands, _add_database_flags)
    return parser


def run_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from skein import http_protocol

    logging.basicConfig(
        level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s"
    )
    created = _with_store(settings, lambda store: bootstrap(store, settings))
    if created is not None:
        print("Created the default project's API keys (shown once):")
        print(f"  public key: {created.public_key}")
        print(f"  secret key: {created.secret_key}")
    print(f"Skein {__version__} on http://{settings.host}:{settings.port}", flush=True)
    with serving(settings):
        app, factory = _application(args, settings)
        uvicorn.run(
            app,
            factory=factory,
            host=settings.host,
            port=settings.port,
            log_level=settings.log_level.lower(),
            access_log=False,
            timeout_keep_alive=settings.keep_alive_seconds,
            limit_concurrency=settings.limit_concurrency,
            workers=settings.workers,
            http=http_protocol.IMPORT_PATH,
        )
    return 0


def _application(args: argparse.Namespace, settings: Settings) -> tuple[Any, bool]:
    """The app for uvicorn: built here for one process, or by each worker process from an
    import string, with the command line's settings passed on in the environment."""
    from skein.app import create_app

    if settings.workers == 1:
        return create_app(settings), False
    if settings.resolved_database_url().startswith("sqlite"):
        raise SystemExit("skein: --workers above 1 needs PostgreSQL (SKEIN_DATABASE_URL)")
    for name, value in _overrides(args).items():
        os.environ[f"SKEIN_{name.upper()}"] = str(value)
    return "skein.app:create_app_from_environment", True


def run_keys_create(args: argparse.Namespace, settings: Settings) -> int:
    def create(store: Store) -> None:
        project_id = args.project or default_project(store).id
        if store.get_project(project_id) is None:
            raise SystemExit(f"skein: no project {project_id}")
        pair = create_key(store, project_id, note=args.note)
        print(f"project:    {project_id}")
        print(f"public key: {pair.public_key}")
        print(f"secret key: {pair.secret_key}")

    _with_store(settings, create)
    return 0


def run_keys_list(args: argparse.Namespace, settings: Settings) -> int:
    def listing(store: Store) -> None:
        for key in store.list_keys():
            state = "revoked" if key.revoked_ns else "active"
            created = time.strftime("%Y-%m-%d %H:%M", time.gmtime(key.created_ns / 1e9))
            print(f"{key.public_key}\t{key.project_id}\t{state}\t{created}\t{key.note}")

    _with_store(settings, listing)
    return 0


def run_keys_revoke(args: argparse.Namespace, settings: Settings) -> int:
    revoked = _with_store(settings, lambda s: s.revoke_key(args.public_key, time.time_ns()))
    if not revoked:
        print(f"skein: no key {args.public_key}", file=sys.stderr)
        return 1
    print(f"revoked {args.public_key}")
    return 0


def _with_store(settings: Settings, action: Callable[[Store], Any]) -> Any:
    store = open_settings_store(settings)
    try:
        return action(store)
    finally:
        store.close()


def _add_database_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", help="data directory (SKEIN_DATA_DIR, default ./.skein)")
    parser.add_argument("--database-url", help="database URL (SKEIN_DATABASE_URL)")


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    names = ("host", "port", "data_dir", "database_url", "workers")
    return {name: getattr(args, name) for name in names if getattr(args, name, None) is not None}
